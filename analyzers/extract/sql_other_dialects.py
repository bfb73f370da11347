"""SQL of other engines through sqlglot: MySQL, SQLite, SQL Server, Oracle, ClickHouse.

PostgreSQL never comes here (pglast reads it). A file is cut into statements the way its
engine's client does (`;`, MySQL's `DELIMITER`, SQL Server's `GO` batches, Oracle's `/` after a
PL/SQL block; SQL*Plus and client commands are left out), and each statement becomes schema
operations: tables, columns, keys, indexes and drops, which is what migration folders mostly
hold.

sqlglot is not the engine's own parser: a statement it cannot read is an error only when the
workspace is written for that engine (`dialect` in the settings); in a folder of another engine
it is an "unsupported" note, never a claim that the engine rejects it.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Optional

import sqlglot
from sqlglot import exp

from ..i18n import _
from ..schema import operations as ops
from ..schema.model import Column, ExtractionError, ForeignKey, Index, Location, PrimaryKey, UniqueConstraint
from ..schema.type_names import normalize_type
from .sql_dialects import SQLGLOT_NAMES, UNREAD
from ..lazy_pattern import LazyPattern

if TYPE_CHECKING:
    from .sql_files import SqlExtraction, _Positions

# sqlglot logs a warning for every statement it falls back to reading as a bare command.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

# Client commands that are not SQL: SQL*Plus (Oracle), sqlcmd (SQL Server).
_CLIENT_COMMAND = {
    "oracle": LazyPattern(r"^[ \t]*(?:PROMPT|REM|REMARK|SPOOL|WHENEVER|EXIT|QUIT|DEFINE|UNDEFINE|COLUMN|SHOW|@@?\S|"
                         r"SET\s+(?:DEFINE|ECHO|FEEDBACK|SERVEROUTPUT|VERIFY|TERMOUT|PAGESIZE|LINESIZE|HEADING|TIMING|"
                         r"SQLBLANKLINES|TRIMSPOOL|LONG|SCAN|CONCAT))\b[^\n]*$", re.IGNORECASE | re.MULTILINE),
    "sqlserver": LazyPattern(r"^[ \t]*(?::setvar|:r|:on\s+error)\b[^\n]*$", re.IGNORECASE | re.MULTILINE),
}
# A PL/SQL or T-SQL body: semicolons inside it do not end the statement.
_BLOCK_START = LazyPattern(r"\s*(?:CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?(?:(?:NON)?EDITIONABLE\s+)?(?:PROCEDURE|FUNCTION|"
                          r"PACKAGE|TRIGGER|TYPE\s+BODY|PROC)\b|BEGIN\b|DECLARE\b)", re.IGNORECASE)
_TSQL_STATEMENT_LINE = LazyPattern(r"\n(?=(?:CREATE|ALTER|DROP|INSERT|UPDATE|DELETE|EXEC|EXECUTE|GRANT|PRINT|SET|IF|"
                                  r"USE|TRUNCATE)\b)", re.IGNORECASE)
_SCHEMA_DEFAULTS = {"public", "dbo"}


def split_statements(text: str, dialect: str) -> list[tuple[int, str]]:
    """(start offset, statement) for each statement of `text` as `dialect`'s client cuts it."""
    command = _CLIENT_COMMAND.get(dialect)
    if command is not None:
        text = command.sub(lambda match: " " * len(match.group(0)), text)
    if dialect == "oracle":  # SQL*Plus continues a line that ends with a hyphen
        text = re.sub(r"(?<=\S)-[ \t]*(?=\r?\n)", " ", text)
    pieces: list[tuple[int, int]] = []
    delimiter, start, position, length = ";", 0, 0, len(text)
    quote: Optional[str] = None
    while position < length:
        character = text[position]
        if quote:
            if character == quote:
                quote = None
            position += 1
            continue
        if position == 0 or text[position - 1] == "\n":
            line_end = text.find("\n", position)
            line_end = length if line_end < 0 else line_end
            line = text[position:line_end].strip()
            if (dialect == "sqlserver" and re.fullmatch(r"GO(?:\s+\d+)?;?", line, re.IGNORECASE)) or \
                    (dialect == "oracle" and line == "/"):
                pieces.append((start, position))
                start = position = line_end
                continue
            if dialect == "mysql" and re.match(r"DELIMITER\s+\S+", line, re.IGNORECASE):
                pieces.append((start, position))
                delimiter = line.split()[1]
                start = position = line_end
                continue
        if text.startswith("--", position) or (dialect == "mysql" and character == "#"):
            end = text.find("\n", position)
            position = length if end < 0 else end
            continue
        if text.startswith("/*", position):
            end = text.find("*/", position + 2)
            position = length if end < 0 else end + 2
            continue
        if character in ("'", '"', "`"):
            quote = character
            position += 1
            continue
        if text.startswith(delimiter, position) and not (
                dialect in ("oracle", "sqlserver") and _BLOCK_START.match(text, start) is not None):
            pieces.append((start, position))
            position += len(delimiter)
            start = position
            continue
        position += 1
    pieces.append((start, length))
    statements = []
    for begin, end in pieces:
        piece = text[begin:end]
        if dialect == "sqlserver" and ";" not in piece and not _BLOCK_START.match(piece):
            # A batch of statements without semicolons: one statement per line that starts one.
            offset = begin
            for part in _TSQL_STATEMENT_LINE.split(piece):
                statements.append((offset, part))
                offset += len(part) + 1
        else:
            statements.append((begin, piece))
    noise = _LEADING_NOISE_MYSQL if dialect == "mysql" else _LEADING_NOISE
    result = []
    for offset, piece in statements:
        if _has_sql(piece):
            skipped = noise.match(piece).end()
            result.append((offset + skipped, piece[skipped:].rstrip()))
    return result


_LEADING_NOISE = LazyPattern(r"(?:\s+|--[^\n]*|/\*.*?\*/)*", re.DOTALL)
_LEADING_NOISE_MYSQL = LazyPattern(r"(?:\s+|--[^\n]*|/\*.*?\*/|#[^\n]*)*", re.DOTALL)


def _has_sql(piece: str) -> bool:
    without_comments = re.sub(r"--[^\n]*|/\*.*?\*/|^\s*#[^\n]*", " ", piece, flags=re.DOTALL | re.MULTILINE)
    return bool(without_comments.strip(" \t\r\n;"))


def parse_other_dialect(text: str, path: str, dialect: str, positions: "_Positions", *,
                        rejections: bool = True) -> "SqlExtraction":
    """Operations of every statement; a statement sqlglot cannot read is an error when
    `rejections` (the workspace is written for this engine), else an "unsupported" note."""
    from .sql_files import SqlExtraction

    operations, errors = [], []
    read = SQLGLOT_NAMES.get(dialect, dialect)
    for offset, statement in split_statements(text, dialect):
        location = positions.at(offset)
        try:
            tree = sqlglot.parse_one(statement, read=read)
        except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as error:
            reason = error.errors[0]["description"] if getattr(error, "errors", None) else str(error).splitlines()[0]
            if rejections:
                errors.append(ExtractionError(location, _("%(dialect)s would reject this statement: %(reason)s",
                                                          dialect=dialect, reason=reason)))
            else:  # counted in the coverage, not a problem of the file: sqlglot is not the engine
                operations.append(ops.UnsupportedStatement(UNREAD, location))
            continue
        if tree is None:
            continue
        try:
            operations.extend(_operations(tree, location, read))
        except Exception as error:  # an unusual tree must not stop the file
            errors.append(ExtractionError(location, _("SchemaLens could not read this statement: %(error)s",
                                                      error=repr(error)), kind="unsupported"))

    return SqlExtraction(tuple(operations), tuple(errors))


def _schema(table: Optional[exp.Table]) -> Optional[str]:
    schema = table.args.get("db") if table is not None else None
    name = schema.name if schema is not None else None
    return None if not name or name.lower() in _SCHEMA_DEFAULTS else name


def _unordered(expression):
    while isinstance(expression, exp.Ordered):
        expression = expression.this
    return expression


def _names(expressions) -> tuple[str, ...]:
    names = []
    for expression in expressions or ():
        while isinstance(expression, exp.Ordered):
            expression = expression.this
        names.append(expression.name if isinstance(expression, (exp.Column, exp.Identifier)) else expression.sql())
    return tuple(names)


def _column(definition: exp.ColumnDef, location: Location, dialect: str):
    raw_type = definition.args["kind"].sql(dialect=dialect) if definition.args.get("kind") else "text"
    nullable, default, identity, constraints = True, None, None, []
    for constraint in definition.constraints:
        kind = constraint.kind
        if isinstance(kind, exp.NotNullColumnConstraint):
            nullable = bool(kind.args.get("allow_null"))
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            nullable = False
            constraints.append(PrimaryKey(None, (definition.name,), location))
        elif isinstance(kind, exp.UniqueColumnConstraint):
            constraints.append(UniqueConstraint(None, (definition.name,), location))
        elif isinstance(kind, exp.DefaultColumnConstraint):
            default = kind.this.sql(dialect=dialect)
        elif isinstance(kind, (exp.AutoIncrementColumnConstraint, exp.GeneratedAsIdentityColumnConstraint)):
            identity, nullable = "by default", False
        elif isinstance(kind, exp.Reference) and kind.this is not None:
            target = kind.this
            table = target.this if isinstance(target, exp.Schema) else target
            columns = _names(target.expressions) if isinstance(target, exp.Schema) else ()
            constraints.append(ForeignKey(None, (definition.name,), table.name, columns, location, ref_schema=_schema(table)))
    column = Column(definition.name, normalize_type(raw_type), raw_type, nullable, location, server_default=default,
                    identity=identity)
    return column, constraints


def _foreign_key(element: exp.ForeignKey, location: Location, name: Optional[str] = None) -> Optional[ForeignKey]:
    reference = element.args.get("reference")
    target = reference.this if reference else None
    if target is None:
        return None
    table = target.this if isinstance(target, exp.Schema) else target
    columns = _names(target.expressions) if isinstance(target, exp.Schema) else ()
    return ForeignKey(name, _names(element.expressions), table.name, columns, location, ref_schema=_schema(table))


def _table_element(element, location: Location, dialect: str, table: str):
    """The constraint or index an element of CREATE TABLE (...) declares, or None."""
    name = None
    if isinstance(element, exp.Constraint):
        name = element.name or None
        element = element.expressions[0] if element.expressions else None
    if isinstance(element, exp.PrimaryKey):
        return PrimaryKey(name, _names(element.expressions), location)
    if isinstance(element, exp.ForeignKey):
        return _foreign_key(element, location, name)
    if isinstance(element, exp.UniqueColumnConstraint):
        schema = element.this
        if isinstance(schema, exp.Schema):
            # `UNIQUE KEY uq (name)` names it; a bare `UNIQUE (name)` does not (schema.this is None)
            named = schema.this.name if schema.this is not None else None
            return UniqueConstraint(name or named or None, _names(schema.expressions), location)
        return None
    if isinstance(element, exp.IndexColumnConstraint):
        return Index(element.name or None, _names(element.expressions), location)
    return None


def _dropped(drop: exp.Drop) -> list:
    """What a DROP names (sqlglot keeps several targets in `tables`, one in `this`)."""
    targets = drop.args.get("tables") or ([drop.this] if drop.this is not None else [])
    return [target for target in targets if target is not None and target.name]


# MySQL's and ClickHouse's `RENAME TABLE a TO b, c TO d`, which sqlglot keeps as a command.
_RENAME_PAIR = LazyPattern(r"^\s*((?:[`\"]?\w+[`\"]?\.)?[`\"]?\w+[`\"]?)\s+TO\s+((?:[`\"]?\w+[`\"]?\.)?[`\"]?\w+[`\"]?)\s*$",
                          re.IGNORECASE)


def _renamed_tables(text: str, location: Location) -> list:
    """The RenameTable operations of `TABLE a TO b, ...` (the text after RENAME); an unread form
    is said as such."""
    body = re.sub(r"^\s*TABLES?\s+", "", text, flags=re.IGNORECASE)
    pairs = [_RENAME_PAIR.match(part) for part in body.rstrip(";").split(",")]
    if not body or not all(pairs):
        return [ops.UnsupportedStatement("Rename", location)]
    renamed = []
    for pair in pairs:
        (schema, table), (_, new_name) = (_qualified(pair.group(1)), _qualified(pair.group(2)))
        renamed.append(ops.RenameTable(table, new_name, location, schema))
    return renamed


def _qualified(name: str) -> tuple[Optional[str], str]:
    schema, _, table = name.replace("`", "").replace('"', "").rpartition(".")
    return schema or None, table


# ALTER TABLE ... RENAME TO: sqlglot's AlterRename (26 and later), RenameTable before
_TABLE_RENAMED = getattr(exp, "AlterRename", None) or getattr(exp, "RenameTable")


def _operations(tree, location: Location, dialect: str) -> list:
    if isinstance(tree, exp.Create) and tree.kind == "TABLE" and isinstance(tree.this, exp.Schema):
        target = tree.this.this
        table, schema = target.name, _schema(target)
        columns, constraints, indexes = [], [], []
        for element in tree.this.expressions:
            if isinstance(element, exp.ColumnDef):
                column, inline = _column(element, location, dialect)
                columns.append(column)
                constraints += inline
            else:
                built = _table_element(element, location, dialect, table)
                if isinstance(built, Index):
                    indexes.append(built)
                elif built is not None:
                    constraints.append(built)
        result = [ops.CreateTable(table, location, schema, tuple(columns), tuple(constraints),
                                  if_not_exists=bool(tree.args.get("exists")))]
        result += [ops.CreateIndex(index, table, location, schema, True) for index in indexes]
        return result
    if isinstance(tree, exp.Create) and tree.kind == "INDEX" and isinstance(tree.this, exp.Index):
        index = tree.this
        target = index.args.get("table")
        params = index.args.get("params")
        keys = params.args.get("columns") if params is not None else list(index.find_all(exp.Column))
        columns = _names(keys)
        expressions = tuple(not isinstance(_unordered(key), (exp.Column, exp.Identifier)) for key in keys or ())
        where = params.args.get("where") if params is not None else None
        built = Index(index.name or None, columns, location, unique=bool(tree.args.get("unique")),
                      where=where.this.sql(dialect=dialect) if where is not None else None, expressions=expressions)
        return [ops.CreateIndex(built, target.name if target else "", location, _schema(target),
                                bool(tree.args.get("exists")))]
    if isinstance(tree, exp.Drop) and tree.kind == "TABLE":
        return [ops.DropTable(target.name, location, _schema(target), bool(tree.args.get("exists")))
                for target in _dropped(tree)]
    if isinstance(tree, exp.Drop) and tree.kind == "INDEX":
        return [ops.DropIndex(target.name, location, None, _schema(target), bool(tree.args.get("exists")))
                for target in _dropped(tree)]
    if isinstance(tree, exp.Command) and str(tree.this).upper() in ("PREPARE", "EXECUTE", "DEALLOCATE"):
        return [ops.Opaque(location, "SQL prepared from a string at run time (PREPARE ... EXECUTE)")]
    if isinstance(tree, exp.Command) and str(tree.this).upper() == "CALL":
        # authelia's `CALL PROC_DROP_FOREIGN_KEY('table', 'name')` drops what the keys added next re-create
        name = (tree.expression.name if tree.expression is not None else "").partition("(")[0].strip()
        return [ops.Opaque(location, _("CALL %(procedure)s: what the procedure changes is not read", procedure=name))]
    if isinstance(tree, exp.Command) and str(tree.this).upper() == "RENAME":
        return _renamed_tables(tree.expression.name if tree.expression is not None else "", location)
    if isinstance(tree, exp.Alter) and tree.args.get("kind", "TABLE") == "TABLE":
        table, schema = tree.this.name, _schema(tree.this)
        result = []
        for action in tree.args.get("actions") or ():
            if isinstance(action, exp.ColumnDef):
                column, inline = _column(action, location, dialect)
                result.append(ops.AddColumn(table, column, location, schema, bool(action.args.get("exists")), tuple(inline)))
            elif isinstance(action, exp.Drop) and action.kind == "COLUMN":
                result += [ops.DropColumn(table, target.name, location, schema, bool(action.args.get("exists")))
                           for target in _dropped(action)]
            elif isinstance(action, _TABLE_RENAMED) and action.this is not None:  # SQLite rebuilds a table through one
                result.append(ops.RenameTable(table, action.this.name, location, schema))
            elif isinstance(action, exp.RenameColumn) and action.this is not None and action.args.get("to") is not None:
                result.append(ops.AlterColumn(table, action.this.name, location, schema, new_name=action.args["to"].name))
            elif isinstance(action, exp.AddConstraint):
                for element in action.expressions:
                    built = _table_element(element, location, dialect, table)
                    if isinstance(built, Index):
                        result.append(ops.CreateIndex(built, table, location, schema))
                    elif built is not None:
                        result.append(ops.AddConstraint(table, built, location, schema))
            else:
                result.append(ops.UnsupportedStatement(f"ALTER TABLE {type(action).__name__}", location))
        return result
    return [ops.UnsupportedStatement(type(tree).__name__.upper(), location)]
