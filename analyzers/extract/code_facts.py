"""Facts about application code (routes, services, tasks, tests) that the audit rules need.

One libcst pass per file collects them, each with its location; the index caches the result by
content hash like every other parse. Nothing is imported or executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..schema.model import ExtractionError, Location
from .python_names_cst import dotted
from .queries import FunctionFacts, LoopRead, QueryShape, read_queries
from .sql_queries import shape_from_sql


@dataclass(frozen=True, slots=True)
class Lookup:
    """A query predicate on a column by equality: `filter_by(email=...)`, `User.email == ...`."""

    column: str
    model: Optional[str]  # the class name when written as `Model.column`
    location: Location


@dataclass(frozen=True, slots=True)
class CheckThenInsert:
    """`if not <query>.first(): ... add(...)`: an existence check, then an insert, in one function."""

    columns: tuple[str, ...]  # the columns the check looks up
    location: Location  # the `if`
    insert: Location  # the add/insert call


@dataclass(frozen=True, slots=True)
class ReadModifyWrite:
    """`obj.count += 1` / `obj.balance = obj.balance - x` on a loaded object."""

    attribute: str
    location: Location


@dataclass(frozen=True, slots=True)
class FallbackRead:
    """`d.get("new") or d.get("old")` and `d.get("new", d.get("old"))`."""

    keys: tuple[str, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class FieldAlias:
    """A field that answers to another name: `synonym("new")`, `Field(alias="old")`, `AliasChoices(...)`."""

    names: tuple[str, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class VersionSwitch:
    """Code that branches on a stored schema/payload version."""

    field: str
    location: Location


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


_GENERATORS = ("generate_key", "token_bytes", "token_hex", "token_urlsafe", "urandom", "get_random_bytes", "uuid4")
_CONFIG_READS = ("getenv", "get", "environ")
_VERSION_FIELDS = ("schema_version", "payload_version", "data_version", "format_version", "version")
_INSERTS = ("add", "add_all", "insert", "merge", "create", "bulk_save_objects")


def _string(node: cst.BaseExpression) -> Optional[str]:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _source(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _get_key(node: cst.BaseExpression) -> Optional[tuple[str, cst.Call]]:
    """("key", call) for `<x>.get("key", ...)`."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "get" and node.args:
        key = _string(node.args[0].value)
        if key is not None:
            return key, node
    return None


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Calls())
    return found


def _flatten(block: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block, with `with`/`try`/`for` bodies inlined (in order)."""
    statements: list[cst.CSTNode] = []
    for statement in getattr(block, "body", ()):
        statements.append(statement)
        if isinstance(statement, (cst.With, cst.Try, cst.For, cst.While)):
            statements.extend(_flatten(statement.body))
    return statements


def _checked_columns(node: cst.CSTNode) -> tuple[str, ...]:
    """Columns an existence query looks up (`filter_by(col=...)`, `Model.col == ...`), when the
    expression ends in first()/one_or_none()/scalar()/exists()/count()."""
    calls = _calls(node)
    if not any(_method(call) in ("first", "one_or_none", "scalar", "exists", "count") for call in calls):
        return ()
    columns = [argument.keyword.value for call in calls if _method(call) == "filter_by"
               for argument in call.args if argument.keyword is not None]

    class _Compared(cst.CSTVisitor):
        def visit_Comparison(self, comparison: cst.Comparison) -> None:
            if isinstance(comparison.left, cst.Attribute) and any(isinstance(t.operator, cst.Equal) for t in comparison.comparisons):
                columns.append(comparison.left.attr.value)

    node.visit(_Compared())
    return tuple(columns)


def _names_in(node: cst.CSTNode) -> list[str]:
    names: list[str] = []

    class _Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.append(name.value)

    node.visit(_Names())
    return names


def _method(call: cst.Call) -> Optional[str]:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else (call.func.value if isinstance(call.func, cst.Name) else None)


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, path: str) -> None:
        self.path = path
        self.lookups: list[Lookup] = []
        self.check_then_inserts: list[CheckThenInsert] = []
        self.read_modify_writes: list[ReadModifyWrite] = []
        self.fallback_reads: list[FallbackRead] = []
        self.field_aliases: list[FieldAlias] = []
        self.version_switches: list[VersionSwitch] = []
        self.key_fallbacks: list[GeneratedKeyFallback] = []
        self.json_key_filters: list[JsonKeyFilter] = []
        self.strings: list[tuple[str, Location]] = []

    def _location(self, node: cst.CSTNode) -> Location:
        position = self.get_metadata(PositionProvider, node)
        return Location(self.path, position.start.line, position.start.column + 1,
                        position.end.line, position.end.column + 1)

    # lookups and JSON keys

    def visit_Call(self, node: cst.Call) -> None:
        if _method(node) == "filter_by":
            for argument in node.args:
                if argument.keyword is not None:
                    self.lookups.append(Lookup(argument.keyword.value, None, self._location(argument)))
        method = _method(node)
        if method in ("synonym", "AliasChoices") and node.args:
            names = tuple(name for name in (_string(a.value) for a in node.args) if name)
            if names:
                self.field_aliases.append(FieldAlias(names, self._location(node)))
        elif method == "Field":
            names = tuple(name for a in node.args if a.keyword is not None and a.keyword.value in ("alias", "validation_alias")
                          for name in [_string(a.value)] if name)
            if names:
                self.field_aliases.append(FieldAlias(names, self._location(node)))
        got = _get_key(node)
        if got is not None and len(node.args) > 1:
            inner = _get_key(node.args[1].value)
            if inner is not None and inner[0] != got[0]:
                self.fallback_reads.append(FallbackRead((got[0], inner[0]), self._location(node)))
            if any(_method(call) in _GENERATORS for call in _calls(node.args[1].value)):
                self._key_fallback(node.args[1].value, node)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if isinstance(node.left, cst.Attribute) and isinstance(node.left.value, cst.Name):
            if any(isinstance(target.operator, cst.Equal) for target in node.comparisons):
                model = node.left.value.value
                if model[:1].isupper():
                    self.lookups.append(Lookup(node.left.attr.value, model, self._location(node)))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        value = node.value
        if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value[:1].isupper() \
                and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
            index = node.slice[0].slice.value
            key = _string(index) or _source(index)
            self.json_key_filters.append(JsonKeyFilter(value.value.value, value.attr.value, key, self._location(node)))

    # fallbacks

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        if not isinstance(node.operator, cst.Or):
            return
        left, right = _get_key(node.left), _get_key(node.right)
        if left is not None and right is not None and left[0] != right[0]:
            self.fallback_reads.append(FallbackRead((left[0], right[0]), self._location(node)))
        if any(_method(call) in _CONFIG_READS for call in _calls(node.left)) and \
                any(_method(call) in _GENERATORS for call in _calls(node.right)):
            self._key_fallback(node.right, node)

    def _key_fallback(self, generated: cst.CSTNode, where: cst.CSTNode) -> None:
        generator = next(_method(call) for call in _calls(generated) if _method(call) in _GENERATORS)
        self.key_fallbacks.append(GeneratedKeyFallback(generator, self._location(where)))

    # version switches and check-then-insert

    def visit_If(self, node: cst.If) -> None:
        test = node.test
        candidates = (test.left, *[c.comparator for c in test.comparisons]) if isinstance(test, cst.Comparison) else ()
        for candidate in candidates:
            got = _get_key(candidate) if isinstance(candidate, cst.Call) else None
            name = got[0] if got else (candidate.attr.value if isinstance(candidate, cst.Attribute) else None)
            if name in _VERSION_FIELDS:
                self.version_switches.append(VersionSwitch(name, self._location(node)))
                break

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """Existence checks (`if <query>.first() ...`, or a variable holding one) followed, in the
        same function, by an insert."""
        checks: dict[str, tuple[str, ...]] = {}  # variable -> columns its query looks up
        statements = _flatten(node.body)
        for position, statement in enumerate(statements):
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                        columns = _checked_columns(small.value)
                        if columns:
                            checks[small.targets[0].target.value] = columns
            elif isinstance(statement, cst.If):
                columns = _checked_columns(statement.test) or next(
                    (checks[name] for name in _names_in(statement.test) if name in checks), ())
                if not columns:
                    continue
                later = [call for rest in (statement.body, *statements[position + 1:]) for call in _calls(rest)
                         if _method(call) in _INSERTS]
                if later:
                    self.check_then_inserts.append(CheckThenInsert(columns, self._location(statement), self._location(later[0])))

    # read-modify-write

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        target = node.target
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value != "self" \
                and isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            self.read_modify_writes.append(ReadModifyWrite(target.attr.value, self._location(node)))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Attribute):
            return
        target = node.targets[0].target
        value = node.value
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Add, cst.Subtract)) \
                and isinstance(target.value, cst.Name) and target.value.value != "self" \
                and dotted(value.left) == dotted(target):
            self.read_modify_writes.append(ReadModifyWrite(target.attr.value, self._location(node)))

    # URLs

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = _string(node)
        if value is not None and "://" in value[:40]:
            self.strings.append((value, self._location(node)))


def collect_code_facts(text: str, path: str, dialect: str = "postgresql") -> CodeFacts:
    """Parse one Python file; a syntax error gives empty facts and an ExtractionError."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return CodeFacts(path, errors=(ExtractionError(Location(path, max(error.raw_line, 1), error.raw_column + 1),
                                                       f"syntax error: {error.message}"),))
    except (RecursionError, ValueError) as error:
        return CodeFacts(path, errors=(ExtractionError(Location(path, 1), f"cannot parse: {error}"),))
    collector = _Collector(path)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    wrapper.visit(collector)
    positions = wrapper.resolve(PositionProvider)
    found = read_queries(wrapper.module, path, positions.__getitem__)
    shapes = tuple(shape_from_sql(shape, dialect) if shape.sql is not None else shape for shape in found.queries)
    return CodeFacts(path, tuple(collector.lookups), tuple(collector.check_then_inserts),
                     tuple(collector.read_modify_writes), tuple(collector.fallback_reads),
                     tuple(collector.field_aliases), tuple(collector.version_switches), tuple(collector.key_fallbacks),
                     tuple(collector.json_key_filters), tuple(collector.strings), queries=shapes,
                     loop_reads=tuple(found.loop_reads), functions=tuple(found.functions))
