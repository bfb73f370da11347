"""The SchemaLens language server (pygls 2): a thin layer that feeds editor events to the
workspace index and turns audit findings into diagnostics and hovers."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from schemalens import __version__
from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.report.table_card import table_card
from schemalens.analyzers.workspace.cache import default_cache_dir
from schemalens.analyzers.workspace.index import WorkspaceIndex

from .diagnostics import diagnostics_by_uri, relative_path

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.2
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")


class SchemaLensServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("schemalens", __version__)
        self.root: Optional[Path] = None
        self.index: Optional[WorkspaceIndex] = None
        self.model = None
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.generation = 0
        self.lock = asyncio.Lock()

    def line_length(self, path: str, line: int) -> int:
        text = self.index._read(path) if self.index else None
        lines = (text or "").splitlines()
        return len(lines[line - 1]) if 0 < line <= len(lines) else 0

    async def reindex(self, change=None) -> None:
        """Run `change(index)` (or a full index) off the event loop, then republish diagnostics
        for every file whose diagnostics changed, open or not."""
        async with self.lock:
            if self.index is None:
                return
            self.model = await asyncio.to_thread(change or (lambda index: index.index_all()), self.index)
            result = await asyncio.to_thread(run_audit, self.model, text_of=self.index._read)
            current = diagnostics_by_uri(self.root, result.findings, self.model.errors, self.line_length)
            for uri in sorted(set(current) | set(self.published)):
                diagnostics = current.get(uri, [])
                if diagnostics != self.published.get(uri, []):
                    self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
            self.published = current


server = SchemaLensServer()


@server.feature(types.INITIALIZED)
async def initialized(ls: SchemaLensServer, params: types.InitializedParams) -> None:
    root = ls.workspace.root_path
    if not root:
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Warning,
                                                     message="schemalens: no workspace folder; nothing to index"))
        return
    ls.root = Path(root).resolve()
    ls.index = WorkspaceIndex(ls.root, cache_dir=default_cache_dir())
    await ls.reindex()
    ls.window_log_message(types.LogMessageParams(
        type=types.MessageType.Info,
        message=f"schemalens: indexed {len(ls.model.files)} files, {len(ls.model.database.tables)} tables"))


async def _update(ls: SchemaLensServer, uri: str, text: Optional[str], debounce: bool) -> None:
    if ls.root is None:
        return
    path = relative_path(ls.root, uri)
    if path is None:
        return
    ls.generation += 1
    generation = ls.generation
    if debounce:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        if generation != ls.generation:
            return  # a newer edit arrived; it will do the work
    await ls.reindex(lambda index: index.update_file(path, text))


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: SchemaLensServer, params: types.DidOpenTextDocumentParams) -> None:
    await _update(ls, params.text_document.uri, params.text_document.text, debounce=False)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: SchemaLensServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    await _update(ls, params.text_document.uri, document.source, debounce=True)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: SchemaLensServer, params: types.DidCloseTextDocumentParams) -> None:
    # The editor's buffer no longer overrides the file on disk.
    await _update(ls, params.text_document.uri, None, debounce=False)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: SchemaLensServer, params: types.HoverParams) -> Optional[types.Hover]:
    if ls.model is None:
        return None
    document = ls.workspace.get_text_document(params.text_document.uri)
    lines = document.lines
    if params.position.line >= len(lines):
        return None
    line = lines[params.position.line]
    for match in _IDENTIFIER.finditer(line):
        if match.start() <= params.position.character <= match.end():
            table, _, column = match.group(0).partition(".")
            card = table_card(ls.model, table, column or None)
            if card is None and column:
                card = table_card(ls.model, match.group(0))
            if card is None:
                return None
            return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=card))
    return None
