from __future__ import annotations

from typing import Iterator

from ...pg.locks import blocks_writes
from ...schema.migration_walk import WalkedOperation
from ...schema.operations import AlterColumn, DataChange, SetParameter
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .safety import alembic_example, created_here, env_sets, lock_sentence, severity_by_size, sql_example, step_label
from ...i18n import _


class MissingStatementTimeout(Rule):
    """## What it finds
    A migration step (an Alembic revision or a SQL file) that sets `lock_timeout` but not
    `statement_timeout` (in the step or in Alembic's `env.py`), with a statement that holds a
    lock blocking writes on a table an earlier migration created for as long as it runs: a
    TRUNCATE, REFRESH MATERIALIZED VIEW, ATTACH PARTITION, an index built on a partitioned
    table, or rows changed after DDL in the same transaction (a backfill under the DDL's lock).

    Without lock_timeout, SL515 reports the step and asks for both timeouts. Statements with an
    online form of their own (a plain CREATE INDEX, SET NOT NULL, a constraint without NOT
    VALID, a rewriting type change or default, VACUUM FULL) are left to their rule (SL505-SL510,
    SL514, SL548, SL556) while it is enabled: its fix removes the long blocking statement, and a
    second finding on the same line would report one problem twice. A SET NOT NULL that a
    validated CHECK already proves does not scan and is not reported.

    ## Why it matters
    `lock_timeout` (SL515) bounds how long a statement waits for its lock; it does not bound how
    long the statement then runs while holding it. A rewrite or a scan of a table bigger than
    expected keeps reads or writes blocked until it ends, and nothing stops it but a person.
    With `statement_timeout` the migration fails after a known time, the lock is released, and
    the plan is revisited. An instant statement (ADD COLUMN without a volatile default, a rename)
    is bounded by lock_timeout and is not reported here.

    P2; P1 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    def upgrade():
        op.execute("SET lock_timeout = '5s'")
        op.add_column("orders", sa.Column("channel", sa.String(20)))
        op.execute("UPDATE orders SET channel = 'web'")
    ```

    ## Use instead
    ```python
    def upgrade():
        op.execute("SET lock_timeout = '5s'")
        op.execute("SET statement_timeout = '15min'")
        op.add_column("orders", sa.Column("channel", sa.String(20)))
        op.execute("UPDATE orders SET channel = 'web'")
    ```
    Or once for every revision in `env.py`; `SET LOCAL` keeps it to the migration's transaction.
    Concurrent index builds run long by design: give them their own, longer timeout.

    ## How to verify
    Run the migration against a copy with more rows than the timeout allows: it fails with
    `canceling statement due to statement timeout` instead of running on.
    """

    code = "SL552"
    contends_with_live_traffic = True
    name = "missing-statement-timeout"
    dimension = 5
    severity = "P2"
    summary = _("table rewrite or scan under a blocking lock without statement_timeout")
    peers = ("squawk:require-statement-timeout", "pgls:requireStatementTimeout")

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))")),
        Example(sql_example("SET statement_timeout = '15min';\nALTER TABLE orders ALTER COLUMN total TYPE bigint;\n")),
    )
    invalid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))\n"
                                "    op.execute(\"UPDATE orders SET channel = 'web'\")  # expect")),
        Example(sql_example("SET lock_timeout = '5s';\nTRUNCATE orders;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_step(self.code, self._check_step)

    def _check_step(self, context: StepView, operations: tuple) -> Iterator[Finding]:
        """The step's first long statement under a blocking lock, unless a statement_timeout
        was set before it (or no lock_timeout was: SL515's finding comes first)."""
        lock_timed = locked = False  # locked: a write-blocking lock is held in an open transaction
        for walked in operations:
            operation = walked.operation
            if isinstance(operation, SetParameter) and operation.name == "statement_timeout" \
                    and operation.value not in (None, "0"):
                return
            if isinstance(operation, SetParameter) and operation.name == "lock_timeout" \
                    and operation.value not in (None, "0"):
                lock_timed = True
            if not walked.in_transaction:
                locked = False
            if not walked.existing:
                continue
            effect = next((e for e in walked.lock_effects if blocks_writes(e.strongest)), None)
            if effect is not None and walked.in_transaction:
                locked = True
            long_running = effect is not None and (effect.rewrites or effect.scans) \
                and not _proven_not_null(context, walked) and not _own_rule_reports(context, effect.key)
            backfill = isinstance(operation, DataChange) and locked
            if not (long_running or backfill) or env_sets(context, walked, "statement_timeout") \
                    or not (lock_timed or env_sets(context, walked, "lock_timeout")):
                continue
            yield self._finding(context, walked, effect)
            return

    def _finding(self, context: AuditContext, walked: WalkedOperation, effect) -> Finding:
        table = walked.table
        what = lock_sentence(effect) if effect is not None else (
            _("This %(kind)s runs while earlier DDL holds its lock on %(table)s.", kind=walked.operation.kind, table=table))
        return self.finding(
            walked.operation.location, _("%(step_label)s has no statement_timeout for a long statement on %(table)s", step_label=step_label(walked), table=table),
            _("%(what)s Nothing bounds how long it runs while holding the lock.", what=what),
            impact=_("Worst case: the statement runs for hours on a table bigger than expected and %(table)s stays "
                   "blocked until someone cancels it. Most likely: a deploy that blocks traffic far longer than planned.", table=table),
            root_cause=_("Migrations run with the server's default statement_timeout, usually 0 (no limit)."),
            fix=Fix(short_term=_("Start the revision with `SET statement_timeout = '15min'` (a bound you can afford to "
                               "block the table for), after `SET lock_timeout`."),
                    medium_term=_("Set both timeouts for every revision in env.py (SET LOCAL inside the transaction)."),
                    long_term=_("Expand and contract (`schemalens scaffold`) so that no statement holds a blocking lock "
                              "for long.")),
            verification=_("Rehearse on a copy with more rows (`schemalens verify`): the migration fails with "
                         "`canceling statement due to statement timeout` instead of running on"),
            table=table, related=created_here(walked), severity=severity_by_size(context, table, big="P1"))


# Long blocking statements that have an online form, and the rule that reports them with it: its
# fix ends the blocking scan, so a statement_timeout finding on the same line would be a second
# finding for one problem.
_OWN_RULES = {"add-column-volatile-default": "SL510", "add-column-generated-stored": "SL510",
              "alter-type-rewrite": "SL509", "set-not-null": "SL508", "add-check": "SL507",
              "add-foreign-key": "SL507", "add-unique": "SL514", "add-primary-key": "SL514",
              "create-index": "SL505", "vacuum-full": "SL506", "cluster": "SL506",
              "add-exclusion-constraint": "SL556", "alter-domain-add-constraint": "SL548",
              "alter-domain-set-not-null": "SL548"}


def _own_rule_reports(context: AuditContext, key: str) -> bool:
    from .. import rule_by_code
    from ..selection import rule_enabled

    code = _OWN_RULES.get(key)
    rule = rule_by_code(code) if code else None
    return rule is not None and rule_enabled(code, context.model.config, rule.default_enabled)




def _proven_not_null(context: AuditContext, walked: WalkedOperation) -> bool:
    """A SET NOT NULL that a validated CHECK proves: PostgreSQL skips the scan (SL508)."""
    from .set_not_null_directly import _proven_by_a_check

    operation = walked.operation
    return isinstance(operation, AlterColumn) and operation.nullable is False and operation.type is None \
        and context.about_walk(_proven_by_a_check, walked, operation.column)
