"""SQL migrations and scripts: statements to schema operations.

PostgreSQL is read with pglast (PostgreSQL's own parser): real dumps with COLLATE clauses,
`ALTER TABLE ONLY`, sequences, partitions, functions, triggers and `DO $$ ... $$` blocks.
Other dialects go through sqlglot. A file is split into statements so that one statement
PostgreSQL would reject is reported at its own location and the rest is still read.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, fields, replace
from pathlib import PurePosixPath
from typing import Iterable, Iterator, Optional

from ..i18n import _
from ..schema import operations as ops
from ..schema.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Index,
    Location,
    PrimaryKey,
    Sequence,
    Trigger,
    UniqueConstraint,
    ExtractionError,
)
from ..schema.type_names import SERIAL_TYPES, normalize_type
from . import pg_tree
from ..lazy_module import LazyModule
from ..lazy_pattern import LazyPattern

# Imported when a file is parsed: a warm audit takes every file's statements from the cache.
pglast = LazyModule("pglast", globals(), "pglast")
ast = LazyModule("pglast.ast", globals(), "ast")
enums = LazyModule("pglast.enums", globals(), "enums")
parser = LazyModule("pglast.parser", globals(), "parser")
stream = LazyModule("pglast.stream", globals(), "stream")


MAX_IDENTIFIER_BYTES = 63  # PostgreSQL's NAMEDATALEN - 1


def identifier_bytes(name: str) -> int:
    return len(name.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class SqlScan:
    """What PostgreSQL's scanner finds in a SQL file's text as written, for the rules: scanned once,
    as the file is parsed, and kept in the parse cache with its operations (two rules scanned
    every file again at every audit: 80 ms of a warm audit of 1,000 migration files)."""

    # (where, name) of each identifier over MAX_IDENTIFIER_BYTES as written: the scanner, and so the
    # parse tree, keeps only the cut name
    long_identifiers: tuple[tuple[Location, str], ...] = ()
    # ((line, column) of the first character, of the last) of each string constant a statement was
    # read from: a DO block's or a function's body (not every string: a seed data file has
    # hundreds of thousands)
    string_constants: tuple[tuple[tuple[int, int], tuple[int, int]], ...] = ()

    def in_string_constant(self, location: Location) -> bool:
        where = (location.line, location.column)
        index = bisect.bisect_right(self.string_constants, where, key=lambda span: span[0]) - 1
        return index >= 0 and self.string_constants[index][0] <= where <= self.string_constants[index][1]


@dataclass(frozen=True, slots=True)
class SqlExtraction:
    operations: tuple[ops.Operation, ...]
    errors: tuple[ExtractionError, ...]
    scan: SqlScan = SqlScan()  # of a migration's or script's text, not of SQL embedded in Python


# ordering of migration folders

_FLYWAY = LazyPattern(r"^([VUR])(\d+(?:[._]\d+)*)?__", re.IGNORECASE)
_NUMBERED = LazyPattern(r"^(\d+)")


def is_down_migration(path: str) -> bool:
    """`.down.sql` files and Flyway undo (`U<n>__`) files undo a migration; they are not replayed."""
    name = PurePosixPath(path).name
    return name.lower().endswith(".down.sql") or bool(re.match(r"^U\d", name))


def _version_key(path: str) -> tuple:
    name = PurePosixPath(path).name
    flyway = _FLYWAY.match(name)
    if flyway:
        prefix, version = flyway.group(1).upper(), flyway.group(2)
        if prefix == "R":  # repeatable migrations run after every versioned one
            return (2, (), name)
        return (0, tuple(int(part) for part in re.split(r"[._]", version or "0")), name)
    numbered = _NUMBERED.match(name)
    if numbered:
        return (0, (int(numbered.group(1)),), name)
    return (1, (), name)


def order_sql_migrations(paths: Iterable[str]) -> list[str]:
    """A folder's migration files in the order its tool applies them (numeric, not lexicographic);
    down and undo files are left out."""
    return sorted((p for p in paths if not is_down_migration(p)), key=_version_key)


# positions

class _Positions:
    """Character offsets of a text to 1-based (line, column), shifted into the enclosing file."""

    def __init__(self, text: str, path: str, line_offset: int, column_offset: int) -> None:
        self.starts = [0] + [match.end() for match in re.finditer("\n", text)]
        self.path, self.line_offset, self.column_offset = path, line_offset, column_offset

    def at(self, offset: int, end: Optional[int] = None) -> Location:
        line, column = self.line_column(offset)
        location = Location(self.path, line, column)
        if end is not None:
            end_line, end_column = self.line_column(end)
            location = Location(self.path, line, column, end_line, end_column)
        return location.shifted(self.line_offset, self.column_offset)

    def line_column(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1


# splitting

_COPY_FROM_STDIN = LazyPattern(r"^\s*COPY\b[^;]*\bFROM\s+stdin\b[^;]*;\s*$", re.IGNORECASE)


def _blank_out_non_sql(text: str) -> str:
    """Replace COPY ... FROM stdin data and psql meta-commands with spaces (offsets unchanged)."""
    lines = text.split("\n")
    in_copy = False
    for number, line in enumerate(lines):
        if in_copy:
            if line.strip() == "\\.":
                in_copy = False
            lines[number] = " " * len(line)
        elif line.lstrip().startswith("\\"):
            lines[number] = " " * len(line)
        elif _COPY_FROM_STDIN.match(line):
            in_copy = True
    return "\n".join(lines)


def placeholders_as_parameters(text: str, *, psql: bool = False) -> str:
    """SQL with its placeholders made parseable, every offset kept.

    SQL written in Python (`text("... WHERE id = :id")`, `execute("... %s", params)`,
    `%(name)s`) gets `$1` in place of each bind parameter. A psql script (`psql=True`) has
    variables instead: `:name`, `:'name'` and `:"name"` lose their colon and read as the name,
    the string or the quoted identifier they stand for.
    """
    try:
        tokens = pg_tree.scan(text)
    except Exception:
        return text
    chars = list(text)

    def blank(start: int, end: int, replacement: str = "") -> None:
        chars[start:end + 1] = list(replacement.ljust(end + 1 - start))

    def parameter(index: int, end: int) -> None:
        """The bind parameter from tokens[index] to `end`; one that follows IN stands for a list
        (psycopg's `IN %s` with a tuple, SQLAlchemy's expanding `IN :ids`), read as a comparison."""
        start, replacement = tokens[index].start, "$1"
        if index and tokens[index - 1].name == "IN_P":
            negated = index > 1 and tokens[index - 2].name == "NOT"
            start, replacement = tokens[index - 2 if negated else index - 1].start, "<> $1" if negated else "= $1"
        blank(start, end, replacement)

    for index, token in enumerate(tokens[:-1]):
        following = tokens[index + 1]
        if following.start != token.end + 1 or (token.start and (text[token.start - 1].isalnum() or text[token.start - 1] in "_])")):
            continue
        if token.name == "ASCII_58":  # ':'
            if psql and (following.name in ("IDENT", "SCONST") or following.kind != "NO_KEYWORD"):
                blank(token.start, token.start)
            elif not psql and (following.name == "IDENT" or following.kind != "NO_KEYWORD"):
                parameter(index, following.end)
        elif token.name == "ASCII_37" and not psql:  # '%'
            if following.name == "IDENT" and text[following.start:following.end + 1] == "s":
                parameter(index, following.end)
            elif following.name == "ASCII_40" and index + 4 < len(tokens) and tokens[index + 3].name == "ASCII_41" \
                    and text[tokens[index + 4].start:tokens[index + 4].end + 1] == "s":
                parameter(index, tokens[index + 4].end)
    return "".join(chars)



def scan_sql(text: str, path: str, operations: Iterable[ops.Operation]) -> SqlScan:
    """The scan of a SQL file's `text`, whose statements read as `operations`, a run of
    statements at a time (a long text's tokens are not all held at once)."""
    positions = _Positions(text, path, 0, 0)
    statements = sorted({(operation.location.line, operation.location.column) for operation in operations})
    long_identifiers, string_constants = [], []
    scanned = pg_tree.scan_runs(text)
    while True:
        try:
            tokens = next(scanned)
        except StopIteration:
            break
        except Exception:  # the scanner gave up: the file is reported as rejected by its parse
            return SqlScan()
        for token in tokens:
            if token.name == "IDENT":
                written = text[token.start:token.end + 1]
                name = written[1:-1].replace('""', '"') if written.startswith('"') else written.lower()
                if identifier_bytes(name) > MAX_IDENTIFIER_BYTES:
                    long_identifiers.append((positions.at(token.start), name))
            elif token.name in ("SCONST", "USCONST"):
                first, last = positions.line_column(token.start), positions.line_column(token.end)
                next_statement = bisect.bisect_left(statements, first)
                if next_statement < len(statements) and statements[next_statement] <= last:
                    string_constants.append((first, last))
    return SqlScan(tuple(long_identifiers), tuple(string_constants))


def _error_message(error: parser.ParseError) -> str:
    return str(error.args[0]) if error.args else str(error)


# the extractor

def parse_sql(text: str, path: str, *, line_offset: int = 0, column_offset: int = 0,
              dialect: str = "postgresql", embedded: bool = False, rejections: bool = True) -> SqlExtraction:
    """Operations of every statement in `text`, and errors for the statements that cannot run.

    `line_offset`/`column_offset` place SQL embedded in another file (a Python string whose
    first character is at line `line_offset + 1`, column `column_offset + 1`); `embedded` SQL
    may hold bind parameters (`:name`, `%s`). Another engine's SQL is read with sqlglot; what it
    cannot read is an error only with `rejections` (the workspace is written for that engine).

    A long text is read a run of statements at a time (pg_tree.parse_runs): a run PostgreSQL
    rejects is read statement by statement, and each run's syntax trees are freed before the
    next one is parsed.
    """
    positions = _Positions(text, path, line_offset, column_offset)
    if dialect != "postgresql":
        from .sql_other_dialects import parse_other_dialect

        return parse_other_dialect(text, path, dialect, positions, rejections=rejections)
    cleaned = _blank_out_non_sql(text)
    runs = pg_tree.statement_runs(cleaned)
    if embedded or cleaned != text:  # bind parameters, or the variables of a psql script
        cleaned = "".join(placeholders_as_parameters(cleaned[start:end], psql=not embedded) for start, end in runs)
    builder = _Builder(positions)
    for start, end, parsed in pg_tree.parse_runs(cleaned, runs):
        if isinstance(parsed, parser.ParseError):
            statements = list(_statements_one_by_one(cleaned, start, end, builder, positions))  # its errors first, as a whole file's
        else:
            statements = ((raw.stmt, raw.stmt_location, raw.stmt_location + raw.stmt_len, 0) for raw in parsed)
        for statement, statement_start, statement_end, located_from in statements:
            builder.statement(statement, cleaned, statement_start, statement_end, located_from)
    return SqlExtraction(tuple(builder.operations), tuple(builder.errors))


def _statements_one_by_one(text: str, run_start: int, run_end: int, builder: "_Builder", positions: _Positions):
    """The statements of text[run_start:run_end], parsed one at a time: (node, start, end, where
    its nodes' locations count from)."""
    for start, end, _first in pg_tree.statement_spans(text[run_start:run_end]):
        start, end = start + run_start, end + run_start
        piece = text[start:end]
        if not piece.strip():
            continue
        try:
            parsed = pg_tree.parse_sql(piece)
        except parser.ParseError as error:
            offset = pg_tree.stopped_at(error)
            where = positions.at(start + (offset if offset is not None and offset < len(piece) else 0))
            builder.errors.append(ExtractionError(where, _("PostgreSQL would reject this statement: %(reason)s",
                                                                 reason=_error_message(error))))
            continue
        for raw in parsed:
            # a piece's one statement runs to its end (length 0), which is after the comments before it
            statement_end = start + (raw.stmt_location + raw.stmt_len if raw.stmt_len else len(piece))
            yield raw.stmt, start + raw.stmt_location, statement_end, start


def _names(nodes) -> list[str]:
    return [node.sval for node in nodes or () if isinstance(node, ast.String)]


def _deparse(node) -> str:
    key = _type_name_key(node) if isinstance(node, ast.TypeName) else None
    if key is not None and key in _printed_types:
        return _printed_types[key]
    try:
        printed = stream.RawStream()(node)
    except Exception:  # an expression the deparser does not know: keep something readable
        return type(node).__name__
    if key is not None:
        if len(_printed_types) >= _PRINTED_TYPES_KEPT:
            _printed_types.clear()
        _printed_types[key] = printed
    return printed


# pglast's printing of each type name met, by what its printer reads of the node: a printing takes
# 40 us (the stream walks the node first), and a migration folder names a few types hundreds of
# times (the benchmark's 98 files: 775 type names, 18 distinct; 33 ms of a cold SQL-only audit).
_printed_types: dict[tuple, str] = {}
_PRINTED_TYPES_KEPT = 1024


def _type_name_key(node: ast.TypeName) -> Optional[tuple]:
    """Everything pglast's TypeName printer reads (names, modifiers, array bounds, SETOF, %TYPE),
    or None when a modifier is not an integer (its printing is an expression's)."""
    modifiers = []
    for modifier in node.typmods or ():
        value = getattr(modifier, "val", None) if isinstance(modifier, ast.A_Const) else None
        if not isinstance(value, ast.Integer):
            return None
        modifiers.append(value.ival)
    names = tuple(getattr(name, "sval", None) for name in node.names or ())
    bounds = tuple(getattr(bound, "ival", None) for bound in node.arrayBounds or ())
    if None in names or None in bounds:
        return None
    return names, tuple(modifiers), bounds, bool(node.setof), bool(node.pct_type)


_ACTIONS = {"a": None, "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_STRATEGIES = {"r": "RANGE", "l": "LIST", "h": "HASH"}


def _action(code) -> Optional[str]:
    return _ACTIONS.get(code) if code not in ("\x00", None, "") else None


class _Builder:
    """Turns parsed statements into operations, recording errors and unsupported statements."""

    def __init__(self, positions: _Positions) -> None:
        self.positions = positions
        self.operations: list[ops.Operation] = []
        self.errors: list[ExtractionError] = []
        self._text = ""
        self._located_from = 0

    def _at(self, offset: Optional[int]) -> Location:
        """Where a node's location points (counted from `_located_from` in the text)."""
        return self.positions.at(self._located_from + max(offset or 0, 0))

    def statement(self, node, text: str, start: int, end: int, located_from: int = 0) -> None:
        """`located_from`: where the statement's nodes count their locations from in `text` (a
        statement parsed alone: its own start)."""
        self._text, self._start, self._located_from = text, start, located_from
        location = self.positions.at(start, end)
        handler = getattr(self, f"_{type(node).__name__}", None)
        try:
            if handler is None:
                self._other(node, location)
            else:
                handler(node, location)
        except Exception as error:  # an unusual construct must not stop the file
            self.errors.append(ExtractionError(location, _("SchemaLens could not read this statement: %(error)s",
                                                           error=repr(error)), kind="unsupported"))

    def _emit(self, operation) -> None:
        self.operations.append(operation)

    def _node_location(self, node, fallback: Location) -> Location:
        offset = getattr(node, "location", None)
        return self._at(offset) if isinstance(offset, int) and offset >= 0 else fallback

    @staticmethod
    def _schema(relation) -> Optional[str]:
        schema = getattr(relation, "schemaname", None)
        return None if schema in (None, "public") else schema

    # tables and columns

    def _column(self, table: str, definition: ast.ColumnDef, location: Location) -> tuple[Column, list]:
        names = _names(definition.typeName.names)
        raw_type = _deparse(definition.typeName)
        base = names[-1].lower() if names else ""
        column_location = self._node_location(definition, location)
        nullable, server_default, identity, sequence, generated = True, None, None, None, None
        constraints = []
        if base in SERIAL_TYPES:
            identity, nullable = "serial", False
            sequence = f"{table}_{definition.colname}_seq"
            server_default = f"nextval('{sequence}'::regclass)"
            type_text = normalize_type(base)
        else:
            type_text = normalize_type(raw_type)
        for constraint in definition.constraints or ():
            kind = constraint.contype
            where = self._node_location(constraint, column_location)
            if kind == enums.ConstrType.CONSTR_NOTNULL:
                nullable = False
            elif kind == enums.ConstrType.CONSTR_NULL:
                nullable = True
            elif kind == enums.ConstrType.CONSTR_DEFAULT:
                server_default = _deparse(constraint.raw_expr)
            elif kind == enums.ConstrType.CONSTR_IDENTITY:
                identity, nullable = ("always" if constraint.generated_when == "a" else "by default"), False
            elif kind == enums.ConstrType.CONSTR_GENERATED:
                generated = _deparse(constraint.raw_expr)
            elif kind == enums.ConstrType.CONSTR_PRIMARY:
                nullable = False
                constraints.append(PrimaryKey(constraint.conname, (definition.colname,), where))
            else:
                built = self._constraint(constraint, where, (definition.colname,))
                if built is not None:
                    constraints.append(built)
        column = Column(name=definition.colname, type=type_text, raw_type=raw_type, nullable=nullable,
                        location=column_location, server_default=server_default, identity=identity, sequence=sequence,
                        generated=generated)
        return column, constraints

    def _constraint(self, constraint: ast.Constraint, location: Location, columns: tuple[str, ...] = ()):
        kind = constraint.contype
        keys = tuple(_names(constraint.keys)) or columns
        if kind == enums.ConstrType.CONSTR_PRIMARY:
            return PrimaryKey(constraint.conname, keys, location)
        if kind == enums.ConstrType.CONSTR_UNIQUE:
            return UniqueConstraint(constraint.conname, keys, location, deferrable=bool(constraint.deferrable))
        if kind == enums.ConstrType.CONSTR_CHECK:
            return CheckConstraint(constraint.conname, _deparse(constraint.raw_expr), location,
                                   not_valid=bool(constraint.skip_validation))
        if kind == enums.ConstrType.CONSTR_FOREIGN:
            target = constraint.pktable
            return ForeignKey(
                constraint.conname, tuple(_names(constraint.fk_attrs)) or columns, target.relname,
                tuple(_names(constraint.pk_attrs)), location, ref_schema=self._schema(target),
                on_delete=_action(constraint.fk_del_action), on_update=_action(constraint.fk_upd_action),
                deferrable=bool(constraint.deferrable), initially="DEFERRED" if constraint.initdeferred else None,
                not_valid=bool(constraint.skip_validation))
        return None

    def _CreateStmt(self, node: ast.CreateStmt, location: Location) -> None:
        relation = node.relation
        columns, constraints = [], []
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                column, inline = self._column(relation.relname, element, location)
                columns.append(column)
                constraints += inline
            elif isinstance(element, ast.Constraint):
                built = self._constraint(element, self._node_location(element, location))
                if built is not None:
                    constraints.append(built)
        partition_by = None
        if node.partspec is not None:
            keys = ", ".join(param.name or _deparse(param.expr) for param in node.partspec.partParams)
            partition_by = f"{_STRATEGIES.get(node.partspec.strategy.value if hasattr(node.partspec.strategy, 'value') else node.partspec.strategy, str(node.partspec.strategy))} ({keys})"
        partition_of = partition_bound = None
        if node.partbound is not None and node.inhRelations:
            partition_of = node.inhRelations[0].relname
            partition_bound = _deparse(node.partbound)
        self._emit(ops.CreateTable(relation.relname, location, self._schema(relation), tuple(columns), tuple(constraints),
                                   partition_by, partition_of, partition_bound, bool(node.if_not_exists),
                                   temporary=relation.relpersistence == "t"))
        self._reject_duplicates([column.name for column in columns], location)

    def _AlterTableStmt(self, node: ast.AlterTableStmt, location: Location) -> None:
        if node.objtype == enums.ObjectType.OBJECT_TYPE and any(
                command.subtype == enums.AlterTableType.AT_AddColumn for command in node.cmds or ()):
            self._emit(ops.UnsupportedStatement("ADD ATTRIBUTE", location, node.relation.relname,
                                                schema=self._schema(node.relation)))
            return
        if node.objtype != enums.ObjectType.OBJECT_TABLE:
            kind = _OBJECT_NAMES.get(node.objtype.name, node.objtype.name.removeprefix('OBJECT_'))
            self._emit(ops.UnsupportedStatement(f"ALTER {kind}", location, node.relation.relname,
                                                schema=self._schema(node.relation)))
            return
        table, schema = node.relation.relname, self._schema(node.relation)
        T = enums.AlterTableType
        for command in node.cmds or ():
            kind = command.subtype
            where = location
            if kind == T.AT_AddColumn:
                column, inline = self._column(table, command.def_, location)
                self._emit(ops.AddColumn(table, column, where, schema, bool(command.missing_ok), tuple(inline)))
            elif kind == T.AT_DropColumn:
                self._emit(ops.DropColumn(table, command.name, where, schema, bool(command.missing_ok)))
            elif kind == T.AT_AlterColumnType:
                raw_type = _deparse(command.def_.typeName)
                using = _deparse(command.def_.raw_default) if command.def_.raw_default is not None else None
                self._emit(ops.AlterColumn(table, command.name, where, schema, type=normalize_type(raw_type),
                                           raw_type=raw_type, using=using))
            elif kind == T.AT_SetNotNull:
                self._emit(ops.AlterColumn(table, command.name, where, schema, nullable=False))
            elif kind == T.AT_DropNotNull:
                self._emit(ops.AlterColumn(table, command.name, where, schema, nullable=True))
            elif kind == T.AT_ColumnDefault:
                default = _deparse(command.def_) if command.def_ is not None else ops.DROP_DEFAULT
                self._emit(ops.AlterColumn(table, command.name, where, schema, server_default=default))
            elif kind == T.AT_AddIdentity:
                constraint = command.def_ if isinstance(command.def_, ast.Constraint) else None
                when = "always" if constraint is not None and constraint.generated_when == "a" else "by default"
                self._emit(ops.AlterColumn(table, command.name, where, schema, identity=when))
            elif kind in (T.AT_AddConstraint, T.AT_AddIndexConstraint):
                constraint = command.def_
                if constraint.indexname and constraint.contype in (enums.ConstrType.CONSTR_PRIMARY, enums.ConstrType.CONSTR_UNIQUE):
                    self._emit(ops.AddConstraintUsingIndex(table, constraint.conname, constraint.indexname,
                                                           constraint.contype == enums.ConstrType.CONSTR_PRIMARY, where, schema))
                    continue
                if constraint.contype == enums.ConstrType.CONSTR_EXCLUSION:
                    self._emit(ops.UnsupportedStatement("ADD EXCLUSION CONSTRAINT", where, constraint.conname, table, schema))
                    continue
                built = self._constraint(constraint, where)
                if built is not None:
                    self._emit(ops.AddConstraint(table, built, where, schema))
            elif kind == T.AT_DropConstraint:
                self._emit(ops.DropConstraint(table, command.name, where, schema, bool(command.missing_ok)))
            elif kind == T.AT_ValidateConstraint:
                self._emit(ops.ValidateConstraint(table, command.name, where, schema))
            elif kind == T.AT_AttachPartition:
                self._emit(ops.AttachPartition(table, command.def_.name.relname, where, _deparse(command.def_.bound), schema))
            elif kind in (T.AT_DetachPartition, T.AT_DetachPartitionFinalize):
                concurrently = bool(command.def_.concurrent) or kind == T.AT_DetachPartitionFinalize
                self._emit(ops.DetachPartition(table, command.def_.name.relname, where, schema, concurrently))
            elif kind.name in _TABLE_ACTIONS:
                name = command.name
                if kind in (T.AT_DisableTrigAll, T.AT_EnableTrigAll):
                    name = "ALL"
                elif kind in (T.AT_DisableTrigUser, T.AT_EnableTrigUser):
                    name = "USER"
                elif kind in (T.AT_DropInherit, T.AT_AddInherit) and isinstance(command.def_, ast.RangeVar):
                    name = command.def_.relname
                self._emit(ops.UnsupportedStatement(_TABLE_ACTIONS[kind.name], where, name, table, schema))
            else:
                self._emit(ops.UnsupportedStatement(f"ALTER TABLE {kind.name.removeprefix('AT_')}", where, table=table,
                                                    schema=schema))

    def _RenameStmt(self, node: ast.RenameStmt, location: Location) -> None:
        O = enums.ObjectType
        relation = node.relation
        schema = self._schema(relation) if relation is not None else None
        if node.renameType == O.OBJECT_TABLE:
            self._emit(ops.RenameTable(relation.relname, node.newname, location, schema))
        elif node.renameType == O.OBJECT_COLUMN:
            self._emit(ops.AlterColumn(relation.relname, node.subname, location, schema, new_name=node.newname))
        elif node.renameType == O.OBJECT_TABCONSTRAINT:
            self._emit(ops.RenameConstraint(relation.relname, node.subname, node.newname, location, schema))
        elif node.renameType == O.OBJECT_INDEX:
            self._emit(ops.RenameIndex(relation.relname, node.newname, location, schema))
        else:
            kind = _OBJECT_NAMES.get(node.renameType.name, node.renameType.name.removeprefix('OBJECT_'))
            name, schema = self._object_name(node)
            table = relation.relname if relation is not None and node.renameType in (
                O.OBJECT_POLICY, O.OBJECT_TRIGGER, O.OBJECT_RULE) else None
            self._emit(ops.UnsupportedStatement(f"RENAME {kind}", location, node.subname or name, table, schema, node.newname))

    def _object_name(self, node) -> tuple[Optional[str], Optional[str]]:
        """(name, schema) of the object a RENAME / SET SCHEMA / DROP statement names."""
        relation = getattr(node, "relation", None)
        if relation is not None:
            return relation.relname, self._schema(relation)
        target = getattr(node, "object", None)
        if isinstance(target, ast.String):
            return target.sval, None
        if isinstance(target, ast.ObjectWithArgs):
            names = _names(target.objname)
        elif isinstance(target, ast.TypeName):
            names = _names(target.names)
        else:
            names = _names(target) if isinstance(target, tuple) else []
        if not names:
            return None, None
        return names[-1], names[-2] if len(names) > 1 and names[-2] != "public" else None

    def _AlterObjectSchemaStmt(self, node: ast.AlterObjectSchemaStmt, location: Location) -> None:
        kind = _OBJECT_NAMES.get(node.objectType.name, node.objectType.name.removeprefix("OBJECT_"))
        name, schema = self._object_name(node)
        table = name if node.objectType == enums.ObjectType.OBJECT_TABLE else None
        self._emit(ops.UnsupportedStatement(f"SET SCHEMA {kind}", location, name, table, schema, node.newschema))

    def _IndexStmt(self, node: ast.IndexStmt, location: Location) -> None:
        columns, expressions, opclasses = [], [], []
        for element in node.indexParams or ():
            if element.name:
                key, is_expression = element.name, False
            else:
                key, is_expression = _deparse(element.expr), True
            columns.append(key)
            expressions.append(is_expression)
            if element.opclass:
                opclasses.append((key, ".".join(_names(element.opclass))))
        include = tuple(element.name for element in node.indexIncludingParams or () if element.name)
        method = (node.accessMethod or "btree").lower()
        index = Index(node.idxname, tuple(columns), location, unique=bool(node.unique),
                      where=_deparse(node.whereClause) if node.whereClause is not None else None,
                      using=None if method == "btree" else method, opclasses=tuple(opclasses), include=include,
                      expressions=tuple(expressions), concurrently=bool(node.concurrent))
        self._emit(ops.CreateIndex(index, node.relation.relname, location, self._schema(node.relation), bool(node.if_not_exists)))

    def _DropStmt(self, node: ast.DropStmt, location: Location) -> None:
        O = enums.ObjectType
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        for obj in node.objects or ():
            if isinstance(obj, ast.String):  # DROP SCHEMA / EXTENSION name the object by a bare string
                obj = (obj,)
            names = _names(obj) if isinstance(obj, tuple) else _names(getattr(obj, "objname", None) or getattr(obj, "names", ()) or ())
            if not names and isinstance(obj, ast.TypeName):
                names = _names(obj.names)
            if not names:
                continue
            name, schema = names[-1], (names[-2] if len(names) > 1 and names[-2] != "public" else None)
            if node.removeType == O.OBJECT_TABLE:
                self._emit(ops.DropTable(name, location, schema, bool(node.missing_ok), cascade))
            elif node.removeType == O.OBJECT_INDEX:
                self._emit(ops.DropIndex(name, location, None, schema, bool(node.missing_ok), bool(node.concurrent)))
            elif node.removeType == O.OBJECT_TYPE:
                self._emit(ops.DropType(name, location, schema, bool(node.missing_ok)))
            elif node.removeType == O.OBJECT_SEQUENCE:
                self._emit(ops.DropSequence(name, location, schema, bool(node.missing_ok)))
            elif node.removeType == O.OBJECT_FUNCTION:
                self._emit(ops.DropFunction(name, location, schema))
            elif node.removeType == O.OBJECT_TRIGGER and len(names) >= 2:  # [schema, table, trigger]
                table_schema = names[-3] if len(names) > 2 and names[-3] != "public" else None
                self._emit(ops.DropTrigger(names[-1], names[-2], location, table_schema))
            else:
                kind = _OBJECT_NAMES.get(node.removeType.name, node.removeType.name.removeprefix('OBJECT_'))
                table = names[-2] if node.removeType in (O.OBJECT_POLICY, O.OBJECT_RULE) and len(names) >= 2 else None
                schema = None if table else schema
                self._emit(ops.UnsupportedStatement(f"DROP {kind}", location, name, table, schema,
                                                    "CASCADE" if cascade else None))

    def _DropdbStmt(self, node: ast.DropdbStmt, location: Location) -> None:
        self._emit(ops.UnsupportedStatement("DROP DATABASE", location, node.dbname))

    # types, sequences, functions, triggers, comments

    def _CreateEnumStmt(self, node: ast.CreateEnumStmt, location: Location) -> None:
        names = _names(node.typeName)
        schema = names[-2] if len(names) > 1 and names[-2] != "public" else None
        self._emit(ops.CreateEnum(EnumType(names[-1], tuple(_names(node.vals)), location, schema), location))

    def _AlterEnumStmt(self, node: ast.AlterEnumStmt, location: Location) -> None:
        names = _names(node.typeName)
        if node.oldVal:
            schema = names[-2] if len(names) > 1 and names[-2] != "public" else None
            self._emit(ops.UnsupportedStatement("RENAME VALUE", location, names[-1], schema=schema,
                                                detail=f"'{node.oldVal}' -> '{node.newVal}'"))
            return
        if not node.newVal:
            self._emit(ops.UnsupportedStatement("ALTER TYPE", location))
            return
        neighbour = node.newValNeighbor
        self._emit(ops.AddEnumValue(names[-1], node.newVal, location,
                                    names[-2] if len(names) > 1 and names[-2] != "public" else None,
                                    before=None if node.newValIsAfter else neighbour,
                                    after=neighbour if node.newValIsAfter else None))

    def _CreateSeqStmt(self, node: ast.CreateSeqStmt, location: Location) -> None:
        owned = self._owned_by(node.options)
        self._emit(ops.CreateSequence(Sequence(node.sequence.relname, location, self._schema(node.sequence), owned), location))

    def _AlterSeqStmt(self, node: ast.AlterSeqStmt, location: Location) -> None:
        if any(option.defname == "owned_by" for option in node.options or ()):
            self._emit(ops.AlterSequenceOwner(node.sequence.relname, self._owned_by(node.options), location,
                                              self._schema(node.sequence)))
        else:
            self._emit(ops.UnsupportedStatement("ALTER SEQUENCE", location))

    @staticmethod
    def _owned_by(options) -> Optional[str]:
        for option in options or ():
            if option.defname == "owned_by":
                names = _names(option.arg)
                return None if names == ["none"] else ".".join(names[-2:])
        return None

    def _CreateFunctionStmt(self, node: ast.CreateFunctionStmt, location: Location) -> None:
        names = _names(node.funcname)
        language = next((option.arg.sval for option in node.options or ()
                         if option.defname == "language" and isinstance(option.arg, ast.String)), None)
        returns = _deparse(node.returnType) if node.returnType is not None else None
        schema = names[-2] if len(names) > 1 and names[-2] != "public" else None
        # AS 'source' (one string; C functions give two: object file and symbol)
        sources = next((option.arg for option in node.options or () if option.defname == "as"), None)
        body = sources[0].sval if sources and len(sources) == 1 and isinstance(sources[0], ast.String) else None
        self._emit(ops.CreateFunction(Function(names[-1], location, schema, language, returns, body), location,
                                              bool(node.replace)))

    def _CreateTrigStmt(self, node: ast.CreateTrigStmt, location: Location) -> None:
        timing = {2: "BEFORE", 64: "INSTEAD OF"}.get(node.timing or 0, "AFTER")
        events = tuple(name for bit, name in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE"))
                       if (node.events or 0) & bit)
        function = ".".join(_names(node.funcname)) or None
        trigger = Trigger(node.trigname, node.relation.relname, function, location, timing, events)
        self._emit(ops.CreateTrigger(trigger, location, self._schema(node.relation)))

    def _CommentStmt(self, node: ast.CommentStmt, location: Location) -> None:
        O = enums.ObjectType
        names = _names(node.object) if isinstance(node.object, tuple) else []
        if node.objtype == O.OBJECT_TABLE and names:
            schema = names[-2] if len(names) > 1 and names[-2] != "public" else None
            self._emit(ops.SetTableComment(names[-1], node.comment, location, schema))
        elif node.objtype == O.OBJECT_COLUMN and len(names) >= 2:
            schema = names[-3] if len(names) > 2 and names[-3] != "public" else None
            self._emit(ops.SetColumnComment(names[-2], names[-1], node.comment, location, schema))
        else:
            self._emit(ops.UnsupportedStatement("COMMENT", location))

    def _CallStmt(self, node: ast.CallStmt, location: Location) -> None:
        # what the procedure changes is not known: a later statement it may make succeed is no failure
        name = ".".join(part.sval for part in node.funccall.funcname)
        self._emit(ops.Opaque(location, _("CALL %(procedure)s: what the procedure changes is not read", procedure=name)))

    # DO blocks: the SQL inside PL/pgSQL

    def _DoStmt(self, node: ast.DoStmt, location: Location) -> None:
        body = next((option.arg.sval for option in node.args or () if option.defname == "as"), None)
        language = next((option.arg.sval for option in node.args or () if option.defname == "language"), "plpgsql")
        if body is None or language.lower() != "plpgsql":
            self._emit(ops.UnsupportedStatement("DO", location))
            return
        body_offset = self._text.find(body, self._start)
        try:
            tree = pglast.parse_plpgsql(f"DO $pglast$ {body} $pglast$")
        except Exception as error:
            self.errors.append(ExtractionError(location, _("PostgreSQL would reject this DO block: %(error)s", error=str(error))))

            return
        for line_number, sql, guard, unknown in _plpgsql_statements(tree):
            if body_offset >= 0:
                line_start = _nth_line_offset(body, line_number)
                if unknown is not None:  # an EXECUTE or an IF: the first word of its line
                    inner_offset = len(body) - len(body[line_start:].lstrip(" \t"))
                else:
                    inner_offset = body.find(sql.split()[0], line_start) if sql.split() else line_start
                offset = body_offset + (inner_offset if inner_offset >= 0 else line_start)
            else:
                offset = self._start
            where = self.positions.at(offset)
            if unknown is not None:  # what it changes is not known: a later statement it may make succeed is no failure
                self._emit(ops.Opaque(where, unknown))
                continue
            nested = parse_sql(sql, self.positions.path)
            for operation in nested.operations:
                self._emit(_guarded(relocated(operation, where), guard))
            for error in nested.errors:
                self.errors.append(ExtractionError(where, error.message, error.kind))

    # rows, and everything else

    def _InsertStmt(self, node, location: Location) -> None:
        source = node.selectStmt
        # constants only: a VALUES of parameters is a row template a loop may run once per row (indico)
        written = isinstance(source, ast.SelectStmt) and bool(source.valuesLists) and not source.fromClause \
            and all(_constant(value) for row in source.valuesLists for value in row)
        self._emit(ops.DataChange("INSERT", location, node.relation.relname, written_rows=written,
                                  schema=self._schema(node.relation)))
        self._reject_duplicates(_assigned_columns(node.cols), location)
        if node.onConflictClause is not None:
            self._reject_duplicates(_assigned_columns(node.onConflictClause.targetList), location)

    def _UpdateStmt(self, node, location: Location) -> None:
        self._emit(ops.DataChange("UPDATE", location, node.relation.relname, whole_table=node.whereClause is None,
                                  schema=self._schema(node.relation)))
        self._reject_duplicates(_assigned_columns(node.targetList), location)

    def _DeleteStmt(self, node, location: Location) -> None:
        self._emit(ops.DataChange("DELETE", location, node.relation.relname, whole_table=node.whereClause is None,
                                  schema=self._schema(node.relation)))

    def _MergeStmt(self, node, location: Location) -> None:
        self._emit(ops.DataChange("MERGE", location, node.relation.relname, schema=self._schema(node.relation)))
        for clause in node.mergeWhenClauses or ():
            if clause.commandType == enums.CmdType.CMD_INSERT:
                self._reject_duplicates(_assigned_columns(clause.targetList), location)
            elif clause.commandType == enums.CmdType.CMD_UPDATE:
                self._reject_duplicates(_assigned_columns(clause.targetList), location)

    def _ViewStmt(self, node: ast.ViewStmt, location: Location) -> None:
        self._emit(ops.UnsupportedStatement("View", location, node.view.relname, schema=self._schema(node.view),
                                            detail="OR REPLACE" if node.replace else None))
        if node.aliases:
            self._reject_duplicates(_names(node.aliases), location)
        elif isinstance(node.query, ast.SelectStmt):
            self._reject_duplicates(_output_names(node.query), location)

    def _CreateTableAsStmt(self, node, location: Location) -> None:
        into = node.into
        relation = into.rel if into is not None else None
        if relation is not None and relation.relpersistence == "t":  # a scratch table of a data migration
            self._emit(ops.CreateTable(relation.relname, location, self._schema(relation), temporary=True,
                                       if_not_exists=bool(node.if_not_exists)))
        else:
            self._emit(ops.UnsupportedStatement("CreateTableAs", location, relation.relname if relation is not None else None,
                                                schema=self._schema(relation) if relation is not None else None))
        if into is not None and into.colNames:
            self._reject_duplicates(_names(into.colNames), location)
        elif isinstance(node.query, ast.SelectStmt):
            self._reject_duplicates(_output_names(node.query), location)

    def _SelectStmt(self, node: ast.SelectStmt, location: Location) -> None:
        self._other(node, location)
        if node.intoClause is not None:
            self._reject_duplicates(_output_names(node), location)

    def _CreateForeignTableStmt(self, node, location: Location) -> None:
        self._other(node, location)
        base = node.base
        self._reject_duplicates([element.colname for element in base.tableElts or () if isinstance(element, ast.ColumnDef)],
                                location)

    def _reject_duplicates(self, columns: Iterable, location: Location) -> None:
        """PostgreSQL rejects a statement that names one column twice (`SET a = 1, a = 2`,
        `INSERT (a, a)`, two columns `a` in CREATE TABLE or a view): names compare as PostgreSQL
        stores them, cut at 63 bytes. `columns` holds names, or (name, partial) pairs where
        assignments to parts of a column (`a.x`, `a[1]`) may repeat among themselves."""
        assignments: dict[str, list[bool]] = {}
        for column in columns:
            name, partial = column if isinstance(column, tuple) else (column, False)
            if name is not None:
                assignments.setdefault(_stored_name(name), []).append(partial)
        for name, parts in assignments.items():
            if len(parts) > 1 and not all(parts):
                self.errors.append(ExtractionError(location, _("PostgreSQL would reject this statement: %(reason)s",
                                                               reason='column "%s" specified more than once' % name)))

    def _CopyStmt(self, node, location: Location) -> None:
        self._emit(ops.DataChange("COPY", location, node.relation.relname if node.relation else None,
                                  schema=self._schema(node.relation)))

    def _TruncateStmt(self, node, location: Location) -> None:
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        for relation in node.relations or ():
            self._emit(ops.DataChange("TRUNCATE", location, relation.relname, cascade=cascade, schema=self._schema(relation)))

    # transactions, settings and maintenance: no schema change, but they decide locks

    def _TransactionStmt(self, node: ast.TransactionStmt, location: Location) -> None:
        kind = node.kind
        written = {enums.TransactionStmtKind.TRANS_STMT_BEGIN: "BEGIN", enums.TransactionStmtKind.TRANS_STMT_START:
                   "START TRANSACTION", enums.TransactionStmtKind.TRANS_STMT_COMMIT: "COMMIT",
                   enums.TransactionStmtKind.TRANS_STMT_ROLLBACK: "ROLLBACK"}.get(kind)
        if kind in (enums.TransactionStmtKind.TRANS_STMT_BEGIN, enums.TransactionStmtKind.TRANS_STMT_START):
            self._emit(ops.TransactionControl("BEGIN", location, written))
        elif kind in (enums.TransactionStmtKind.TRANS_STMT_COMMIT, enums.TransactionStmtKind.TRANS_STMT_ROLLBACK):
            self._emit(ops.TransactionControl("COMMIT", location, written))
        else:
            self._other(node, location)

    def _VariableSetStmt(self, node: ast.VariableSetStmt, location: Location) -> None:
        if node.name is None:
            self._other(node, location)
            return
        values = [getattr(arg.val, "sval", None) or str(getattr(arg.val, "ival", "")) for arg in node.args or ()
                  if isinstance(arg, ast.A_Const) and arg.val is not None]
        value = ", ".join(values) if node.kind == enums.VariableSetKind.VAR_SET_VALUE else None
        self._emit(ops.SetParameter(node.name.lower(), value, location, bool(node.is_local)))

    def _VacuumStmt(self, node: ast.VacuumStmt, location: Location) -> None:
        options = {option.defname.lower() for option in node.options or () if _option_on(option)}
        kind = ("VACUUM FULL" if "full" in options else "VACUUM") if node.is_vacuumcmd else "ANALYZE"
        relations = [relation.relation for relation in node.rels or () if relation.relation is not None]
        for relation in relations or [None]:
            self._emit(ops.Maintenance(kind, location, relation.relname if relation else None,
                                       relation.schemaname if relation else None))

    def _ClusterStmt(self, node: ast.ClusterStmt, location: Location) -> None:
        relation = node.relation
        self._emit(ops.Maintenance("CLUSTER", location, relation.relname if relation else None,
                                   relation.schemaname if relation else None))

    def _ReindexStmt(self, node: ast.ReindexStmt, location: Location) -> None:
        target = node.kind.name.removeprefix("REINDEX_OBJECT_")
        concurrently = any(option.defname.lower() == "concurrently" and _option_on(option) for option in node.params or ())
        relation = node.relation
        table = relation.relname if relation is not None and target == "TABLE" else None
        name = relation.relname if relation is not None else node.name
        schema = relation.schemaname if relation is not None else None
        self._emit(ops.Maintenance("REINDEX", location, table, schema, concurrently, target, name))

    def _LockStmt(self, node: ast.LockStmt, location: Location) -> None:
        for relation in node.relations or ():
            self._emit(ops.UnsupportedStatement("LOCK", location, table=relation.relname, schema=self._schema(relation),
                                                detail=str(node.mode)))

    # domains, privileges, policies

    def _CreateDomainStmt(self, node: ast.CreateDomainStmt, location: Location) -> None:
        names = _names(node.domainname)
        schema = names[-2] if len(names) > 1 and names[-2] != "public" else None
        constraints = [_constraint_text(constraint) for constraint in node.constraints or ()
                       if constraint.contype in (enums.ConstrType.CONSTR_CHECK, enums.ConstrType.CONSTR_NOTNULL)]
        self._emit(ops.UnsupportedStatement("CREATE DOMAIN", location, names[-1], schema=schema,
                                            detail="; ".join(constraints) or None))

    def _AlterDomainStmt(self, node: ast.AlterDomainStmt, location: Location) -> None:
        names = _names(node.typeName)
        schema = names[-2] if len(names) > 1 and names[-2] != "public" else None
        action = {"C": "ADD CONSTRAINT", "O": "SET NOT NULL", "N": "DROP NOT NULL", "X": "DROP CONSTRAINT",
                  "V": "VALIDATE CONSTRAINT", "T": "SET DEFAULT"}.get(node.subtype, "ALTER")
        detail = _constraint_text(node.def_) if isinstance(node.def_, ast.Constraint) else node.name
        self._emit(ops.UnsupportedStatement(f"ALTER DOMAIN {action}", location, names[-1], schema=schema, detail=detail))

    def _GrantStmt(self, node: ast.GrantStmt, location: Location) -> None:
        kind = _OBJECT_NAMES.get(node.objtype.name, node.objtype.name.removeprefix("OBJECT_"))
        self._emit(ops.UnsupportedStatement("GRANT" if node.is_grant else "REVOKE", location, detail=kind))

    def _GrantRoleStmt(self, node, location: Location) -> None:
        self._emit(ops.UnsupportedStatement("GRANT" if node.is_grant else "REVOKE", location, detail="ROLE"))

    def _CreatePolicyStmt(self, node, location: Location) -> None:
        self._emit(ops.UnsupportedStatement("CREATE POLICY", location, node.policy_name, node.table.relname,
                                            self._schema(node.table)))

    def _AlterPolicyStmt(self, node, location: Location) -> None:
        changes = [part for part, present in (("USING", node.qual is not None), ("WITH CHECK", node.with_check is not None),
                                              ("TO", bool(node.roles))) if present]
        self._emit(ops.UnsupportedStatement("ALTER POLICY", location, node.policy_name, node.table.relname,
                                            self._schema(node.table), " ".join(changes) or None))

    def _RefreshMatViewStmt(self, node: ast.RefreshMatViewStmt, location: Location) -> None:
        self._emit(ops.Maintenance("REFRESH MATERIALIZED VIEW", location, node.relation.relname,
                                   node.relation.schemaname, bool(node.concurrent)))

    def _other(self, node, location: Location) -> None:
        self._emit(ops.UnsupportedStatement(type(node).__name__.removesuffix("Stmt"), location))


# pglast's enums by member name: keyed by the members, they would import pglast with this module.
_OBJECT_NAMES = {
    "OBJECT_MATVIEW": "MATERIALIZED VIEW", "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE",
    "OBJECT_TABCONSTRAINT": "CONSTRAINT", "OBJECT_DOMCONSTRAINT": "DOMAIN CONSTRAINT",
}
# ALTER TABLE subcommands the rules read, as UnsupportedStatement kinds.
_TABLE_ACTIONS = {
    "AT_DisableTrig": "ALTER TABLE DISABLE TRIGGER", "AT_DisableTrigAll": "ALTER TABLE DISABLE TRIGGER",
    "AT_DisableTrigUser": "ALTER TABLE DISABLE TRIGGER", "AT_EnableTrig": "ALTER TABLE ENABLE TRIGGER",
    "AT_EnableTrigAll": "ALTER TABLE ENABLE TRIGGER", "AT_EnableTrigUser": "ALTER TABLE ENABLE TRIGGER",
    "AT_EnableAlwaysTrig": "ALTER TABLE ENABLE TRIGGER", "AT_EnableReplicaTrig": "ALTER TABLE ENABLE TRIGGER",
    "AT_DisableRule": "ALTER TABLE DISABLE RULE", "AT_EnableRule": "ALTER TABLE ENABLE RULE",
    "AT_EnableAlwaysRule": "ALTER TABLE ENABLE RULE", "AT_EnableReplicaRule": "ALTER TABLE ENABLE RULE",
    "AT_ReplicaIdentity": "ALTER TABLE REPLICA IDENTITY", "AT_DropInherit": "ALTER TABLE NO INHERIT",
    "AT_EnableRowSecurity": "ALTER TABLE ENABLE ROW LEVEL SECURITY",
    "AT_DisableRowSecurity": "ALTER TABLE DISABLE ROW LEVEL SECURITY",
    "AT_ForceRowSecurity": "ALTER TABLE FORCE ROW LEVEL SECURITY",
    "AT_NoForceRowSecurity": "ALTER TABLE NO FORCE ROW LEVEL SECURITY",
    "AT_DropIdentity": "ALTER COLUMN DROP IDENTITY", "AT_SetIdentity": "ALTER COLUMN SET IDENTITY",
    "AT_DropExpression": "ALTER COLUMN DROP EXPRESSION", "AT_SetExpression": "ALTER COLUMN SET EXPRESSION",
}


def _option_on(option: ast.DefElem) -> bool:
    """A boolean option (`FULL`, `FULL true`, `CONCURRENTLY false`) is on unless its argument says off."""
    argument = option.arg
    value = getattr(argument, "sval", None) if argument is not None else None
    if value is None and argument is not None:
        value = str(getattr(argument, "ival", getattr(argument, "boolval", "")))
    return value is None or str(value).lower() not in ("false", "off", "0", "no")


def _constraint_text(constraint: ast.Constraint) -> str:
    if constraint.contype == enums.ConstrType.CONSTR_NOTNULL:
        return "NOT NULL"
    if constraint.contype == enums.ConstrType.CONSTR_CHECK:
        return f"CHECK ({_deparse(constraint.raw_expr)})" + (" NOT VALID" if constraint.skip_validation else "")
    return constraint.contype.name.removeprefix("CONSTR_")


def _stored_name(name: str) -> str:
    """An identifier as PostgreSQL stores it: cut at 63 bytes (NAMEDATALEN - 1), on a character boundary."""
    encoded = name.encode("utf-8")
    if len(encoded) <= 63:
        return name
    return encoded[:63].decode("utf-8", errors="ignore")


def _constant(node) -> bool:
    """A literal (`'21'`, `1`, `NULL`), cast or not."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const)


def _assigned_columns(targets) -> list[tuple[str, bool]]:
    """(column, partial) for each target of a SET list or an INSERT column list: `a.x = 1` and
    `a[1] = 1` assign part of a column."""
    return [(target.name, bool(target.indirection)) for target in targets or () if isinstance(target, ast.ResTarget)]


def _output_names(select: ast.SelectStmt) -> list[str]:
    """The column names a SELECT gives its result, as PostgreSQL figures them (FigureColname)."""
    if select.op != enums.SetOperation.SETOP_NONE and select.larg is not None:
        return _output_names(select.larg)
    return [_target_name(target) for target in select.targetList or ()
            if isinstance(target, ast.ResTarget) and not _is_star(target.val)]


def _is_star(value) -> bool:
    return isinstance(value, ast.ColumnRef) and any(isinstance(field, ast.A_Star) for field in value.fields or ())


def _target_name(target: ast.ResTarget) -> str:
    return target.name or _figure_name(target.val)[0]


def _figure_name(value) -> tuple[str, int]:
    """The name PostgreSQL gives an output column written without AS, and how sure it is of it
    (2: a name the expression holds, 1: a fallback, 0: none): FigureColnameInternal of
    parse_target.c. `(q.h).id` is `id` (lemmy), `CASE ... ELSE x END` is `x`."""
    if isinstance(value, ast.ColumnRef):
        names = _names(value.fields)
        return (names[-1], 2) if names else ("?column?", 0)
    if isinstance(value, ast.A_Indirection):
        fields = [field.sval for field in value.indirection or () if isinstance(field, ast.String)]
        return (fields[-1], 2) if fields else _figure_name(value.arg)
    if isinstance(value, ast.FuncCall):
        names = _names(value.funcname)
        return (names[-1], 2) if names else ("?column?", 0)
    if isinstance(value, ast.A_Expr) and value.kind == enums.A_Expr_Kind.AEXPR_NULLIF:
        return "nullif", 2
    if isinstance(value, ast.TypeCast):
        inner = _figure_name(value.arg)
        if inner[1] > 1:
            return inner
        names = _names(value.typeName.names) if value.typeName is not None else []
        return (names[-1], 1) if names else inner
    if isinstance(value, ast.CollateClause):
        return _figure_name(value.arg)
    if isinstance(value, ast.SubLink):
        kind = value.subLinkType
        if kind == enums.SubLinkType.EXISTS_SUBLINK:
            return "exists", 2
        if kind == enums.SubLinkType.ARRAY_SUBLINK:
            return "array", 2
        if kind == enums.SubLinkType.EXPR_SUBLINK and isinstance(value.subselect, ast.SelectStmt):
            names = _output_names(value.subselect)
            return (names[0], 2) if names and names[0] != "?column?" else ("?column?", 0)
        return "?column?", 0
    if isinstance(value, ast.CaseExpr):
        otherwise = _figure_name(value.defresult) if value.defresult is not None else ("?column?", 0)
        return otherwise if otherwise[1] > 1 else ("case", 1)
    fixed = _FIXED_NAMES.get(type(value).__name__)
    if fixed is not None:
        return fixed, 2
    if isinstance(value, ast.MinMaxExpr):
        return ("greatest" if value.op == enums.MinMaxOp.IS_GREATEST else "least"), 2
    if isinstance(value, ast.SQLValueFunction):
        return value.op.name.removeprefix("SVFOP_").removesuffix("_N").lower(), 2
    return "?column?", 0


_FIXED_NAMES = {"GroupingFunc": "grouping", "A_ArrayExpr": "array", "RowExpr": "row", "CoalesceExpr": "coalesce",
                "XmlSerialize": "xmlserialize", "MergeSupportFunc": "merge_action"}


def _nth_line_offset(text: str, line_number: int) -> int:
    offset = 0
    for _line in range(max(line_number - 1, 0)):
        next_newline = text.find("\n", offset)
        if next_newline < 0:
            break
        offset = next_newline + 1
    return offset


def _plpgsql_statements(tree, guard: Optional[str] = None) -> Iterator[tuple[int, str, Optional[str], Optional[str]]]:
    """(line in the body, SQL, guard, what is not known) of the plain statements and EXECUTEs in
    a PL/pgSQL tree. The guard of a statement under `IF [NOT] EXISTS (SELECT ... FROM
    pg_constraint ...) THEN`: "absent" or "present", the object it makes or drops being checked
    for first. What is not known, instead of SQL: an EXECUTE of anything but a literal (SQL built
    as the block runs), and an IF on the catalog in another form (`(SELECT count(*) = 2 FROM
    pg_indexes ...)`), whose branches run in some databases and not in others."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "PLpgSQL_stmt_execsql":
                yield value.get("lineno", 1), value["sqlstmt"]["PLpgSQL_expr"]["query"], guard, None
            elif key == "PLpgSQL_stmt_dynexecute":
                expression = value["query"]["PLpgSQL_expr"]["query"]
                literal = _string_literal(expression)
                built = None if literal is not None else _("SQL built at run time is not analysed: %(source)s",
                                                           source=" ".join(expression.split())[:80])
                yield value.get("lineno", 1), literal if literal is not None else expression, guard, built
            elif key == "PLpgSQL_stmt_if":
                condition = value.get("cond", {}).get("PLpgSQL_expr", {}).get("query", "")
                checked = _catalog_guard(condition)
                if checked is None and _READS_CATALOG.search(condition):
                    yield value.get("lineno", 1), condition, guard, _(
                        "what runs depends on the database's state, which is not analysed: IF %(condition)s",
                        condition=" ".join(condition.split())[:80])
                yield from _plpgsql_statements(value.get("then_body", []), checked or guard)
                yield from _plpgsql_statements([value.get("elsif_list", []), value.get("else_body", [])], guard)
            else:
                yield from _plpgsql_statements(value, guard)
    elif isinstance(tree, list):
        for item in tree:
            yield from _plpgsql_statements(item, guard)


def _string_literal(expression: str) -> Optional[str]:
    """The text of an expression that is one string literal (`'DROP INDEX i'`), or None: a
    statement built at run time (`'GRANT ' || role || ' TO x'`) is not known before it runs."""
    expression = expression.strip()
    inside = expression[1:-1]
    if len(expression) < 2 or expression[0] != "'" or expression[-1] != "'" or "'" in inside.replace("''", ""):
        return None
    return inside.replace("''", "'")


_CATALOG = (r"\b(?:pg_catalog|pg_constraint|pg_class|pg_index|pg_indexes|pg_type|pg_namespace|pg_attribute|pg_trigger|"
            r"pg_proc|pg_tables|pg_enum|pg_extension|information_schema)\b")
_CATALOG_CHECK = LazyPattern(r"^\s*(NOT\s+)?EXISTS\s*\(.*" + _CATALOG, re.IGNORECASE | re.DOTALL)
_READS_CATALOG = LazyPattern(_CATALOG, re.IGNORECASE)


def _catalog_guard(condition: str) -> Optional[str]:
    """"absent" for `NOT EXISTS (a catalog query)`, "present" for `EXISTS (...)`, else None."""
    match = _CATALOG_CHECK.match(condition)
    return None if match is None else "absent" if match.group(1) else "present"


def _guarded(operation, guard: Optional[str]):
    """An operation a DO block runs only when its object is absent (or present): IF NOT EXISTS
    (or IF EXISTS), where the operation has the flag."""
    flag = {"absent": "if_not_exists", "present": "if_exists"}.get(guard or "")
    if flag is None or flag not in {f.name for f in fields(operation)}:
        return operation
    return replace(operation, **{flag: True})


def relocated(operation, location: Location):
    """An operation parsed from text that is not where it runs (a DO block's body, SQL built from
    an alembic_utils entity), moved to the place it runs from."""
    changes = {"location": location}
    for field in fields(operation):
        value = getattr(operation, field.name)
        if field.name in ("column", "index", "constraint", "enum", "sequence", "function", "trigger") and hasattr(value, "location"):
            changes[field.name] = replace(value, location=location)
    return replace(operation, **changes)
