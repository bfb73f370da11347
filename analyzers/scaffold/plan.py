"""What a safe schema change is made of: phases (expand, backfill, contract), each an upgrade and
a downgrade body of SQL blocks. Plain data, rendered into Alembic revisions by `revision_files`.

A body is a sequence of blocks, run in order:
- `InTransaction`: statements in the revision's transaction; brief locks only;
- `Autocommit`: statements each committed on its own, for what cannot run in a transaction
  (CREATE INDEX CONCURRENTLY) or must not hold the transaction's locks while it scans the
  table (VALIDATE CONSTRAINT takes only SHARE UPDATE EXCLUSIVE when it runs by itself);
- `Backfill`: an UPDATE in batches by primary-key range, a commit per batch;
- `Unless`: blocks skipped on a re-run once an earlier run committed them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional, Union

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from ..lazy_pattern import LazyPattern

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class InTransaction:
    statements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DropInvalidIndex:
    """Drop the index `name` if a CREATE INDEX CONCURRENTLY that failed left it INVALID (a valid
    one is kept, so that a re-run does not build it again)."""

    name: str


@dataclass(frozen=True, slots=True)
class Autocommit:
    statements: tuple[Union[str, DropInvalidIndex], ...]


@dataclass(frozen=True, slots=True)
class Backfill:
    """UPDATE `table` SET `assignments` [FROM `source`] for rows matching `pending` (the rows that
    still need it, which makes a re-run skip the done ones), `batch_size` keys at a time."""

    table: str
    key: str
    assignments: str
    pending: str
    source: Optional[str] = None  # "parent": a joined table the assignments and `pending` read
    batch_size: int = BATCH_SIZE
    targets: tuple[str, ...] = ()  # the columns it writes; row triggers may change no other (keep_other_columns)
    keep_other_columns: bool = True  # False: the table's row triggers fire as for any update


@dataclass(frozen=True, slots=True)
class Unless:
    """`blocks`, skipped when `done` (a query that returns true or false) says that an earlier run
    committed them all: what comes after a committed column swap must not run it again."""

    done: str
    blocks: tuple["Block", ...]


Block = Union[InTransaction, Autocommit, Backfill, Unless]


def flatten(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """The blocks with those inside `Unless` in their place."""
    return tuple(inner for block in blocks for inner in (flatten(block.blocks) if isinstance(block, Unless) else (block,)))


@dataclass(frozen=True, slots=True)
class Phase:
    name: str  # "expand", "backfill", "contract"
    summary: str  # the revision message
    deploy_before: str  # which application deploy must be live before this revision runs
    deploy_after: str  # which deploy may follow it
    upgrade: tuple[Block, ...]
    downgrade: tuple[Block, ...]
    notes: tuple[str, ...] = ()  # what the user should know or check: a sentence each


@dataclass(frozen=True, slots=True)
class Plan:
    change: str  # "add-column", ...
    table: str
    phases: tuple[Phase, ...]


_PLAIN_IDENTIFIER = LazyPattern(r"[a-z_][a-z0-9_$]*")
_KEYWORDS = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS


def quote(identifier: str) -> str:
    """An identifier as PostgreSQL needs it written: bare when it can be, double-quoted otherwise."""
    if _PLAIN_IDENTIFIER.fullmatch(identifier) and identifier not in _KEYWORDS:
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def columns_sql(columns: tuple[str, ...]) -> str:
    return ", ".join(quote(column) for column in columns)


_ADD_CONSTRAINT = LazyPattern(r"^ALTER TABLE (\S+) ADD CONSTRAINT (\S+) ", re.DOTALL)


def rerunnable(sql: str) -> tuple[str, ...]:
    """The statement written so that running it again after a failure part-way through a revision
    (whose earlier transactions committed) does the same and fails on nothing that already exists."""
    if sql.startswith(("DO $$", "CREATE OR REPLACE FUNCTION ")):  # re-runnable as written; a body is kept verbatim
        return (sql,)
    added = _ADD_CONSTRAINT.match(sql)
    if added:
        table, name = added.groups()
        literal = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
        unquoted = name[1:-1].replace('""', '"') if name.startswith('"') else name
        return (f"DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = {literal(table)}::regclass "
                f"AND conname = {literal(unquoted)}) THEN\n    {sql};\n  END IF;\nEND $$",)
    for plain, guarded in (("ADD COLUMN ", "ADD COLUMN IF NOT EXISTS "), ("DROP COLUMN ", "DROP COLUMN IF EXISTS "),
                           ("DROP CONSTRAINT ", "DROP CONSTRAINT IF EXISTS "), ("DROP TRIGGER ", "DROP TRIGGER IF EXISTS "),
                           ("DROP FUNCTION ", "DROP FUNCTION IF EXISTS "), ("DROP VIEW ", "DROP VIEW IF EXISTS "),
                           ("CREATE FUNCTION ", "CREATE OR REPLACE FUNCTION "), ("CREATE VIEW ", "CREATE OR REPLACE VIEW ")):
        if plain in sql and guarded not in sql:
            sql = sql.replace(plain, guarded, 1)
    trigger = re.match(r"^CREATE TRIGGER (\S+) .*? ON (\S+) ", sql)
    if trigger:
        return f"DROP TRIGGER IF EXISTS {trigger.group(1)} ON {trigger.group(2)}", sql
    return (sql,)


def object_name(*parts: str, suffix: str) -> str:
    """A constraint, index, trigger or function name within PostgreSQL's 63 bytes; a long one
    keeps a hash of the full name so that two long names stay distinct."""
    name = "_".join((*parts, suffix))
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: 63 - len(suffix) - 10]}_{digest}_{suffix}"
