from __future__ import annotations

from typing import Iterator

from ...schema.operations import AttachPartition, CreateTable, DataChange, Maintenance
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import LOCK_TIMEOUT_ADVICE, alembic_example, created_here, lock_sentence, severity_by_size, sql_example
from ...i18n import _

# The safer statement for each operation this rule reports.
_ALTERNATIVES = {
    "vacuum-full": _("pg_repack (or pg_squeeze) rebuilds the table online; plain VACUUM reclaims space for reuse "
                   "without a lock that blocks traffic."),
    "cluster": _("pg_repack --order-by rebuilds the table in index order online."),
    "refresh-materialized-view": _("REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view) keeps "
                                 "it readable during the refresh."),
    "truncate": _("Delete in batches (or swap in a new table) if the rows are no longer needed; keep TRUNCATE for "
                "tables the application does not use."),
    "attach-partition": _("Add a CHECK constraint matching the partition bound (NOT VALID, then VALIDATE) before "
                        "ATTACH PARTITION: PostgreSQL then skips the scan."),
}


class BlockingTableMaintenance(Rule):
    """## What it finds
    Statements in migrations that rewrite or scan a whole table under a lock that blocks
    traffic, and that the more specific rules do not cover: VACUUM FULL, CLUSTER,
    REFRESH MATERIALIZED VIEW without CONCURRENTLY, TRUNCATE of a table an earlier migration
    created, and ATTACH PARTITION (which scans the new partition).

    ## Why it matters
    VACUUM FULL, CLUSTER, TRUNCATE and a plain REFRESH take ACCESS EXCLUSIVE and rewrite the
    table: nothing reads or writes it until they finish. TRUNCATE also deletes every row.
    ATTACH PARTITION holds ACCESS EXCLUSIVE on the partition while it scans it.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```sql
    VACUUM FULL orders;
    REFRESH MATERIALIZED VIEW daily_totals;
    ```

    ## Use instead
    `REPACK (CONCURRENTLY)` from PostgreSQL 19 (`postgres_version`), pg_repack before that, for
    online rebuilds; `REFRESH MATERIALIZED VIEW CONCURRENTLY`; a CHECK constraint matching the
    bound before ATTACH PARTITION. REINDEX is SL540's.

    squawk's `prefer-repack` speaks only from PostgreSQL 19, where REPACK exists; SchemaLens
    reports VACUUM FULL and CLUSTER on every version, since the lock is the same and pg_repack
    is the alternative before 19. `VACUUM (FULL false)` is a plain VACUUM and is not reported.
    REFRESH ... CONCURRENTLY takes EXCLUSIVE on the view, which blocks only other refreshes and
    row locks on it (the view takes no writes): not reported.

    ## How to verify
    `schemalens verify` reports the lock and the rewrite of each statement; `pg_stat_activity`
    shows no queries waiting on the table while it runs.
    """

    code = "SL506"
    contends_with_live_traffic = True
    name = "blocking-table-maintenance"
    dimension = 5
    severity = "P1"
    summary = _("table rewrite or full scan under a blocking lock (VACUUM FULL, CLUSTER, REFRESH, TRUNCATE, ATTACH)")
    peers = ("squawk:prefer-repack", "pgls:banVacuumFull", "pgls:banTruncate", "pgls:requireConcurrentRefreshMatview",
             "pgls:avoidAttachingPartition", "pgls:concurrentRefreshMatviewLock")

    valid = (
        Example(sql_example("CREATE MATERIALIZED VIEW totals AS SELECT status, count(*) FROM orders GROUP BY status;\n"
                            "CREATE UNIQUE INDEX totals_key ON totals (status);\n"
                            "REFRESH MATERIALIZED VIEW CONCURRENTLY totals;\n")),
        Example(alembic_example("    op.execute('ANALYZE orders')")),
    )
    invalid = (
        Example(sql_example("VACUUM FULL orders;  -- expect\n")),
        Example(alembic_example("    op.execute('TRUNCATE orders')  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.migration_walk:
            operation = walked.operation
            is_maintenance = isinstance(operation, Maintenance)
            if not (is_maintenance or (walked.existing and isinstance(operation, (DataChange, AttachPartition)))):
                continue
            effect = next((e for e in walked.lock_effects if e.key in _ALTERNATIVES), None)
            if effect is None or _attaches_a_new_partition(walked):
                continue
            table = walked.table or _("the table")
            alternative = _ALTERNATIVES[effect.key]
            if effect.key in ("vacuum-full", "cluster") and context.postgres_version >= 19:
                alternative = f"`REPACK (CONCURRENTLY) {walked.table or ''}`".replace(" `", "`") + \
                    _(" (PostgreSQL 19+) rebuilds the table while reads and writes go on. ") + alternative
            yield self.finding(
                operation.location, _("%(title)s on %(table)s blocks it while it runs", title=effect.title, table=table),
                lock_sentence(effect),
                impact=_("Worst case: %(table)s is unavailable for the whole statement, minutes to hours on a big "
                       "table, and the deploy stalls behind it. Most likely: timeouts on every endpoint using it "
                       "during the deploy.", table=table),
                root_cause=_("Maintenance statements written into a migration run under the migration's lock, at deploy "
                           "time, on production-sized data."),
                fix=Fix(short_term=alternative,
                        medium_term=_("Run maintenance outside deploys, in a scheduled window. %(lock_timeout_advice)s", lock_timeout_advice=LOCK_TIMEOUT_ADVICE),
                        long_term=_("Table sizes in the configuration so that SchemaLens can weigh such statements.")),
                verification=_("`schemalens verify` reports the lock and whether the table was rewritten; test: "
                             "the rehearsal in CI"),
                table=walked.table, related=created_here(walked), severity=severity_by_size(context, walked.table))


def _attaches_a_new_partition(walked) -> bool:
    """A partition created in the same step is empty: attaching it scans nothing."""
    operation = walked.operation
    return isinstance(operation, AttachPartition) and any(
        isinstance(other, CreateTable) and other.table == operation.partition for other in walked.step.operations)
