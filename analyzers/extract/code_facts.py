"""Facts about application code (routes, services, tasks, tests) that the audit rules need.

One pass over the file's `ast` collects them, each with its location; the index caches the result
by content hash like every other parse. Nothing is imported or executed.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Iterator, Optional

from ..schema.model import ExtractionError, Location
from .module_summary import EarlierStatements
from .python_names import dotted
from .python_source import LINE_BREAK, PythonFile, first_line, nodes_in_order, parse_python, walk_in_order
from .queries import (FunctionFacts, FunctionReads, HybridAttribute, LineMove, LoopRead, QueryCall, QueryShape, call_arguments,
                      on_header_line, placed_fields, read_queries, string_literals)
from .sql_queries import shape_from_sql
from .text_searches import deletion_words, sql_insert_tables
from ..lazy_pattern import LazyPattern


@dataclass(frozen=True, slots=True)
class Lookup:
    """A query predicate on a column by equality: `filter_by(email=...)`, `User.email == ...`."""

    column: str
    model: Optional[str]  # the class name when written as `Model.column`
    location: Location
    # False: not a lookup of one row by the column's value: a join condition (`A.x == B.y`), one
    # branch of an `or_()`, or a predicate of a query that reads a set of rows (`.all()`, `.distinct()`)
    by_key: bool = True


@dataclass(frozen=True, slots=True)
class CheckThenInsert:
    """`if not <query>.first(): ... add(...)`: an existence check, then an insert, in one function."""

    columns: tuple[str, ...]  # the columns the check looks up
    location: Location  # the `if`
    insert: Location  # the add/insert call
    model: Optional[str] = None  # the model class the check queries, when written
    inserted: Optional[str] = None  # the model class the insert constructs, when written


@dataclass(frozen=True, slots=True)
class ReadModifyWrite:
    """`obj.count += 1` / `obj.balance = obj.balance - x` on a loaded object."""

    attribute: str
    location: Location
    # Raised by a constant with no comparison of the attribute earlier in its function: a tally
    # of events (`views += 1`), where a lost update undercounts by one, rather than a quantity
    # or a limit checked before it is raised (`if used < limit: used += 1`).
    counts_events: bool = False
    # The class the function says the object is an instance of (`usage = Usage()`, a parameter
    # `usage: Usage`), None when it does not say: a class no table maps holds no row (letta's
    # pydantic usage statistics).
    receiver_class: Optional[str] = None
    # The object was read under a row lock: in a function that locks rows (`with_for_update()`,
    # `FOR UPDATE`), or returned by a function of the module that does, or that upserts it with
    # `ON CONFLICT DO UPDATE ... RETURNING` (onyx's get_or_create_tenant_usage), which locks it too.
    locked: bool = False


@dataclass(frozen=True, slots=True)
class FallbackRead:
    """`d.get("new") or d.get("old")` and `d.get("new", d.get("old"))`."""

    keys: tuple[str, ...]
    location: Location
    sources: tuple[str, ...] = ()  # what each key is read from, as written (`self.options`, `os.environ`)


@dataclass(frozen=True, slots=True)
class FieldAlias:
    """A model attribute kept as another name of a stored column: `old_name = synonym("new_name")`.
    (API input aliases such as pydantic's `AliasChoices` name no stored column: not read here.)"""

    names: tuple[str, ...]  # (the alias, the attribute it stands for)
    location: Location


@dataclass(frozen=True, slots=True)
class VersionSwitch:
    """Code that branches on a stored schema/payload version."""

    field: str
    location: Location
    key: bool = False  # read as a dict's key (`data.get("version")`), not as an attribute


@dataclass(frozen=True, slots=True)
class GeneratedKeyFallback:
    """A secret read from configuration with a freshly generated value as the fallback."""

    generator: str
    location: Location


@dataclass(frozen=True, slots=True)
class JsonKeyFilter:
    """`Model.attribute["key"]` in a query: a JSON column used as a bag of attributes."""

    model: str
    attribute: str
    key: str
    location: Location


@dataclass(frozen=True, slots=True)
class CodeFacts:
    path: str
    lookups: tuple[Lookup, ...] = ()
    check_then_inserts: tuple[CheckThenInsert, ...] = ()
    read_modify_writes: tuple[ReadModifyWrite, ...] = ()
    fallback_reads: tuple[FallbackRead, ...] = ()
    field_aliases: tuple[FieldAlias, ...] = ()
    version_switches: tuple[VersionSwitch, ...] = ()
    key_fallbacks: tuple[GeneratedKeyFallback, ...] = ()
    json_key_filters: tuple[JsonKeyFilter, ...] = ()
    strings: tuple[tuple[str, Location], ...] = ()  # URL-like string constants ("sqlite://...")
    errors: tuple[ExtractionError, ...] = field(default=())
    queries: tuple[QueryShape, ...] = ()
    loop_reads: tuple[LoopRead, ...] = ()
    functions: tuple[FunctionFacts, ...] = ()
    query_calls: tuple[QueryCall, ...] = ()  # filter/where/join/order_by/group_by calls, for the query coverage
    hybrids: tuple[HybridAttribute, ...] = ()  # hybrid properties of its classes, as SQL reads them
    # Words (lower case) the file deletes or archives rows of: after DELETE FROM / TRUNCATE /
    # DROP TABLE / DETACH PARTITION and in `delete(Model)`, before a `.delete(` call, and the
    # table of an UPDATE that clears columns of old rows to NULL (`UPDATE t SET payload = NULL
    # WHERE created_at < ...`, `update(Model)...values(payload=None)`): the tables (or model
    # classes) whose rows, or whose rows' bulk, some code removes.
    deletion_words: frozenset[str] = frozenset()
    # Tables the file inserts rows into with SQL text (INSERT INTO ...), past the ORM's defaults.
    sql_insert_tables: frozenset[str] = frozenset()
    # Names the file uses other than by calling them inside a function (a function handed on,
    # registered or named in a string, and everything called at module or class level): what may
    # run a function that no resolved call reaches. `__all__` lists only what `import *` copies:
    # a caller of such a name still calls it by name.
    referenced_names: frozenset[str] = frozenset()
    # Names the file gives negative values on purpose: it writes negated values into them
    # (`amount=-fee`, `entry.balance = -total`: ledger amounts, refunds, credits), or compares
    # them with a negative constant (`if product.quantity == -1:`, a sentinel: bitcart); and
    # names it tests for a value below zero (`if ref.quantity <= 0: delete(ref)`: mealie), whose
    # negative values it handles itself.
    negated_names: frozenset[str] = frozenset()
    # Attribute names whose value takes part in arithmetic where its sign matters: decremented
    # (`product.stock -= n`, not the clamped `x.a -= min(n, x.a)`), negated (`-hint.cost`) or
    # subtracted (`total - order.discount`). A negative value there oversells, gives or pays.
    subtracted_names: frozenset[str] = frozenset()
    # Input fields bounded below at zero or more (pydantic `Field(ge=0)`, `conint(gt=0)`,
    # `PositiveInt`/`NonNegativeInt`, marshmallow `Range(min=0)`): values validated on the way in.
    non_negative_inputs: frozenset[str] = frozenset()
    # Names the file reads or writes as an object's attribute: `user.api_key`, `getattr(user,
    # "api_key")`, and keywords of a class's constructor (`Users(api_key=...)`). A column no file
    # names is not used by the code by name.
    attribute_names: frozenset[str] = frozenset()
    # Names the file writes a hashed or encrypted value into (`user.password =
    # bcrypt.generate_password_hash(raw)`, `Users(password=hash_password(raw))`, or a local
    # variable that holds such a value, `admin.password = digest`): the code does not store them raw.
    hashed_names: frozenset[str] = frozenset()
    # Names the file adds to as running totals (`block.llm_cost += amount`, `.values(llm_cost=
    # Block.llm_cost + amount)`, `run.count = run.count + 1`): their zero is where a total starts.
    accumulated_names: frozenset[str] = frozenset()
    # Where the file creates the models' tables each time it runs (`Base.metadata.create_all(engine)`
    # in a module or a function body, not under a condition; see tables_created_at_start).
    tables_created: tuple[Location, ...] = ()


_GENERATORS = ("generate_key", "token_bytes", "token_hex", "token_urlsafe", "urandom", "get_random_bytes", "uuid4")
_CONFIG_READS = ("getenv", "get", "environ")
# Where configuration is read from: `os.environ.get`, `app.config.get`, `settings.get`; not a
# function's `kwargs.get` or a request's `headers.get` (alerta: `kwargs.get('id') or str(uuid4())`).
_CONFIG_RECEIVER = LazyPattern(r"(?:^|[._])(?:environ|env|config|conf|settings|secrets?|options)$", re.IGNORECASE)
# What a configured secret is called; a literal key without one of these words is not a secret.
_SECRET_NAME = LazyPattern(r"key|secret|token|salt|pepper|passw|signing|cipher|fernet|crypt|hmac|private",
                          re.IGNORECASE)
_VERSION_FIELDS = ("schema_version", "payload_version", "data_version", "format_version", "version")


_CHANGE_IN_PLACE = LazyPattern(r"[+-]=|\.\w+\s*[+-]")
_ROW_LOCK = LazyPattern(r"with_for_update\(|\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)


def _locks_rows(text: str) -> bool:
    """Code that reads rows under a lock: `with_for_update()`, `SELECT ... FOR UPDATE`, or an
    upsert that returns its row (`on_conflict_do_update(...).returning(...)`)."""
    return _ROW_LOCK.search(text) is not None or "on_conflict_do_update" in text and ".returning(" in text


def _local_classes(function: ast.FunctionDef) -> dict[str, str]:
    """Names the function binds to an instance of a class it names: `usage = Usage()`, a parameter
    or a variable annotated `usage: Usage` (or `Optional[Usage]`, `Usage | None`)."""
    arguments = function.args
    found = {argument.arg: name for argument in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)
             if (name := _class_of_annotation(argument.annotation)) is not None}
    for node in walk_in_order(function):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = _class_of_annotation(node.annotation)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Call):
            name = _method(node.value)
            name = name if name and name[:1].isupper() else None
        else:
            continue
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
        if name is not None:
            found[target.id] = name
    return found


def _class_of_annotation(annotation: Optional[ast.AST]) -> Optional[str]:
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):  # `Usage | None`
        sides = [side for side in (annotation.left, annotation.right)
                 if not (isinstance(side, ast.Constant) and side.value is None)]
        return _class_of_annotation(sides[0]) if len(sides) == 1 else None
    if isinstance(annotation, ast.Subscript) and (dotted(annotation.value) or "").rpartition(".")[2] == "Optional":
        return _class_of_annotation(annotation.slice)
    name = (dotted(annotation) or "").rpartition(".")[2] if annotation is not None else ""
    return name if name[:1].isupper() else None


def _adds_to(value: ast.AST, name: str) -> bool:
    """`<x>.name + ...` or `... + <x>.name`: a value that adds to what the attribute holds."""
    return isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and any(
        (attribute := _attribute_read(operand)) is not None and attribute.attr == name
        for operand in (value.left, value.right))


def _attribute_read(node: ast.AST) -> Optional[ast.Attribute]:
    """The attribute `node` reads: `<x>.name`, or `(<x>.name or 0)`, which reads it with a
    default for None (onyx: `attempt.completed_batches = (attempt.completed_batches or 0) + 1`)."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2 \
            and isinstance(node.values[1], ast.Constant):
        node = node.values[0]
    return node if isinstance(node, ast.Attribute) else None


def _only_rejects(body: list[ast.stmt]) -> bool:
    """Every path through `body` raises or returns nothing (`return`, `return None`), or does
    nothing: `if` statements whose branches only do so too."""
    return all(isinstance(statement, (ast.Raise, ast.Pass))
               or isinstance(statement, ast.Return) and (statement.value is None
                                                         or isinstance(statement.value, ast.Constant) and statement.value.value is None)
               or isinstance(statement, ast.If) and _only_rejects(statement.body) and _only_rejects(statement.orelse)
               for statement in body)


def _a_data_version(candidate: ast.AST, test: ast.Compare) -> bool:
    """Whether a comparison of a version reads as a switch on a stored data version: the
    version is compared with a literal or a named constant (`== 1`, `< CURRENT_VERSION`), not
    with another value (warehouse: `version != self.release.version`, a package version typed
    into a form; kinto's migrator: `version == self.schema_version`); not with a number of 1000
    or more (`manager.version >= 100000`: PostgreSQL's server_version_num; data versions count
    1, 2, 3); and not the version of an IP address (`ipaddress.ip_address(host).version == 6`,
    `address.version != 4`, `== IP_VERSION_4`, `== IPV4_STR`)."""
    others = [side for side in (test.left, *test.comparators) if side is not candidate]
    literal = [side for side in others if isinstance(side, ast.Constant) and isinstance(side.value, (int, str))
               or isinstance(side, (ast.Name, ast.Attribute)) and (dotted(side) or "").rpartition(".")[2].isupper()]
    if len(literal) != len(others) or any(isinstance(side, ast.Constant) and isinstance(side.value, int)
                                          and side.value >= 1000 for side in literal):
        return False
    return not (isinstance(candidate, ast.Attribute) and _an_ip_address(candidate.value)
                or any(_IP_VERSION_CONSTANT.search((dotted(side) or "").rpartition(".")[2]) for side in literal))


_IP_VERSION_CONSTANT = LazyPattern(r"(^|_)IP(V[46]|_VERSION)")  # IP_VERSION_4, IPV4_STR
_IP_ADDRESS_WORDS = LazyPattern(r"(^|_)(ip|ips|ipaddr|ip_address|addr|address|network|net|subnet|cidr|interface)(_|$)")


def _an_ip_address(node: ast.AST) -> bool:
    """`ipaddress.ip_address(host)`, `netaddr.IPNetwork(cidr)`, or a name that says it holds an
    address or network."""
    if isinstance(node, ast.Call):
        callee = (dotted(node.func) or "").rpartition(".")[2].lower().replace("_", "")
        return callee in ("ipaddress", "ipnetwork", "ipinterface")
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return bool(_IP_ADDRESS_WORDS.search(name.lower()))


_INSERTS = ("add", "add_all", "insert", "merge", "create", "bulk_save_objects")


def _queried_model(call: ast.Call) -> Optional[str]:
    """The model class a query chain starts from: `Model.query...`, `session.query(Model)...`,
    `select(Model)...` (None when it cannot be told)."""
    node: ast.AST = call.func
    while True:
        if isinstance(node, ast.Attribute):
            if node.attr == "query" and isinstance(node.value, ast.Name) and node.value.id[:1].isupper():
                return node.value.id
            node = node.value
        elif isinstance(node, ast.Call):
            if _method(node) in ("query", "select") and node.args and isinstance(node.args[0], ast.Name) \
                    and node.args[0].id[:1].isupper():
                return node.args[0].id
            node = node.func
        else:
            return None


def _string(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _get_key(node: ast.AST) -> Optional[tuple[str, ast.Call]]:
    """("key", call) for `<x>.get("key", ...)`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        arguments = call_arguments(node)
        key = _string(arguments[0][1]) if arguments else None
        if key is not None:
            return key, node
    return None


def _reads_a_secret(call: ast.Call) -> bool:
    """`os.getenv("FERNET_KEY")`, `app.config.get("SECRET")`, `os.environ.get(name)`: a read of
    configuration whose key, when written, names a secret."""
    method = _method(call)
    if method not in _CONFIG_READS:
        return False
    if method == "get" and not _CONFIG_RECEIVER.search(_receiver(call)):
        return False
    arguments = call_arguments(call)
    key = _string(arguments[0][1]) if arguments else None
    return key is None or bool(_SECRET_NAME.search(key))


def _receiver(get_call: ast.Call) -> str:
    """`self.options` in `self.options.get("key")` ("" when it is not a dotted name)."""
    return dotted(get_call.func.value) or ""


def _calls(node) -> list[ast.Call]:
    """The calls in a node (or a body of statements), as written."""
    return [call for call in walk_in_order(node) if isinstance(call, ast.Call)]


def _flatten(source: PythonFile, body: list[ast.stmt]) -> tuple[list[ast.stmt], set[int]]:
    """The statements of a body, with `with`/`try`/`for` bodies inlined (in order), and the ids of
    those written on the line of their header (`with x: y = 1`): only statements on lines of their
    own are read as checks."""
    statements: list[ast.stmt] = []
    one_line: set[int] = set()
    if body and on_header_line(source, body):
        one_line.update(id(statement) for statement in body)
    for statement in body:
        statements.append(statement)
        if isinstance(statement, (ast.With, ast.AsyncWith, ast.Try, ast.For, ast.AsyncFor, ast.While)):
            inner, inner_one_line = _flatten(source, statement.body)
            statements.extend(inner)
            one_line |= inner_one_line
    return statements, one_line


def _checked_columns(node: ast.AST) -> tuple[tuple[str, ...], Optional[str]]:
    """Columns an existence query looks up (`filter_by(col=...)`, `Model.col == ...`), when the
    expression ends in first()/one_or_none()/scalar()/exists(), and the model it queries when
    written. A count() is left out: it is compared with a cap more often than with zero."""
    calls = _calls(node)
    if not any(_method(call) in ("first", "one_or_none", "scalar", "exists") for call in calls):
        return (), None
    columns, models = [], []
    for call in calls:
        if _method(call) == "filter_by":
            columns += [keyword.arg for keyword in call.keywords if keyword.arg is not None]
            models.append(_queried_model(call))
    for comparison in walk_in_order(node):
        if isinstance(comparison, ast.Compare) and isinstance(comparison.left, ast.Attribute) \
                and any(isinstance(operator, ast.Eq) for operator in comparison.ops):
            columns.append(comparison.left.attr)
            owner = comparison.left.value
            models.append(owner.id if isinstance(owner, ast.Name) and owner.id[:1].isupper() else None)
    return tuple(columns), next((model for model in models if model), None)


def _adds_self(call: ast.Call) -> bool:
    """`session.add(self)`: the object saves its own changes, it inserts no new row."""
    return len(call.args) == 1 and isinstance(call.args[0], ast.Name) and call.args[0].id == "self"


def _constructed_model(call: ast.Call) -> Optional[str]:
    """`Model` in `session.add(Model(...))`."""
    argument = call.args[0] if call.args else None
    if isinstance(argument, ast.Call) and isinstance(argument.func, ast.Name) and argument.func.id[:1].isupper():
        return argument.func.id
    return None


def _names_in(node: ast.AST) -> list[str]:
    """The names written in an expression, in order: variables, attribute names, keyword and
    lambda parameter names."""
    names: list[tuple[tuple[int, int], str]] = []  # by (line, UTF-8 offset): only compared, never shown
    for child in walk_in_order(node):
        if isinstance(child, ast.Name):
            names.append(((child.lineno, child.col_offset), child.id))
        elif isinstance(child, ast.Attribute):  # the name ends the node
            names.append(((child.end_lineno, child.end_col_offset - len(child.attr.encode())), child.attr))
        elif isinstance(child, ast.keyword) and child.arg is not None:
            names.append(((child.lineno, child.col_offset), child.arg))
        elif isinstance(child, ast.arg):
            names.append(((child.lineno, child.col_offset), child.arg))
    return [name for _, name in sorted(names, key=lambda item: item[0])]


_SET_READS = frozenset({"all", "distinct"})  # a query ending so reads every row it matches, not one


_FILTERS = frozenset({"filter", "where", "and_"})
_PARENT_KEY = LazyPattern(r"(^|_)id$")


def _scopes(predicate: ast.AST) -> bool:
    """`X.project_id == p`, `X.project_id.in_(ids)`: the rows of a parent (a tenant, a project).
    The other predicates beside it are then looked up within that parent, not by a key alone."""
    if isinstance(predicate, ast.Compare) and any(isinstance(operator, ast.Eq) for operator in predicate.ops):
        column = predicate.left
    elif isinstance(predicate, ast.Call) and _method(predicate) == "in_":
        column = predicate.func.value
    else:
        return False
    return isinstance(column, ast.Attribute) and bool(_PARENT_KEY.search(column.attr))


def _method(call: ast.Call) -> Optional[str]:
    return call.func.attr if isinstance(call.func, ast.Attribute) else (call.func.id if isinstance(call.func, ast.Name) else None)


class _Collector:
    """One walk over a file, in the order it is written."""

    def __init__(self, source: PythonFile) -> None:
        self.source = source
        self._location = source.location
        self.lookups: list[Lookup] = []
        self._not_by_key: set[int] = set()  # ids of comparisons and filter_by calls that are no lookup by a key (Lookup.by_key)
        self.check_then_inserts: list[CheckThenInsert] = []
        self.read_modify_writes: list[ReadModifyWrite] = []
        self.fallback_reads: list[FallbackRead] = []
        self.field_aliases: list[FieldAlias] = []
        self.version_switches: list[VersionSwitch] = []
        self.key_fallbacks: list[GeneratedKeyFallback] = []
        self.json_key_filters: list[JsonKeyFilter] = []
        self.strings: list[tuple[str, Location]] = []
        self._inside_fstrings: set[int] = set()  # an f-string's text pieces and format specs: not string literals
        self._guarded_increments: set[int] = set()  # constant increments checked earlier in their function
        self._receiver_classes: dict[int, str] = {}  # read-modify-write node -> the class of its object
        self._locked_writes: set[int] = set()  # read-modify-write nodes whose object was read under a row lock
        self._locking_functions: Optional[frozenset[str]] = None  # the module's functions that lock the rows they read
        self._locking_consulted = False  # by the statement being walked
        # by the statement being walked: local name -> whether it held a hashed value when first asked
        # about (None: the statement assigned it one first)
        self._hashed_asked: dict[str, Optional[bool]] = {}
        self.negated_names: set[str] = set()
        self.accumulated_names: set[str] = set()
        self.subtracted_names: set[str] = set()
        self.non_negative_inputs: set[str] = set()
        self.attribute_names: set[str] = set()
        self.hashed_names: set[str] = set()
        self._hashed_locals: set[str] = set()  # local names assigned a hashed value, file-wide
        # The lines that name a hashing function or a lower bound: most files name neither, and
        # a statement whose lines name none needs no closer look (a whole-statement search cost
        # a third of the walk of redash's models module). Those of the lines walked (`_search`).
        self._hashing_lines: Optional[_LinesMatching] = None
        self._bound_lines: Optional[_LinesMatching] = None

    def collect(self, kept: Optional[dict[tuple, "_Collected"]] = None) -> Optional[dict[tuple, "_Collected"]]:
        """Walk the file. With `kept` (what each module-level statement of the file's last text
        collected, by `_statement_key`), a statement found there is not walked again: what it
        collected is taken, moved to its lines. Returns what each statement collected, for the
        next text, when `kept` is given."""
        if kept is None:
            self._search(self.source.text)
            self._walk(self.source.tree)
            return None
        now = {}
        for statement in self.source.tree.body:
            text = self.source.statement_text(statement)
            key = self._statement_key(statement, text)
            taken = kept.get(key)
            first = first_line(statement)
            if taken is not None and self._holds(taken):
                taken = taken.moved_to(first)
                self._take(taken)
            else:
                self._search(text, first - 1)
                taken = self._collect_statement(statement)
            now[key] = taken
        return now

    def _search(self, text: str, before: int = 0) -> None:
        """Find the lines of `text` (the file's lines after the first `before`) that name a hashing
        function or a lower bound, before its nodes are walked."""
        self._hashing_lines = _LinesMatching.of(_HASHING, text.lower(), before)
        self._bound_lines = _LinesMatching.of(_BOUND_WORDS, text, before)

    def _statement_key(self, statement: ast.stmt, text: str) -> tuple:
        """What a statement collects depends on its text and column (its lines only move its
        places), on how the file's lines are read (as written, or rewritten for an older grammar;
        columns beyond ASCII), and on what it asked of the statements before it (`_holds`)."""
        return statement.col_offset, text, self.source.ascii, self.source.rewritten

    def _holds(self, collected: "_Collected") -> bool:
        """Whether the names a statement asked about hold a hashed value now as they did (those
        assigned one before it) and the module's functions that lock rows, if it asked, are the same."""
        return all((name in self._hashed_locals) == hashed for name, hashed in collected.hashed_asked) \
            and (collected.locking is None or collected.locking == self._module_locking_functions())

    def _walk(self, node: ast.AST) -> None:
        visits = _VISITS
        for inner in walk_in_order(node):
            visit = visits.get(type(inner))
            if visit is not None:
                visit(self, inner)

    def _collect_statement(self, statement: ast.stmt) -> "_Collected":
        lengths = [len(getattr(self, name)) for name in _LISTED]
        file_names = [getattr(self, name) for name in _NAMED]
        for name in _NAMED:
            setattr(self, name, set())
        hashed_before = frozenset(self._hashed_locals)
        self._locking_consulted, self._hashed_asked = False, {}
        self._walk(statement)
        named = []
        for name, names in zip(_NAMED, file_names):
            added = getattr(self, name)
            if added:
                names |= added
                named.append((name, frozenset(added)))
            setattr(self, name, names)
        listed = tuple((name, tuple(items[length:])) for name, length in zip(_LISTED, lengths)
                       if len(items := getattr(self, name)) > length)
        return _Collected(first_line(statement), statement.end_lineno, listed, tuple(named),
                          frozenset(self._hashed_locals) - hashed_before,
                          tuple((name, hashed) for name, hashed in self._hashed_asked.items() if hashed is not None),
                          self._locking_functions if self._locking_consulted else None)

    def _take(self, collected: "_Collected") -> None:
        for name, items in collected.listed:
            getattr(self, name).extend(items)
        for name, names in collected.named:
            getattr(self, name).update(names)
        if collected.hashed_locals:
            self._hashed_locals |= collected.hashed_locals

    # lookups and JSON keys

    def visit_attribute(self, node: ast.Attribute) -> None:
        self.attribute_names.add(node.attr)

    def visit_call(self, node: ast.Call) -> None:
        method = _method(node)
        if method in ("getattr", "setattr", "hasattr") and len(node.args) > 1 and isinstance(node.func, ast.Name):
            name = _string(node.args[1])
            if name:
                self.attribute_names.add(name)
        elif method and method[0].isupper():
            self.attribute_names.update(keyword.arg for keyword in node.keywords if keyword.arg is not None)
        if method == "or_":
            self._not_by_key.update(id(argument) for argument in node.args if isinstance(argument, ast.Compare))
        elif method in _SET_READS and isinstance(node.func, ast.Attribute):
            # parents come first in the walk: the query's predicates are visited after this
            self._not_by_key.update(id(inner) for inner in walk_in_order(node.func.value) if isinstance(inner, (ast.Compare, ast.Call)))
        elif method in _FILTERS and any(_scopes(argument) for argument in node.args):
            self._not_by_key.update(id(argument) for argument in node.args if not _scopes(argument))
        elif method == "filter_by":
            model = _queried_model(node)
            scoped = any(keyword.arg and _PARENT_KEY.search(keyword.arg) for keyword in node.keywords)
            by_key = id(node) not in self._not_by_key
            for keyword in node.keywords:
                if keyword.arg is not None:
                    lookup_by_key = by_key and (not scoped or bool(_PARENT_KEY.search(keyword.arg)))
                    self.lookups.append(Lookup(keyword.arg, model, self._location(keyword), lookup_by_key))
        arguments = call_arguments(node)
        got = _get_key(node)
        if got is not None and len(arguments) > 1:
            default = arguments[1][1]
            inner = _get_key(default)
            if inner is not None and inner[0] != got[0]:
                self.fallback_reads.append(FallbackRead((got[0], inner[0]), self._location(node),
                                                        (_receiver(got[1]), _receiver(inner[1]))))
            if _reads_a_secret(node) and any(_method(call) in _GENERATORS for call in _calls(default)):
                self._key_fallback(default, self._location(node))

    def visit_compare(self, node: ast.Compare) -> None:
        operands = (node.left, *node.comparators)
        if any(_negative_constant(operand) for operand in operands):
            self.negated_names.update(operand.attr for operand in operands if isinstance(operand, ast.Attribute))
        for left, operator, right in zip(operands, node.ops, operands[1:]):
            if isinstance(operator, (ast.Lt, ast.LtE)) and isinstance(left, ast.Attribute) and _zero(right):
                self.negated_names.add(left.attr)
            elif isinstance(operator, (ast.Gt, ast.GtE)) and isinstance(right, ast.Attribute) and _zero(left):
                self.negated_names.add(right.attr)
        if isinstance(node.left, ast.Attribute) and isinstance(node.left.value, ast.Name):
            if any(isinstance(operator, ast.Eq) for operator in node.ops):
                model = node.left.value.id
                if model[:1].isupper():
                    by_key = id(node) not in self._not_by_key and not any(
                        isinstance(other, ast.Attribute) and isinstance(other.value, ast.Name) and other.value.id[:1].isupper()
                        for other in node.comparators)
                    self.lookups.append(Lookup(node.left.attr, model, self._location(node), by_key))

    def visit_subscript(self, node: ast.Subscript) -> None:
        value = node.value
        if not (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id[:1].isupper()):
            return
        index = node.slice
        if isinstance(index, ast.Tuple) and not self._in_own_parentheses(index):  # `x[a, b]`: one index per element
            if len(index.elts) != 1:
                return
            index = index.elts[0]
        if isinstance(index, ast.Slice):
            return
        if isinstance(index, ast.Starred):  # `x[*keys]`: the key is what is unpacked
            index = index.value
        key = _string(index) or self._written(index)
        self.json_key_filters.append(JsonKeyFilter(value.value.id, value.attr, key, self._location(node)))

    # fallbacks

    def visit_bool_op(self, node: ast.BoolOp) -> None:
        """`a or b or c` is read as `(a or b) or c`, the outer pair first: a fallback is a pair of
        reads, a generated key is what comes after everything that was read."""
        if not isinstance(node.op, ast.Or):
            return
        start = self._location(node)
        for last in range(len(node.values) - 1, 0, -1):
            left, right = node.values[:last], node.values[last]
            if last == len(node.values) - 1:
                location = start
            else:
                end_line, end_column = self._after_parentheses(self._location(right))
                location = Location(start.path, start.line, start.column, end_line, end_column)
            left_key = _get_key(left[0]) if len(left) == 1 else None
            right_key = _get_key(right)
            if left_key is not None and right_key is not None and left_key[0] != right_key[0]:
                self.fallback_reads.append(FallbackRead((left_key[0], right_key[0]), location,
                                                        (_receiver(left_key[1]), _receiver(right_key[1]))))
            if any(_reads_a_secret(call) for call in _calls(left)) and \
                    any(_method(call) in _GENERATORS for call in _calls(right)):
                self._key_fallback(right, location)

    def _key_fallback(self, generated: ast.AST, location: Location) -> None:
        generator = next(_method(call) for call in _calls(generated) if _method(call) in _GENERATORS)
        self.key_fallbacks.append(GeneratedKeyFallback(generator, location))

    # version switches and check-then-insert

    def visit_if(self, node: ast.If) -> None:
        test = node.test
        if _only_rejects(node.body) and _only_rejects(node.orelse):
            # a check that rejects a version (`if address.version != 4: raise`; skyvern: `if
            # raw.get("version") != "1": return None`), not a switch of shapes
            return
        candidates = (test.left, *test.comparators) if isinstance(test, ast.Compare) \
            and not any(isinstance(c, ast.Constant) and c.value is None for c in test.comparators) else ()
        for candidate in candidates:
            got = _get_key(candidate) if isinstance(candidate, ast.Call) else None
            name = got[0] if got else (candidate.attr if isinstance(candidate, ast.Attribute) else None)
            if name in _VERSION_FIELDS and _a_data_version(candidate, test):
                self.version_switches.append(VersionSwitch(name, self._location(node), key=got is not None))
                break

    def visit_function(self, node: ast.FunctionDef) -> None:
        """Existence checks (`if <query>.first() ...`, or a variable holding one) followed, in the
        same function, by an insert; constant increments of an attribute compared earlier."""
        self._mark_guarded_increments(node)
        self._mark_receiver_classes(node)
        self._mark_locked_writes(node)
        checks: dict[str, tuple[tuple[str, ...], Optional[str]]] = {}  # variable -> (columns, model) of its query
        statements, one_line = _flatten(self.source, node.body)
        for position, statement in enumerate(statements):
            if isinstance(statement, ast.Assign) and id(statement) not in one_line:
                if len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                    checked = _checked_columns(statement.value)
                    if checked[0]:
                        checks[statement.targets[0].id] = checked
            elif isinstance(statement, ast.If):
                columns, model = _checked_columns(statement.test)
                if not columns:
                    columns, model = next((checks[name] for name in _names_in(statement.test) if name in checks), ((), None))
                if not columns:
                    continue
                # the insert under the check, in its `else` (`if row: update, else: insert`), or after it
                later = [call for rest in (statement.body, statement.orelse, *statements[position + 1:]) for call in _calls(rest)
                         if _method(call) in _INSERTS and not _adds_self(call)]
                if later:
                    self.check_then_inserts.append(CheckThenInsert(
                        columns, self._location(statement), self._location(later[0]), model, _constructed_model(later[0])))

    # read-modify-write

    def _mark_guarded_increments(self, function: ast.FunctionDef) -> None:
        if "+" not in self.source.segment(function):
            return  # no increment is written without a plus
        compared: list[tuple[int, str]] = []
        increments: list[tuple[ast.AST, str]] = []
        for node in walk_in_order(function):
            if isinstance(node, ast.Compare):
                compared += [(node.lineno, dotted(operand)) for operand in (node.left, *node.comparators)
                             if isinstance(operand, ast.Attribute)]
            elif isinstance(node, (ast.AugAssign, ast.Assign)) and (raised := _constant_increment(node)) is not None:
                increments.append((node, raised))
        for node, raised in increments:
            if any(line < node.lineno and name == raised for line, name in compared):
                self._guarded_increments.add(id(node))

    def visit_aug_assign(self, node: ast.AugAssign) -> None:
        target = node.target
        if isinstance(target, ast.Attribute) and isinstance(node.op, ast.Add):
            self.accumulated_names.add(target.attr)
        if isinstance(target, ast.Attribute) and isinstance(node.op, ast.Sub) and not _clamped(node.value, target):
            self.subtracted_names.add(target.attr)
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id != "self" \
                and isinstance(node.op, (ast.Add, ast.Sub)):
            self.read_modify_writes.append(self._read_modify_write(target.attr, node))

    def _counts_events(self, node: ast.AST) -> bool:
        return _constant_increment(node) is not None and id(node) not in self._guarded_increments

    def _mark_receiver_classes(self, function: ast.FunctionDef) -> None:
        """The class of each read-modify-write's object, where the function says it."""
        classes = _local_classes(function)
        if not classes:
            return
        for node in walk_in_order(function):
            target = node.target if isinstance(node, ast.AugAssign) else \
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id in classes:
                self._receiver_classes[id(node)] = classes[target.value.id]

    def _mark_locked_writes(self, function: ast.FunctionDef) -> None:
        """The read-modify-writes of `function` whose object it read under a row lock."""
        text = self.source.segment(function)
        if not _CHANGE_IN_PLACE.search(text):
            return  # no read-modify-write is written without one (most functions: spared a walk)
        writes = [(node, target.value.id) for node in walk_in_order(function)
                  if isinstance(node, (ast.AugAssign, ast.Assign))
                  and isinstance(target := node.target if isinstance(node, ast.AugAssign) else node.targets[0], ast.Attribute)
                  and isinstance(target.value, ast.Name)]
        if not writes:
            return
        if _locks_rows(text):
            self._locked_writes.update(id(node) for node, _receiver in writes)
            return
        locking = self._module_locking_functions()
        if not locking:
            return
        locked_names = {node.targets[0].id for node in walk_in_order(function)
                        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                        and isinstance(node.value, ast.Call) and _method(node.value) in locking}
        self._locked_writes.update(id(node) for node, receiver in writes if receiver in locked_names)

    def _module_locking_functions(self) -> frozenset[str]:
        self._locking_consulted = True
        if self._locking_functions is None:
            self._locking_functions = frozenset(
                statement.name for statement in self.source.tree.body
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and _locks_rows(self.source.segment(statement)))
        return self._locking_functions

    def _read_modify_write(self, attribute: str, node: ast.AST) -> ReadModifyWrite:
        return ReadModifyWrite(attribute, self._location(node), self._counts_events(node), self._receiver_classes.get(id(node)),
                               id(node) in self._locked_writes)

    # signed quantities and validated inputs

    def _may_bound(self, node: ast.stmt) -> bool:
        """The statement's lines name a lower bound (`ge=`, `gt=`, `min=`) or a positive type:
        `_bounded_non_negative` need not walk it otherwise."""
        return self._bound_lines is not None and self._bound_lines.within(node)

    def visit_keyword(self, node: ast.keyword) -> None:
        if node.arg is not None and _negated(node.value):
            self.negated_names.add(node.arg)
        if node.arg is not None and _adds_to(node.value, node.arg):
            self.accumulated_names.add(node.arg)
        if node.arg is not None and self._hashed(node.value):
            self.hashed_names.add(node.arg)

    def _hashed(self, value: ast.AST) -> bool:
        """A value a hashing or encryption function returned, or a local name assigned one."""
        if isinstance(value, ast.Name):
            hashed = value.id in self._hashed_locals
            self._hashed_asked.setdefault(value.id, hashed)
            return hashed
        if self._hashing_lines is None:
            return False
        return self._hashing_lines.within(value) and any(_HASHING.search((_method(call) or "").lower()) for call in _calls(value))

    def visit_dict(self, node: ast.Dict) -> None:
        """`{"sum_value": Model.sum_value + n}`: the values of an UPDATE written as a dict
        (privacyidea's `update(...).values(**increments)`)."""
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and _adds_to(value, key.value):
                self.accumulated_names.add(key.value)

    def visit_unary_op(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Attribute):
            self.subtracted_names.add(node.operand.attr)

    def visit_bin_op(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Sub):
            self.subtracted_names.update(operand.attr for operand in (node.left, node.right) if isinstance(operand, ast.Attribute))
        elif isinstance(node.op, ast.Add):
            # `fleet.consolidation_attempt + 1` (dstack, stored back through a dict of updates): a count
            self.accumulated_names.update(
                attribute.attr for operand, other in ((node.left, node.right), (node.right, node.left))
                if (attribute := _attribute_read(operand)) is not None and isinstance(other, ast.Constant) and other.value == 1)

    def visit_ann_assign(self, node: ast.AnnAssign) -> None:
        if isinstance(node.target, ast.Name) and self._may_bound(node) and _bounded_non_negative(node.annotation, node.value):
            self.non_negative_inputs.add(node.target.id)

    def visit_assign(self, node: ast.Assign) -> None:
        may_bound = self._may_bound(node)
        hashed = self._hashed(node.value)
        for target in node.targets:
            if isinstance(target, ast.Attribute) and _negated(node.value):
                self.negated_names.add(target.attr)
            if isinstance(target, ast.Attribute) and _adds_to(node.value, target.attr):
                self.accumulated_names.add(target.attr)
            if hashed:
                if isinstance(target, ast.Attribute):
                    self.hashed_names.add(target.attr)
                elif isinstance(target, ast.Name):
                    self._hashed_locals.add(target.id)
                    self._hashed_asked.setdefault(target.id, None)  # what it asks of the name later is its own
            if isinstance(target, ast.Name) and may_bound and _bounded_non_negative(None, node.value):
                self.non_negative_inputs.add(target.id)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call) \
                and _method(node.value) == "synonym" and node.value.args:
            # `old_name = synonym("new_name")` on a model: the old attribute keeps reading a stored column.
            target = _string(node.value.args[0])
            if target:
                self.field_aliases.append(FieldAlias((node.targets[0].id, target), self._location(node)))
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Attribute):
            return
        target = node.targets[0]
        value = node.value
        if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.Add, ast.Sub)) \
                and isinstance(target.value, ast.Name) and target.value.id != "self" \
                and dotted(value.left) == dotted(target):
            self.read_modify_writes.append(self._read_modify_write(target.attr, node))

    # URLs

    def visit_constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "://" in node.value and id(node) not in self._inside_fstrings:
            self._urls(node)

    def visit_fstring(self, node: ast.JoinedStr) -> None:
        for part in node.values:
            if isinstance(part, ast.Constant):
                self._inside_fstrings.add(id(part))
            elif isinstance(part, ast.FormattedValue) and part.format_spec is not None:
                self._inside_fstrings.add(id(part.format_spec))
        if id(node) not in self._inside_fstrings \
                and any(isinstance(part, ast.Constant) and "://" in str(part.value) for part in node.values):
            self._urls(node)  # `"sqlite://" f"{name}"`: the plain literal

    def _urls(self, node) -> None:
        """URL-like literals of a string expression, each with its own location."""
        literals = string_literals(self.source, node)
        if len(literals) == 1 and isinstance(node, ast.Constant):
            found = [(node.value, self._location(node))]
        else:
            found = [(value, location) for written, location in literals
                     for value in [_literal_value(written)] if value is not None]
        self.strings += [(value, location) for value, location in found if "://" in value[:40]]

    # positions

    def _written(self, node: ast.AST) -> str:
        """The source of `node` with the parentheses written around it (`x[(key)]`)."""
        location = self._location(node)
        text = self.source.segment(node)
        if location.end_line != location.line:
            return text
        line = self.source.lines[location.line - 1]
        start, end = location.column - 1, location.end_column - 1
        while True:
            before = len(line[:start].rstrip())
            after = len(line) - len(line[end:].lstrip())
            if before == 0 or after >= len(line) or line[before - 1] != "(" or line[after] != ")":
                return line[start:end]
            start, end = before - 1, after + 1

    def _in_own_parentheses(self, node: ast.Tuple) -> bool:
        """`(a, b)` rather than `a, b` (whose first element may be `(a)`)."""
        text = self.source.segment(node)
        if not text.startswith("("):
            return False
        depth = 0
        try:
            tokens = [t for t in tokenize.generate_tokens(io.StringIO(f"({text})").readline) if t.type == tokenize.OP]
        except (tokenize.TokenError, SyntaxError):
            return True
        for position, token in enumerate(tokens[1:-1]):
            depth += {"(": 1, ")": -1}.get(token.string, 0)
            if depth == 0:
                return position == len(tokens) - 3  # the first parenthesis closes at the end
        return True

    def _after_parentheses(self, location: Location) -> tuple[int, int]:
        """Where an operand ends with the `)` written after it (before the next `or`)."""
        line, column = location.end_line or location.line, location.end_column or location.column
        end = (line, column)
        lines = self.source.lines
        while line <= len(lines):
            text = lines[line - 1]
            while column <= len(text) and text[column - 1] in " \t\f\\":
                column += 1
            if column <= len(text) and text[column - 1] == ")":
                column += 1
                end = (line, column)
            elif column > len(text) or text[column - 1] == "#":
                line, column = line + 1, 1
            else:
                break
        return end


def _clamped(value: ast.AST, target: ast.Attribute) -> bool:
    """`x.a -= min(n, x.a)`: the decrement stops at zero."""
    return isinstance(value, ast.Call) and _method(value) == "min" \
        and any(dotted(argument) == dotted(target) for argument in value.args)


def _negative_constant(value: ast.AST) -> bool:
    """`-1`, `-1.0`: a negative number written as such."""
    return isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and isinstance(value.operand, ast.Constant) \
        and type(value.operand.value) in (int, float)


def _zero(value: ast.AST) -> bool:
    return isinstance(value, ast.Constant) and type(value.value) in (int, float) and value.value == 0


def _negated(value: ast.AST) -> bool:
    """`-expression` (a negative literal such as `-1` is a sentinel, not a signed quantity)."""
    return isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub) and not isinstance(value.operand, ast.Constant)


_NON_NEGATIVE_TYPES = frozenset({"PositiveInt", "NonNegativeInt", "PositiveFloat", "NonNegativeFloat", "PositiveDecimal"})
# Functions that hash or encrypt: hash_password, generate_password_hash, bcrypt.hashpw,
# make_password, encrypt, hmac.new(...).hexdigest, hashlib.sha256(...).digest.
# Matched in lowercased text: the same search with re.IGNORECASE takes 8 times as long.
_HASHING = LazyPattern(r"hash|crypt|digest|hmac|argon|scrypt|pbkdf|make_password")
# A lower bound (`ge=`, `gt=`, `min=`, its `=` perhaps on the next line, after a backslash or
# within brackets) or a positive type. Written `\b(?:ge|gt|min)\s*(?:\\\s*)?=|Positive|NonNegative`
# in full; a pattern that starts with a character class is searched 5 times as fast.
_BOUND_WORDS = LazyPattern(r"[gmPN](?:(?<=\bg)[et]\s*(?:\\\s*)?=|(?<=\bm)in\s*(?:\\\s*)?=|ositive|onNegative)")


class _LinesMatching:
    """The numbers of the lines of a file's text that a match of a pattern starts on (`text`: the
    file's lines after the first `before`)."""

    def __init__(self, pattern: re.Pattern, text: str, before: int = 0) -> None:
        self.numbers: list[int] = []
        line, counted = before + 1, 0
        for match in pattern.finditer(text):
            line += len(LINE_BREAK.findall(text, counted, match.start()))
            counted = match.start()
            if not self.numbers or self.numbers[-1] != line:
                self.numbers.append(line)

    @classmethod
    def of(cls, pattern: re.Pattern, text: str, before: int = 0) -> Optional["_LinesMatching"]:
        """None when the pattern matches nowhere."""
        found = cls(pattern, text, before)
        return found if found.numbers else None

    def within(self, node: ast.AST) -> bool:
        """A match on one of the lines `node` spans."""
        at = bisect.bisect_left(self.numbers, node.lineno)
        return at < len(self.numbers) and self.numbers[at] <= node.end_lineno


def _bounded_non_negative(annotation: Optional[ast.AST], value: Optional[ast.AST]) -> bool:
    """A declared field whose lower bound is zero or more: `Field(ge=0)`, `conint(gt=0)`,
    `Annotated[int, Field(ge=1)]`, `PositiveInt`, `fields.Integer(validate=Range(min=0))`."""
    for node in (n for root in (annotation, value) if root is not None for n in ast.walk(root)):
        if isinstance(node, (ast.Name, ast.Attribute)) and (node.id if isinstance(node, ast.Name) else node.attr) in _NON_NEGATIVE_TYPES:
            return True
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                bound = keyword.value
                if keyword.arg in ("ge", "gt", "min") and isinstance(bound, ast.Constant) \
                        and isinstance(bound.value, (int, float)) and not isinstance(bound.value, bool) and bound.value >= 0:
                    return True
    return False


def _constant_increment(node: ast.AST) -> Optional[str]:
    """The attribute (dotted) that `node` raises by a constant: `obj.n += 1`, `obj.n = obj.n + 1`."""
    if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add):
        target, step = node.target, node.value
    elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.BinOp) \
            and isinstance(node.value.op, ast.Add) and dotted(node.value.left) == dotted(node.targets[0]):
        target, step = node.targets[0], node.value.right
    else:
        return None
    if isinstance(target, ast.Attribute) and isinstance(step, ast.Constant) and type(step.value) is int and step.value > 0:
        return dotted(target)
    return None


def _literal_value(written: str) -> Optional[str]:
    """The value of a plain string literal as written (None for an f-string or bytes)."""
    prefix = written[: len(written) - len(written.lstrip("rRbBuUfFtT"))]
    if set(prefix.lower()) & {"f", "t", "b"}:
        return None
    try:
        value = ast.literal_eval(written)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def collect_code_facts(text: str, path: str, dialect: str = "postgresql") -> CodeFacts:
    """Parse one Python file; a syntax error gives empty facts and an ExtractionError."""
    source, error = parse_python(text, path)
    if source is None:
        return CodeFacts(path, errors=(error,))
    return facts_of(source, dialect)


# What `_Collector.collect` does with each kind of node: the functions, not methods bound to a
# collector, so that a collector holds no cycle and its file's tree is freed as soon as it is.
_VISITS = {
    ast.Call: _Collector.visit_call, ast.Compare: _Collector.visit_compare, ast.Subscript: _Collector.visit_subscript,
    ast.BoolOp: _Collector.visit_bool_op, ast.If: _Collector.visit_if, ast.FunctionDef: _Collector.visit_function,
    ast.AsyncFunctionDef: _Collector.visit_function, ast.AugAssign: _Collector.visit_aug_assign,
    ast.Assign: _Collector.visit_assign, ast.Constant: _Collector.visit_constant, ast.JoinedStr: _Collector.visit_fstring,
    ast.keyword: _Collector.visit_keyword, ast.AnnAssign: _Collector.visit_ann_assign,
    ast.Attribute: _Collector.visit_attribute, ast.UnaryOp: _Collector.visit_unary_op, ast.BinOp: _Collector.visit_bin_op,
    ast.Dict: _Collector.visit_dict,
}


# What the collector gathers in lists, in the order the file is written, and in sets of names.
_LISTED = ("lookups", "check_then_inserts", "read_modify_writes", "fallback_reads", "field_aliases", "version_switches",
           "key_fallbacks", "json_key_filters", "strings")
_NAMED = ("negated_names", "accumulated_names", "subtracted_names", "non_negative_inputs", "attribute_names", "hashed_names")
_PLACED_FIELDS = placed_fields((Lookup, CheckThenInsert, ReadModifyWrite, FallbackRead, FieldAlias, VersionSwitch,
                                GeneratedKeyFallback, JsonKeyFilter))


@dataclass(frozen=True)
class _Collected:
    """What walking one module-level statement added to the collector."""

    first: int  # its lines, decorators included
    last: int
    listed: tuple[tuple[str, tuple], ...]  # (a list of _LISTED, what it appended) for those it appended to
    named: tuple[tuple[str, frozenset[str]], ...]  # (a set of _NAMED, the names it added) for those it added to
    hashed_locals: frozenset[str]  # the local names it assigned a hashed value
    hashed_asked: tuple[tuple[str, bool], ...]  # the local names it asked about, whether they held one
    locking: Optional[frozenset[str]]  # the module's functions that lock rows, when its walk asked for them

    def moved_to(self, first: int) -> "_Collected":
        lines = first - self.first
        if not lines:
            return self
        move = LineMove(lines, self.first, self.last, _PLACED_FIELDS)
        return _Collected(first, self.last + lines, tuple((name, move(items)) for name, items in self.listed), self.named,
                          self.hashed_locals, self.hashed_asked, self.locking)


def url_facts_of(source: PythonFile) -> CodeFacts:
    """Only the URL-like string constants of a file that is not application code (the database
    URLs a test suite connects to)."""
    if "://" not in source.text:
        return CodeFacts(source.path)  # a URL is written with its `://` (most test files hold none)
    strings = tuple((node.value, source.location(node)) for node in walk_in_order(source.tree)
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "://" in node.value[:40])
    return CodeFacts(source.path, strings=strings)


class EarlierReads:
    """What the last text of one file read to, kept for the next while an editor changes the
    file: what each function's queries read to (queries.FunctionReads), the names each
    module-level statement references (by its text and column: a statement reads the same names
    wherever it is), what the collector found in each (_Collector.collect) and what each gave the
    file's summary (module_summary.EarlierStatements)."""

    def __init__(self) -> None:
        self.functions = FunctionReads()
        self.names: dict[tuple[int, str], frozenset[str]] = {}
        self.collected: dict[tuple, _Collected] = {}  # what each statement collected (_Collector.collect)
        self.summary = EarlierStatements()  # what each statement gave the file's summary


def facts_of(source: PythonFile, dialect: str = "postgresql", kept: Optional[EarlierReads] = None) -> CodeFacts:
    """The CodeFacts of a file already parsed; `kept`: what the last text of the file read to,
    taken where it holds and replaced with this text's."""
    path = source.path
    collector = _Collector(source)
    if kept is None:
        collector.collect()
    else:
        kept.collected = collector.collect(kept.collected)
    found = read_queries(source, kept.functions if kept is not None else None)
    shapes = tuple(shape_from_sql(shape, dialect) if shape.sql is not None else shape for shape in found.queries)
    return CodeFacts(path, tuple(collector.lookups), tuple(collector.check_then_inserts),
                     tuple(collector.read_modify_writes), tuple(collector.fallback_reads),
                     tuple(collector.field_aliases), tuple(collector.version_switches), tuple(collector.key_fallbacks),
                     tuple(collector.json_key_filters), tuple(collector.strings), queries=shapes,
                     loop_reads=tuple(found.loop_reads), functions=tuple(found.functions),
                     query_calls=tuple(found.calls), hybrids=tuple(found.hybrids),
                     deletion_words=deletion_words(source.text), sql_insert_tables=sql_insert_tables(source.text),
                     referenced_names=_referenced_names(source, kept) if kept is not None else referenced_names(source.tree),
                     negated_names=frozenset(collector.negated_names), subtracted_names=frozenset(collector.subtracted_names),
                     non_negative_inputs=frozenset(collector.non_negative_inputs),
                     attribute_names=frozenset(collector.attribute_names),
                     hashed_names=frozenset(collector.hashed_names),
                     accumulated_names=frozenset(collector.accumulated_names),
                     tables_created=tables_created_at_start(source))


# Functions run once by hand or by a test, not as the application starts: a CLI command, a fixture,
# or one named as a set-up step (`init_db`, `create_schema` (ironic), `create_all_tables` (indico),
# `reset_database`, `seed`, a migration of freqtrade's).
_ONE_OFF_DECORATOR = LazyPattern(r"(^|\.)(command|group|fixture|task)$")
_ONE_OFF_NAME = LazyPattern(r"(^|_)(init|initiali[sz]e|setup|set_up|bootstrap|reset|seed|populate|install|drop|create|recreate|"
                            r"rebuild|migrate|upgrade|restore|import|main|test)(_|$)")


def tables_created_at_start(source: PythonFile) -> tuple[Location, ...]:
    """The `create_all()` calls that run whenever the module or a function of it runs: at the top
    of the module or of a function body (in `with` blocks too), not under `if`/`try`/a loop
    (CTFd creates its tables only on SQLite, dispatch only some with `tables=`), and not in a
    one-off function (`_ONE_OFF_NAME`). jupyterhub creates every model table at each start:
    migrations then need not create them, and a table an older release's models declare is
    made by that release when it starts."""
    if "create_all" not in source.text:
        return ()
    bodies = [source.tree.body] + [node.body for node in walk_in_order(source.tree)
                                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _one_off(node)]
    return tuple(source.location(call) for body in bodies for call in _unconditional_calls(body) if _creates_all_tables(call))


def _one_off(function: ast.AST) -> bool:
    return bool(_ONE_OFF_NAME.search(function.name.lower())) or any(
        _ONE_OFF_DECORATOR.search(dotted(decorator.func if isinstance(decorator, ast.Call) else decorator) or "")
        for decorator in function.decorator_list)


def _unconditional_calls(body: list) -> Iterator[ast.Call]:
    for statement in body:
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            yield from _unconditional_calls(statement.body)
        elif isinstance(statement, ast.Expr):
            value = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
            if isinstance(value, ast.Call):
                yield value


def _creates_all_tables(call: ast.Call) -> bool:
    """`metadata.create_all(engine)`, `db.create_all()`, or `conn.run_sync(Base.metadata.create_all)`;
    not `create_all(engine, tables=[...])`, which creates the tables it names."""
    if any(keyword.arg == "tables" for keyword in call.keywords):
        return False
    if _method(call) == "create_all":
        return True
    return any(isinstance(argument, ast.Attribute) and argument.attr == "create_all" for argument in call.args)


_NAME_STRING = LazyPattern(r"[A-Za-z_][\w.:]*")  # `"pkg.module:function"`, `getattr(x, "name")`


def _assigns_all(node: ast.AST) -> bool:
    """`__all__ = [...]`, `__all__ += [...]` or `__all__: list[str] = [...]`."""
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
    return any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets)


def referenced_names(tree: ast.AST) -> frozenset[str]:
    """See CodeFacts.referenced_names: names and attributes read other than as the function of a
    call inside a function body, every callee outside function bodies, and the identifiers of
    strings that look like names or dotted paths. Read off the file's nodes in order (half the
    time of a walk that asks each node for its children: polar, 0.5 s of a cold index)."""
    order, position, end = nodes_in_order(tree)
    found: set[str] = set()
    inside: list[tuple[int, bool]] = [(end, False)]  # (where a range ends, inside a function body there)
    callee = -1  # the position of a call's function read as a call, not as a name
    while position < end:
        node = order[position]
        while inside[-1][0] <= position:
            inside.pop()
        kind = node.__class__
        if position == callee:
            pass  # the call graph follows the callee; what it is called on (an attribute's object) is a use
        elif kind is ast.Name:
            if isinstance(node.ctx, ast.Load):
                found.add(node.id)
        elif kind is ast.Constant:
            if isinstance(node.value, str) and len(node.value) <= 200 and _NAME_STRING.fullmatch(node.value):
                found.update(part for part in re.split(r"[.:]", node.value) if part)
        elif kind in _ASSIGNMENTS and _assigns_all(node):
            position = node._schemalens_span[2]
            continue
        elif kind is ast.Call:
            if inside[-1][1] and isinstance(node.func, (ast.Attribute, ast.Name)):
                callee = position + 1  # a call's function comes first
        elif kind is ast.Attribute:
            if isinstance(node.ctx, ast.Load):
                found.add(node.attr)
        elif kind in _FUNCTIONS_AND_LAMBDAS:
            outer = inside[-1][1]
            inside.append((node._schemalens_span[2], True))
            decorators = getattr(node, "decorator_list", None)
            if decorators:  # they come first, and run where the function is defined
                inside.append((decorators[-1]._schemalens_span[2], outer))
        position += 1
    return frozenset(found)


def _referenced_names(source: PythonFile, kept: EarlierReads) -> frozenset[str]:
    """referenced_names of the file, statement by statement: a statement of the last text's is
    not walked again."""
    found: set[str] = set()
    names_now: dict[tuple[int, str], frozenset[str]] = {}
    for statement in source.tree.body:
        key = (statement.col_offset, source.statement_text(statement))
        names = kept.names.get(key)
        if names is None:
            names = referenced_names(statement)
        names_now[key] = names
        found |= names
    kept.names = names_now
    return frozenset(found)


_ASSIGNMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign)
_FUNCTIONS_AND_LAMBDAS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
