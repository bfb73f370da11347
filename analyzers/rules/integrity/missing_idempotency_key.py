from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_pattern import LazyPattern

_JOB_TABLE = LazyPattern(r"(^|_)(job|jobs|task|tasks|sync|syncs|result|results|webhook|webhooks|import|imports|"
                        r"delivery|deliveries|callback|callbacks|notification|notifications|outbox)($|_)")


class MissingIdempotencyKey(Rule):
    """## What it finds
    Job, task, sync, result, webhook, import and notification tables whose only unique key is
    the surrogate primary key: nothing in the database identifies "the same work" twice.

    Off by default: whether rows record one unit of work that a retry could repeat (a job, a
    delivery, a payment) cannot be read from a table's name or columns; on the real projects we
    read, every table it picked was configuration, a link table keyed by its pair, or a history
    that must keep one row per attempt (0 of 10 worth a reviewer's time). Select it by code
    (`select = ["ALL", "SL307"]`) to review job and outbox tables by hand.

    ## Why it matters
    Schedulers fire twice, workers retry after a timeout, webhooks are redelivered. Without a
    unique key on the natural identity of the work (source + external id, job name + run
    date, request id) every retry inserts a new row and the work is done, charged or sent twice.

    ## Example
    ```sql
    CREATE TABLE sync_results (id bigserial PRIMARY KEY, source text, external_id text, payload jsonb);
    ```

    ## Use instead
    ```sql
    CREATE TABLE sync_results (id bigserial PRIMARY KEY, source text NOT NULL, external_id text NOT NULL,
      payload jsonb, CONSTRAINT uq_sync_results_source_external_id UNIQUE (source, external_id));
    -- and write with INSERT ... ON CONFLICT (source, external_id) DO UPDATE/NOTHING
    ```

    ## How to verify
    `SELECT source, external_id, count(*) FROM sync_results GROUP BY 1, 2 HAVING count(*) > 1;`
    is empty; a test runs the job twice and finds one row.
    """

    code = "SL307"
    default_enabled = False
    name = "missing-idempotency-key"
    dimension = 3
    severity = "P1"
    summary = _("job/sync/result table without an idempotency key")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE sync_results (id bigint PRIMARY KEY, source text NOT NULL, external_id text NOT NULL,"
        " UNIQUE (source, external_id));\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE sync_results (  -- expect\n  id bigint PRIMARY KEY,\n  source text,\n  external_id text\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of or not _JOB_TABLE.search(table.name):
                continue
            if table.unique_constraints or any(i.unique for i in table.indexes):
                continue
            location, related = context.where_table(table)
            yield self.finding(
                location, _("%(table)s has no idempotency key", table=table.name),
                _("%(table)s records work items but only its surrogate primary key is unique.", table=table.name),
                impact=_("Worst case: a retried or double-scheduled job charges, sends or imports twice. Most likely: "
                       "duplicate rows after a worker timeout or a webhook redelivery."),
                root_cause=_("Deduplication was left to the scheduler or the caller."),
                fix=Fix(short_term=_("Find the natural identity of a row of %(table)s (request id, source + external id, "
                                   "job name + run date) and count duplicates of it.", table=table.name),
                        medium_term=_("Add a UNIQUE constraint on it (unique index CONCURRENTLY, then ADD CONSTRAINT USING INDEX) "
                                    "and write with INSERT ... ON CONFLICT."),
                        long_term=_("Standard: every asynchronous write path has an idempotency key enforced by the database.")),
                verification=_("Run the job twice in a test against PostgreSQL and assert a single row."),
                table=table.name, related=related)
