"""One Python file as plain data: its imports, classes with their attributes, module-level
assignments, calls and small functions, every expression an `Expr` whose names are qualified
through the file's imports. The index caches it by content; nothing keeps a syntax tree.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterable, Optional, Union

from ..schema.model import ExtractionError, Location
from .python_names import (
    Expr,
    ExprBuilder,
    ImportedName,
    dotted,
    imports_of,
    package_of,
)
from .python_source import PythonFile, parse_python


@dataclass(frozen=True, slots=True)
class ClassAttribute:
    """A name bound in a class body: `x = ...`, `x: A = ...`, `x: A`, or a declared_attr function
    (then `value` is what it returns and `annotation` its return annotation)."""

    name: str
    location: Location
    value: Optional[Expr] = None
    annotation: Optional[Expr] = None
    declared_attr: bool = False


@dataclass(frozen=True, slots=True)
class ClassSummary:
    name: str
    qualified: str  # "<module>.<name>"
    location: Location
    bases: tuple[Expr, ...] = ()
    decorators: tuple[Expr, ...] = ()
    attributes: tuple[ClassAttribute, ...] = ()

    def attribute(self, name: str) -> Optional[ClassAttribute]:
        for attribute in self.attributes:
            if attribute.name == name:
                return attribute
        return None


@dataclass(frozen=True, slots=True)
class Assignment:
    """A module-level `name = value`: constants, `Table(...)`, `MetaData(...)`, `db = SQLAlchemy()`,
    `Base = declarative_base()`, `mapper_registry = registry()`."""

    name: str
    qualified: str
    value: Expr
    location: Location


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    """Everything the ORM layer needs from one file, without syntax tree nodes."""

    path: str
    module: str
    imports: tuple[ImportedName, ...] = ()  # re-exports are the imports of an `__init__.py`
    classes: tuple[ClassSummary, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    calls: tuple[Expr, ...] = ()  # module-level call statements: `Index("ix", Model.col)`, `Table(...)`
    errors: tuple[ExtractionError, ...] = ()


def summarize_module(text: str, path: str, module: str) -> ModuleSummary:
    """Parse one Python file into a ModuleSummary. Never raises: a syntax error gives a summary
    holding only the error."""
    source, error = parse_python(text, path)
    if source is None:
        return ModuleSummary(path, module, errors=(error,))
    return _Summarizer(source, module).summary()


def _top_level(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Module statements, including those inside top-level if/try/with blocks."""
    for statement in body:
        if isinstance(statement, (ast.If, ast.With)):
            yield from _top_level(statement.body)
            if isinstance(statement, ast.If):
                yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            yield from _top_level(statement.body)
            for handler in statement.handlers:
                yield from _top_level(handler.body)
        else:
            yield statement


class _Summarizer:
    def __init__(self, source: PythonFile, module: str) -> None:
        self.source, self.path, self.module = source, source.path, module
        self.package = package_of(module, source.path)
        self.imports: list[ImportedName] = []
        bindings: dict[str, str] = {}
        for statement in _top_level(source.tree.body):
            for name in _bound_names(statement):
                bindings[name] = f"{module}.{name}" if module else name
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                for imported in imports_of(statement, self.package, source.location(statement)):
                    self.imports.append(imported)
                    if imported.local != "*":
                        bindings[imported.local] = imported.target
        self.exprs = ExprBuilder(source, bindings)

    def summary(self) -> ModuleSummary:
        classes, assignments, calls = [], [], []
        for statement in _top_level(self.source.tree.body):
            if isinstance(statement, ast.ClassDef):
                classes.append(self._class(statement))
            elif isinstance(statement, ast.Assign):
                value = self.exprs.build(statement.value)
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        assignments.append(Assignment(target.id, self._qualified(target.id), value,
                                                      self.source.location(statement)))
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                    and statement.value is not None:
                name = statement.target.id
                assignments.append(Assignment(name, self._qualified(name), self.exprs.build(statement.value),
                                              self.source.location(statement)))
            elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                calls.append(self.exprs.build(statement.value))
        return ModuleSummary(self.path, self.module, tuple(self.imports), tuple(classes), tuple(assignments), tuple(calls))

    def _qualified(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    def _class(self, node: ast.ClassDef) -> ClassSummary:
        bases = tuple(self.exprs.build(base) for base in node.bases)
        decorators = tuple(self.exprs.build(decorator) for decorator in node.decorator_list)
        attributes: list[ClassAttribute] = []
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                attribute = self._declared_attr(statement)
                if attribute is not None:
                    attributes.append(attribute)
            else:
                attributes += self._class_assignment(statement)
        return ClassSummary(node.name, self._qualified(node.name), self.source.name_location(node), bases, decorators,
                            tuple(attributes))

    def _class_assignment(self, statement: ast.stmt) -> list[ClassAttribute]:
        location = self.source.location(statement)
        if isinstance(statement, ast.Assign):
            value = self.exprs.build(statement.value)
            return [ClassAttribute(target.id, location, value) for target in statement.targets
                    if isinstance(target, ast.Name)]
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            value = self.exprs.build(statement.value) if statement.value is not None else None
            annotation = self.exprs.build_annotation(statement.annotation)
            return [ClassAttribute(statement.target.id, location, value, annotation)]
        return []

    def _declared_attr(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> Optional[ClassAttribute]:
        names = [dotted(decorator) or "" for decorator in node.decorator_list]
        if not any("declared_attr" in self.exprs.qualify(name).split(".") for name in names):
            return None
        value = None
        for statement in node.body:
            if isinstance(statement, ast.Return) and statement.value is not None:
                value = self.exprs.build(statement.value)
                break
        annotation = self.exprs.build_annotation(node.returns) if node.returns is not None else None
        return ClassAttribute(node.name, self.source.name_location(node), value, annotation, declared_attr=True)


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []


