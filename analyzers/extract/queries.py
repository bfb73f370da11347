"""Query shapes in application code, read with libcst: what each SQLAlchemy query (1.x `query`,
2.0 `select`, `update`/`delete`/`insert`, session writes) and each `text()` SQL filters, joins,
sorts, groups and pages on, where it is, and whether it runs in a request handler or a task.

Names stay as written (`Order`, `Order.user_id`): the audit resolves classes to tables through
the ORM layer. Local flow is followed within a function (`q = q.filter(...)` over several
statements) and through helpers of the same module that take a query and return it refined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional

import libcst as cst

from ..schema.model import Location
from .python_names_cst import dotted


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
_COMPARE = {cst.Equal: "=", cst.NotEqual: "!=", cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">",
            cst.GreaterThanEqual: ">=", cst.In: "in", cst.Is: "is null", cst.IsNot: "is not null"}
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


def _pattern(node: cst.BaseExpression) -> str:
    """The shape of a LIKE pattern written as a literal or an f-string."""
    if isinstance(node, cst.SimpleString):
        text = node.evaluated_value if isinstance(node.evaluated_value, str) else ""
    elif isinstance(node, cst.FormattedString):
        text = "".join(part.value if isinstance(part, cst.FormattedStringText) else "x" for part in node.parts)
    elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _merge_pattern(_pattern(node.left), _pattern(node.right))
    else:
        return "unknown"
    return like_pattern(text)


def _merge_pattern(left: str, right: str) -> str:
    starts = left in ("contains", "suffix", "wildcard")
    ends = right in ("contains", "prefix", "wildcard")
    return "contains" if starts and ends else "suffix" if starts else "prefix" if ends else "unknown"


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

    def __init__(self, path: str, position) -> None:
        self.path, self.position = path, position
        self.alternatives = 0  # OR groups read so far

    def location(self, node: cst.CSTNode) -> Location:
        found = self.position(node)
        return Location(self.path, found.start.line, found.start.column + 1, found.end.line, found.end.column + 1)

    # column expressions

    def column(self, node: cst.BaseExpression) -> Optional[tuple[ColumnRef, bool]]:
        """`Model.attr` (through .desc(), label(), cast(..., Text), .astext): the column, and
        whether it is read as text."""
        if isinstance(node, cst.Call):
            method = _method_name(node)
            callee = dotted(node.func) or ""
            if method in ("desc", "asc", "label", "nulls_last", "nulls_first", "collate") and isinstance(node.func, cst.Attribute):
                return self.column(node.func.value)
            if callee.rpartition(".")[2] in ("desc", "asc", "lower", "upper", "coalesce") and node.args:
                return self.column(node.args[0].value)
            if callee.rpartition(".")[2] == "cast" and len(node.args) == 2:
                found = self.column(node.args[0].value)
                type_node = node.args[1].value
                type_name = dotted(type_node.func if isinstance(type_node, cst.Call) else type_node) or ""
                return (found[0], type_name.rpartition(".")[2] in _TEXT_TYPES) if found else None
            return None
        if isinstance(node, cst.Attribute):
            if node.attr.value == "astext":
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

    def predicates(self, node: cst.BaseExpression) -> list[Predicate]:
        found: list[Predicate] = []
        branches = _or_operands(node)
        if len(branches) > 1:
            # An OR is served by indexes only when every branch is: its predicates say which branch they are in.
            self.alternatives += 1
            return [replace(predicate, alternative=(self.alternatives, position))
                    for position, branch in enumerate(branches) for predicate in self.predicates(branch)]
        if isinstance(node, cst.BooleanOperation):
            return self.predicates(node.left) + self.predicates(node.right)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitAnd):
            return self.predicates(node.left) + self.predicates(node.right)
        if isinstance(node, cst.UnaryOperation):
            return self.predicates(node.expression)
        if isinstance(node, cst.Comparison):
            left = self.column(node.left)
            for target in node.comparisons:
                operator = _COMPARE.get(type(target.operator), "?")
                right = self.column(target.comparator)
                if operator in ("is null", "is not null") and not _is_none(target.comparator):
                    operator = "=" if operator == "is null" else "!="
                if left is not None:
                    found.append(Predicate(left[0], operator, json_as_text=left[1]))
                elif right is not None:
                    found.append(Predicate(right[0], operator, json_as_text=right[1]))
            return found
        if isinstance(node, cst.Call):
            callee = (dotted(node.func) or "").rpartition(".")[2]
            if callee in ("and_", "not_"):
                for argument in node.args:
                    found += self.predicates(argument.value)
                return found
            method = _method_name(node)
            receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
            if method in ("in_", "not_in", "notin_") and isinstance(receiver, cst.Call) \
                    and (dotted(receiver.func) or "").rpartition(".")[2] == "tuple_":
                operator = _METHOD_OPERATORS[method]
                return [Predicate(found_column[0], operator) for argument in receiver.args
                        for found_column in [self.column(argument.value)] if found_column]
            if method in _METHOD_OPERATORS and isinstance(node.func, cst.Attribute):
                subject = self.column(node.func.value)
                if subject is None:
                    return found
                operator = _METHOD_OPERATORS[method]
                pattern = None
                if method in _METHOD_PATTERNS:
                    pattern = _METHOD_PATTERNS[method]
                elif operator in ("like", "ilike"):
                    pattern = _pattern(node.args[0].value) if node.args else "unknown"
                if method in ("is_", "isnot", "is_not") and node.args and not _is_none(node.args[0].value):
                    operator = "=" if method == "is_" else "!="
                found.append(Predicate(subject[0], operator, pattern, subject[1]))
        return found

    def join_pairs(self, node: cst.BaseExpression) -> tuple[tuple[ColumnRef, ColumnRef], ...]:
        pairs = []
        nodes = [node]
        while nodes:
            current = nodes.pop()
            if isinstance(current, cst.BooleanOperation) or (
                    isinstance(current, cst.BinaryOperation) and isinstance(current.operator, (cst.BitAnd, cst.BitOr))):
                nodes += [current.left, current.right]
            elif isinstance(current, cst.Call) and (dotted(current.func) or "").rpartition(".")[2] in ("and_", "or_"):
                nodes += [a.value for a in current.args]
            elif isinstance(current, cst.Comparison) and len(current.comparisons) == 1 \
                    and isinstance(current.comparisons[0].operator, cst.Equal):
                left, right = self.column(current.left), self.column(current.comparisons[0].comparator)
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


def _or_operands(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The operands of an OR (`a or b`, `a | b`, `or_(a, b)`, nested ones flattened); [node] otherwise."""
    if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
        return _or_operands(node.left) + _or_operands(node.right)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _or_operands(node.left) + _or_operands(node.right)
    if isinstance(node, cst.Call) and (dotted(node.func) or "").rpartition(".")[2] == "or_" and len(node.args) > 1:
        return [operand for argument in node.args for operand in _or_operands(argument.value)]
    return [node]


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _method_name(node: cst.Call) -> Optional[str]:
    return node.func.attr.value if isinstance(node.func, cst.Attribute) else None


def _entity(node: cst.BaseExpression) -> Optional[str]:
    """A class (`Order`), a column's class (`Order.id`), or a table object (`orders_table`)."""
    name = dotted(node)
    if name is None:
        if isinstance(node, cst.Call) and (dotted(node.func) or "").rpartition(".")[2] in ("count", "max", "min", "sum", "avg"):
            return _entity(node.args[0].value) if node.args else None
        if isinstance(node, cst.Call) and _method_name(node) == "label" and isinstance(node.func, cst.Attribute):
            return _entity(node.func.value)
        return None
    parts = name.split(".")
    for part in reversed(parts):
        if part[:1].isupper():
            return part
    return None


def _string_value(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class _FunctionReader:
    """One function body (or the module's top level): local variables holding queries, loops
    over them, and the shapes they end as."""

    def __init__(self, reader: _Reader, helpers: dict) -> None:
        self.reader, self.helpers = reader, helpers
        self.variables: dict[str, _Shape] = {}
        self.shapes: list[_Shape] = []
        self.loops: list[tuple[str, object, cst.CSTNode]] = []  # (variable, source, where it is read)
        self.calls: set[str] = set()

    def new_shape(self, *args, **kwargs) -> _Shape:
        shape = _Shape(*args, **kwargs)
        self.shapes.append(shape)
        return shape

    # chains

    def chain(self, node: cst.BaseExpression) -> Optional[_Shape]:
        """The query an expression builds, extending a variable's query when it starts from one."""
        if isinstance(node, cst.Name):
            return self.variables.get(node.value)
        if isinstance(node, cst.Attribute):
            if node.attr.value == "query" and isinstance(node.value, cst.Name) and node.value.value[:1].isupper():
                return self.new_shape("select", (node.value.value,), self.reader.location(node))
            if node.attr.value in ("c", "columns"):
                return None
            return self.chain(node.value) if node.attr.value in _TERMINALS else None
        if not isinstance(node, cst.Call):
            return None
        callee = dotted(node.func) or ""
        last = callee.rpartition(".")[2]
        method = _method_name(node)
        arguments = [a.value for a in node.args if a.keyword is None]
        if last in ("select", "update", "delete", "insert") and (callee == last or callee.endswith(("sqlalchemy." + last, "sa." + last, "db." + last))):
            entities = tuple(e for e in (_entity(a) for a in arguments) if e)
            shape = self.new_shape(last if last != "select" else "select", entities, self.reader.location(node))
            if last == "select":
                self._aggregates(shape, arguments)
            return shape
        if last == "text" and arguments and _string_value(arguments[0]) is not None:
            return self.new_shape("select", (), self.reader.location(node), sql=_string_value(arguments[0]))
        if method == "query" and isinstance(node.func, cst.Attribute):
            receiver = dotted(node.func.value) or ""
            if receiver.rpartition(".")[2] in ("session", "db_session", "Session", "s") or receiver.endswith("session"):
                entities = tuple(e for e in (_entity(a) for a in arguments) if e)
                shape = self.new_shape("select", entities, self.reader.location(node))
                self._aggregates(shape, arguments)
                return shape
        if method in ("update", "delete", "insert") and isinstance(node.func, cst.Attribute) and not arguments:
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
        if isinstance(node.func, cst.Name) and last in self.helpers and arguments:
            inner = self.chain(arguments[0])
            if inner is not None:
                self.helpers[last](inner)
                return inner
        if not isinstance(node.func, cst.Attribute):
            return None
        inner = self.chain(node.func.value)
        if inner is None:
            return None
        self.refine(inner, method, node)
        return inner

    def _aggregates(self, shape: _Shape, arguments: list) -> None:
        for argument in arguments:
            call = argument.func.value if isinstance(argument, cst.Call) and _method_name(argument) == "label" else argument
            if isinstance(call, cst.Call):
                name = (dotted(call.func) or "").rpartition(".")[2]
                if name in ("max", "min", "count", "sum", "avg") and call.args:
                    found = self.reader.column(call.args[0].value)
                    if found:
                        shape.add(aggregates=((name, found[0]),))

    def refine(self, shape: _Shape, method: Optional[str], node: cst.Call) -> None:
        reader = self.reader
        arguments = [a.value for a in node.args if a.keyword is None]
        if method in ("filter", "where", "having"):
            shape.add(predicates=tuple(p for a in arguments for p in reader.predicates(a)))
        elif method == "filter_by":
            target = _filter_by_target(shape.shape)
            shape.add(predicates=tuple(Predicate(ColumnRef(target, a.keyword.value, reader.location(a)), "=")
                                       for a in node.args if a.keyword is not None))
        elif method in ("join", "outerjoin", "join_from"):
            self._join(shape, arguments, node, outer=method == "outerjoin" or any(
                a.keyword is not None and a.keyword.value == "isouter" for a in node.args))
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
            shape.add(eager=tuple(_eager_attributes(node)))
        elif method in ("subquery", "cte", "alias", "scalar_subquery"):
            shape.add(subquery=True)

    def _join(self, shape: _Shape, arguments: list, node: cst.Call, outer: bool) -> None:
        if not arguments:
            return
        target_node = arguments[0]
        location = self.reader.location(node)
        on = self.reader.join_pairs(arguments[1]) if len(arguments) > 1 else ()
        if isinstance(target_node, cst.Name) and target_node.value in self.variables:
            sub = self.variables[target_node.value]
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

    def statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.small(small)
        elif isinstance(node, cst.For):
            self.loop(node.target, node.iter, node.body)
            self.block(node.body)
        elif isinstance(node, (cst.If, cst.While)):
            self.expression(node.test)
            self.block(node.body)
            if node.orelse is not None:
                orelse = node.orelse
                if isinstance(orelse, cst.If):
                    self.statement(orelse)
                else:
                    self.block(orelse.body)
        elif isinstance(node, (cst.With, cst.Try)):
            if isinstance(node, cst.With):
                for item in node.items:
                    self.expression(item.item)
            self.block(node.body)
            for handler in getattr(node, "handlers", ()):
                self.block(handler.body)

    def block(self, body: cst.BaseSuite) -> None:
        if isinstance(body, cst.IndentedBlock):
            for statement in body.body:
                self.statement(statement)
        elif isinstance(body, cst.SimpleStatementSuite):
            for small in body.body:
                self.small(small)

    def small(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            shape = self.expression(node.value)
            name = node.targets[0].target.value
            if shape is not None:
                self.variables[name] = shape
            else:
                self.variables.pop(name, None)
        elif isinstance(node, (cst.Expr, cst.Return)) and node.value is not None:
            self.expression(node.value)

    def expression(self, node: cst.BaseExpression) -> Optional[_Shape]:
        """Every query an expression holds (a chain, or chains passed as arguments); returns the
        outermost one."""
        for call in _calls_outermost_first(node):
            self.calls.add((dotted(call.func) or "").rpartition(".")[2] or _method_name(call) or "")
        shape = self.chain(node)
        if shape is not None:
            return shape
        if isinstance(node, cst.Call):
            method = _method_name(node) or (dotted(node.func) or "").rpartition(".")[2]
            if method in _WRITES:
                written = [a.value for a in node.args]
                written += [e.value for a in node.args if isinstance(a.value, (cst.List, cst.Tuple)) for e in a.value.elements]
                entities = tuple(dict.fromkeys(e for e in (_entity(w.func) if isinstance(w, cst.Call) else None for w in written) if e))
                if entities:
                    self.new_shape(_WRITES[method], entities, self.reader.location(node))
            found = None
            for argument in node.args:
                found = self.expression(argument.value) or found
            if isinstance(node.func, cst.Attribute):
                found = self.expression(node.func.value) or found
            return found
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            for clause in _comp_fors(node.for_in):
                self.loop(clause.target, clause.iter, node)
            return None
        if isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self.expression(element.value)
        if isinstance(node, (cst.Comparison,)):
            self.expression(node.left)
        return None

    def loop(self, target: cst.BaseExpression, iterable: cst.BaseExpression, scope: cst.CSTNode) -> None:
        """A for statement or comprehension: where its rows come from, and where they are read."""
        source = self.relationship_source(iterable)
        shape = self.expression(iterable)
        if source is None and shape is not None:
            source = ("query", shape)
        elif source is None and isinstance(iterable, cst.Call) and (dotted(iterable.func) or ""):
            source = ("function", (dotted(iterable.func) or "").rpartition(".")[2])
        if isinstance(target, cst.Name) and source is not None:
            self.loops.append((target.value, source, scope))

    def relationship_source(self, node: cst.BaseExpression) -> Optional[tuple[str, str, str]]:
        """A loop over another loop variable's attribute (`for item in order.items`)."""
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                and any(variable == node.value.value for variable, _, _ in self.loops):
            return ("attribute", node.value.value, node.attr.value)
        return None


def _calls_outermost_first(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

        def visit_Lambda(self, _node: cst.Lambda) -> bool:
            return False

    node.visit(_Calls())
    return found


def _comp_fors(clause):
    while clause is not None:
        yield clause
        clause = clause.inner_for_in


def _descending(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Call):
        method = _method_name(node) or (dotted(node.func) or "").rpartition(".")[2]
        if method in _ORDER_SIDE:
            return _ORDER_SIDE[method]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return True
    return False


def _eager_attributes(node: cst.Call) -> list[str]:
    found = []
    for call in _calls_outermost_first(node):
        name = (dotted(call.func) or "").rpartition(".")[2] or _method_name(call)
        if name in _EAGER:
            for argument in call.args:
                attribute = dotted(argument.value)
                if attribute:
                    found.append(attribute.rpartition(".")[2])
                elif isinstance(argument.value, cst.SimpleString):
                    found.append(str(argument.value.evaluated_value))
    return found


@dataclass
class QueryFacts:
    queries: list[QueryShape] = field(default_factory=list)
    loop_reads: list[LoopRead] = field(default_factory=list)
    functions: list[FunctionFacts] = field(default_factory=list)


def _decorator_context(node: cst.FunctionDef) -> Optional[str]:
    for decorator in node.decorators:
        expression = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        name = (dotted(expression) or "").rpartition(".")[2]
        if name in _REQUEST_DECORATORS:
            return "request"
        if name in _TASK_DECORATORS:
            return "task"
    return None


def read_queries(module: cst.Module, path: str, position) -> QueryFacts:
    """Every query shape, loop read and function of one parsed module."""
    reader = _Reader(path, position)
    facts = QueryFacts()
    module_context = "task" if _TASK_PATHS.search(path) else "other"
    helpers = _helpers(module, reader)
    row_helpers = _row_helpers(module, reader)

    def read_function(body_owner, name: Optional[str], context: str, location: Location) -> None:
        function = _FunctionReader(reader, helpers)
        if isinstance(body_owner, cst.Module):
            for statement in body_owner.body:
                if not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                    function.statement(statement)
        else:
            function.block(body_owner.body)
        base = len(facts.queries)
        index_of = {}
        for position_in_file, shape in enumerate(function.shapes):
            index_of[id(shape)] = base + position_in_file
            facts.queries.append(replace(shape.shape, function=name, context=context))
        _loop_reads(function, facts, index_of, row_helpers)
        if name is not None:
            facts.functions.append(FunctionFacts(name, context, tuple(sorted(c for c in function.calls if c)), location))

    read_function(module, None, module_context, Location(path, 1))
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            read_function(statement, statement.name.value, _decorator_context(statement) or module_context,
                          reader.location(statement.name))
        elif isinstance(statement, cst.ClassDef):
            for member in statement.body.body:
                if isinstance(member, cst.FunctionDef):
                    read_function(member, f"{statement.name.value}.{member.name.value}",
                                  _decorator_context(member) or module_context, reader.location(member.name))
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


def _attribute_reads(scope: cst.CSTNode, variable: str, reader: _Reader,
                     row_helpers: Optional[dict] = None) -> list[tuple[str, Location]]:
    """`variable.attr` reads in `scope`, and those of module functions `variable` is passed to first."""
    found: list[tuple[str, Location]] = []

    class _Reads(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == variable:
                found.append((node.attr.value, reader.location(node)))

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value in (row_helpers or {}) and node.args \
                    and isinstance(node.args[0].value, cst.Name) and node.args[0].value.value == variable:
                found.extend(row_helpers[node.func.value])

    scope.visit(_Reads())
    return found


def _row_helpers(module: cst.Module, reader: _Reader) -> dict[str, list[tuple[str, Location]]]:
    """Module functions and the attributes they read of their first parameter (`_product_json(p)`)."""
    found = {}
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef) and statement.params.params:
            reads = _attribute_reads(statement.body, statement.params.params[0].name.value, reader)
            if reads:
                found[statement.name.value] = reads
    return found


def _helpers(module: cst.Module, reader: _Reader) -> dict:
    """Module functions that take a query first and return it refined: name -> how they refine it."""
    helpers: dict = {}
    for statement in module.body:
        if not isinstance(statement, cst.FunctionDef) or not statement.params.params:
            continue
        parameter = statement.params.params[0].name.value
        returns = [s for line in statement.body.body if isinstance(line, cst.SimpleStatementLine)
                   for s in line.body if isinstance(s, cst.Return) and s.value is not None]
        if len(returns) != 1:
            continue

        def refine(shape: _Shape, expression=returns[0].value, parameter=parameter) -> None:
            function = _FunctionReader(reader, {})
            function.variables[parameter] = shape
            function.chain(expression)

        helpers[statement.name.value] = refine
    return helpers
