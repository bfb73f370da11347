from __future__ import annotations

from typing import Iterator

from ...schema.operations import DROP_DEFAULT, AddColumn, AlterColumn
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import SQL_BASE, alembic_example, created_here, on_existing_tables, sql_example
from ...i18n import _


class DropDefault(Rule):
    """## What it finds
    `ALTER COLUMN ... DROP DEFAULT` (`op.alter_column(..., server_default=None)`) on a column
    of a table an earlier migration created, unless the same migration added the column (adding
    a NOT NULL column with a default and dropping the default at once is the usual way to fill
    existing rows).

    ## Why it matters
    Code of the running release that inserts without naming the column relied on the default:
    once it is gone such inserts store NULL, or fail when the column is NOT NULL.

    P1 when the column is NOT NULL (inserts fail), P2 otherwise (they store NULL).

    ## Example
    ```sql
    ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;
    ```

    ## Use instead
    First release code that always writes the column (models with a client-side default, or an
    explicit value), then drop the database default.

    ## How to verify
    `INSERT INTO orders (id) VALUES (...)` as the running release writes it succeeds with the
    intended value after the migration.
    """

    code = "SL563"
    name = "drop-default"
    dimension = 5
    severity = "P2"
    summary = _("default dropped from a column that running inserts may rely on")
    peers = ("squawk:ban-drop-default",)

    valid = (
        Example(sql_example("ALTER TABLE orders ADD COLUMN channel text NOT NULL DEFAULT 'web';\n"
                            "ALTER TABLE orders ALTER COLUMN channel DROP DEFAULT;\n")),
        Example(alembic_example("    op.alter_column('orders', 'status', server_default='new')")),
        # glance's ocata_expand01: is_public was created with no default
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=True, server_default=None)")),
        # FitTrackee: the default dropped for a type change and set again in the same statement
        Example({"db/V1__base.sql": SQL_BASE + "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';\n",
                 "db/V2__change.sql": ("ALTER TABLE orders ALTER COLUMN status DROP DEFAULT,\n"
                                       "  ALTER COLUMN status TYPE varchar(40),\n"
                                       "  ALTER COLUMN status SET DEFAULT 'new';\n")}),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'status', server_default='new')\n"
                                "    op.alter_column('orders', 'status', server_default=None)  # expect")),
        Example({"db/V1__base.sql": SQL_BASE + "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';\n",
                 "db/V2__change.sql": "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT;  -- expect\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AlterColumn):
            operation = walked.operation
            if operation.server_default != DROP_DEFAULT or _added_in_step(walked) or walked.default_before is False:
                continue  # a column that had no default loses none (glance: `server_default=None` beside nullable=True)
            if _set_again(walked):
                continue
            required = _required(context, walked)
            yield self.finding(
                operation.location, _("the default of %(table)s.%(column)s is dropped", table=walked.table, column=operation.column),
                _("Inserts of the running release that leave %(column)s out relied on the default; from now on ", column=operation.column)
                + (_("they fail: the column is NOT NULL.") if required else _("they store NULL.")),
                impact=_("Worst case: inserts into %(table)s fail during the deploy. Most likely: rows with NULL "
                       "%(column)s that code reading them does not expect.", table=walked.table, column=operation.column),
                root_cause=_("The default was dropped in the same release as the code that stopped relying on it."),
                fix=Fix(short_term=_("Release code that always writes %(column)s first, then drop the default.", column=operation.column)),
                verification=_("Insert a row the way the running release does; it keeps a valid %(column)s", column=operation.column),
                table=walked.table, column=operation.column, related=created_here(walked),
                severity="P1" if required else None)


def _set_again(walked) -> bool:
    """A default set again later in the same transaction, or the same statement (the DROP DEFAULT,
    TYPE, SET DEFAULT of a type change whose old default does not cast): no insert sees none."""
    operation = walked.operation
    return any(isinstance(other, AlterColumn) and other.table == operation.table and other.column == operation.column
               and other.server_default not in (None, DROP_DEFAULT)
               and (walked.in_transaction or other.location == operation.location)
               for other in walked.later_in_step)


def _added_in_step(walked) -> bool:
    operation = walked.operation
    return any(isinstance(other, AddColumn) and other.table == operation.table and other.column.name == operation.column
               for other in walked.step.operations)


def _required(context: AuditContext, walked) -> bool:
    """Whether the column is NOT NULL once the step has run: as the migrations leave it then, not
    at head (linkwarden drops the default and NOT NULL together, and a later migration sets NOT
    NULL again)."""
    operation = walked.operation
    in_step = [other.nullable for other in walked.step.operations
               if isinstance(other, AlterColumn) and other.table == operation.table and other.column == operation.column
               and other.nullable is not None]
    if in_step:
        return not in_step[-1]
    if walked.nullable_before is not None:
        return not walked.nullable_before
    table = context.model.database.tables.get(walked.table)
    column = table.column(operation.column) if table is not None else None
    return column is not None and not column.nullable
