"""Query shapes in application code, read with `ast`: what each SQLAlchemy query (1.x `query`,
2.0 `select`, `update`/`delete`/`insert`, session writes) and each `text()` SQL filters, joins,
sorts, groups and pages on, where it is, and whether it runs in a request handler or a task.

Names stay as written (`Order`, `Order.user_id`): the audit resolves classes to tables through
the ORM layer. Local flow is followed within a function (`q = q.filter(...)` over several
statements) and through helpers of the same module that take a query and return it refined.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field, replace
from typing import Optional, Union

from ..schema.model import Location
from .python_names import dotted
from .python_source import PythonFile, walk_in_order


@dataclass(frozen=True, slots=True)
class ColumnRef:
    model: str  # class name as written (`Order`), or the table name when `table` is set
    column: str
    location: Location
    table: bool = False  # `model` names a table (text() SQL, Table objects), not a class


@dataclass(frozen=True, slots=True)
class Predicate:
    column: ColumnRef
    operator: str  # "=", "!=", "<", "<=", ">", ">=", "in", "like", "ilike", "is null", "is not null", "between"
    pattern: Optional[str] = None  # like/ilike: "prefix" (term%), "contains" (%term%), "suffix", "unknown"
    json_as_text: bool = False  # the column is read as text: cast(col, Text), col.astext
    alternative: Optional[tuple[int, int]] = None  # inside an OR: (which OR of the file, which branch)


@dataclass(frozen=True, slots=True)
class Join:
    target: str  # class name, table name, or "" for a subquery
    on: tuple[tuple[ColumnRef, ColumnRef], ...]  # equality pairs of the on-clause
    location: Location
    relationship: Optional[ColumnRef] = None  # `join(Order.items)`: the relationship attribute
    subquery: Optional["QueryShape"] = None
    outer: bool = False


@dataclass(frozen=True, slots=True)
class Ordering:
    column: ColumnRef
    descending: bool = False


@dataclass(frozen=True, slots=True)
class QueryShape:
    kind: str  # "select", "update", "delete", "insert", "write" (session.add/merge/bulk_*)
    entities: tuple[str, ...]  # the classes (or tables) it reads or writes
    location: Location
    function: Optional[str] = None  # the enclosing function, `Class.method` inside a class
    context: str = "other"  # "request", "task" or "other" (the audit follows callers of "other")
    predicates: tuple[Predicate, ...] = ()
    joins: tuple[Join, ...] = ()
    order_by: tuple[Ordering, ...] = ()
    group_by: tuple[ColumnRef, ...] = ()
    aggregates: tuple[tuple[str, ColumnRef], ...] = ()  # ("max", Payment.create_time)
    pagination: Optional[str] = None  # "offset", "paginate", "limit"
    eager: tuple[str, ...] = ()  # relationship attributes loaded by options(selectinload(...), ...)
    subquery: bool = False
    sql: Optional[str] = None  # the text of a text() query
    entities_are_tables: bool = False  # read from SQL: `entities` and join targets are table names


@dataclass(frozen=True, slots=True)
class LoopRead:
    """`for x in <iterable>: ... x.attr ...`: an attribute read on every row of a loop.

    `source` is the query the loop iterates (an index into the file's queries) or, for a loop
    over another loop's relationship (`for item in order.items`), None with `parent` set."""

    variable: str
    attribute: str
    location: Location
    source: Optional[int] = None
    parent: Optional[tuple[int, str]] = None  # (index of the enclosing loop's query, the attribute it iterates)
    rows_from: Optional[str] = None  # the rows come from calling this function (`catalog.search_products(q)`)


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    name: str
    context: str  # "request", "task", "other"
    calls: tuple[str, ...]  # the last part of every name it calls
    location: Location


_REQUEST_DECORATORS = {"route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "view"}
_TASK_DECORATORS = {"task", "shared_task", "actor", "periodic_task", "scheduled_job", "cron", "job", "on_after_configure"}
_TASK_PATHS = re.compile(r"(^|/)(tasks?|jobs?|workers?|celery\w*|cron\w*|scheduler\w*)(/|\.py$)")
_ORDER_SIDE = {"desc": True, "asc": False}
_TEXT_TYPES = {"Text", "String", "TEXT", "VARCHAR", "Unicode", "UnicodeText"}
_COMPARE = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
            ast.Is: "is null", ast.IsNot: "is not null"}
_METHOD_OPERATORS = {"in_": "in", "like": "like", "ilike": "ilike", "contains": "like", "icontains": "ilike",
                     "startswith": "like", "istartswith": "ilike", "endswith": "like", "iendswith": "ilike",
                     "between": "between", "is_": "is null", "isnot": "is not null", "is_not": "is not null",
                     "notin_": "not in", "not_in": "not in", "__eq__": "="}
_METHOD_PATTERNS = {"contains": "contains", "icontains": "contains", "startswith": "prefix", "istartswith": "prefix",
                    "endswith": "suffix", "iendswith": "suffix"}
_EAGER = {"selectinload", "joinedload", "subqueryload", "contains_eager", "immediateload"}
_WRITES = {"add": "write", "add_all": "write", "merge": "write", "bulk_save_objects": "write",
           "bulk_insert_mappings": "write", "bulk_update_mappings": "write"}
_TERMINALS = {"all", "first", "one", "one_or_none", "scalar", "scalars", "scalar_one", "scalar_one_or_none", "count",
              "get", "exists", "unique", "fetchall", "fetchone", "mappings", "delete", "update", "statement"}


def _pattern(source: PythonFile, node: ast.expr) -> str:
    """The shape of a LIKE pattern written as a literal or an f-string (one literal: `"a" "%"` is "unknown")."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _merge_pattern(_pattern(source, node.left), _pattern(source, node.right))
    is_literal = isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))
    if not (is_literal or isinstance(node, ast.JoinedStr)):
        return "unknown"
    literals = string_literals(source, node)
    if len(literals) != 1:
        return "unknown"
    if is_literal:
        return like_pattern(node.value if isinstance(node.value, str) else "")
    # An f-string's text as written: only its ends matter, and a replacement field ends in braces.
    written = literals[0][0]
    opening = _STRING_OPENING.match(written)
    return like_pattern(written[opening.end(): len(written) - len(opening.group(1))] if opening else "")


_STRING_OPENING = re.compile("[A-Za-z]*(\"\"\"|'''|\"|')")  # prefix and quote


def _merge_pattern(left: str, right: str) -> str:
    starts = left in ("contains", "suffix", "wildcard")
    ends = right in ("contains", "prefix", "wildcard")
    return "contains" if starts and ends else "suffix" if starts else "prefix" if ends else "unknown"


def string_literals(source: PythonFile, node: Union[ast.Constant, ast.JoinedStr]) -> list[tuple[str, Location]]:
    """The literals a string expression is written as (`"a" f"{b}"` is two: `ast` joins them into
    one node), each as written, with its location."""
    location = source.location(node)
    if location.end_line is None:
        return [(source.segment(node), location)]
    lines = f"({source.segment(node)})".split("\n")  # in parentheses: the pieces may sit on several lines
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []
    depth, opened = 0, (0, 0)
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline):
            if token.type == tokenize.STRING and depth == 0:
                spans.append((token.start, token.end))
            elif token.type in _FSTRING_STARTS:  # Python 3.12+ splits f-strings into tokens
                depth += 1
                opened = token.start if depth == 1 else opened
            elif token.type in _FSTRING_ENDS:
                depth -= 1
                if depth == 0:
                    spans.append((opened, token.end))
    except (tokenize.TokenError, SyntaxError):
        spans = []
    if not spans:
        return [(source.segment(node), location)]
    found = []
    for (line, column), (end_line, end_column) in spans:
        if line == end_line:
            written = lines[line - 1][column:end_column]
        else:
            written = "\n".join([lines[line - 1][column:], *lines[line: end_line - 1], lines[end_line - 1][:end_column]])
        # the opening parenthesis shifts the first line by one; the other lines are whole source lines
        found.append((written, Location(location.path, location.line + line - 1,
                                        column + (location.column - 1 if line == 1 else 1),
                                        location.line + end_line - 1,
                                        end_column + (location.column - 1 if end_line == 1 else 1))))
    return found


_FSTRING_STARTS = {getattr(tokenize, name) for name in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, name)}
_FSTRING_ENDS = {getattr(tokenize, name) for name in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, name)}


def like_pattern(text: str) -> str:
    if text == "%":
        return "wildcard"
    starts, ends = text.startswith("%"), text.endswith("%")
    return "contains" if starts and ends else "suffix" if starts else "prefix" if ends else "exact"


class _Shape:
    """A query being built, possibly over several statements."""

    def __init__(self, kind: str, entities: tuple[str, ...], location: Location, sql: Optional[str] = None) -> None:
        self.shape = QueryShape(kind, entities, location, sql=sql)

    def add(self, **changes) -> None:
        merged = {key: getattr(self.shape, key) + value if isinstance(value, tuple) else value for key, value in changes.items()}
        self.shape = replace(self.shape, **merged)


class _Reader:
    """Reads the expressions of one file into query shapes."""

    def __init__(self, source: PythonFile) -> None:
        self.source = source
        self.location = source.location
        self.alternatives = 0  # OR groups read so far

    # column expressions

    def column(self, node: ast.expr) -> Optional[tuple[ColumnRef, bool]]:
        """`Model.attr` (through .desc(), label(), cast(..., Text), .astext): the column, and
        whether it is read as text."""
        if isinstance(node, ast.Call):
            method = _method_name(node)
            callee = dotted(node.func) or ""
            if method in ("desc", "asc", "label", "nulls_last", "nulls_first", "collate") and isinstance(node.func, ast.Attribute):
                return self.column(node.func.value)
            arguments = call_arguments(node)
            if callee.rpartition(".")[2] in ("desc", "asc", "lower", "upper", "coalesce") and arguments:
                return self.column(arguments[0][1])
            if callee.rpartition(".")[2] == "cast" and len(arguments) == 2:
                found = self.column(arguments[0][1])
                type_node = arguments[1][1]
                type_name = dotted(type_node.func if isinstance(type_node, ast.Call) else type_node) or ""
                return (found[0], type_name.rpartition(".")[2] in _TEXT_TYPES) if found else None
            return None
        if isinstance(node, ast.Attribute):
            if node.attr == "astext":
                found = self.column(node.value)
                return (found[0], True) if found else None
            name = dotted(node)
            if name is None:
                return None
            parts = name.split(".")
            if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1] not in ("query", "c", "columns"):
                return ColumnRef(parts[-2], parts[-1], self.location(node)), False
            if len(parts) >= 3 and parts[-2] == "c":  # table.c.column
                return ColumnRef(parts[-3], parts[-1], self.location(node), table=True), False
        return None

    def predicates(self, node: ast.expr) -> list[Predicate]:
        found: list[Predicate] = []
        branches = _or_operands(node)
        if len(branches) > 1:
            # An OR is served by indexes only when every branch is: its predicates say which branch they are in.
            self.alternatives += 1
            return [replace(predicate, alternative=(self.alternatives, position))
                    for position, branch in enumerate(branches) for predicate in self.predicates(branch)]
        if isinstance(node, ast.BoolOp):
            return [predicate for value in node.values for predicate in self.predicates(value)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            return self.predicates(node.left) + self.predicates(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.predicates(node.operand)
        if isinstance(node, ast.Compare):
            left = self.column(node.left)
            for operation, comparator in zip(node.ops, node.comparators):
                operator = _COMPARE.get(type(operation), "?")
                right = self.column(comparator)
                if operator in ("is null", "is not null") and not _is_none(comparator):
                    operator = "=" if operator == "is null" else "!="
                if left is not None:
                    found.append(Predicate(left[0], operator, json_as_text=left[1]))
                elif right is not None:
                    found.append(Predicate(right[0], operator, json_as_text=right[1]))
            return found
        if isinstance(node, ast.Call):
            callee = (dotted(node.func) or "").rpartition(".")[2]
            arguments = call_arguments(node)
            if callee in ("and_", "not_"):
                for _, argument in arguments:
                    found += self.predicates(argument)
                return found
            method = _method_name(node)
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            if method in ("in_", "not_in", "notin_") and isinstance(receiver, ast.Call) \
                    and (dotted(receiver.func) or "").rpartition(".")[2] == "tuple_":
                operator = _METHOD_OPERATORS[method]
                return [Predicate(found_column[0], operator) for _, argument in call_arguments(receiver)
                        for found_column in [self.column(argument)] if found_column]
            if method in _METHOD_OPERATORS and isinstance(node.func, ast.Attribute):
                subject = self.column(node.func.value)
                if subject is None:
                    return found
                operator = _METHOD_OPERATORS[method]
                pattern = None
                if method in _METHOD_PATTERNS:
                    pattern = _METHOD_PATTERNS[method]
                elif operator in ("like", "ilike"):
                    pattern = _pattern(self.source, arguments[0][1]) if arguments else "unknown"
                if method in ("is_", "isnot", "is_not") and arguments and not _is_none(arguments[0][1]):
                    operator = "=" if method == "is_" else "!="
                found.append(Predicate(subject[0], operator, pattern, subject[1]))
        return found

    def join_pairs(self, node: ast.expr) -> tuple[tuple[ColumnRef, ColumnRef], ...]:
        pairs = []
        nodes = [node]
        while nodes:
            current = nodes.pop()
            if isinstance(current, ast.BoolOp):
                nodes += current.values
            elif isinstance(current, ast.BinOp) and isinstance(current.op, (ast.BitAnd, ast.BitOr)):
                nodes += [current.left, current.right]
            elif isinstance(current, ast.Call) and (dotted(current.func) or "").rpartition(".")[2] in ("and_", "or_"):
                nodes += [value for _, value in call_arguments(current)]
            elif isinstance(current, ast.Compare) and len(current.ops) == 1 and isinstance(current.ops[0], ast.Eq):
                left, right = self.column(current.left), self.column(current.comparators[0])
                if left and right:
                    pairs.append((left[0], right[0]))
        return tuple(pairs)


def _filter_by_target(shape: QueryShape) -> str:
    """filter_by() applies to the last joined entity: a class, or `Class.relationship`."""
    if shape.joins:
        last = shape.joins[-1]
        if last.relationship is not None:
            return f"{last.relationship.model}.{last.relationship.column}"
        return last.target
    return shape.entities[0] if shape.entities else ""


def _or_operands(node: ast.expr) -> list[ast.expr]:
    """The operands of an OR (`a or b`, `a | b`, `or_(a, b)`, nested ones flattened); [node] otherwise."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        return [operand for value in node.values for operand in _or_operands(value)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _or_operands(node.left) + _or_operands(node.right)
    if isinstance(node, ast.Call) and (dotted(node.func) or "").rpartition(".")[2] == "or_":
        arguments = call_arguments(node)
        if len(arguments) > 1:
            return [operand for _, argument in arguments for operand in _or_operands(argument)]
    return [node]


def call_arguments(call: ast.Call) -> list[tuple[Optional[str], ast.expr]]:
    """A call's arguments in the order written, as (keyword, value); `*rows` and `**options`
    come with no keyword and their value (`rows`, `options`)."""
    written = [*call.args, *call.keywords]
    if call.args and call.keywords and (call.keywords[0].lineno, call.keywords[0].col_offset) < (
            call.args[-1].lineno, call.args[-1].col_offset):
        written.sort(key=lambda node: (node.lineno, node.col_offset))  # f(key=1, *rest)
    return [(node.arg, node.value) if isinstance(node, ast.keyword)
            else (None, node.value if isinstance(node, ast.Starred) else node) for node in written]


def _positional(call: ast.Call) -> list[ast.expr]:
    return [value for keyword, value in call_arguments(call) if keyword is None]


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _method_name(node: ast.Call) -> Optional[str]:
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _entity(node: ast.expr) -> Optional[str]:
    """A class (`Order`), a column's class (`Order.id`), or a table object (`orders_table`)."""
    name = dotted(node)
    if name is None:
        if isinstance(node, ast.Call) and (dotted(node.func) or "").rpartition(".")[2] in ("count", "max", "min", "sum", "avg"):
            arguments = call_arguments(node)
            return _entity(arguments[0][1]) if arguments else None
        if isinstance(node, ast.Call) and _method_name(node) == "label" and isinstance(node.func, ast.Attribute):
            return _entity(node.func.value)
        return None
    parts = name.split(".")
    for part in reversed(parts):
        if part[:1].isupper():
            return part
    return None


def _string_value(node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _FunctionReader:
    """One function body (or the module's top level): local variables holding queries, loops
    over them, and the shapes they end as."""

    def __init__(self, reader: _Reader, helpers: dict) -> None:
        self.reader, self.helpers = reader, helpers
        self.variables: dict[str, _Shape] = {}
        self.shapes: list[_Shape] = []
        self.loops: list[tuple[str, object, object]] = []  # (variable, source, where it is read: a node or a body)
        self.calls: set[str] = set()

    def new_shape(self, *args, **kwargs) -> _Shape:
        shape = _Shape(*args, **kwargs)
        self.shapes.append(shape)
        return shape

    # chains

    def chain(self, node: ast.expr) -> Optional[_Shape]:
        """The query an expression builds, extending a variable's query when it starts from one."""
        if isinstance(node, ast.Name):
            return self.variables.get(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr == "query" and isinstance(node.value, ast.Name) and node.value.id[:1].isupper():
                return self.new_shape("select", (node.value.id,), self.reader.location(node))
            if node.attr in ("c", "columns"):
                return None
            return self.chain(node.value) if node.attr in _TERMINALS else None
        if not isinstance(node, ast.Call):
            return None
        callee = dotted(node.func) or ""
        last = callee.rpartition(".")[2]
        method = _method_name(node)
        arguments = _positional(node)
        if last in ("select", "update", "delete", "insert") and (callee == last or callee.endswith(("sqlalchemy." + last, "sa." + last, "db." + last))):
            entities = tuple(e for e in (_entity(a) for a in arguments) if e)
            shape = self.new_shape(last if last != "select" else "select", entities, self.reader.location(node))
            if last == "select":
                self._aggregates(shape, arguments)
            return shape
        if last == "text" and arguments and _string_value(arguments[0]) is not None:
            return self.new_shape("select", (), self.reader.location(node), sql=_string_value(arguments[0]))
        if method == "query" and isinstance(node.func, ast.Attribute):
            receiver = dotted(node.func.value) or ""
            if receiver.rpartition(".")[2] in ("session", "db_session", "Session", "s") or receiver.endswith("session"):
                entities = tuple(e for e in (_entity(a) for a in arguments) if e)
                shape = self.new_shape("select", entities, self.reader.location(node))
                self._aggregates(shape, arguments)
                return shape
        if method in ("update", "delete", "insert") and isinstance(node.func, ast.Attribute) and not arguments:
            table = dotted(node.func.value) or ""
            inner = self.chain(node.func.value)
            if inner is not None:
                inner.add(kind=method)
                return inner
            if table and not table.endswith("session"):
                return self.new_shape(method, (table.rpartition(".")[2].replace("__table__", "") or table,), self.reader.location(node))
        if method in ("execute", "scalars", "scalar", "scalar_one", "scalar_one_or_none") and arguments:
            if _string_value(arguments[0]) is not None:
                return self.new_shape("select", (), self.reader.location(node), sql=_string_value(arguments[0]))
            statement = self.chain(arguments[0])
            if statement is not None:
                return statement
        if isinstance(node.func, ast.Name) and last in self.helpers and arguments:
            inner = self.chain(arguments[0])
            if inner is not None:
                self.helpers[last](inner)
                return inner
        if not isinstance(node.func, ast.Attribute):
            return None
        inner = self.chain(node.func.value)
        if inner is None:
            return None
        self.refine(inner, method, node)
        return inner

    def _aggregates(self, shape: _Shape, arguments: list) -> None:
        for argument in arguments:
            call = argument.func.value if isinstance(argument, ast.Call) and _method_name(argument) == "label" else argument
            if isinstance(call, ast.Call):
                name = (dotted(call.func) or "").rpartition(".")[2]
                values = call_arguments(call)
                if name in ("max", "min", "count", "sum", "avg") and values:
                    found = self.reader.column(values[0][1])
                    if found:
                        shape.add(aggregates=((name, found[0]),))

    def refine(self, shape: _Shape, method: Optional[str], node: ast.Call) -> None:
        reader = self.reader
        arguments = _positional(node)
        if method in ("filter", "where", "having"):
            shape.add(predicates=tuple(p for a in arguments for p in reader.predicates(a)))
        elif method == "filter_by":
            target = _filter_by_target(shape.shape)
            shape.add(predicates=tuple(Predicate(ColumnRef(target, k.arg, reader.location(k)), "=")
                                       for k in node.keywords if k.arg is not None))
        elif method in ("join", "outerjoin", "join_from"):
            self._join(shape, arguments, node, outer=method == "outerjoin" or any(
                k.arg == "isouter" for k in node.keywords))
        elif method == "order_by":
            shape.add(order_by=tuple(Ordering(found[0], _descending(a)) for a in arguments
                                     for found in [reader.column(a)] if found))
        elif method == "group_by":
            shape.add(group_by=tuple(found[0] for a in arguments for found in [reader.column(a)] if found))
        elif method in ("offset", "slice"):
            shape.add(pagination="offset")
        elif method == "paginate":
            shape.add(pagination="paginate")
        elif method == "limit" and shape.shape.pagination is None:
            shape.add(pagination="limit")
        elif method == "options":
            shape.add(eager=tuple(_eager_attributes(self.reader.source, node)))
        elif method in ("subquery", "cte", "alias", "scalar_subquery"):
            shape.add(subquery=True)

    def _join(self, shape: _Shape, arguments: list, node: ast.Call, outer: bool) -> None:
        if not arguments:
            return
        target_node = arguments[0]
        location = self.reader.location(node)
        on = self.reader.join_pairs(arguments[1]) if len(arguments) > 1 else ()
        if isinstance(target_node, ast.Name) and target_node.id in self.variables:
            sub = self.variables[target_node.id]
            if sub in self.shapes:
                self.shapes.remove(sub)  # read as part of this query
            shape.add(joins=(Join("", on, location, subquery=sub.shape, outer=outer),))
            return
        relationship = self.reader.column(target_node)
        if relationship is not None and not on:
            shape.add(joins=(Join("", (), location, relationship=relationship[0], outer=outer),))
            return
        target = _entity(target_node) or (dotted(target_node) or "").rpartition(".")[2]
        shape.add(joins=(Join(target, on, location, outer=outer),))

    # statements

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                shape = self.expression(node.value)
                name = node.targets[0].id
                if shape is not None:
                    self.variables[name] = shape
                else:
                    self.variables.pop(name, None)
        elif isinstance(node, (ast.Expr, ast.Return)):
            if node.value is not None:
                self.expression(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.loop(node.target, node.iter, node.body)
            self.block(node.body)
        elif isinstance(node, (ast.If, ast.While)):
            self.expression(node.test)
            self.block(node.body)
            self.block(node.orelse)  # an `elif` is an If there
        elif isinstance(node, (ast.With, ast.AsyncWith, ast.Try)):
            for item in getattr(node, "items", ()):
                self.expression(item.context_expr)
            self.block(node.body)
            for handler in getattr(node, "handlers", ()):
                self.block(handler.body)

    def block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def expression(self, node: ast.expr) -> Optional[_Shape]:
        """Every query an expression holds (a chain, or chains passed as arguments); returns the
        outermost one."""
        for call in _calls_outermost_first(node):
            self.calls.add((dotted(call.func) or "").rpartition(".")[2] or _method_name(call) or "")
        shape = self.chain(node)
        if shape is not None:
            return shape
        if isinstance(node, ast.Call):
            method = _method_name(node) or (dotted(node.func) or "").rpartition(".")[2]
            arguments = [value for _, value in call_arguments(node)]
            if method in _WRITES:
                written = arguments + [e.value if isinstance(e, ast.Starred) else e for a in arguments
                                       if isinstance(a, (ast.List, ast.Tuple)) for e in a.elts]
                entities = tuple(dict.fromkeys(e for e in (_entity(w.func) if isinstance(w, ast.Call) else None for w in written) if e))
                if entities:
                    self.new_shape(_WRITES[method], entities, self.reader.location(node))
            found = None
            for argument in arguments:
                found = self.expression(argument) or found
            if isinstance(node.func, ast.Attribute):
                found = self.expression(node.func.value) or found
            return found
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            for clause in node.generators:
                self.loop(clause.target, clause.iter, node)
            return None
        if isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.expression(element.value if isinstance(element, ast.Starred) else element)
        if isinstance(node, ast.Compare):
            self.expression(node.left)
        return None

    def loop(self, target: ast.expr, iterable: ast.expr, scope) -> None:
        """A for statement (`scope` is its body) or comprehension: where its rows come from, and where they are read."""
        source = self.relationship_source(iterable)
        shape = self.expression(iterable)
        if source is None and shape is not None:
            source = ("query", shape)
        elif source is None and isinstance(iterable, ast.Call) and (dotted(iterable.func) or ""):
            source = ("function", (dotted(iterable.func) or "").rpartition(".")[2])
        if isinstance(target, ast.Name) and source is not None:
            self.loops.append((target.id, source, scope))

    def relationship_source(self, node: ast.expr) -> Optional[tuple[str, str, str]]:
        """A loop over another loop variable's attribute (`for item in order.items`)."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and any(variable == node.value.id for variable, _, _ in self.loops):
            return ("attribute", node.value.id, node.attr)
        return None


def _calls_outermost_first(node: ast.AST) -> list[ast.Call]:
    """The calls in `node` as written, outer before inner, not those inside a lambda."""
    return [call for call in walk_in_order(node, prune=(ast.Lambda,)) if isinstance(call, ast.Call)]


def _descending(node: ast.expr) -> bool:
    if isinstance(node, ast.Call):
        method = _method_name(node) or (dotted(node.func) or "").rpartition(".")[2]
        if method in _ORDER_SIDE:
            return _ORDER_SIDE[method]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return True
    return False


def _eager_attributes(source: PythonFile, node: ast.Call) -> list[str]:
    found = []
    for call in _calls_outermost_first(node):
        name = (dotted(call.func) or "").rpartition(".")[2] or _method_name(call)
        if name in _EAGER:
            for _, argument in call_arguments(call):
                attribute = dotted(argument)
                if attribute:
                    found.append(attribute.rpartition(".")[2])
                elif isinstance(argument, ast.Constant) and isinstance(argument.value, (str, bytes)) \
                        and len(string_literals(source, argument)) == 1:  # `"a" "b"` is not read
                    found.append(str(argument.value))
    return found


@dataclass
class QueryFacts:
    queries: list[QueryShape] = field(default_factory=list)
    loop_reads: list[LoopRead] = field(default_factory=list)
    functions: list[FunctionFacts] = field(default_factory=list)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _decorator_context(node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> Optional[str]:
    for decorator in node.decorator_list:
        expression = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = (dotted(expression) or "").rpartition(".")[2]
        if name in _REQUEST_DECORATORS:
            return "request"
        if name in _TASK_DECORATORS:
            return "task"
    return None


def read_queries(source: PythonFile) -> QueryFacts:
    """Every query shape, loop read and function of one parsed file."""
    path, module = source.path, source.tree
    reader = _Reader(source)
    facts = QueryFacts()
    module_context = "task" if _TASK_PATHS.search(path) else "other"
    helpers = _helpers(source, reader)
    row_helpers = _row_helpers(module, reader)

    def read_function(body: list[ast.stmt], name: Optional[str], context: str, location: Location) -> None:
        function = _FunctionReader(reader, helpers)
        function.block(body)
        base = len(facts.queries)
        index_of = {}
        for position_in_file, shape in enumerate(function.shapes):
            index_of[id(shape)] = base + position_in_file
            facts.queries.append(replace(shape.shape, function=name, context=context))
        _loop_reads(function, facts, index_of, row_helpers)
        if name is not None:
            facts.functions.append(FunctionFacts(name, context, tuple(sorted(c for c in function.calls if c)), location))

    read_function([s for s in module.body if not isinstance(s, (*_FUNCTIONS, ast.ClassDef))], None, module_context,
                  Location(path, 1))
    for statement in module.body:
        if isinstance(statement, _FUNCTIONS):
            read_function(statement.body, statement.name, _decorator_context(statement) or module_context,
                          source.name_location(statement))
        elif isinstance(statement, ast.ClassDef):
            for member in statement.body:
                if isinstance(member, _FUNCTIONS):
                    read_function(member.body, f"{statement.name}.{member.name}",
                                  _decorator_context(member) or module_context, source.name_location(member))
    return facts


def _loop_reads(function: _FunctionReader, facts: QueryFacts, index_of: dict, row_helpers: dict) -> None:
    """Attribute reads on loop variables (directly, or by a helper of the module the row is passed
    to), with where the loop's rows come from."""
    sources: dict[str, tuple] = {}
    for variable, source, scope in function.loops:
        if source[0] == "query":
            sources[variable] = ("query", index_of.get(id(source[1])))
        else:
            sources[variable] = source
        for attribute, location in _attribute_reads(scope, variable, function.reader, row_helpers):
            kind = sources[variable]
            if kind[0] == "function":
                facts.loop_reads.append(LoopRead(variable, attribute, location, rows_from=kind[1]))
            elif kind[0] == "query":
                if kind[1] is not None:
                    facts.loop_reads.append(LoopRead(variable, attribute, location, source=kind[1]))
            else:
                parent = sources.get(kind[1])
                if parent is not None and parent[0] == "query" and parent[1] is not None:
                    facts.loop_reads.append(LoopRead(variable, attribute, location, parent=(parent[1], kind[2])))


def _attribute_reads(scope, variable: str, reader: _Reader,
                     row_helpers: Optional[dict] = None) -> list[tuple[str, Location]]:
    """`variable.attr` reads in `scope` (a node, or a body of statements), and those of module
    functions `variable` is passed to first."""
    found: list[tuple[str, Location]] = []
    for node in walk_in_order(scope):
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == variable:
                found.append((node.attr, reader.location(node)))
        elif isinstance(node, ast.Call) and row_helpers and isinstance(node.func, ast.Name) and node.func.id in row_helpers:
            arguments = call_arguments(node)
            if arguments and isinstance(arguments[0][1], ast.Name) and arguments[0][1].id == variable:
                found.extend(row_helpers[node.func.id])
    return found


def _row_helpers(module: ast.Module, reader: _Reader) -> dict[str, list[tuple[str, Location]]]:
    """Module functions and the attributes they read of their first parameter (`_product_json(p)`)."""
    found = {}
    for statement in module.body:
        if isinstance(statement, _FUNCTIONS) and statement.args.args:
            reads = _attribute_reads(statement.body, statement.args.args[0].arg, reader)
            if reads:
                found[statement.name] = reads
    return found


def _helpers(source: PythonFile, reader: _Reader) -> dict:
    """Module functions that take a query first and return it refined: name -> how they refine it."""
    helpers: dict = {}
    for statement in source.tree.body:
        if not isinstance(statement, _FUNCTIONS) or not statement.args.args:
            continue
        parameter = statement.args.args[0].arg
        # Only the body's own lines count, not a one-line body (`def f(q): return q`).
        returns = [s for s in statement.body if isinstance(s, ast.Return) and s.value is not None] \
            if not on_header_line(source, statement.body) else []
        if len(returns) != 1:
            continue

        def refine(shape: _Shape, expression=returns[0].value, parameter=parameter) -> None:
            function = _FunctionReader(reader, {})
            function.variables[parameter] = shape
            function.chain(expression)

        helpers[statement.name] = refine
    return helpers


def on_header_line(source: PythonFile, body: list[ast.stmt]) -> bool:
    """A body written on the line of its `def`/`if`/`with`... after the colon (`if x: y = 1`)."""
    first = source.location(body[0])
    return bool(source.lines[first.line - 1][: first.column - 1].strip())
