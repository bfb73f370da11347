from __future__ import annotations

from typing import Iterator

from ...schema.operations import Maintenance
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import LOCK_TIMEOUT_ADVICE, alembic_example, concurrently_advice, lock_sentence, severity_by_size, sql_example
from ...i18n import _


class ReindexWithoutConcurrently(Rule):
    """## What it finds
    `REINDEX` of an index, a table, a schema or a database without `CONCURRENTLY` in a
    migration (REINDEX SYSTEM has no concurrent form and is left alone).

    ## Why it matters
    REINDEX locks out writes to the table (SHARE) and holds ACCESS EXCLUSIVE on each index while
    it rebuilds it, so the queries that would use the index wait too: reads stall as well as
    writes, for as long as the rebuild takes. `REINDEX ... CONCURRENTLY` (PostgreSQL 12+) builds
    a new index beside the old one under SHARE UPDATE EXCLUSIVE and swaps them.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year. Before
    PostgreSQL 12 (`postgres_version`) the alternative is `CREATE INDEX CONCURRENTLY` of a copy,
    then dropping the old index.

    ## Example
    ```sql
    REINDEX INDEX orders_status_idx;
    ```

    ## Use instead
    ```sql
    REINDEX INDEX CONCURRENTLY orders_status_idx;   -- in a file run without a transaction
    ```
    A failed concurrent rebuild leaves an INVALID index named `..._ccnew`: drop it and run again.

    ## How to verify
    `schemalens verify` shows SHARE UPDATE EXCLUSIVE on the table for the rebuild; `SELECT
    indexrelid::regclass FROM pg_index WHERE NOT indisvalid` is empty afterwards.
    """

    code = "SL540"
    contends_with_live_traffic = True
    name = "reindex-without-concurrently"
    dimension = 5
    severity = "P1"
    summary = _("REINDEX without CONCURRENTLY (blocks reads through the index and writes)")
    peers = ("squawk:require-concurrent-reindex", "pgls:requireConcurrentReindex", "django-migration-linter:REINDEX")

    valid = (
        Example(sql_example("REINDEX INDEX CONCURRENTLY orders_pkey;\n")),
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.execute('REINDEX TABLE CONCURRENTLY orders')")),
    )
    invalid = (
        Example(sql_example("REINDEX TABLE orders;  -- expect\n")),
        Example(alembic_example("    op.execute('REINDEX INDEX orders_pkey')  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.walked(Maintenance):
            operation = walked.operation
            if operation.kind != "REINDEX" or operation.concurrently or operation.target == "SYSTEM":
                continue
            (effect,) = walked.lock_effects
            target = f"{operation.target} {operation.name}" if operation.name else operation.target
            concurrent = f"REINDEX {operation.target} CONCURRENTLY {operation.name or ''}".rstrip()
            if context.postgres_version >= 12:
                short_term = _("Rebuild it concurrently: %(concurrently_advice)s.", concurrently_advice=concurrently_advice(walked, concurrent))
            else:
                short_term = (_("PostgreSQL %(postgres_version)s has no REINDEX CONCURRENTLY: build a copy with "
                              "CREATE INDEX CONCURRENTLY, drop the old index concurrently and rename the copy.", postgres_version=context.postgres_version))
            yield self.finding(
                operation.location, _("REINDEX %(target)s runs without CONCURRENTLY", target=target),
                lock_sentence(effect),
                impact=_("Worst case: writes, and the reads that use the index, wait for the whole rebuild (minutes on a "
                       "big table) and the deploy times out. Most likely: a stall of the table during the deploy."),
                root_cause=_("REINDEX is maintenance written into a migration, where it runs at deploy time under "
                           "its strongest lock."),
                fix=Fix(short_term=short_term,
                        medium_term=_("Run index maintenance outside deploys, in a scheduled window. %(lock_timeout_advice)s", lock_timeout_advice=LOCK_TIMEOUT_ADVICE),
                        long_term=_("Monitor index bloat (pgstattuple) and rebuild concurrently when it grows.")),
                verification=_("`schemalens verify` shows SHARE UPDATE EXCLUSIVE for the rebuild; test: `SELECT "
                             "indexrelid::regclass FROM pg_index WHERE NOT indisvalid` is empty afterwards"),
                table=walked.table, severity=severity_by_size(context, walked.table))
