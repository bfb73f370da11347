"""The query shape of SQL written in application code (`text("...")`, `execute("...")`): tables,
predicates, joins, order, grouping and paging, read with pglast (PostgreSQL's parser) or, for
other dialects, sqlglot."""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

from ..schema.model import Location
from .queries import ColumnRef, Join, Ordering, Predicate, QueryShape, like_pattern
from .sql_files import placeholders_as_parameters
from ..lazy_pattern import LazyPattern

# SQLAlchemy's :name binds are not SQL; PostgreSQL's $n parameters parse the same way.
_BIND = LazyPattern(r"(?<![:\w]):(\w+)")
_OPERATORS = {"=", "<>", "!=", "<", "<=", ">", ">="}


def shape_from_sql(shape: QueryShape, dialect: str = "postgresql") -> QueryShape:
    """`shape` (a text() query) with what its SQL reads filled in; unchanged when it cannot be parsed."""
    sql = _BIND.sub("$1", shape.sql or "")
    if dialect == "postgresql":
        return _from_pglast(shape, sql) or shape
    return _from_sqlglot(shape, sql, dialect) or shape


def _at(shape: QueryShape, offset: Optional[int]) -> Location:
    """The line in the file of a character of the SQL string (the string starts on the call's line)."""
    base = shape.location
    if offset is None or offset < 0:
        return base
    return Location(base.path, base.line + (shape.sql or "")[:offset].count("\n"), base.column)


def _from_pglast(shape: QueryShape, sql: str) -> Optional[QueryShape]:
    try:
        from pglast import ast, enums

        from .pg_tree import parse_sql
        statements = parse_sql(placeholders_as_parameters(sql))
    except Exception:  # pglast raises its own ParseError; any failure leaves the shape as written
        return None
    if len(statements) != 1:
        return None
    statement = statements[0].stmt
    kinds = {ast.SelectStmt: "select", ast.UpdateStmt: "update", ast.DeleteStmt: "delete", ast.InsertStmt: "insert"}
    kind = kinds.get(type(statement))
    if kind is None:
        return None
    aliases: dict[str, str] = {}
    tables: list[str] = []
    joins: list[Join] = []

    def column(node) -> Optional[ColumnRef]:
        if not isinstance(node, ast.ColumnRef):
            if isinstance(node, ast.TypeCast):
                return column(node.arg)
            return None
        names = [f.sval for f in node.fields if isinstance(f, ast.String)]
        if not names:
            return None
        table = aliases.get(names[0], names[0]) if len(names) > 1 else (tables[0] if len(tables) == 1 else "")
        return ColumnRef(table, names[-1], _at(shape, node.location), table=True) if table else None

    def predicates(node) -> list[Predicate]:
        if isinstance(node, ast.BoolExpr):
            return [p for argument in node.args for p in predicates(argument)]
        if isinstance(node, ast.NullTest):
            found = column(node.arg)
            operator = "is null" if node.nulltesttype == enums.NullTestType.IS_NULL else "is not null"
            return [Predicate(found, operator)] if found else []
        if isinstance(node, ast.A_Expr):
            name = node.name[0].sval if node.name else ""
            left, right = column(node.lexpr), column(node.rexpr)
            subject = left or right
            if subject is None:
                return []
            if node.kind == enums.A_Expr_Kind.AEXPR_IN:
                return [Predicate(subject, "in")]
            if node.kind in (enums.A_Expr_Kind.AEXPR_LIKE, enums.A_Expr_Kind.AEXPR_ILIKE):
                operator = "like" if node.kind == enums.A_Expr_Kind.AEXPR_LIKE else "ilike"
                pattern = node.rexpr.val.sval if isinstance(node.rexpr, ast.A_Const) and hasattr(node.rexpr.val, "sval") else None
                return [Predicate(subject, operator, like_pattern(pattern) if pattern is not None else "unknown")]
            if node.kind == enums.A_Expr_Kind.AEXPR_BETWEEN:
                return [Predicate(subject, "between")]
            if name in _OPERATORS:
                return [Predicate(subject, "=" if name == "=" else name)]
        return []

    def from_item(node) -> None:
        if isinstance(node, ast.RangeVar):
            tables.append(node.relname)
            if node.alias is not None:
                aliases[node.alias.aliasname] = node.relname
        elif isinstance(node, ast.JoinExpr):
            from_item(node.larg)
            before = len(tables)
            from_item(node.rarg)
            pairs = []
            for predicate_node in _conjuncts(node.quals, ast):
                if isinstance(predicate_node, ast.A_Expr) and predicate_node.name and predicate_node.name[0].sval == "=":
                    left, right = column(predicate_node.lexpr), column(predicate_node.rexpr)
                    if left and right:
                        pairs.append((left, right))
            if len(tables) > before:
                joins.append(Join(tables[-1], tuple(pairs), shape.location, outer=node.jointype != enums.JoinType.JOIN_INNER))

    relation = getattr(statement, "relation", None)
    if relation is not None:
        from_item(relation)
    for item in getattr(statement, "fromClause", None) or getattr(statement, "usingClause", None) or ():
        from_item(item)
    where = getattr(statement, "whereClause", None)
    found_predicates = predicates(where) if where is not None else []
    order = tuple(Ordering(c, item.sortby_dir == enums.SortByDir.SORTBY_DESC)
                  for item in (getattr(statement, "sortClause", None) or ()) for c in [column(item.node)] if c)
    group = tuple(c for item in (getattr(statement, "groupClause", None) or ()) for c in [column(item)] if c)
    pagination = None
    if getattr(statement, "limitOffset", None) is not None:
        pagination = "offset"
    elif getattr(statement, "limitCount", None) is not None:
        pagination = "limit"
    entities = tuple(t for t in tables if t not in {j.target for j in joins}) or tuple(tables[:1])
    return replace(shape, kind=kind, entities=entities, predicates=tuple(found_predicates), joins=tuple(joins),
                   order_by=order, group_by=group, pagination=pagination, entities_are_tables=True)


def _conjuncts(node, ast) -> list:
    if node is None:
        return []
    if isinstance(node, ast.BoolExpr):
        return [n for argument in node.args for n in _conjuncts(argument, ast)]
    return [node]


def _from_sqlglot(shape: QueryShape, sql: str, dialect: str) -> Optional[QueryShape]:
    try:
        import sqlglot
        from sqlglot import exp
        tree = sqlglot.parse_one(sql.replace("$1", "?"), read=dialect)
    except Exception:  # sqlglot's ParseError and friends: leave the shape as written
        return None
    tables = [t.name for t in tree.find_all(exp.Table)]
    if not tables:
        return None
    aliases = {t.alias_or_name: t.name for t in tree.find_all(exp.Table)}

    def column(node) -> Optional[ColumnRef]:
        if not isinstance(node, exp.Column):
            return None
        table = aliases.get(node.table, node.table) if node.table else (tables[0] if len(tables) == 1 else "")
        return ColumnRef(table, node.name, shape.location, table=True) if table else None

    found: list[Predicate] = []
    where = tree.find(exp.Where)
    if where is not None:
        for comparison in where.find_all(exp.EQ, exp.In, exp.Like, exp.ILike, exp.GT, exp.LT, exp.GTE, exp.LTE):
            subject = column(comparison.this)
            if subject is None:
                continue
            if isinstance(comparison, (exp.Like, exp.ILike)):
                literal = comparison.expression
                pattern = like_pattern(literal.this) if isinstance(literal, exp.Literal) else "unknown"
                found.append(Predicate(subject, "like" if isinstance(comparison, exp.Like) else "ilike", pattern))
            else:
                found.append(Predicate(subject, "in" if isinstance(comparison, exp.In) else "="))
    order = tuple(Ordering(c, bool(o.args.get("desc"))) for o in tree.find_all(exp.Ordered) for c in [column(o.this)] if c)
    pagination = "offset" if tree.find(exp.Offset) is not None else "limit" if tree.find(exp.Limit) is not None else None
    return replace(shape, entities=tuple(tables[:1]), predicates=tuple(found), order_by=order, pagination=pagination,
                   entities_are_tables=True)
