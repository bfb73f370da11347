"""The libcst side of `python_names`, for the extractors not yet moved to `ast`.

libcst nodes are heavy and tied to one parse; summaries that the index caches keep `Expr`
instead: a small frozen tree (names, constants, calls, sequences, dicts, subscripts) where
every dotted name is already qualified through the file's imports (`sa.Column` in a file that
says `import sqlalchemy as sa` becomes `sqlalchemy.Column`; a name defined in the file becomes
`<module>.<name>`). Anything else keeps its source text as kind "other".
"""

from __future__ import annotations

from typing import Optional, Union

import libcst as cst

from ..schema.model import Location
from .python_names import Expr, ImportedName, absolute_module

_CONSTANT_NAMES = {"True": True, "False": False, "None": None}


def dotted(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head is not None else None
    return None


def imports_of(statement: Union[cst.Import, cst.ImportFrom], package: str, location: Location) -> list[ImportedName]:
    """The names an import statement binds, each with the qualified name it stands for."""
    found: list[ImportedName] = []
    if isinstance(statement, cst.Import):
        for alias in statement.names:
            target = dotted(alias.name)
            if target is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                found.append(ImportedName(alias.asname.name.value, target, location))
            else:
                head = target.split(".")[0]
                found.append(ImportedName(head, head, location))
        return found
    source_module = dotted(statement.module) if statement.module is not None else ""
    if source_module is None:
        return found
    base = absolute_module(package, len(statement.relative), source_module)
    if isinstance(statement.names, cst.ImportStar):
        found.append(ImportedName("*", base, location))
        return found
    for alias in statement.names:
        name = dotted(alias.name)
        if name is None:
            continue
        local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else name
        found.append(ImportedName(local, f"{base}.{name}" if base else name, location))
    return found


class ExprBuilder:
    """Turns libcst expressions into `Expr`, qualifying names through one file's bindings."""

    def __init__(self, module_node: cst.Module, locate, bindings: dict[str, str]) -> None:
        self._module = module_node
        self._locate = locate  # cst node -> Location
        self._bindings = bindings  # local name -> qualified name (imports and module-level names)

    def source(self, node: cst.CSTNode) -> str:
        return self._module.code_for_node(node).strip()

    def qualify(self, name: str) -> str:
        head, _, rest = name.partition(".")
        target = self._bindings.get(head)
        if target is None:
            return name
        return f"{target}.{rest}" if rest else target

    def build(self, node: cst.BaseExpression) -> Expr:
        location = self._locate(node)
        source = self.source(node)
        name = dotted(node)
        if name in _CONSTANT_NAMES:
            return Expr("const", source, location, value=_CONSTANT_NAMES[name])
        if name is not None:
            return Expr("name", source, location, name=self.qualify(name))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = node.evaluated_value
            return Expr("const", source, location, value=value if isinstance(value, (str, bytes)) else None)
        if isinstance(node, cst.Integer):
            return Expr("const", source, location, value=int(node.evaluated_value))
        if isinstance(node, cst.Float):
            return Expr("const", source, location, value=float(node.evaluated_value))
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus) and isinstance(node.expression, (cst.Integer, cst.Float)):
            return Expr("const", source, location, value=-node.expression.evaluated_value)
        if isinstance(node, cst.Call):
            return self._call(node, source, location)
        if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
            kind = {cst.Tuple: "tuple", cst.List: "list", cst.Set: "set"}[type(node)]
            items = tuple(self.build(element.value) for element in node.elements
                          if not isinstance(element, cst.StarredElement))
            return Expr("seq", source, location, value=kind, args=items)
        if isinstance(node, cst.Dict):
            entries = tuple((self.build(element.key), self.build(element.value)) for element in node.elements
                            if isinstance(element, cst.DictElement))
            return Expr("dict", source, location, items=entries)
        if isinstance(node, cst.Subscript):
            slices = tuple(self.build(element.slice.value) for element in node.slice
                           if isinstance(element.slice, cst.Index))
            return Expr("subscript", source, location, args=slices, func=self.build(node.value))
        if isinstance(node, cst.BinaryOperation):
            operator = {cst.BitOr: "|", cst.Add: "+"}.get(type(node.operator), "?")
            return Expr("binop", source, location, value=operator, args=(self.build(node.left), self.build(node.right)))
        if isinstance(node, cst.Lambda):
            return Expr("lambda", source, location, args=(self.build(node.body),))
        return Expr("other", source, location)

    def _call(self, node: cst.Call, source: str, location: Location) -> Expr:
        func = self.build(node.func)
        positional: list[Expr] = []
        keywords: list[tuple[str, Expr]] = []
        for argument in node.args:
            value = self.build(argument.value)
            if argument.keyword is not None:
                keywords.append((argument.keyword.value, value))
            elif argument.star:
                positional.append(Expr(value.kind, value.source, value.location, value.name, value.value, value.args,
                                       value.kwargs, value.items, value.func, starred=True))
            else:
                positional.append(value)
        return Expr("call", source, location, name=func.name if func.kind == "name" else None,
                    args=tuple(positional), kwargs=tuple(keywords), func=func)

    def build_annotation(self, node: cst.BaseExpression) -> Expr:
        """Like build, but a string annotation (`Mapped["int"]`) is parsed as the expression it names."""
        return _unquote(self, self.build(node))


def _unquote(builder: ExprBuilder, expr: Expr) -> Expr:
    if expr.is_str:
        try:
            parsed = cst.parse_expression(expr.value)
        except (cst.ParserSyntaxError, TypeError):
            return expr
        inner = _Relocated(builder, expr.location).build(parsed)
        return inner
    if expr.kind == "subscript":
        return Expr(expr.kind, expr.source, expr.location, args=tuple(_unquote(builder, a) for a in expr.args), func=expr.func)
    if expr.kind == "binop":
        return Expr(expr.kind, expr.source, expr.location, value=expr.value, args=tuple(_unquote(builder, a) for a in expr.args))
    return expr


class _Relocated(ExprBuilder):
    """Builds a parsed string annotation: its nodes all take the location of the string."""

    def __init__(self, outer: ExprBuilder, location: Location) -> None:
        self._module = cst.Module(body=[])
        self._locate = lambda node: location
        self._bindings = outer._bindings
