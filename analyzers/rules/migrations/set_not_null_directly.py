from __future__ import annotations

import re
from typing import Iterator

from ...schema.migration_walk import WalkedOperation
from ...schema.model import CheckConstraint
from ...schema.operations import AddConstraint, AlterColumn, ValidateConstraint
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import (
    alembic_example,
    created_here,
    lock_sentence,
    on_existing_tables,
    scaffold_command,
    severity_by_size,
    sql_example,
)


class SetNotNullDirectly(Rule):
    """## What it finds
    `ALTER COLUMN ... SET NOT NULL` (`op.alter_column(..., nullable=False)`) on a table an
    earlier migration created, when no validated `CHECK (column IS NOT NULL)` exists before it.

    ## Why it matters
    SET NOT NULL takes ACCESS EXCLUSIVE and scans the whole table to prove there is no NULL:
    reads and writes wait for the scan. Since PostgreSQL 12 the scan is skipped when a valid
    CHECK constraint already proves it, and such a CHECK can be added NOT VALID and validated
    under a lock that lets traffic through.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    op.alter_column("orders", "status", nullable=False)
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;
    ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;   -- next revision
    ALTER TABLE orders ALTER COLUMN status SET NOT NULL;             -- no scan now
    ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;
    ```
    Backfill the NULL rows in batches before the VALIDATE.

    ## How to verify
    `SELECT count(*) FROM orders WHERE status IS NULL;` is 0 before the VALIDATE; `\\d orders`
    shows the column NOT NULL afterwards; `schemalens verify` shows the SET NOT NULL step taking
    milliseconds.
    """

    code = "SL508"
    contends_with_live_traffic = True
    name = "set-not-null-directly"
    dimension = 5
    severity = "P1"
    summary = "SET NOT NULL on an existing table without a validated CHECK first"
    summary_zh = "直接对已有表 SET NOT NULL（锁表全表扫描），未先用 CHECK NOT VALID 验证"

    valid = (
        Example(sql_example(
            "ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;\n"
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"
            "ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;\n")),
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=True)")),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=False)  # expect")),
        Example(sql_example("ALTER TABLE orders ALTER COLUMN status SET NOT NULL;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AlterColumn):
            operation = walked.operation
            if operation.nullable is not False or _proven_by_a_check(context, walked):
                continue
            effect = next(e for e in walked.lock_effects if e.key == "set-not-null")
            table, column = walked.table, operation.column
            constraint = f"{table}_{column}_not_null"
            yield self.finding(
                operation.location, f"{table}.{column} is made NOT NULL directly",
                lock_sentence(effect),
                impact=f"Worst case: every query on {table} waits for the scan and the service times out during "
                       "the deploy; if a NULL slipped in, the migration fails half-way. Most likely: seconds to "
                       "minutes of blocked traffic growing with the table.",
                root_cause="`nullable=False` looks like a catalog flag but PostgreSQL must read every row to prove it.",
                fix=Fix(short_term=f"`ALTER TABLE {table} ADD CONSTRAINT {constraint} CHECK ({column} IS NOT NULL) NOT "
                                   f"VALID`; in the next revision `VALIDATE CONSTRAINT {constraint}`, then `SET NOT "
                                   f"NULL` (no scan since PostgreSQL 12) and drop the check."
                                   + scaffold_command(context, walked, "set-not-null", table, column=column),
                        medium_term=f"Backfill NULL {column} values in batches before validating.",
                        long_term="Add new columns NOT NULL with a constant default from the start."),
                verification=f"SELECT count(*) FROM {table} WHERE {column} IS NULL;  -- 0 before VALIDATE; test: "
                             "`schemalens verify` shows the SET NOT NULL step without a long ACCESS EXCLUSIVE",
                table=table, column=column, related=created_here(walked), severity=severity_by_size(context, table))


def _proven_by_a_check(context: AuditContext, target: WalkedOperation) -> bool:
    """A CHECK (column IS NOT NULL) on the same table was added valid, or validated, before `target`."""
    proves = re.compile(rf'^\(*\s*"?{re.escape(target.operation.column)}"?\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)
    pending: set[str] = set()
    for walked in context.migration_walk:
        if walked is target:
            return False
        operation = walked.operation
        if walked.table != target.table:
            continue
        if isinstance(operation, AddConstraint) and isinstance(operation.constraint, CheckConstraint) \
                and proves.match(operation.constraint.expression.strip()):
            if not operation.constraint.not_valid:
                return True
            pending.add(operation.constraint.name)
        elif isinstance(operation, ValidateConstraint) and operation.name in pending:
            return True
    return False
