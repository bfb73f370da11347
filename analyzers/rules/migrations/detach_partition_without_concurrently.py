from __future__ import annotations

from typing import Iterator

from ...schema.operations import CreateTable, DetachPartition
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import LOCK_TIMEOUT_ADVICE, concurrently_advice, created_here, lock_sentence, new_in_this_step
from ...i18n import _

_PARTITIONED = ("CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);\n"
                "CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');\n")


class DetachPartitionWithoutConcurrently(Rule):
    """## What it finds
    `ALTER TABLE ... DETACH PARTITION` without `CONCURRENTLY` on a partitioned table that an
    earlier migration created (or that the migrations do not create), when the PostgreSQL
    version (`postgres_version`) is 14 or newer.

    ## Why it matters
    A plain DETACH takes ACCESS EXCLUSIVE on the partitioned table and on the partition: every
    query on any partition waits for it, and queues behind it while it waits for the queries
    already running. `DETACH PARTITION ... CONCURRENTLY` (PostgreSQL 14+) takes SHARE UPDATE
    EXCLUSIVE on both, so reads and writes go on.

    P1. Before PostgreSQL 14 there is no concurrent form: the rule says nothing, and the lock
    timeout rule (SL515) asks for `lock_timeout`.

    ## Example
    ```sql
    ALTER TABLE events DETACH PARTITION events_2025;
    ```

    ## Use instead
    ```sql
    ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY;  -- outside a transaction
    ```
    It cannot run in a transaction block, nor when the table has a default partition. If it is
    interrupted, `ALTER TABLE events DETACH PARTITION events_2025 FINALIZE` completes it.

    ## How to verify
    `schemalens verify` shows SHARE UPDATE EXCLUSIVE on both tables; `SELECT inhrelid::regclass
    FROM pg_inherits WHERE inhparent = 'events'::regclass` no longer lists the partition.
    """

    code = "SL541"
    contends_with_live_traffic = True
    name = "detach-partition-without-concurrently"
    dimension = 5
    severity = "P1"
    summary = _("DETACH PARTITION without CONCURRENTLY (ACCESS EXCLUSIVE on the partitioned table)")
    peers = ("squawk:require-concurrent-partition-detach", "pgls:requireConcurrentDetachPartition")

    valid = (
        Example({"db/V1__events.sql": _PARTITIONED,
                 "db/V2__detach.sql": "ALTER TABLE events DETACH PARTITION events_2025 CONCURRENTLY;\n"}),
        Example({"db/V1__events.sql": _PARTITIONED, "db/V2__detach.sql": "ALTER TABLE events DETACH PARTITION events_2025;\n"},
                config="postgres_version = 13\n"),
    )
    invalid = (
        Example({"db/V1__events.sql": _PARTITIONED,
                 "db/V2__detach.sql": "ALTER TABLE events DETACH PARTITION events_2025;  -- expect\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        if context.postgres_version < 14:
            return
        for walked in context.walked(DetachPartition):
            operation = walked.operation
            if operation.concurrently or new_in_this_step(walked) or _created_in_step(walked, operation.partition):
                continue
            (effect,) = walked.lock_effects
            statement = f"ALTER TABLE {operation.table} DETACH PARTITION {operation.partition} CONCURRENTLY"
            yield self.finding(
                operation.location, _("partition %(partition)s is detached from %(table)s without "
                                    "CONCURRENTLY", partition=operation.partition, table=operation.table),
                lock_sentence(effect),
                impact=_("Worst case: every query on %(table)s and its partitions waits behind the detach while "
                       "it waits for running queries, and the service stalls. Most likely: a short outage of the "
                       "partitioned table during the deploy.", table=operation.table),
                root_cause=_("The concurrent form arrived in PostgreSQL 14 and cannot run in a transaction, so "
                           "migrations keep the blocking default."),
                fix=Fix(short_term=_("Detach it concurrently: %(concurrently_advice)s.", concurrently_advice=concurrently_advice(walked, statement)),
                        medium_term=LOCK_TIMEOUT_ADVICE,
                        long_term=_("Partition maintenance (attach, detach, drop old partitions) in a scheduled job, "
                                  "not in deploy migrations.")),
                verification=_("`schemalens verify` shows SHARE UPDATE EXCLUSIVE on %(table)s; test: detach while "
                             "a writer inserts into another partition", table=operation.table),
                table=walked.table, related=created_here(walked), severity=None)


def _created_in_step(walked, partition: str) -> bool:
    return any(isinstance(other, CreateTable) and other.table == partition for other in walked.step.operations)
