from __future__ import annotations

import re
from typing import Iterator

from ...schema.migration_walk import WalkedOperation
from ...schema.model import CheckConstraint, PrimaryKey
from ...schema.operations import (
    AddColumn,
    AddConstraint,
    AddConstraintUsingIndex,
    AlterColumn,
    CreateIndex,
    CreateTable,
    ValidateConstraint,
)
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import (
    alembic_example,
    backfilled_under_the_add,
    created_here,
    few_rows,
    lock_sentence,
    on_existing_tables,
    scaffold_command,
    severity_by_size,
    sql_example,
    young_table_example,
)
from ...i18n import _
from ...lazy_pattern import LazyPattern
from .history_practice import said_once_per_history

# CHECK (column IS NOT NULL), the column's name in group 1
_NOT_NULL_CHECK = LazyPattern(r'^\(*\s*"?(.+?)"?\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)


def _created_not_null() -> dict[str, str]:
    """fides: a column created NOT NULL, its `nullable=False` repeated beside a new server default."""
    example = alembic_example("    op.alter_column('orders', 'tags', existing_type=sa.Text(), nullable=False, server_default='')")
    example["migrations/versions/a1_base.py"] = example["migrations/versions/a1_base.py"].replace(
        "sa.Column('note', sa.Text())", "sa.Column('note', sa.Text()), sa.Column('tags', sa.Text(), nullable=False)")
    return example


class SetNotNullDirectly(Rule):
    """## What it finds
    `ALTER COLUMN ... SET NOT NULL` (`op.alter_column(..., nullable=False)`) on a table an
    earlier migration created, when no validated `CHECK (column IS NOT NULL)` exists before it
    or when the PostgreSQL version (`postgres_version`)
    is below 12, where such a CHECK does not help. A `VALIDATE CONSTRAINT` of a constraint the
    migrations SchemaLens reads never added (it came from elsewhere) on the same table is given
    the benefit of the doubt.

    A column added and backfilled (UPDATE) earlier in the same transaction is left to SL516:
    the ADD COLUMN's ACCESS EXCLUSIVE lock is held through the backfill and the scan alike, one
    problem, reported at the backfill. So is an ALTER that also changes the column's type in a
    way that rewrites the table (SL509): PostgreSQL checks NOT NULL while it rewrites.

    Also `ADD PRIMARY KEY ... USING INDEX` on columns that are not NOT NULL yet: PostgreSQL sets
    them NOT NULL as part of it, with the same scan under ACCESS EXCLUSIVE.

    A young table is left alone: one created at most 30 days before the migration (dates from
    Alembic's `Create Date:` line or a date that starts the file name; never a table of the
    first migration of a history, which is often a squash of older ones), unless the size hints
    make it big by then (they give today's rows, of which a month-old table held a month's
    share). Its scan stalls traffic noticeably only at millions of rows, which a table gains
    within a month only at over 100,000 rows a day: a volume to declare in the size hints. A
    table the size hints keep under 100,000 rows, now and in a year, is left alone too: its lock
    lasts milliseconds. So is an older table whose hinted rows, spread over its life, came to
    under 10,000 when the migration ran.

    In a history none of whose migrations adds a `CHECK (column IS NOT NULL) NOT VALID`, three
    or more findings are one, at the newest migration, with the others as related places: the
    fix is the team's practice for the migrations to come, not one per migration that ran long
    ago. In a history that takes the practice up, the migrations before the first that follows
    it are one finding at P2 (they ran before it: nothing is left to change in them), and each
    later one that goes without it is a finding of its own.

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
    summary = _("SET NOT NULL on an existing table without a validated CHECK first")
    peers = ("squawk:adding-not-nullable-field", "pgls:addingNotNullField", "strong_migrations:change_column_null",
             "eugene:E2", "eugene:W14", "atlas:PG303", "atlas:PG304", "atlas:MF104",
             "django-migration-linter:NOT_NULL")

    valid = (
        Example(sql_example(
            "ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;\n"
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"
            "ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;\n")),
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=True)")),
        Example(_created_not_null()),
        # bitcart: json to jsonb and NOT NULL in one ALTER, one rewrite (SL509 reports it)
        Example(alembic_example("    op.alter_column('orders', 'total', type_=sa.Text(), nullable=False,\n"
                                "                    postgresql_using='total::text')")),
        # A table created days before, in the same release: few rows (real code: a feature's new table).
        Example(young_table_example("    op.alter_column('orders', 'status', nullable=False)")),
        # dispatch: six weeks old when this ran; the hints' 100,000 rows came over the three years after
        Example(young_table_example("    op.alter_column('orders', 'status', nullable=False)",
                                    written="2024-04-16 10:00", newest="2027-03-05 10:00"),
                config="[tool.schemalens.tables.orders]\nrows = 100_000\n"),
        # Added and backfilled in the same transaction: the ADD COLUMN's lock covers the backfill
        # and the scan, reported once, by SL516 at the UPDATE (real code: a new column filled at once).
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                "    op.execute(\"UPDATE orders SET channel = 'web'\")\n"
                                "    op.alter_column('orders', 'channel', nullable=False)")),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'status', nullable=False)  # expect")),
        # six weeks old too, but the hints' two million rows put some 80,000 in it by then
        Example(young_table_example("    op.alter_column('orders', 'status', nullable=False)  # expect",
                                    written="2024-04-16 10:00", newest="2027-03-05 10:00"),
                config="[tool.schemalens.tables.orders]\nrows = 2_000_000\n"),
        Example(sql_example("ALTER TABLE orders ALTER COLUMN status SET NOT NULL;  -- expect\n")),
        Example(sql_example("CREATE UNIQUE INDEX CONCURRENTLY orders_status_key ON orders (status);\n"
                            "ALTER TABLE orders DROP CONSTRAINT orders_pkey;\n"
                            "ALTER TABLE orders ADD CONSTRAINT orders_pkey PRIMARY KEY USING INDEX orders_status_key;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return iter(said_once_per_history(
            context, self._findings(context), (AddConstraint,), _not_null_check_not_valid,
            lambda history: _("no migration of %(history)s proves NOT NULL with a CHECK added NOT VALID", history=history)))

    def _findings(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AlterColumn, AddConstraintUsingIndex):
            operation = walked.operation
            if isinstance(operation, AlterColumn) and operation.nullable is not False or few_rows(context, walked):
                continue
            if walked.nullable_before is False:
                continue  # NOT NULL already: PostgreSQL does not scan for NULLs again
            if isinstance(operation, AddConstraintUsingIndex):
                yield from self._primary_key_using_index(context, walked)
                continue
            if _proven_by_a_check(context, walked, operation.column) or backfilled_under_the_add(context, walked, (operation.column,)):
                continue
            if any(e.key == "alter-type-rewrite" for e in walked.lock_effects):
                continue  # the same ALTER rewrites the table and checks NOT NULL as it does: SL509 reports it
            effect = next(e for e in walked.lock_effects if e.key == "set-not-null")
            yield self._finding(context, walked, operation.column, effect)

    def _primary_key_using_index(self, context: AuditContext, walked) -> Iterator[Finding]:
        operation = walked.operation
        if not operation.primary:
            return
        columns, nullable = _state_before(context, walked, operation.index)
        for column in columns:
            if nullable.get(column, True) and not _proven_by_a_check(context, walked, column):
                yield self._finding(context, walked, column, walked.lock_effects[0], primary_key=True)

    def _finding(self, context: AuditContext, walked, column: str, effect, primary_key: bool = False) -> Finding:
        operation = walked.operation
        table = walked.table
        constraint = f"{table}_{column}_not_null"
        version = context.postgres_version
        old = _(" PostgreSQL %(version)s ignores a validated CHECK here (it helps from 12 on): plan the scan, or " \
              "upgrade first.", version=version) if version < 12 else ""
        return self.finding(
            operation.location, _("%(table)s.%(column)s is made NOT NULL ", table=table, column=column) + (_("by ADD PRIMARY KEY USING INDEX") if primary_key
                                                                        else _("directly")),
            lock_sentence(effect) + old,
            impact=_("Worst case: every query on %(table)s waits for the scan and the service times out during "
                   "the deploy; if a NULL slipped in, the migration fails half-way. Most likely: seconds to "
                   "minutes of blocked traffic growing with the table.", table=table),
            root_cause=_("`nullable=False` looks like a catalog flag but PostgreSQL must read every row to prove it."),
            fix=Fix(short_term=_("`ALTER TABLE %(table)s ADD CONSTRAINT %(constraint)s CHECK (%(column)s IS NOT NULL) NOT "
                               "VALID`; in the next revision `VALIDATE CONSTRAINT %(constraint)s`, then `SET NOT "
                               "NULL` (no scan since PostgreSQL 12) and drop the check.", table=table, constraint=constraint, column=column)
                               + scaffold_command(context, walked, "set-not-null", table, column=column),
                    medium_term=_("Backfill NULL %(column)s values in batches before validating.", column=column),
                    long_term=_("Add new columns NOT NULL with a constant default from the start.")),
            verification=_("SELECT count(*) FROM %(table)s WHERE %(column)s IS NULL;  -- 0 before VALIDATE; test: "
                         "`schemalens verify` shows the SET NOT NULL step without a long ACCESS EXCLUSIVE", table=table, column=column),
            table=table, column=column, related=created_here(walked), severity=severity_by_size(context, table))


def _not_null_check_not_valid(walked: WalkedOperation) -> bool:
    """The first step of this rule's way: a CHECK (column IS NOT NULL) added NOT VALID."""
    constraint = walked.operation.constraint
    return isinstance(constraint, CheckConstraint) and constraint.not_valid \
        and _NOT_NULL_CHECK.match(constraint.expression.strip()) is not None


def _proven_by_a_check(context: AuditContext, target: WalkedOperation, column: str) -> bool:
    """A CHECK (column IS NOT NULL) on the same table was added valid, or validated, before
    `target` (PostgreSQL 12+); or a constraint of unknown origin was validated on the table (it
    may be such a CHECK)."""
    if context.postgres_version < 12:
        return False
    pending: set[str] = set()
    proven = False
    for walked in context.migration_walk:
        if walked is target:
            return proven
        operation = walked.operation
        if walked.table != target.table:
            continue
        if isinstance(operation, AddConstraint) and isinstance(operation.constraint, CheckConstraint) \
                and _checks_not_null(operation.constraint.expression, column):
            if not operation.constraint.not_valid:
                proven = True
            pending.add(operation.constraint.name)
        elif isinstance(operation, ValidateConstraint) and (
                operation.name in pending or walked.constraint_before is None):
            proven = True
    return False


def _state_before(context: AuditContext, target: WalkedOperation, index_name: str) -> tuple[tuple, dict]:
    """The columns of index `index_name` and whether each column of the table was nullable,
    just before `target`, from the migrations replayed up to it."""
    columns: tuple = ()
    nullable: dict[str, bool] = {}
    for walked in context.migration_walk:
        if walked is target:
            break
        if walked.table != target.table:
            continue
        operation = walked.operation
        if isinstance(operation, CreateTable):
            nullable = {c.name: c.nullable for c in operation.columns}
            for constraint in operation.constraints:
                if isinstance(constraint, PrimaryKey):
                    nullable.update({name: False for name in constraint.columns})
        elif isinstance(operation, AddColumn):
            nullable[operation.column.name] = operation.column.nullable
        elif isinstance(operation, AlterColumn) and operation.nullable is not None:
            nullable[operation.column] = operation.nullable
        elif isinstance(operation, CreateIndex) and operation.index.name == index_name:
            columns = operation.index.columns
    return columns, nullable


def _checks_not_null(expression: str, column: str) -> bool:
    """`expression` is `column IS NOT NULL` (quoted or not, in parentheses or not)."""
    found = _NOT_NULL_CHECK.match(expression.strip())
    return found is not None and found.group(1).lower() == column.lower()
