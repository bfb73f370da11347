from __future__ import annotations

from typing import Iterator, Optional

from ...schema.model import Location
from ...schema.operations import (
    AddColumn,
    AddConstraint,
    AddConstraintUsingIndex,
    AlterColumn,
    CreateEnum,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    DropType,
    RenameTable,
    UnsupportedStatement,
)
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .revision_examples import ALEMBIC_SETUP, revision_file
from .safety import prisma_example
from .sql_folders import migration_folders
from ...workspace.migration_tools import SENT_WHOLE
from ...i18n import _

# The statements that have an IF NOT EXISTS form, and what it looks like.
_IDEMPOTENT_FORM = {CreateTable: "CREATE TABLE IF NOT EXISTS", CreateIndex: "CREATE INDEX IF NOT EXISTS",
                    AddColumn: "ALTER TABLE ... ADD COLUMN IF NOT EXISTS"}
# At least this many idempotent statements, and more than half, make a folder's convention.
_CONVENTION_MINIMUM = 2


def _create_statements(context: AuditContext, paths: list[str]) -> list:
    """CREATE TABLE, CREATE INDEX and ADD COLUMN operations written as statements of the folder's files."""
    wanted = set(paths)
    found = []
    for step in context.model.steps:
        if step.path not in wanted:
            continue
        for operation in step.operations:
            if isinstance(operation, tuple(_IDEMPOTENT_FORM)) and not _in_string_constant(context, step.path, operation.location):
                found.append(operation)
    return found


class NonIdempotentStatement(Rule):
    """## What it finds
    Statements that make a migration fail when it is run again after a partial failure:

    - in a migration that runs without a transaction (an Alembic `autocommit_block()`; a SQL
      file outside BEGIN ... COMMIT whose tool does not wrap files, golang-migrate, or a folder
      configured `sql_transactions = "none"`), a statement that is not idempotent: CREATE TABLE
      / CREATE INDEX / ADD COLUMN without IF NOT EXISTS, DROP TABLE / INDEX / TYPE / COLUMN /
      CONSTRAINT without IF EXISTS, ADD CONSTRAINT not preceded by a `DROP CONSTRAINT IF
      EXISTS` of its name, renames, CREATE TYPE: if a later statement fails (or the connection
      drops before the tool records the migration), the tool retries the whole file and this
      one fails on what it already did. Not in a folder whose tool SchemaLens does not
      recognize (whether it wraps a file, or the whole run, in a transaction is not known:
      `sql_transactions` says it), nor in one whose tool sends each file whole (Prisma: a file of
      one statement is that statement's transaction). Statements that can run
      twice unchanged (SET NOT NULL, ENABLE ROW LEVEL SECURITY, a temporary table) are not;
    - a named `CREATE INDEX CONCURRENTLY` without IF NOT EXISTS anywhere: a failed concurrent
      build leaves an INVALID index of that name behind, so even a lone statement cannot be
      rerun;
    - in a SQL migration folder whose convention is idempotent statements (more than half of its
    CREATE TABLE, CREATE INDEX and ADD COLUMN statements say IF NOT EXISTS, and at least two
    do), a CREATE TABLE, CREATE INDEX or ADD COLUMN without IF NOT EXISTS. Statements inside
    DO blocks are skipped: those guard themselves. So are statements a revision runs only after
    a test of the database in Python (`if _index_valid() is False:`): a test SchemaLens does not
    decide, written to guard them.

    ## Why it matters
    A folder written idempotently is run that way: scripts are re-applied after a partial
    failure, run by a tool without a history table, or applied to databases that already have
    some of the objects. The one statement without IF NOT EXISTS then fails with "relation
    already exists" (or "column already exists"), stopping the script halfway, and every
    statement after it in that file is skipped.

    ## Example
    ```sql
    CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, status text);
    CREATE INDEX IF NOT EXISTS ix_orders_status ON orders (status);
    ALTER TABLE orders ADD COLUMN note text;
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;
    ```
    Beware: IF NOT EXISTS compares names only; an existing object with other columns is kept
    as it is. For constraints, which have no IF NOT EXISTS, use a DO block that checks
    `pg_constraint` first.

    ## How to verify
    Apply the folder twice to a scratch database (`psql -v ON_ERROR_STOP=1 -f ...` for each
    file, two passes): the second pass succeeds with only "already exists, skipping" notices.
    """

    code = "SL537"
    name = "non-idempotent-statement"
    dimension = 5
    severity = "P2"
    summary = _("statement that fails when its migration is run again (no transaction, no IF [NOT] EXISTS)")
    peers = ("squawk:prefer-robust-stmts", "pgls:preferRobustStmts")

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, status text);\n"
                                           "CREATE INDEX IF NOT EXISTS ix_orders_status ON orders (status);\n",
                      "db/V2__note.sql": "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n"
                                         "DO $$ BEGIN\n"
                                         "  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'ix_orders_note') THEN\n"
                                         "    CREATE INDEX ix_orders_note ON orders (note);\n"
                                         "  END IF;\n"
                                         "END $$;\n"
                                         "DO $$ BEGIN\n"
                                         "  CREATE INDEX ix_orders_status_note ON orders (status, note);\n"
                                         "EXCEPTION WHEN duplicate_table THEN NULL;\n"
                                         "END $$;\n"}),
             # skyvern: the revision asks the database whether the index is there before it drops it
             Example({**ALEMBIC_SETUP, "migrations/versions/a1_drop.py": revision_file(
                 "a1", None, "    with op.get_context().autocommit_block():\n"
                             "        if _index_valid() is False:\n"
                             "            op.execute('DROP INDEX CONCURRENTLY ix_orders_note')")}),
             # documenso: Prisma sends each migration whole, several statements as one transaction
             Example(prisma_example('CREATE TYPE "Status" AS ENUM (\'DRAFT\', \'SENT\');\n'
                                    'ALTER TABLE orders ADD COLUMN "state" "Status";\n')),
             Example(prisma_example('-- AlterTable\nALTER TABLE orders ADD COLUMN "signedAt" TIMESTAMP(3);\n')),
             # authelia: a runner SchemaLens does not know, which runs every pending file in one transaction
             Example({"internal/migrations/V0001.Initial.up.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                      "internal/migrations/V0002.Note.up.sql": ("ALTER TABLE orders ADD COLUMN note text;\n"
                                                                "CREATE INDEX orders_note_idx ON orders (note);\n")}),
             # rallly: the statements before a BEGIN join its transaction; those after its COMMIT run in
             # the next implicit one
             Example(prisma_example("DROP TABLE customers;\n"
                                    "BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\nCOMMIT;\n"
                                    "ALTER TABLE orders ADD COLUMN source text;\nALTER TABLE orders DROP COLUMN note;\n")))
    invalid = (
        Example({"db/V1__orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, status text);\n"
                                      "CREATE INDEX IF NOT EXISTS ix_orders_status ON orders (status);\n",
                 "db/V2__note.sql": "ALTER TABLE orders ADD COLUMN note text;  -- expect\n"}),
        Example({"migrations/1_orders.up.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, note text);\n",
                 "migrations/2_note.up.sql": "ALTER TABLE orders DROP COLUMN note;  -- expect\n"
                                             "ALTER TABLE orders ADD COLUMN channel text;  -- expect\n"}),
        Example({"migrations/1_orders.up.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, note text);\n",
                 "migrations/2_index.up.sql": "CREATE INDEX CONCURRENTLY ix_orders_note ON orders (note);  -- expect\n"}),
        Example({**ALEMBIC_SETUP, "migrations/versions/a1_drop.py": revision_file(
            "a1", None, "    with op.get_context().autocommit_block():\n"
                        "        op.execute('DROP INDEX CONCURRENTLY ix_orders_note')  # expect")}),
        Example(prisma_example("CREATE INDEX CONCURRENTLY ix_orders_note ON orders (note);  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        reported: set = set()
        for finding in self._outside_transactions(context):
            reported.add(finding.location)
            yield finding
        for finding in self._by_convention(context):
            if finding.location not in reported:
                yield finding

    def _outside_transactions(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_step(self.code, self._outside_transactions_in_step)

    def _outside_transactions_in_step(self, context: StepView, walk: tuple) -> Iterator[Finding]:
        for walked in walk:
            operation = walked.operation
            if context.runs_conditionally(walked.step.path, operation.location):
                continue  # skyvern: the revision tests the database first (`if _index_valid() is False:`)
            if isinstance(operation, CreateIndex) and operation.index.concurrently and operation.index.name \
                    and not operation.if_not_exists and not _index_dropped_first(walked):
                yield self._rerun_finding(walked, _("CREATE INDEX CONCURRENTLY %(index)s", index=operation.index.name),
                                          _("DROP INDEX CONCURRENTLY IF EXISTS %(index)s; then CREATE INDEX "
                                          "CONCURRENTLY %(index)s ...", index=operation.index.name),
                                          _("a failed concurrent build leaves an INVALID index of this name, so running "
                                          "it again fails with \"already exists\""))
                continue
            if walked.in_transaction or _in_string_constant(context, walked.step.path, walked.operation.location):
                continue
            form = _not_rerunnable(walked)
            # Known to run statement by statement (Alembic's autocommit_block, a tool that does not wrap
            # files, or the configuration): any statement, since a retry after an interrupted run (a
            # lost connection before the tool records it) repeats it. A runner SchemaLens does not
            # know may wrap the file or the whole run in a transaction (authelia's Go code does).
            known = walked.step.path.endswith(".py") or _tool_known(context, walked.step.path)
            if form is None or not known:
                continue
            what, fix = form
            yield self._rerun_finding(walked, what, fix, _("a failure in a later statement leaves it applied with no "
                                                         "transaction to undo it, and running the file again fails "
                                                         "here"))

    def _rerun_finding(self, walked, what: str, fix: str, why: str) -> Finding:
        operation = walked.operation
        return self.finding(
            operation.location, _("%(what)s cannot be run twice", what=what),
            _("%(what)s runs outside a transaction: %(why)s.", what=what, why=why),
            impact=_("Worst case: a deploy that failed half-way cannot be retried without editing the database by "
                   "hand. Most likely: a manual fix-up during an incident."),
            root_cause=_("The migration runs statement by statement, and this statement does not check whether its "
                       "work is already done."),
            fix=Fix(short_term=_("Write `%(fix)s`, or run the file in one transaction (BEGIN ... COMMIT, or the tool's "
                               "per-file transaction).", fix=fix),
                    medium_term=_("CI applies each migration twice to a scratch database and fails on errors.")),
            verification=_("Apply the migration, then apply it again on the same scratch database: the second run succeeds"),
            table=walked.table)

    def _by_convention(self, context: AuditContext) -> Iterator[Finding]:
        for folder, paths in sorted(migration_folders(context.model).items()):
            statements = _create_statements(context, paths)
            idempotent = sum(1 for operation in statements if operation.if_not_exists)
            if idempotent < _CONVENTION_MINIMUM or idempotent * 2 <= len(statements):
                continue
            for operation in statements:
                if not operation.if_not_exists:
                    yield self._finding(folder, operation, idempotent, len(statements))

    def _finding(self, folder: str, operation, idempotent: int, total: int) -> Finding:
        form = _IDEMPOTENT_FORM[type(operation)]
        if isinstance(operation, CreateTable):
            what, fix = f"CREATE TABLE {operation.table}", f"CREATE TABLE IF NOT EXISTS {operation.table} (...)"
        elif isinstance(operation, CreateIndex):
            name = operation.index.name or ""
            what, fix = f"CREATE INDEX {name}".rstrip(), f"CREATE INDEX IF NOT EXISTS {name} ON {operation.table} (...)"
        else:
            what = _("ADD COLUMN %(table)s.%(column)s", table=operation.table, column=operation.column.name)
            fix = f"ALTER TABLE {operation.table} ADD COLUMN IF NOT EXISTS {operation.column.name} ..."
        return self.finding(
            operation.location, _("%(what)s without IF NOT EXISTS", what=what),
            _("%(idempotent)s of the %(total)s CREATE TABLE / CREATE INDEX / ADD COLUMN statements in %(folder)s use IF NOT "
            "EXISTS; this %(what)s does not, so running the file again fails.", idempotent=idempotent, total=total, folder=folder, what=what),
            impact=_("Worst case: a re-run after a partial failure stops at this statement with \"already exists\" and "
                   "the statements after it never run. Most likely: a manual fix-up during a deploy."),
            root_cause=_("The folder's convention (%(form)s) was not followed in this statement.", form=form),
            fix=Fix(short_term=_("Write `%(fix)s`.", fix=fix),
                    medium_term=_("CI applies the folder twice to a scratch database and fails on errors."),
                    long_term=_("A migration template (or linter rule in the editor) with IF NOT EXISTS in every CREATE.")),
            verification=_("Apply the folder twice to a scratch database with psql -v ON_ERROR_STOP=1: the second pass succeeds."),
            table=operation.table, column=operation.column.name if isinstance(operation, AddColumn) else None)


def _in_string_constant(context: AuditContext | StepView, path: str, location: Location) -> bool:
    """In a string constant of a SQL file: a DO block's or a function's body, which guards its
    statements itself."""
    scan = context.model.sql_scans.get(path)
    return scan is not None and scan.in_string_constant(location)


def _not_rerunnable(walked) -> Optional[tuple[str, str]]:
    """(what, the idempotent form) of a statement that fails when run a second time, or None."""
    operation = walked.operation
    match operation:
        case CreateTable(if_not_exists=False) if not operation.temporary:
            return f"CREATE TABLE {operation.table}", f"CREATE TABLE IF NOT EXISTS {operation.table} (...)"
        case CreateIndex(if_not_exists=False) if operation.index.name and not _index_dropped_first(walked):
            return f"CREATE INDEX {operation.index.name}", f"CREATE INDEX IF NOT EXISTS {operation.index.name} ..."
        case AddColumn(if_not_exists=False):
            return (f"ADD COLUMN {operation.table}.{operation.column.name}",
                    f"ALTER TABLE {operation.table} ADD COLUMN IF NOT EXISTS {operation.column.name} ...")
        case DropTable(if_exists=False):
            return f"DROP TABLE {operation.table}", f"DROP TABLE IF EXISTS {operation.table}"
        case DropIndex(if_exists=False):
            return f"DROP INDEX {operation.name}", f"DROP INDEX IF EXISTS {operation.name}"
        case DropType(if_exists=False):
            return f"DROP TYPE {operation.name}", f"DROP TYPE IF EXISTS {operation.name}"
        case DropColumn(if_exists=False):
            return (f"DROP COLUMN {operation.table}.{operation.column}",
                    f"ALTER TABLE {operation.table} DROP COLUMN IF EXISTS {operation.column}")
        case DropConstraint(if_exists=False):
            return (f"DROP CONSTRAINT {operation.name}",
                    f"ALTER TABLE {operation.table} DROP CONSTRAINT IF EXISTS {operation.name}")
        case AddConstraintUsingIndex() if not _dropped_first(walked, operation.name):
            return (f"ADD CONSTRAINT {operation.name} USING INDEX", f"ALTER TABLE {operation.table} DROP CONSTRAINT IF "
                                                                   f"EXISTS {operation.name}; then the ADD CONSTRAINT")
        case AddConstraint() if not _dropped_first(walked, operation.constraint.name):
            name = operation.constraint.name or "the constraint"
            return (f"ADD CONSTRAINT {name}", f"ALTER TABLE {operation.table} DROP CONSTRAINT IF EXISTS {name}; then the "
                                              "ADD CONSTRAINT")
        case RenameTable():
            return f"RENAME {operation.table}", _("a DO block that renames only when the old name exists")
        case AlterColumn() if operation.new_name is not None:
            return f"RENAME COLUMN {operation.table}.{operation.column}", \
                _("a DO block that renames only when the old name exists")
        case CreateEnum():
            return f"CREATE TYPE {operation.enum.name}", _("a DO block that creates the type only when it is missing")
        case UnsupportedStatement(kind="ALTER TABLE ENABLE ROW LEVEL SECURITY" | "ALTER TABLE DISABLE ROW LEVEL SECURITY"):
            return None  # idempotent: running it twice changes nothing
    return None


def _dropped_first(walked, name: Optional[str]) -> bool:
    """`DROP CONSTRAINT IF EXISTS name` comes first in the step, and nothing added the name since."""
    dropped = False
    for other in walked.earlier_in_step:
        if isinstance(other, DropConstraint) and other.name == name and other.if_exists:
            dropped = True
        elif (isinstance(other, AddConstraint) and other.constraint.name == name
              or isinstance(other, AddConstraintUsingIndex) and other.name == name):
            dropped = False
    return name is not None and dropped


def _tool_known(context: AuditContext, path: str) -> bool:
    """Whether the file is known to run statement by statement: a tool that sends it whole
    (Prisma) runs a lone statement as a transaction of its own."""
    tool = context.sql_transactions.tool_of(path)
    return tool.tool is not None and tool.tool not in SENT_WHOLE or tool.source == "configured"


def _index_dropped_first(walked) -> bool:
    """`DROP INDEX [CONCURRENTLY] IF EXISTS name` earlier in the step clears a failed build's leftover."""
    return any(isinstance(other, DropIndex) and other.name == walked.operation.index.name and other.if_exists
               for other in walked.earlier_in_step)
