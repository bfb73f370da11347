from __future__ import annotations

from typing import Iterator

from ...schema.operations import CreateIndex, DropIndex
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import (
    LOCK_TIMEOUT_ADVICE,
    locked_anyway,
    alembic_example,
    briefly_limited,
    concurrently_advice,
    created_here,
    lock_sentence,
    new_in_this_step,
    severity_by_size,
    sql_example,
)
from ...i18n import _


class DropIndexWithoutConcurrently(Rule):
    """## What it finds
    `DROP INDEX` (`op.drop_index`) without `CONCURRENTLY`, unless the index or its table was
    created by the same migration, or the same transaction takes ACCESS EXCLUSIVE on the table
    anyway (it drops the table, or the index's column), where CONCURRENTLY would gain nothing,
    or a lock_timeout of 10 s or less limits the wait (set in Alembic's env.py for every
    revision, as warehouse does, or by a statement of the migration before the drop): the queue
    behind the drop then lasts that long at most, and the drop itself is instant. An index
    SchemaLens cannot place (created outside the migrations it reads) is taken to be on a table
    with rows.

    ## Why it matters
    A plain DROP INDEX takes ACCESS EXCLUSIVE on the index's table. The drop itself is quick,
    but the lock must wait for every query already running on the table, and every query that
    arrives meanwhile, reads included, queues behind it: one slow report turns the drop into an
    outage of the table. `DROP INDEX CONCURRENTLY` takes SHARE UPDATE EXCLUSIVE, which lets
    reads and writes through, and waits for the running queries instead of blocking new ones.

    P2; P1 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    op.drop_index("ix_orders_status", table_name="orders")
    ```

    ## Use instead
    ```python
    with op.get_context().autocommit_block():
        op.drop_index("ix_orders_status", table_name="orders", postgresql_concurrently=True)
    ```
    CONCURRENTLY cannot run inside a transaction: in a SQL folder put it in a file the tool runs
    without one. It drops one index at a time and not the index of a partitioned table (drop
    each partition's index concurrently, then the parent's), nor one behind a UNIQUE or PRIMARY
    KEY constraint (drop the constraint). Set `lock_timeout` as well.

    ## How to verify
    `schemalens verify` shows SHARE UPDATE EXCLUSIVE for the drop; while it waits, `SELECT
    wait_event_type, query FROM pg_stat_activity` shows no queries queued behind it.
    """

    code = "SL539"
    contends_with_live_traffic = True
    name = "drop-index-without-concurrently"
    dimension = 5
    severity = "P2"
    summary = _("index dropped without CONCURRENTLY (ACCESS EXCLUSIVE on its table)")
    peers = ("squawk:require-concurrent-index-deletion", "pgls:requireConcurrentIndexDeletion",
             "strong_migrations:remove_index", "atlas:PG102", "django-migration-linter:DROP_INDEX")

    valid = (
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.drop_index('ix_orders_status', table_name='orders', postgresql_concurrently=True)")),
        Example(sql_example("CREATE INDEX orders_note_idx ON orders (note);\nDROP INDEX orders_note_idx;\n")),
        # the revision sets lock_timeout first (warehouse: its env.py, for every revision)
        Example(alembic_example("    op.drop_index('ix_orders_status', table_name='orders')")),
        Example(sql_example("SET lock_timeout = '4s';\nDROP INDEX IF EXISTS orders_status_idx;\n")),
    )
    invalid = (
        Example(alembic_example("    op.drop_index('ix_orders_status', table_name='orders')  # expect", lock_timeout=False)),
        Example(sql_example("DROP INDEX IF EXISTS orders_status_idx;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        built_here: dict[int, set[str]] = {}
        for walked in context.migration_walk:
            operation = walked.operation
            if isinstance(operation, CreateIndex) and operation.index.name:
                built_here.setdefault(walked.step_number, set()).add(operation.index.name)
            if not isinstance(operation, DropIndex) or operation.name is None or operation.concurrently \
                    or new_in_this_step(walked) \
                    or operation.name in built_here.get(walked.step_number, ()) or locked_anyway(context, walked) \
                    or briefly_limited(context, walked, "lock_timeout"):
                continue
            (effect,) = walked.lock_effects
            table = walked.table or operation.table
            on = f" on {table}" if table else ""
            statement = f"DROP INDEX CONCURRENTLY {'IF EXISTS ' if operation.if_exists else ''}{operation.name}"
            yield self.finding(
                operation.location, _("index %(operation)s is dropped without CONCURRENTLY", operation=operation.name),
                lock_sentence(effect) + _(" Every query on the table queues "
                "behind the lock while it waits for the queries already running."),
                impact=_("Worst case: one long query%(on)s holds the drop back and every read and write of the table "
                       "waits behind it until the deploy times out. Most likely: a short stall of the table during "
                       "the deploy.", on=on),
                root_cause=_("DROP INDEX looks instant, but its lock waits like any other ACCESS EXCLUSIVE lock."),
                fix=Fix(short_term=_("Drop it concurrently: %(concurrently_advice)s.", concurrently_advice=concurrently_advice(walked, statement)),
                        medium_term=LOCK_TIMEOUT_ADVICE,
                        long_term=_("A migration template whose index helpers are concurrent by default.")),
                verification=_("`schemalens verify` reports SHARE UPDATE EXCLUSIVE for the drop; test: drop it while a "
                             "long transaction reads the table and check that other queries go on"),
                table=table, related=created_here(walked), severity=severity_by_size(context, table, big="P1"))
