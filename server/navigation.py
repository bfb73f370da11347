"""Hover, go to definition, find references, document and workspace symbols. Locations in a file
that does not parse are carried through the edits since its last good parse, or left out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Optional

from lsprotocol import types

from schemalens.analyzers.report.table_card import table_card
from schemalens.analyzers.schema.model import Location
from schemalens.analyzers.through_edits import carry_location
from schemalens.analyzers.workspace.lookup import (
    Target, definitions, document_symbols, references, target_at, workspace_symbols,
)

from .diagnostics import relative_path, uri_of
from .positions import Positions

if TYPE_CHECKING:
    from .app import SchemaLensServer

_SYMBOL_KINDS = {"table": types.SymbolKind.Class, "column": types.SymbolKind.Field, "revision": types.SymbolKind.Key}


def register(server) -> None:
    server.feature(types.TEXT_DOCUMENT_HOVER)(hover)
    server.feature(types.TEXT_DOCUMENT_DEFINITION)(definition)
    server.feature(types.TEXT_DOCUMENT_REFERENCES)(find_references)
    server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)(document_symbol)
    server.feature(types.WORKSPACE_SYMBOL)(workspace_symbol)


def _target(ls: "SchemaLensServer", uri: str, position: types.Position) -> Optional[Target]:
    if ls.model is None or ls.root is None:
        return None
    path = relative_path(ls.root, uri) or ""
    text = ls.workspace.get_text_document(uri).source
    line, column = Positions(ls.workspace.position_encoding, lambda _: text).from_lsp(path, position)
    if path in ls.stale:  # the model holds the last good parse: look there, on the same line
        line_map = ls.line_maps.get(path)
        line = line_map.old_line(line) if line_map is not None else None
        text = ls.stale[path]
        if line is None or text is None:
            return None
    return target_at(ls.model, path, text, line, column)


def _locations(ls: "SchemaLensServer", found: Iterable[tuple[Location, str]]) -> list[types.Location]:
    positions = ls.positions()
    carried = (carry_location(location, ls.line_maps) for location, _ in found)
    return [types.Location(uri=uri_of(ls.root, location.path), range=positions.range(location))
            for location in carried if location is not None]


def hover(ls: "SchemaLensServer", params: types.HoverParams) -> Optional[types.Hover]:
    target = _target(ls, params.text_document.uri, params.position)
    card = table_card(ls.model, target.table, target.column, ls.query_paths, ls.lang) if target else None
    if card is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=card))


def definition(ls: "SchemaLensServer", params: types.DefinitionParams) -> Optional[list[types.Location]]:
    target = _target(ls, params.text_document.uri, params.position)
    if target is None:
        return None
    return _locations(ls, definitions(ls.model, target))


def find_references(ls: "SchemaLensServer", params: types.ReferenceParams) -> Optional[list[types.Location]]:
    target = _target(ls, params.text_document.uri, params.position)
    if target is None:
        return None
    return _locations(ls, references(ls.model, target))


def _document_symbol(ls: "SchemaLensServer", positions: Positions, symbol) -> Optional[types.DocumentSymbol]:
    location = carry_location(symbol.location, ls.line_maps)
    if location is None:
        return None
    where = positions.range(location)
    children = [child for child in (_document_symbol(ls, positions, c) for c in symbol.children) if child is not None]
    return types.DocumentSymbol(name=symbol.name, kind=_SYMBOL_KINDS[symbol.kind], range=where, selection_range=where,
                                children=children or None)


def document_symbol(ls: "SchemaLensServer", params: types.DocumentSymbolParams) -> Optional[list[types.DocumentSymbol]]:
    if ls.model is None:
        return None
    path = relative_path(ls.root, params.text_document.uri)
    positions = ls.positions()
    symbols = (_document_symbol(ls, positions, symbol) for symbol in document_symbols(ls.model, path or ""))
    return [symbol for symbol in symbols if symbol is not None]


def workspace_symbol(ls: "SchemaLensServer", params: types.WorkspaceSymbolParams) -> Optional[list[types.SymbolInformation]]:
    if ls.model is None:
        return None
    positions = ls.positions()
    found = []
    for symbol in workspace_symbols(ls.model, params.query):
        location = carry_location(symbol.location, ls.line_maps)
        if location is not None:
            found.append(types.SymbolInformation(name=symbol.name, kind=_SYMBOL_KINDS[symbol.kind], location=types.Location(
                uri=uri_of(ls.root, location.path), range=positions.range(location))))
    return found
