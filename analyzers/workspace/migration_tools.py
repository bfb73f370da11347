"""Which tool runs a SQL migration folder, and so whether each file runs in a transaction.

Flyway, sqlx, dbmate, goose, Liquibase, Atlas, postgres-migrations (Node) and Diesel wrap each
migration file in a transaction by default (each with its own per-file opt-out); golang-migrate
and plain psql scripts do not. Prisma opens none, but sends each migration.sql to PostgreSQL
whole, as one simple query, which PostgreSQL runs as one implicit transaction when it holds more
than one statement. The tool is read from the folder's layout and the files' own markers, and
from the project's manifests (sqlx in Cargo.toml, postgres-migrations in package.json);
`sql_transactions` in the configuration names the mode (or the tool) per folder and wins over
detection. A folder whose tool is not recognized is taken as transactional only between an
explicit BEGIN and COMMIT.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Optional

from ..i18n import _
from .config import Config
from .discovery import folder_of
from ..lazy_pattern import LazyPattern

# Each tool's default: "per-file" (one transaction per migration file) or "none".
TOOL_TRANSACTIONS = {
    "flyway": "per-file", "sqlx": "per-file", "dbmate": "per-file", "goose": "per-file", "liquibase": "per-file",
    "atlas": "per-file", "postgres-migrations": "per-file", "diesel": "per-file", "prisma": "per-file",
    "golang-migrate": "none", "sqitch": "none", "psql": "none",
}
# The tools that send a file to the database whole, in one query (see _one_implicit_transaction).
SENT_WHOLE = frozenset({"prisma"})
# The tools that run a folder's files in the order of their numbers, not of their names.
BY_NUMBER = frozenset({"flyway", "golang-migrate", "goose", "postgres-migrations"})

# A file's way of leaving its tool's transaction.
_OPT_OUTS = {
    "sqlx": LazyPattern(r"\A\s*--\s*no-transaction\b", re.IGNORECASE),
    "dbmate": LazyPattern(r"--\s*migrate:up\b[^\n]*\btransaction:false\b", re.IGNORECASE),
    "goose": LazyPattern(r"--\s*\+goose\s+NO\s+TRANSACTION\b", re.IGNORECASE),
    "liquibase": LazyPattern(r"--\s*changeset\b[^\n]*\brunInTransaction:false\b", re.IGNORECASE),
    "atlas": LazyPattern(r"--\s*atlas:txmode\s+none\b", re.IGNORECASE),
    "postgres-migrations": LazyPattern(r"--\s*postgres-migrations\s+disable-transaction\b", re.IGNORECASE),
}
# Any tool: the author says the file runs outside the tool's transaction (squawk's directive,
# or SchemaLens's own).
_ANY_OPT_OUT = LazyPattern(r"--\s*(?:squawk-disable-assume-in-transaction|schemalens:\s*no-transaction)\b", re.IGNORECASE)
# Statements PostgreSQL refuses in a transaction block; Flyway runs a migration holding one
# without a transaction (with `mixed`, or when the file has nothing else).
_NON_TRANSACTIONAL = LazyPattern(r"\b(CONCURRENTLY|VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|ALTER\s+SYSTEM|"
                                r"CREATE\s+TABLESPACE|REINDEX\s+(?:SYSTEM|DATABASE|SCHEMA))\b", re.IGNORECASE)
_FLYWAY_NAME = LazyPattern(r"^[VUR]\d[\d._]*__|^R__", re.IGNORECASE)
_UP_FILE = LazyPattern(r"^\d+_.*\.up\.sql$", re.IGNORECASE)
_TIMESTAMPED = LazyPattern(r"^\d{14}_.*\.sql$")
_DIESEL_OPT_OUT = LazyPattern(r"^\s*run_in_transaction\s*=\s*false\b", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FolderTool:
    """How a SQL migration folder runs: the tool (None when not recognized), the transaction
    mode, and where that came from ("configured", or what detection read)."""

    tool: Optional[str]
    mode: str  # "per-file" or "none"
    source: str


def folder_tool(folder: str, paths: Iterable[str], text_of: Callable[[str], Optional[str]], root: Optional[Path],
                config: Config, layout: Optional[str] = None) -> FolderTool:
    """The tool and transaction mode of the SQL migration `folder` (relative, forward slashes);
    `layout`: the tool its migration set's layout names (migration_sets.SqlLocation.tool), for a
    folder per version ("prisma", "diesel")."""
    configured = config.sql_transactions.get(folder.strip("/") or ".")
    if configured is not None:
        tool = configured if configured in TOOL_TRANSACTIONS else None
        return FolderTool(tool, TOOL_TRANSACTIONS.get(configured, configured), "configured")
    if layout == "prisma":
        return FolderTool("prisma", "per-file", _("<timestamp>_<name>/migration.sql folders (Prisma)"))
    if layout == "diesel":
        if root is not None and _DIESEL_OPT_OUT.search(_text_or_empty(root / folder / "metadata.toml")):
            return FolderTool("diesel", "none", _("metadata.toml says run_in_transaction = false (Diesel)"))
        return FolderTool("diesel", "per-file", _("<version>_<name>/up.sql folders (Diesel)"))
    paths = list(paths)
    names = [PurePosixPath(path).name for path in paths]
    texts = [text_of(path) or "" for path in paths[:50]]
    if any(re.search(r"--\s*migrate:up\b", text) for text in texts):
        return FolderTool("dbmate", "per-file", _("`-- migrate:up` sections (dbmate)"))
    if any(re.search(r"--\s*\+goose\s+up\b", text, re.IGNORECASE) for text in texts):
        return FolderTool("goose", "per-file", _("`-- +goose Up` annotations"))
    if any(re.search(r"--\s*liquibase\s+formatted\s+sql", text, re.IGNORECASE) for text in texts):
        return FolderTool("liquibase", "per-file", _("`--liquibase formatted sql` files"))
    if root is not None and (root / folder / "atlas.sum").is_file():
        return FolderTool("atlas", "per-file", "atlas.sum")
    if names and sum(1 for name in names if _FLYWAY_NAME.match(name)) * 2 >= len(names):
        return FolderTool("flyway", "per-file", _("V<version>__<name>.sql file names (Flyway)"))
    if root is not None and _manifest_names(root, folder, "package.json", '"postgres-migrations"'):
        return FolderTool("postgres-migrations", "per-file", _("package.json depends on postgres-migrations"))
    if any(_OPT_OUTS["postgres-migrations"].search(text) for text in texts):
        return FolderTool("postgres-migrations", "per-file", _("files that opt out of its transaction (postgres-migrations)"))
    uses_sqlx = root is not None and _manifest_names(root, folder, "Cargo.toml", "sqlx")
    if any(_UP_FILE.match(name) for name in names):
        if uses_sqlx:
            return FolderTool("sqlx", "per-file", _("<version>_<name>.up.sql files and sqlx in Cargo.toml"))
        return FolderTool("golang-migrate", "none", _("<version>_<name>.up.sql / .down.sql files (golang-migrate)"))
    if uses_sqlx and any(_TIMESTAMPED.match(name) for name in names):
        return FolderTool("sqlx", "per-file", _("timestamped files and sqlx in Cargo.toml"))
    return FolderTool(None, "none", _("no migration tool recognized: only explicit BEGIN ... COMMIT"))


def _manifest_names(root: Path, folder: str, manifest: str, dependency: str) -> bool:
    """A `manifest` (Cargo.toml, package.json) in the folder's ancestors (up to the workspace
    root) that names `dependency`."""
    current = PurePosixPath(folder)
    return any(dependency in _text_or_empty(root / candidate / manifest) for candidate in (current, *current.parents))


def _text_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except OSError:
        return ""


@functools.lru_cache(maxsize=4096)  # every audit asks it of every SQL migration
def file_in_transaction(tool: FolderTool, text: str) -> bool:
    """Whether the folder's tool runs the file `text` inside a transaction it opens itself."""
    if tool.mode != "per-file":
        return False
    opt_out = _OPT_OUTS.get(tool.tool or "")
    if opt_out is not None and opt_out.search(text) or _ANY_OPT_OUT.search(text):
        return False
    if tool.tool == "flyway" and _NON_TRANSACTIONAL.search(_without_comments(text)):
        return False
    if tool.tool in SENT_WHOLE:
        return _one_implicit_transaction(text)
    return True


def _one_implicit_transaction(text: str) -> bool:
    """Whether PostgreSQL runs `text`, sent whole as one simple query (as Prisma applies a
    migration), in an implicit transaction: it holds more than one statement. A BEGIN in it takes
    that transaction over, the statements before it included, until its COMMIT. A lone statement
    runs by itself: CREATE INDEX CONCURRENTLY can, there only."""
    from pglast.parser import ParseError

    from ..extract import pg_tree

    try:
        statements = [text[piece] for piece in pg_tree.split(text, with_parser=False)]
    except ParseError:  # the scanner stops: the file fails at that statement whatever the mode
        return True
    return sum(1 for statement in statements if statement.strip()) > 1


def _without_comments(text: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", text, flags=re.DOTALL)


class SqlTransactions:
    """Answers, per SQL migration file of a workspace model, whether its tool wraps it in a
    transaction; the folder's tool is detected once."""

    def __init__(self, model, text_of: Callable[[str], Optional[str]]) -> None:
        self.model, self.text_of = model, text_of
        self._folders: dict[str, FolderTool] = {}
        self._migrations = set(model.sql_migrations)

    def tool_of(self, path: str) -> FolderTool:
        folder = folder_of(path)
        if folder not in self._folders:
            paths = [p for p in self.model.sql_migrations if folder_of(p) == folder]
            layout = next((location.tool for location in getattr(self.model, "sql_locations", ())
                           if path in location.files), None)
            self._folders[folder] = folder_tool("" if folder == "." else folder, paths, self.text_of,
                                                getattr(self.model, "root", None), self.model.config, layout)
        return self._folders[folder]

    def __call__(self, path: str) -> bool:
        if path not in self._migrations:
            return False
        return file_in_transaction(self.tool_of(path), self.text_of(path) or "")
