"""A small, safe evaluator for the helpers models call, so that their columns and table names
read as SQLAlchemy would build them, without importing or running anything.

Real projects write `Column = functools.partial(db.Column, nullable=False)`, primary-key
factories (`id = primary_key("User")`), functions that return a `Column` or `mapped_column`,
and `__tablename__` computed from the class name (`resolve_table_name(cls.__name__)`). The
evaluator follows such code over `Expr` trees: constants, strings and their common methods,
`re.sub`/`re.split` with literal patterns (also through `re.compile`), `textwrap.dedent`, f-strings and `%`, tuples, lists, dicts, `defaultdict`,
comprehensions, `functools.partial`, calls of small workspace functions (`FunctionSummary`,
straight-line code), with a step budget. SQLAlchemy calls are not evaluated but rebuilt with
their arguments evaluated (a partial evaluation), so `Column(key_type("Org"), ...)` becomes
`db.Column(db.Integer, ..., nullable=False)`. Whatever else it meets raises `Unknown`.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .module_summary import FunctionSummary
from .python_names import Expr
from .python_world import World

_MAX_DEPTH = 8
_MAX_STEPS = 5000
_STRING_METHODS = {"lower", "upper", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip",
                   "replace", "split", "rsplit", "join", "startswith", "endswith", "removeprefix", "removesuffix",
                   "format", "zfill", "center", "ljust", "rjust"}
_BUILTINS: dict[str, Callable] = {"str": str, "len": len, "tuple": tuple, "list": list, "int": int, "bool": bool,
                                  "dict": dict, "sorted": sorted, "reversed": lambda v: list(reversed(v)),
                                  "textwrap.dedent": textwrap.dedent}  # keystone's SQL in revisions
_REGEX_FUNCTIONS = {"sub", "split", "subn", "escape", "compile"}
_PATTERN_METHODS = {"sub", "split", "subn"}  # of a pattern `re.compile` made from a literal


class Unknown(Exception):
    """The value cannot be known statically."""


class _OutOfSteps(Unknown):
    """The evaluation ran out of its step budget: a value not known for lack of steps, which
    another evaluation, with its own budget, may know."""


@dataclass(frozen=True)
class Symbol:
    """Something the evaluator does not compute (a SQLAlchemy name or call): kept as its expression."""

    expr: Expr


@dataclass(frozen=True)
class ClassRef:
    """`cls` inside a declared_attr: only its name is known."""

    name: str


@dataclass(frozen=True)
class Namespace:
    """An object the caller knows only some attributes of (`column.table.name`)."""

    attributes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Partial:
    function: Any
    args: tuple = ()
    kwargs: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Lambda:
    body: Expr
    scope: "_Scope"


@dataclass
class DefaultDict:
    factory: Any
    entries: dict = field(default_factory=dict)


@dataclass(frozen=True)
class _Function:
    summary: FunctionSummary


@dataclass(frozen=True)
class _Builtin:
    name: str


@dataclass(frozen=True)
class _BoundMethod:
    target: Any
    name: str


@dataclass
class _Scope:
    names: dict[str, Any]


class Evaluator:
    def __init__(self, world: World) -> None:
        self.world = world
        self._steps = 0
        self._assignment_values: dict[str, Any] = {}

    # public API

    def value(self, expr: Expr, names: Optional[dict[str, Any]] = None) -> Any:
        """The Python value of `expr` (raises Unknown)."""
        self._steps = 0
        return self._eval(expr, _Scope(dict(names or {})), 0)

    def call_result(self, function: FunctionSummary, names: Optional[dict[str, Any]] = None) -> Any:
        """What `function` returns with its parameters bound to `names` (raises Unknown)."""
        self._steps = 0
        return self._run(function, _Scope(dict(names or {})), 0)

    def expanded_call(self, expr: Expr) -> Optional[Expr]:
        """A call as SQLAlchemy would receive it: helpers, partials and factories followed, the
        arguments of the SQLAlchemy call evaluated where possible; None when it cannot be read."""
        self._steps = 0
        try:
            value = self._eval(expr, _Scope({}), 0)
        except (Unknown, RecursionError):
            return None
        return value.expr if isinstance(value, Symbol) and value.expr.kind == "call" else None

    # evaluation

    def _tick(self) -> None:
        self._steps += 1
        if self._steps > _MAX_STEPS:
            raise _OutOfSteps("step budget exhausted")

    def _eval(self, expr: Expr, scope: _Scope, depth: int) -> Any:
        self._tick()
        kind = expr.kind
        if kind == "const":
            return expr.value
        if kind == "name":
            return self._name(expr, scope, depth)
        if kind == "seq":
            items = [self._eval(item, scope, depth) for item in expr.args]
            return tuple(items) if expr.value == "tuple" else set(items) if expr.value == "set" else items
        if kind == "dict":
            return {self._eval(key, scope, depth): self._eval(value, scope, depth) for key, value in expr.items}
        if kind == "fstring":
            return "".join(part.value if part.is_str else str(self._plain(self._eval(part, scope, depth)))
                           for part in expr.args)
        if kind == "binop":
            return self._binop(expr, scope, depth)
        if kind == "subscript":
            return self._subscript(expr, scope, depth)
        if kind == "attribute":
            return self._attribute(self._eval(expr.func, scope, depth), expr.value, expr)
        if kind == "lambda":
            return Lambda(expr.args[0], scope)
        if kind == "comprehension":
            return self._comprehension(expr, scope, depth)
        if kind == "call":
            return self._call(expr, scope, depth)
        raise Unknown(expr.source)

    def _name(self, expr: Expr, scope: _Scope, depth: int) -> Any:
        head, _, rest = expr.name.partition(".")
        if head in scope.names:
            value = scope.names[head]
            for attribute in rest.split(".") if rest else ():
                value = self._attribute(value, attribute, expr)
            return value
        return self._global(expr, depth)

    def _global(self, expr: Expr, depth: int) -> Any:
        """A qualified name: a workspace function or constant, a known helper, or a symbol."""
        name = self.world.resolve(expr.name) or expr.name
        if name in self.world.functions:
            self.world.functions_evaluated.add(name)
            return _Function(self.world.functions[name])
        if name in ("functools.partial", "collections.defaultdict") or name in _BUILTINS:
            return _Builtin(name)
        module, _, function = name.rpartition(".")
        if module == "re" and function in _REGEX_FUNCTIONS:
            return _Builtin(name)
        symbol = Symbol(Expr("name", expr.source, expr.location, name=name))
        assignment = self.world.assignments.get(name)
        if assignment is None:
            owner, _, attribute = name.rpartition(".")
            member = self.world.classes[owner].attribute(attribute) if owner in self.world.classes else None
            if member is not None and member.value is not None and not member.declared_attr:
                # `f"{ObserverAssociation.__tablename__}.id"`: a class's own attribute
                try:
                    return self._eval(member.value, _Scope({}), depth + 1)
                except Unknown:
                    return symbol
            if owner in self.world.assignments:  # `CAMEL_TO_SNAKE.sub` of an imported constant
                try:
                    return self._attribute(self._global(Expr("name", owner, expr.location, name=owner), depth), attribute, expr)
                except Unknown:
                    return symbol
            return symbol
        if name not in self._assignment_values:
            self._assignment_values[name] = symbol  # a cycle reads as the name itself
            try:
                value = self._eval(assignment.value, _Scope({}), depth + 1)
            except (_OutOfSteps, RecursionError):
                # not what the name is: remembered, it would depend on what was evaluated first
                del self._assignment_values[name]
                raise
            except Unknown:
                value = symbol
            # An object the evaluator does not compute keeps its name, which the world resolves
            # (`db.Column` of a Flask-SQLAlchemy `db` means `sqlalchemy.Column`).
            self._assignment_values[name] = symbol if isinstance(value, Symbol) else value
        return self._assignment_values[name]

    def _attribute(self, value: Any, attribute: str, expr: Expr) -> Any:
        if isinstance(value, ClassRef) and attribute in ("__name__", "__qualname__"):
            return value.name
        if isinstance(value, Namespace):
            found = dict(value.attributes)
            if attribute in found:
                return found[attribute]
            raise Unknown(f".{attribute}")
        if isinstance(value, str) and attribute in _STRING_METHODS:
            return _BoundMethod(value, attribute)
        if isinstance(value, (dict, DefaultDict)) and attribute in ("update", "get"):
            return _BoundMethod(value, attribute)
        if isinstance(value, re.Pattern) and attribute in _PATTERN_METHODS:
            return _BoundMethod(value, attribute)
        if isinstance(value, Symbol):
            base = value.expr
            if base.kind == "name":
                return Symbol(Expr("name", expr.source, expr.location, name=f"{base.name}.{attribute}"))
            return Symbol(Expr("attribute", expr.source, expr.location, value=attribute, func=base))
        raise Unknown(f".{attribute}")

    def _binop(self, expr: Expr, scope: _Scope, depth: int) -> Any:
        left, right = (self._plain(self._eval(operand, scope, depth)) for operand in expr.args)
        try:
            if expr.value == "+":
                return left + right
            if expr.value == "%" and isinstance(left, str):
                return left % right
            if expr.value == "*" and isinstance(left, (str, int)) and isinstance(right, int) and abs(right) < 1000:
                return left * right
            if expr.value == "-" and isinstance(left, int) and isinstance(right, int):
                return left - right
        except (TypeError, ValueError, KeyError) as error:
            raise Unknown(str(error)) from error
        raise Unknown(expr.source)

    def _subscript(self, expr: Expr, scope: _Scope, depth: int) -> Any:
        target = self._eval(expr.func, scope, depth)
        if len(expr.args) != 1:
            raise Unknown(expr.source)
        key = self._plain(self._eval(expr.args[0], scope, depth))
        if isinstance(target, DefaultDict):
            if key in target.entries:
                return target.entries[key]
            return self._invoke(target.factory, (), (), depth)
        try:
            if isinstance(target, (tuple, list, str)) and isinstance(key, int):
                return target[key]
            if isinstance(target, dict):
                return target[key]
        except (IndexError, KeyError, TypeError) as error:
            raise Unknown(str(error)) from error
        raise Unknown(expr.source)

    def _comprehension(self, expr: Expr, scope: _Scope, depth: int) -> list:
        element, iterable, *conditions = expr.args
        items = self._plain(self._eval(iterable, scope, depth))
        if not isinstance(items, (list, tuple, str, set)):
            raise Unknown(expr.source)
        result = []
        for item in items:
            inner = _Scope({**scope.names, expr.name: item})
            if all(self._plain(self._eval(condition, inner, depth)) for condition in conditions):
                result.append(self._eval(element, inner, depth))
        return result

    def _call(self, expr: Expr, scope: _Scope, depth: int) -> Any:
        callee = self._eval(expr.func, scope, depth)
        if isinstance(callee, Symbol):
            return Symbol(self._rebuilt_call(expr, callee.expr, scope, depth))
        args: list[Any] = []
        kwargs: list[tuple[str, Any]] = []
        for argument in expr.args:
            value = self._argument(argument, scope, depth)
            if argument.starred:
                args.extend(self._plain(value))
            else:
                args.append(value)
        for keyword, argument in expr.kwargs:
            value = self._argument(argument, scope, depth)
            if keyword == "**":
                kwargs.extend(self._mapping(value).items())
            else:
                kwargs.append((keyword, value))
        return self._invoke(callee, tuple(args), tuple(kwargs), depth)

    def _argument(self, expr: Expr, scope: _Scope, depth: int) -> Any:
        """An argument's value; one that cannot be computed is passed on as its expression
        (`default=generate_token` reaches `Column(...)` as written)."""
        try:
            return self._eval(expr, scope, depth)
        except Unknown:
            return Symbol(expr)

    def _invoke(self, callee: Any, args: tuple, kwargs: tuple, depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise Unknown("calls nest too deep")
        if isinstance(callee, Partial):
            merged = dict(callee.kwargs)
            merged.update(kwargs)
            return self._invoke(callee.function, (*callee.args, *args), tuple(merged.items()), depth + 1)
        if isinstance(callee, Lambda):
            if args or kwargs:
                raise Unknown("lambda with arguments")
            return self._eval(callee.body, callee.scope, depth + 1)
        if isinstance(callee, _Function):
            return self._run(callee.summary, self._bind(callee.summary, args, kwargs, depth), depth + 1)
        if isinstance(callee, _BoundMethod):
            return self._method(callee, args, kwargs)
        if isinstance(callee, _Builtin):
            return self._builtin(callee.name, args, kwargs)
        if isinstance(callee, Symbol):
            written = callee.expr
            call = Expr("call", written.source, written.location, name=written.name if written.kind == "name" else None,
                        args=tuple(_as_expr(a, written) for a in args),
                        kwargs=tuple((k, _as_expr(v, written)) for k, v in kwargs), func=written)
            return Symbol(call)
        raise Unknown(f"cannot call {type(callee).__name__}")

    def _rebuilt_call(self, expr: Expr, callee: Expr, scope: _Scope, depth: int) -> Expr:
        """A call of something not evaluated (SQLAlchemy): its arguments evaluated where possible."""
        args: list[Expr] = []
        kwargs: list[tuple[str, Expr]] = []
        for argument in expr.args:
            value = self._argument(argument, scope, depth)
            if argument.starred and isinstance(value, (list, tuple)):
                args.extend(_as_expr(item, argument) for item in value)
            else:
                args.append(_as_expr(value, argument))
        for keyword, argument in expr.kwargs:
            value = self._argument(argument, scope, depth)
            if keyword == "**" and isinstance(value, (dict, DefaultDict)):
                kwargs.extend((str(k), _as_expr(v, argument)) for k, v in self._mapping(value).items())
            else:
                kwargs.append((keyword, _as_expr(value, argument)))
        name = callee.name if callee.kind == "name" else None
        return Expr("call", expr.source, expr.location, name=name, args=tuple(args), kwargs=tuple(kwargs), func=callee)

    def _bind(self, function: FunctionSummary, args: tuple, kwargs: tuple, depth: int) -> _Scope:
        names: dict[str, Any] = {}
        if len(args) > len(function.parameters) and function.star_parameter is None:
            raise Unknown(f"too many arguments for {function.name}")
        names.update(zip(function.parameters, args))
        if function.star_parameter is not None:
            names[function.star_parameter] = tuple(args[len(function.parameters):])
        extra: dict[str, Any] = {}
        for keyword, value in kwargs:
            if keyword in function.parameters:
                names[keyword] = value
            elif function.keywords_parameter is not None:
                extra[keyword] = value
            else:
                raise Unknown(f"{function.name}() got {keyword}=")
        if function.keywords_parameter is not None:
            names[function.keywords_parameter] = extra
        for parameter, default in function.defaults:
            if parameter not in names:
                names[parameter] = self._eval(default, _Scope({}), depth)
        missing = [p for p in function.parameters if p not in names and p not in ("self", "cls")]
        if missing:
            raise Unknown(f"{function.name}() missing {missing[0]}")
        return _Scope(names)

    def _run(self, function: FunctionSummary, scope: _Scope, depth: int) -> Any:
        for step in function.steps:
            value = self._eval(step.value, scope, depth)
            if step.returns:
                return value
            if len(step.targets) == 1:
                scope.names[step.targets[0]] = value
            elif step.targets:
                unpacked = self._plain(value)
                if not isinstance(unpacked, (tuple, list)) or len(unpacked) != len(step.targets):
                    raise Unknown(f"cannot unpack into {', '.join(step.targets)}")
                scope.names.update(zip(step.targets, unpacked))
        return None

    def _method(self, method: _BoundMethod, args: tuple, kwargs: tuple) -> Any:
        target = method.target
        plain_args = [self._plain(a) for a in args]
        if isinstance(target, DefaultDict):
            if method.name == "update" and len(plain_args) == 1 and isinstance(plain_args[0], dict):
                target.entries.update(plain_args[0])
                return None
            raise Unknown(f"defaultdict.{method.name}")
        try:
            if isinstance(target, dict):
                if method.name == "update" and len(plain_args) == 1 and isinstance(plain_args[0], dict):
                    target.update(plain_args[0])
                    return None
                return target.get(*plain_args)
            return getattr(target, method.name)(*plain_args, **{k: self._plain(v) for k, v in kwargs})
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as error:
            raise Unknown(str(error)) from error

    def _builtin(self, name: str, args: tuple, kwargs: tuple) -> Any:
        if name == "functools.partial":
            if not args:
                raise Unknown("partial()")
            return Partial(args[0], tuple(args[1:]), tuple(kwargs))
        if name == "collections.defaultdict":
            return DefaultDict(args[0] if args else None)
        plain_args = [self._plain(a) for a in args]
        if not all(isinstance(a, (str, int, float, bool, tuple, list, dict, type(None))) for a in plain_args):
            raise Unknown(name)
        try:
            if name in _BUILTINS:
                return _BUILTINS[name](*plain_args)
            function = name.rpartition(".")[2]
            if function != "escape" and not isinstance(plain_args[0], str):
                raise Unknown(f"re.{function} with a pattern that is not literal")
            return getattr(re, function)(*plain_args, **{k: self._plain(v) for k, v in kwargs})
        except (TypeError, ValueError, re.error, IndexError) as error:
            raise Unknown(str(error)) from error

    def _plain(self, value: Any) -> Any:
        if isinstance(value, (Symbol, Partial, Lambda, _Function, _Builtin, _BoundMethod, ClassRef, Namespace)):
            raise Unknown("not a plain value")
        return value

    def _mapping(self, value: Any) -> dict:
        if isinstance(value, DefaultDict):
            return dict(value.entries)
        if isinstance(value, dict):
            return value
        raise Unknown("** of something that is not a dict")


def _as_expr(value: Any, written: Expr) -> Expr:
    """An evaluated value as an expression again, for the call SQLAlchemy would receive; a value
    that has no expression form (a lambda, a partial) keeps the argument as `written`."""
    if not _convertible(value) or (written.kind == "const" and written.value == value and type(written.value) is type(value)):
        return written
    location = written.location
    if isinstance(value, Symbol):
        return value.expr
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return Expr("const", repr(value), location, value=value)
    if isinstance(value, (list, tuple, set)):
        kind = "tuple" if isinstance(value, tuple) else "set" if isinstance(value, set) else "list"
        return Expr("seq", repr(value), location, value=kind, args=tuple(_as_expr(v, written) for v in value))
    if isinstance(value, dict):
        return Expr("dict", repr(value), location, items=tuple((_as_expr(k, written), _as_expr(v, written))
                                                             for k, v in value.items()))
    return written


def _convertible(value: Any) -> bool:
    if isinstance(value, Symbol) or value is None or isinstance(value, (str, int, float, bool, bytes)):
        return True
    if isinstance(value, (list, tuple, set)):
        return all(_convertible(item) for item in value)
    if isinstance(value, dict):
        return all(_convertible(k) and _convertible(v) for k, v in value.items())
    return False
