from __future__ import annotations

import re
from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _

_LOW_CARDINALITY_NAME = re.compile(r"(^|_)(status|state|type|kind|gender|sex|flag|enabled|active|deleted|visible)$|^(is|has)_")


def is_low_cardinality(context: AuditContext, column) -> bool:
    """A boolean, an enum type or a status-like column (`status`, `type`, `is_*`): a handful of
    distinct values, which a single-column btree index does not narrow."""
    return column.type == "boolean" or column.type in context.layer.enums or \
        bool(_LOW_CARDINALITY_NAME.search(column.name) and column.type.startswith(("character", "text", "smallint")))


class LowSelectivityIndex(Rule):
    """## What it finds
    Single-column, non-partial btree indexes on booleans, enum types or status-like columns
    (`status`, `type`, `is_*`, `deleted`), which have a handful of distinct values.

    ## Why it matters
    The planner ignores an index that matches a large share of the table (a sequential scan is
    cheaper), so the index only costs writes, vacuum and memory. The one value that is rare
    (`status = 'failed'`, `is_deleted = false` on a mostly-deleted table) is better served by a
    partial index.

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
                if not is_low_cardinality(context, column):
                    continue
                location, related = context.where_element(table, index)
                yield self.finding(
                    location, f"{index.name} indexes only {table.name}.{column.name} ({column.type})",
                    f"{index.name} is a single-column index on {column.name}, which has few distinct values.",
                    impact=f"Worst case: every write to {table.name} maintains an index the planner never uses. "
                           "Most likely: wasted write time and memory, and the rare value's queries still scan.",
                    root_cause="`index=True` on a flag or state column.",
                    fix=Fix(short_term=f"Check pg_stat_user_indexes.idx_scan for {index.name}.",
                            medium_term=f"Replace it with a partial index for the rare value (… WHERE {column.name} = …) or a "
                                        f"composite index that leads with a selective column; DROP INDEX CONCURRENTLY {index.name}.",
                            long_term="Standard: flags are indexed only as partial-index predicates."),
                    verification=f"SELECT {column.name}, count(*) FROM {table.name} GROUP BY 1;  -- the distribution decides",
                    table=table.name, column=column.name, related=related)
