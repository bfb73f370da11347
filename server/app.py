"""The SchemaLens language server (pygls 2): a thin layer that feeds editor events to the
workspace index and turns audit findings into diagnostics and hovers."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from schemalens import __version__
from schemalens.analyzers.audit import run_audit, workspace_problems
from schemalens.analyzers.fixes import quick_fixes
from schemalens.analyzers.i18n import choose_language, normalize_language, translator
from schemalens.analyzers.scaffold import ScaffoldError
from schemalens.analyzers.scaffold.from_findings import safe_change_for, safe_change_edit
from schemalens.analyzers.report.audit_markdown import render_audit_markdown
from schemalens.analyzers.report.schema_map import render_schema_map
from schemalens.analyzers.report.table_card import table_card
from schemalens.analyzers.rules.base import occurrences
from schemalens.analyzers.workspace.cache import default_cache_dir
from schemalens.analyzers.workspace.config import config_from_mapping, load_config, load_hints_file
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.analyzers.workspace.lookup import (
    Target, definitions, document_symbols, references, target_at, workspace_symbols,
)

from .diagnostics import diagnostics_by_uri, relative_path, uri_of
from .positions import Positions, split_documents_as_lsp

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.1
WATCHED = ("**/*.py", "**/*.sql", "**/alembic.ini", "**/pyproject.toml", "**/schemalens.toml")
# Settings an editor may override (initializationOptions, workspace/didChangeConfiguration);
# "hints_file", a TOML file of row hints, is read on its own.
_EDITOR_SETTINGS = ("select", "ignore", "severity", "per_path_ignores", "dialect", "lang")
_CONFIG_FILES = ("pyproject.toml", "schemalens.toml", "alembic.ini")


class SchemaLensServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("schemalens", __version__)
        self.root: Optional[Path] = None
        self.index: Optional[WorkspaceIndex] = None
        self.model = None
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.generation = 0
        self.lock = asyncio.Lock()
        # Edited files waiting for the next rebuild: path -> buffer text (None: read the disk).
        self.pending: dict[str, Optional[str]] = {}
        self.editor_settings: dict[str, Any] = {}
        self.findings: tuple = ()
        self.watchdog: Optional[asyncio.Task] = None  # watches the client's process
        # Rebuilds and audits run one at a time (under `lock`) on one thread: with a thread per
        # call, the allocator keeps an arena per thread and the server's memory creeps up.
        self.analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schemalens-analysis")
        self.query_paths: tuple = ()  # from the last audit: hovers list the code that queries a column
        self.client_locale: Optional[str] = None  # InitializeParams.locale (VS Code: its display language)
        self.lang = "en"  # of diagnostics, hovers, actions and reports: see choose_lang

    def effective_config(self):
        """The project's configuration with the editor's settings merged over it."""
        project = load_config(self.root)
        if not self.editor_settings:
            return project
        settings = {key: value for key, value in self.editor_settings.items() if key != "hints_file"}
        editor = config_from_mapping(settings, "editor settings")
        overrides = {key: getattr(editor, key) for key in _EDITOR_SETTINGS if key in settings}
        problems = list(editor.problems)
        if self.editor_settings.get("hints_file"):
            hints, hint_problems = load_hints_file(self.root, str(self.editor_settings["hints_file"]))
            overrides["tables"] = {**project.tables, **hints}
            problems += hint_problems
        for problem in problems:
            self.window_log_message(types.LogMessageParams(type=types.MessageType.Warning, message=problem.message))
        return replace(project, **overrides)

    def choose_lang(self, config) -> str:
        """The editor's `lang` setting, else the project's `[tool.schemalens] lang`, else the
        client's locale (zh-cn, zh-CN, zh -> zh), else English."""
        return choose_language(self.editor_settings.get("lang"), config.lang, self.client_locale)

    def positions(self) -> Positions:
        """Position conversions in the encoding negotiated with this client, for one request or
        one publication (each file's lines are split once): a file's text is the editor's buffer
        when it is open, else the index's."""
        open_texts = {relative_path(self.root, uri): document.source
                      for uri, document in self.workspace.text_documents.items()} if self.root else {}

        def text_of(path: str) -> Optional[str]:
            if path in open_texts:
                return open_texts[path]
            return self.index._read(path) if self.index else None
        return Positions(self.workspace.position_encoding, text_of)

    async def reindex(self, change=None) -> None:
        """Run `change(index)` (or a full index) off the event loop, then republish diagnostics."""
        async with self.lock:
            if self.index is not None:
                await self._rebuild(change or (lambda index: index.index_all()))

    async def apply_pending(self, opened: Optional[str] = None) -> None:
        """Apply every edit that arrived since the last rebuild in one rebuild: an edit that a
        newer one already superseded costs nothing. `opened` gets its diagnostics published even
        when it has none, so that the client knows the file was analysed."""
        async with self.lock:
            changes, self.pending = self.pending, {}
            if self.index is None:
                return
            if changes:
                def apply(index: WorkspaceIndex):
                    for path, text in changes.items():
                        index.update_file(path, text)
                    return index.model
                await self._rebuild(apply)
            if opened and opened not in self.published:
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=opened, diagnostics=[]))

    async def _rebuild(self, change) -> None:
        """Republish diagnostics for every file whose diagnostics changed, open or not."""
        loop = asyncio.get_running_loop()
        self.model = await loop.run_in_executor(self.analysis, change, self.index)
        result = await loop.run_in_executor(self.analysis, functools.partial(run_audit, self.model, text_of=self.index._read))
        self.findings = result.findings
        self.query_paths = result.query_paths
        problems = workspace_problems(self.model.errors, result.findings)
        current = diagnostics_by_uri(self.root, result.findings, problems, self.positions(), self.lang)
        for uri in sorted(set(current) | set(self.published)):
            diagnostics = current.get(uri, [])
            if diagnostics != self.published.get(uri, []):
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        self.published = current


class _ClientLogHandler(logging.Handler):
    """Forwards SchemaLens log records to the client's log (window/logMessage). Records may come
    from the index's worker threads, so they are handed to the event loop."""

    _TYPES = ((logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
              (logging.INFO, types.MessageType.Info))

    def __init__(self, ls: SchemaLensServer, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self.ls, self.loop = ls, loop

    def emit(self, record: logging.LogRecord) -> None:
        kind = next(kind for level, kind in self._TYPES if record.levelno >= level)
        message = types.LogMessageParams(type=kind, message=f"schemalens: {self.format(record)}")
        self.loop.call_soon_threadsafe(self.ls.window_log_message, message)


server = SchemaLensServer()
PARENT_CHECK_SECONDS = 3.0


async def _exit_when_the_client_dies(ls: SchemaLensServer, pid: int) -> None:
    """An editor that crashes sends no shutdown; without this check the server would live on."""
    while True:
        await asyncio.sleep(PARENT_CHECK_SECONDS)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            log.warning("client process %d is gone; exiting", pid)
            # Not ls.shutdown(): it waits for the thread blocked reading a stdin that nobody will
            # write to or close. Every file SchemaLens writes is written then renamed, so an
            # immediate exit leaves nothing half-written.
            os._exit(0)
        except PermissionError:
            pass  # alive, owned by another user


@server.feature(types.INITIALIZE)
def initialize(ls: SchemaLensServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict):
        ls.editor_settings = dict(options.get("schemalens", options))
    ls.client_locale = params.locale
    split_documents_as_lsp(ls.workspace)


@server.feature(types.INITIALIZED)
async def initialized(ls: SchemaLensServer, params: types.InitializedParams) -> None:
    root = ls.workspace.root_path
    if not root:
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Warning,
                                                     message="schemalens: no workspace folder; nothing to index"))
        return
    loop = asyncio.get_running_loop()
    package_log = logging.getLogger("schemalens")
    package_log.addHandler(_ClientLogHandler(ls, loop))
    package_log.setLevel(logging.INFO)
    if ls.process_id:
        ls.watchdog = loop.create_task(_exit_when_the_client_dies(ls, ls.process_id))
    ls.root = Path(root).resolve()
    config = ls.effective_config()
    ls.lang = ls.choose_lang(config)
    ls.index = WorkspaceIndex(ls.root, config, cache_dir=default_cache_dir())
    await _register_watchers(ls)
    token = str(uuid.uuid4())
    progress = await _begin_progress(ls, token)

    def report(done: int, total: int) -> None:
        if progress:
            value = types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=done * 100 // max(total, 1))
            loop.call_soon_threadsafe(ls.work_done_progress.report, token, value)

    await ls.reindex(lambda index: index.index_all(progress=report))
    if progress:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="indexed"))
    ls.window_log_message(types.LogMessageParams(
        type=types.MessageType.Info,
        message=f"schemalens: indexed {len(ls.model.files)} files, {len(ls.model.database.tables)} tables"))


async def _begin_progress(ls: SchemaLensServer, token: str) -> bool:
    """Work-done progress for the initial index, when the client supports it."""
    window = ls.client_capabilities.window if ls.client_capabilities else None
    if not (window and window.work_done_progress):
        return False
    try:
        await ls.work_done_progress.create_async(token)
    except Exception as error:  # a client that refuses the token: index without progress
        log.info("no progress token: %s", error)
        return False
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="SchemaLens: indexing", percentage=0))
    return True


async def _register_watchers(ls: SchemaLensServer) -> None:
    """Ask the client to report file changes made outside the editor (git checkout, generators)."""
    workspace = ls.client_capabilities.workspace if ls.client_capabilities else None
    watched = workspace.did_change_watched_files if workspace else None
    if not (watched and watched.dynamic_registration):
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED])
    await ls.client_register_capability_async(types.RegistrationParams(registrations=[types.Registration(
        id="schemalens-watchers", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)]))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: SchemaLensServer, params: types.DidChangeWatchedFilesParams) -> None:
    if ls.root is None:
        return
    open_documents = set(ls.workspace.text_documents)
    # Open buffers win over the disk.
    paths = [path for change in params.changes
             if change.uri not in open_documents and (path := relative_path(ls.root, change.uri))]
    if not paths:
        return
    if any(PurePosixPath(path).name in _CONFIG_FILES for path in paths):
        await _restart_index(ls)
        return
    ls.pending.update(dict.fromkeys(paths))
    await ls.apply_pending()


async def _restart_index(ls: SchemaLensServer) -> None:
    """Configuration changed (project file or editor settings): index again with the merged settings."""
    config = ls.effective_config()
    ls.lang = ls.choose_lang(config)
    ls.index = WorkspaceIndex(ls.root, config, cache_dir=default_cache_dir())
    await ls.reindex()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: SchemaLensServer, params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict):
        ls.editor_settings = dict(settings.get("schemalens", settings))
    if ls.index is not None:
        await _restart_index(ls)


async def _update(ls: SchemaLensServer, uri: str, text: Optional[str], debounce: bool, opened: bool = False) -> None:
    if ls.root is None:
        return
    path = relative_path(ls.root, uri)
    if path is None:
        return
    ls.pending[path] = text
    ls.generation += 1
    generation = ls.generation
    if debounce:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        if generation != ls.generation:
            return  # a newer edit arrived; its rebuild takes this one along
    await ls.apply_pending(opened=uri if opened else None)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: SchemaLensServer, params: types.DidOpenTextDocumentParams) -> None:
    await _update(ls, params.text_document.uri, params.text_document.text, debounce=False, opened=True)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: SchemaLensServer, params: types.DidChangeTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    await _update(ls, params.text_document.uri, document.source, debounce=True)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
async def did_save(ls: SchemaLensServer, params: types.DidSaveTextDocumentParams) -> None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    await _update(ls, params.text_document.uri, document.source, debounce=False)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: SchemaLensServer, params: types.DidCloseTextDocumentParams) -> None:
    # The editor's buffer no longer overrides the file on disk.
    await _update(ls, params.text_document.uri, None, debounce=False)


def _target(ls: SchemaLensServer, uri: str, position: types.Position) -> Optional[Target]:
    if ls.model is None or ls.root is None:
        return None
    path = relative_path(ls.root, uri) or ""
    text = ls.workspace.get_text_document(uri).source
    line, column = Positions(ls.workspace.position_encoding, lambda _: text).from_lsp(path, position)
    return target_at(ls.model, path, text, line, column)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: SchemaLensServer, params: types.HoverParams) -> Optional[types.Hover]:
    target = _target(ls, params.text_document.uri, params.position)
    card = table_card(ls.model, target.table, target.column, ls.query_paths, ls.lang) if target else None
    if card is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=card))


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: SchemaLensServer, params: types.DefinitionParams) -> Optional[list[types.Location]]:
    target = _target(ls, params.text_document.uri, params.position)
    if target is None:
        return None
    positions = ls.positions()
    return [types.Location(uri=uri_of(ls.root, location.path), range=positions.range(location))
            for location, _ in definitions(ls.model, target)]


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def find_references(ls: SchemaLensServer, params: types.ReferenceParams) -> Optional[list[types.Location]]:
    target = _target(ls, params.text_document.uri, params.position)
    if target is None:
        return None
    positions = ls.positions()
    return [types.Location(uri=uri_of(ls.root, location.path), range=positions.range(location))
            for location, _ in references(ls.model, target)]


_SYMBOL_KINDS = {"table": types.SymbolKind.Class, "column": types.SymbolKind.Field, "revision": types.SymbolKind.Key}


def _document_symbol(positions: Positions, symbol) -> types.DocumentSymbol:
    where = positions.range(symbol.location)
    return types.DocumentSymbol(name=symbol.name, kind=_SYMBOL_KINDS[symbol.kind], range=where, selection_range=where,
                                children=[_document_symbol(positions, child) for child in symbol.children] or None)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: SchemaLensServer, params: types.DocumentSymbolParams) -> Optional[list[types.DocumentSymbol]]:
    if ls.model is None:
        return None
    path = relative_path(ls.root, params.text_document.uri)
    positions = ls.positions()
    return [_document_symbol(positions, symbol) for symbol in document_symbols(ls.model, path or "")]


@server.feature(types.WORKSPACE_SYMBOL)
def workspace_symbol(ls: SchemaLensServer, params: types.WorkspaceSymbolParams) -> Optional[list[types.SymbolInformation]]:
    if ls.model is None:
        return None
    positions = ls.positions()
    return [types.SymbolInformation(name=symbol.name, kind=_SYMBOL_KINDS[symbol.kind], location=types.Location(
        uri=uri_of(ls.root, symbol.location.path), range=positions.range(symbol.location)))
        for symbol in workspace_symbols(ls.model, params.query)]


_KINDS = {"display": types.CodeActionKind.QuickFix, "safe": types.CodeActionKind.QuickFix,
          "unsafe": types.CodeActionKind.QuickFix}


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
def code_action(ls: SchemaLensServer, params: types.CodeActionParams) -> Optional[list[types.CodeAction]]:
    if ls.model is None:
        return None
    uri = params.text_document.uri
    path = relative_path(ls.root, uri)
    text = ls.workspace.get_text_document(uri).source
    positions = Positions(ls.workspace.position_encoding, lambda _: text)
    wanted = {(d.code, d.range.start.line + 1) for d in params.context.diagnostics}
    actions = []
    for finding in (occurrence for merged in ls.findings for occurrence in occurrences(merged)):
        if finding.location.path != path or (finding.rule, finding.location.line) not in wanted:
            continue
        diagnostic = next(d for d in params.context.diagnostics
                          if (d.code, d.range.start.line + 1) == (finding.rule, finding.location.line))
        for fix in quick_fixes(finding, text, ls.model.database.tables):
            edit = types.TextEdit(range=positions.lines_range(path, fix.edit.line, fix.edit.last_line),
                                  new_text=fix.edit.new_text)
            actions.append(types.CodeAction(
                title=f"SchemaLens: {translator(ls.lang).localize(fix.title)}", kind=_KINDS[fix.applicability], diagnostics=[diagnostic],
                is_preferred=fix.applicability == "safe",
                edit=types.WorkspaceEdit(changes={uri: [edit]})))
        scaffold_action = _scaffold_action(ls, finding, diagnostic)
        if scaffold_action is not None:
            actions.append(scaffold_action)
    return actions


def _creates_files(ls: SchemaLensServer) -> bool:
    workspace = ls.client_capabilities.workspace if ls.client_capabilities else None
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes and types.ResourceOperationKind.Create in (edit.resource_operations or ()))


def _scaffold_action(ls: SchemaLensServer, finding, diagnostic: types.Diagnostic) -> Optional[types.CodeAction]:
    """Safe expand / backfill / contract revisions, as one WorkspaceEdit that creates them (and
    takes the unsafe statement out of the head revision)."""
    safe_change = safe_change_for(finding, ls.model, ls.index._read)
    if safe_change is None:
        return None
    if not _creates_files(ls):
        log.info("%s: the client cannot create files in a workspace edit; no scaffold action", finding.rule)
        return None
    try:
        planned = safe_change_edit(safe_change, ls.model, ls.index._read, lang=ls.lang)
    except ScaffoldError as error:
        log.info("%s at %s: no scaffold: %s", finding.rule, finding.location, error)
        return None
    changes: list = []
    for revision_file in planned.files:
        file_uri = uri_of(ls.root, revision_file.path)
        changes.append(types.CreateFile(uri=file_uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)))
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=file_uri, version=None),
            edits=[types.TextEdit(range=types.Range(start=types.Position(line=0, character=0),
                                                    end=types.Position(line=0, character=0)), new_text=revision_file.text)]))
    by_path: dict[str, list] = {}
    positions = ls.positions()
    for line_edit in planned.line_edits:
        by_path.setdefault(line_edit.path, []).append(line_edit)
    for path, line_edits in by_path.items():  # one TextDocumentEdit per file: its ranges all refer to the text as it is
        file_uri = uri_of(ls.root, path)
        document = ls.workspace.get_text_document(file_uri)
        edits = [types.TextEdit(range=positions.lines_range(path, e.line, e.last_line), new_text=e.new_text)
                 for e in line_edits]
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=file_uri, version=document.version), edits=edits))
    phases = " / ".join(f.phase for f in planned.files)
    title = translator(ls.lang).localize(safe_change.title)
    return types.CodeAction(title=f"SchemaLens: {title} ({phases}: {safe_change.request.change})",
                            kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                            edit=types.WorkspaceEdit(document_changes=changes))


@server.command("schemalens.generateReport")
async def generate_report(ls: SchemaLensServer, *args) -> Optional[str]:
    """Write the Markdown audit next to the workspace's cache and ask the client to show it."""
    if ls.model is None:
        return None
    # An explicit argument ("en", "zh") wins; without one, the server's language.
    lang = (normalize_language(args[0]) if args else None) or ls.lang
    report = render_audit_markdown(ls.model, ls.findings, lang, ls.query_paths)
    return await _show_document(ls, "schemalens-audit.md", report)


@server.command("schemalens.showSchemaMap")
async def show_schema_map(ls: SchemaLensServer, *args) -> Optional[str]:
    if ls.model is None:
        return None
    layer = ls.model.database if ls.model.database.tables else ls.model.orm
    return await _show_document(ls, "schemalens-schema.md", render_schema_map(layer, "markdown", orm=ls.model.orm, lang=ls.lang))


async def _show_document(ls: SchemaLensServer, name: str, text: str) -> str:
    folder = default_cache_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{ls.root.name}-{name}"
    target.write_text(text, encoding="utf-8")
    uri = target.as_uri()
    window = ls.client_capabilities.window if ls.client_capabilities else None
    if window and window.show_document and window.show_document.support:
        await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
    return uri
