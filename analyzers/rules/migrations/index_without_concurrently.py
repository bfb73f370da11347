from __future__ import annotations

from typing import Iterator

from ...schema.operations import CreateIndex
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ..recorded import StepView
from .history_practice import said_once_per_history
from .safety import briefly_limited, few_rows, on_existing_tables, young_table_example
from ...i18n import _

_ALEMBIC_FILES = {
    "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
    "migrations/env.py": "",
    "migrations/versions/a1_orders.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                         "def upgrade():\n    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
                                         "                    sa.Column('status', sa.Text()))\n    op.create_index('ix_orders_id_status', 'orders', ['id', 'status'])\n\n"
                                         "def downgrade():\n    op.drop_table('orders')\n"),
}


def _index_revision(body: str) -> str:
    return ("from alembic import op\nrevision = 'b2'\ndown_revision = 'a1'\n\n"
            f"def upgrade():\n{body}\n\ndef downgrade():\n    op.drop_index('ix_orders_status', table_name='orders')\n")


_FIX = (_("Build it with `postgresql_concurrently=True` inside `with op.get_context().autocommit_block():` "
        "(SQL folders: `CREATE INDEX CONCURRENTLY` in a file run without a transaction)."))
# PostgreSQL cannot build an index on a partitioned table concurrently.
_PARTITIONED_FIX = (_("Create the index invalid on the parent only (`CREATE INDEX ... ON ONLY parent`), build each "
                    "partition's index with CONCURRENTLY, then `ALTER INDEX parent_index ATTACH PARTITION` each one."))


class IndexWithoutConcurrently(Rule):
    """## What it finds
    `CREATE INDEX` (`op.create_index`) without `CONCURRENTLY` on a table that an earlier
    migration created, so the table may already hold rows. An index built in the same
    migration as its table is fine.

    A young table is left alone: one created at most 30 days before the migration (dates from
    Alembic's `Create Date:` line or a date that starts the file name; never a table of the
    first migration of a history, which is often a squash of older ones), unless the size hints
    make it big by then (they give today's rows, of which a month-old table held a month's
    share). Its build stalls traffic noticeably only at millions of rows, which a table gains
    within a month only at over 100,000 rows a day: a volume to declare in the size hints. A
    table the size hints keep under 100,000 rows, now and in a year, is left alone too: its lock
    lasts milliseconds. So is an older table whose hinted rows, spread over its life, came to
    under 10,000 when the migration ran.

    In a history none of whose migrations builds an index concurrently, three or more findings
    are one, at the newest migration, with the others as related places: the fix is the team's
    practice for the migrations to come, not one per migration that ran long ago. In a history
    that takes the practice up, the migrations before the first that follows it are one finding
    at P2 (they ran before it: nothing is left to change in them), and each later one that goes
    without it is a finding of its own.

    ## Why it matters
    A plain `CREATE INDEX` takes a SHARE lock on the table for the whole build: every INSERT,
    UPDATE and DELETE waits, for seconds on a small table and for minutes or hours on a big
    one, and requests pile up behind it. `CREATE INDEX CONCURRENTLY` builds the index while
    writes go on.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year. One step
    lower when a statement_timeout of 10 s or less ends a long build (set in Alembic's env.py
    for every revision, as warehouse does, or by a statement of the migration before the
    build): writes then wait that long at most, and a build that needs longer fails the
    migration instead.

    ## Example
    ```python
    def upgrade():
        op.create_index("ix_orders_status", "orders", ["status"])
    ```

    ## Use instead
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index("ix_orders_status", "orders", ["status"], postgresql_concurrently=True)
    ```
    CONCURRENTLY cannot run inside a transaction: `autocommit_block()` commits what the
    revision did so far and runs the statement outside it. In SQL migration folders put the
    statement in a file of its own that your tool runs without a transaction. A failed
    concurrent build leaves an INVALID index: drop it and build again. A partitioned table
    cannot be indexed concurrently: create the index `ON ONLY` the parent, build each
    partition's index concurrently and attach them (`ALTER INDEX ... ATTACH PARTITION`).

    ## How to verify
    `SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'orders'::regclass;`
    shows the index valid; while it builds, `pg_locks` shows only SHARE UPDATE EXCLUSIVE on the
    table (`schemalens verify` traces it).
    """

    code = "SL505"
    contends_with_live_traffic = True
    name = "index-without-concurrently"
    dimension = 5
    severity = "P1"
    summary = _("index built without CONCURRENTLY on an existing table")
    peers = ("squawk:require-concurrent-index-creation", "pgls:requireConcurrentIndexCreation",
             "strong_migrations:add_index", "strong_migrations:add_reference", "eugene:E6", "atlas:PG101",
             "django-migration-linter:CREATE_INDEX", "django-migration-linter:CREATE_INDEX_EXCLUSIVE")

    valid = (
        Example({**_ALEMBIC_FILES, "migrations/versions/b2_index.py": _index_revision(
            "    with op.get_context().autocommit_block():\n"
            "        op.create_index('ix_orders_status', 'orders', ['status'], postgresql_concurrently=True)")}),
        Example({"db/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n"
                                      "CREATE INDEX ix_orders_status ON orders (status);\n",
                 "db/V2__index.sql": "CREATE INDEX CONCURRENTLY ix_orders_id_status ON orders (id, status);\n"}),
        # A table created days before, in the same release: few rows (real code: a feature's new table).
        Example(young_table_example("    op.create_index('ix_orders_status', 'orders', ['status'])")),
    )
    invalid = (
        Example({**_ALEMBIC_FILES, "migrations/versions/b2_index.py": _index_revision(
            "    op.create_index('ix_orders_status', 'orders', ['status'])  # expect")}),
        Example({"db/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                 "db/V2__index.sql": "CREATE INDEX ix_orders_status ON orders (status);  -- expect\n"}),
        # `customers` came from the first revision of the history (often a squash): its date says nothing.
        Example(young_table_example("    op.create_index('ix_customers_email', 'customers', ['email'])  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return iter(said_once_per_history(
            context, context.per_step(self.code, self._check_step, on_existing_tables(context, CreateIndex)),
            (CreateIndex,), lambda walked: walked.operation.index.concurrently,
            lambda history: _("no migration of %(history)s builds an index concurrently", history=history)))

    def _check_step(self, context: StepView, created: list) -> Iterator[Finding]:
        for walked in created:
            if walked.operation.index.concurrently or few_rows(context, walked):
                continue
            table = context.layer.tables.get(walked.table)
            yield from context.per_subject(self.code, walked.operation.location, self._finding, walked.operation,
                                           walked.created_at, table, table is not None and context.is_big(table),
                                           briefly_limited(context, walked, "statement_timeout"))

    def _finding(self, operation: CreateIndex, created_at, table, big: bool, timed: bool) -> Iterator[Finding]:
        index, name = operation.index, operation.index.name or "the index"
        columns = ", ".join(index.columns)
        if timed:  # statement_timeout ends a long build, and its lock, with the migration's failure
            impact = _("Worst case: the build outlasts statement_timeout, the migration fails and rolls back, and the "
                       "deploy stops until the index is built another way; until then every write to %(table)s waits. "
                       "Most likely: a write stall of up to statement_timeout during the deploy.", table=operation.table)
            severity = "P1" if big else "P2"
        else:
            impact = _("Worst case: every write to %(table)s waits for the whole index build, request workers "
                       "pile up and the service times out during the deploy. Most likely: a write stall of seconds to "
                       "minutes that grows with the table.", table=operation.table)
            severity = "P0" if big else None
        yield self.finding(
            operation.location, _("%(name)s is built without CONCURRENTLY on %(table)s", name=name, table=operation.table),
            _("CREATE INDEX %(name)s ON %(table)s (%(columns)s) locks out writes to %(table)s while it builds.", name=name, table=operation.table, columns=columns),
            impact=impact,
            root_cause=_("Alembic and most SQL tools run each migration in one transaction, where CONCURRENTLY is not "
                       "allowed, so the generated default is a blocking build."),
            fix=Fix(short_term=_PARTITIONED_FIX if table is not None and table.partition_by else _FIX,
                    medium_term=_("Set `lock_timeout` in every revision so a blocked DDL fails fast instead of queueing "
                                "writes behind it; check new revisions with `schemalens check` in CI."),
                    long_term=_("A migration template whose index helper is concurrent by default.")),
            verification=_("SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = '%(table)s'::regclass;"
                         "  -- the new index is valid; test: rehearse the migration while a writer loops "
                         "(`schemalens verify` reports the lock taken)", table=operation.table),
            table=operation.table, column=index.columns[0] if len(index.columns) == 1 else None,
            related=(Related(created_at, _("%(table)s created here", table=operation.table)),),
            severity=severity)
