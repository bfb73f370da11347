from __future__ import annotations

from typing import Iterator

from ...schema.model import table_key
from ...schema.operations import AlterColumn, DropColumn, DropTable
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, lock_sentence, on_existing_tables, sql_example


class DropNotNull(Rule):
    """## What it finds
    `ALTER COLUMN ... DROP NOT NULL` (`op.alter_column(..., nullable=True)`) on a table an
    earlier migration created. Not reported when the column is on its way out: a later
    migration drops it, or the models (the code) no longer map it, as in the first step of a
    two-release column removal (`schemalens scaffold drop-column`).

    ## Why it matters
    The column could never be NULL, and the code of the running release, reports, exports and
    other services reading the table were written knowing that. Once the constraint is gone the
    new release may write NULLs, and whatever reads them without expecting them breaks: a
    `NoneType` error, a `NOT IN` that returns nothing, a sum that quietly ignores rows. The
    statement itself takes ACCESS EXCLUSIVE only briefly.

    P2.

    ## Example
    ```python
    op.alter_column("orders", "status", nullable=True)
    ```

    ## Use instead
    First release every reader that handles NULL (and the models with `nullable=True`), then
    drop NOT NULL, then start writing NULLs. If the aim is to stop writing the column before
    dropping it, keep a default instead (`SET DEFAULT ...`) so that rows stay complete.

    ## How to verify
    `grep` the readers of the column for NULL handling; `SELECT count(*) FROM orders WHERE
    status IS NULL` stays 0 until they are released.
    """

    code = "SL546"
    name = "drop-not-null"
    dimension = 5
    severity = "P2"
    summary = "NOT NULL dropped from a column of an existing table (readers may not expect NULLs)"
    summary_zh = "取消已有列的 NOT NULL（读取方可能无法处理 NULL）"
    peers = ("squawk:ban-drop-not-null", "pgls:banDropNotNull")

    valid = (
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=False, server_default='new')")),
        Example(sql_example("CREATE TABLE refunds (id int PRIMARY KEY, reason text NOT NULL);\n"
                            "ALTER TABLE refunds ALTER COLUMN reason DROP NOT NULL;\n")),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=True)  # expect")),
        Example(sql_example("ALTER TABLE orders ALTER COLUMN status DROP NOT NULL;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AlterColumn):
            operation = walked.operation
            if operation.nullable is not True or _being_removed(context, walked):
                continue
            effect = next(e for e in walked.lock_effects if e.key == "drop-not-null")
            table, column = walked.table, operation.column
            yield self.finding(
                operation.location, f"{table}.{column} may now be NULL",
                f"Code reading {table}.{column} was written for a column that is never NULL. {lock_sentence(effect)}",
                impact=f"Worst case: NULLs written by the new release crash the old release, reports or other services "
                       f"reading {table}.{column}. Most likely: a late error in a job or export that assumed a value.",
                root_cause="Relaxing a constraint looks safe for writers, but it changes what every reader receives.",
                fix=Fix(short_term=f"Release the readers of {column} that handle NULL first, then drop NOT NULL; or keep "
                                   "it NOT NULL with a default.",
                        medium_term="List the readers of each column (hover a column in the editor) before relaxing it.",
                        long_term="Treat NULL-ability as part of the column's contract in review."),
                verification=f"SELECT count(*) FROM {table} WHERE {column} IS NULL;  -- stays 0 until the readers are "
                             "released; test: the readers' tests with a NULL row",
                table=table, column=column, related=created_here(walked))


def _being_removed(context: AuditContext, walked) -> bool:
    operation = walked.operation
    model = context.model.orm.tables.get(table_key(operation.table, operation.schema))
    if model is not None and model.column(operation.column) is None:
        return True
    walk = context.migration_walk
    later = walk[walk.index(walked) + 1:]
    return any(w.table == walked.table and (isinstance(w.operation, DropTable) or isinstance(w.operation, DropColumn)
                                            and w.operation.column == operation.column) for w in later)
