"""Schema operations, the common language of Alembic revisions and SQL migrations.

Extractors turn `op.*` calls and SQL statements into these; `replay` applies them in order to
build the `database` layer. Names follow alembic's `operations/ops.py`. Every operation carries
the location of the statement or call it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from .model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Index,
    Location,
    PrimaryKey,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
)

Constraint = Union[PrimaryKey, ForeignKey, UniqueConstraint, CheckConstraint]


@dataclass(frozen=True, slots=True)
class CreateTable:
    table: str
    location: Location
    schema: Optional[str] = None
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    partition_by: Optional[str] = None
    partition_of: Optional[str] = None
    partition_bound: Optional[str] = None
    if_not_exists: bool = False
    # Built by SQLAlchemy (Alembic op.* calls): unnamed constraints follow the naming convention.
    named_by_convention: bool = False
    final_names: frozenset[str] = frozenset()  # op.f("...") names: never re-templated
    temporary: bool = False  # CREATE TEMP TABLE: gone at the end of the session
    partly_read: bool = False  # `op.create_table("t", *columns)`: columns built at run time, not read


@dataclass(frozen=True, slots=True)
class DropTable:
    table: str
    location: Location
    schema: Optional[str] = None
    if_exists: bool = False
    cascade: bool = False


@dataclass(frozen=True, slots=True)
class RenameTable:
    table: str
    new_name: str
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class AddColumn:
    table: str
    column: Column
    location: Location
    schema: Optional[str] = None
    if_not_exists: bool = False
    # Constraints written inline on the new column (REFERENCES, UNIQUE, CHECK, PRIMARY KEY).
    constraints: tuple[Constraint, ...] = ()
    named_by_convention: bool = False
    final_names: frozenset[str] = frozenset()  # op.f("...") names: never re-templated


@dataclass(frozen=True, slots=True)
class DropColumn:
    table: str
    column: str
    location: Location
    schema: Optional[str] = None
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class AlterColumn:
    """Changes to one column; fields left as None are unchanged.

    `server_default` uses `DROP_DEFAULT` to mean the default was dropped.
    """

    table: str
    column: str
    location: Location
    schema: Optional[str] = None
    type: Optional[str] = None
    raw_type: Optional[str] = None
    nullable: Optional[bool] = None
    server_default: Optional[str] = None
    new_name: Optional[str] = None
    comment: Optional[str] = None
    identity: Optional[str] = None
    using: Optional[str] = None


DROP_DEFAULT = "\x00drop-default"


@dataclass(frozen=True, slots=True)
class CreateIndex:
    index: Index
    table: str
    location: Location
    schema: Optional[str] = None
    if_not_exists: bool = False
    named_by_convention: bool = False
    final_names: frozenset[str] = frozenset()  # op.f("...") names: never re-templated


@dataclass(frozen=True, slots=True)
class DropIndex:
    name: str
    location: Location
    table: Optional[str] = None
    schema: Optional[str] = None
    if_exists: bool = False
    concurrently: bool = False


@dataclass(frozen=True, slots=True)
class RenameIndex:
    name: str
    new_name: str
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class AddConstraint:
    table: str
    constraint: Constraint
    location: Location
    schema: Optional[str] = None
    named_by_convention: bool = False
    final_names: frozenset[str] = frozenset()  # op.f("...") names: never re-templated
    if_not_exists: bool = False  # run only when no constraint of that name is there (a guarded DO block)


@dataclass(frozen=True, slots=True)
class AddConstraintUsingIndex:
    """ADD CONSTRAINT name PRIMARY KEY / UNIQUE USING INDEX index: the index becomes the constraint."""

    table: str
    name: Optional[str]
    index: str
    primary: bool
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class DropConstraint:
    table: str
    name: str
    location: Location
    schema: Optional[str] = None
    if_exists: bool = False
    kind: Optional[str] = None  # Alembic's type_: "foreignkey", "unique", "check", "primary"; None: not said


@dataclass(frozen=True, slots=True)
class RenameConstraint:
    table: str
    name: str
    new_name: str
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class ValidateConstraint:
    table: str
    name: str
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class AttachPartition:
    table: str
    partition: str
    location: Location
    bound: Optional[str] = None
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class DetachPartition:
    table: str
    partition: str
    location: Location
    schema: Optional[str] = None
    concurrently: bool = False  # DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+), or FINALIZE


@dataclass(frozen=True, slots=True)
class CreateEnum:
    enum: EnumType
    location: Location
    if_not_exists: bool = False  # SQLAlchemy's `type.create(bind, checkfirst=True)`
    # created for a table's column by op.create_table: SQLAlchemy creates a named type once per
    # run of the migrations (Alembic's DDL runner remembers it), not again for the next table
    once_per_run: bool = False


@dataclass(frozen=True, slots=True)
class AddEnumValue:
    name: str
    value: str
    location: Location
    schema: Optional[str] = None
    before: Optional[str] = None
    after: Optional[str] = None


@dataclass(frozen=True, slots=True)
class DropType:
    name: str
    location: Location
    schema: Optional[str] = None
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class CreateSequence:
    sequence: Sequence
    location: Location


@dataclass(frozen=True, slots=True)
class AlterSequenceOwner:
    name: str
    owned_by: Optional[str]
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class DropSequence:
    name: str
    location: Location
    schema: Optional[str] = None
    if_exists: bool = False


@dataclass(frozen=True, slots=True)
class CreateFunction:
    function: Function
    location: Location
    or_replace: bool = False


@dataclass(frozen=True, slots=True)
class DropFunction:
    name: str
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class CreateTrigger:
    trigger: Trigger
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class DropTrigger:
    name: str
    table: str
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class SetTableComment:
    table: str
    comment: Optional[str]
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class SetColumnComment:
    table: str
    column: str
    comment: Optional[str]
    location: Location
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class DataChange:
    """A statement that changes rows, not the schema (INSERT, UPDATE, DELETE, COPY, TRUNCATE).

    Replay keeps the schema as it is; later rules (backfills, locks) read these.
    """

    kind: str
    location: Location
    table: Optional[str] = None
    sql: Optional[str] = None
    cascade: bool = False  # TRUNCATE ... CASCADE: also empties every table with a foreign key to it
    whole_table: bool = False  # UPDATE or DELETE without WHERE
    written_rows: bool = False  # INSERT ... VALUES: rows written out in the statement, not read from a table
    schema: Optional[str] = None


@dataclass(frozen=True, slots=True)
class Maintenance:
    """VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW: no schema change, but locks and rewrites."""

    kind: str  # "VACUUM", "VACUUM FULL", "ANALYZE", "CLUSTER", "REFRESH MATERIALIZED VIEW", "REINDEX"
    location: Location
    table: Optional[str] = None
    schema: Optional[str] = None
    concurrently: bool = False
    target: Optional[str] = None  # REINDEX: "INDEX", "TABLE", "SCHEMA", "DATABASE" or "SYSTEM"
    name: Optional[str] = None  # REINDEX: the index, schema or database named


@dataclass(frozen=True, slots=True)
class TransactionControl:
    """BEGIN, or COMMIT/ROLLBACK. Alembic's `autocommit_block()` commits on entry and begins again on exit."""

    kind: str  # "BEGIN" or "COMMIT" (COMMIT also stands for ROLLBACK: both end the transaction)
    location: Location
    statement: Optional[str] = None  # as written in SQL ("START TRANSACTION", "ROLLBACK"); None: a tool's block


@dataclass(frozen=True, slots=True)
class SetParameter:
    """`SET [LOCAL] name = value` (lock_timeout, statement_timeout, search_path, ...)."""

    name: str
    value: Optional[str]
    location: Location
    local: bool = False


@dataclass(frozen=True, slots=True)
class Opaque:
    """SQL built at run time (f-strings, `.format`, variables): recorded, not analysed."""

    location: Location
    reason: str


@dataclass(frozen=True, slots=True)
class UnsupportedStatement:
    """A statement SchemaLens parsed but does not replay (GRANT, CREATE VIEW, DROP SCHEMA, ...).

    `kind` names it: one of UNMODELLED_KINDS when rules read it ("DROP VIEW", "ALTER TABLE
    DISABLE TRIGGER", ...), else the parse node's name ("View", "Grant", "CreateTableAs").
    `name`, `table`, `schema` and `detail` say what it is on when that is known.
    """

    kind: str
    location: Location
    name: Optional[str] = None
    table: Optional[str] = None  # the table it is on, for statements on a table (trigger, policy, column)
    schema: Optional[str] = None
    detail: Optional[str] = None  # the new name, the new schema, a domain's constraints, ...


# Kinds of UnsupportedStatement the rules read, and what their fields hold.
UNMODELLED_KINDS = {
    "DROP DATABASE": "name: the database",
    "DROP VIEW": "name", "DROP MATERIALIZED VIEW": "name", "DROP SCHEMA": "name", "DROP EXTENSION": "name",
    "DROP DOMAIN": "name", "DROP PROCEDURE": "name", "DROP ROUTINE": "name", "DROP AGGREGATE": "name",
    "DROP POLICY": "name, table", "DROP RULE": "name, table",
    "RENAME": "name, detail: the new name; object_type in the kind: RENAME VIEW, RENAME TYPE, ...",
    "RENAME VALUE": "name: the enum type, detail: 'old' -> 'new'",
    "SET SCHEMA": "name (and table for a table), detail: the new schema; object_type in the kind",
    "CREATE DOMAIN": "name, detail: its constraints (None: none)",
    "ALTER DOMAIN ADD CONSTRAINT": "name, detail: the constraint", "ALTER DOMAIN SET NOT NULL": "name",
    "ALTER COLUMN DROP IDENTITY": "table, name: the column", "ALTER COLUMN SET IDENTITY": "table, name",
    "ALTER COLUMN DROP EXPRESSION": "table, name", "ALTER COLUMN SET EXPRESSION": "table, name",
    "ALTER TABLE DISABLE TRIGGER": "table, name: the trigger (ALL, USER)", "ALTER TABLE ENABLE TRIGGER": "table, name",
    "ALTER TABLE DISABLE RULE": "table, name", "ALTER TABLE ENABLE RULE": "table, name",
    "ALTER TABLE REPLICA IDENTITY": "table", "ALTER TABLE NO INHERIT": "table, name: the parent",
    "ALTER TABLE ENABLE ROW LEVEL SECURITY": "table", "ALTER TABLE DISABLE ROW LEVEL SECURITY": "table",
    "ALTER TABLE FORCE ROW LEVEL SECURITY": "table", "ALTER TABLE NO FORCE ROW LEVEL SECURITY": "table",
    "ADD EXCLUSION CONSTRAINT": "table, name", "ADD ATTRIBUTE": "name: the composite type",
    "GRANT": "detail: the object type", "REVOKE": "detail: the object type",
    "CREATE POLICY": "name, table", "ALTER POLICY": "name, table, detail: USING/WITH CHECK and/or TO",
    "View": "name, detail: OR REPLACE", "CreateTableAs": "name: the table or materialized view", "LOCK": "table",
}


@dataclass(frozen=True, slots=True)
class ExistingTables:
    """Tables a migration history takes as given at its start: its revisions change them but
    none creates them (the schema was bootstrapped with `create_all()` and stamped). They come
    from the models; operations on them are applied without the errors a fresh database would
    give, since the models describe them at head, not at the start."""

    tables: tuple[Table, ...]
    location: Location
    unknown: tuple[str, ...] = ()  # keys of tables the history changes that the models no longer declare
    reason: str = "taken from the models: no migration creates it"  # the history line of each table


@dataclass(frozen=True, slots=True)
class NotReplayed:
    """Where an operation was not read for want of a name computed at run time (said where it is
    written): the object of kind `creates` it may have made ("relation", "column", "index",
    "constraint") can be what a later statement misses (databases.explain_failures)."""

    location: Location
    creates: str


@dataclass(frozen=True, slots=True)
class HelperCall:
    """A call in a revision of a function another module may define (`init_ops.upgrade()`,
    `from app.db.helpers import add_audit_columns`): the index puts the operations of that
    function of the workspace in its place (migration_helpers.py), and drops a call of anything
    else (a library, a function that calls no Alembic operation)."""

    target: str  # the function's dotted name, through the revision's imports
    location: Location
    # What the call passes (python_names.Expr), module constants of the revision read: the
    # function is read again with its parameters bound to them.
    arguments: tuple = ()
    keywords: tuple = ()  # (name, Expr)


Operation = Union[
    CreateTable, DropTable, RenameTable, AddColumn, DropColumn, AlterColumn, CreateIndex,
    DropIndex, RenameIndex, AddConstraint, AddConstraintUsingIndex, DropConstraint, RenameConstraint, ValidateConstraint,
    AttachPartition, DetachPartition, CreateEnum, AddEnumValue, DropType, CreateSequence,
    AlterSequenceOwner, DropSequence, CreateFunction, DropFunction, CreateTrigger, DropTrigger,
    SetTableComment, SetColumnComment, DataChange, Maintenance, TransactionControl, SetParameter, Opaque,
    UnsupportedStatement, ExistingTables, HelperCall, NotReplayed,
]


@dataclass(frozen=True, slots=True)
class Step:
    """The operations of one migration unit (an Alembic revision or one SQL file), in order."""

    path: str
    operations: tuple[Operation, ...]
    revision: Optional[str] = None
    errors: tuple = field(default=())
    schema: Optional[str] = None  # what unqualified names mean in this step (its environment's search path)
