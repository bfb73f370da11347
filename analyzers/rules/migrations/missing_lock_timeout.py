from __future__ import annotations

from typing import Iterator, Optional

from ...pg.locks import REFERENCED, TABLE, blocks_reads, blocks_writes
from ...schema.migration_walk import WalkedOperation
from ...schema.model import ForeignKey, table_key
from ...schema.operations import DropIndex, DropTable, Maintenance, SetParameter
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .history_practice import said_once_per_history
from .safety import (
    LOCK_TIMEOUT_ADVICE,
    alembic_example,
    created_here,
    env_sets,
    lock_sentence,
    severity_by_size,
    step_label,
    sql_example,
    young_table,
    young_table_example,
)
from ...i18n import _


# Examples: the application maps `customers` only; the history still has two legacy tables, one of
# them with a foreign key to `customers`.
_LEGACY = {
    "app/models.py": ("from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n"
                      "Base = declarative_base()\n\nclass Customer(Base):\n    __tablename__ = 'customers'\n"
                      "    id = Column(Integer, primary_key=True)  # replaces legacy_events\n"),
    "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
    "migrations/env.py": "",
    "migrations/versions/a1_base.py": (
        "from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\ndef upgrade():\n"
        "    op.create_table('customers', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "    op.create_table('legacy_events', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "    op.create_table('legacy_links', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                    sa.Column('customer_id', sa.Integer(), sa.ForeignKey('customers.id')))\n\n"
        "def downgrade():\n    pass\n"),
}


def _young_self_reference_drop() -> dict[str, str]:
    """dispatch: a revision drops, by the name PostgreSQL gave it, the unnamed foreign key of a
    table created the day before; the table it references is just as young."""
    example = young_table_example("    op.drop_constraint('orders_parent_id_fkey', 'orders', type_='foreignkey')",
                                  written="2024-03-06 08:00", lock_timeout=False)
    created = "migrations/versions/b2_orders.py"
    example[created] = example[created].replace(
        "sa.Column('note', sa.Text())",
        "sa.Column('note', sa.Text()),\n                    sa.Column('parent_id', sa.Integer(), sa.ForeignKey('orders.id'))")
    return example


def _legacy_drop(table: str, marker: str = "") -> dict[str, str]:
    return {**_LEGACY, "migrations/versions/b2_drop.py": (
        "from alembic import op\nrevision = 'b2'\ndown_revision = 'a1'\n\n"
        f"def upgrade():\n    op.drop_table({table!r}){marker}\n\ndef downgrade():\n    pass\n")}


class MissingLockTimeout(Rule):
    """## What it finds
    A migration step (an Alembic revision or a SQL file) whose DDL takes a lock that blocks
    writes on a table an earlier migration created, with no `SET lock_timeout` before it in the
    step (or in Alembic's `env.py`).

    A table created by a migration written at most 30 days before this one (Alembic's `Create
    Date:` line or a date that starts the file name; never a table of the first migration of a
    history), which the size hints do not call big, is young: few queries hold it and none for
    long, so no queue forms behind its lock. Nor behind a legacy table that no model maps and no
    application code names outside comments. When such a DDL also locks a referenced table in
    use (adding a foreign key, or dropping a table whose foreign keys' triggers live on it), the
    finding names that table.

    In a history none of whose migrations sets lock_timeout (nor its `env.py`), three or more
    findings are one, at the newest migration, with the others as related places: the fix is the
    team's practice for the migrations to come, not one per migration that ran long ago. In a
    history that takes the practice up, the migrations before the first that follows it are one
    finding at P2 (they ran before it: nothing is left to change in them), and each later one
    that goes without it is a finding of its own.

    ## Why it matters
    A DDL statement waits for its lock behind any long transaction on the table (a report, a
    stuck worker), and every query that arrives after it queues behind the DDL: even an instant
    ALTER can take the service down for as long as the oldest transaction runs. With
    `lock_timeout` the migration gives up after a few seconds, traffic resumes, and the
    migration is retried.

    P2; P1 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("channel", sa.String(20)))
    ```

    ## Use instead
    ```python
    def upgrade():
        op.execute("SET lock_timeout = '5s'")
        op.add_column("orders", sa.Column("channel", sa.String(20)))
    ```
    Or once for every revision, in `env.py`:
    `context.configure(connection=connection, ...)` after
    `connection.exec_driver_sql("SET lock_timeout = '5s'")`.

    ## How to verify
    Hold `BEGIN; LOCK TABLE orders IN ACCESS SHARE MODE;` in one session and run the migration
    in another: it must fail after the timeout instead of waiting.
    """

    code = "SL515"
    contends_with_live_traffic = True
    grouped_by = "path"
    name = "missing-lock-timeout"
    dimension = 5
    severity = "P2"
    summary = _("DDL on an existing table without lock_timeout")
    peers = ("squawk:require-lock-timeout", "squawk:require-timeout-settings", "pgls:lockTimeoutWarning",
             "pgls:avoidCreateTrigger", "eugene:E9", "strong_migrations:lock_timeout")

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))")),
        Example(sql_example("SET lock_timeout = '5s';\nALTER TABLE orders ADD COLUMN channel text;\n")),
        Example({**alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))", lock_timeout=False),
                 "migrations/env.py": "connection.exec_driver_sql(\"SET lock_timeout = '5s'\")\n"}),
        # The table came with the same change (a revision written the same day): nothing queries it yet.
        Example(young_table_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))",
                                    written="2024-03-05 15:00", lock_timeout=False)),
        # dispatch: a column added to a table created twelve days before; no queue forms on a young table.
        Example(young_table_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))",
                                    written="2024-03-17 10:00", lock_timeout=False)),
        # A legacy table no model maps and no code names (a comment does not count): nothing queues.
        Example(_legacy_drop("legacy_events")),
        Example(_young_self_reference_drop()),
    )
    invalid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))  # expect",
                                lock_timeout=False)),
        # Three months after `orders` was created, its readers queue behind the lock.
        Example(young_table_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))  # expect",
                                    written="2024-06-05 10:00", lock_timeout=False)),
        Example(sql_example("ALTER TABLE orders ADD COLUMN channel text;  -- expect\n"
                            "ALTER TABLE orders ADD COLUMN source text;\n")),
        # Dropping a table whose foreign key's triggers live on `customers`, which is in use, locks it.
        Example(_legacy_drop("legacy_links", "  # expect")),
        # ... but its foreign key also locks `customers`, which is in use.
        Example(young_table_example("    op.add_column('orders', sa.Column('buyer_id', sa.BigInteger()))\n"
                                    "    op.create_foreign_key(None, 'orders', 'customers', ['buyer_id'], ['id'])  # expect",
                                    written="2024-03-05 15:00", lock_timeout=False)),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return iter(said_once_per_history(
            context, context.per_step(self.code, self._check_step), (SetParameter,), lambda walked: _sets_lock_timeout(walked.operation),
            lambda history: _("no migration of %(history)s sets lock_timeout", history=history)))

    def _check_step(self, context: StepView, operations: tuple) -> Iterator[Finding]:
        """The first of a step's operations that block writes with no lock_timeout set before them
        that locks a table in use."""
        for walked, effect in _blocking_without_timeout(operations):
            if env_sets(context, walked, "lock_timeout"):
                return
            queued = _queued_table(context, walked)
            if queued is None and walked.table is not None:
                continue  # it locks no table anything uses yet, or any more
            yield from context.per_subject(self.code, walked.operation.location, self._finding, walked, effect, queued,
                                           severity_by_size(context, queued, big="P1"))
            return

    def _finding(self, walked: WalkedOperation, effect, locked: Optional[str], severity: Optional[str]) -> Iterator[Finding]:
        label = step_label(walked)
        # An index the migrations did not create (or REINDEX of a schema) names no table it locks.
        table = locked or (_("the table of index %(index)s", index=walked.operation.name)
                           if isinstance(walked.operation, DropIndex) else _("the tables it names"))
        if _blocks_reads_of(walked, locked):
            message = _("%(lock_sentence)s Without lock_timeout it waits for its lock as long as any transaction on "
                        "%(table)s runs, and every later query on %(table)s queues behind it.",
                        lock_sentence=lock_sentence(effect), table=table)
            impact = _("Worst case: one long-running transaction on %(table)s during the deploy turns an instant DDL "
                       "into an outage of every endpoint using the table. Most likely: latency spikes during deploys.",
                       table=table)
        else:  # a referenced table's lock: reads go on, writes queue
            message = _("%(lock_sentence)s Without lock_timeout it waits for its lock as long as any transaction "
                        "writing %(table)s runs, and every later write to %(table)s queues behind it (reads go on).",
                        lock_sentence=lock_sentence(effect), table=table)
            impact = _("Worst case: one long-running transaction writing %(table)s during the deploy stalls every "
                       "endpoint that writes the table until it ends. Most likely: slow writes during deploys.",
                       table=table)
        yield self.finding(
            walked.operation.location, _("%(label)s locks %(table)s with no lock_timeout", label=label, table=table),
            message, impact=impact,
            root_cause=_("Migrations run with the server's default lock_timeout, which is 0 (wait forever)."),
            fix=Fix(short_term=LOCK_TIMEOUT_ADVICE,
                    medium_term=_("Set lock_timeout (and statement_timeout) once for every revision in env.py, and "
                                "retry the deploy step when it times out."),
                    long_term=_("A migration runner that retries with backoff on lock timeouts.")),
            verification=_("In one session `BEGIN; LOCK TABLE %(table)s IN ACCESS SHARE MODE;`, run the migration in "
                         "another: it fails after the timeout; test: `schemalens verify` reports the setting", table=table),
            table=locked, related=created_here(walked), severity=severity)


def _sets_lock_timeout(operation) -> bool:
    return operation.name == "lock_timeout" and operation.value not in (None, "0")


def _blocking_without_timeout(operations: tuple) -> Iterator[tuple[WalkedOperation, object]]:
    """(operation, its first lock effect that blocks writes) for each of a step's operations on a
    table that existed before the step, until a statement of the step sets lock_timeout."""
    for walked in operations:
        operation = walked.operation
        if isinstance(operation, SetParameter) and _sets_lock_timeout(operation):
            return
        # REINDEX INDEX / SCHEMA and DROP INDEX of an index the migrations did not create name no
        # table, but lock tables that exist.
        if not (walked.existing or (walked.table is None and isinstance(operation, (DropIndex, Maintenance)))):
            continue
        effect = next((e for e in walked.lock_effects if blocks_writes(e.strongest)), None)
        if effect is not None:
            yield walked, effect


def _queued_table(context: AuditContext, walked: WalkedOperation) -> Optional[str]:
    """The table behind whose lock queries would queue: the operation's table, unless nothing uses
    it (it came with this change, or it is a legacy table this operation drops that no code uses:
    `AuditContext.table_in_use`);
    then the first table in use that the operation also blocks writes on through a foreign key.
    None when it blocks no table in use; the operation's table when a referenced table it blocks
    cannot be named (it may be in use)."""
    if walked.table is None or _in_use(context, walked, walked.table):
        return walked.table
    if not any(role == REFERENCED and blocks_writes(mode) for effect in walked.lock_effects for role, mode in effect.locks):
        return None
    constraint = getattr(walked.operation, "constraint", None) or walked.constraint_before
    if isinstance(constraint, ForeignKey):
        referenced: tuple[str, ...] = (table_key(constraint.ref_table, constraint.ref_schema),)
    elif walked.references:
        referenced = walked.references
    else:
        return walked.table
    return next((table for table in referenced if _in_use(context, walked, table)), None)


def _blocks_reads_of(walked: WalkedOperation, table: Optional[str]) -> bool:
    """The operation's locks on `table` (its own table, else a table it references) make plain
    SELECTs wait: ACCESS EXCLUSIVE does; the SHARE ROW EXCLUSIVE a foreign key takes on the
    referenced table lets reads go on."""
    role = TABLE if table is None or table == walked.table else REFERENCED
    modes = [mode for effect in walked.lock_effects for held, mode in effect.locks if held == role]
    return not modes or any(blocks_reads(mode) for mode in modes)


def _in_use(context: AuditContext, walked: WalkedOperation, table: str) -> bool:
    """Something reads or writes `table` while the operation runs. Today's code tells only for a
    table this migration drops and for tables that still exist: a table a later migration drops
    was in use by the code of its time."""
    own = table == walked.table
    if young_table(context, walked, None if own else table):
        return False
    dropped_here = any(isinstance(operation, DropTable) and table_key(operation.table, operation.schema) == table
                       for operation in walked.step.operations)
    if dropped_here or table in context.layer.tables:
        return context.table_in_use(table)
    return True


