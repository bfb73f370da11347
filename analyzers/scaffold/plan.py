"""What a safe schema change is made of: phases (expand, backfill, contract), each an upgrade and
a downgrade body of SQL blocks. Plain data, rendered into Alembic revisions by `revision_files`.

A body is a sequence of blocks, run in order:
- `InTransaction`: statements in the revision's transaction; brief locks only;
- `Autocommit`: statements each committed on its own, for what cannot run in a transaction
  (CREATE INDEX CONCURRENTLY) or must not hold the transaction's locks while it scans the
  table (VALIDATE CONSTRAINT takes only SHARE UPDATE EXCLUSIVE when it runs by itself);
- `Backfill`: an UPDATE in batches by primary-key range, a commit per batch.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional, Union

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class InTransaction:
    statements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Autocommit:
    statements: tuple[str, ...]


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


Block = Union[InTransaction, Autocommit, Backfill]


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


_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_$]*")
_KEYWORDS = RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS


def quote(identifier: str) -> str:
    """An identifier as PostgreSQL needs it written: bare when it can be, double-quoted otherwise."""
    if _PLAIN_IDENTIFIER.fullmatch(identifier) and identifier not in _KEYWORDS:
        return identifier
    return '"' + identifier.replace('"', '""') + '"'


def columns_sql(columns: tuple[str, ...]) -> str:
    return ", ".join(quote(column) for column in columns)


def object_name(*parts: str, suffix: str) -> str:
    """A constraint, index, trigger or function name within PostgreSQL's 63 bytes; a long one
    keeps a hash of the full name so that two long names stay distinct."""
    name = "_".join((*parts, suffix))
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: 63 - len(suffix) - 10]}_{digest}_{suffix}"
