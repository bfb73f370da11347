"""Plain-data expressions and import resolution for statically read Python files.

Syntax trees are heavy and tied to one parse; summaries that the index caches keep `Expr`
instead: a small frozen tree (names, constants, calls, sequences, dicts, subscripts) where
every dotted name is already qualified through the file's imports (`sa.Column` in a file that
says `import sqlalchemy as sa` becomes `sqlalchemy.Column`; a name defined in the file becomes
`<module>.<name>`). Anything else keeps its source text as kind "other".
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable, Optional, Union

from ..dataclass_copy import slot_init
from ..schema.model import Location
from .python_source import PythonFile, parse_expression, split_lines

ConstValue = Union[str, int, float, bool, bytes, None]


@slot_init
@dataclass(frozen=True, slots=True)
class Expr:
    """One expression. `kind` is "name", "const", "call", "seq", "dict", "subscript", "binop",
    "lambda", "attribute", "fstring", "comprehension" or "other".

    name: a "name" node's qualified dotted name; a "call" node's qualified callee when the callee
          is a dotted name (None for `registry().generate_base()`-like callees, see `func`); a
          "comprehension" node's loop variable.
    value: a "const" node's Python value; a "binop" node's operator ("|", "+", "%", ...); a "seq"
           node's bracket kind ("tuple", "list", "set"); an "attribute" node's attribute name.
    args: call positional arguments, sequence items, subscript slices, binop operands, the body
          of a lambda, an f-string's parts, or a comprehension's element, iterable and conditions.
    kwargs: call keyword arguments as (keyword, value); `**mapping` has the keyword "**".
    items: dict entries as (key, value).
    func: a call's callee expression (always set for calls); an "attribute" node's object.
    """

    kind: str
    source: str
    location: Location
    name: Optional[str] = None
    value: ConstValue = None
    args: tuple["Expr", ...] = ()
    kwargs: tuple[tuple[str, "Expr"], ...] = ()
    items: tuple[tuple["Expr", "Expr"], ...] = ()
    func: Optional["Expr"] = None
    starred: bool = False  # `*args` / `**kwargs` in a call

    def kwarg(self, keyword: str) -> Optional["Expr"]:
        for key, value in self.kwargs:
            if key == keyword:
                return value
        return None

    @property
    def is_str(self) -> bool:
        return self.kind == "const" and isinstance(self.value, str)


@dataclass(frozen=True, slots=True)
class ImportedName:
    """`local` is bound in the file to `target`, a fully qualified dotted name."""

    local: str
    target: str
    location: Location


def package_of(module: str, path: str) -> str:
    """The package relative imports start from: the module itself for an `__init__.py`."""
    if path.replace("\\", "/").endswith("__init__.py"):
        return module
    return module.rpartition(".")[0]


def absolute_module(package: str, level: int, target: str) -> str:
    """`from ..x import y` seen from `package`: the absolute dotted module (`level` dots)."""
    if level == 0:
        return target
    parts = package.split(".") if package else []
    if level > 1:
        parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    base = ".".join(parts)
    if target:
        return f"{base}.{target}" if base else target
    return base


def dotted(node: ast.AST) -> Optional[str]:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head is not None else None
    return None


def imports_of(statement: Union[ast.Import, ast.ImportFrom], package: str, location: Location) -> list[ImportedName]:
    """The names an import statement binds, each with the qualified name it stands for."""
    found: list[ImportedName] = []
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname is not None:
                found.append(ImportedName(alias.asname, alias.name, location))
            else:
                head = alias.name.split(".")[0]
                found.append(ImportedName(head, head, location))
        return found
    base = absolute_module(package, statement.level, statement.module or "")
    for alias in statement.names:
        if alias.name == "*":
            found.append(ImportedName("*", base, location))
            continue
        local = alias.asname or alias.name
        found.append(ImportedName(local, f"{base}.{alias.name}" if base else alias.name, location))
    return found


_BINARY_OPERATORS = {ast.BitOr: "|", ast.Add: "+", ast.Mod: "%", ast.Mult: "*", ast.Sub: "-"}
_SEQUENCES = {ast.Tuple: "tuple", ast.List: "list", ast.Set: "set"}


class ExprBuilder:
    """Turns `ast` expressions into `Expr`, qualifying names through one file's bindings."""

    def __init__(self, source: PythonFile, bindings: dict[str, str]) -> None:
        self._file = source
        self._bindings = bindings  # local name -> qualified name (imports and module-level names)

    def scoped(self, local_names: set[str]) -> "ExprBuilder":
        """A builder for a function body: its own names (parameters, locals) stay unqualified."""
        return ExprBuilder(self._file, {k: v for k, v in self._bindings.items() if k not in local_names})

    def qualify(self, name: str) -> str:
        head, _, rest = name.partition(".")
        target = self._bindings.get(head)
        if target is None:
            return name
        return f"{target}.{rest}" if rest else target

    def build(self, node: ast.expr) -> Expr:
        location = self._file.location(node)
        source = self._file.text_at(location).strip()
        name = dotted(node)
        if name is not None:
            return Expr("name", source, location, name=self.qualify(name))
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, (str, bytes, bool, int, float)) or value is None:
                return Expr("const", source, location, value=value)
            return Expr("other", source, location)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) in (int, float):
            return Expr("const", source, location, value=-node.operand.value)
        if isinstance(node, ast.Call):
            return self._call(node, source, location)
        if type(node) in _SEQUENCES:
            items = tuple(self.build(element) for element in node.elts if not isinstance(element, ast.Starred))
            return Expr("seq", source, location, value=_SEQUENCES[type(node)], args=items)
        if isinstance(node, ast.Dict):
            entries = tuple((self.build(key), self.build(value)) for key, value in zip(node.keys, node.values)
                            if key is not None)
            return Expr("dict", source, location, items=entries)
        if isinstance(node, ast.Subscript):
            index = node.slice
            elements = index.elts if isinstance(index, ast.Tuple) else [index]
            slices = tuple(self.build(element) for element in elements if not isinstance(element, ast.Slice))
            return Expr("subscript", source, location, args=slices, func=self.build(node.value))
        if isinstance(node, ast.BinOp):
            operator = _BINARY_OPERATORS.get(type(node.op), "?")
            return Expr("binop", source, location, value=operator, args=(self.build(node.left), self.build(node.right)))
        if isinstance(node, ast.Lambda):
            return Expr("lambda", source, location, args=(self.build(node.body),))
        if isinstance(node, ast.Attribute):  # on something that is not a dotted name: `"_".join`
            return Expr("attribute", source, location, value=node.attr, func=self.build(node.value))
        if isinstance(node, ast.JoinedStr):
            parts = tuple(self.build(part.value if isinstance(part, ast.FormattedValue) else part) for part in node.values)
            return Expr("fstring", source, location, args=parts)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and len(node.generators) == 1 \
                and isinstance(node.generators[0].target, ast.Name):
            loop = node.generators[0]
            parts = (self.build(node.elt), self.build(loop.iter), *(self.build(test) for test in loop.ifs))
            return Expr("comprehension", source, location, name=loop.target.id, args=parts)
        return Expr("other", source, location)

    def _call(self, node: ast.Call, source: str, location: Location) -> Expr:
        func = self.build(node.func)
        positional: list[Expr] = []
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                value = self.build(argument.value)
                positional.append(Expr(value.kind, value.source, value.location, value.name, value.value, value.args,
                                       value.kwargs, value.items, value.func, starred=True))
            else:
                positional.append(self.build(argument))
        keywords: list[tuple[str, Expr]] = []
        for keyword in node.keywords:
            keywords.append((keyword.arg or "**", self.build(keyword.value)))
        return Expr("call", source, location, name=func.name if func.kind == "name" else None,
                    args=tuple(positional), kwargs=tuple(keywords), func=func)

    def build_annotation(self, node: ast.expr) -> Expr:
        """Like build, but a string annotation (`Mapped["int"]`) is parsed as the expression it names."""
        return self._unquote(self.build(node))

    def _unquote(self, expr: Expr) -> Expr:
        if expr.is_str:
            parsed = parse_expression(expr.value)
            if parsed is None:
                return expr
            inner = PythonFile(expr.location.path, expr.value, ast.Module(body=[], type_ignores=[]),
                               tuple(split_lines(expr.value.strip())))
            return _Relocated(inner, self._bindings, expr.location).build(parsed)
        if expr.kind == "subscript":
            return Expr(expr.kind, expr.source, expr.location, args=tuple(self._unquote(a) for a in expr.args), func=expr.func)
        if expr.kind == "binop":
            return Expr(expr.kind, expr.source, expr.location, value=expr.value,
                        args=tuple(self._unquote(a) for a in expr.args))
        return expr


class _Relocated(ExprBuilder):
    """Builds a parsed string annotation: its nodes all take the location of the string."""

    def __init__(self, inner: PythonFile, bindings: dict[str, str], location: Location) -> None:
        super().__init__(inner, bindings)
        self._location = location

    def build(self, node: ast.expr) -> Expr:
        expr = super().build(node)
        return _with_location(expr, self._location)


def _with_location(expr: Expr, location: Location) -> Expr:
    return Expr(expr.kind, expr.source, location, expr.name, expr.value, expr.args, expr.kwargs, expr.items,
                expr.func, expr.starred)


def walk(expr: Expr) -> Iterable[Expr]:
    """`expr` and every expression inside it, depth first."""
    yield expr
    children: list[Expr] = list(expr.args)
    children += [value for _, value in expr.kwargs]
    for key, value in expr.items:
        children += [key, value]
    if expr.func is not None:
        children.append(expr.func)
    for child in children:
        yield from walk(child)
