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


@dataclass(frozen=True, slots=True)
class CreateEnum:
    enum: EnumType
    location: Location


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


@dataclass(frozen=True, slots=True)
class Maintenance:
    """VACUUM, CLUSTER, REFRESH MATERIALIZED VIEW: no schema change, but locks and rewrites."""

    kind: str  # "VACUUM", "VACUUM FULL", "CLUSTER", "REFRESH MATERIALIZED VIEW"
    location: Location
    table: Optional[str] = None
    schema: Optional[str] = None
    concurrently: bool = False


@dataclass(frozen=True, slots=True)
class TransactionControl:
    """BEGIN, or COMMIT/ROLLBACK. Alembic's `autocommit_block()` commits on entry and begins again on exit."""

    kind: str  # "BEGIN" or "COMMIT"
    location: Location


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
    """A statement SchemaLens parsed but does not model (GRANT, SET, CREATE VIEW, ...)."""

    kind: str
    location: Location


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


Operation = Union[
    CreateTable, DropTable, RenameTable, AddColumn, DropColumn, AlterColumn, CreateIndex,
    DropIndex, RenameIndex, AddConstraint, AddConstraintUsingIndex, DropConstraint, RenameConstraint, ValidateConstraint,
    AttachPartition, DetachPartition, CreateEnum, AddEnumValue, DropType, CreateSequence,
    AlterSequenceOwner, DropSequence, CreateFunction, DropFunction, CreateTrigger, DropTrigger,
    SetTableComment, SetColumnComment, DataChange, Maintenance, TransactionControl, SetParameter, Opaque,
    UnsupportedStatement, ExistingTables,
]


@dataclass(frozen=True, slots=True)
class Step:
    """The operations of one migration unit (an Alembic revision or one SQL file), in order."""

    path: str
    operations: tuple[Operation, ...]
    revision: Optional[str] = None
    errors: tuple = field(default=())
    schema: Optional[str] = None  # what unqualified names mean in this step (its environment's search path)
