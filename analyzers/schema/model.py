"""Plain frozen dataclasses for the schema model.

Every element carries `location` (where it was declared: the model line in the `orm` layer,
the migration statement that created it in the `database` layer) and `changed` (the last
migration statement that altered it, or None). Tables and columns also keep their `history`,
oldest first, for hovers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from ..dataclass_copy import replace, slot_init
from ..lazy_pattern import LazyPattern


@slot_init
@dataclass(frozen=True, slots=True)
class Location:
    """A place in a workspace file. `line` and `column` are 1-based, as editors print them."""

    path: str
    line: int
    column: int = 1
    end_line: Optional[int] = None
    end_column: Optional[int] = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def shifted(self, line_offset: int, column_offset: int = 0) -> "Location":
        """The same place inside text that starts at line `line_offset + 1` of another file.

        `column_offset` applies only to the first line, where the embedded text starts.
        """
        column = self.column + column_offset if self.line == 1 else self.column
        end_column = self.end_column
        if end_column is not None and self.end_line == 1:
            end_column += column_offset
        end_line = None if self.end_line is None else self.end_line + line_offset
        return Location(self.path, self.line + line_offset, column, end_line, end_column)


@dataclass(frozen=True, slots=True)
class Change:
    """One migration step that touched a table or column: where, what, and in which revision."""

    location: Location
    action: str
    revision: Optional[str] = None


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # normalized the way PostgreSQL's format_type prints it: "character varying(255)"
    raw_type: str  # as written in the source: "sa.String(255)", "VARCHAR(255)"
    nullable: bool
    location: Location
    default: Optional[str] = None  # client-side (ORM) default, as source text
    server_default: Optional[str] = None  # the database default expression
    identity: Optional[str] = None  # "always", "by default", or "serial"
    sequence: Optional[str] = None
    comment: Optional[str] = None
    primary_key: bool = False  # declared on the column itself (ORM `primary_key=True`)
    changed: Optional[Location] = None
    history: tuple[Change, ...] = ()
    generated: Optional[str] = None  # GENERATED ALWAYS AS (expression) STORED: the expression


@dataclass(frozen=True, slots=True)
class PrimaryKey:
    name: Optional[str]
    columns: tuple[str, ...]
    location: Location
    changed: Optional[Location] = None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    name: Optional[str]
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    location: Location
    ref_schema: Optional[str] = None
    on_delete: Optional[str] = None  # upper case: "CASCADE", "SET NULL", "RESTRICT", ...
    on_update: Optional[str] = None
    deferrable: bool = False
    initially: Optional[str] = None
    not_valid: bool = False
    changed: Optional[Location] = None


@dataclass(frozen=True, slots=True)
class UniqueConstraint:
    name: Optional[str]
    columns: tuple[str, ...]
    location: Location
    deferrable: bool = False
    changed: Optional[Location] = None


@dataclass(frozen=True, slots=True)
class CheckConstraint:
    name: Optional[str]
    expression: str
    location: Location
    not_valid: bool = False
    changed: Optional[Location] = None


@dataclass(frozen=True, slots=True)
class Index:
    """An index. `columns` holds column names, or the expression text for expression keys."""

    name: Optional[str]
    columns: tuple[str, ...]
    location: Location
    unique: bool = False
    where: Optional[str] = None
    using: Optional[str] = None  # access method when not btree: "gin", "gist", "brin", "hash"
    opclasses: tuple[tuple[str, str], ...] = ()  # (column, opclass) pairs
    include: tuple[str, ...] = ()
    expressions: tuple[bool, ...] = ()  # per key: True when it is an expression, not a column
    concurrently: bool = False
    changed: Optional[Location] = None


_ORDERED_KEY = LazyPattern(r'^\s*"?([A-Za-z_][\w$]*)"?\s+(?:ASC|DESC)(?:\s+NULLS\s+(?:FIRST|LAST))?\s*$|'
                          r'^\s*"?([A-Za-z_][\w$]*)"?\s+NULLS\s+(?:FIRST|LAST)\s*$', re.IGNORECASE)


def ordered_column(key: str) -> Optional[str]:
    """The column of an index key written with a sort order (`ingested_at DESC NULLS LAST`): a
    plain column for PostgreSQL, which stores the order as an option of the key."""
    match = _ORDERED_KEY.match(key)
    return (match.group(1) or match.group(2)) if match else None


@dataclass(frozen=True, slots=True)
class Trigger:
    name: str
    table: str
    function: Optional[str]
    location: Location
    timing: Optional[str] = None  # "BEFORE", "AFTER", "INSTEAD OF"
    events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    location: Location
    schema: Optional[str] = None
    language: Optional[str] = None
    returns: Optional[str] = None
    body: Optional[str] = None  # the source between AS $$ ... $$, as PostgreSQL keeps it (pg_proc.prosrc)


@dataclass(frozen=True, slots=True)
class EnumType:
    name: str
    values: tuple[str, ...]
    location: Location
    schema: Optional[str] = None
    changed: Optional[Location] = None


@dataclass(frozen=True, slots=True)
class Sequence:
    name: str
    location: Location
    schema: Optional[str] = None
    owned_by: Optional[str] = None  # "table.column"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    location: Location
    schema: Optional[str] = None
    columns: tuple[Column, ...] = ()
    primary_key: Optional[PrimaryKey] = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    unique_constraints: tuple[UniqueConstraint, ...] = ()
    check_constraints: tuple[CheckConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    partition_by: Optional[str] = None  # "RANGE (collected_date)"
    partition_of: Optional[str] = None  # parent table of a partition
    partition_bound: Optional[str] = None
    comment: Optional[str] = None
    module: Optional[str] = None  # ORM: the dotted module that declares it (used for domains)
    class_name: Optional[str] = None  # ORM: the mapped class, None for Table(...) objects
    changed: Optional[Location] = None
    history: tuple[Change, ...] = ()
    # Not all of it read: a migration's `op.create_table("t", *columns)`, a model's
    # `__table_args__` built by a helper of the project. Not compared between the layers.
    partly_read: bool = False

    @property
    def key(self) -> str:
        return table_key(self.name, self.schema)

    def column(self, name: str) -> Optional[Column]:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def with_column(self, column: Column) -> "Table":
        """This table with `column` replacing the column of the same name, or appended."""
        columns = list(self.columns)
        for position, existing in enumerate(columns):
            if existing.name == column.name:
                columns[position] = column
                return replace(self, columns=tuple(columns))
        return replace(self, columns=(*columns, column))


def table_key(name: str, schema: Optional[str] = None) -> str:
    """The key a table is filed under: its name, qualified when it is outside `public`."""
    if schema and schema != "public":
        return f"{schema}.{name}"
    return name


@dataclass(frozen=True, slots=True)
class SchemaLayer:
    """One view of the schema: `orm` (what the models declare) or `database` (migrations replayed)."""

    name: str
    tables: dict[str, Table] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)
    sequences: dict[str, Sequence] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)

    def table(self, name: str, schema: Optional[str] = None) -> Optional[Table]:
        return self.tables.get(table_key(name, schema))


@dataclass(frozen=True, slots=True)
class ExtractionError:
    """Input SchemaLens could not read, or a statement PostgreSQL would reject."""

    location: Location
    message: str
    kind: str = "error"  # "error": the input is broken; "opaque": built at run time, not analysed
