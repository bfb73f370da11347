from __future__ import annotations

from typing import Iterator

from ...schema.operations import TransactionControl
from ...workspace.migration_tools import SENT_WHOLE
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, prisma_example, sql_example
from ...i18n import _, capitalized


class NestedTransaction(Rule):
    """## What it finds
    A BEGIN, COMMIT or ROLLBACK in a migration that does not match the transaction it runs in:

    - in an Alembic revision, or in a SQL file whose tool wraps each file in a transaction
      (Flyway, sqlx, dbmate, goose, ...; `sql_transactions`), any explicit BEGIN, COMMIT or
      ROLLBACK;
    - in a SQL file run without one, or in an Alembic `autocommit_block()` (skyvern runs each
      schema change in its own BEGIN ... COMMIT there), a BEGIN while a BEGIN is open, or a
      COMMIT/ROLLBACK with none open. A Prisma migration is sent whole, as one query: a BEGIN
      in it takes over the implicit transaction of the statements before it (PostgreSQL's
      rule for a query of several statements), with no warning, so it is the file's own.

    ## Why it matters
    PostgreSQL has no nested transactions. A BEGIN inside the tool's transaction is ignored
    with a warning, and the COMMIT that follows commits the tool's transaction early: the
    statements after it run outside any transaction, so a failure leaves the migration half
    applied while the tool believes it is atomic (and its own COMMIT warns that no transaction
    is open). A COMMIT with none open means the statements before it were not in the
    transaction the author meant.

    P1.

    ## Example
    ```sql
    -- V3__backfill.sql, run by Flyway in a transaction
    BEGIN;
    UPDATE orders SET channel = 'web' WHERE channel IS NULL;
    COMMIT;
    ```

    ## Use instead
    No BEGIN/COMMIT in files the tool wraps; to run statements outside its transaction, use the
    tool's per-file switch (sqlx `-- no-transaction`, dbmate `transaction:false`, goose `NO
    TRANSACTION`) or, in Alembic, `op.get_context().autocommit_block()`.

    ## How to verify
    Run the migration on a scratch database and check its log for "there is already a
    transaction in progress" / "there is no transaction in progress": there is none.
    """

    code = "SL550"
    name = "nested-transaction"
    dimension = 5
    severity = "P1"
    summary = _("BEGIN/COMMIT that nests in, or ends, the transaction the migration runs in")
    peers = ("squawk:transaction-nesting", "pgls:transactionNesting")

    valid = (
        Example(sql_example("BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\nCOMMIT;\n"),
                config='sql_transactions = { "db" = "none" }\n'),
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.execute('CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)')")),
        # skyvern: each schema change in a transaction of its own, with a timeout, in an autocommit block
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.execute('BEGIN')\n"
                                "        op.execute(\"SET LOCAL lock_timeout = '5s'\")\n"
                                "        op.execute('ALTER TABLE orders ADD COLUMN channel text')\n"
                                "        op.execute('COMMIT')")),
        # rallly: a statement, then BEGIN ... COMMIT, in a migration.sql that Prisma sends whole
        Example(prisma_example("DROP TABLE customers;\n"
                               "BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\nCOMMIT;\n")),
    )
    invalid = (
        Example(sql_example("BEGIN;  -- expect\nALTER TABLE orders ADD COLUMN channel text;\nCOMMIT;  -- expect\n")),
        Example(alembic_example("    op.execute('COMMIT')  # expect\n"
                                "    op.execute('CREATE INDEX CONCURRENTLY orders_status_idx ON orders (status)')")),
        Example(sql_example("BEGIN;\nBEGIN;  -- expect\nCOMMIT;\nCOMMIT;  -- expect\n"),
                config='sql_transactions = { "db" = "none" }\n'),
        # in an autocommit block, a COMMIT with no BEGIN of its own
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.execute('ALTER TABLE orders ADD COLUMN channel text')\n"
                                "        op.execute('COMMIT')  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for step in context.model.steps:
            in_alembic = step.path.endswith(".py")
            # a BEGIN sent in the same query as the statements before it takes their implicit
            # transaction over (Prisma): the file's own transaction, as in a file no tool wraps
            tool_transaction = in_alembic or context.sql_transactions(step.path) \
                and context.sql_transactions.tool_of(step.path).tool not in SENT_WHOLE
            explicit_open = False
            for operation in step.operations:
                if not isinstance(operation, TransactionControl):
                    continue
                if operation.statement is None:
                    # Alembic's autocommit_block() ends its transaction (COMMIT) and begins it again on
                    # exit: inside, the revision's own BEGIN ... COMMIT are its transactions (skyvern)
                    tool_transaction = operation.kind == "BEGIN" if in_alembic else tool_transaction
                    continue
                begins = operation.kind == "BEGIN"
                if tool_transaction:
                    who = "Alembic" if in_alembic else _("the migration tool (%(tool)s)", tool=context.sql_transactions.tool_of(step.path).tool)
                    problem = (_("%(who)s already runs %(path)s in a transaction: this %(statement)s ", who=who, path=step.path, statement=operation.statement)
                               + (_("is ignored with a warning, and the COMMIT that follows commits that transaction early")
                                  if begins else _("commits (or rolls back) that transaction early, and the statements "
                                                 "after it run outside any transaction")))
                elif begins and explicit_open:
                    problem = _("a transaction is already open: this %(statement)s is ignored with a warning", statement=operation.statement)
                elif not begins and not explicit_open:
                    problem = _("no transaction is open: this %(statement)s does nothing but warn", statement=operation.statement)
                else:
                    explicit_open = begins
                    continue
                explicit_open = begins
                yield self._finding(operation, problem, in_alembic)

    def _finding(self, operation: TransactionControl, problem: str, in_alembic: bool) -> Finding:
        return self.finding(
            operation.location, _("%(statement)s does not match the transaction the migration runs in", statement=operation.statement),
            capitalized(problem) + _("."),
            impact=_("Worst case: a failure after the early COMMIT leaves the migration half applied while the tool "
                   "records it as failed and atomic, and a retry fails on what was already applied. Most likely: "
                   "warnings in the deploy log and statements running outside the intended transaction."),
            root_cause=_("The file manages transactions itself while its runner does too."),
            fix=Fix(short_term=_("Use `op.get_context().autocommit_block()` for statements that must run outside the "
                               "transaction, and no BEGIN/COMMIT in op.execute().") if in_alembic else
                    _("Remove the BEGIN/COMMIT from files the tool wraps; use its per-file switch (sqlx `-- no-transaction`, "
                    "dbmate `transaction:false`, goose `NO TRANSACTION`) for a file that must run outside one."),
                    medium_term=_("Set `sql_transactions` for folders whose tool SchemaLens does not recognize.")),
            verification=_("The migration's log on a scratch database shows no \"transaction in progress\" warnings"))
