"""The databases a workspace's migrations build: one per independent migration set, never merged.

A repository often holds several migration sets: one per service, each applied to its own
database; a MySQL and a PostgreSQL copy of the same history; the Alembic history of the main
application. Each set is replayed on its own from an empty database. Two folders are one set
when one only extends the other: a Flyway location of data migrations next to the schema one
(`db/migration` and `db/migration_data`), or a SQL folder whose statements change tables only
the Alembic history creates. With the Alembic history and exactly one SQL folder, the folder is
taken as applied to the same database after the Alembic head, as single-service projects do.

The main database, the one `WorkspaceModel.database` holds and most rules read, is the Alembic
one when there is one, else the set whose tables the models map, else the largest set of the
workspace's dialect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable, Collection, Optional

from ..schema.model import Column, ExtractionError, ForeignKey, Location, PrimaryKey, SchemaLayer, Table, table_key
from ..schema.operations import CreateTable, ExistingTables, NotReplayed, RenameTable, Step
from ..schema.replay import ReplayFailure
from .migration_sets import TOOL_TABLES, SqlLocation, version_key
from ..lazy_pattern import LazyPattern

ALEMBIC = "alembic"


@dataclass(frozen=True, slots=True)
class Creation:
    """Where a migration creates an object a failing statement needed."""

    location: Location
    # Where it is: the failing statement's own database (then `later`: by a migration that runs
    # after it), another database, a draft folder ("sql_draft:<folder>") or a script ("sql_script:<path>").
    database: str
    later: bool

    @property
    def in_draft(self) -> bool:
        return self.database.startswith("sql_draft:")

    @property
    def in_script(self) -> bool:
        return self.database.startswith("sql_script:")

    @property
    def place(self) -> str:
        """The database, folder or file, as a reader names it."""
        return self.database.split(":", 1)[1] if self.in_draft or self.in_script else self.database


@dataclass(frozen=True, slots=True)
class ReplayProblem:
    """A root replay failure of one database, with what explains it: the statement that creates
    the missing object (later in the same set, or in another set), and the statements that fail
    only because of it."""

    failure: ReplayFailure
    step: int  # index of the failing step in the database's steps
    creation: Optional[Creation] = None
    consequences: tuple[Location, ...] = ()
    # A statement SchemaLens reads but does not model (CREATE TABLE AS, a view, ALTER TYPE
    # RENAME) made or removed the object before: the failure is SchemaLens's gap, not the folder's.
    unmodelled: Optional[Location] = None
    # SQL built at run time (PREPARE/EXECUTE, EXECUTE format()) or a procedure called (CALL) ran
    # before it in the same file, here: it may have made the statement succeed.
    after_opaque: Optional[Location] = None

    @property
    def error(self) -> ExtractionError:
        return self.failure.error


@dataclass(frozen=True, slots=True)
class Database:
    """One database the migrations build, replayed on its own from empty."""

    # "alembic"; "alembic:<version folder>" for another database the Alembic environments build;
    # or the folder of its first SQL location
    name: str
    dialect: str
    locations: tuple[SqlLocation, ...] = ()  # its SQL folders
    files: tuple[str, ...] = ()  # its SQL migration files in replay order
    steps: tuple[Step, ...] = ()
    layer: SchemaLayer = field(default_factory=lambda: SchemaLayer("database"))
    errors: tuple[ExtractionError, ...] = ()  # replay root errors
    problems: tuple[ReplayProblem, ...] = ()
    main: bool = False
    test_fixture: bool = False
    alembic: bool = False
    # The schema file that builds new databases when its folders only upgrade existing ones
    # (schema_file_for_new_databases): then not replayed from empty, its replay errors none of
    # the workspace's
    built_from: Optional[str] = None

    @property
    def label(self) -> str:
        if self.alembic:
            folder = self.name.partition(":")[2]
            return f"Alembic revisions ({folder})" if folder else "Alembic revisions"
        return self.name or "."


def group_locations(locations: list[SqlLocation], operations_of, alembic_tables: set[str],
                    has_alembic: bool, workspace_dialect: str) -> list[tuple[str, list[SqlLocation]]]:
    """(database name, its SQL locations in replay order) for every database; the Alembic one
    (name ALEMBIC) first when there is one, with the locations that extend it."""
    created = {location.folder: _created(location, operations_of) for location in locations}
    needed = {location.folder: _needed(location, operations_of) - created[location.folder] for location in locations}
    owner: dict[str, str] = {}  # location folder -> the location (or ALEMBIC) it extends
    plain = [l for l in locations if l.dialect == workspace_dialect and not l.test_fixture]
    for location in locations:
        missing = needed[location.folder]
        if not missing:
            continue
        if has_alembic and location.dialect == workspace_dialect and missing <= alembic_tables and not created[location.folder]:
            owner[location.folder] = ALEMBIC
            continue
        for other in locations:
            if other is location or other.dialect != location.dialect or not missing <= created[other.folder]:
                continue
            if not created[location.folder] or _parent(other.folder) == _parent(location.folder):
                owner[location.folder] = other.folder
                break
    if has_alembic and len(plain) == 1 and plain[0].folder not in owner and not _independent(plain[0], alembic_tables, created):
        owner[plain[0].folder] = ALEMBIC

    def root(folder: str) -> str:
        seen = set()
        while folder in owner and folder not in seen:
            seen.add(folder)
            folder = owner[folder]
        return folder

    groups: dict[str, list[SqlLocation]] = {}
    if has_alembic:
        groups[ALEMBIC] = []
    for location in locations:
        groups.setdefault(root(location.folder), []).append(location)
    ordered = []
    for name, members in groups.items():
        members.sort(key=lambda l: (l.folder != name, l.folder))
        ordered.append((name, members))
    return sorted(ordered, key=lambda item: (item[0] != ALEMBIC, item[0]))


def _independent(location: SqlLocation, alembic_tables: set[str], created: dict[str, set[str]]) -> bool:
    """A SQL folder that recreates the Alembic history's tables is a copy for another tool, not a
    continuation of it."""
    return bool(created[location.folder] & alembic_tables)


def merged_files(members: list[SqlLocation]) -> list[str]:
    """The files of one database's SQL locations in the order its tool runs them: Flyway merges
    its locations by version; other tools run one folder after the other."""
    if len(members) > 1 and all(member.tool == "flyway" for member in members):
        return sorted((path for member in members for path in member.files),
                      key=lambda path: version_key(PurePosixPath(path).name, "flyway"))
    return [path for member in members for path in member.files]


def tool_table_step(members: list[SqlLocation], files: list[str], operations_of) -> Optional[Step]:
    """A first step that puts the migration tool's own history table in place, when a migration
    of the database uses it (golang-migrate's `schema_migrations`, Flyway's
    `flyway_schema_history`): the tool creates it before running the first migration."""
    if not files:
        return None
    created = set().union(*(_created(member, operations_of) for member in members))
    needed = set().union(*(_needed(member, operations_of) for member in members)) - created
    tables = []
    for tool in dict.fromkeys(member.tool for member in members):
        if tool not in TOOL_TABLES or TOOL_TABLES[tool][0] not in needed:
            continue
        name, columns = TOOL_TABLES[tool]
        where = Location(files[0], 1)
        tables.append(Table(name, where, columns=tuple(Column(n, t, t, nullable, where) for n, t, nullable in columns),
                            primary_key=PrimaryKey(f"{name}_pkey", (columns[0][0],), where)))
    if not tables:
        return None
    return Step(files[0], (ExistingTables(tuple(tables), Location(files[0], 1),
                                          reason=f"created by the migration tool ({', '.join(m.tool for m in members)})"),))


# Upgrade scripts named from the version they upgrade and the version they make (kinto's
# `migration_001_002.sql`): the first starts from a schema the folder does not hold.
_FROM_TO_NAME = LazyPattern(r"^(?:migration|upgrade)_?(\d+)[_.-](\d+)(?!\d)", re.IGNORECASE)


def baseline_step(files: list[str], operations_of) -> Optional[Step]:
    """A first step for a folder of upgrade scripts whose first file upgrades from a version the
    folder does not hold (kinto installs its current schema.sql fresh, and runs the scripts on
    older installs only): the tables the scripts change before any creates them are taken as
    there, their columns not known, and an index or constraint they miss was that schema's."""
    first = _FROM_TO_NAME.match(PurePosixPath(files[0]).name) if files else None
    if first is None:
        return None
    created: set[str] = set()
    changed_first: dict[str, None] = {}
    for path in files:
        for operation in operations_of(path):
            table = getattr(operation, "table", None)
            if not isinstance(table, str):
                continue
            key = table_key(table, getattr(operation, "schema", None))
            if isinstance(operation, CreateTable):
                created.add(key)
            elif key not in created:
                changed_first.setdefault(key)
            if isinstance(operation, RenameTable):
                created.add(table_key(operation.new_name, operation.schema))
    where = Location(files[0], 1)
    return Step(files[0], (ExistingTables((), where, tuple(changed_first), reason=f"{_BASELINE} {int(first.group(1))}"),
                           NotReplayed(where, "index"), NotReplayed(where, "constraint")))


_BASELINE = "schema version"  # the history line of a table taken from the schema upgrade scripts start from


def upgrade_baseline(steps) -> Optional[tuple[str, str, int]]:
    """(folder, version, tables taken as there) of a database whose upgrade scripts start from a
    schema it does not hold (baseline_step), else None."""
    for step in steps[:2]:
        for operation in step.operations:
            if isinstance(operation, ExistingTables) and operation.reason.startswith(_BASELINE):
                return (str(PurePosixPath(step.path).parent), operation.reason[len(_BASELINE):].strip(),
                        len(operation.unknown))
    return None


def _created(location: SqlLocation, operations_of) -> set[str]:
    return {table_key(op.table, op.schema) for path in location.files for op in operations_of(path)
            if isinstance(op, CreateTable)}


def _needed(location: SqlLocation, operations_of) -> set[str]:
    keys = set()
    for path in location.files:
        for op in operations_of(path):
            table = getattr(op, "table", None)
            trigger = getattr(op, "trigger", None)
            if trigger is not None:
                table = trigger.table
            if isinstance(table, str) and table and not isinstance(op, CreateTable):
                keys.add(table_key(table, getattr(op, "schema", None)))
            for constraint in (*getattr(op, "constraints", ()), getattr(op, "constraint", None)):
                if isinstance(constraint, ForeignKey):
                    keys.add(table_key(constraint.ref_table, constraint.ref_schema))
    return keys


def _parent(folder: str) -> str:
    return str(PurePosixPath(folder).parent)


def explain_failures(name: str, steps: tuple[Step, ...], failures_by_step: tuple[tuple[ReplayFailure, ...], ...],
                     others: dict[str, tuple[Step, ...]], text_of=None) -> tuple[ReplayProblem, ...]:
    """Root failures with the statement that creates what they miss and their consequences.
    `text_of(path)` reads the statements SchemaLens does not model, for the names they create."""
    if not any(failures_by_step):  # most replays: nothing to explain, and no need to list what each step creates
        return ()
    unmodelled = _unmodelled(steps, text_of) if text_of is not None else []
    creations: dict[tuple[str, str], list[tuple[int, Location]]] = {}
    for number, step in enumerate(steps):
        for kind, key, location in _creations(step):
            creations.setdefault((kind, key), []).append((number, location))
    elsewhere: dict[tuple[str, str], tuple[str, Location]] = {}
    for other_name, other_steps in sorted(others.items()):
        for step in other_steps:
            for kind, key, location in _creations(step):
                elsewhere.setdefault((kind, key), (other_name, location))
    consequences: dict[Location, list[Location]] = {}
    for failures in failures_by_step:
        for failure in failures:
            if failure.root is not None:
                consequences.setdefault(failure.root, []).append(failure.error.location)
    problems = []
    for number, failures in enumerate(failures_by_step):
        for failure in failures:
            if failure.root is not None:
                continue
            creation = None
            if failure.missing is not None:
                later = next((location for step_number, location in creations.get(failure.missing, ())
                              if step_number > number or (step_number == number and _after(location, failure.error.location))),
                             None)
                if later is not None:
                    creation = Creation(later, name, True)
                elif failure.missing in elsewhere:
                    other_name, location = elsewhere[failure.missing]
                    creation = Creation(location, other_name, False)
            problems.append(ReplayProblem(failure, number, creation, tuple(consequences.get(failure.error.location, ())),
                                          _explained_by(failure, number, unmodelled), _after_opaque(steps[number], failure)))
    return tuple(problems)


_NAME = r'((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)'
_UNMODELLED_STATEMENTS = (
    (LazyPattern(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:(?:GLOBAL|LOCAL)\s+)?(?:TEMP(?:ORARY)?\s+|UNLOGGED\s+)?(?:MATERIALIZED\s+)?"
                r"(?:RECURSIVE\s+)?(?:VIEW|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?" + _NAME, re.IGNORECASE), "relation"),
    (LazyPattern(r"ALTER\s+TYPE\s+" + _NAME + r"\s+RENAME\s+TO\s+" + _NAME, re.IGNORECASE), "type"),
    (LazyPattern(r"ALTER\s+(?:MATERIALIZED\s+)?VIEW\s+(?:IF\s+EXISTS\s+)?" + _NAME + r"\s+RENAME\s+TO\s+" + _NAME, re.IGNORECASE),
     "relation"),
)


def _key(name: str) -> str:
    parts = [part[1:-1] if part.startswith('"') else part.lower() for part in re.findall(r'"[^"]+"|[\w$]+', name)]
    schema = parts[-2] if len(parts) > 1 and parts[-2] != "public" else None
    return table_key(parts[-1], schema)


def _unmodelled(steps: tuple[Step, ...], text_of) -> list[tuple[int, Location, str, Optional[str], bool]]:
    """(step, location, kind, key, created) for what the statements SchemaLens does not model
    create (a view, CREATE TABLE AS) or rename away (ALTER TYPE ... RENAME TO of a domain or a
    composite type; the replay renames an enum itself), and what the
    operations of a revision not read for want of a name may create (key None: any name; nova
    creates its shadow tables under names computed at run time, then indexes on them), and what a
    SELECT of a function that runs SQL it builds may create (hatchet's `SELECT
    create_v1_hash_partitions('v1_payload_wal', 4)` makes `v1_payload_wal_0` to `_3`)."""
    found = []
    building: set[str] = set()  # the functions created so far that EXECUTE SQL they build
    for number, step in enumerate(steps):
        for op in step.operations:
            if type(op).__name__ == "NotReplayed":
                found.append((number, op.location, op.creates, None, True))  # of a name not known: any
                continue
            if type(op).__name__ == "CreateFunction" and _executes_built_sql(op.function):
                building.add(op.function.name.lower())
            if type(op).__name__ != "UnsupportedStatement":
                continue
            text = _statement_text(op.location, text_of)
            if op.kind == "Select" and building and building & {name.lower() for name in _CALLED.findall(text.split(";")[0])}:
                found.append((number, op.location, "relation", None, True))
                continue
            for pattern, kind in _UNMODELLED_STATEMENTS:
                match = pattern.match(text)
                if match is None:
                    continue
                if match.lastindex == 2:  # a rename: the old name goes, the new one comes
                    found.append((number, op.location, kind, _key(match.group(1)), False))
                    found.append((number, op.location, kind, _key(match.group(2)), True))
                else:
                    found.append((number, op.location, kind, _key(match.group(1)), True))
                break
    return found


_CALLED = LazyPattern(r"([\w$]+)\s*\(")
_EXECUTE = LazyPattern(r"\bEXECUTE\b", re.IGNORECASE)


def _executes_built_sql(function) -> bool:
    """A PL/pgSQL function that EXECUTEs SQL: what it makes is named as it runs."""
    return (function.language or "").lower() == "plpgsql" and bool(function.body) and _EXECUTE.search(function.body) is not None


def _statement_text(location: Location, text_of) -> str:
    text = text_of(location.path) or ""
    lines = text.split("\n")[location.line - 1:location.line + 8]
    if not lines:
        return ""
    lines[0] = lines[0][location.column - 1:]
    return "\n".join(lines).lstrip()


def _explained_by(failure: ReplayFailure, number: int, unmodelled) -> Optional[Location]:
    """The unmodelled statement before `failure` (in step `number`) that made what it misses,
    or removed what it creates again."""
    at = failure.error.location
    for step, location, kind, key, created in reversed(unmodelled):
        if step > number or (step == number and (location.line, location.column) >= (at.line, at.column)):
            continue
        missing = failure.missing
        if key is None:
            if missing is not None and missing[0] == kind:
                return location
            continue
        if created and missing is not None and missing[0] in (kind, "index") and missing[1] == key:
            return location
        if created and missing is not None and missing[0] in ("column", "constraint") and missing[1].rsplit(".", 1)[0] == key:
            return location
        if not created and failure.duplicate is not None and failure.duplicate == (kind, key):
            return location
    return None


def _after_opaque(step: Step, failure: ReplayFailure) -> Optional[Location]:
    """The last statement of the failure's file before it whose changes are not read (Opaque)."""
    at = failure.error.location
    return next((op.location for op in reversed(step.operations) if type(op).__name__ == "Opaque"
                 and op.location.path == at.path and (op.location.line, op.location.column) < (at.line, at.column)), None)


def _after(location: Location, other: Location) -> bool:
    return (location.line, location.column) > (other.line, other.column)


def _creations(step: Step):
    """(kind, key, location) of the objects a step creates, keyed as ReplayFailure.missing is."""
    for op in step.operations:
        name = type(op).__name__
        schema = getattr(op, "schema", None) or step.schema
        if name == "CreateTable":
            key = table_key(op.table, schema)
            yield "relation", key, op.location
            for column in op.columns:
                yield "column", f"{key}.{column.name}", op.location
        elif name == "AddColumn":
            yield "column", f"{table_key(op.table, schema)}.{op.column.name}", op.location
        elif name == "AlterColumn" and op.new_name:
            yield "column", f"{table_key(op.table, schema)}.{op.new_name}", op.location
        elif name == "RenameTable":
            yield "relation", table_key(op.new_name, schema), op.location
        elif name == "CreateIndex" and op.index.name:
            yield "index", table_key(op.index.name, schema), op.location
        elif name == "CreateEnum":
            yield "type", table_key(op.enum.name, op.enum.schema or schema), op.location
        elif name == "CreateSequence":
            yield "sequence", table_key(op.sequence.name, op.sequence.schema or schema), op.location
        elif name == "AddConstraint" and op.constraint.name:
            yield "constraint", f"{table_key(op.table, schema)}.{op.constraint.name}", op.location


def schema_file_for_new_databases(database: Database, text_of: Callable[[str], Optional[str]],
                                  paths: Collection[str]) -> Optional[str]:
    """The schema file that builds new databases when the migration folder only upgrades existing
    ones, else None: a `schema.sql` (or, of `paths`, a `<name>_schema.sql`: quay's
    `sqlite/quay_schema.sql` beside `sqlite/compatibility/`) beside the folder (or one level up) when the folder's version
    folders each hold a `manifest.json` (temporal-sql-tool: `versioned/v0.2/manifest.json`, and
    the versions may start after the first one), or when the first relation the migrations need
    and none of them creates is one that schema file creates (umami: `db/clickhouse/schema.sql`
    beside `db/clickhouse/migrations/`, whose first migration alters its tables)."""
    for location in database.locations:
        if not location.files:
            continue
        first = PurePosixPath(location.files[0]).parent
        versioned = first.as_posix() != location.folder and text_of(f"{first}/manifest.json") is not None
        folder = PurePosixPath(location.folder)
        for parent in (folder.parent, folder.parent.parent):
            prefix = f"{parent}/" if parent.as_posix() != "." else ""
            named = sorted(path for path in paths if path.startswith(prefix) and "/" not in path[len(prefix):]
                           and _SCHEMA_FILE.search(path[len(prefix):]))
            for candidate in dict.fromkeys((f"{prefix}schema.sql", *named)):
                schema = text_of(candidate) if candidate in paths else None
                if schema is not None and (versioned or _creates_first_needed(database, schema)):
                    return candidate
    return None


_SCHEMA_FILE = LazyPattern(r"(^|[_\-.])schema\.sql$", re.IGNORECASE)


def _creates_first_needed(database: Database, schema: str) -> bool:
    """The first relation the database's migrations need and none of them creates (another
    database may have one of that name) is one the schema file's text creates (a table or a
    view of that name)."""
    needed = next((problem.failure.missing[1] for problem in sorted(database.problems, key=lambda p: p.step)
                   if problem.failure.missing and problem.failure.missing[0] == "relation"
                   and (problem.creation is None or problem.creation.database != database.name)),
                  None)
    if needed is None:
        return False
    name = re.escape(needed.rpartition(".")[2])
    return re.search(rf"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                     rf"(?:[\w\"`]+\.)?[\"`]?{name}[\"`]?(?![\w])", schema, re.IGNORECASE) is not None
