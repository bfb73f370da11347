"""The SchemaLens language server (pygls 2): a thin layer that feeds editor events to the
workspace index and turns audit findings into diagnostics and hovers."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Collection, Optional

from lsprotocol import types
from pygls import uris
from pygls.lsp.server import LanguageServer

from schemalens import __version__
from schemalens.analyzers import flow_answers
from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.i18n import choose_language, normalize_language
from schemalens.analyzers.report.audit_markdown import render_audit_markdown
from schemalens.analyzers.report.schema_map import render_schema_map
from schemalens.analyzers.through_edits import CarriedAudit, LineMap, audit_through_edits
from schemalens.analyzers.workspace.audit_cache import AuditCache, KeptAudit, workspace_snapshot
from schemalens.analyzers.workspace.cache import default_cache_dir
from schemalens.analyzers.workspace.config import config_from_mapping, load_config, load_hints_file
from schemalens.analyzers.workspace.discovery import project_root
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.analyzers.workspace import parse_workers
from schemalens.analyzers.workspace.read_ahead import ReadAhead

from . import code_actions, navigation
from .diagnostics import Diagnostics, relative_path
from .garbage import IDLE, FullCollections
from .memory_trace import MemoryTrace
from .progress import ThrottledReports
from .protocol import SchemaLensProtocol
from .positions import Positions, split_documents_as_lsp
from .process import ClientLogHandler, ClientWatchdog, configure_logging, end_process

log = logging.getLogger(__name__)

# An edit arriving within this long of the one before while a rebuild still runs is part of a
# burst the server is behind on (typing faster than it checks): it waits this long for the next
# one, so that one rebuild takes the burst along. Any other edit (after a pause, or once the last
# one is checked) is rebuilt at once.
DEBOUNCE_SECONDS = 0.1
# A file the editor opens is read as an edit reads it once the user has read it this long without
# an edit (WorkspaceIndex.prepare_file_for_edits): an edit typed sooner reads it itself rather
# than wait for that read.
PREPARE_AFTER_SECONDS = 0.3
# The diagnostics of the files not open that a rebuild changed are made and published once no
# edit came this long after it: the next keystroke of a burst is checked first (an edit of
# dispatch's user model moves the related places of 200 diagnostics in 45 other files: 20 ms).
OTHERS_AFTER_SECONDS = 0.05
WATCHED = ("**/*.py", "**/*.sql", "**/alembic.ini", "**/pyproject.toml", "**/schemalens.toml", "**/.gitignore")
# Settings an editor may override (initializationOptions, workspace/didChangeConfiguration);
# "hints_file", a TOML file of row hints, is read on its own.
_EDITOR_SETTINGS = ("select", "ignore", "severity", "per_path_ignores", "dialect", "lang")
_CONFIG_FILES = ("pyproject.toml", "schemalens.toml", "alembic.ini")
# Files the index does not read and a rule does (Rule.read_outside): a change audits again.
_READ_BY_RULES = (".gitignore",)


class SchemaLensServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("schemalens", __version__, protocol_cls=SchemaLensProtocol)
        self.root: Optional[Path] = None
        self.index: Optional[WorkspaceIndex] = None
        self.model = None
        self.audited = None  # the model whose findings `published` holds
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.generation = 0
        self.last_edit_at = float("-inf")  # the event loop's clock at the last didChange
        self.lock = asyncio.Lock()
        # Edited files waiting for the next rebuild: path -> buffer text (None: read the disk).
        self.pending: dict[str, Optional[str]] = {}
        self.editor_settings: dict[str, Any] = {}
        self.findings: tuple = ()
        self.problems: tuple = ()  # extraction problems of the last audit, published with the findings
        # The diagnostics published come from the audit kept on disk for this unchanged workspace,
        # while the index is rebuilt (see `publish_kept_audit`).
        self.publishing_kept = False
        self.watchdog: Optional[ClientWatchdog] = None  # watches the client's process
        self.log_handler = ClientLogHandler(self.window_log_message)
        # Files that do not parse: path -> the text of the last good parse the model holds (None:
        # unknown), and how its lines moved since (see analyzers/through_edits.py).
        self.stale: dict[str, Optional[str]] = {}
        self.line_maps: dict[str, Optional[LineMap]] = {}
        # Rebuilds and audits run one at a time (under `lock`) on one thread: with a thread per
        # call, the allocator keeps an arena per thread and the server's memory creeps up.
        self.analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schemalens-analysis")
        self.query_paths: tuple = ()  # from the last audit: hovers list the code that queries a column
        self.held_back: tuple = ()  # from the last audit: said in the report
        self.client_locale: Optional[str] = None  # InitializeParams.locale (VS Code: its display language)
        self.lang = "en"  # of diagnostics, hovers, actions and reports: see choose_lang
        self.memory_trace = MemoryTrace.from_environment()
        # Between audits: what the rules that read no code found (an edit of application code
        # leaves it standing; see run_audit).
        self.kept_rules = KeptRules()
        self.diagnostics = Diagnostics()  # keeps the last publication's, for the findings an edit leaves as they were
        self.full_collections = FullCollections()  # started with the serving process (run_stdio, run_socket)
        # The kept audit's save (AuditCache.save), waiting for the user to pause (see keep_audit_when_idle)
        self.unsaved_audit: Optional[Callable[[], None]] = None
        self.idle_work: list[Callable[[], None]] = []  # done once the user pauses, on the analysis thread; not at shutdown
        self._pause_timer: Optional[asyncio.TimerHandle] = None
        self._others: Optional[asyncio.Future] = None  # _publish_others of the last rebuild
        self._others_args: tuple = ()
        # Once the first index is published, or at shutdown: the code attrs, cattrs and dataclasses
        # wrote until then is kept for the next start (`schemalens lsp`: cli/written_methods.py).
        self.written_methods_kept: Callable[[], None] = lambda: None

    def choose_lang(self, config) -> str:
        """The editor's `lang` setting, else the project's `[tool.schemalens] lang`, else the
        client's locale (zh-cn, zh-CN, zh -> zh), else English."""
        return choose_language(self.editor_settings.get("lang"), config.lang, self.client_locale)

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

    def positions(self) -> Positions:
        """Position conversions in the encoding negotiated with this client, for one request or
        one publication (each file's lines are split once): a file's text is the editor's buffer
        when it is open, else the index's."""
        open_texts = {relative_path(self.root, uri): document.source
                      for uri, document in self.workspace.text_documents.items()} if self.root else {}

        def text_of(path: str) -> Optional[str]:
            if path in open_texts:
                return open_texts[path]
            return self.index.text_of(path) if self.index else None
        return Positions(self.workspace.position_encoding, text_of)

    async def reindex(self, change=None) -> None:
        """Run `change(index)` (or a full index) off the event loop, then republish diagnostics."""
        async with self.lock:
            if self.index is not None:
                await self.rebuild(change or (lambda index: index.index_all()))

    async def audit_again(self) -> None:
        """Audit the model as it is: a file that only the rules read changed."""
        async with self.lock:
            if self.index is not None and self.index.model is not None:
                self.audited = None
                await self.rebuild(lambda index: index.model)

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
                await self.rebuild(apply)
            if opened and opened not in self.published:
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=opened, diagnostics=[]))

    async def rebuild(self, change) -> None:
        """Run `change(index)`, then republish diagnostics for every file whose diagnostics
        changed, open or not; the caller holds `lock`. A change that leaves the index's model as
        it was (a file opened or saved as the index read it) is not audited again: the audit
        reads nothing else, so its findings are those published."""
        loop = asyncio.get_running_loop()
        # what the last rebuild has not published yet: this one publishes it, or what replaces it
        unpublished = self._others_args if self._others is not None and self._others.cancel() else None
        self.full_collections.before_rebuild()
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        try:
            await self._rebuild(loop, change, unpublished)
        finally:
            self.full_collections.after_rebuild(loop)
            self._wait_for_a_pause(loop)

    def keep_audit_when_idle(self, save: Callable[[], None]) -> None:
        """Write the audit kept for the next start (`save`) once the user pauses, or at shutdown:
        on the analysis thread it would make the first edit after the index wait for it (150 ms
        on 500 models)."""
        self.unsaved_audit = save
        self._wait_for_a_pause(asyncio.get_running_loop())

    def do_when_idle(self, work: Callable[[], None]) -> None:
        """Run `work` on the analysis thread once the user pauses, as the kept audit is written;
        a shutdown before that drops it."""
        self.idle_work.append(work)
        self._wait_for_a_pause(asyncio.get_running_loop())

    def _wait_for_a_pause(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.unsaved_audit is not None or self.idle_work:
            if self._pause_timer is not None:
                self._pause_timer.cancel()
            self._pause_timer = loop.call_later(IDLE, lambda: asyncio.ensure_future(self._paused()))

    async def _paused(self) -> None:
        await self.save_kept_audit()
        work, self.idle_work = self.idle_work, []
        if work:
            async with self.lock:
                for each in work:
                    await asyncio.get_running_loop().run_in_executor(self.analysis, each)

    async def save_kept_audit(self) -> None:
        """Write the kept audit now, if it waits, between rebuilds (a shutdown during the first
        index has none to write, and does not wait for the index)."""
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        if self.unsaved_audit is None:
            return
        async with self.lock:
            save, self.unsaved_audit = self.unsaved_audit, None
            if save is not None:
                await asyncio.get_running_loop().run_in_executor(self.analysis, save)

    async def _rebuild(self, loop: asyncio.AbstractEventLoop, change, unpublished: Optional[tuple]) -> None:
        index = self.index
        self.model = await loop.run_in_executor(self.analysis, change, index)
        if self.model is not None and self.model is self.audited:
            if unpublished is not None:
                self._publish_others_later(*unpublished)
            return
        stale, audited = await loop.run_in_executor(self.analysis, self._audit, index, self.model, self.kept_rules)
        self.stale, self.line_maps = stale, audited.maps
        self.findings = audited.findings
        self.problems = audited.problems
        self.query_paths = audited.query_paths
        self.held_back = audited.held_back
        open_uris = set(self._open_uris())
        current, finish = self.diagnostics.open_first(self.root, audited.findings, audited.problems, self.positions(),
                                                      self.lang, first=open_uris)
        for uri in sorted(open_uris):
            self._publish(uri, current.get(uri, []))
        self.audited = self.model
        self.publishing_kept = False
        self.memory_trace.rebuilt()
        self._publish_others_later(current, finish, open_uris)

    def _publish_others_later(self, current: dict[str, list[types.Diagnostic]], finish: Callable[[], None],
                              shown: set[str]) -> None:
        """Make and publish the diagnostics of the files not open once the open files' are out, not
        under the lock, after OTHERS_AFTER_SECONDS: an edit sent meanwhile goes first. Its rebuild
        takes this back (`rebuild`), and publishes what then differs from what was published, or
        this if nothing changed."""
        self._others_args = (current, finish, shown)
        self._others = asyncio.ensure_future(self._publish_others(current, finish, shown))

    async def settled(self) -> None:
        """Wait until the last rebuild's diagnostics are published, those of the files not open too
        (or taken back by a rebuild since)."""
        if self._others is not None:
            await asyncio.wait([self._others])

    async def _publish_others(self, current: dict[str, list[types.Diagnostic]], finish: Callable[[], None],
                              shown: set[str]) -> None:
        await asyncio.sleep(OTHERS_AFTER_SECONDS)
        finish()
        for uri in self._open_first(set(current) | set(self.published)):
            if uri not in shown:
                self._publish(uri, current.get(uri, []))
        self.published = current

    def _publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        if diagnostics != self.published.get(uri, []):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        if diagnostics:  # `published` holds the files with diagnostics, as Diagnostics.by_uri gives them
            self.published[uri] = diagnostics
        else:
            self.published.pop(uri, None)

    def publish_kept_audit(self, kept: KeptAudit) -> None:
        """Publish the audit kept for this workspace, unchanged since (analyzers/workspace/
        audit_cache.py), before the index is rebuilt; the rebuild then republishes only what
        differs, which is nothing unless a file changes meanwhile."""
        self._publish_before_the_index(self.diagnostics.by_uri(self.root, kept.findings, kept.problems, self.positions(), self.lang))
        self.publishing_kept = True
        log.info("published the kept audit of the unchanged workspace: %d findings", len(kept.findings))

    def publish_schema_findings(self, findings: tuple) -> None:
        """Publish what the checks found in the models, migrations and SQL of the workspace before
        the checks of its code run (WorkspaceIndex.index_all's `schema_first`): findings that
        stand whatever the code says. The rebuild that ends the index then publishes what it adds."""
        self._publish_before_the_index(self.diagnostics.by_uri(self.root, findings, (), self.positions(), self.lang))
        log.info("published %d findings of the models and migrations; the checks of the code follow", len(findings))

    def _publish_before_the_index(self, published: dict[str, list]) -> None:
        """Publish what is known before the index ends, and say so now for an open file nothing
        was found in yet, not when the index ends: the rebuild that ends it publishes only what
        differs."""
        self.published = published
        opened = {uri: [] for uri in self.workspace.text_documents if uri not in published}
        shown = {**opened, **published}
        for uri in self._open_first(shown):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=shown[uri]))

    def _open_uris(self) -> Collection[str]:
        """The files open in the editor: the ones the user looks at, published first."""
        return self.workspace.text_documents

    def _open_first(self, uris) -> list[str]:
        """`uris` in the order to publish them: the files open in the editor first (dispatch's first
        look: 24 ms to publish every file), then the others."""
        open_uris = self._open_uris()
        return sorted(uris, key=lambda uri: (uri not in open_uris, uri))

    @staticmethod
    def _audit(index: WorkspaceIndex, model, kept: Optional[KeptRules] = None) -> tuple[dict[str, Optional[str]], CarriedAudit]:
        """The audit, at the lines of the current texts: in a file that does not parse, what the
        last good parse says is carried through the edits since, or withheld. `kept`: what the
        rules that read no code found last time (see run_audit)."""
        stale = index.stale_sources()
        current_errors = [error for path in stale for error in index.parsed(path).errors]
        return stale, audit_through_edits(model, stale, index.text_of, current_errors, kept)


def run_stdio(stdin: Optional[Any] = None) -> None:
    """Serve one client over standard input and output (`stdin`: what to read the messages from,
    if not standard input itself: see first_message.py), then end the process at once: when the
    client closes the pipe (it exited or died) while an index runs on the analysis thread, a
    normal interpreter exit would wait for that index to finish."""
    configure_logging(server.log_handler, keep_stderr=False)
    server.full_collections.start()
    server.start_io(stdin)
    try:
        sys.stdout.flush()
    except Exception:
        pass
    end_process(0 if server.protocol._shutdown else 1)


def run_socket(start, host: str, port: int) -> None:
    """Serve over TCP or a WebSocket (`start`: server.start_tcp or start_ws); logs go to the
    client and to standard error."""
    configure_logging(server.log_handler, keep_stderr=True)
    server.full_collections.start()
    start(host, port)


server = SchemaLensServer()
code_actions.register(server)
navigation.register(server)


@server.feature(types.INITIALIZE)
def initialize(ls: SchemaLensServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict):
        ls.editor_settings = dict(options.get("schemalens", options))
    ls.client_locale = params.locale
    split_documents_as_lsp(ls.workspace)
    ls.log_handler.connect(asyncio.get_running_loop())
    if ls.process_id and ls.watchdog is None:
        ls.watchdog = ClientWatchdog(ls.process_id)
        ls.watchdog.start_watching()


@server.feature(types.INITIALIZED)
async def initialized(ls: SchemaLensServer, params: types.InitializedParams) -> None:
    folders = list(ls.workspace.folders.values())
    root = ls.workspace.root_path or (uris.to_fs_path(folders[0].uri) if folders else None)
    if not root:
        log.info("no workspace folder: the project of the first file opened is indexed")
        return
    await _index_root(ls, Path(root))


async def _index_root(ls: SchemaLensServer, root: Path) -> None:
    """Index the workspace at `root`. Edits that arrive meanwhile wait in `pending` (the lock is
    held from the start): applied to an index not built yet, they would publish the findings of
    a workspace of one file."""
    loop = asyncio.get_running_loop()
    async with ls.lock:
        ls.root = root.resolve()
        config = ls.effective_config()
        ls.lang = ls.choose_lang(config)
        ls.index = WorkspaceIndex(ls.root, config, cache_dir=default_cache_dir())
        kept_audits = AuditCache(default_cache_dir(), ls.root)
        # Taken before the index reads any file: a file changed while it runs makes the next
        # start's snapshot differ, so an audit of older texts is never reused.
        snapshot = await loop.run_in_executor(ls.analysis, workspace_snapshot, ls.root, config)
        kept = await loop.run_in_executor(ls.analysis, kept_audits.load, snapshot)
        if kept is not None:
            ls.publish_kept_audit(kept)
        # Asked of the client while the index runs: it answers within a round trip or two.
        watching = asyncio.ensure_future(_register_watchers(ls))
        token = str(uuid.uuid4())
        progress = asyncio.ensure_future(_begin_progress(ls, token))
        begun = threading.Event()  # read on the analysis thread
        latest: list[types.WorkDoneProgressReport] = []  # the last report made, sent late if the token came after it

        def begin(future: asyncio.Future) -> None:
            if not future.cancelled() and future.result():
                begun.set()
                if latest:  # a small workspace may be read before the client answers
                    ls.work_done_progress.report(token, latest[-1])
        progress.add_done_callback(begin)

        def send(done: int, total: int) -> None:
            value = types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=done * 100 // max(total, 1))
            latest[:] = [value]
            if begun.is_set():
                loop.call_soon_threadsafe(ls.work_done_progress.report, token, value)

        def schema_first(model) -> None:  # on the analysis thread, while the index goes on
            # what the rules of the schema find stands: the audit of the full model takes it back
            findings = run_audit(model, text_of=ls.index.text_of, kept=ls.kept_rules).findings
            _done_on_the_loop(loop, functools.partial(ls.publish_schema_findings, findings))

        # A kept audit already shows every finding: a first look would take some away for a while.
        first = schema_first if kept is None else None
        read = await loop.run_in_executor(ls.analysis, _read_ahead, ls.root, snapshot)
        await ls.rebuild(lambda index: index.index_all(progress=ThrottledReports(send), schema_first=first, read=read))
        audit = KeptAudit(ls.findings, ls.problems)  # of the files on disk: edits wait in `pending`
        await watching
    if await progress:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="indexed"))
    log.info("indexed %s: %d files, %d tables", ls.root, len(ls.model.files), len(ls.model.database.tables))
    await loop.run_in_executor(ls.analysis, ls.index.prepare_for_edits)
    await loop.run_in_executor(ls.analysis, ls.written_methods_kept)
    ls.do_when_idle(ls.index.prepare_for_unparsable_text)
    model = ls.model

    def keep_for_the_next_start() -> None:
        if audit != kept:
            kept_audits.save(snapshot, audit)
        flow_answers.keep(model)  # nothing once an edit changed the code base since

    ls.keep_audit_when_idle(keep_for_the_next_start)


# How long the index waits for the first look's publication before it goes on anyway.
_PUBLICATION_WAIT_SECONDS = 1.0


def _done_on_the_loop(loop: asyncio.AbstractEventLoop, publish: Callable[[], None]) -> None:
    """Have `loop`'s thread run `publish`, and wait for it (a while at most): the index goes on
    once the first look is sent, as its next pass would share this process's interpreter with
    the publication and make it take twice as long (polar: 20-40 ms instead of 12-17)."""
    published = threading.Event()

    def run() -> None:
        try:
            publish()
        finally:
            published.set()
    loop.call_soon_threadsafe(run)
    published.wait(timeout=_PUBLICATION_WAIT_SECONDS)


def _read_ahead(root: Path, snapshot) -> Optional[ReadAhead]:
    """The files the early parse worker read of the workspace, as they still are (`snapshot`
    is taken since: the audit kept with it must be of the texts the index read)."""
    read = parse_workers.take_read_ahead(root)
    return read.agreeing_with(snapshot.files) if read is not None else None


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
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[types.Registration(
            id="schemalens-watchers", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options)]))
    except Exception as error:  # a client that refuses: changes on disk are seen when files are saved or opened
        log.info("file watchers not registered: %s", error)


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
    read_by_rules = [path for path in paths if PurePosixPath(path).name in _READ_BY_RULES]
    ls.pending.update(dict.fromkeys(path for path in paths if path not in read_by_rules))
    await ls.apply_pending()
    if read_by_rules:
        await ls.audit_again()


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
    if ls.root is None and opened:
        file = uris.to_fs_path(uri)
        if file:  # a client without a workspace folder: the project around the file
            await _index_root(ls, project_root(Path(file)))
    if ls.root is None:
        return
    path = relative_path(ls.root, uri)
    if path is None:
        return
    ls.pending[path] = text
    ls.generation += 1
    generation = ls.generation
    if debounce:
        now = asyncio.get_running_loop().time()
        in_a_burst = now - ls.last_edit_at < DEBOUNCE_SECONDS and ls.lock.locked()
        ls.last_edit_at = now
        if in_a_burst:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            if generation != ls.generation:
                return  # a newer edit arrived; its rebuild takes this one along
    await ls.apply_pending(opened=uri if opened else None)


@server.feature(types.SHUTDOWN)
async def shutdown(ls: SchemaLensServer, *args) -> None:
    await ls.save_kept_audit()
    ls.written_methods_kept()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: SchemaLensServer, params: types.DidOpenTextDocumentParams) -> None:
    uri = params.text_document.uri
    if ls.publishing_kept and uri not in ls.published:  # see publish_kept_audit
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    await _update(ls, uri, params.text_document.text, debounce=False, opened=True)
    generation = ls.generation
    await asyncio.sleep(PREPARE_AFTER_SECONDS)
    if ls.generation == generation:  # else an edit or another open came: the file edited reads itself
        await _as_a_rebuild(ls, uri, WorkspaceIndex.prepare_file_for_edits)


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
    await _as_a_rebuild(ls, params.text_document.uri, WorkspaceIndex.forget_file_edits)


async def _as_a_rebuild(ls: SchemaLensServer, uri: str, work: Callable[[WorkspaceIndex, str], Any]) -> None:
    """`work(index, path)` for the file at `uri`, run as a rebuild runs: under the lock (an edit
    sent meanwhile waits for it), on the analysis thread, the collector off (garbage.py)."""
    loop = asyncio.get_running_loop()
    async with ls.lock:
        path = relative_path(ls.root, uri) if ls.root is not None else None
        if ls.index is None or path is None:
            return
        ls.full_collections.before_rebuild()
        try:
            await loop.run_in_executor(ls.analysis, work, ls.index, path)
        finally:
            ls.full_collections.after_rebuild(loop)


@server.command("schemalens.generateReport")
async def generate_report(ls: SchemaLensServer, *args) -> Optional[str]:
    """Write the Markdown audit next to the workspace's cache and ask the client to show it."""
    if ls.model is None:
        return None
    # An explicit argument ("en", "zh") wins; without one, the server's language.
    lang = (normalize_language(args[0]) if args else None) or ls.lang
    report = render_audit_markdown(ls.model, ls.findings, lang, ls.query_paths, ls.held_back)
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
