from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_pattern import LazyPattern

_LOW_CARDINALITY_NAME = LazyPattern(r"(^|_)(status|state|type|kind|role|visibility|gender|sex|flag|enabled|active|deleted|visible)$|^(is|has)_")


_ENUM_DECLARATION = LazyPattern(r"^(\w+\.)*Enum\(")


def is_low_cardinality(context: AuditContext, table, column) -> bool:
    """A boolean, an enum type or a status-like column (`status`, `type`, `is_*`): a handful of
    distinct values, which a single-column btree index does not narrow. A column the models
    declare as an `Enum` is one even when it is stored as a string (`native_enum=False`, or
    migrations that create it as `sa.String()`)."""
    if column.type == "boolean" or column.type in context.layer.enums or \
            (_LOW_CARDINALITY_NAME.search(column.name) and column.type.startswith(("character", "text", "smallint"))):
        return True
    mapped = context.model.orm.tables.get(table.key)
    declared = mapped.column(column.name) if mapped is not None else None
    return declared is not None and bool(_ENUM_DECLARATION.match(declared.raw_type))


class LowSelectivityIndex(Rule):
    """## What it finds
    Single-column, non-partial btree indexes on booleans, enum types or status-like columns
    (`status`, `type`, `is_*`, `deleted`), which have a handful of distinct values.

    ## Why it matters
    The planner ignores an index that matches a large share of the table (a sequential scan is
    cheaper), so the index only costs writes, vacuum and memory. The one value that is rare
    (`status = 'failed'`, `is_deleted = false` on a mostly-deleted table) is better served by a
    partial index.

    Off by default: the planner does use such an index for the rare value, and on the real
    projects we read every one served a rare-value scan (archived rows, open checkouts, one
    benefit type) on a table whose write cost it barely raised (0 of 2 findings, 23 indexes,
    worth a reviewer's time). Select it by code (`select = ["ALL", "SL403"]`) on write-heavy
    tables where `pg_stat_user_indexes` shows the index unused.

    ## Example
    ```python
    is_active = db.Column(db.Boolean, index=True)
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY ix_users_active_email ON users (email) WHERE is_active;
    ```
    or a composite index that leads with a selective column and ends with the flag.

    ## How to verify
    `SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'ix_users_is_active';`
    stays near 0 on production; `EXPLAIN` of the hot queries uses the replacement.
    """

    code = "SL403"
    default_enabled = False
    grouped_by = "workspace"
    name = "low-selectivity-index"
    dimension = 4
    severity = "P2"
    summary = _("single-column index on a boolean or low-cardinality column")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, is_active boolean);\n"
        "CREATE INDEX ix_users_active_email ON users (email) WHERE is_active;\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, is_active boolean);\n"
        "CREATE INDEX ix_users_is_active ON users (is_active);  -- expect\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            for index in table.indexes:
                if len(index.columns) != 1 or index.where or index.unique or index.using or any(index.expressions):
                    continue
                column = table.column(index.columns[0])
                if column is None:
                    continue
                if not is_low_cardinality(context, table, column):
                    continue
                location, related = context.where_element(table, index)
                yield self.finding(
                    location, _("%(index)s indexes only %(table)s.%(column)s (%(type)s)", index=index.name, table=table.name, column=column.name, type=column.type),
                    _("%(index)s is a single-column index on %(column)s, which has few distinct values.", index=index.name, column=column.name),
                    impact=_("Worst case: every write to %(table)s maintains an index the planner never uses. "
                           "Most likely: wasted write time and memory, and the rare value's queries still scan.", table=table.name),
                    root_cause=_("`index=True` on a flag or state column."),
                    fix=Fix(short_term=_("Check pg_stat_user_indexes.idx_scan for %(index)s.", index=index.name),
                            medium_term=_("Replace it with a partial index for the rare value (… WHERE %(column)s = …) or a "
                                        "composite index that leads with a selective column; DROP INDEX CONCURRENTLY %(index)s.", column=column.name, index=index.name),
                            long_term=_("Standard: flags are indexed only as partial-index predicates.")),
                    verification=_("SELECT %(column)s, count(*) FROM %(table)s GROUP BY 1;  -- the distribution decides", column=column.name, table=table.name),
                    table=table.name, column=column.name, related=related)
