from __future__ import annotations

from typing import Iterator

from ...schema.operations import AlterColumn
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import (
    alembic_example,
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


class RewritingTypeChange(Rule):
    """## What it finds
    `ALTER COLUMN ... TYPE` on a table an earlier migration created, when the change is not
    binary-compatible: integer to bigint, text to integer, timestamp to timestamptz, a shorter
    varchar, a `USING` clause that converts the values. Longer or unbounded varchar, varchar to
    text, text or varchar to citext and back (to a varchar without length), and a wider numeric
    with the same scale are fine, also when written with a `USING` that
    is only the column or its cast to the new type (`USING note::varchar(1000)`), which
    PostgreSQL reduces to the plain change (measured: docs/locks.md).

    A young table is left alone: one created at most 30 days before the migration (dates from
    Alembic's `Create Date:` line or a date that starts the file name; never a table of the
    first migration of a history, which is often a squash of older ones), unless the size hints
    make it big by then (they give today's rows, of which a month-old table held a month's
    share). Its rewrite stalls traffic noticeably only at millions of rows, which a table gains
    within a month only at over 100,000 rows a day: a volume to declare in the size hints. A
    table the size hints keep under 100,000 rows, now and in a year, is left alone too: its lock
    lasts milliseconds. So is an older table whose hinted rows, spread over its life, came to
    under 10,000 when the migration ran.

    ## Why it matters
    PostgreSQL rewrites the whole table and rebuilds every index on it while holding ACCESS
    EXCLUSIVE: no reads, no writes, for as long as copying the table takes, and twice its
    disk space meanwhile. Old application code that still writes the old type may also break.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    op.alter_column("orders", "id", type_=sa.BigInteger())
    ```

    ## Use instead
    Expand and contract: add a new column of the new type, fill it for new rows with a trigger,
    backfill old rows in batches, switch reads and writes, then swap names in one short
    transaction and drop the old column later. For primary keys, build the new unique index
    CONCURRENTLY and attach it with `ADD CONSTRAINT ... PRIMARY KEY USING INDEX`.

    ## How to verify
    `SELECT pg_relation_filenode('orders');` is unchanged after the migration (no rewrite);
    `schemalens verify` reports rewrites per statement.
    """

    code = "SL509"
    contends_with_live_traffic = True
    name = "rewriting-type-change"
    dimension = 5
    severity = "P1"
    summary = _("column type change that rewrites an existing table")
    peers = ("squawk:changing-column-type", "pgls:changingColumnType", "strong_migrations:change_column",
             "eugene:E5", "atlas:PG301", "django-migration-linter:ALTER_COLUMN")

    valid = (
        Example(alembic_example("    op.alter_column('orders', 'status', type_=sa.String(50))")),
        Example(sql_example("ALTER TABLE orders ALTER COLUMN status TYPE text;\n")),
        Example(sql_example("ALTER TABLE orders ALTER COLUMN status TYPE varchar(100) USING status::varchar(100);\n")),
        # A table created days before, in the same release: few rows (real code: a feature's new table).
        Example(young_table_example("    op.alter_column('orders', 'total', type_=sa.Numeric())")),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'total', type_=sa.BigInteger())  # expect")),
        Example(sql_example("ALTER TABLE orders ALTER COLUMN status TYPE varchar(10);  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AlterColumn):
            effect = next((e for e in walked.lock_effects if e.key == "alter-type-rewrite"), None)
            if effect is None or few_rows(context, walked):
                continue
            operation, table = walked.operation, walked.table
            before = walked.type_before or _("its old type")
            yield self.finding(
                operation.location, _("%(table)s.%(column)s changes type from %(before)s to %(type)s, "
                                    "rewriting the table", table=table, column=operation.column, before=before, type=operation.type),
                lock_sentence(effect),
                impact=_("Worst case: %(table)s is unreadable and unwritable for the whole rewrite (minutes to hours on "
                       "a big table) and the disk needs room for a second copy. Most likely: a stalled deploy and "
                       "timeouts on every endpoint that touches the table.", table=table),
                root_cause=_("Type changes look like metadata edits in the model; PostgreSQL has to convert every row."),
                fix=Fix(short_term=_("Add `%(column)s_new %(type)s`, keep it in sync with a trigger, "
                                   "backfill in batches, switch the application, then swap the columns in one short "
                                   "transaction.", column=operation.column, type=operation.type) + (scaffold_command(context, walked, "change-type", table,
                                                                      column=operation.column, type=operation.type)
                                                     if not _scaffold_refuses(context, table, operation.column) else ""),
                        medium_term=_("Set `lock_timeout` and rehearse the migration on a copy of production "
                                    "(`schemalens verify`)."),
                        long_term=_("Choose bigint for keys and counters from the start.")),
                verification=_("SELECT pg_relation_filenode('%(table)s');  -- same value before and after: no rewrite; "
                             "test: `schemalens verify` reports no rewrite for the revision", table=table),
                table=table, column=operation.column, related=created_here(walked),
                severity=severity_by_size(context, table))


def _scaffold_refuses(context: AuditContext, table: str, column: str) -> bool:
    """A column the scaffold leaves to a hand-written plan: an identity column (its sequence
    cannot move to another column) or part of a composite primary key."""
    found = context.layer.table(table)
    if found is None:
        return True
    if found.primary_key and column in found.primary_key.columns and len(found.primary_key.columns) > 1:
        return True
    current = found.column(column)
    return current is not None and current.identity in ("always", "by default")
