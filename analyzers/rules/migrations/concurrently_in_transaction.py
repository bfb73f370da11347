from __future__ import annotations

from typing import Iterator

from ...schema.operations import CreateIndex, Maintenance, UnsupportedStatement
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .safety import SQL_BASE, alembic_example, prisma_example, sql_example
from ...i18n import _

_POSTGRES_MIGRATIONS = '{"dependencies": {"postgres-migrations": "^5.3.0"}}\n'


class ConcurrentlyInTransaction(Rule):
    """## What it finds
    A statement PostgreSQL refuses inside a transaction block, run inside one: `CREATE INDEX
    CONCURRENTLY` (`postgresql_concurrently=True`), `DROP INDEX CONCURRENTLY`, `REINDEX
    CONCURRENTLY`, `DETACH PARTITION ... CONCURRENTLY`, `VACUUM`, `DROP DATABASE` (the lock
    knowledge base marks them, measured). Inside a transaction means: in an Alembic revision
    outside `op.get_context().autocommit_block()`; in a SQL file between BEGIN and COMMIT; or in
    any SQL file whose migration tool wraps each file in a transaction (sqlx, dbmate, goose,
    Liquibase, Atlas; `sql_transactions`) without the tool's per-file opt-out. Flyway runs a
    file holding such a statement without a transaction by itself.

    ## Why it matters
    PostgreSQL refuses these statements in a transaction block (`CREATE INDEX CONCURRENTLY
    cannot run inside a transaction block`): the migration fails on every database, usually
    first noticed in the deploy pipeline.

    P0.

    ## Example
    ```python
    def upgrade():
        op.create_index("ix_orders_status", "orders", ["status"], postgresql_concurrently=True)
    ```

    ## Use instead
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index("ix_orders_status", "orders", ["status"], postgresql_concurrently=True)
    ```

    ## How to verify
    `alembic upgrade head` on a scratch database (or `schemalens verify`) succeeds.
    """

    code = "SL517"
    name = "concurrently-in-transaction"
    dimension = 5
    severity = "P0"
    summary = _("CONCURRENTLY or VACUUM inside a transaction (the migration fails)")
    peers = ("squawk:ban-concurrent-index-creation-in-transaction", "pgls:banConcurrentIndexCreationInTransaction",
             "atlas:PG103")

    valid = (
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.create_index('ix_orders_status', 'orders', ['status'], postgresql_concurrently=True)")),
        Example(sql_example("CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n")),
        # supabase/storage: postgres-migrations runs a file outside its transaction when told to
        Example({"package.json": _POSTGRES_MIGRATIONS, "migrations/0001-base.sql": SQL_BASE,
                 "migrations/0002-index.sql": "-- postgres-migrations disable-transaction\n"
                                              "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n"}),
        # Prisma sends a migration whole: a lone statement runs by itself
        Example(prisma_example("-- CreateIndex\nCREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n")),
        # Diesel runs a migration in a transaction unless its metadata.toml says otherwise
        Example({"migrations/2024-01-01-000000_base/up.sql": SQL_BASE,
                 "migrations/2024-01-02-000000_index/up.sql": "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);\n",
                 "migrations/2024-01-02-000000_index/metadata.toml": "run_in_transaction = false\n"}),
    )
    invalid = (
        Example(alembic_example("    op.create_index('ix_orders_status', 'orders', ['status'], "
                                "postgresql_concurrently=True)  # expect")),
        Example(sql_example("BEGIN;\nCREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);  -- expect\n"
                            "COMMIT;\n")),
        Example({"migrations/20240101000000_orders.up.sql": SQL_BASE,
                 "migrations/20240102000000_index.up.sql": "DROP INDEX CONCURRENTLY orders_status_idx;  -- expect\n"},
                config='sql_transactions = { "migrations" = "sqlx" }\n'),
        Example({"package.json": _POSTGRES_MIGRATIONS, "migrations/0001-base.sql": SQL_BASE,
                 "migrations/0002-index.sql": "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);  -- expect\n"}),
        # ... and several statements as one implicit transaction (Prisma users' "statement arity" report)
        Example(prisma_example("SET lock_timeout = '30s';\n"
                               "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);  -- expect\n")),
        Example({"migrations/2024-01-01-000000_base/up.sql": SQL_BASE,
                 "migrations/2024-01-02-000000_index/up.sql":
                     "CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status);  -- expect\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_step(self.code, self._check_step)

    def _check_step(self, context: StepView, operations: tuple) -> Iterator[Finding]:
        for walked in operations:
            operation = walked.operation
            if not walked.in_transaction:
                continue
            if isinstance(operation, CreateIndex) and operation.index.concurrently:
                statement = f"CREATE INDEX CONCURRENTLY {operation.index.name or ''}".strip()
            elif isinstance(operation, Maintenance) and operation.kind.startswith("VACUUM"):
                statement = operation.kind
            elif isinstance(operation, UnsupportedStatement) and operation.kind == "DROP DATABASE":
                statement = "DROP DATABASE"
            else:
                effect = next((e for e in walked.lock_effects if not e.transactional), None)
                if effect is None:
                    continue
                statement = effect.title
            in_alembic = walked.step.path.endswith(".py")
            tool = context.sql_transactions.tool_of(walked.step.path) if not in_alembic else None
            if in_alembic:
                where = _("outside `autocommit_block()`")
            elif tool is not None and context.sql_transactions(walked.step.path):
                where = _("in a file that %(value)s runs in a transaction (%(source)s)", value=tool.tool or 'its migration tool', source=tool.source)
            else:
                where = _("between BEGIN and COMMIT")
            yield self.finding(
                operation.location, _("%(statement)s runs inside a transaction", statement=statement),
                _("%(statement)s on %(value)s is %(where)s; PostgreSQL refuses it in a transaction block.", statement=statement, value=walked.table or _('the table'), where=where),
                impact=_("Worst case: the migration fails in the deploy pipeline, possibly after earlier statements "
                       "of a non-transactional runner already ran. Most likely: a failed deploy on first run."),
                root_cause=_("Alembic wraps each migration in a transaction unless a block opts out."),
                fix=Fix(short_term=_("Wrap it in `with op.get_context().autocommit_block():`") if in_alembic
                        else _("Move it out of the BEGIN/COMMIT, into a file the tool runs without a transaction "
                             "(sqlx `-- no-transaction`, dbmate `transaction:false`, goose `NO TRANSACTION`)."),
                        medium_term=_("Rehearse every revision on a scratch database in CI (`schemalens verify`)."),
                        long_term=_("A migration template for concurrent index builds.")),
                verification=_("`alembic upgrade head` (or `schemalens verify`) on a scratch database succeeds; test: "
                             "the rehearsal in CI"),
                table=walked.table, column=None)
