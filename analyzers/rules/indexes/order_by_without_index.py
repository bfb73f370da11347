from __future__ import annotations

from typing import Iterator

from ...query_paths import serving_index
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import (SCHEMA, entered_from_one_row, in_a_job_on_a_modest_table, in_size_scope, narrowed_by_an_index,
                            ordered_scan_cannot_drive,
                            p0_on_a_big_request_path, query_example, rows_are_few, where_it_runs)
from ...i18n import _

_TOP = "def newest(Order):\n    return Order.query.order_by(Order.created_at.desc()).limit(50).all()\n"
_BIG = "[tool.schemalens.tables.orders]\nrows = 3_000_000\n"
_BY_CUSTOMER = ("def latest(Order, customer_id):\n"
                "    return Order.query.filter(Order.customer_id == customer_id).order_by(Order.created_at.desc()).first()\n")
# Shipments filtered by carrier, joined to their orders by an unindexed shipments.order_id.
_SHIPMENTS = SCHEMA + "CREATE TABLE shipments (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders (id), carrier text);\n"
_BY_CARRIER = ("def by_carrier(session, Order, Shipment, carrier):\n"
               "    return (session.query(Order).join(Shipment, Shipment.order_id == Order.id)\n"
               "            .filter(Shipment.carrier == carrier).order_by(Order.created_at.desc()).limit(10).all())\n")
# One customer's orders, or one order by its key, whichever the caller is: every arm narrows.
_BY_SUBJECT = ("def visible(Order, subject):\n    query = Order.query\n"
               "    if is_customer(subject):\n        query = query.filter(Order.customer_id == subject.id)\n"
               "    elif is_order_link(subject):\n        query = query.filter(Order.id == subject.order_id)\n"
               "    return query.order_by(Order.created_at.desc()).all()\n")
_NIGHTLY = {"app/tasks.py": "from app.services.orders import newest\n\n\n@shared_task\ndef nightly():\n    newest(None)\n"}


class OrderByWithoutIndex(Rule):
    """## What it finds
    A query that sorts a table the size hints give 100,000 rows or more (now or within a year)
    by a column no index can return in order: no index has it first, or right after the
    columns the query matches by equality.

    Not reported: a sort of a few rows (groups, the one row a unique key matches, one parent's
    rows when the size hints give a handful per parent), of the rows an index narrows to (every
    call matches by equality a column an index leads with, neither `IS NULL`, a status or flag
    nor a foreign key the size hints give 10,000 rows or more per referenced row: the sort is of
    one key's rows, in memory; on the judged corpus such sorts were worth no reviewer's time),
    of rows reached through a join from another table's one row (its primary or unique key
    matched on every call) or from another table's filter when no index serves that table's side
    of the join (walking the sorted table in index order would scan the other table once per
    row: no index in this order serves the query; the cost is the other table's filter or join
    key, which SL405 or SL401 report), of an expression, on administrators' pages, or in
    background jobs, once per run or once per row of loops over tables the size hints call small
    (not once per row of other loops), on a table hinted under a million rows (the job waits a
    moment, no user does). A condition added under an `if` does not count as narrowing: the
    calls without it sort everything.

    ## Why it matters
    Without such an index PostgreSQL reads every matching row and sorts them before it can
    return the first page, even for `LIMIT 20`; big sorts spill to disk. With the index it
    reads the first 20 entries and stops.

    P1; P0 when it runs in a request handler on a table hinted at 1M rows.

    ## Example
    ```python
    Order.query.order_by(Order.created_at.desc()).limit(50)
    ```

    ## Use instead
    `CREATE INDEX CONCURRENTLY orders_created_at_idx ON orders (created_at DESC);` or, with
    filters, `(customer_id, created_at DESC)`.

    ## How to verify
    `EXPLAIN` shows `Index Scan` (or `Index Scan Backward`) feeding the `Limit`, with no `Sort` node.
    """

    code = "SL410"
    grouped_by = "column"
    name = "order-by-without-index"
    dimension = 4
    severity = "P1"
    summary = _("big table sorted by a column no index returns in order")

    valid = (Example(query_example(_TOP) | {"db/V2__idx.sql": "CREATE INDEX orders_created_idx ON orders (created_at);\n"},
                     config=_BIG),
             Example(query_example(_TOP), config="[tool.schemalens.tables.orders]\nrows = 900\n"),
             # polar, redash: the sort is of groups or of an expression, not of rows by a column
             Example(query_example("from sqlalchemy import func\n\n\ndef by_status(session, Order):\n"
                                   "    return session.query(Order.status, func.count(Order.id)).group_by(Order.status)"
                                   ".order_by(Order.status).all()\n"
                                   "def drift(session, Order):\n"
                                   "    return session.query(Order).order_by(func.abs(Order.customer_id - Order.id)).limit(10).all()\n"),
                     config=_BIG),
             # dispatch: an ORDER BY after a primary-key match sorts one row
             Example(query_example("def one(Order, order_id):\n"
                                   "    return Order.query.filter(Order.id == order_id).order_by(Order.created_at).first()\n"),
                     config=_BIG),
             # CTFd, redash: an administrators' page (`@admins_only`) is no path users wait on
             Example(query_example("from app.auth import admins_only\n\n\n@app.route('/admin/orders')\n@admins_only\n"
                                   "def newest(Order):\n"
                                   "    return Order.query.order_by(Order.created_at.desc()).limit(50).all()\n"),
                     config=_BIG),
             # dispatch: the entities of one signal (matched by its primary key), reached through joins
             Example(query_example("def of_customer(session, Order, Customer, customer_id):\n"
                                   "    return (session.query(Order).join(Customer, Customer.id == Order.customer_id)\n"
                                   "            .filter(Customer.id == customer_id).order_by(Order.created_at).all())\n"),
                     config=_BIG),
             # polar: an hourly job sorting a table of 100,000 rows
             Example(query_example(_TOP) | _NIGHTLY, config="[tool.schemalens.tables.orders]\nrows = 500_000\n"),
             # polar: the job runs a check of a class it is given (`type[Check]`); the subclass's override sorts
             Example(query_example("from app.services.checks import Check\n\n\nclass NewestCheck(Check):\n"
                                   "    def run(self, Order):\n"
                                   "        return Order.query.order_by(Order.created_at.desc()).limit(10).all()\n")
                     | {"app/services/checks.py": "class Check:\n    def __init__(self, session):\n        self.session = session\n\n"
                                                  "    def run(self, Order):\n        raise NotImplementedError\n",
                        "app/tasks.py": ("from app.services.checks import Check\n\n\n@shared_task\n"
                                         "def run_check(check_cls: type[Check]):\n    check = check_cls(None)\n"
                                         "    check.run(None)\n")},
                     config="[tool.schemalens.tables.orders]\nrows = 500_000\n"),
             # dispatch: the cases of one signal's instances, joined by an unindexed key
             Example(query_example(_BY_CARRIER, _SHIPMENTS), config=_BIG),
             # redash: the results of one query hash, found through its index, sorted newest first
             Example(query_example(_BY_CUSTOMER), config=_BIG),
             # polar: the customer portal narrows by customer or by member, whichever the caller is
             Example(query_example(_BY_SUBJECT), config=_BIG))
    invalid = (Example(query_example(_TOP.replace(".all()\n", ".all()  # expect\n")), config=_BIG),
               # the key is matched on some calls only: the others sort the whole table
               Example(query_example("def newest(Order, order_id):\n    query = Order.query\n    if order_id:\n"
                                     "        query = query.filter(Order.id == order_id)\n"
                                     "    return query.order_by(Order.created_at.desc()).limit(50).all()  # expect\n"),
                       config=_BIG),
               # onyx: the key is matched in one arm; the other arm rebinds the query through a helper
               Example(query_example("def newest(Order, f, attribute):\n    query = Order.query\n    if f:\n"
                                     "        if attribute == 'name':\n            query = by_name(query, f)\n"
                                     "        elif attribute == 'id':\n            query = query.filter(Order.id == f)\n"
                                     "    return query.order_by(Order.created_at.desc()).limit(50).all()  # expect\n"),
                       config=_BIG),
               # filters on optional arguments (`if customer_id:` / `elif order_id:`): calls giving neither sort all
               Example(query_example(_BY_SUBJECT.replace("is_customer(subject)", "subject.customer_id")
                                     .replace("is_order_link(subject)", "subject.order_id")
                                     .replace(".all()\n", ".all()  # expect\n")), config=_BIG),
               # one customer's orders are most of the table: the index narrows to millions of rows
               Example(query_example(_BY_CUSTOMER.replace(".first()\n", ".first()  # expect\n")),
                       config=_BIG + "[tool.schemalens.tables.customers]\nrows = 20\n"),
               # with shipments(order_id) indexed, walking orders newest first and probing shipments is a plan
               Example(query_example(_BY_CARRIER.replace(".all())\n", ".all())  # expect\n"),
                                     _SHIPMENTS + "CREATE INDEX shipments_order_id_idx ON shipments (order_id);\n"),
                       config=_BIG),
               # an index on a status narrows to one status's rows: most of the table
               Example(query_example(_BY_CUSTOMER.replace("Order.customer_id == customer_id", "Order.status == 'open'")
                                     .replace(".first()\n", ".first()  # expect\n"),
                                     SCHEMA + "CREATE INDEX orders_status_idx ON orders (status);\n"), config=_BIG),
               # a big table sorted in a background job is still reported
               Example(query_example(_TOP.replace(".all()\n", ".all()  # expect\n")) | _NIGHTLY, config=_BIG))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in context.reached_query_paths:
            if not path.order_by or path.order_expression:
                continue  # an expression (`abs(amount)`) is no column an index returns in order
            use, descending = path.order_by[0]
            table = context.layer.tables.get(use.table)
            if table is None or serving_index(table, use.column, path.equal_columns(use.table)) is not None \
                    or rows_are_few(context, path, table) or narrowed_by_an_index(context, path, table) \
                    or ordered_scan_cannot_drive(context, path, table) or entered_from_one_row(context, path, table) \
                    or in_a_job_on_a_modest_table(context, path, table):
                continue
            if not in_size_scope(context, self.code, table, 100_000):
                continue
            equal = sorted(path.equal_columns(use.table))
            key = ", ".join([*equal, f"{use.column}{' DESC' if descending else ''}"])
            yield self.finding(
                use.location, _("%(table)s is sorted by %(column)s with no index in that order", table=table.name, column=use.column),
                _("The query of %(where_it_runs)s orders %(table)s by %(column)s; no index leads with it "
                "(after the columns the query matches by equality), so every matching row is read and sorted.", where_it_runs=where_it_runs(path), table=table.name, column=use.column),
                impact=_("Worst case: each call sorts all of %(table)s (spilling to disk) before returning a page. "
                       "Most likely: a list endpoint whose latency grows with the table.", table=table.name),
                root_cause=_("The index was designed for the filter, not for the order the page is read in."),
                fix=Fix(short_term=_("CREATE INDEX CONCURRENTLY %(table)s_%(column)s_idx ON %(table)s (%(key)s);", table=table.name, column=use.column, key=key),
                        medium_term=_("Pair it with keyset pagination on the same columns."),
                        long_term=_("Review list queries with EXPLAIN on production-sized data before release.")),
                verification=_("EXPLAIN the query: no Sort node; an Index Scan on %(table)s_%(column)s_idx feeds the Limit", table=table.name, column=use.column),
                table=table.name, column=use.column,
                severity=p0_on_a_big_request_path(context, path, table))
