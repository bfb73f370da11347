"""What the SQL-history rules share: the databases whose SQL migrations they check, and the
migrations of one database that repeat an earlier one (computed once per audit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Optional

from ...schema import operations as ops
from ...schema.model import table_key
from ...workspace.migration_sets import PER_FOLDER_FILES
from ...lazy_pattern import LazyPattern

# Words in a migration's name that say it redoes an earlier one.
REDO_WORDS = LazyPattern(r"(?:^|[_\-\s.])(v\d+(?![.]\d)|fix|fixed|fixup|hotfix|final|again|redo|retry|new|copy|take\d+|corrected)(?:$|[_\-\s.])",
                        re.IGNORECASE)
_VERSION_PREFIX = LazyPattern(r"^(?:[VUR]?\d[\d._-]*[a-z]?(?:_{1,2}|\.)|R__)", re.IGNORECASE)  # authelia: V0002.WebAuthn


def checked_databases(model) -> list:
    """The databases whose SQL migration histories the rules check: every database built from
    SQL migration folders, test fixtures left out."""
    return [database for database in getattr(model, "databases", ()) if database.files and not database.test_fixture]


def migration_name(path: str) -> str:
    """A migration's name without its version: `V5__add_orders.sql` -> `add_orders`."""
    pure = PurePosixPath(path)
    stem = pure.parent.name if pure.name.lower() in PER_FOLDER_FILES else pure.name
    stem = re.sub(r"(?:\.(?:up|down))?\.sql$", "", stem, flags=re.IGNORECASE)
    return _VERSION_PREFIX.sub("", stem)


def display_name(path: str) -> str:
    pure = PurePosixPath(path)
    return f"{pure.parent.name}/{pure.name}" if pure.name.lower() in PER_FOLDER_FILES else pure.name


def fingerprint(operation, schema: Optional[str] = None) -> Optional[tuple]:
    """What a schema operation does, without where it is written: two migrations with the same
    fingerprints change the same objects the same way."""
    table = getattr(operation, "table", None)
    key = table_key(table, getattr(operation, "schema", None) or schema) if isinstance(table, str) else None
    match operation:
        case ops.CreateTable():
            return ("create table", key, tuple(sorted((c.name, c.type) for c in operation.columns)))
        case ops.AddColumn():
            return ("add column", key, operation.column.name, operation.column.type)
        case ops.DropColumn():
            return ("drop column", key, operation.column)
        case ops.AlterColumn():
            return ("alter column", key, operation.column, operation.type, operation.nullable, operation.server_default,
                    operation.new_name)
        case ops.CreateIndex():
            index = operation.index
            return ("create index", key, index.columns, index.unique, index.where)
        case ops.DropIndex():
            return ("drop index", operation.name)
        case ops.AddConstraint():
            constraint = operation.constraint
            return ("add constraint", key, type(constraint).__name__, getattr(constraint, "columns", None),
                    getattr(constraint, "expression", None), getattr(constraint, "ref_table", None),
                    getattr(constraint, "ref_columns", None), getattr(constraint, "on_delete", None),
                    getattr(constraint, "on_update", None), getattr(constraint, "deferrable", None))
        case ops.DropTable():
            return ("drop table", key)
        case ops.RenameTable():
            return ("rename table", key, operation.new_name)
        case ops.CreateEnum():
            return ("create type", operation.enum.name, operation.enum.values)
        case ops.AddEnumValue():
            return ("add enum value", operation.name, operation.value)
    return None


def fingerprints(step) -> set:
    return {fp for op in step.operations if (fp := fingerprint(op, step.schema)) is not None}


@dataclass(frozen=True, slots=True)
class Repeat:
    """A later migration of one database that changes the same objects the same way as an earlier one."""

    earlier: object  # Step
    later: object  # Step
    shared: int  # schema changes the two have in common
    named_as_redo: bool  # the later one's name says so (`_v2`, `_fix`, `_final`)


# id of a database -> (the database, its repeats): three rules ask, on every audit
_repeats_of: dict[int, tuple[object, list["Repeat"]]] = {}


def repeats(database) -> list[Repeat]:
    """Migrations that only repeat an earlier one: every schema change of the later one is in
    the earlier one, and nothing between them undid it. Changes to relations the database's
    migrations do not create as tables (views, CREATE TABLE AS) are left out: SchemaLens does
    not see them dropped and created again."""
    kept = _repeats_of.get(id(database))
    if kept is None:  # the entry holds the database: its id is not another's while it is kept
        if len(_repeats_of) >= 16:
            _repeats_of.pop(next(iter(_repeats_of)))
        kept = _repeats_of[id(database)] = (database, _repeats(database))
    return kept[1]


def _repeats(database) -> list[Repeat]:
    steps = [step for step in database.steps
             if step.path.endswith(".sql") and not any(isinstance(op, ops.ExistingTables) for op in step.operations)]
    tables = {table_key(op.table, op.schema or step.schema) for step in database.steps for op in step.operations
              if isinstance(op, ops.CreateTable)}
    prints = [{fp for fp in fingerprints(step) if fp[0] in _NO_TABLE or fp[1] in tables} for step in steps]
    found = []
    # fingerprint -> the numbers of the steps so far that have it, in order: the earlier steps a
    # step can repeat have all of its fingerprints (comparing every pair of steps: 65 ms of 1,000
    # SQL migrations, growing with their square)
    holding: dict[tuple, list[int]] = {}
    for number, step in enumerate(steps):
        printed = prints[number]
        if printed:
            # each earlier step holding all of them shares exactly these: the first one nothing
            # since undid is the one it repeats
            fewest = min((holding.get(fp, []) for fp in printed), key=len)
            repeated = next((other for other in fewest if printed <= prints[other]
                             and not _undone_between(printed, steps[other + 1:number])), None) \
                if not _undone_between(printed, [step], drops_only=True) else None
            if repeated is not None:
                found.append(Repeat(steps[repeated], step, len(printed), bool(REDO_WORDS.search(migration_name(step.path)))))
        for fp in printed:
            holding.setdefault(fp, []).append(number)
    return found


_NO_TABLE = frozenset({"drop index", "create type", "add enum value"})
_DROPS = frozenset({"drop table", "drop column"})  # a migration that repeats a drop does not undo it itself


def _undone_between(shared: set, between: list, drops_only: bool = False) -> bool:
    """Whether a migration between two repeats undid what they share (dropped, renamed or
    altered what both create, created again what both drop): then the later one redoes it on
    purpose. `drops_only`: whether the later one itself drops what it then creates again (a
    foreign key dropped and added back with another ON DELETE, as Prisma writes the change)."""
    tables = {fp[1] for fp in shared if fp[0] not in (_NO_TABLE | _DROPS if drops_only else _NO_TABLE) and fp[1]}
    dropped_indexes = {fp[1] for fp in shared if fp[0] == "drop index"}
    dropped_columns = {(fp[1], fp[2]) for fp in shared if fp[0] == "drop column"}
    for step in between:
        for op in step.operations:
            key = table_key(op.table, getattr(op, "schema", None) or step.schema) if isinstance(getattr(op, "table", None), str) else None
            if isinstance(op, (ops.DropTable, ops.DropColumn, ops.DropConstraint)) and key in tables:
                return True
            if isinstance(op, ops.DropIndex) and op.name and any(fp[0] == "create index" for fp in shared):
                return True
            if drops_only:  # the later migration's own creations are the repeat
                continue
            if isinstance(op, (ops.RenameTable, ops.AlterColumn)) and key in tables:
                return True
            if isinstance(op, ops.CreateIndex) and op.index.name in dropped_indexes:
                return True
            if isinstance(op, ops.AddColumn) and (key, op.column.name) in dropped_columns:
                return True
            if isinstance(op, ops.CreateTable) and key in tables:
                return True
    return False
