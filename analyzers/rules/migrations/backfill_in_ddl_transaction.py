from __future__ import annotations

from typing import Iterator, Optional

from ...pg.locks import blocks_writes, sql_name
from ...schema.model import table_key
from ...schema.operations import DataChange, RenameTable, TransactionControl
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ..recorded import StepView
from .history_practice import said_once_per_history
from .safety import alembic_example, few_rows, severity_by_size, sql_example, young_table_example
from ...i18n import _

_ROW_CHANGES = ("UPDATE", "INSERT", "DELETE")


def _backfills(change: DataChange) -> bool:
    """Rows changed from what the table or another holds, not rows written out (`INSERT ... VALUES`)."""
    return change.kind in _ROW_CHANGES and not change.written_rows


def _batched_after_a_commit(walked) -> bool:
    """This rule's way: rows of a table an earlier migration created (or of one not read: a table
    the code names through a variable) changed after the migration committed, each statement then
    committing on its own (Alembic's `autocommit_block()`). A migration that only changes rows is
    not enough: its one UPDATE of every row is a transaction as long, and data fixes are written so."""
    operation = walked.operation
    return _backfills(operation) and (walked.existing or walked.table is None) \
        and not walked.in_transaction and any(isinstance(earlier, TransactionControl) and earlier.kind == "COMMIT"
                                              for earlier in walked.earlier_in_step)


def _names_of_the_locked_table(ddl) -> tuple:
    """The keys the table a DDL locks goes by in the rest of its transaction: its own, and the
    one a RENAME TO gives it."""
    operation = ddl.operation
    return (ddl.table, table_key(operation.new_name, operation.schema)) if isinstance(operation, RenameTable) else (ddl.table,)


class BackfillInDdlTransaction(Rule):
    """## What it finds
    An UPDATE, INSERT or DELETE that runs in the same transaction as, and after, DDL that locks
    a table an earlier migration created: a backfill inside a schema migration. Not an INSERT of
    rows written out in the statement (`INSERT ... VALUES`: a version marker, a lookup row),
    which touches those rows only.

    A change to the young or small table the DDL locked is left alone: one created at most 30
    days before the migration (dates from Alembic's `Create Date:` line or a date that starts
    the file name; never a table of the first migration of a history, which is often a squash of
    older ones), unless the size hints make it big by then (they give today's rows, of which a
    month-old table held a month's share). The change stalls traffic noticeably only at millions
    of rows, which a table gains within a month only at over 100,000 rows a day: a volume to
    declare in the size hints. A table the size hints keep under 100,000 rows, now and in a
    year, is left alone too: its change lasts milliseconds. So is an older table whose hinted
    rows, spread over its life, came to under 10,000 when the migration ran.

    In a history none of whose migrations backfills after a commit, in batches (rows changed in
    `autocommit_block()`, each statement committing on its own; a migration that only changes
    rows does not count: its one UPDATE of every row is as long a transaction, and data fixes
    are written so), three or more findings are one, at the newest migration, with the others as
    related places: the fix is the team's practice for the migrations to come, not one per
    migration that ran long ago. In a history that takes the practice up, the migrations before
    the first that follows it are one finding at P2 (they ran before it: nothing is left to
    change in them), and each later one that goes without it is a finding of its own.

    ## Why it matters
    Locks are held until the transaction commits. The ALTER TABLE's lock (ACCESS EXCLUSIVE for
    most of them) stays on the table for the whole backfill, so what should be an instant
    schema change blocks reads and writes for as long as the UPDATE takes to touch every row;
    the UPDATE itself also rewrites every row it touches in one huge transaction (bloat, WAL,
    replication lag), and a failure rolls all of it back.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("channel", sa.String(20)))
        op.execute("UPDATE orders SET channel = 'web'")
    ```

    ## Use instead
    Schema change in one revision; the backfill in its own revision (or a job) that updates in
    batches by primary-key range, committing each batch (in Alembic, inside
    `autocommit_block()`), resumable and idempotent; constraints that need the data after it.

    ## How to verify
    `schemalens verify` shows the DDL's lock released before the backfill starts; `SELECT
    count(*) FROM orders WHERE channel IS NULL` reaches 0 after the backfill.
    """

    code = "SL516"
    contends_with_live_traffic = True
    name = "backfill-in-ddl-transaction"
    dimension = 5
    severity = "P1"
    summary = _("data backfill in the same transaction as DDL on an existing table")
    peers = ("strong_migrations:backfilling", "eugene:E4", "pgls:runningStatementWhileHoldingAccessExclusive")

    valid = (
        Example(alembic_example("    op.execute(\"UPDATE orders SET status = 'new' WHERE status IS NULL\")")),
        Example(sql_example("INSERT INTO customers (id, email) VALUES (1, 'a@example.com');\n")),
        # A table created days before, in the same release: few rows (real code: a feature's new table).
        Example(young_table_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                    "    op.execute(\"UPDATE orders SET channel = 'web'\")")),
        # letta: the young table renamed, then changed under its new name
        Example(young_table_example("    op.rename_table('orders', 'purchases')\n"
                                    "    op.execute(\"UPDATE purchases SET status = 'new'\")")),
        # kinto: each upgrade script ends by recording its schema version, one row written out
        Example(sql_example("BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\n"
                            "INSERT INTO orders (id, channel) VALUES (0, 'schema version 21');\nCOMMIT;\n")),
        # prefect: the backfill runs after the column is committed, in autocommit batches: the way this rule advises
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                "    with op.get_context().autocommit_block():\n"
                                "        op.execute(\"UPDATE orders SET channel = 'web' WHERE id IN \"\n"
                                "                   \"(SELECT id FROM orders WHERE channel IS NULL LIMIT 500)\")")),
    )
    invalid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                "    op.execute(\"UPDATE orders SET channel = 'web'\")  # expect")),
        Example(sql_example("BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\n"
                            "INSERT INTO orders (id, channel) SELECT id + 1000000, 'web' FROM orders;  -- expect\nCOMMIT;\n")),
        Example(sql_example("BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\n"
                            "UPDATE orders SET channel = 'web';  -- expect\nCOMMIT;\n")),
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                "    op.execute('COMMIT')\n"
                                "    op.execute(\"UPDATE orders SET channel = 'web'\")  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return iter(said_once_per_history(
            context, context.per_step(self.code, self._check_step), (DataChange,), _batched_after_a_commit,
            lambda history: _("no migration of %(history)s backfills after a commit, in batches", history=history)))

    def _check_step(self, context: StepView, operations: tuple) -> Iterator[Finding]:
        held: Optional[tuple] = None  # (walked DDL, effect) holding a lock in the open transaction
        held_on: dict[str, tuple] = {}  # the same, the first on each table: a change of a locked table names its own lock
        earlier: Optional[tuple] = None  # the first such DDL, committed or not
        # in Alembic's autocommit_block() (a COMMIT of the tool's, not a statement): each statement
        # commits on its own, after the DDL committed, which is what this rule advises
        autocommitted = False
        for walked in operations:
            operation = walked.operation
            if isinstance(operation, TransactionControl):
                autocommitted = operation.kind == "COMMIT" and operation.statement is None
            if isinstance(operation, TransactionControl) or not walked.in_transaction:
                held, held_on = None, {}
            if isinstance(operation, DataChange) and _backfills(operation):
                lock = held_on.get(walked.table) or held
                if lock is not None:
                    if not self._short(context, walked, lock[0]):
                        yield self._finding(context, walked, *lock)
                elif earlier is not None and not autocommitted:
                    yield self._mixed_finding(walked, *earlier)
                continue
            if walked.existing:
                effect = next((e for e in walked.lock_effects if blocks_writes(e.strongest)), None)
                if effect is not None:
                    earlier = earlier or (walked, effect)
                    if walked.in_transaction:
                        held = held or (walked, effect)
                        for name in _names_of_the_locked_table(walked):
                            held_on.setdefault(name, (walked, effect))

    @staticmethod
    def _short(context: AuditContext, walked, ddl) -> bool:
        """The change is on the young or small table the DDL locked (see `few_rows`), by its name
        or the one the DDL renamed it to (letta: RENAME TO steps, then UPDATE steps): it touches
        few rows, so the lock is not held for long."""
        return walked.table in _names_of_the_locked_table(ddl) and few_rows(context, ddl)

    def _finding(self, context: AuditContext, walked, ddl, effect) -> Finding:
        operation, locked = walked.operation, ddl.table
        mode = sql_name(effect.strongest)
        return self.finding(
            operation.location, _("%(kind)s on %(value)s runs while %(locked)s is locked "
                                "by %(title)s", kind=operation.kind, value=operation.table or _('a table'), locked=locked, title=effect.title),
            _("%(title)s on %(locked)s holds %(mode)s until the transaction commits, so the %(kind)s runs "
            "with %(locked)s blocked for %(value)s.", title=effect.title, locked=locked, mode=mode, kind=operation.kind, value=(_('reads and writes') if mode == 'ACCESS EXCLUSIVE' else _('writes'))),
            impact=_("Worst case: %(locked)s is blocked for the whole backfill, one huge transaction bloats the table "
                   "and lags replicas, and a failure at the end rolls everything back. Most likely: a deploy that "
                   "blocks traffic for as long as the backfill runs.", locked=locked),
            root_cause=_("Schema change and data migration written as one revision, which Alembic runs as one "
                       "transaction."),
            fix=Fix(short_term=_("Move the %(kind)s to a revision (or job) of its own that works in batches by "
                               "primary-key range and commits each batch.", kind=operation.kind),
                    medium_term=_("Keep schema and data changes in separate revisions as a rule."),
                    long_term=_("A backfill framework: batched, resumable, with progress.")),
            verification=_("`schemalens verify` shows the DDL's lock released before the backfill; test: rerun the "
                         "backfill and check it is idempotent"),
            table=operation.table, related=(Related(ddl.operation.location, _("%(mode)s taken here", mode=mode)),),
            severity=severity_by_size(context, locked))

    def _mixed_finding(self, walked, ddl, effect) -> Finding:
        operation = walked.operation
        return self.finding(
            operation.location, _("%(kind)s on %(value)s shares a migration with "
                                "%(title)s on %(table)s", kind=operation.kind, value=operation.table or _('a table'), title=effect.title, table=ddl.table),
            (_("The statement runs after a commit, so it does not extend the lock, but") if walked.step.path.endswith(".py")
             else _("If the folder's tool runs each file in one transaction (Flyway does), the lock is held through "
                  "it; in any case")) + _(" schema and data change in one migration step cannot be retried or rolled "
                                       "back separately."),
            impact=_("Worst case: the data step fails after the schema step committed, leaving the revision half "
                   "applied and not re-runnable. Most likely: a manual fix-up during the deploy."),
            root_cause=_("Schema change and data migration written as one revision."),
            fix=Fix(short_term=_("Move the %(kind)s to a revision of its own, batched and idempotent.", kind=operation.kind),
                    medium_term=_("Keep schema and data changes in separate revisions as a rule.")),
            verification=_("Run the data revision twice on a rehearsal database; the second run changes nothing"),
            table=operation.table, related=(Related(ddl.operation.location, _("schema change here")),), severity="P2")

