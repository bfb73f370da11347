"""MySQL and SQLite migrations through sqlglot: tables, columns, indexes and drops.

PostgreSQL never comes here (pglast reads it); this covers the DDL other dialects' migration
folders mostly contain, and reports what sqlglot cannot parse at the statement's line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

from ..schema import operations as ops
from ..schema.model import Column, ExtractionError, ForeignKey, Index, PrimaryKey, UniqueConstraint
from ..schema.type_names import normalize_type

if TYPE_CHECKING:
    from .sql_files import SqlExtraction, _Positions


def _statements_with_offsets(text: str):
    """Split at semicolons outside quotes; (start offset, statement text)."""
    start, quote, pieces = 0, None, []
    for position, character in enumerate(text):
        if quote:
            if character == quote:
                quote = None
        elif character in ("'", '"', "`"):
            quote = character
        elif character == ";":
            pieces.append((start, text[start:position]))
            start = position + 1
    pieces.append((start, text[start:]))
    return [(offset + len(piece) - len(piece.lstrip()), piece.strip()) for offset, piece in pieces if piece.strip()]


def parse_other_dialect(text: str, path: str, dialect: str, positions: "_Positions") -> "SqlExtraction":
    from .sql_files import SqlExtraction

    operations, errors = [], []
    for offset, statement in _statements_with_offsets(text):
        location = positions.at(offset)
        try:
            tree = sqlglot.parse_one(statement, read=dialect)
        except sqlglot.errors.ParseError as error:
            errors.append(ExtractionError(location, f"{dialect} would reject this statement: {error.errors[0]['description'] if error.errors else error}"))
            continue
        operations.extend(_operations(tree, location, dialect))
    return SqlExtraction(tuple(operations), tuple(errors))


def _column(definition: exp.ColumnDef, location, dialect: str):
    raw_type = definition.args["kind"].sql(dialect=dialect) if definition.args.get("kind") else "text"
    nullable, default, constraints = True, None, []
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
    column = Column(definition.name, normalize_type(raw_type), raw_type, nullable, location, server_default=default)
    return column, constraints


def _operations(tree, location, dialect: str):
    if isinstance(tree, exp.Create) and tree.kind == "TABLE" and isinstance(tree.this, exp.Schema):
        table = tree.this.this.name
        columns, constraints = [], []
        for element in tree.this.expressions:
            if isinstance(element, exp.ColumnDef):
                column, inline = _column(element, location, dialect)
                columns.append(column)
                constraints += inline
            elif isinstance(element, exp.PrimaryKey):
                constraints.append(PrimaryKey(None, tuple(e.name for e in element.expressions), location))
            elif isinstance(element, exp.ForeignKey):
                reference = element.args.get("reference")
                target = reference.this if reference else None
                if target is not None:
                    constraints.append(ForeignKey(None, tuple(e.name for e in element.expressions), target.this.name,
                                                  tuple(e.name for e in target.expressions), location))
        return [ops.CreateTable(table, location, None, tuple(columns), tuple(constraints),
                                if_not_exists=bool(tree.args.get("exists")))]
    if isinstance(tree, exp.Create) and tree.kind == "INDEX":
        index = tree.this
        table = index.args.get("table")
        columns = tuple(c.name for c in index.find_all(exp.Column))
        return [ops.CreateIndex(Index(index.name or None, columns, location, unique=bool(tree.args.get("unique"))),
                                table.name if table else "", location)]
    if isinstance(tree, exp.Drop) and tree.kind == "TABLE":
        return [ops.DropTable(tree.this.name, location, None, bool(tree.args.get("exists")))]
    if isinstance(tree, exp.Alter):
        table = tree.this.name
        result = []
        for action in tree.args.get("actions") or ():
            if isinstance(action, exp.ColumnDef):
                column, inline = _column(action, location, dialect)
                result.append(ops.AddColumn(table, column, location, None, False, tuple(inline)))
            elif isinstance(action, exp.Drop) and action.kind == "COLUMN":
                result.append(ops.DropColumn(table, action.this.name, location))
            else:
                result.append(ops.UnsupportedStatement(f"ALTER TABLE {type(action).__name__}", location))
        return result
    return [ops.UnsupportedStatement(type(tree).__name__.upper(), location)]
