"""Query shapes in application code, read with `ast`: what each SQLAlchemy query (1.x `query`,
2.0 `select`, `update`/`delete`/`insert`, session writes) and each `text()` SQL filters, joins,
sorts, groups and pages on, where it is, and whether it runs in a request handler or a task.

Names stay as written (`Order`, `models.Order`, `cls`, `self.model`): the audit qualifies them
through the file's imports and the class a method runs on, then resolves classes to tables
through the ORM layer. Within a function a query is followed over several statements
(`q = q.filter(...)`), through local names for columns (`name = cast("Any", Entry.name)`),
condition lists (`conditions.append(...)`, `where(*conditions)`) and aliases. A query that comes
from elsewhere keeps where it comes from (`QueryOrigin`): a parameter, or the value of a call
(`self._base_query()`, an imported function, a repository's method); `analyzers/query_flow.py`
follows those across functions, classes and modules.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple, Optional, Union

from ..dataclass_copy import replace as copy_replace
from ..schema.model import Location
from .moved_items import begin_read, note_moved
from .python_names import dotted
from .python_source import PythonFile, first_line, walk_in_order
from ..lazy_pattern import LazyPattern


@dataclass(frozen=True, slots=True)
class ColumnRef:
    """`Order.status` as written. `model` is the class as written (`Order`, `models.Order`, `cls`,
    `self.model`), or the table name when `table` is set."""

    model: str
    column: str  # "" when `dynamic`
    location: Location
    table: bool = False  # `model` names a table (text() SQL, Table objects), not a class
    through: Optional[str] = None  # the column is on the target of this relationship of `model` (filter_by after a join)
    dynamic: Optional[str] = None  # getattr(Model, name): the column is chosen at run time by this expression


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm of an if/elif chain that every call takes one arm of: the chain ends in `else`,
    or it dispatches on what one value is (every test a call on the same first argument:
    `is_member(subject)` / `is_customer(subject)`, `isinstance(x, A)` / `isinstance(x, B)`),
    not on whether optional arguments were given (`if email:` / `elif name:`). A condition
    every arm of such a chain makes narrows every call."""

    chain: tuple[int, int]  # line and column of the chain's `if`
    index: int  # which arm
    count: int  # how many arms the chain has


@dataclass(frozen=True, slots=True)
class Predicate:
    column: ColumnRef
    operator: str  # "=", "!=", "<", "<=", ">", ">=", "in", "like", "ilike", "is null", "is not null", "between", "@>"
    pattern: Optional[str] = None  # like/ilike: "prefix" (term%), "contains" (%term%), "suffix", "unknown"
    json_as_text: bool = False  # the column is read as text: cast(col, Text), col.astext, col["key"]
    json_key: bool = False  # a key of the document is read (`col["key"].as_string()`), not the whole document
    alternative: Optional[tuple[int, int]] = None  # inside an OR: (which OR of the file, which branch)
    negated: bool = False  # `~Order.is_deleted`: a boolean (or a hybrid property) tested false
    expression: bool = False  # on an expression over the column (a hybrid property's): a plain index may not serve it
    conditional: bool = False  # added under an `if`, a loop or a `match` case: only some calls make it
    arm: Optional["Arm"] = None  # conditional: the arm of an if/elif chain every call takes one of (see `Arm`)


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
    expression: bool = False  # by an expression over the column (`func.lower(name)`): an index on it may not serve


@dataclass(frozen=True, slots=True)
class QueryOrigin:
    """Where a query comes from when its function does not build it: a parameter, or what a
    call returns (`self._base_query()`, `repository.get_base_statement()`, `with_search(q, term)`)."""

    kind: str  # "parameter" or "call"
    name: str  # the parameter; or the callee as written: "self._base_query", "super().get_base_statement", "repo.list"
    arguments: tuple[tuple[str, int], ...] = ()  # call: (slot, index in the file's queries of the query passed there);
    # a slot is a position ("0", "1", ...) or a keyword


@dataclass(frozen=True, slots=True)
class QueryShape:
    kind: str  # "select", "update", "delete", "insert", "write" (session.add/merge/bulk_*)
    entities: tuple[str, ...]  # the classes (or tables) it reads or writes, as written
    location: Location
    function: Optional[str] = None  # the enclosing function, `Class.method` inside a class
    context: str = "other"  # "request", "task" or "other" (the audit follows callers of "other")
    predicates: tuple[Predicate, ...] = ()
    joins: tuple[Join, ...] = ()
    order_by: tuple[Ordering, ...] = ()
    group_by: tuple[ColumnRef, ...] = ()
    aggregates: tuple[tuple[str, ColumnRef], ...] = ()  # ("max", Payment.create_time)
    pagination: Optional[str] = None  # "offset", "paginate", "limit"
    limit: Optional[int] = None  # with pagination "limit": the number every call gives, when written as one
    eager: tuple[str, ...] = ()  # relationship attributes loaded by options(selectinload(...), ...); "*": unknown ones
    subquery: bool = False
    sql: Optional[str] = None  # the text of a text() query
    entities_are_tables: bool = False  # read from SQL: `entities` and join targets are table names
    origin: Optional[QueryOrigin] = None  # None: built here (from a model, select(), text())
    returned: bool = False  # the function returns it
    executed: bool = False  # its rows are fetched here (all(), first(), execute(), a loop over it)
    embedded: bool = False  # joined into another query of the function as a subquery (reported as part of that one)


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
    rows_from: Optional[str] = None  # the rows come from calling this function, as written (`catalog.search_products`)
    function: Optional[str] = None  # the function the loop is in (None: module level)


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    name: str  # "f", "Class.method", a nested function "f.inner"
    context: str  # "request", "task", "other" (from its decorators and its module's path)
    calls: tuple[str, ...]  # the last part of every name it calls
    location: Location
    parameters: tuple[str, ...] = ()  # in order: positional ones (self/cls included), then keyword-only
    decorators: tuple[str, ...] = ()  # the last part of each decorator's name ("staticmethod", "route")
    callees: tuple[str, ...] = ()  # every callee as written ("self._base_query", "order_service.list", "get")
    variable_classes: tuple[tuple[str, str], ...] = ()  # local name -> class as written: `repo = OrderRepository(s)`,
    # `repo = OrderRepository.from_session(s)`, `repo: OrderRepository`, `self.repo = OrderRepository(s)`
    imports: tuple[tuple[str, str, int], ...] = ()  # imports inside the function: (local name, dotted target, level)
    class_values: tuple[tuple[str, str], ...] = ()  # a class name bound to a call: `Model = get_model()` -> "get_model"
    returned_classes: tuple[str, ...] = ()  # classes it returns, as written (`return Users`)
    last_line: int = 0  # where its body ends (0: not known)
    # callees as written, called inside `for` or `while` bodies (once per row), each with the rows its loops iterate,
    # outermost first: the function whose result a `for` walks, as written, or "" (a `while`, rows not from a call)
    looped_callees: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # names in a dict, list, tuple or set literal it builds, not called there, as written: a
    # dispatch table (`loaders = {"teams": load_teams_csv}`, then `loaders[kind](rows)`)
    tabled: tuple[str, ...] = ()
    # the last part of every name inside its FastAPI dependencies (`Depends(...)`, `Security(...)`
    # as a parameter's default or annotation, or in its decorators' `dependencies=[...]`):
    # `Depends(require_permission(Permission.FULL_ADMIN_PANEL_ACCESS))` gives
    # ("require_permission", "Permission", "FULL_ADMIN_PANEL_ACCESS")
    dependencies: tuple[str, ...] = ()


def _tabled_names(nodes) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for node in nodes:
        elements = node.values if isinstance(node, ast.Dict) else node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else ()
        for element in elements:
            written = dotted(element) if isinstance(element, (ast.Name, ast.Attribute)) else None
            if written:
                found[written] = None
    return tuple(found)


@dataclass(frozen=True, slots=True)
class HybridAttribute:
    """A `hybrid_property` of a class as SQL reads it: the conditions its expression makes (a
    boolean one: `is_deleted` is `deleted_at IS NOT NULL`) and the columns it reads."""

    class_name: str  # as declared in the file
    attribute: str
    predicates: tuple[Predicate, ...]
    columns: tuple[ColumnRef, ...]
    location: Location
    renamed: bool = False  # `_name = mapped_column("name", ...)`: the attribute is the column itself, under another key


@dataclass(frozen=True, slots=True)
class QueryCall:
    """One `filter`/`filter_by`/`where`/`join`/`outerjoin`/`order_by`/`group_by` call of application
    code, for the query coverage: what it names, and the query it refines (None: it refines
    something not traced to a query)."""

    method: str
    location: Location
    query: Optional[int] = None  # index of the shape it refines in the file's queries
    columns: tuple[ColumnRef, ...] = ()  # the columns its arguments name
    tables: tuple[str, ...] = ()  # join: the class or table joined, as written
    relationships: tuple[ColumnRef, ...] = ()  # join: the relationship attribute joined through
    unread: tuple[str, ...] = ()  # arguments read as no column or table, as written (shortened)
    receiver: str = ""  # what it is called on, as written, when `query` is None


COUNTED_CALLS = ("filter", "filter_by", "where", "join", "outerjoin", "order_by", "group_by")
# Modules whose `where`/`filter` are not queries (numpy.where, pandas.DataFrame.filter).
_NOT_QUERY_RECEIVERS = {"np", "numpy", "pd", "pandas", "torch", "tf", "jnp", "re", "os", "os.path", "posixpath",
                        "ntpath", "shlex", "string", "str", "bytes"}

_REQUEST_DECORATORS = {"route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "view"}
_TASK_DECORATORS = {"task", "shared_task", "actor", "periodic_task", "scheduled_job", "cron", "job", "on_after_configure"}
_TASK_PATHS = LazyPattern(r"(^|/)(tasks?|jobs?|workers?|celery\w*|cron\w*|schedule[dr]\w*)(/|\.py$)")
_ORDER_SIDE = {"desc": True, "asc": False}
_TEXT_TYPES = {"Text", "String", "TEXT", "VARCHAR", "Unicode", "UnicodeText"}
_COMPARE = {ast.Eq: "=", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.In: "in",
            ast.Is: "is null", ast.IsNot: "is not null"}
_METHOD_OPERATORS = {"in_": "in", "like": "like", "ilike": "ilike", "contains": "like", "icontains": "ilike",
                     "startswith": "like", "istartswith": "ilike", "endswith": "like", "iendswith": "ilike",
                     "between": "between", "is_": "is null", "isnot": "is not null", "is_not": "is not null",
                     "notin_": "not in", "not_in": "not in", "__eq__": "=", "notlike": "not like", "not_like": "not like",
                     "notilike": "not like", "not_ilike": "not like", "match": "match", "regexp_match": "regexp",
                     "isnot_distinct_from": "=", "is_not_distinct_from": "=", "is_distinct_from": "!=",
                     "isdistinct_from": "!="}
_METHOD_PATTERNS = {"contains": "contains", "icontains": "contains", "startswith": "prefix", "istartswith": "prefix",
                    "endswith": "suffix", "iendswith": "suffix"}
# Column functions whose first argument is the column they read (an index on the plain column may not serve them).
_COLUMN_FUNCTIONS = {"desc", "asc", "lower", "upper", "coalesce", "nullslast", "nullsfirst", "nulls_last",
                     "nulls_first", "distinct", "trim", "date", "abs", "collate"}
_EAGER = {"selectinload", "joinedload", "subqueryload", "contains_eager", "immediateload"}
_WRITES = {"add": "write", "add_all": "write", "merge": "write", "bulk_save_objects": "write",
           "bulk_insert_mappings": "write", "bulk_update_mappings": "write"}
_TERMINALS = {"all", "first", "one", "one_or_none", "scalar", "scalars", "scalar_one", "scalar_one_or_none", "count",
              "get", "exists", "unique", "fetchall", "fetchone", "fetchmany", "mappings", "delete", "update", "statement",
              "first_or_404", "one_or_404", "get_or_404", "partitions", "tuples"}
# What fetches rows (or one object): a name holding its value holds a result, not a query.
_FETCHES = {"all", "first", "one", "one_or_none", "scalar", "scalars", "scalar_one", "scalar_one_or_none", "count",
            "fetchall", "fetchone", "fetchmany", "mappings", "unique", "first_or_404", "one_or_404", "get_or_404",
            "execute", "stream", "stream_scalars", "paginate", "partitions", "tuples", "exec"}
# Methods that only a query (Query, Select, Result) has: a name or a call's value used with one is a query.
_QUERY_METHODS = {"filter", "filter_by", "where", "having", "join", "outerjoin", "join_from", "order_by", "group_by",
                  "offset", "limit", "slice", "paginate", "options", "with_entities", "with_only_columns",
                  "select_from", "subquery", "scalar_subquery", "cte", "distinct", "with_for_update", "execution_options",
                  "add_columns", "correlate", "all", "first", "one", "one_or_none", "scalar_one", "scalar_one_or_none",
                  "scalars", "unique", "yield_per", "params", "union", "union_all", "intersect", "except_"}
# Methods of INSERT/UPDATE/DELETE statements that keep the statement (never a dict's `values()`: followed
# only on a chain that is already a statement).
_STATEMENT_METHODS = {"values", "ordered_values", "returning", "inline", "correlate_except", "on_conflict_do_update",
                      "on_conflict_do_nothing"}
# Session methods that run a statement given as their first argument.
_EXECUTES = {"execute", "scalars", "scalar", "scalar_one", "scalar_one_or_none", "stream", "stream_scalars",
             "exec"}
# Callees whose value is never a query (returned calls of these are not followed).
_NOT_QUERIES = {"len", "str", "int", "float", "bool", "dict", "list", "tuple", "set", "sorted", "print", "isinstance",
                "jsonify", "render_template", "redirect", "url_for", "abort", "format", "join", "get", "items", "keys",
                "values", "append", "dumps", "loads", "Response", "JSONResponse", "HTTPException", "super"}
# Parameter names and annotations that say a parameter holds a query.
_QUERY_NAMES = LazyPattern(r"^(q|qs|query|stmt|statement|select|sel|subquery|sq|base|base_query|base_statement)$"
                          r"|(^|_)(query|statement|stmt|queryset|select)(_|$)")
_QUERY_ANNOTATIONS = LazyPattern(r"\b(Select|Query|ScalarSelect|Subquery|CTE|Executable|TextClause)\b")


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


_STRING_OPENING = LazyPattern("[A-Za-z]*(\"\"\"|'''|\"|')")  # prefix and quote


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

    def __init__(self, kind: str, entities: tuple[str, ...], location: Location, sql: Optional[str] = None,
                 origin: Optional[tuple] = None) -> None:
        self.shape = QueryShape(kind, entities, location, sql=sql)
        # ("parameter", name) or ("call", callee, [(slot, _Shape)]); made a QueryOrigin once indexes are known
        self.origin = origin
        self.branches: tuple[int, ...] = ()  # the branches (if, loop, match case) around where the query was begun

    def add(self, **changes) -> None:
        merged = {key: getattr(self.shape, key) + value if isinstance(value, tuple) else value for key, value in changes.items()}
        self.shape = replace(self.shape, **merged)


class _Reader:
    """Reads the expressions of one file into columns and predicates; `scope` is the function
    being read (its local names for columns, condition lists and aliases)."""

    def __init__(self, source: PythonFile) -> None:
        self.source = source
        self.location = source.location
        self.alternatives = 0  # OR groups read so far
        self.unread: list[str] = []  # conditions read as no column since the last `take_unread()`
        self.scope: Optional["_FunctionReader"] = None
        # Condition lists being read: `clause = [clause]` lists itself (the parameter it replaced).
        self._lists_read: set[str] = set()

    def take_unread(self) -> tuple[str, ...]:
        found, self.unread = tuple(self.unread), []
        return found

    def _not_read(self, node: ast.expr) -> None:
        if not isinstance(node, ast.Constant) and not self.derived(node):
            self.unread.append(_shortened(self.source.segment(node)))

    def derived(self, node: ast.expr) -> bool:
        """A column of a subquery or union held in a local name (`results.c.score.desc()`): read,
        though it maps to no table's column (no index can serve it)."""
        node = _unwrapped(node)
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        name = dotted(node) if isinstance(node, ast.Attribute) else None
        head = name.split(".")[0] if name else None
        return head is not None and self.scope is not None and head in self.scope.variables

    # column expressions

    def column(self, node: ast.expr) -> Optional[tuple[ColumnRef, bool]]:
        """`Model.attr` (through .desc(), label(), cast(..., Text), .astext, `col["key"]`, a local
        name bound to one, `typing.cast(T, col)`, `getattr(Model, name)`): the column, and whether
        it is read as text (or as a part of its value)."""
        found = self._column(node)
        return (found.ref, found.as_text) if found else None

    def _column(self, node: ast.expr) -> Optional["_Read"]:
        node = _unwrapped(node)
        scope = self.scope
        if isinstance(node, ast.Name):
            return scope.columns.get(node.id) if scope is not None else None
        if isinstance(node, ast.Subscript):
            found = self._column(node.value)
            return found._replace(as_text=True, json_key=True) if found else None
        if isinstance(node, ast.BinOp):  # `Order.created_at + interval`: an expression over the column
            found = self._column(node.left) or self._column(node.right)
            return found._replace(expression=True) if found else None
        if isinstance(node, ast.Compare) and len(node.comparators) == 1:
            # `(Challenge.position == 0).asc()`: ordered by a condition over the column
            found = self._column(node.left)
            return found._replace(expression=True) if found else None
        if isinstance(node, ast.IfExp):  # `Order.name.desc() if is_desc else Order.name.asc()`: one column either way
            body, orelse = self._column(node.body), self._column(node.orelse)
            same = body is not None and orelse is not None and (body.ref.model, body.ref.column) == (
                orelse.ref.model, orelse.ref.column)
            return body if same else None
        if isinstance(node, ast.Call):
            method = _method_name(node)
            callee = dotted(node.func) or ""
            last = callee.rpartition(".")[2]
            arguments = call_arguments(node)
            if isinstance(node.func, ast.Name) and scope is not None and node.func.id in scope.order_functions \
                    and arguments:
                return self._column(arguments[0][1])  # `direction(Order.created_at)`, `direction = desc if d else asc`
            if method in _ORDER_MODIFIERS and isinstance(node.func, ast.Attribute):
                found = self._column(node.func.value)
                if found is not None or not arguments:  # `Order.id.desc()`; else `sa.desc(Order.id)`, read below
                    return found
            if method in _JSON_ACCESSORS and isinstance(node.func, ast.Attribute):
                found = self._column(node.func.value)
                return found._replace(as_text=True) if found else None
            if last in ("desc", "asc", "nullslast", "nullsfirst", "distinct", "collate") and arguments:
                return self._column(arguments[0][1])
            if last == "cast" and len(arguments) == 2:
                found = self._column(arguments[0][1])
                if found is not None:  # sqlalchemy's cast(column, Type)
                    type_node = arguments[1][1]
                    type_name = dotted(type_node.func if isinstance(type_node, ast.Call) else type_node) or ""
                    return found._replace(as_text=found.as_text or type_name.rpartition(".")[2] in _TEXT_TYPES,
                                          expression=True)
                return self._column(arguments[1][1])  # typing's cast(Type, value)
            if last == "getattr" and len(arguments) >= 2 and isinstance(node.func, ast.Name):
                model = self.entity(arguments[0][1])
                if model is None:
                    return None
                name = _string_value(arguments[1][1])
                location = self.location(node)
                if name is not None:
                    return _Read(ColumnRef(model, name, location), False, True, False)
                return _Read(ColumnRef(model, "", location, dynamic=_shortened(self.source.segment(arguments[1][1]), 60)),
                             False, True, False)
            if (last in _COLUMN_FUNCTIONS or callee.startswith(("func.", "sa.func.", "db.func.", "sqlalchemy.func."))) \
                    and arguments:
                # `func.lower(User.email)`, `func.date(Order.created_at)`: an expression over the column
                found = next((f for f in (self._column(a) for _, a in arguments) if f), None)
                return found._replace(expression=True) if found else None
            return None
        if isinstance(node, ast.Attribute):
            if node.attr == "astext":
                found = self._column(node.value)
                return found._replace(as_text=True) if found else None
            if isinstance(node.value, ast.Name) and scope is not None and node.value.id in scope.aliases:
                return _Read(ColumnRef(scope.aliases[node.value.id], node.attr, self.location(node)), False, True, False)
            name = dotted(node)
            if name is None:
                return None
            parts = name.split(".")
            if scope is not None and parts[0] in scope.variables and len(parts) in (2, 3) \
                    and (len(parts) == 2 or parts[1] in ("c", "columns")):
                sub = scope.variables[parts[0]].shape  # `sub.c.x`: the subquery's column, read where it comes from
                if sub.entities:
                    return _Read(ColumnRef(sub.entities[0], parts[-1], self.location(node)), False, True, False)
                return None
            if len(parts) >= 3 and parts[-2] in ("c", "columns"):  # table.c.column
                owner = parts[-3]
                if owner == "__table__" and len(parts) >= 4:  # Model.__table__.c.column
                    return _Read(ColumnRef(".".join(parts[:-3]), parts[-1], self.location(node)), False, True, False)
                if scope is not None and owner in scope.aliases:
                    return _Read(ColumnRef(scope.aliases[owner], parts[-1], self.location(node)), False, True, False)
                return _Read(ColumnRef(owner, parts[-1], self.location(node), table=True), False, True, False)
            column, owner = parts[-1], parts[:-1]
            if column[:1].isupper() or column in ("query", "c", "columns", "__table__") or not owner:
                return None
            if owner[-1][:1].isupper():
                return _Read(ColumnRef(".".join(owner), column, self.location(node)), False, True, False)
            if owner == ["cls"] or (len(owner) == 2 and owner[0] in ("self", "cls")):
                # `cls.email` in a classmethod, `self.model.id` in a repository: the class is known later
                return _Read(ColumnRef(".".join(owner), column, self.location(node)), False, False, False)
        return None

    def entity(self, node: ast.expr) -> Optional[str]:
        """The class (or table object) an expression names, as written: `Order`, `models.Order`,
        `Order.id`'s class, `func.count(Order.id)`'s, an alias's, `cls`, `self.model`."""
        node = _unwrapped(node)
        scope = self.scope
        if isinstance(node, ast.Name):
            if scope is not None and node.id in scope.aliases:
                return scope.aliases[node.id]
            if node.id[:1].isupper() or node.id == "cls":
                return node.id
            return None
        name = dotted(node)
        if name is None:
            if isinstance(node, ast.Call):
                method = _method_name(node)
                if method in ("label", "desc", "asc", "distinct", "over", "cast") and isinstance(node.func, ast.Attribute):
                    found = self.entity(node.func.value)
                    if found is not None:
                        return found
                last = (dotted(node.func) or "").rpartition(".")[2]
                arguments = call_arguments(node)
                if last in ("count", "max", "min", "sum", "avg", "distinct", "lower", "upper", "coalesce", "array_agg",
                            "json_agg", "date", "date_trunc") and arguments:
                    return next((e for e in (self.entity(a) for _, a in arguments) if e), None)
            return None
        parts = name.split(".")
        if parts[0] in ("self", "cls") and len(parts) >= 2 and not parts[1][:1].isupper():
            return ".".join(parts[:2])  # `self.model`, `cls.email`'s class (`cls.x` is read when qualified)
        if scope is not None and parts[0] in scope.aliases and len(parts) == 2:
            return scope.aliases[parts[0]]
        if scope is not None and parts[0] in scope.variables and len(parts) >= 2:
            sub = scope.variables[parts[0]].shape  # `sub.c.x` of a subquery: what the subquery reads
            return sub.entities[0] if sub.entities else None
        for position in range(len(parts), 0, -1):
            if parts[position - 1][:1].isupper():
                return ".".join(parts[:position])
        return None

    def predicates(self, node: ast.expr) -> list[Predicate]:
        node = _unwrapped(node)
        found: list[Predicate] = []
        branches = self._or_operands(node)
        if len(branches) > 1 or (len(branches) == 1 and isinstance(node, ast.Call) and _is_or_of_a_list(node)):
            # (`or_(*matches)` built in a loop has as many branches as the loop ran)
            # An OR is served by indexes only when every branch is: its predicates say which branch they are in.
            self.alternatives += 1
            alternative = self.alternatives
            return [replace(predicate, alternative=(alternative, position))
                    for position, branch in enumerate(branches) for predicate in self.predicates(branch)]
        if len(branches) == 1 and branches[0] is not node:
            return self.predicates(branches[0])
        if isinstance(node, ast.BoolOp):
            return [predicate for value in node.values for predicate in self.predicates(value)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            return self.predicates(node.left) + self.predicates(node.right)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, (ast.Invert, ast.Not)):
                subject = self._column(node.operand)
                if subject is not None:  # `~Order.is_deleted`: a boolean column tested false
                    return [Predicate(subject.ref, "=", json_as_text=subject.as_text, json_key=subject.json_key,
                                      negated=True, expression=subject.expression)]
            return self.predicates(node.operand)
        if isinstance(node, ast.Starred):
            return [p for element in self._elements(node.value) for p in self.predicates(element)]
        if isinstance(node, ast.Compare):
            left = self._column(node.left)
            for operation, comparator in zip(node.ops, node.comparators):
                operator = _COMPARE.get(type(operation), "?")
                right = self._column(comparator)
                if operator in ("is null", "is not null") and not _is_none(comparator):
                    operator = "=" if operator == "is null" else "!="
                if operator in ("=", "!=") and _is_none(comparator):
                    operator = "is null" if operator == "=" else "is not null"
                # a class attribute beats `cls.x`/`self.model.x` when both sides read as columns
                chosen = left if left is not None and (left.strong or right is None or not right.strong) else right
                if chosen is not None:
                    found.append(Predicate(chosen.ref, operator, json_as_text=chosen.as_text, json_key=chosen.json_key,
                                           expression=chosen.expression))
                if isinstance(comparator, ast.Call):
                    self._subqueries(comparator)
            if not found:
                self._not_read(node)
            return found
        if isinstance(node, ast.Name) and self.scope is not None and node.id in self.scope.lists \
                and node.id not in self._lists_read:
            self._lists_read.add(node.id)
            try:
                return [p for element in self.scope.lists[node.id] for p in self.predicates(element)]
            finally:
                self._lists_read.discard(node.id)
        if isinstance(node, (ast.Attribute, ast.Name, ast.Subscript)):
            subject = self._column(node)
            if subject is not None:  # `Order.is_active`: a boolean column tested true
                return [Predicate(subject.ref, "=", json_as_text=subject.as_text, json_key=subject.json_key,
                                  expression=subject.expression)]
            self._not_read(node)
            return found
        if isinstance(node, ast.Call):
            callee = (dotted(node.func) or "").rpartition(".")[2]
            arguments = self.arguments(node)
            if callee in ("and_", "not_"):
                for argument in arguments:
                    found += self.predicates(argument)
                return found
            method = _method_name(node)
            receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
            if method in ("in_", "not_in", "notin_") and isinstance(receiver, ast.Call) \
                    and (dotted(receiver.func) or "").rpartition(".")[2] == "tuple_":
                operator = _METHOD_OPERATORS[method]
                return [Predicate(found_column[0], operator) for argument in self.arguments(receiver)
                        for found_column in [self.column(argument)] if found_column]
            if method == "any" and len(arguments) == 1 and isinstance(receiver, ast.expr) \
                    and _is_value(arguments[0], self.scope):
                # `User.group_ids.any(group_id)`: a value in an ARRAY column (`group_id = ANY(group_ids)`)
                subject = self._column(receiver)
                if subject is not None:
                    return [Predicate(subject.ref, "@>", json_key=subject.json_key, expression=subject.expression)]
            if method in ("any", "has") and isinstance(receiver, ast.expr):
                # `Order.items.any(Item.sku == x)`: EXISTS over the related table, its own conditions
                for argument in arguments:
                    found += self.predicates(argument)
                return found
            if method in _METHOD_OPERATORS and isinstance(node.func, ast.Attribute):
                subject = self._column(node.func.value)
                if subject is None:
                    self._not_read(node)
                    return found
                operator = _METHOD_OPERATORS[method]
                pattern = None
                if method in _METHOD_PATTERNS:
                    pattern = _METHOD_PATTERNS[method]
                elif operator in ("like", "ilike"):
                    pattern = _pattern(self.source, arguments[0]) if arguments else "unknown"
                if method in ("is_", "isnot", "is_not") and arguments and not _is_none(arguments[0]):
                    operator = "=" if method == "is_" else "!="
                if method == "contains" and arguments and isinstance(arguments[0], (ast.List, ast.Tuple, ast.Dict, ast.Set)):
                    operator, pattern = "@>", None  # an ARRAY/JSONB column containing the values, not a substring
                for argument in arguments:
                    self._subqueries(argument)
                found.append(Predicate(subject.ref, operator, pattern, subject.as_text, json_key=subject.json_key,
                                       expression=subject.expression))
                return found
            if self.scope is not None and self._subqueries(node):
                return found  # `exists().where(...)`, `select(...).exists()`: a query of its own
        self._not_read(node)
        return found

    def _subqueries(self, node: ast.expr) -> bool:
        """Read a query written inside a condition (`Order.id.in_(select(...))`, `exists().where()`)
        as a query of its own; whether there was one."""
        if self.scope is None or not isinstance(_unwrapped(node), (ast.Call, ast.Name)):
            return False
        return self.scope.expression(node) is not None

    def _or_operands(self, node: ast.expr) -> list[ast.expr]:
        """The operands of an OR (`a or b`, `a | b`, `or_(a, b)`, `or_(*conditions)`), nested ones
        flattened; [node] otherwise."""
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return [operand for value in node.values for operand in self._or_operands(value)]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._or_operands(node.left) + self._or_operands(node.right)
        if isinstance(node, ast.Call) and (dotted(node.func) or "").rpartition(".")[2] == "or_":
            arguments = self.arguments(node)
            if len(arguments) > 1:
                return [operand for argument in arguments for operand in self._or_operands(argument)]
            if len(arguments) == 1:
                return [arguments[0]]
        return [node]

    def arguments(self, call: ast.Call) -> list[ast.expr]:
        """A call's positional arguments, a `*conditions` list of the function expanded into its elements."""
        found: list[ast.expr] = []
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                found += self._elements(argument.value)
            else:
                found.append(argument)
        return found

    def _elements(self, node: ast.expr) -> list[ast.expr]:
        """The elements of a list written in place or built in a local name (`append`, `extend`, `+=`)."""
        node = _unwrapped(node)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [e for element in node.elts for e in (self._elements(element.value) if isinstance(element, ast.Starred)
                                                         else [element])]
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return [node.elt]
        if isinstance(node, ast.Name) and self.scope is not None and node.id in self.scope.lists:
            return list(self.scope.lists[node.id])
        return [node]

    def join_pairs(self, node: ast.expr) -> tuple[tuple[ColumnRef, ColumnRef], ...]:
        pairs = []
        nodes = [node]
        while nodes:
            current = _unwrapped(nodes.pop())
            if isinstance(current, ast.BoolOp):
                nodes += current.values
            elif isinstance(current, ast.BinOp) and isinstance(current.op, (ast.BitAnd, ast.BitOr)):
                nodes += [current.left, current.right]
            elif isinstance(current, ast.Call) and (dotted(current.func) or "").rpartition(".")[2] in ("and_", "or_"):
                nodes += self.arguments(current)
            elif isinstance(current, ast.Compare) and len(current.ops) == 1 and isinstance(current.ops[0], ast.Eq):
                left, right = self.column(current.left), self.column(current.comparators[0])
                if left and right:
                    pairs.append((left[0], right[0]))
        return tuple(pairs)


class _Read(NamedTuple):
    """A column as an expression reads it."""

    ref: ColumnRef
    as_text: bool  # read as text or as a part of its value (cast(col, Text), col["key"], .astext)
    strong: bool  # written on a class, an alias or a table (`Order.x`), not `cls.x`/`self.model.x`
    expression: bool  # an expression over the column (`func.lower(col)`, `col + 1`): a plain index may not serve it
    json_key: bool = False  # a key of a JSON document (`col["key"]`), not the whole document


_ORDER_MODIFIERS = {"desc", "asc", "label", "nulls_last", "nulls_first", "nullslast", "nullsfirst", "collate", "distinct"}
_JSON_ACCESSORS = {"as_string", "as_integer", "as_float", "as_boolean", "as_numeric", "as_json"}


def _is_or_of_a_list(node: ast.Call) -> bool:
    return (dotted(node.func) or "").rpartition(".")[2] == "or_" and any(isinstance(a, ast.Starred) for a in node.args)


def _is_value(node: ast.expr, scope) -> bool:
    """A plain value (a constant, a local name holding no condition or column), not a criterion."""
    node = _unwrapped(node)
    if isinstance(node, ast.Constant):
        return node.value is not None and not isinstance(node.value, bool)
    return isinstance(node, ast.Name) and scope is not None and node.id not in scope.lists \
        and node.id not in scope.columns and node.id not in scope.variables


def _aggregate(node: ast.expr) -> bool:
    """`func.count()`, `desc(func.count(0))`: an aggregate over rows, with no column to index."""
    node = _unwrapped(node)
    while isinstance(node, ast.Call):
        last = (dotted(node.func) or "").rpartition(".")[2] or (_method_name(node) or "")
        if last in ("count", "sum", "max", "min", "avg"):
            return True
        if last in _ORDER_SIDE and node.args:  # `db.desc(func.count(0))`
            node = node.args[0]
        elif last in _ORDER_MODIFIERS and isinstance(node.func, ast.Attribute):
            node = node.func.value
        elif last in _ORDER_MODIFIERS and node.args:
            node = node.args[0]
        else:
            return False
    return False


def _unwrapped(node: ast.expr) -> ast.expr:
    """`await x` is x; `typing.cast(T, x)` (the type checker's, not SQL's) is x."""
    while True:
        if isinstance(node, ast.Await):
            node = node.value
        elif isinstance(node, ast.Call) and (dotted(node.func) or "") in ("cast", "typing.cast", "t.cast") \
                and len(node.args) == 2 and not node.keywords and _is_type(node.args[0]):
            node = node.args[1]
        elif isinstance(node, ast.Call) and (dotted(node.func) or "").rpartition(".")[2] == "type_coerce" and node.args:
            node = node.args[0]  # type_coerce(expression, Boolean): the expression, typed for Python
        else:
            return node


def _fetches(node: ast.expr) -> bool:
    """`q.all()`, `session.execute(stmt)`, `q.first_or_404()`: the value is rows or an object."""
    node = _unwrapped(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in _FETCHES
    return False


def _is_type(node: ast.expr) -> bool:
    """The first argument of `typing.cast`: a string annotation, or a type (`Any`, `Select[tuple[X]]`)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Subscript):
        return True
    name = dotted(node)
    return name is not None and (name.rpartition(".")[2] in ("Any", "object") or name.split(".")[0] in ("typing", "t"))


def filter_by_target(shape: QueryShape) -> tuple[str, Optional[str]]:
    """filter_by() applies to the last joined entity: a class, or `Class.relationship`'s target:
    (class as written, relationship)."""
    if shape.joins:
        last = shape.joins[-1]
        if last.relationship is not None:
            return last.relationship.model, last.relationship.column
        return last.target, None
    return (shape.entities[0] if shape.entities else ""), None


def call_arguments(call: ast.Call) -> list[tuple[Optional[str], ast.expr]]:
    """A call's arguments in the order written, as (keyword, value); `*rows` and `**options`
    come with no keyword and their value (`rows`, `options`)."""
    written = [*call.args, *call.keywords]
    if call.args and call.keywords and (call.keywords[0].lineno, call.keywords[0].col_offset) < (
            call.args[-1].lineno, call.args[-1].col_offset):
        written.sort(key=lambda node: (node.lineno, node.col_offset))  # f(key=1, *rest)
    return [(node.arg, node.value) if isinstance(node, ast.keyword)
            else (None, node.value if isinstance(node, ast.Starred) else node) for node in written]


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _method_name(node: ast.Call) -> Optional[str]:
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _shortened(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _string_value(node: ast.expr) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def callee_text(func: ast.expr) -> Optional[str]:
    """A callee as written, with calls in its receiver kept as `()`: `self._base`,
    `super().get_base_statement`, `OrderRepository.from_session().get_all`; None for others."""
    name = dotted(func)
    if name is not None:
        return name
    if isinstance(func, ast.Attribute):
        inner = _unwrapped(func.value)
        if isinstance(inner, ast.Call):
            head = callee_text(inner.func)
            return f"{head}().{func.attr}" if head else None
    return None


class _FunctionReader:
    """One function body (or the module's top level): local names holding queries, columns,
    condition lists, aliases and instances, loops over queries, and the shapes they end as."""

    def __init__(self, reader: _Reader, parameters: tuple[str, ...] = (), annotations: Optional[dict] = None,
                 receiver: Optional[str] = None, parameter_locations: Optional[dict] = None) -> None:
        self.reader = reader
        self.parameter_locations: dict[str, Location] = parameter_locations or {}
        self.variables: dict[str, _Shape] = {}
        self.results: dict[str, _Shape] = {}  # names holding what a query fetched (rows, a Result, one object)
        # names whose value may turn out to be a query: a parameter, or what a call returned
        self.pending: dict[str, tuple] = {name: ("parameter", name) for name in parameters if name != receiver}
        self.query_names = {name for name in parameters if name != receiver and (
            _QUERY_NAMES.search(name) or _QUERY_ANNOTATIONS.search((annotations or {}).get(name, "")))}
        self.columns: dict[str, _Read] = {}
        self.lists: dict[str, list[ast.expr]] = {}
        self.aliases: dict[str, str] = {}
        self.classes: dict[str, str] = {name: _class_name(annotation) for name, annotation in (annotations or {}).items()
                                         if _class_name(annotation)}
        # parameters that hold a class (`model_cls: type[Order]`): calling one builds an instance of it
        self.class_parameters: dict[str, str] = {name: found.group(1) for name, annotation in (annotations or {}).items()
                                                 if (found := _CLASS_ANNOTATION.fullmatch(annotation.strip()))}
        self.shapes: list[_Shape] = []
        self.loops: list[tuple[str, object, object]] = []  # (variable, source, where it is read: a node or a body)
        self.calls: set[str] = set()
        self.callees: dict[str, None] = {}
        self.imports: list[tuple[str, str, int]] = []
        self.class_values: dict[str, str] = {}
        self.returned_classes: dict[str, None] = {}
        self.counted: dict[int, tuple] = {}  # id of a counted call -> (shape, columns, tables, relationships, unread)
        # dicts whose keys are known, for `filter_by(**name)`: (keys, whether each key is there only when a request gives it)
        self.keyword_sets: dict[str, tuple[tuple[str, ...], bool]] = {}
        self.optional_columns: list[ColumnRef] = []  # columns of the counted call being read that it may filter on
        self.order_functions: set[str] = set()  # names bound to `asc`/`desc` (`direction = desc if d else asc`)
        self.receiver = receiver
        self.dynamic_relationships: dict[str, str] = {}  # of the method's class: attribute -> target class
        # the branches (if arm, loop, match case) around the statement being read, each by a number of its own
        self.branches: tuple[int, ...] = ()
        self.branches_read = 0
        self.loops_around: list[str] = []  # the `for` and `while` bodies around it: where their rows come from
        self.looped_callees: dict[tuple[str, tuple[str, ...]], None] = {}  # FunctionFacts.looped_callees
        # ids of the nodes whose calls are recorded, per loop nest around them (`expression`)
        self.recorded: dict[tuple[str, ...], set[int]] = {}
        self.binding_branches: dict[str, tuple[int, ...]] = {}  # pending name -> the branches it was bound in
        self.arms: list[Optional[Arm]] = []  # per branch around the statement: the chain arm it is, if any

    def new_shape(self, *args, **kwargs) -> _Shape:
        shape = _Shape(*args, **kwargs)
        shape.branches = self.branches
        self.shapes.append(shape)
        return shape

    # names

    def _bind(self, name: str, value: ast.expr) -> None:
        """`name = value`: what the name holds from now on (read before the name is rebound:
        `query = query.filter(...)`)."""
        unwrapped = _unwrapped(value)
        self.order_functions.discard(name)
        if _is_order_function(unwrapped):
            self._forget(name)
            self.order_functions.add(name)
            return
        shape = self.expression(value)
        bound: Optional[tuple[dict, object]] = None
        if shape is not None:
            bound = (self.results if _fetches(unwrapped) else self.variables, shape)
        elif isinstance(unwrapped, ast.Call) and (dotted(unwrapped.func) or "").rpartition(".")[2] in (
                "true", "false") and not unwrapped.args:
            # `cond = true()` on the other branch of `cond = Solve.date < freeze`: a condition over no column,
            # the one the other branch kept stays
            bound = (self.lists, self.lists.get(name, []))
        elif isinstance(unwrapped, ast.Call) and (dotted(unwrapped.func) or "").rpartition(".")[2] in (
                "or_", "and_", "not_") and unwrapped.args:
            bound = (self.lists, [unwrapped])  # `search = or_(User.name.ilike(t), ...)`: a condition kept for later
        elif isinstance(unwrapped, ast.Call):
            callee = callee_text(unwrapped.func) or ""
            last = callee.rpartition(".")[2]
            column = self.reader._column(unwrapped)
            if last == "aliased" and unwrapped.args:
                entity = self.reader.entity(unwrapped.args[0])
                bound = (self.aliases, entity) if entity else None
            elif column is not None:
                bound = (self.columns, column)
            else:
                owner = _class_name(callee) or self.class_parameters.get(callee)
                self._forget(name)
                if owner:  # `OrderRepository(session)`, `OrderRepository.from_session(session)`, `model_cls(session)`
                    self.classes[name] = owner
                elif name[:1].isupper() and callee:  # `Model = get_model()`: a class chosen by a function
                    self.class_values[name] = callee
                if last not in _NOT_QUERIES and callee:
                    self.pending[name] = ("call", unwrapped)
                    self.binding_branches[name] = self.branches
                return
        elif isinstance(unwrapped, (ast.List, ast.Tuple, ast.ListComp)):
            bound = (self.lists, self.reader._elements(unwrapped))
        elif isinstance(unwrapped, (ast.Compare, ast.BoolOp)) or (
                isinstance(unwrapped, ast.BinOp) and isinstance(unwrapped.op, (ast.BitAnd, ast.BitOr))):
            bound = (self.lists, [unwrapped])  # `freeze_cond = Solves.date < freeze`: a condition kept for later
        else:
            column = self.reader._column(unwrapped)
            if column is not None:
                bound = (self.columns, column)
            elif isinstance(unwrapped, ast.Name) and unwrapped.id[:1].isupper():
                entity = self.reader.entity(unwrapped)
                bound = (self.aliases, entity) if entity else None  # `model = Order`
            elif isinstance(unwrapped, ast.Name) and unwrapped.id in self.pending:
                bound = (self.pending, self.pending[unwrapped.id])
        self._forget(name)
        if bound is not None:
            bound[0][name] = bound[1]

    def _forget(self, name: str) -> None:
        for names in (self.variables, self.results, self.pending, self.columns, self.lists, self.aliases, self.classes):
            names.pop(name, None)

    def _materialize(self, name: str) -> Optional[_Shape]:
        """The query a pending name holds, now that it is used as one."""
        pending = self.pending.pop(name, None)
        if pending is None:
            return None
        if pending[0] == "parameter":
            location = self.parameter_locations.get(name) or Location(self.reader.source.path, 1)
            shape = self.new_shape("select", (), location, origin=("parameter", name))
        else:
            shape = self._call_shape(pending[1])
        shape.branches = self.binding_branches.pop(name, ())
        self.variables[name] = shape
        return shape

    def _call_shape(self, call: ast.Call, arguments: Optional[list] = None) -> _Shape:
        """A query that a call returns, as far as this function knows."""
        callee = callee_text(call.func) or "?"
        return self.new_shape("select", (), self.reader.location(call),
                              origin=("call", callee, arguments if arguments is not None else self._query_arguments(call)))

    def _query_arguments(self, call: ast.Call) -> list[tuple[str, _Shape]]:
        """(slot, query) for the arguments of a call that are queries."""
        found = []
        position = 0
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                position += 1
                continue
            shape = self._argument_query(argument)
            if shape is not None:
                found.append((str(position), shape))
            position += 1
        for keyword in call.keywords:
            if keyword.arg is not None:
                shape = self._argument_query(keyword.value)
                if shape is not None:
                    found.append((keyword.arg, shape))
        return found

    def _argument_query(self, node: ast.expr) -> Optional[_Shape]:
        node = _unwrapped(node)
        if _fetches(node):
            return None  # rows or an object, not a query
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return self.variables[node.id]
            pending = self.pending.get(node.id)
            if pending is not None and (pending[0] == "call" or node.id in self.query_names or _QUERY_NAMES.search(node.id)):
                # what a call returned, handed on: a query when that function returns one (`results = X.search(...)`)
                return self._materialize(node.id)
            return None
        if isinstance(node, (ast.Call, ast.Attribute)):
            return self.chain(node)
        return None

    # chains

    def chain(self, node: ast.expr, used: bool = False, fetched: bool = True) -> Optional[_Shape]:
        """The query an expression builds, extending a name's query when it starts from one.
        `used`: the value is used as a query here (a pending name or call becomes one);
        `fetched`: a name holding rows the query fetched counts (a Result's `scalars()`, a loop)."""
        node = _unwrapped(node)
        if isinstance(node, ast.Name):
            shape = self.variables.get(node.id)
            if shape is None and used:
                shape = self._materialize(node.id)
            return shape if shape is not None or not fetched else self.results.get(node.id)
        if isinstance(node, ast.Attribute):
            if node.attr == "query":
                entity = self.reader.entity(node.value)
                if entity is not None and (entity[:1].isupper() or "." in entity or entity == "cls"):
                    return self.new_shape("select", (entity,), self.reader.location(node))
            if node.attr in ("c", "columns"):
                return None
            if isinstance(node.value, ast.Name) and node.value.id == self.receiver \
                    and node.attr in self.dynamic_relationships:
                # `self.groups` of `groups = relationship("Group", lazy="dynamic")`: a query of Group, under the
                # relationship's own condition (its foreign key to self), unknown here: counted, not reported alone
                shape = self.new_shape("select", (self.dynamic_relationships[node.attr],), self.reader.location(node))
                shape.add(embedded=True)
                return shape
            if node.attr in _TERMINALS:
                inner = self.chain(node.value, used=True)
                if inner is not None:
                    inner.add(executed=True)
                return inner
            return None
        if not isinstance(node, ast.Call):
            return None
        callee = dotted(node.func) or ""
        last = callee.rpartition(".")[2]
        method = _method_name(node)
        arguments = self.reader.arguments(node)
        if last in ("select", "update", "delete", "insert") and (callee == last or callee.endswith(
                ("sqlalchemy." + last, "sa." + last, "db." + last, "expression." + last, "sql." + last))):
            entities = tuple(dict.fromkeys(e for e in (self.reader.entity(a) for a in arguments) if e))
            shape = self.new_shape(last, entities, self.reader.location(node))
            if last == "select":
                self._aggregates(shape, arguments)
            return shape
        if last == "exists" and callee in ("exists", "sa.exists", "sqlalchemy.exists", "db.exists"):
            return self.new_shape("select", (), self.reader.location(node))
        if last == "text" and arguments and _string_value(arguments[0]) is not None:
            return self.new_shape("select", (), self.reader.location(node), sql=_string_value(arguments[0]))
        if method == "query" and isinstance(node.func, ast.Attribute):
            receiver = dotted(node.func.value) or ""
            if receiver.rpartition(".")[2] in ("session", "db_session", "Session", "s", "sess") \
                    or receiver.endswith("session"):
                entities = tuple(dict.fromkeys(e for e in (self.reader.entity(a) for a in arguments) if e))
                shape = self.new_shape("select", entities, self.reader.location(node))
                self._aggregates(shape, arguments)
                return shape
        if method == "select" and isinstance(node.func, ast.Attribute) and not arguments \
                and (dotted(node.func.value) or "").endswith(".__table__"):
            # `Model.__table__.select()`: every column of the model's table
            return self.new_shape("select", ((dotted(node.func.value) or "").rpartition(".")[0],),
                                  self.reader.location(node))
        if method in ("update", "delete", "insert") and isinstance(node.func, ast.Attribute) and not arguments:
            table = dotted(node.func.value) or ""
            inner = self.chain(node.func.value)
            if inner is not None:
                inner.add(kind=method, executed=True)
                return inner
            if table and not table.endswith("session"):
                return self.new_shape(method, (table.rpartition(".")[2].replace("__table__", "") or table,),
                                      self.reader.location(node))
        if method in _EXECUTES and arguments:
            if _string_value(arguments[0]) is not None:
                shape = self.new_shape("select", (), self.reader.location(node), sql=_string_value(arguments[0]))
                shape.add(executed=True)
                return shape
            statement = self.chain(arguments[0], used=True)
            if statement is not None:
                statement.add(executed=True)
                return statement
        if last == "paginate" and arguments and (callee == "db.paginate" or callee.endswith(".db.paginate")):
            statement = self.chain(arguments[0], used=True)  # Flask-SQLAlchemy 3: db.paginate(select(...))
            if statement is not None:
                statement.add(pagination="paginate", executed=True)
                return statement
        if not isinstance(node.func, ast.Attribute):
            return None
        if method in _STATEMENT_METHODS:  # `update(X).values(...)`: only of a chain already a statement
            inner = self.chain(node.func.value, fetched=False)
            if inner is not None:
                return inner
        if method in ("join", "outerjoin") and not node.args and not node.keywords:
            return None  # `thread.join()`: a query's join always names what it joins
        if method in _QUERY_METHODS or method in _TERMINALS:
            receiver = _unwrapped(node.func.value)
            inner = self.chain(receiver, used=method in _QUERY_METHODS, fetched=method in _TERMINALS)
            if inner is None and isinstance(receiver, ast.Call) and method in _QUERY_METHODS \
                    and self._may_return_a_query(receiver, method, node):
                inner = self._call_shape(receiver)  # `self._base_query().filter(...)`
            if inner is None:
                return None
            self.refine(inner, method, node)
            return inner
        return None

    def _may_return_a_query(self, call: ast.Call, method: str, node: ast.Call) -> bool:
        """Whether a call whose value is refined may return a query: not `", ".join(...)`-like
        values, and a `join` only of a class, a relationship or an alias."""
        callee = callee_text(call.func)
        if callee is None or callee.rpartition(".")[2] in _NOT_QUERIES or _is_sql_function(call):
            return False
        return method not in ("join", "outerjoin") or _may_be_a_query_call(node)

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
        if method not in COUNTED_CALLS:
            self._refine(shape, method, node)
            return
        before = shape.shape
        self.reader.take_unread()
        self.optional_columns = []
        self._refine(shape, method, node)
        after = shape.shape
        columns = [p.column for p in after.predicates[len(before.predicates):]] + self.optional_columns
        columns += [o.column for o in after.order_by[len(before.order_by):]]
        columns += list(after.group_by[len(before.group_by):])
        tables, relationships = [], []
        for join in after.joins[len(before.joins):]:
            columns += [ref for pair in join.on for ref in pair]
            if join.relationship is not None:
                relationships.append(join.relationship)
            elif join.subquery is None:
                tables.append(join.target)
        unread = list(self.reader.take_unread())
        if method in ("order_by", "group_by"):
            unread += [_shortened(self.reader.source.segment(a)) for a in self.reader.arguments(node)
                       if self.reader.column(a) is None and not isinstance(_unwrapped(a), ast.Constant)
                       and not self.reader.derived(a) and not _aggregate(a)]
        self.counted[id(node)] = (shape, tuple(columns), tuple(tables), tuple(relationships), tuple(unread))

    def _refine(self, shape: _Shape, method: Optional[str], node: ast.Call) -> None:
        reader = self.reader
        arguments = reader.arguments(node)
        # made inside a branch within where the query was bound, or in a branch beside it (a name
        # bound in one arm of an if is refined in another: the calls of that arm hold the earlier query)
        conditional = shape.branches[:len(self.branches)] != self.branches
        # an arm directly inside the query's own block: the chain decides between the calls of the query
        arm = self.arms[-1] if conditional and self.branches[:-1] == shape.branches else None
        if method in ("filter", "where", "having"):
            shape.add(predicates=tuple(replace(p, conditional=True, arm=arm) if conditional else p
                                       for a in arguments for p in reader.predicates(a)))
        elif method == "filter_by":
            target, through = filter_by_target(shape.shape)
            shape.add(predicates=tuple(Predicate(ColumnRef(target, k.arg, reader.location(k), through=through), "=",
                                                 conditional=conditional, arm=arm)
                                       for k in node.keywords if k.arg is not None))
            for keyword in node.keywords:
                keys, optional = _keyword_set(reader, keyword.value) if keyword.arg is None else ((), False)
                refs = [ColumnRef(target, key, reader.location(keyword), through=through) for key in keys or ()]
                if optional:  # request arguments: the columns the call may filter on, not a condition it always makes
                    self.optional_columns += refs
                else:
                    shape.add(predicates=tuple(Predicate(ref, "=", conditional=conditional, arm=arm) for ref in refs))
                if keyword.arg is None and keys is None:
                    reader.unread.append(_shortened(reader.source.segment(keyword.value)))
        elif method in ("join", "outerjoin", "join_from"):
            self._join(shape, arguments, node, outer=method == "outerjoin" or any(
                k.arg in ("isouter", "full") for k in node.keywords))
        elif method == "order_by":
            shape.add(order_by=tuple(Ordering(found.ref, _descending(a), found.expression) for a in arguments
                                     for found in [reader._column(a)] if found))
        elif method == "group_by":
            shape.add(group_by=tuple(found[0] for a in arguments for found in [reader.column(a)] if found))
        elif method in ("offset", "slice"):
            shape.add(pagination="offset")
        elif method == "paginate":
            shape.add(pagination="paginate", executed=True)
        elif method == "limit" and shape.shape.pagination is None and not conditional:
            # `if limit: query = query.limit(limit)`: the other calls read every row
            count = arguments[0] if len(arguments) == 1 else None
            written = count.value if isinstance(count, ast.Constant) and type(count.value) is int else None
            shape.add(pagination="limit", limit=written)
        elif method == "options":
            shape.add(eager=tuple(_eager_attributes(self.reader.source, node)))
        elif method in ("subquery", "cte", "alias", "scalar_subquery"):
            shape.add(subquery=True)
        elif method in _TERMINALS or method in ("all", "first", "one", "one_or_none"):
            shape.add(executed=True)

    def _join(self, shape: _Shape, arguments: list, node: ast.Call, outer: bool) -> None:
        join_from = _method_name(node) == "join_from"
        if join_from:
            arguments = arguments[1:]
        if not arguments:
            return
        target_node = _unwrapped(arguments[0])
        location = self.reader.location(node)
        if isinstance(target_node, ast.Tuple) and target_node.elts:  # join((Favorite, on-clause)): the 1.x form
            arguments = list(target_node.elts) + arguments[1:]
            target_node = _unwrapped(arguments[0])
        on = self.reader.join_pairs(arguments[1]) if len(arguments) > 1 else ()
        if isinstance(target_node, ast.Name) and target_node.id in self.variables:
            sub = self.variables[target_node.id]
            sub.add(embedded=True)  # read as part of this query
            shape.add(joins=(Join("", on, location, subquery=sub.shape, outer=outer),))
            return
        relationship = self.reader.column(target_node)
        if relationship is not None and not on and not join_from:
            shape.add(joins=(Join("", (), location, relationship=relationship[0], outer=outer),))
            return
        target = self.reader.entity(target_node)
        if target is None:
            self.reader._not_read(target_node)
            return
        shape.add(joins=(Join(target, on, location, outer=outer),))

    # statements

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if value is None:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    annotation = _class_name(self.reader.source.segment(node.annotation))
                    if annotation:
                        self.classes[node.target.id] = annotation
                return
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                self._bind(targets[0].id, value)
                if isinstance(node, ast.AnnAssign) and targets[0].id not in self.variables:
                    annotation = _class_name(self.reader.source.segment(node.annotation))
                    if annotation:
                        self.classes[targets[0].id] = annotation
            elif len(targets) == 1 and isinstance(targets[0], ast.Attribute) and dotted(targets[0]) \
                    and dotted(targets[0]).startswith("self.") and dotted(targets[0]).count(".") == 1:
                self.expression(value)
                unwrapped = _unwrapped(value)
                owner = _class_name(callee_text(unwrapped.func) or "") if isinstance(unwrapped, ast.Call) else None
                if owner:  # `self.repository = OrderRepository(session)`
                    self.classes[dotted(targets[0])] = owner
            elif len(targets) == 1 and isinstance(targets[0], ast.Tuple) and targets[0].elts:
                # `query, pagination = apply_pagination(query, ...)`: the query goes on in the first name
                shape = self.expression(value)
                names = [e.id for e in targets[0].elts if isinstance(e, ast.Name)]
                for name in names:
                    for bound in (self.variables, self.pending, self.columns, self.lists, self.aliases, self.classes):
                        bound.pop(name, None)
                first = targets[0].elts[0]
                if shape is not None and isinstance(first, ast.Name):
                    self.variables[first.id] = shape
            else:
                self.expression(value)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name) and node.target.id in self.lists and isinstance(node.op, ast.Add):
                self.lists[node.target.id] += self.reader._elements(node.value)
            else:
                self.expression(node.value)
        elif isinstance(node, ast.Return):
            if node.value is not None:
                self._return(node.value)
        elif isinstance(node, ast.Assert):
            self.expression(node.test)
        elif isinstance(node, ast.Expr):
            if not self._list_change(node.value):
                self.expression(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.branch(node.body, loop=self.loop(node.target, node.iter, node.body))
            self.branch(node.orelse)
        elif isinstance(node, ast.If):
            self.if_chain(node)
        elif isinstance(node, ast.While):
            self.expression(node.test)
            self.branch(node.body, loop="")
            self.branch(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expression(item.context_expr)
            self.block(node.body)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.block(node.body)
            for handler in node.handlers:
                self.block(handler.body)
            self.block(node.orelse)
            self.block(node.finalbody)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                self.imports.append((alias.asname or alias.name.split(".")[0], alias.name if alias.asname else
                                     alias.name.split(".")[0], 0))
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    target = f"{node.module}.{alias.name}" if node.module else alias.name
                    self.imports.append((alias.asname or alias.name, target, node.level))
        elif type(node).__name__ == "Match":
            self.expression(node.subject)
            for case in node.cases:
                self.branch(case.body)

    def block(self, body: list[ast.stmt]) -> None:
        for statement in body:
            self.statement(statement)

    def if_chain(self, node: ast.If) -> None:
        """`if`, its `elif`s and `else`: each arm a branch. When every call takes one of the arms
        (see `Arm`), what the arms add is marked with the arm."""
        arms: list[tuple[Optional[ast.expr], list[ast.stmt]]] = []
        current = node
        while True:
            arms.append((current.test, current.body))
            if len(current.orelse) == 1 and isinstance(current.orelse[0], ast.If):
                current = current.orelse[0]
            else:
                break
        if current.orelse:
            arms.append((None, current.orelse))
        exhaustive = len(arms) > 1 and (arms[-1][0] is None or _dispatch_on_one_value([test for test, _ in arms]))
        for index, (test, body) in enumerate(arms):
            if test is not None and index:  # an `elif`'s test runs only when the tests before it failed
                self.branch([ast.Expr(test)])
            elif test is not None:
                self.expression(test)
            self.branch(body, arm=Arm((node.lineno, node.col_offset), index, len(arms)) if exhaustive else None)

    def branch(self, body: list[ast.stmt], loop: Optional[str] = None, arm: Optional[Arm] = None) -> None:
        """A body that runs on some calls only: what it adds to a query begun outside it is
        conditional. A loop's body (`loop`: where its rows come from, see `loop`) runs once per
        row, and so do the functions it calls. `arm`: the body is an arm of a chain every call
        takes one arm of."""
        outside = self.branches
        self.branches_read += 1
        self.branches = outside + (self.branches_read,)
        self.arms.append(arm)
        if loop is not None:
            self.loops_around.append(loop)
        try:
            self.block(body)
        finally:
            self.branches = outside
            self.arms.pop()
            if loop is not None:
                self.loops_around.pop()

    def _return(self, value: ast.expr) -> None:
        """`return <query>`: the function gives the query to its caller; `return self._base()` and
        `return helper(query)` may too."""
        shape = self.expression(value)
        unwrapped = _unwrapped(value)
        written = dotted(unwrapped)
        if written and written.rpartition(".")[2][:1].isupper():
            self.returned_classes[written] = None
        if shape is None and isinstance(unwrapped, ast.Name) and unwrapped.id in self.pending:
            pending = self.pending[unwrapped.id]
            if pending[0] == "call" or unwrapped.id in self.query_names:
                shape = self._materialize(unwrapped.id)
        if shape is None and isinstance(unwrapped, ast.Call):
            callee = callee_text(unwrapped.func)
            if callee and callee.rpartition(".")[2] not in _NOT_QUERIES and not callee.rpartition(".")[2][:1].isupper():
                shape = self._call_shape(unwrapped)
        if shape is not None:
            shape.add(returned=True)

    def _list_change(self, node: ast.expr) -> bool:
        """`conditions.append(x)` / `conditions.extend([...])` on a local list: its elements grow."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in self.lists and node.func.attr in ("append", "extend", "insert") and node.args:
            added = node.args[-1]
            self.lists[node.func.value.id] += [added] if node.func.attr != "extend" else self.reader._elements(added)
            return True
        return False

    def expression(self, node: ast.expr) -> Optional[_Shape]:
        """Every query an expression holds (a chain, or chains passed as arguments); returns the
        outermost one."""
        loops = tuple(self.loops_around)
        recorded = self.recorded.setdefault(loops, set())
        if id(node) not in recorded:  # an expression inside one read already, under the same loops, adds nothing
            for child in walk_in_order(node, prune=(ast.Lambda,)):
                recorded.add(id(child))
                if not isinstance(child, ast.Call):
                    continue
                callee = callee_text(child.func)
                self.calls.add((dotted(child.func) or "").rpartition(".")[2] or _method_name(child) or "")
                if callee:
                    self.callees[callee] = None
                    if loops:
                        self.looped_callees[(callee, loops)] = None
        shape = self.chain(node)
        if shape is not None:
            return shape
        node = _unwrapped(node)
        if isinstance(node, ast.Call):
            method = _method_name(node) or (dotted(node.func) or "").rpartition(".")[2]
            arguments = [value for _, value in call_arguments(node)]
            if method in _WRITES:
                written = arguments + [e.value if isinstance(e, ast.Starred) else e for a in arguments
                                       if isinstance(a, (ast.List, ast.Tuple)) for e in a.elts]
                entities = tuple(dict.fromkeys(e for e in (self.reader.entity(w.func) if isinstance(w, ast.Call) else None
                                                           for w in written) if e and e[:1].isupper()))
                if entities:
                    self.new_shape(_WRITES[method], entities, self.reader.location(node))
            passed = self._query_arguments(node)
            if passed and callee_text(node.func):
                # a query handed to another function (`self.get_all(statement)`, `paginate(query, page)`)
                return self._call_shape(node, passed)
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
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            for element in node.elts:
                self.expression(element.value if isinstance(element, ast.Starred) else element)
            return None
        if isinstance(node, _PLAIN_EXPRESSIONS):
            # `q.first() is None`, `(q.first().sum or 0)`, `x if q.count() else y`, `{"n": q.count()}`
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expression(child)
        return None

    def loop(self, target: ast.expr, iterable: ast.expr, scope) -> str:
        """A for statement (`scope` is its body) or comprehension: where its rows come from, and where they are read.
        Returns the function whose result it iterates, as written (`service.list_active`), or ""."""
        source = self.relationship_source(iterable)
        shape = self.expression(iterable)
        if shape is None and isinstance(_unwrapped(iterable), ast.Name):
            shape = self.chain(iterable)
        if shape is not None:
            shape.add(executed=True)
        iterable = _unwrapped(iterable)
        if source is None and shape is not None:
            source = ("query", shape)
        elif source is None and isinstance(iterable, ast.Call) and (dotted(iterable.func) or ""):
            source = ("function", dotted(iterable.func) or "")
        elif source is None and isinstance(iterable, ast.Name) and self.pending.get(iterable.id, ("",))[0] == "call":
            called = dotted(self.pending[iterable.id][1].func) or ""  # `orders = recent(); for o in orders`
            source = ("function", called) if called else None
        if isinstance(target, ast.Name) and source is not None:
            self.loops.append((target.id, source, scope))
        return source[1] if source is not None and source[0] == "function" else ""

    def relationship_source(self, node: ast.expr) -> Optional[tuple[str, str, str]]:
        """A loop over another loop variable's attribute (`for item in order.items`)."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and any(variable == node.value.id for variable, _, _ in self.loops):
            return ("attribute", node.value.id, node.attr)
        return None


_CLASS_ANNOTATION = LazyPattern(r"(?:typing\.)?[tT]ype\[\s*([A-Za-z_][\w.]*)\s*\]")


def _class_name(text: str) -> Optional[str]:
    """The class a callee or an annotation names when it looks like one: `OrderRepository` for
    `OrderRepository`, `OrderRepository.from_session`, `repositories.OrderRepository`; None for
    `Optional[...]`, lowercase functions and builtins."""
    if not text or "[" in text or "(" in text or "|" in text:
        return None
    parts = text.split(".")
    for position in range(len(parts), 0, -1):
        if parts[position - 1][:1].isupper():
            found = ".".join(parts[:position])
            return None if parts[position - 1] in ("Any", "Optional", "Session", "AsyncSession") else found
    return None


def _dispatch_on_one_value(tests: list) -> bool:
    """Every test is a call whose first argument is the same expression (see `Arm`)."""
    subjects = {ast.dump(test.args[0]) if isinstance(test, ast.Call) and test.args else None for test in tests}
    return len(subjects) == 1 and None not in subjects


_PLAIN_EXPRESSIONS = (ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.IfExp, ast.Compare, ast.Subscript, ast.Attribute, ast.Dict,
                      ast.JoinedStr, ast.FormattedValue, ast.Starred, ast.Await, ast.NamedExpr)


def _calls_outermost_first(node: ast.AST) -> list[ast.Call]:
    """The calls in `node` as written, outer before inner, not those inside a lambda."""
    return [call for call in walk_in_order(node, prune=(ast.Lambda,)) if isinstance(call, ast.Call)]


def _is_order_function(node: ast.expr) -> bool:
    """`desc`, `sa.asc`, `desc if is_desc else asc`: a function that orders one way or the other."""
    if isinstance(node, ast.IfExp):
        return _is_order_function(node.body) and _is_order_function(node.orelse)
    name = dotted(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
    return bool(name) and name.rpartition(".")[2] in ("asc", "desc", "nulls_last", "nulls_first", "nullslast",
                                                      "nullsfirst")


def _descending(node: ast.expr) -> bool:
    node = _unwrapped(node)
    if isinstance(node, ast.IfExp):
        return _descending(node.body)
    if isinstance(node, ast.Call):
        method = _method_name(node) or (dotted(node.func) or "").rpartition(".")[2]
        if method in _ORDER_SIDE:
            return _ORDER_SIDE[method]
        if method in ("nulls_last", "nulls_first", "nullslast", "nullsfirst", "label", "collate"):
            inner = node.func.value if isinstance(node.func, ast.Attribute) else (node.args[0] if node.args else None)
            return _descending(inner) if inner is not None else False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return True
    return False


def _eager_attributes(source: PythonFile, node: ast.Call) -> list[str]:
    """The relationships `.options(...)` loads up front; "*" when the loaders come from a name
    (`.options(*options)`, a parameter the caller fills): which ones is not known here."""
    found = ["*" for argument in node.args
             if isinstance(argument, ast.Starred) or isinstance(argument, (ast.Name, ast.Attribute))]
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


def placed_fields(kinds: tuple[type, ...]) -> dict[type, tuple[str, ...]]:
    """The fields of each of `kinds` (dataclasses) that may hold a place, for LineMove: those whose
    type names a Location or one of `kinds`."""
    names_a_place = re.compile(r"\b(?:Location|%s)\b" % "|".join(kind.__name__ for kind in kinds))
    return {kind: tuple(f.name for f in fields(kind) if names_a_place.search(f.type)) for kind in kinds}


# The classes of a file's query facts that hold places
_MOVED_FIELDS = placed_fields((ColumnRef, Arm, Predicate, Join, Ordering, QueryOrigin, QueryShape, LoopRead,
                               FunctionFacts, QueryCall))


@dataclass
class QueryFacts:
    queries: list[QueryShape] = field(default_factory=list)
    loop_reads: list[LoopRead] = field(default_factory=list)
    functions: list[FunctionFacts] = field(default_factory=list)
    calls: list[QueryCall] = field(default_factory=list)
    hybrids: list[HybridAttribute] = field(default_factory=list)


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


_DEPENDENCY_CALLS = frozenset({"Depends", "Security"})


def _dependency_names(node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> tuple[str, ...]:
    """FunctionFacts.dependencies of a function."""
    arguments = node.args
    roots = [*arguments.defaults, *arguments.kw_defaults,
             *(argument.annotation for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)),
             *(keyword.value for decorator in node.decorator_list if isinstance(decorator, ast.Call)
               for keyword in decorator.keywords if keyword.arg == "dependencies")]
    found: dict[str, None] = {}
    for root in roots:
        if root is None:
            continue
        for inner in walk_in_order(root):
            if isinstance(inner, ast.Call) and (dotted(inner.func) or "").rpartition(".")[2] in _DEPENDENCY_CALLS:
                for named in walk_in_order([*inner.args, *(keyword.value for keyword in inner.keywords)]):
                    if isinstance(named, ast.Name):
                        found[named.id] = None
                    elif isinstance(named, ast.Attribute):
                        found[named.attr] = None
    return tuple(found)


def _decorator_names(node: Union[ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef]) -> tuple[str, ...]:
    names = []
    for decorator in node.decorator_list:
        expression = decorator.func if isinstance(decorator, ast.Call) else decorator
        names.append((dotted(expression) or "").rpartition(".")[2])
    return tuple(names)


def _decorator_context(node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> Optional[str]:
    for name in _decorator_names(node):
        if name in _REQUEST_DECORATORS:
            return "request"
        if name in _TASK_DECORATORS:
            return "task"
    return None


def read_queries(source: PythonFile, kept: Optional["FunctionReads"] = None) -> QueryFacts:
    """Every query shape, loop read, function and counted call of one parsed file. `kept`: what
    the functions of an earlier text of this file read to (an editor's buffer, edit after
    edit); a function read the same way again is taken from it, and `kept` then holds this
    text's (see FunctionReads)."""
    path, module = source.path, source.tree
    reader = _Reader(source)
    facts = QueryFacts()
    module_context = "task" if _TASK_PATHS.search(path) else "other"
    row_helpers = _row_helpers(module, reader)
    earlier = kept.reads if kept is not None else {}
    read_now: dict[tuple, _FunctionRead] = {}
    if kept is not None:
        begin_read(path)

    def read_function(body: list[ast.stmt], name: Optional[str], context: str, location: Location,
                      node: Optional[Union[ast.FunctionDef, ast.AsyncFunctionDef]] = None, method: bool = False,
                      dynamic_relationships: Optional[dict[str, str]] = None,
                      helpers: Optional[_ConsultedHelpers] = None) -> None:
        parameters, annotations, locations = _parameters(source, node) if node is not None else ((), {}, {})
        decorators = _decorator_names(node) if node is not None else ()
        receiver = parameters[0] if method and parameters and "staticmethod" not in decorators else None
        function = _FunctionReader(reader, parameters, annotations, receiver, locations)
        for parameter, default in (_class_defaults(node) if node is not None else {}).items():
            function.pending.pop(parameter, None)
            function.aliases[parameter] = default  # `def unique(value, model=Users)`
        # the body's nodes, nested functions and classes aside (each is read on its own), walked once
        nodes = list(walk_in_order(body, prune=(*_FUNCTIONS, ast.ClassDef)))
        outside_lambdas = list(walk_in_order(body, prune=(*_FUNCTIONS, ast.ClassDef, ast.Lambda))) \
            if any(isinstance(n, ast.Lambda) for n in nodes) else nodes
        function.keyword_sets = _keyword_sets(outside_lambdas, node, receiver)
        function.dynamic_relationships = dynamic_relationships or {}
        reader.scope = function
        function.block(body)
        _inner_statements(outside_lambdas, function)
        reader.scope = None
        base = len(facts.queries)
        index_of = {}
        for position_in_file, shape in enumerate(function.shapes):
            index_of[id(shape)] = base + position_in_file
        for shape in function.shapes:
            facts.queries.append(replace(shape.shape, function=name, context=context,
                                         origin=_origin(shape, index_of)))
        _loop_reads(function, facts, index_of, helpers if helpers is not None else row_helpers, name)
        facts.calls += _counted_calls(nodes, function, index_of, reader)
        if name is not None:
            facts.functions.append(FunctionFacts(
                name, context, tuple(sorted(c for c in function.calls if c)), location, parameters, decorators,
                tuple(function.callees), tuple(sorted(function.classes.items())), tuple(function.imports),
                tuple(sorted(function.class_values.items())), tuple(function.returned_classes),
                getattr(node, "end_lineno", None) or 0, tuple(function.looped_callees), _tabled_names(nodes),
                _dependency_names(node) if node is not None else ()))
        for nested in (n for n in outside_lambdas if isinstance(n, _FUNCTIONS)):  # under if/with/try too
            read_function(nested.body, f"{name}.{nested.name}" if name else nested.name,
                          _decorator_context(nested) or context, source.name_location(nested), nested, helpers=helpers)

    def read_or_take(node: Union[ast.FunctionDef, ast.AsyncFunctionDef], name: str, method: bool = False,
                     dynamic_relationships: Optional[dict[str, str]] = None) -> None:
        """read_function of a module function or a method (its nested functions with it), or
        what an earlier read of the same function gave, moved to where it is now."""
        context = _decorator_context(node) or module_context
        if kept is None:
            read_function(node.body, name, context, source.name_location(node), node, method, dynamic_relationships)
            return
        first = first_line(node)
        # what else the read depends on: where the function's queries and OR groups are numbered from
        key = (source.statement_text(node), name, context, method,
               tuple(sorted((dynamic_relationships or {}).items())), len(facts.queries), reader.alternatives)
        taken = earlier.get(key)
        if taken is not None and taken.holds(row_helpers):
            moved = taken.moved_to(first)
            for items, copies in ((taken.queries, moved.queries), (taken.loop_reads, moved.loop_reads),
                                  (taken.calls, moved.calls), (taken.functions, moved.functions)):
                note_moved(path, items, copies)
            taken = moved
            facts.queries += taken.queries
            facts.loop_reads += taken.loop_reads
            facts.calls += taken.calls
            facts.functions += taken.functions
            reader.alternatives += taken.alternatives
        else:
            before = (len(facts.queries), len(facts.loop_reads), len(facts.calls), len(facts.functions), reader.alternatives)
            helpers = _ConsultedHelpers(row_helpers)
            read_function(node.body, name, context, source.name_location(node), node, method, dynamic_relationships, helpers)
            taken = _FunctionRead(first, node.end_lineno, tuple(facts.queries[before[0]:]), tuple(facts.loop_reads[before[1]:]),
                                  tuple(facts.calls[before[2]:]), tuple(facts.functions[before[3]:]),
                                  reader.alternatives - before[4], tuple(helpers.consulted.items()))
        read_now[key] = taken

    read_function([s for s in module.body if not isinstance(s, (*_FUNCTIONS, ast.ClassDef))], None, module_context,
                  Location(path, 1))
    for statement in module.body:
        if isinstance(statement, _FUNCTIONS):
            read_or_take(statement, statement.name)
        elif isinstance(statement, ast.ClassDef):
            hybrids: dict[str, HybridAttribute] = {}
            dynamic = _dynamic_relationships(statement)
            for member in statement.body:
                if isinstance(member, _FUNCTIONS):
                    read_or_take(member, f"{statement.name}.{member.name}", method=True, dynamic_relationships=dynamic)
                    hybrid = _hybrid(reader, statement.name, member)
                    if hybrid is not None and (hybrid.predicates or hybrid.columns):
                        hybrids[hybrid.attribute] = hybrid  # an `.expression` written after the property wins
                else:
                    attribute = _attribute_columns(reader, statement.name, member)
                    if attribute is not None:
                        hybrids[attribute.attribute] = attribute
            facts.hybrids += hybrids.values()
    if kept is not None:
        kept.reads = read_now
    # `read_function` calls itself through its closure: a reference cycle that would keep this
    # file's tree alive until the cyclic collector runs. Dropping the names breaks it.
    del read_function, read_or_take
    return facts


class FunctionReads:
    """What each function of one file read to, kept from one text of the file to the next while
    an editor changes it: reading the queries of a 1,500-line models file costs 20 ms, and an
    edit leaves most of its functions as they were. A function is taken from an earlier read
    when its text is the same, and so is what else its read depends on: its class's dynamic
    relationships, the numbers of the file's queries and OR groups before it (the indices its
    facts hold), and the module's row helpers its loops looked up. Its facts then move to its
    new lines, the places within it and only those."""

    def __init__(self) -> None:
        self.reads: dict[tuple, _FunctionRead] = {}


@dataclass(frozen=True)
class _FunctionRead:
    """What reading one function (its nested functions with it) added to a file's QueryFacts."""

    first: int  # its lines, decorators included
    last: int
    queries: tuple[QueryShape, ...]
    loop_reads: tuple[LoopRead, ...]
    calls: tuple[QueryCall, ...]
    functions: tuple[FunctionFacts, ...]
    alternatives: int  # the OR groups it numbered
    helpers: tuple[tuple[str, Optional[list]], ...]  # the row helpers its loops looked up, as they were

    def holds(self, row_helpers: dict) -> bool:
        return all(row_helpers.get(name) == reads for name, reads in self.helpers)

    def moved_to(self, first: int) -> "_FunctionRead":
        lines = first - self.first
        if not lines:
            return self
        move = LineMove(lines, self.first, self.last)
        return _FunctionRead(first, self.last + lines, move(self.queries), move(self.loop_reads), move(self.calls),
                             move(self.functions), self.alternatives, self.helpers)


class LineMove:
    """Moves the places between lines `first` and `last` of a function's or a statement's facts
    by `lines`: its Locations, the `if` of an Arm, a function's last line, in the objects of the
    kinds `placed` names (placed_fields) and tuples of them. Places outside it (a row helper's
    reads, elsewhere in the module) stay. Objects with nothing to move are kept, not copied."""

    def __init__(self, lines: int, first: int, last: int, placed: dict[type, tuple[str, ...]] = _MOVED_FIELDS) -> None:
        self.lines, self.first, self.last, self.placed = lines, first, last, placed

    def __call__(self, value):
        kind = type(value)
        if kind is Location:
            if not self.first <= value.line <= self.last:
                return value
            return Location(value.path, value.line + self.lines, value.column,
                            None if value.end_line is None else value.end_line + self.lines, value.end_column)
        if kind is tuple:
            if not value:
                return value
            moved = [self(item) for item in value]
            for new, old in zip(moved, value):
                if new is not old:
                    return tuple(moved)
            return value
        names = self.placed.get(kind)
        if names is None:
            return value
        changes = None
        for name in names:
            old = getattr(value, name)
            if old is None or old == ():
                continue
            new = self(old)
            if new is not old:
                if changes is None:
                    changes = {}
                changes[name] = new
        if kind is Arm and self.first <= value.chain[0] <= self.last:
            changes = {**(changes or {}), "chain": (value.chain[0] + self.lines, value.chain[1])}
        elif kind is FunctionFacts and self.first <= value.last_line <= self.last:
            changes = {**(changes or {}), "last_line": value.last_line + self.lines}
        return copy_replace(value, **changes) if changes else value


class _ConsultedHelpers:
    """The module's row helpers (`_row_helpers`), noting the names one function's loops looked up."""

    def __init__(self, helpers: dict[str, list[tuple[str, Location]]]) -> None:
        self.helpers = helpers
        self.consulted: dict[str, Optional[list[tuple[str, Location]]]] = {}

    def get(self, name: str) -> Optional[list[tuple[str, Location]]]:
        found = self.consulted[name] = self.helpers.get(name)
        return found


def _hybrid(reader: _Reader, class_name: str, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> Optional[HybridAttribute]:
    """A `@hybrid_property` (or its `@x.expression`/`@x.inplace.expression`) read as SQL: its first
    parameter stands for the class."""
    attribute = None
    for decorator in node.decorator_list:
        name = dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or ""
        if name.rpartition(".")[2] == "hybrid_property":
            attribute = node.name
        elif name.endswith(".expression") and "." in name:
            attribute = name.split(".")[0]
    if attribute is None:
        return None
    returns = [n for n in walk_in_order(node.body, prune=(*_FUNCTIONS, ast.Lambda, ast.ClassDef))
               if isinstance(n, ast.Return) and n.value is not None]
    parameters = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if not returns or not parameters:
        return None
    function = _FunctionReader(reader)
    function.aliases[parameters[0]] = "cls"
    reader.scope = function
    # one return: its conditions; several (`return self.team_id` or `self.user_id`, by configuration): what they read
    predicates = tuple(reader.predicates(returns[0].value)) if len(returns) == 1 else ()
    reader.take_unread()
    columns: dict[ColumnRef, None] = {}
    for returned in returns:
        called = {id(child.func) for child in walk_in_order(returned.value) if isinstance(child, ast.Call)}
        columns.update((found[0], None) for child in walk_in_order(returned.value)
                       if isinstance(child, ast.Attribute) and id(child) not in called
                       for found in [reader.column(child)] if found and found[0].model == "cls")
    reader.scope = None
    if any(p.column.model != "cls" for p in predicates):
        predicates = ()
    return HybridAttribute(class_name, attribute, predicates, tuple(columns), reader.location(node))


_COLUMN_CALLS = ("Column", "mapped_column")


def _attribute_columns(reader: _Reader, class_name: str, node: ast.stmt) -> Optional[HybridAttribute]:
    """A class attribute that SQL reads as columns of another name: a column given its name
    (`_billing_name = mapped_column("billing_name", ...)`) or a `composite` of columns, read the
    way a hybrid property over those columns is."""
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        attribute, value = node.target.id, node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        attribute, value = node.targets[0].id, node.value
    else:
        return None
    if not isinstance(value, ast.Call):
        return None
    callee = (dotted(value.func) or "").rpartition(".")[2]
    location = reader.location(node)
    if callee in _COLUMN_CALLS:
        name = _string_value(value.args[0]) if value.args else None
        if name is None or name == attribute:
            return None
        return HybridAttribute(class_name, attribute, (), (ColumnRef("cls", name, location),), location, renamed=True)
    if callee == "composite":
        # `composite("subscription_id", "order_id")` (attribute names) or `composite(Point, x, y)` (the columns)
        names = [_string_value(a) or (a.id if isinstance(a, ast.Name) else None) for a in value.args]
        names = [n for n in names if n and not n[:1].isupper()]
        if names:
            return HybridAttribute(class_name, attribute, (), tuple(ColumnRef("cls", n, location) for n in names),
                                   location)
    return None


_STATEMENTS = ("select", "update", "delete", "insert", "exists")


def _dynamic_relationships(node: ast.ClassDef) -> dict[str, str]:
    """The relationships of a class that load as a query (`lazy="dynamic"`): attribute -> target class."""
    found = {}
    for member in node.body:
        target = member.targets[0] if isinstance(member, ast.Assign) and len(member.targets) == 1 else (
            member.target if isinstance(member, ast.AnnAssign) else None)
        value = member.value if isinstance(member, (ast.Assign, ast.AnnAssign)) else None
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Call) and value.args
                and (dotted(value.func) or "").rpartition(".")[2] == "relationship"):
            continue
        lazy = next((_string_value(k.value) for k in value.keywords if k.arg == "lazy"), None)
        related = _string_value(value.args[0]) or dotted(value.args[0])
        if lazy == "dynamic" and related:
            found[target.id] = related
    return found


def _inner_statements(nodes: list[ast.AST], function: _FunctionReader) -> None:
    """Statements written where no query is followed (`~exists(select(1).where(...))` in a
    condition, `select(select(X.id).where(...).exists())`, a CTE of an UPDATE): each read as a
    subquery of the query around it, not a query of its own. `nodes`: the function body's,
    outside nested functions, classes and lambdas."""
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in COUNTED_CALLS) or id(node) in function.counted:
            continue
        root = node
        while isinstance(root, ast.Call) and isinstance(root.func, ast.Attribute):
            root = _unwrapped(root.func.value)
        name = (dotted(root.func) or "") if isinstance(root, ast.Call) else ""
        if name.rpartition(".")[2] not in _STATEMENTS or "." in name and not name.startswith(("sa.", "sqlalchemy.", "sql.", "db.")):
            continue
        shape = function.chain(node)
        if shape is not None:
            shape.add(embedded=True)


def _keyword_set(reader: _Reader, node: ast.expr) -> tuple[Optional[tuple[str, ...]], bool]:
    """The keys of a dict expanded into `filter_by(**node)` when they are known (else None), and
    whether they are request arguments, each there only when the request gives it."""
    if isinstance(node, ast.Dict) and None not in node.keys and all(_string_value(k) is not None for k in node.keys):
        return tuple(_string_value(k) for k in node.keys), False
    if isinstance(node, ast.Name) and reader.scope is not None and node.id in reader.scope.keyword_sets:
        return reader.scope.keyword_sets[node.id]
    return None, False


def _keyword_sets(nodes: list[ast.AST], node: Optional[Union[ast.FunctionDef, ast.AsyncFunctionDef]],
                  receiver: Optional[str]) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Names of a function holding dicts whose keys are known, for `filter_by(**name)`: the
    parameter a decorator fills from a dict of fields (webargs' `@use_args({"name": ...})`), a
    dict literal, keys set by `name["key"] = ...`; keys `pop`ped or deleted are taken out.
    Read without regard to order; a name bound to anything else is not known. `nodes`: the
    function body's, outside nested functions, classes and lambdas."""
    keys: dict[str, dict[str, None]] = {}
    unknown: set[str] = set()
    requested: set[str] = set()  # filled from the request's arguments
    if node is not None:
        parameters = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg != receiver]
        unknown.update(a.arg for a in node.args.kwonlyargs)  # what callers hand in (`kwargs=None`, then `kwargs = {}`)
        fields = [d.args[0] for d in node.decorator_list if isinstance(d, ast.Call) and d.args
                  and isinstance(d.args[0], ast.Dict) and d.args[0].keys
                  and all(k is not None and _string_value(k) is not None for k in d.args[0].keys)]
        if len(fields) == 1 and parameters:  # the parsed arguments come as the first parameter after self
            keys[parameters[0]] = dict.fromkeys(_string_value(k) for k in fields[0].keys)
            requested.add(parameters[0])
            parameters = parameters[1:]
        unknown.update(parameters)
    removed: dict[str, set[str]] = {}
    same: dict[str, str] = {}
    for child in nodes:
        if isinstance(child, ast.Assign):
            for target in child.targets:
                if isinstance(target, ast.Name):
                    value = child.value
                    if isinstance(value, ast.Dict) and None not in value.keys \
                            and all(_string_value(k) is not None for k in value.keys):
                        keys.setdefault(target.id, {}).update(dict.fromkeys(_string_value(k) for k in value.keys))
                    elif isinstance(value, ast.Name) and value.id in keys:
                        keys.setdefault(target.id, {}).update(keys[value.id])
                        same[target.id] = value.id  # one dict under two names: a key popped from one is gone from both
                        if value.id in requested:
                            requested.add(target.id)
                    else:
                        unknown.add(target.id)
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and _string_value(target.slice) is not None:
                    keys.setdefault(target.value.id, {})[_string_value(target.slice)] = None
                elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                    unknown.add(target.value.id)
        elif isinstance(child, (ast.AugAssign, ast.AnnAssign)) and isinstance(child.target, ast.Name):
            unknown.add(child.target.id)
        elif isinstance(child, ast.Delete):
            for target in child.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) \
                        and _string_value(target.slice) is not None:
                    removed.setdefault(target.value.id, set()).add(_string_value(target.slice))
        elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) \
                and isinstance(child.func.value, ast.Name):
            name, method = child.func.value.id, child.func.attr
            if method == "pop" and child.args and _string_value(child.args[0]) is not None:
                removed.setdefault(name, set()).add(_string_value(child.args[0]))
            elif method in ("update", "setdefault", "pop", "popitem", "clear", "__setitem__"):
                unknown.add(name)
    return {name: (tuple(k for k in found if k not in removed.get(name, set()) | removed.get(same.get(name, ""), set())),
                   name in requested)
            for name, found in keys.items() if name not in unknown and same.get(name) not in unknown}


def _parameters(source: PythonFile, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]):
    """(names, name -> annotation as written, name -> location) of a function's parameters."""
    arguments = node.args
    written = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    names = tuple(a.arg for a in written)
    annotations = {a.arg: source.segment(a.annotation).strip("'\"") for a in written if a.annotation is not None}
    locations = {a.arg: source.location(a) for a in written}
    return names, annotations, locations


def _class_defaults(node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> dict[str, str]:
    """Parameters whose default is a class (`model=Users`)."""
    arguments = node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    found = {}
    for argument, default in pairs:
        name = dotted(default)
        if name and name.rpartition(".")[2][:1].isupper() and name.rpartition(".")[2] not in ("None", "True", "False"):
            found[argument.arg] = name
    return found


def _origin(shape: _Shape, index_of: dict) -> Optional[QueryOrigin]:
    if shape.origin is None:
        return None
    if shape.origin[0] == "parameter":
        return QueryOrigin("parameter", shape.origin[1])
    _, callee, arguments = shape.origin
    return QueryOrigin("call", callee, tuple((slot, index_of[id(argument)]) for slot, argument in arguments
                                             if id(argument) in index_of))


def _counted_calls(nodes: list[ast.AST], function: _FunctionReader, index_of: dict, reader: _Reader) -> list[QueryCall]:
    """The counted calls (COUNTED_CALLS) of a function body (`nodes`: nested functions and classes aside)."""
    found = []
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in COUNTED_CALLS):
            continue
        location = reader.location(node.func)
        location = Location(location.path, location.end_line or location.line,
                            (location.end_column or location.column) - len(node.func.attr), location.end_line,
                            location.end_column)
        record = function.counted.get(id(node))
        if record is not None:
            shape, columns, tables, relationships, unread = record
            found.append(QueryCall(node.func.attr, location, index_of.get(id(shape)), columns, tables, relationships,
                                   unread))
        elif _may_be_a_query_call(node):
            receiver = _shortened(reader.source.segment(node.func.value), 60)
            found.append(QueryCall(node.func.attr, location, receiver=receiver))
    return found


def _may_be_a_query_call(node: ast.Call) -> bool:
    """A counted call not traced to a query that may still be one: not `numpy.where`, `", ".join`,
    `os.path.join` or `thread.join()`; a `join` only when it joins a class, a relationship or an alias."""
    receiver = node.func.value
    if isinstance(receiver, (ast.Constant, ast.JoinedStr)) or dotted(receiver) in _NOT_QUERY_RECEIVERS:
        return False
    if isinstance(receiver, ast.Call) and _is_sql_function(receiver):
        return False  # `func.count().filter(...)`: an aggregate's FILTER (WHERE ...), not a query's
    if node.func.attr not in ("join", "outerjoin"):
        return True
    arguments = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
    if not arguments:
        return False
    target = arguments[0]
    if isinstance(target, ast.Tuple) and target.elts:
        target = target.elts[0]
    if isinstance(target, ast.Call):
        return (dotted(target.func) or "").rpartition(".")[2] == "aliased"
    name = dotted(target)
    return bool(name) and any(part[:1].isupper() for part in name.split("."))


def _is_sql_function(call: ast.Call) -> bool:
    """A SQL function call: `func.count(...)`, `sa.func.sum(...)`, `db.func.max(...)`."""
    callee = dotted(call.func) or ""
    return callee.startswith("func.") or ".func." in callee


def _loop_reads(function: _FunctionReader, facts: QueryFacts, index_of: dict, row_helpers: dict,
                name: Optional[str]) -> None:
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
                facts.loop_reads.append(LoopRead(variable, attribute, location, rows_from=kind[1], function=name))
            elif kind[0] == "query":
                if kind[1] is not None:
                    facts.loop_reads.append(LoopRead(variable, attribute, location, source=kind[1], function=name))
            else:
                parent = sources.get(kind[1])
                if parent is not None and parent[0] == "query" and parent[1] is not None:
                    facts.loop_reads.append(LoopRead(variable, attribute, location, parent=(parent[1], kind[2]),
                                                     function=name))


def _attribute_reads(scope, variable: str, reader: _Reader,
                     row_helpers: Optional[dict] = None) -> list[tuple[str, Location]]:
    """`variable.attr` reads (not assignments) in `scope` (a node, or a body of statements), and those of module
    functions `variable` is passed to first."""
    found: list[tuple[str, Location]] = []
    for node in walk_in_order(scope):
        if isinstance(node, ast.Attribute):
            # `row.parent = x` sets the relationship: no load
            if isinstance(node.value, ast.Name) and node.value.id == variable and isinstance(node.ctx, ast.Load):
                found.append((node.attr, reader.location(node)))
        elif isinstance(node, ast.Call) and row_helpers is not None and isinstance(node.func, ast.Name) \
                and (helper_reads := row_helpers.get(node.func.id)):
            arguments = call_arguments(node)
            if arguments and isinstance(arguments[0][1], ast.Name) and arguments[0][1].id == variable:
                found.extend(helper_reads)
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




def on_header_line(source: PythonFile, body: list[ast.stmt]) -> bool:
    """A body written on the line of its `def`/`if`/`with`... after the colon (`if x: y = 1`)."""
    first = source.location(body[0])
    return bool(source.lines[first.line - 1][: first.column - 1].strip())
