"""Facts about application code (routes, services, tasks, tests) that the audit rules need.

One libcst pass per file collects them, each with its location; the index caches the result by
content hash like every other parse. Nothing is imported or executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..schema.model import ExtractionError, Location


@dataclass(frozen=True, slots=True)
class Lookup:
    """A query predicate on a column by equality: `filter_by(email=...)`, `User.email == ...`."""

    column: str
    model: str | None  # the class name when written as `Model.column`
    location: Location


@dataclass(frozen=True, slots=True)
class CodeFacts:
    path: str
    lookups: tuple[Lookup, ...] = ()
    errors: tuple[ExtractionError, ...] = field(default=())


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, path: str) -> None:
        self.path = path
        self.lookups: list[Lookup] = []

    def _location(self, node: cst.CSTNode) -> Location:
        position = self.get_metadata(PositionProvider, node)
        return Location(self.path, position.start.line, position.start.column + 1,
                        position.end.line, position.end.column + 1)

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "filter_by":
            for argument in node.args:
                if argument.keyword is not None:
                    self.lookups.append(Lookup(argument.keyword.value, None, self._location(argument)))

    def visit_Comparison(self, node: cst.Comparison) -> None:
        if not isinstance(node.left, cst.Attribute) or not isinstance(node.left.value, cst.Name):
            return
        if any(isinstance(target.operator, cst.Equal) for target in node.comparisons):
            model = node.left.value.value
            if model[:1].isupper():
                self.lookups.append(Lookup(node.left.attr.value, model, self._location(node)))


def collect_code_facts(text: str, path: str) -> CodeFacts:
    """Parse one Python file; a syntax error gives empty facts and an ExtractionError."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return CodeFacts(path, errors=(ExtractionError(Location(path, error.raw_line, error.raw_column + 1),
                                                       f"syntax error: {error.message}"),))
    collector = _Collector(path)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return CodeFacts(path, tuple(collector.lookups))
