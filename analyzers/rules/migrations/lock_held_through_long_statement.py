from __future__ import annotations

from typing import Iterator

from ...pg.locks import ACCESS_EXCLUSIVE, sql_name
from ...schema.operations import AddConstraint, AttachPartition, DataChange, ValidateConstraint
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .safety import alembic_example, severity_by_size, sql_example, transaction_of
from ...i18n import _


class LockHeldThroughLongStatement(Rule):
    """## What it finds
    In one transaction, a statement written the online way, which scans a table under a lock
    that lets reads and writes go on (`VALIDATE CONSTRAINT`, `ATTACH PARTITION` with its
    scan), after an earlier statement of the same transaction took ACCESS EXCLUSIVE on an
    existing table: the earlier lock is held until the commit, so through the whole scan.

    Long statements that have an online form of their own (a plain CREATE INDEX, a foreign key
    without NOT VALID, a rewriting type change, SET NOT NULL) are reported by their own rules
    (SL505, SL507-SL510), whose fix also ends the wide lock window; VALIDATE of a constraint
    added NOT VALID in the same transaction is SL507's; row changes after DDL are SL516's.

    ## Why it matters
    Locks are held until the transaction ends. An instant `ADD COLUMN` followed by a `CREATE
    INDEX` in the same transaction keeps ACCESS EXCLUSIVE for the whole index build: reads of the
    table wait too, where the build alone would only have blocked writes; an ACCESS EXCLUSIVE on
    one table held while another table is scanned blocks the first table for the scan of the
    second.

    P2; P1 when the size hints give the locked table 1M rows or more, now or within a year.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("channel", sa.String(20)))
        op.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk")
    ```

    ## Use instead
    Validate in a revision of its own (or after a commit: `autocommit_block()`), so that the
    scan runs under SHARE UPDATE EXCLUSIVE only; keep transactions that take ACCESS EXCLUSIVE to
    instant statements.

    ## How to verify
    `schemalens verify` shows, per statement, the strongest lock held: no statement scans a
    table while ACCESS EXCLUSIVE from an earlier statement is still held.
    """

    code = "SL557"
    contends_with_live_traffic = True
    name = "lock-held-through-long-statement"
    dimension = 5
    severity = "P2"
    summary = _("ACCESS EXCLUSIVE held through a later scan or rewrite in the same transaction")
    peers = ("pgls:runningStatementWhileHoldingAccessExclusive", "pgls:avoidWideLockWindow", "eugene:E4")

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                "    op.add_column('orders', sa.Column('source', sa.String(20)))")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n")
                | {"db/V3__validate.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;\n"}),
    )
    invalid = (
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n")
                | {"db/V3__validate.sql": "ALTER TABLE orders ADD COLUMN channel text;\n"
                                          "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;  -- expect\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        held: dict[int, tuple] = {}  # step -> (walked, effect) of the first ACCESS EXCLUSIVE in the open transaction
        reported: set[int] = set()
        for walked in context.migration_walk:
            number = walked.step_number
            if not walked.in_transaction:
                held.pop(number, None)
                continue
            if isinstance(walked.operation, DataChange) or not walked.existing:
                continue
            effects = walked.lock_effects
            online = isinstance(walked.operation, (ValidateConstraint, AttachPartition)) \
                and not _added_in_transaction(context, walked)
            long = next((e for e in effects if e.rewrites or e.scans), None) if online else None
            first = held.get(number)
            if long is not None and first is not None and number not in reported:
                same_lock = walked.table == first[0].table and long.lock() == ACCESS_EXCLUSIVE
                if not same_lock:
                    reported.add(number)
                    yield self._finding(context, walked, long, *first)
            if number not in held:
                strong = next((e for e in effects if e.lock() == ACCESS_EXCLUSIVE), None)
                if strong is not None:
                    held[number] = (walked, strong)

    def _finding(self, context, walked, long, first, strong) -> Finding:
        locked, table = first.table, walked.table
        what = _("%(title)s on %(table)s", title=long.title, table=table) + (_(" rewrites it") if long.rewrites else _(" scans it"))
        return self.finding(
            walked.operation.location, _("%(locked)s stays under ACCESS EXCLUSIVE while %(title)s runs on %(table)s", locked=locked, title=long.title, table=table),
            _("%(title)s took ACCESS EXCLUSIVE on %(locked)s earlier in this transaction, and it is held until the "
            "commit; %(what)s, so reads and writes of %(locked)s wait for all of it (alone it would take "
            "%(sql_name)s).", title=strong.title, locked=locked, what=what, sql_name=sql_name(long.strongest)),
            impact=_("Worst case: %(locked)s is unreadable for the whole scan or rewrite and the service times out. Most "
                   "likely: a deploy that blocks reads far longer than either statement would alone.", locked=locked),
            root_cause=_("Alembic runs a revision as one transaction, so the first statement's lock lasts for the rest "
                       "of it."),
            fix=Fix(short_term=_("Move %(title)s to a revision of its own, or after a commit (`autocommit_block()`), "
                               "so that it holds only its own lock.", title=long.title),
                    medium_term=_("Keep transactions that take ACCESS EXCLUSIVE to instant statements.")),
            verification=_("`schemalens verify` shows the locks held per statement; no scan runs under an earlier "
                         "ACCESS EXCLUSIVE"),
            table=locked, related=(Related(first.operation.location, _("ACCESS EXCLUSIVE on %(locked)s taken here", locked=locked)),),
            severity=severity_by_size(context, locked, big="P1"))


def _added_in_transaction(context: AuditContext, walked) -> bool:
    """VALIDATE of a constraint the same transaction added NOT VALID (SL507 reports it)."""
    operation = walked.operation
    return isinstance(operation, ValidateConstraint) and any(
        isinstance(other.operation, AddConstraint) and other.operation.constraint.name == operation.name
        for other in transaction_of(context, walked))
