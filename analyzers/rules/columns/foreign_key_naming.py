from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class ForeignKeyNaming(Rule):
    """## What it finds
    Single-column foreign keys whose column is not named after what it references: no `_id`
    suffix (`owner`, `creator`, `parent`), so readers cannot tell a key from a value.

    Off by default: a naming convention, not a defect. On the projects whose findings we judged
    (zou, tracecat: 24 findings) every such column was a deliberate name that no reviewer would
    ask to change. Select it by code to enforce the convention.

    ## Why it matters
    `orders.customer` could be a name, an email or an id; people write `WHERE customer = 'Ann'`,
    ORMs generate confusing attribute names, and other rules (and people) that look for
    `*_id` columns miss the relation.

    ## Example
    ```sql
    CREATE TABLE documents (id bigint PRIMARY KEY, owner bigint REFERENCES users (id));
    ```

    ## Use instead
    ```sql
    CREATE TABLE documents (id bigint PRIMARY KEY, owner_id bigint REFERENCES users (id));
    ```
    (`<role>_id` when one table references another twice: `created_by_id`, `approved_by_id`).

    ## How to verify
    `SELECT conrelid::regclass, a.attname FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
    AND a.attnum = ANY (c.conkey) WHERE contype = 'f' AND a.attname NOT LIKE '%\\_id';` is empty.
    """

    code = "SL209"
    default_enabled = False
    name = "foreign-key-naming"
    dimension = 2
    severity = "P2"
    summary = _("foreign key column not named <target>_id")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE documents (id bigint PRIMARY KEY, owner_id bigint REFERENCES users (id) ON DELETE CASCADE);\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE documents (\n  id bigint PRIMARY KEY,\n  owner bigint REFERENCES users (id) ON DELETE CASCADE  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            for fk in table.foreign_keys:
                if len(fk.columns) != 1 or fk.columns[0].endswith(("_id", "_key", "_code", "_no", "_uuid")) or fk.columns[0] == "id":
                    continue
                column = table.column(fk.columns[0])
                if column is None:
                    continue
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, _("%(table)s.%(column)s references %(ref_table)s but is not named *_id", table=table.name, column=column.name, ref_table=fk.ref_table),
                    _("%(table)s.%(column)s is a foreign key to %(ref_table)s(%(ref_columns)s) with a "
                    "name that reads like a value.", table=table.name, column=column.name, ref_table=fk.ref_table, ref_columns=', '.join(fk.ref_columns)),
                    impact=_("Worst case: queries compare the key with a name or email and silently match nothing. "
                           "Most likely: confusion in code review and ORM attribute clashes."),
                    root_cause=_("No naming standard for key columns."),
                    fix=Fix(short_term=_("Document that %(table)s.%(column)s holds a %(ref_table)s id.", table=table.name, column=column.name, ref_table=fk.ref_table),
                            medium_term=_("Rename it to %(column)s_id with expand/contract (add, dual-write, backfill, switch, drop).", column=column.name),
                            long_term=_("Standard: foreign key columns are <target or role>_id.")),
                    verification=_("SELECT column_name FROM information_schema.columns WHERE table_name = '%(table)s';", table=table.name),
                    table=table.name, column=column.name, related=related)
