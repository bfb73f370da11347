from __future__ import annotations

from typing import Iterator

from ...query_paths import Resolver
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import in_size_scope, p0_on_a_big_request_path, size_evidence, where_it_runs
from ...i18n import _

_EAGER = {"selectin", "joined", "subquery", "immediate", "selectinload", "joinedload"}
_NEVER_LAZY = {"raise", "raise_on_sql", "noload", "write_only"}
_MODELS = ("from sqlalchemy import ForeignKey\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n\n\n"
           "class Base(DeclarativeBase):\n    pass\n\n\n"
           "class Order(Base):\n    __tablename__ = 'orders'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
           "    items: Mapped[list['OrderItem']] = relationship(back_populates='order')\n\n\n"
           "class OrderItem(Base):\n    __tablename__ = 'order_items'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
           "    order_id: Mapped[int] = mapped_column(ForeignKey('orders.id', ondelete='CASCADE'), index=True)\n"
           "    order: Mapped[Order] = relationship(back_populates='items')\n")
# the many-to-one OrderItem.order declared as Order.items's backref
_BACKREF_MODELS = ("from sqlalchemy import ForeignKey\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, backref, "
                   "mapped_column, relationship\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
                   "class Order(Base):\n    __tablename__ = 'orders'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
                   "    items = relationship('OrderItem', backref='order')\n\n\n"
                   "class OrderItem(Base):\n    __tablename__ = 'order_items'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
                   "    order_id: Mapped[int] = mapped_column(ForeignKey('orders.id', ondelete='CASCADE'), index=True)\n")
_ITEM_LOOP = ("from app.models import OrderItem\n\n\ndef orders(session):\n"
              "    return [item.order.id for item in session.query(OrderItem).all()]\n")
_SIZES = "[tool.schemalens.tables.orders]\nrows = 100_000\n[tool.schemalens.tables.order_items]\nrows = 300_000\n"
_LOOP = ("from app.models import Order\n\n\ndef totals(session):\n    result = []\n"
         "    for order in session.query(Order).all():\n        result.append(len(order.items))\n    return result\n")


class NPlusOne(Rule):
    """## What it finds
    A loop over query results that reads a relationship of each row (`for order in ...:
    order.items`, one level deeper, `for item in order.items: item.product`, in a comprehension,
    over rows a function returns, or in a helper of the module each row is passed to) when neither
    the query (`options(selectinload(...))`, `joinedload`, `subqueryload`) nor the
    relationship (`lazy="selectin"` / `"joined"`) loads it up front, on rows of a table the size
    hints (`[tool.schemalens.tables.<name>]`) give 10,000 rows or more (now or within a year).
    Not reported: a relationship that never loads lazily (`lazy="raise"`, `"noload"`: a missing
    load fails instead of querying), a query whose loader options come from its caller
    (`.options(*options)`), a many-to-one whose target table is not hinted that big (the
    session's identity map answers it once each target is loaded: one query per distinct
    target, not per row), a loop over at most 100 rows (a constant LIMIT) that only requests
    writing data run (POST, PUT, PATCH, DELETE handlers: a bounded number of extra queries once
    per write, not per page view), code no application path runs, commands an operator runs by hand,
    administrators' pages, and background jobs: there the extra queries delay no user, and on
    the hinted corpus every N+1 of a scheduled job walked the few rows of a recent window.

    Without a size hint the rule stays silent: a loop's cost is the number of rows it walks, and
    on the judged corpus of real projects most lazy loads in loops walked the children of one
    parent or a handful of configuration rows (about four findings in ten were worth a
    reviewer's time).

    ## Why it matters
    Each row triggers one more query: a page of 50 orders makes 51 round trips, 101 with one
    more level. It looks fine with ten rows in development and multiplies with data and
    traffic.

    P1; P0 when it runs in a request handler on a table hinted at 1M rows and the loop walks
    every row the query finds (no LIMIT, page or slice: a page of rows makes a page of queries,
    slow but bounded). The finding names the hint that put the table in scope.

    ## Example
    ```python
    for order in session.query(Order).all():
        total += len(order.items)
    ```

    ## Use instead
    `session.query(Order).options(selectinload(Order.items))` (one extra query for all the
    items), or `joinedload` for to-one relationships.

    ## How to verify
    A test counts the statements the code path runs (a `before_cursor_execute` listener):
    constant, not proportional to the rows.
    """

    code = "SL412"
    name = "n-plus-one"
    dimension = 4
    severity = "P1"
    summary = _("relationship read in a loop over query results without eager loading")

    valid = (Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP.replace(
        "session.query(Order).all()", "session.query(Order).options(selectinload(Order.items)).all()").replace(
        "from app.models import Order\n", "from sqlalchemy.orm import selectinload\n\nfrom app.models import Order\n")},
        config=_SIZES),
             # the caller chooses the loaders
             Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP.replace(
                 "def totals(session):", "def totals(session, options=()):").replace(
                 "session.query(Order).all()", "session.query(Order).options(*options).all()")}, config=_SIZES),
             # a relationship that never loads lazily fails instead of querying
             Example({"app/models.py": _MODELS.replace("relationship(back_populates='order')",
                                                       "relationship(back_populates='order', lazy='raise')"),
                      "app/services/orders.py": _LOOP}, config=_SIZES),
             # dispatch: a scheduled job walking the rows of the last shift; no user waits on it
             Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP.replace(
                 "def totals(session):", "@shared_task\ndef totals(session):").replace(
                 "from app.models import Order\n", "from celery import shared_task\n\nfrom app.models import Order\n")},
                     config=_SIZES),
             # dispatch, redash: a command an operator runs by hand
             Example({"app/models.py": _MODELS, "app/cli.py": _LOOP}, config=_SIZES),
             # CTFd: an administrator's CSV export, which looks its dump function up in a module-level table
             Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP + (
                 "\n\nEXPORTS = {'totals': totals, 'first': lambda: totals(None)[:1]}\n\n\n"
                 "def export(name):\n    dump = EXPORTS.get(name)\n    return dump(None)\n"),
                      "app/views.py": ("from app.services.orders import export\nfrom app.auth import admins_only\n\n\n"
                                       "@app.route('/admin/export')\n@admins_only\ndef admin_export():\n"
                                       "    return export('totals')\n\n\n@app.route('/')\ndef index():\n    return 'ok'\n")},
                     config=_SIZES),
             # redash: a many-to-one to a table not hinted big is answered from the identity map
             Example({"app/models.py": _MODELS, "app/services/orders.py": (
                 "from app.models import OrderItem\n\n\ndef orders(session):\n"
                 "    return {item.order.id for item in session.query(OrderItem).all()}\n")},
                 config="[tool.schemalens.tables.order_items]\nrows = 300_000\n"),
             # dispatch: creating an entity type walks at most 100 signal instances of one case
             Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP.replace(
                 "session.query(Order).all()", "session.query(Order).limit(100).all()").replace(
                 "def totals(session):", "@router.post('/totals')\ndef totals(session):")}, config=_SIZES),
             # indico: a backref that loads joined (`backref('user', lazy=False)`)
             Example({"app/models.py": _BACKREF_MODELS.replace("backref='order'", "backref=backref('order', lazy=False)"),
                      "app/services/orders.py": _ITEM_LOOP}, config=_SIZES),
             # CTFd, dispatch: no size hint (the children of one parent, a few configuration rows)
             Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP}))
    invalid = (
        Example({"app/models.py": _MODELS,
                 "app/services/orders.py": _LOOP.replace("len(order.items))\n", "len(order.items))  # expect\n")},
                config=_SIZES),
        # ihatemoney: the many-to-one is the backref the other class declares
        Example({"app/models.py": _BACKREF_MODELS,
                 "app/services/orders.py": _ITEM_LOOP.replace(".all()]\n", ".all()]  # expect\n")}, config=_SIZES),
        # rows another function returns, read by a helper each row is passed to
        Example({"app/models.py": _MODELS,
                 "app/services/orders.py": ("from app.models import Order\n\n\ndef recent(session):\n"
                                            "    return session.query(Order).all()\n"),
                 "app/routes/orders.py": ("from app.services.orders import recent\n\n\ndef _json(order):\n"
                                          "    return {'items': len(order.items)}  # expect\n\n\n"
                                          "def page(session):\n    return [_json(o) for o in recent(session)]\n")},
                config=_SIZES),
        # the same bounded loop on a read request: a page view makes a page of queries
        Example({"app/models.py": _MODELS, "app/services/orders.py": _LOOP.replace(
            "session.query(Order).all()", "session.query(Order).limit(100).all()").replace(
            "def totals(session):", "@router.get('/totals')\ndef totals(session):").replace(
            "len(order.items))\n", "len(order.items))  # expect\n")}, config=_SIZES),
        # a many-to-one to a big table: one query per distinct order
        Example({"app/models.py": _MODELS, "app/services/orders.py": (
            "from app.models import OrderItem\n\n\ndef orders(session):\n"
            "    return {item.order.id for item in session.query(OrderItem).all()}  # expect\n")}, config=_SIZES),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        resolver = Resolver(context.model, context.layer)
        seen = set()
        reported: dict[tuple[str, int], object] = {}
        selects_by_name: dict[str, object] = {}  # the first select of each function name, wherever it is
        for path in context.query_paths:
            if path.source is not None and path.table is not None:
                reported.setdefault(path.source, path)
            if _a_select(path):
                selects_by_name.setdefault((path.shape.function or "").rpartition(".")[2], path)
        for facts in context.code_facts():
            for read in facts.loop_reads:
                if context.run_by_operators(read.location):
                    continue  # a command run by hand over a few rows, not a path users wait on
                path = self._rows_path(context, reported, selects_by_name, facts.path, read)
                if path is None or not path.reached or path.context == "task" or not context.runs_for_users(path) \
                        or _bounded_on_writes(context, facts.path, read, path):
                    continue
                owner = path.table
                if read.parent is not None:
                    parent = resolver.relationship(owner, read.parent[1])
                    if parent is None or parent.target_table is None or read.parent[1] in path.shape.eager:
                        continue
                    owner = parent.target_table
                relationship = resolver.relationship(owner, read.attribute)
                # "*": the query takes its loader options from the caller (`.options(*options)`)
                if relationship is None or relationship.lazy in _EAGER | _NEVER_LAZY \
                        or {read.attribute, "*"} & set(path.shape.eager):
                    continue
                table = context.layer.tables.get(owner)
                target_table = context.layer.tables.get(relationship.target_table or "")
                # one finding per loop and attribute; a helper's reads are one place whichever loop calls it
                key = (read.location.path, read.rows_from, read.variable, read.attribute) if read.rows_from \
                    else (path.location, read.variable, read.attribute)
                if key in seen:
                    continue
                seen.add(key)
                if not in_size_scope(context, self.code, table) \
                        or _many_to_one(relationship, table) and not in_size_scope(context, self.code, target_table):
                    continue  # few rows to walk, or few targets to load once each (the identity map answers the rest)
                target = relationship.target_table or relationship.target or "?"
                yield self.finding(
                    read.location, _("%(variable)s.%(attribute)s is loaded once per row (N+1)", variable=read.variable, attribute=read.attribute),
                    _("The loop over the query of %(where_it_runs)s reads %(class_name)s.%(attribute)s "
                    "(-> %(target)s) on every row; the relationship loads lazily and the query does not load it up front.", where_it_runs=where_it_runs(path), class_name=relationship.class_name, attribute=read.attribute, target=target)
                    + " " + size_evidence(context, table),
                    impact=_("Worst case: a page of N rows makes N+1 queries (N*M+1 one level deeper) and the endpoint "
                           "times out as data grows. Most likely: latency proportional to the page size."),
                    root_cause=_("Lazy loading is SQLAlchemy's default; the loop hides one query per iteration."),
                    fix=Fix(short_term=_(".options(selectinload(%(class_name)s.%(attribute)s)) on the query "
                                       "(%(value)s).", class_name=relationship.class_name, attribute=read.attribute, value=_('joinedload for a to-one relationship') if relationship.uselist is False else _('one extra query for all rows')),
                            medium_term=_("Set lazy=\"raise\" on %(class_name)s.%(attribute)s so a missing "
                                        "eager load fails in tests instead of querying.", class_name=relationship.class_name, attribute=read.attribute),
                            long_term=_("Tests assert the number of statements of hot code paths.")),
                    verification=_("A test with 20 rows counts statements (sqlalchemy event before_cursor_execute): 2, not 21"),
                    table=owner, severity=None if path.shape.pagination else p0_on_a_big_request_path(context, path, table))

    @staticmethod
    def _rows_path(context: AuditContext, reported: dict, selects_by_name: dict, path: str, read):
        """The query whose rows the loop walks: one of this file's, or the one a function it calls
        returns (`catalog.search_products(q)`: the function the call resolves to, else by its name)."""
        if read.rows_from is not None:
            flow = context.code_base
            target = flow.target(flow.frame((path, read.function)), read.rows_from)
            if target is not None:
                return next((p for p in context.query_paths_by_function.get(target.key, ()) if _a_select(p)), None)
            return selects_by_name.get(read.rows_from.rpartition(".")[2])
        index = read.source if read.source is not None else read.parent[0]
        return reported.get((path, index))


# A loop over a query with a constant LIMIT this small makes at most this many extra queries.
BOUNDED_LOOP = 100


def _bounded_on_writes(context: AuditContext, path: str, read, rows) -> bool:
    """The loop walks at most BOUNDED_LOOP rows (a constant LIMIT on its query), and only
    requests that write (POST, PUT, PATCH, DELETE handlers: CodeBase.write_requests_only) run
    it: a bounded number of extra queries, once per write, not per page view."""
    return rows.shape.limit is not None and rows.shape.limit <= BOUNDED_LOOP \
        and (path, read.function) in context.code_base.write_requests_only


def _a_select(path) -> bool:
    """A query that reads rows of a table, on its own (not a subquery)."""
    return path.table is not None and path.shape.kind == "select" and not path.shape.subquery


def _many_to_one(relationship, table) -> bool:
    """A to-one relationship through a foreign key of `table`'s own: SQLAlchemy loads it by the
    target's primary key, from the identity map when the target is already loaded."""
    if relationship.secondary is not None or relationship.uselist is True or table is None:
        return False
    if relationship.target_table == table.key:  # self-referential: either direction unless uselist=False says
        return relationship.uselist is False
    return any(key.ref_table == relationship.target_table for key in table.foreign_keys)
