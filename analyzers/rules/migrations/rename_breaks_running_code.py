from __future__ import annotations

from typing import Iterator

from ...schema.operations import AlterColumn, DropColumn, RenameTable, UnsupportedStatement
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, on_existing_tables, scaffold_command, sql_example


class RenameBreaksRunningCode(Rule):
    """## What it finds
    A column or table renamed in place (`op.alter_column(..., new_column_name=...)`,
    `op.rename_table`, `RENAME COLUMN`, `RENAME TO`) when an earlier migration created it.
    Not reported when the same migration keeps the old name working: a view with the old table
    name, or a staging column renamed into the place of the column it just dropped (the last
    step of a type change, as `schemalens scaffold change-type` writes it).

    ## Why it matters
    During a rolling deploy the old release keeps running until the new one has replaced it,
    and the old release still names the old column or table: every query it sends fails from
    the moment the migration commits until the last old process is gone. A rollback of the
    application alone fails the same way.

    P1.

    ## Example
    ```python
    op.alter_column("orders", "note", new_column_name="customer_note")
    ```

    ## Use instead
    Expand and contract: add the new column, keep both in sync with a trigger, backfill, deploy
    code that reads and writes the new name, then drop the old column in a later release. For a
    table: rename it and create a view with the old name (simple views are updatable) until no
    code uses the old name. `schemalens scaffold rename-column` / `rename-table` writes these
    revisions.

    ## How to verify
    Run the old release's test suite against the migrated schema; it must pass. `schemalens
    verify` rehearses upgrade and downgrade.
    """

    code = "SL512"
    name = "rename-breaks-running-code"
    dimension = 5
    severity = "P1"
    summary = "column or table renamed in place (the running release breaks)"
    summary_zh = "直接重命名列或表（滚动发布期间旧代码报错）"

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('customer_note', sa.Text()))")),
        Example(sql_example("CREATE TABLE invoices (id int PRIMARY KEY, memo text);\n"
                            "ALTER TABLE invoices RENAME COLUMN memo TO note;\n")),
        # the old name stays: a view in its place, or a staging column swapped in for a dropped one
        Example(sql_example("ALTER TABLE orders RENAME TO purchases;\nCREATE VIEW orders AS SELECT * FROM purchases;\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN total_new bigint;\nALTER TABLE orders DROP COLUMN total;\n"
                            "ALTER TABLE orders RENAME COLUMN total_new TO total;\n")),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'note', new_column_name='customer_note')  # expect")),
        Example(sql_example("ALTER TABLE orders RENAME TO purchases;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AlterColumn, RenameTable):
            operation, table = walked.operation, walked.table
            if _old_name_kept(context, walked):
                continue
            if isinstance(operation, RenameTable):
                old, new, what = table, operation.new_name, "table"
                column = None
                transition = (f"rename it and `CREATE VIEW {table} AS SELECT * FROM {new}` in the same revision; "
                              "drop the view once no code uses the old name")
            elif operation.new_name is not None:
                old, new, what = f"{table}.{operation.column}", f"{table}.{operation.new_name}", "column"
                column = operation.column
                transition = (f"add {operation.new_name}, sync it from {operation.column} with a trigger, backfill, "
                              f"switch the code, and drop {operation.column} in a later release")
            else:
                continue
            yield self.finding(
                operation.location, f"{what} {old} is renamed to {new} in place",
                f"Code of the running release still uses {old}; its queries fail from the commit of this migration "
                "until every old process is replaced.",
                impact=f"Worst case: errors on every request that touches {old} during the deploy, and an "
                       "application rollback that cannot work without a schema rollback. Most likely: a burst of "
                       "500s for the length of the rollout.",
                root_cause="Renames are one statement in SQL but two releases in a system that deploys gradually.",
                fix=Fix(short_term=f"Expand and contract: {transition}." + (
                    scaffold_command(context, walked, "rename-column", table, column=column, new_name=operation.new_name) if column
                    else scaffold_command(context, walked, "rename-table", table, new_name=new)),
                        medium_term="Keep the old name in the model (`Column('old_name', key='new_name')`) when only "
                                    "the Python attribute needs the new name.",
                        long_term="Review renames as two-release changes; `schemalens check` in CI flags them."),
                verification="Run the previous release's tests against the migrated schema; test: `schemalens "
                             "verify` rehearses upgrade, downgrade and upgrade",
                table=table, column=column, related=created_here(walked))


def _old_name_kept(context: AuditContext, walked) -> bool:
    """Running code keeps working when the same migration step keeps the name it uses: a table
    renamed and replaced by a view of the old name, or a staging column renamed into the place
    of the column just dropped (the swap at the end of a type change)."""
    operation, operations = walked.operation, walked.step.operations
    later = operations[operations.index(operation) + 1:] if operation in operations else ()
    earlier = operations[: operations.index(operation)] if operation in operations else ()
    if isinstance(operation, RenameTable):
        return any(isinstance(other, UnsupportedStatement) and other.kind == "View"
                   and (context.relation_created_by(other) or "").replace('"', "").split(".")[-1] == walked.table
                   for other in later)
    return any(isinstance(other, DropColumn) and other.table == operation.table and other.column == operation.new_name
               for other in earlier)
