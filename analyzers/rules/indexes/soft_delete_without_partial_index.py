from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .query_support import query_example, size_evidence, in_size_scope
from ...i18n import _

SOFT_DELETE_COLUMNS = ("deleted_at", "is_deleted", "deleted", "archived_at", "removed_at", "is_archived")
_SIZES = "[tool.schemalens.tables.orders]\nrows = 100_000\n"
_TWO = ("def live(Order):\n    return Order.query.filter(Order.deleted_at.is_(None)).all()\n\n\n"
        "def by_customer(Order, customer_id):\n"
        "    return Order.query.filter(Order.customer_id == customer_id, Order.deleted_at.is_(None)).all()\n")


class SoftDeleteWithoutPartialIndex(Rule):
    """## What it finds
    A soft-delete column (`deleted_at`, `is_deleted`, `archived_at`, ...) that two or more
    queries filter on ("only live rows") while no partial index has it in its `WHERE`, on a
    table the size hints (`[tool.schemalens.tables.<name>]`) give 10,000 rows or more (now or
    within a year). The tables of a workspace that do so are one finding (the indexes follow
    one convention).

    Without a size hint the rule stays silent: a partial index pays off when deleted rows pile
    up in a big table, and on the judged corpus of real projects the soft-deleted rows were few
    and the live queries rode on other indexes.

    Off by default: with the corpus projects' tables hinted (tests/corpus/hints), none of its
    three findings was worth a reviewer's time. A partial index pays only when soft-deleted rows
    are a large share of the table, which neither the code nor the size hints tell. Select it
    (`select = ["ALL", "SL413"]`) where deleted rows pile up.

    ## Why it matters
    Deleted rows pile up and stay in every index the live queries use: the indexes keep
    growing with rows nobody reads, and queries filter them out row by row. A partial index
    `WHERE deleted_at IS NULL` holds the live rows only and stays small.

    P2.

    ## Example
    ```python
    Order.query.filter(Order.customer_id == cid, Order.deleted_at.is_(None))
    ```
    with `CREATE INDEX ON orders (customer_id)`.

    ## Use instead
    `CREATE INDEX CONCURRENTLY orders_customer_id_live_idx ON orders (customer_id) WHERE deleted_at IS NULL;`
    (and drop the full index once nothing else needs it).

    ## How to verify
    `EXPLAIN` the live query: an index scan on the partial index; `pg_relation_size` of the
    partial index is a fraction of the full one.
    """

    code = "SL413"
    default_enabled = False
    grouped_by = "workspace"  # a convention of the schema: one finding, every table a place of it
    name = "soft-delete-without-partial-index"
    dimension = 4
    severity = "P2"
    summary = _("soft-delete filter used by several queries, no partial index")

    valid = (Example(query_example(_TWO) | {"db/V2__live.sql": (
        "CREATE INDEX orders_customer_live_idx ON orders (customer_id) WHERE deleted_at IS NULL;\n")}, config=_SIZES),
             # redash, polar: no size hint (soft-deleted rows are few)
             Example(query_example(_TWO)))
    invalid = (Example(query_example(_TWO.replace(
        "return Order.query.filter(Order.deleted_at.is_(None)).all()\n", "return Order.query.filter(Order.deleted_at.is_(None)).all()  # expect\n")),
        config=_SIZES),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        uses: dict[tuple[str, str], list] = {}
        for path in context.reached_query_paths:
            for predicate in path.predicates:
                if predicate.use.column in SOFT_DELETE_COLUMNS and predicate.operator in ("=", "is null"):
                    uses.setdefault((predicate.use.table, predicate.use.column), []).append(predicate.use)
                    break
        for (table_name, column), found in sorted(uses.items()):
            table = context.layer.tables.get(table_name)
            if table is None or len(found) < 2 or any(index.where and column in index.where for index in table.indexes):
                continue
            if not in_size_scope(context, self.code, table):
                continue
            first, *others = sorted(found, key=lambda use: (use.location.path, use.location.line))
            yield self.finding(
                first.location, _("%(count)s queries filter %(table)s on %(column)s, no partial index", count=len(found), table=table.name, column=column),
                _("%(count)s queries read only the live rows of %(table)s (by %(column)s); no index of %(table)s "
                "is partial on %(column)s, so soft-deleted rows stay in every index they use.", count=len(found), table=table.name, column=column)
                + " " + size_evidence(context, table),
                impact=_("Worst case: indexes and scans grow with rows nobody reads until the live queries slow down. "
                       "Most likely: bloated indexes and a filter step on every live query."),
                root_cause=_("Soft delete was added as a column; the indexes were not revisited."),
                fix=Fix(short_term=_("CREATE INDEX CONCURRENTLY ... ON %(table)s (<the columns these queries match>) "
                                   "WHERE %(column)s IS NULL  -- or = false for a boolean flag", table=table.name, column=column),
                        medium_term=_("Move long-deleted rows to an archive table on a schedule."),
                        long_term=_("A query helper (or ORM criteria) that always adds the live filter, with the partial indexes.")),
                verification=_("EXPLAIN a live query: an index scan on the partial index; compare pg_relation_size of the "
                             "partial and full indexes"),
                table=table.name, column=column,
                related=tuple(Related(use.location, _("also filters on it")) for use in others))
