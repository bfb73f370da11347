from __future__ import annotations

from typing import Iterator

from ...pg.locks import blocks_writes
from ...schema.operations import DataChange
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .safety import alembic_example, created_here, severity_by_size, sql_example
from ...i18n import _


class WholeTableDataChange(Rule):
    """## What it finds
    An `UPDATE` or `DELETE` without a WHERE clause in a migration, on a table an earlier
    migration created. (Right after DDL on the same table in one transaction it is SL516's.)

    ## Why it matters
    One statement touches every row in one transaction: every row stays locked against other
    writers until it commits, the table's size can double with dead row versions (bloat,
    autovacuum work, replication lag), and a failure near the end rolls all of it back. A DELETE
    without WHERE in a migration is also rarely what the author meant to ship to production.

    P2; P1 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```sql
    UPDATE orders SET channel = 'web';
    ```

    ## Use instead
    A batched backfill: `UPDATE orders SET channel = 'web' WHERE id BETWEEN :start AND :end AND
    channel IS NULL`, one commit per batch (`schemalens scaffold add-column --backfill ...`
    writes one), or a server default for new rows plus the batches for old ones.

    ## How to verify
    `SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'orders'` stays small during the
    backfill; no writer waits on row locks for long (`pg_stat_activity`).
    """

    code = "SL558"
    name = "whole-table-data-change"
    dimension = 5
    severity = "P2"
    summary = _("UPDATE or DELETE without WHERE on an existing table in a migration")
    peers = ("pgls:banUpdateWithoutWhere", "pgls:banDeleteWithoutWhere")

    valid = (
        Example(sql_example("UPDATE orders SET status = 'new' WHERE status IS NULL AND id < 10000;\n")),
        Example(sql_example("CREATE TABLE refunds (id int PRIMARY KEY, reason text);\nUPDATE refunds SET reason = '';\n")),
    )
    invalid = (
        Example(sql_example("DELETE FROM orders;  -- expect\n")),
        Example(alembic_example("    op.execute(\"UPDATE orders SET status = 'new'\")  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_step(self.code, self._check_step)

    def _check_step(self, context: StepView, operations: tuple) -> Iterator[Finding]:
        locked: set = set()  # tables with write-blocking DDL in the open transaction (SL516's)
        for walked in operations:
            operation = walked.operation
            if not walked.in_transaction:
                locked.clear()
            elif any(blocks_writes(e.strongest) for e in walked.lock_effects) and not isinstance(operation, DataChange):
                locked.add(walked.table)
            if not isinstance(operation, DataChange) or not operation.whole_table or not walked.existing \
                    or walked.table in locked:
                continue
            table = walked.table
            yield self.finding(
                operation.location, _("%(kind)s of every row of %(table)s in one statement", kind=operation.kind, table=table),
                _("%(kind)s without WHERE changes every row of %(table)s in one transaction, locking them all "
                "against other writers until it commits.", kind=operation.kind, table=table),
                impact=_("Worst case: writers to %(table)s wait for the whole statement, the table bloats and replicas lag; "
                       "a DELETE empties a production table. Most likely: a slow deploy step that grows with the table.", table=table),
                root_cause=_("Backfills written as one statement, tested on small development data."),
                fix=Fix(short_term=_("Batch it by primary-key range with a commit per batch, resumable (WHERE ... IS NULL).")
                        if operation.kind == "UPDATE" else _("Make sure the DELETE is meant; batch it by key range."),
                        medium_term=_("Data changes in their own revision or job, not in schema migrations.")),
                verification=_("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = '%(table)s';  -- stays small "
                             "while the batches run", table=table),
                table=table, related=created_here(walked), severity=severity_by_size(context, table, big="P1"))
