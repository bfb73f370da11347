from __future__ import annotations

import bisect
from typing import Iterator, Optional

import pglast

from ...schema.model import Location
from ...schema.operations import AddColumn, CreateIndex, CreateTable
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .sql_folders import migration_folders

# The statements that have an IF NOT EXISTS form, and what it looks like.
_IDEMPOTENT_FORM = {CreateTable: "CREATE TABLE IF NOT EXISTS", CreateIndex: "CREATE INDEX IF NOT EXISTS",
                    AddColumn: "ALTER TABLE ... ADD COLUMN IF NOT EXISTS"}
# At least this many idempotent statements, and more than half, make a folder's convention.
_CONVENTION_MINIMUM = 2


class _EmbeddedSql:
    """Where a SQL file has string constants (the bodies of DO blocks and functions). Statements
    found inside one come from a DO block, which guards them itself (IF NOT EXISTS (SELECT ...))."""

    def __init__(self, text: str) -> None:
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        try:
            tokens = pglast.parser.scan(text)
        except Exception:  # the scanner gave up: treat nothing as embedded
            tokens = []
        self.spans = [(t.start, t.end) for t in tokens if t.name in ("SCONST", "USCONST")]
        self.starts = [start for start, _ in self.spans]

    def contains(self, location: Location) -> bool:
        if not 1 <= location.line <= len(self.line_starts):
            return False
        offset = self.line_starts[location.line - 1] + location.column - 1
        index = bisect.bisect_right(self.starts, offset) - 1
        return index >= 0 and self.spans[index][0] <= offset <= self.spans[index][1]


def _create_statements(context: AuditContext, paths: list[str]) -> list:
    """CREATE TABLE, CREATE INDEX and ADD COLUMN operations written as statements of the folder's files."""
    wanted = set(paths)
    found = []
    for step in context.model.steps:
        if step.path not in wanted:
            continue
        embedded: Optional[_EmbeddedSql] = None
        for operation in step.operations:
            if not isinstance(operation, tuple(_IDEMPOTENT_FORM)):
                continue
            embedded = embedded or _EmbeddedSql(context.text_of(step.path) or "")
            if not embedded.contains(operation.location):
                found.append(operation)
    return found


class NonIdempotentStatement(Rule):
    """## What it finds
    In a SQL migration folder whose convention is idempotent statements (more than half of its
    CREATE TABLE, CREATE INDEX and ADD COLUMN statements say IF NOT EXISTS, and at least two
    do), a CREATE TABLE, CREATE INDEX or ADD COLUMN without IF NOT EXISTS. Statements inside
    DO blocks are skipped: those guard themselves.

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
    summary = "CREATE/ADD COLUMN without IF NOT EXISTS in an idempotent migration folder"
    summary_zh = "幂等约定的迁移目录中缺少 IF NOT EXISTS 的语句"

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, status text);\n"
                                           "CREATE INDEX IF NOT EXISTS ix_orders_status ON orders (status);\n",
                      "db/V2__note.sql": "ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text;\n"
                                         "DO $$ BEGIN\n"
                                         "  IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'ix_orders_note') THEN\n"
                                         "    CREATE INDEX ix_orders_note ON orders (note);\n"
                                         "  END IF;\n"
                                         "END $$;\n"}),)
    invalid = (Example({"db/V1__orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, status text);\n"
                                             "CREATE INDEX IF NOT EXISTS ix_orders_status ON orders (status);\n",
                        "db/V2__note.sql": "ALTER TABLE orders ADD COLUMN note text;  -- expect\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
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
            what = f"ADD COLUMN {operation.table}.{operation.column.name}"
            fix = f"ALTER TABLE {operation.table} ADD COLUMN IF NOT EXISTS {operation.column.name} ..."
        return self.finding(
            operation.location, f"{what} without IF NOT EXISTS",
            f"{idempotent} of the {total} CREATE TABLE / CREATE INDEX / ADD COLUMN statements in {folder} use IF NOT "
            f"EXISTS; this {what} does not, so running the file again fails.",
            impact="Worst case: a re-run after a partial failure stops at this statement with \"already exists\" and "
                   "the statements after it never run. Most likely: a manual fix-up during a deploy.",
            root_cause=f"The folder's convention ({form}) was not followed in this statement.",
            fix=Fix(short_term=f"Write `{fix}`.",
                    medium_term="CI applies the folder twice to a scratch database and fails on errors.",
                    long_term="A migration template (or linter rule in the editor) with IF NOT EXISTS in every CREATE."),
            verification="Apply the folder twice to a scratch database with psql -v ON_ERROR_STOP=1: the second pass succeeds.",
            table=operation.table, column=operation.column.name if isinstance(operation, AddColumn) else None)
