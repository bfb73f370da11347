"""The workspace index: every file parsed once, cached by content, and the two layers on top.

Cold: `WorkspaceIndex(root).index_all()`. Live: `update_file(path, text)` re-parses that one
file (a file whose content did not change is not parsed again), then recomputes what depends on
it: a model file rebuilds the `orm` layer from the cached per-module summaries; a revision or
SQL migration rebuilds the revision graph and replays the `database` layer from the first step
that changed, reusing the snapshots before it.
"""

from __future__ import annotations

import functools
import gc
import io
import logging
import os
import pickle
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..extract import sql_files
from ..extract.orm_build import OrmBuild, no_models
from ..extract.other_orms import other_orm_models
from ..extract.python_source import Reparser, import_rewriter
from ..lazy_module import LazyModule
from ..lazy_pattern import LazyPattern
from ..collector import collector_paused
from ..i18n import _, _n
from ..schema.model import ExtractionError, ForeignKey, Location, SchemaLayer, Table, table_key
from ..schema.operations import CreateTable, ExistingTables, RenameTable, Step
from ..schema.replay import ReplayRun, replay_steps
from .databases import (ALEMBIC, Database, baseline_step, explain_failures, group_locations, merged_files,
                        schema_file_for_new_databases, tool_table_step, upgrade_baseline)
from .migration_sets import PER_FOLDER_FILES, SqlFileFacts, SqlLocation, SqlPlan, file_facts, plan_sql
from ..schema.revision_graph import RevisionGraph, build_revision_graph
from .cache import FirstPart, ParseCache, open_cache
from .parse_jobs import PYTHON_KINDS, ParsedFile, PythonModule, parse_job, parse_jobs
from .config import Config, load_config
from .dependency_pins import pinned_versions
from .discovery import looks_like_model_module, under, walk_files
from .alembic_environments import AlembicEnvironment, find_environments, looks_like_revision
from .code_roles import is_application_code
from .coverage import Coverage, sql_coverage, tables_in_both
from .package_roots import PackageRoots
from .parse_workers import at_most, new_pool, parse_in_worker, results_received_promptly, take_early_pool
from .read_ahead import ReadAhead, read_for_the_schema, text_digest

# The readers of Python code, imported once a workspace has Python files to read: an audit of SQL
# migrations alone does not pay their imports (lazy_module.py).
_EXTRACT = f"{__package__.rpartition('.')[0]}.extract"
code_facts = LazyModule(f"{_EXTRACT}.code_facts", globals(), "code_facts")
module_summary = LazyModule(f"{_EXTRACT}.module_summary", globals(), "module_summary")
python_world = LazyModule(f"{_EXTRACT}.python_world", globals(), "python_world")
sqlalchemy_models = LazyModule(f"{_EXTRACT}.sqlalchemy_models", globals(), "sqlalchemy_models")
migration_helpers = LazyModule(f"{__package__}.migration_helpers", globals(), "migration_helpers")

if TYPE_CHECKING:  # worker pools are made in parse_workers, when a cold index has many files
    from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)

_CONFIG_FILES = ("pyproject.toml", "schemalens.toml", "alembic.ini")
# What parsing a file costs this process, to choose between it and worker processes: a little per
# file and per character (measured: Python files with their code facts at about 1.3 MB/s, SQL
# migrations at 0.7 ms each), against what a worker's start costs (a fresh interpreter imports
# SchemaLens first). 98 SQL migrations: 0.14 s here, 0.30 s with two workers; CTFd's 346 files:
# 0.88 s here, 0.73 s with two.
_SECONDS_PER_FILE = 0.0004
_SECONDS_PER_CHARACTER = 1 / 1.3e6
_WORKER_START_SECONDS = 0.3

Progress = Callable[[int, int], None]  # (files parsed so far, files to parse)


class CodeNotRead(Exception):
    """A check asked for the code facts of a model built before the code was read (see
    `WorkspaceIndex.index_all`'s `schema_first`): its findings wait for the full model."""


def code_hidden(model: "WorkspaceModel") -> "WorkspaceModel":
    """The model with its code facts, and what they were read from, hidden: any look at them
    raises CodeNotRead."""
    return replace(model, code=_CodeNotReadYet(), code_read_from=_CodeNotReadYet())


class _CodeNotReadYet(Mapping):
    """The code facts of a model built from the schema files alone: any look raises CodeNotRead."""

    def __getitem__(self, path: str):
        raise CodeNotRead(path)

    def __iter__(self):
        raise CodeNotRead()

    def __len__(self) -> int:
        raise CodeNotRead()


@dataclass(frozen=True, slots=True)
class WorkspaceModel:
    """Everything the index knows at one moment. Paths are relative to `root`."""

    root: Path
    config: Config
    orm: SchemaLayer
    database: SchemaLayer  # the main database's layer (see `databases`)
    revisions: RevisionGraph
    sql_migrations: tuple[str, ...]  # SQL migration files in `steps`, in replay order
    # The migration steps of every database of the workspace's dialect (the main one first),
    # each database's in its replay order: what the migration-safety rules walk.
    steps: tuple[Step, ...]
    errors: tuple[ExtractionError, ...]
    files: dict[str, str] = field(default_factory=dict)  # path -> kind
    code: dict[str, "code_facts.CodeFacts"] = field(default_factory=dict)  # application code, by path
    summaries: dict[str, "module_summary.ModuleSummary"] = field(default_factory=dict)  # every Python module, by path
    revision_files: dict[str, Any] = field(default_factory=dict)  # path -> Revision, duplicates included
    sql_scans: dict[str, "sql_files.SqlScan"] = field(default_factory=dict)  # what rules read of each SQL file's text
    naming_convention: Optional[dict[str, str]] = None  # the models' MetaData naming_convention, used by the replay
    relationships: tuple = ()  # sqlalchemy_models.Relationship of every mapped class
    coverage: Coverage = field(default_factory=Coverage)
    histories: tuple["MigrationHistory", ...] = ()  # one per Alembic environment, in replay order
    # (table key, column) the models write through code that changes the value (a TypeDecorator,
    # @validates, a property setter): what is stored is not what the application handles.
    transformed_columns: frozenset[tuple[str, str]] = frozenset()
    # Every database the migrations build, each replayed on its own (the main one's layer is
    # `database`); and every SQL migration folder as its tool reads it, drafts included.
    databases: tuple[Database, ...] = ()
    sql_locations: tuple[SqlLocation, ...] = ()
    # The folders of the Alembic environments' env.py (not the workspace root): what else they
    # hold is migration code (data migrations, helpers, snapshots of old models).
    migration_folders: tuple[str, ...] = ()
    # The Python modules that apply the migrations themselves (an app factory calling upgrade()).
    migrating_modules: frozenset[str] = frozenset()
    # What each Python file's code facts and summary were read from: (kind, text digest, module,
    # dialect), by path. The same inputs give the same facts and summary (the parse cache's key).
    code_read_from: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    # Where the query flow keeps its answers for the next run on the same code (flow_answers.py);
    # None without a parse cache.
    flow_answers_file: Optional[Path] = None

    def database_of(self, path: str) -> Optional[Database]:
        """The database whose migrations include the file `path`."""
        return next((d for d in self.databases if path in d.files or any(s.path == path for s in d.steps)), None)


@dataclass(frozen=True, slots=True)
class MigrationHistory:
    """One Alembic environment and its revision graph."""

    environment: AlembicEnvironment
    graph: RevisionGraph
    existing_tables: tuple[str, ...] = ()  # taken from the models at its start (a create_all() bootstrap)
    unknown_tables: tuple[str, ...] = ()  # changed by it, created by none, no longer modelled


class WorkspaceIndex:
    """`cache_dir`: where to keep parse results between runs (None: no disk cache).
    `workers`: processes for a cold index (None: one per CPU; 1: parse in this process)."""

    def __init__(self, root: Path | str, config: Optional[Config] = None, *,
                 cache_dir: Optional[Path] = None, workers: Optional[int] = None) -> None:
        self.root = Path(root).resolve()
        self._explicit_config = config
        self._cache = open_cache(self.root, cache_dir)
        self._workers = workers or os.cpu_count() or 1
        self._pool: Optional[ProcessPoolExecutor] = None  # worker processes while `index_all` runs
        self.config = config or load_config(self.root)
        self._files: dict[str, ParsedFile] = {}
        # path -> (text digest, whether the text creates a table with SQL): see _no_schema_note
        self._creates_tables: dict[str, tuple[str, bool]] = {}
        self._texts: dict[str, str] = {}  # unsaved editor buffers override the disk
        # The disk's texts as last read: rules read the files the index parsed, at that version,
        # on every audit (an edit of one file reads that file again).
        self._disk: dict[str, Optional[str]] = {}
        self._script_locations: list[str] = []  # the version folders of every environment
        self._migration_folders: list[str] = []  # see WorkspaceModel.migration_folders
        self._sql_plan = SqlPlan()
        self._sql_facts: dict[str, tuple[str, SqlFileFacts]] = {}  # path -> (content digest, facts)
        self._environments: list[AlembicEnvironment] = []
        self._paths: list[str] = []  # every file walked, config files included
        self._revision_like: set[str] = set()  # Python files that look like revisions (looks_like_revision)
        self._model_marks: dict[str, bool] = {}  # see _kind
        self._schema_marks: dict[str, bool] = {}  # see _read_itself
        self._package_roots = PackageRoots(())
        self._orm: Optional[OrmBuild] = None
        self._orm_paths: Optional[frozenset[str]] = None  # the files that locations in `_orm` point into
        # what each class's mapping added to `_orm` (sqlalchemy_models.KeptMappings; None: nothing yet)
        self._kept_mappings = None
        self._orm_versions: dict[str, tuple[int, ...]] = {}  # the libraries' pinned versions `_orm` was built with
        self._last_rebuild = _LastRebuild()  # what the revisions gave, while they are the same
        self._replays: dict[str, ReplayRun] = {}  # database name -> its last replay
        # The tables of the last build of the models' layer and of the main database's, by key: a
        # rebuild keeps the objects of the tables it builds equal (see _keep_equal_tables).
        self._built_tables: dict[str, dict[str, Table]] = {"orm": {}, "database": {}}
        self.model: Optional[WorkspaceModel] = None
        # Files whose text does not parse: path -> (the ParsedFile that kept the last good parse,
        # the text that parse was made from, or None when unknown). See stale_sources().
        self._stale: dict[str, tuple[ParsedFile, Optional[str]]] = {}
        # What each Python file edited read to, for its next edit (code_facts.EarlierReads).
        self._earlier_reads: dict[str, code_facts.EarlierReads] = {}
        self._reparser = Reparser()  # the tree of the Python file edited last

    # public API

    def index_all(self, progress: Optional[Progress] = None,
                  schema_first: Optional[Callable[[WorkspaceModel], None]] = None,
                  read: Optional[ReadAhead] = None) -> WorkspaceModel:
        """Discover and parse every file, then build both layers.

        `schema_first(model)`, in a workspace of many Python files: called with a model whose
        `code` raises CodeNotRead, and whose models, migrations and SQL are complete, so that what
        a check finds there without the code stands (the language server publishes it before the
        checks of the code run). With many Python files to parse, it comes from a first pass that
        reads every file but the code facts of Python files (the costly part: queries, lookups,
        writes); else from the full model, the code hidden.

        `read`: the files read ahead (read_ahead.py), taken as they were read instead of reading
        and searching them again; the others are read here."""
        with collector_paused():
            try:
                self._pool = take_early_pool(self._workers)
                model = self._index_all(progress, schema_first, read or ReadAhead(str(self.root)))
            finally:
                if self._pool is not None:
                    self._pool.shutdown()
                    self._pool = None
            # The parse results live as long as the index: keep the collector from rescanning
            # them on every later edit (a full collection over them costs tens of milliseconds),
            # and from scanning them once more as soon as it is enabled again.
            gc.freeze()
        return model

    def _index_all(self, progress: Optional[Progress], schema_first, read: ReadAhead) -> WorkspaceModel:
        """Files whose content is unchanged since the last index (or the disk cache) are not parsed
        again; the rest are parsed in worker processes when there are many."""
        self._disk = dict(read.texts)
        self.config = self._explicit_config or load_config(self.root)
        paths = list(walk_files(self.root, self.config))
        texts = {path: self._read(path) for path in paths}
        self._paths = paths
        self._package_roots = PackageRoots(paths)
        self._revision_like = {path for path, text in texts.items() if path.endswith(".py") and text
                               and _read_as_a_revision(read, path, text)}
        first_part = self._cache.load_first() if self._cache is not None and not self._files else None
        for path, text in texts.items():
            if path.endswith(".sql") and text is not None:
                self._remember_facts(path, text, first_part.sql_facts if first_part else {})
        self._locate_migrations()
        stored = _StoredParses(first_part, self._cache, self._dialect_of, complete=schema_first is None)
        known = dict(stored.entries)
        known.update({(f.path, f.kind, f.digest): f for f in self._files.values()})
        self._model_marks = {**stored.model_marks, **{digest: marks.model for digest, marks in read.marks.items()
                                                      if marks.model is not None}}
        self._schema_marks = {digest: marks.schema for digest, marks in read.marks.items()}
        files: dict[str, ParsedFile] = {}
        pending: list[tuple[str, str, str, str, str]] = []  # (path, kind, digest, text, module)
        for path in paths:
            text = texts[path]
            if text is None:
                continue
            if text is read.texts.get(path):
                digest = read.digests[path]
            else:
                digest = text_digest(text) if path.endswith((".py", ".sql")) else ""
            kind = self._kind(path, text, digest)
            if kind is None:
                continue
            module = self._module(path)
            cached = known.get((path, kind, digest))
            if cached is not None and cached.module == module and cached.dialect == self._dialect_of(path):
                files[path] = cached
            else:
                pending.append((path, kind, digest, text, module))
        self._orm = None
        self._replays = {}
        code_pending = [job for job in pending if job[1] in PYTHON_KINDS]
        two_passes = schema_first is not None and len(code_pending) >= _SCHEMA_FIRST_MINIMUM
        parsed_any = False
        if not two_passes:
            pending = stored.taken(pending, files, texts)
        if two_passes:
            later_scripts = [job for job in pending if _large_script(job)]
            for_the_schema = [job for job in pending if not _large_script(job)]
            first_total = sum(1 for job in for_the_schema if not stored.holds(job))
            unstored = [job for job in code_pending + later_scripts if not stored.holds(job)]
            total = first_total + len(unstored)
            with results_received_promptly():
                with at_most(self._pool, self._workers - 1):  # all but the core this process parses on
                    read_first, handed = self._parse_for_the_schema(for_the_schema, files, progress, total, unstored,
                                                                    stored, helper=self._pool)
                if handed:  # the models read no migration: built while the helper parses those
                    self._files = {path: files[path] for path in paths if path in files}
                    self._build_orm()
                for parsed in self._taken_back(handed):
                    files[parsed.path] = parsed
                    read_first.add(parsed.path)
                    if progress:
                        progress(len(read_first), total)
            self._files = {path: files[path] for path in paths if path in files}
            unread = {job[0]: job[1] for job in pending if job[0] not in read_first}
            first_model = self._rebuild(code_read=False, unread=unread)
            if later_scripts and _needs_the_scripts(first_model):
                for parsed in self._parse_many(stored.taken(later_scripts, files, texts), None, with_code=False):
                    files[parsed.path] = parsed
                read_first.update(job[0] for job in later_scripts)
                later_scripts = []
                self._files = {path: files[path] for path in paths if path in files}
                unread = {job[0]: job[1] for job in pending if job[0] not in read_first}
                first_model = self._rebuild(code_read=False, unread=unread)
            parsed_any = bool(read_first)
            _look_first(schema_first, first_model)
            if any(kind in PYTHON_KINDS for kind in unread.values()):
                self._orm = None  # built again with every module's summary (the kept mappings spare most of it)
            # The summaries come out of the second parse the same: what the models' build kept holds.
            pending = stored.taken(code_pending + later_scripts, files, texts)
            progress = _counted(progress, first_total, first_total + len(pending))
        for parsed in self._parse_many(pending, progress):
            files[parsed.path] = _keeping_summary(files.get(parsed.path), parsed) if two_passes else parsed
        self._files = {path: files[path] for path in paths if path in files}
        if self._cache and (pending or parsed_any):
            self._save_parses()
        model = self._rebuild()
        python_files = sum(1 for parsed in self._files.values() if parsed.kind in PYTHON_KINDS)
        if schema_first is not None and not two_passes and python_files >= _SCHEMA_FIRST_MINIMUM:
            # Parsed already (the parse cache): the checks of the code are still the costly part.
            _look_first(schema_first, code_hidden(model))
        return model

    def _save_parses(self) -> None:
        """Keep the parses on disk (`_StoredParses` reads them): in the first part, every file's
        parse without the code facts of Python files, of the files the first look reads."""
        first_look = self._first_look_paths()
        first, rest, facts, later = {}, {}, {}, {}
        for parsed in self._files.values():
            key = (parsed.path, parsed.kind, parsed.digest)
            if parsed.failed:
                continue
            if parsed.kind == "sql_script" and len(self._read(parsed.path) or "") > _LARGE_SCRIPT_CHARACTERS:
                rest[key] = parsed  # read after the first look (_large_script)
                later[key] = (parsed.module, parsed.dialect)
            elif parsed.kind not in PYTHON_KINDS or parsed.result is None:
                first[key] = parsed
            elif parsed.path in first_look:
                first[key] = replace(parsed, result=replace(parsed.result, facts=None))
                facts[key] = parsed.result.facts
            else:
                rest[key] = parsed
                later[key] = (parsed.module, parsed.dialect)
        digests = {parsed.digest for parsed in self._files.values()}
        walked = set(self._paths)
        self._cache.save(first, rest, facts, later,
                         {digest: mark for digest, mark in self._model_marks.items() if digest in digests},
                         {digest: facts for path, (digest, facts) in self._sql_facts.items() if path in walked})

    def _first_look_paths(self) -> set[str]:
        """The Python files the schema-first look of an index of these files reads, as
        `_parse_for_the_schema` finds them: the ones it reads itself, and the modules they read,
        transitively."""
        modules = {parsed.module: parsed for parsed in self._files.values()
                   if parsed.kind in PYTHON_KINDS and isinstance(parsed.result, PythonModule)}
        if not modules:
            return set()
        closure = python_world.ReadClosure(modules)
        found: set[str] = set()
        for parsed in modules.values():
            if self._read_itself(parsed.kind, self._read(parsed.path) or "", parsed.digest):
                closure.take(parsed.result.summary, read=True)
                found.add(parsed.path)
        while wanted := [module for module in closure.wanted() if module in modules]:
            for module in wanted:
                closure.take(modules[module].result.summary)
                found.add(modules[module].path)
        return found

    def _parse_for_the_schema(self, pending: list, files: dict[str, ParsedFile], progress: Optional[Progress], total: int,
                              second_pass: list[tuple], stored: "_StoredParses",
                              helper: Optional[ProcessPoolExecutor] = None) -> tuple[set[str], list[tuple[list, Optional[Future]]]]:
        """Parse, without their code facts, the files the schema-first look reads: the migrations
        and SQL files, the model modules, the Python files that may apply the migrations or add to
        the models (read_ahead.read_for_the_schema), and the modules whose names these read, transitively
        (a mixin, an enum, a column helper, a constant, a settings module: python_world.ReadClosure).
        The rest of the Python files wait for the second pass, which reads their code. A few
        hundred files are parsed here before worker processes would be up (started with a fresh
        interpreter, they import SchemaLens first: 0.3 s); they start meanwhile, for the second
        pass. `helper`: a pool whose worker is up already (parse_workers.start_early_worker): it
        parses the migrations and SQL files meanwhile, whose results cost a tenth of their parse
        to bring back, and first a share of the first round's modules when the migrations leave
        it time (_lent_to_the_helper; a summary costs a fifth of its parse to bring back).
        Returns the paths parsed, and the work handed to the helper (`_taken_back`). `stored`: a
        file whose parse the rest of the parse cache holds is not one the look reads itself (the
        last look did not, `_save_parses`), which spares searching its text."""
        waiting = {job[4]: job for job in pending if job[1] in PYTHON_KINDS}
        cached = [parsed for parsed in files.values() if parsed.kind in PYTHON_KINDS and parsed.result is not None]
        closure = python_world.ReadClosure([*waiting, *(parsed.module for parsed in cached)])
        jobs = [job for job in pending
                if job[1] not in PYTHON_KINDS or (not stored.holds(job) and self._read_itself(job[1], job[3], job[2]))]
        read_itself = {job[0] for job in jobs}
        for job in jobs:
            waiting.pop(job[4], None)
        for parsed in cached:
            closure.take(parsed.result.summary,
                         read=self._read_itself(parsed.kind, self._read(parsed.path) or "", parsed.digest))
        jobs += [waiting.pop(module) for module in closure.wanted() if module in waiting]
        parsed_paths: set[str] = set()
        handed: list[tuple[list, Optional[Future]]] = []  # (jobs, their parse) given to the helper
        first_round = True
        while jobs:
            here = len(jobs) < _FIRST_PASS_IN_WORKERS
            lent: list[tuple[list, Optional[Future]]] = []  # modules the helper parses too, first (taken back at the round's end)
            if first_round:
                if helper is not None and here:
                    python = [job for job in jobs if job[1] in PYTHON_KINDS]
                    migrations = [job for job in jobs if job[1] not in PYTHON_KINDS]
                    kept_here = len(python) - _lent_to_the_helper(python, migrations)
                    lent = self._hand_over(python[kept_here:], helper)
                    handed = self._hand_over(migrations, helper)
                    jobs = python[:kept_here]
                if here:
                    self._start_workers(second_pass, running=1 if handed or lent else 0)
            parsed_now = self._parse_many(jobs, _counted(progress, len(parsed_paths), total), with_code=False, here=here)
            for parsed in parsed_now + self._taken_back(lent):
                files[parsed.path] = parsed
                parsed_paths.add(parsed.path)
                if isinstance(parsed.result, PythonModule):
                    closure.take(parsed.result.summary, read=parsed.path in read_itself)
            jobs = [waiting.pop(module) for module in closure.wanted() if module in waiting]
            first_round = False
        return parsed_paths, handed

    def _hand_over(self, pending: list[tuple[str, str, str, str, str]], pool: ProcessPoolExecutor
                   ) -> list[tuple[list, Optional[Future]]]:
        """Give `pending` (files without code facts to read) to `pool`'s workers, a few at a time
        (None: the pool could not take them)."""
        jobs = [(*job, self._dialect_of(job[0]), self.config.dialect, False) for job in pending]
        chunks = _chunks(jobs, _HANDED_CHUNK)
        try:
            return [(chunk, pool.submit(parse_in_worker, chunk)) for chunk in chunks]
        except (OSError, RuntimeError) as error:  # a pool that broke: parse them here
            log.info("parsing in this process: %s", error)
            return [(chunk, None) for chunk in chunks]

    @staticmethod
    def _taken_back(handed: list[tuple[list, Optional[Future]]]) -> list[ParsedFile]:
        """What the workers parsed of `handed`. The chunks they have not begun are parsed here
        first (this process is done with its own share), then the others are waited for (a wait
        first would let a worker begin the next chunk, which could then not be parsed here). One
        whose worker failed is parsed here too."""
        results: list[ParsedFile] = []
        for chunk, future in handed:
            if future is None or future.cancel():
                results += parse_jobs(chunk)
        for chunk, future in handed:
            if future is not None and not future.cancelled():
                try:
                    results += pickle.loads(future.result())
                except Exception as error:  # the boundary: a worker that failed (killed, a broken pool)
                    log.info("parsing in this process: %s", error)
                    results += parse_jobs(chunk)
        return results

    def _worth_workers(self, jobs: list[tuple]) -> bool:
        """Whether worker processes parse `jobs` sooner than this process: when what it would
        spend exceeds what the workers' start costs, less the share they take of the parse."""
        if self._workers < 2:
            return False
        here = sum(_SECONDS_PER_FILE + len(job[3]) * _SECONDS_PER_CHARACTER for job in jobs)
        return here * (1 - 1 / self._workers) > _WORKER_START_SECONDS

    def _start_workers(self, jobs: list[tuple], running: int = 0) -> None:
        """Start the worker processes that will parse `jobs`, without waiting for them: all but
        one, which would take the core this process parses the first pass on (polar, 2 cores:
        first look 2.4 -> 2.2 s), and but the `running` ones, busy with the first pass (a process
        more would slow it); the pool starts the rest when the second pass gives it work."""
        if self._worth_workers(jobs):
            try:
                for _worker in range(self._workers - 1 - running):
                    self._workers_pool().submit(os.getpid)  # each submission a pool cannot serve at once starts a process
            except (OSError, RuntimeError) as error:
                log.info("no worker processes: %s", error)

    def _workers_pool(self) -> ProcessPoolExecutor:
        """The pool of both passes of an index (`index_all` shuts it down)."""
        if self._pool is None:
            self._pool = new_pool(self._workers)
        return self._pool

    def _parse_many(self, pending: list[tuple[str, str, str, str, str]], progress: Optional[Progress],
                    with_code: bool = True, here: bool = False) -> list[ParsedFile]:
        """`here`: in this process, whatever their number."""
        jobs = [(*job, self._dialect_of(job[0]), self.config.dialect, with_code) for job in pending]
        results: list[ParsedFile] = []
        if not here and self._worth_workers(jobs):
            try:
                for parsed in self._workers_pool().map(parse_in_worker, _chunks(jobs, _CHUNK)):
                    results += pickle.loads(parsed)
                    if progress:
                        progress(len(results), len(jobs))
                return results
            except (OSError, RuntimeError) as error:  # no multiprocessing here (sandbox, frozen app)
                log.info("parsing in this process: %s", error)
                results = []
        for job in jobs:
            results.append(parse_job(job))
            if progress:
                progress(len(results), len(jobs))
        return results

    def update_file(self, path: str, text: Optional[str] = None) -> WorkspaceModel:
        """Re-index one file: `text` is the editor's buffer, or None to read it from disk."""
        with collector_paused():
            return self._update_file(path, text)

    def _update_file(self, path: str, text: Optional[str]) -> WorkspaceModel:
        path = PurePosixPath(path).as_posix()
        self._disk.pop(path, None)
        buffer_before = self._texts.get(path)
        if text is None:
            self._texts.pop(path, None)
        else:
            self._texts[path] = text
        if self.model is None:
            return self.index_all()
        name = PurePosixPath(path).name
        if name in _CONFIG_FILES:
            return self.index_all()
        content = self._read(path)
        if content is None:
            return self.remove_file(path)
        previous = self._files.get(path)
        if previous is not None and previous.digest == text_digest(content):
            return self.model
        if path.endswith(".sql"):
            self._remember_facts(path, content)
        if self._relocates(path, content, previous is None):
            return self.index_all()
        parsed = self._parse(path, content)
        self._note_stale(path, previous, parsed, buffer_before)
        if parsed is None:
            self._files.pop(path, None)
        else:
            self._files[path] = parsed
        if _summary(previous) != _summary(parsed) and not self._only_moved_outside_the_models(path, previous, parsed):
            self._orm = None
        return self._rebuild()

    def _only_moved_outside_the_models(self, path: str, previous: Optional[ParsedFile], parsed: Optional[ParsedFile]) -> bool:
        """Whether the models' build stays the same after this edit of `path`: nothing the build
        holds is located in the file, and its summary is the same but for positions and for the
        bodies of functions the build never evaluated (a query changed in a service)."""
        if self._orm is None or previous is None or parsed is None or parsed.kind == "model":
            return False  # a file of models: its edits are the models' (not worth comparing)
        before, after = _summary(previous), _summary(parsed)
        if before is None or after is None:
            return False
        evaluated = self._orm.functions_evaluated
        if _positionless(before, evaluated) != _positionless(after, evaluated):
            return False
        if self._orm_paths is None:  # once per build, when an edit first asks
            self._orm_paths = _located_paths(self._orm)
        return path not in self._orm_paths

    def _relocates(self, path: str, content: str, new: bool) -> bool:
        """Whether an edit of `path` moves migration folders or package roots: then the kinds of
        other files change, and everything is indexed again."""
        if new and path not in self._paths:
            self._paths.append(path)
        revision_like = path.endswith(".py") and looks_like_revision(content)
        if not new and revision_like == (path in self._revision_like) and not path.endswith(".sql"):
            return False
        self._revision_like.discard(path)
        if revision_like:
            self._revision_like.add(path)
        before = (list(self._environments), self._sql_plan)
        self._package_roots = PackageRoots(self._paths)
        self._locate_migrations()
        return (list(self._environments), self._sql_plan) != before

    def prepare_file_for_edits(self, path: str) -> bool:
        """Read `path` now as an edit reads it, for an editor that opened it: what edits keep of a
        file (its tree, what each statement and function read to) is then there for the first
        keystroke, which would otherwise read the whole file (redash's models module: that
        edit's update 90-180 ms, the next ones' 40-70). The model does not change: the parse made
        here only fills what the next edit takes back. False, and nothing read, unless `path` is
        a Python file and the index holds the parse of its current text (a text that does not
        parse leaves the last good parse in use: not prepared)."""
        path = PurePosixPath(path).as_posix()
        parsed = self._files.get(path)
        if parsed is None or parsed.kind not in PYTHON_KINDS or parsed.result is None or path in self.stale_sources():
            return False
        text = self._read(path)
        if text is None or text_digest(text) != parsed.digest:
            return False
        with collector_paused():
            parse_job((path, parsed.kind, parsed.digest, text, parsed.module, parsed.dialect, self.config.dialect, True),
                      self._earlier_reads.setdefault(path, code_facts.EarlierReads()), self._reparser)
        return True

    def forget_file_edits(self, path: str) -> None:
        """Drop what edits keep of `path` (an editor closed it): kept for the files open, not
        for every file opened since the start."""
        self._earlier_reads.pop(PurePosixPath(path).as_posix(), None)

    def remove_file(self, path: str) -> WorkspaceModel:
        removed = self._files.pop(path, None)
        self._texts.pop(path, None)
        self._disk.pop(path, None)
        if path in self._paths:
            self._paths.remove(path)
        if _summary(removed) is not None:
            self._orm = None
        return self._rebuild()

    def text_of(self, path: str) -> Optional[str]:
        """A file's text as the index read it: the editor's buffer, else the disk's as last read,
        the version the index parsed (what the rules read; None: there is no such file)."""
        return self._read(path)

    def parsed(self, path: str) -> Optional[ParsedFile]:
        return self._files.get(path)

    def stale_sources(self) -> dict[str, Optional[str]]:
        """Files whose current text does not parse, for which the index keeps using their last
        good parse: path -> the text that parse was made from (None when it is not known). What
        the index reports about such a file is at positions of that text, not of the current one."""
        return {path: text for path, (kept, text) in self._stale.items() if self._files.get(path) is kept}

    def _note_stale(self, path: str, previous: Optional[ParsedFile], parsed: Optional[ParsedFile],
                    buffer_before: Optional[str]) -> None:
        """Remember the text behind a last good parse that _parse kept in use."""
        self._stale = {p: entry for p, entry in self._stale.items() if self._files.get(p) is entry[0]}
        if parsed is None or previous is None or previous.result is None or parsed.result is not previous.result:
            self._stale.pop(path, None)
            return
        if path in self._stale:  # still the same last good parse: its text stays the one known
            self._stale[path] = (parsed, self._stale[path][1])
            return
        good = None
        for text in (buffer_before, _read_disk(self.root / path)):
            if text is not None and text_digest(text) == previous.digest:
                good = text
                break
        self._stale[path] = (parsed, good)

    # parsing

    def _read(self, path: str) -> Optional[str]:
        if path in self._texts:
            return self._texts[path]
        if path not in self._disk:
            self._disk[path] = self._read_disk(path)
        return self._disk[path]

    def _read_disk(self, path: str) -> Optional[str]:
        try:
            with open(os.path.join(self.root, path), encoding="utf-8", errors="replace") as file:  # not pathlib: once per file of a cold index
                return file.read()
        except FileNotFoundError:
            return None  # rules ask for files that may not exist (the alembic.ini nearest a folder)
        except OSError as error:
            log.info("skipping %s: %s", path, error)
            return None

    def _locate_migrations(self) -> None:
        if self.config.migration_roots:
            self._environments = [AlembicEnvironment(folder, (folder,)) for folder in self.config.migration_roots]
        else:
            self._environments = find_environments(self._paths, self._read, self._package_roots.folder_of,
                                                   sorted(self._revision_like))
        self._script_locations = [folder for environment in self._environments for folder in environment.versions]
        self._set_aside_versions = {folder: why for environment in self._environments
                                    for folder, why in environment.set_aside}
        self._migration_folders = _env_folders([*self._script_locations, *self._set_aside_versions], set(self._paths))
        sql_paths = [p for p in self._paths if p.endswith(".sql")]
        self._sql_plan = plan_sql(sql_paths, self._facts_of, sql_roots=tuple(self.config.sql_roots),
                                  workspace_dialect=self.config.dialect)

    def _remember_facts(self, path: str, text: str, stored: Optional[dict] = None) -> None:
        """Keep what the plan needs of a SQL file's text, taken from `stored` (the parse cache's,
        by digest) when it holds it: searching for each engine's markers costs 0.3 ms a file
        (98 SQL migrations: a tenth of a warm `schemalens audit`)."""
        digest = text_digest(text)
        if self._sql_facts.get(path, ("",))[0] != digest:
            known = stored.get(digest) if stored else None
            self._sql_facts[path] = (digest, known if isinstance(known, SqlFileFacts) else file_facts(text))

    def _facts_of(self, path: str) -> SqlFileFacts:
        if path not in self._sql_facts:
            self._remember_facts(path, self._read(path) or "")
        return self._sql_facts[path][1]

    def _dialect_of(self, path: str) -> str:
        """The dialect a file is parsed in: its SQL folder's or its own for SQL, else the workspace's."""
        planned = self._sql_plan.files.get(path)
        return planned[1] if planned is not None else self.config.dialect

    def _module(self, path: str) -> str:
        return self._package_roots.module_name(path) if path.endswith(".py") else ""

    def _kind(self, path: str, text: str, digest: Optional[str] = None) -> Optional[str]:
        """The kind of a file. With `digest` (its text's), whether a Python text reads as a model
        module is taken from the marks of the last index, kept in the parse cache, or made and
        kept for the next: searching every text for the markers took 0.04 s of a warm polar start."""
        if path.endswith(".sql"):
            planned = self._sql_plan.files.get(path)
            return planned[0] if planned is not None else "sql_script"
        if not path.endswith(".py"):
            return None
        if under(path, self._set_aside_versions):
            return "revision_skipped"
        if under(path, self._script_locations):
            return "revision"
        if not is_application_code(path, self.config.non_application_paths):
            return "support"  # tests, scripts, seeds: read for the names they define, not for code paths
        if self.config.model_roots and not under(path, self.config.model_roots):
            return "python"
        if digest is None:
            return "model" if looks_like_model_module(text) else "python"
        if digest not in self._model_marks:
            self._model_marks[digest] = looks_like_model_module(text)
        return "model" if self._model_marks[digest] else "python"

    def _read_itself(self, kind: str, text: str, digest: str) -> bool:
        """Whether the first pass reads this Python file itself (ReadClosure.take's `read`): a
        model module, or one that may add to the models or apply the migrations
        (read_ahead.read_for_the_schema; read ahead, by the text's digest)."""
        if kind == "model":
            return True
        marked = self._schema_marks.get(digest)
        return read_for_the_schema(text) if marked is None else marked

    def _declares_application_tables(self, path: str) -> bool:
        """Not tests, scripts, seeds or fixtures (`non_application_paths`), nor migration code
        beside an env.py (agenta keeps snapshots of its old models there for data migrations)."""
        return is_application_code(path, self.config.non_application_paths) and not under(path, self._migration_folders)

    def _parse(self, path: str, text: Optional[str]) -> Optional[ParsedFile]:
        if text is None:
            return None
        kind = self._kind(path, text)
        if kind is None:
            return None
        digest = text_digest(text)
        module = self._module(path)
        previous = self._files.get(path)
        dialect = self._dialect_of(path)
        if previous is not None and previous.digest == digest and previous.kind == kind and previous.module == module \
                and previous.dialect == dialect:
            return previous
        kept = self._earlier_reads.setdefault(path, code_facts.EarlierReads()) if kind in PYTHON_KINDS else None
        parsed = parse_job((path, kind, digest, text, module, dialect, self.config.dialect, True), kept,
                           self._reparser)
        unreadable = parsed.result is None or any(e.message.startswith("syntax error") for e in parsed.errors)
        if unreadable and previous is not None and previous.kind == kind and previous.result is not None:
            # A half-typed line: keep the last good parse of this file in use, and show the error.
            return replace(parsed, result=previous.result)
        return parsed

    # building the layers

    def prepare_for_edits(self) -> None:
        """Build now what only edits need, so that the first edit does not wait for it: the
        language server calls this once the index is published."""
        if self._kept_mappings is not None:
            self._kept_mappings.prepare_for_edits()

    def prepare_for_unparsable_text(self) -> None:
        """Import now what reads a Python text this interpreter's grammar rejects
        (python_source.import_rewriter), in a workspace with Python files: the language server
        calls this once the user pauses after the index, before the first half-typed line."""
        if any(parsed.kind in PYTHON_KINDS for parsed in self._files.values()):
            import_rewriter()

    def _rebuild(self, code_read: bool = True, unread: Optional[dict[str, str]] = None) -> WorkspaceModel:
        """`unread`: the files not parsed yet (path -> kind), in the first pass of index_all."""
        self._last_rebuild.next()
        self._build_orm()
        orm_layer, orm_errors = self._orm.layer, self._orm.errors
        self._keep_equal_tables("orm", orm_layer)
        naming_convention, relationships = self._orm.naming_convention, self._orm.relationships
        revisions, helper_errors = self._with_helpers_read(
            [f.result for f in self._files.values() if f.kind == "revision" and f.result is not None])
        graph = self._revision_graph(revisions)
        histories = self._histories(revisions, orm_layer)
        alembic_databases = [[step for history in group for step in _history_steps(history, orm_layer)]
                             for group in _alembic_databases(histories, orm_layer)]
        conditional = frozenset(location for revision in revisions for location in revision.conditional)
        databases = self._databases(alembic_databases, orm_layer, naming_convention, conditional)
        main = next((database for database in databases if database.main), None)
        database_layer = main.layer if main is not None else SchemaLayer("database")
        self._keep_equal_tables("database", database_layer)
        walked = [d for d in databases if d.dialect == self.config.dialect and not d.test_fixture]
        steps = tuple(step for database in walked for step in database.steps)
        sql_migrations = tuple(path for database in walked for path in database.files)
        coverage = self._coverage(orm_layer, database_layer, histories, databases)
        file_errors = tuple(error for f in self._files.values() if f.kind != "sql_draft" for error in f.errors)
        graph_errors = tuple(error for history in histories for error in history.graph.errors)
        replay_errors = tuple(error for database in databases for error in database.errors)
        errors = (*self.config.problems, *file_errors, *helper_errors, *orm_errors, *graph_errors, *replay_errors)
        self.model = WorkspaceModel(
            root=self.root, config=self.config, orm=orm_layer, database=database_layer, revisions=graph,
            sql_migrations=sql_migrations, steps=steps, errors=errors,
            files=_kinds(self._paths, self._files, unread) if unread else {path: parsed.kind for path, parsed in self._files.items()},
            code={path: parsed.result.facts for path, parsed in self._files.items()
                  if parsed.kind in PYTHON_KINDS and parsed.result is not None} if code_read else _CodeNotReadYet(),
            summaries={path: parsed.result.summary for path, parsed in self._files.items()
                       if parsed.kind in PYTHON_KINDS and parsed.result is not None},
            revision_files={revision.path: revision for revision in revisions},
            sql_scans={path: parsed.result.scan for path, parsed in self._files.items()
                       if isinstance(parsed.result, sql_files.SqlExtraction)},
            naming_convention=naming_convention,
            relationships=relationships,
            coverage=coverage,
            histories=histories,
            transformed_columns=self._orm.transformed_columns,
            databases=databases,
            sql_locations=self._sql_plan.locations,
            migration_folders=tuple(self._migration_folders),
            migrating_modules=frozenset(path for path, parsed in self._files.items() if parsed.kind in PYTHON_KINDS
                                        and parsed.result is not None and parsed.result.summary.runs_migrations),
            code_read_from={path: (parsed.kind, parsed.digest, parsed.module, parsed.dialect)
                            for path, parsed in self._files.items() if parsed.kind in PYTHON_KINDS and parsed.result is not None}
            if code_read else _CodeNotReadYet(),
            flow_answers_file=self._cache.flow_answers_path if self._cache is not None else None,
        )
        return self.model

    def _with_helpers_read(self, revisions: list) -> tuple[list, tuple[ExtractionError, ...]]:
        """The revisions with the functions of other modules they call read in place
        (migration_helpers.py), and what was said of those functions. A revision is read again
        only when it or a module that imports `op` changed."""
        if not revisions:
            return [], ()
        helpers = tuple(summary.migration_helpers for parsed in self._files.values()
                        if (summary := _summary(parsed)) is not None and summary.migration_helpers is not None)
        functions: list[migration_helpers.Functions] = []  # made once, when a revision needs it
        source_of = migration_helpers.sources(self._read)

        def read(revision) -> tuple[Any, tuple[ExtractionError, ...]]:
            if not migration_helpers.calls_helpers(revision):
                return revision, ()
            if not functions:
                functions.append(migration_helpers.helper_functions(
                    summary for parsed in self._files.values() if (summary := _summary(parsed)) is not None))
            return migration_helpers.with_helpers_read(revision, functions[0], source_of)
        read_all, errors = [], []
        for revision in revisions:
            with_helpers, said = self._last_rebuild.get("helpers", (revision, *helpers), functools.partial(read, revision))
            read_all.append(with_helpers)
            errors += said
        return read_all, tuple(dict.fromkeys(errors))

    def _build_orm(self) -> None:
        """The models' build, unless built since the last change of a summary or of the pinned
        version of a library the model reader asks for (a lock file changed)."""
        versions = pinned_versions(self.root)
        if self._orm is not None and versions == self._orm_versions:
            return
        self._orm_paths = None
        summaries = [summary for f in self._files.values() if (summary := _summary(f)) is not None]
        if not summaries:  # no Python module: no models to read (nor their reader to import)
            self._orm, self._orm_versions, self._kept_mappings = no_models(), versions, None
            return
        if self._kept_mappings is None or versions != self._orm_versions:
            self._kept_mappings, self._orm_versions = sqlalchemy_models.KeptMappings(), versions
        try:
            self._orm = sqlalchemy_models.build_orm(summaries, self._declares_application_tables, self._kept_mappings,
                                                    versions)
        except Exception as error:  # the boundary: a bug in the model reader must not take the index down
            log.exception("failed to build the models' schema")
            self._kept_mappings = None
            self._orm = OrmBuild(SchemaLayer("orm"), (ExtractionError(Location(summaries[0].path, 1), _(
                "SchemaLens could not build the schema of the models: %(error)s", error=repr(error))),), None, ())

    def _keep_equal_tables(self, name: str, layer: SchemaLayer) -> None:
        """Give `layer` the objects of the last build's tables where they are equal to its own: an
        edit changes a table or two, and the rules that keep what they found per table
        (AuditContext.per_subject) compare the others by identity at once (comparing 900 tables
        again in each of those rules would cost more than it spares)."""
        before = self._built_tables[name]
        for key, table in layer.tables.items():
            kept = before.get(key)
            if kept is not None and kept is not table and kept == table:
                layer.tables[key] = kept
        self._built_tables[name] = dict(layer.tables)

    def _databases(self, alembic_databases: list[list[Step]], orm_layer: SchemaLayer, naming_convention,
                   conditional: frozenset[Location] = frozenset()) -> tuple[Database, ...]:
        """Every database the migrations build, each replayed on its own; the main one marked.
        `alembic_databases`: the steps of each database the Alembic environments build, the one
        SQL folders may extend first. A workspace with no migrations at all takes its SQL scripts
        (a schema dump) as its database. `conditional`: where revisions run operations only as the
        database is at run time (Revision.conditional): their failures on an empty database are
        none of the migrations'."""
        alembic_steps = alembic_databases[0] if alembic_databases else []
        locations = [location for location in self._sql_plan.locations if location.readable and not location.draft]
        alembic_tables = {table_key(op.table, op.schema or step.schema)
                          for step in alembic_steps for op in step.operations if isinstance(op, CreateTable)}
        alembic_tables |= {table.key for step in alembic_steps for op in step.operations
                           if isinstance(op, ExistingTables) for table in op.tables}
        groups = group_locations(locations, self._operations, alembic_tables, bool(alembic_steps), self.config.dialect)
        planned: list[tuple[str, list, list[str], list[Step]]] = []
        for name, members in groups:
            files = merged_files(members)
            steps = list(alembic_steps) if name == ALEMBIC else []
            tool_tables = tool_table_step(members, files, self._operations)
            if tool_tables is not None and name != ALEMBIC:
                steps.append(tool_tables)
            baseline = baseline_step(files, self._operations) if name != ALEMBIC else None
            if baseline is not None:
                steps.append(baseline)
            steps += [Step(path, self._operations(path), _version_label(path)) for path in files if path in self._files]
            if steps:
                planned.append((name, members, files, steps))
        # the databases of the Alembic environments that create tables of the first one's again
        planned += [(f"{ALEMBIC}:{steps[0].path.rpartition('/')[0]}", [], [], steps)
                    for steps in alembic_databases[1:] if steps]
        if not planned:
            # a test's schema files (kinto's tests/core/schema/) build no database the application uses
            scripts = [(path, f) for path, f in sorted(self._files.items()) if f.kind == "sql_script" and f.result is not None
                       and f.dialect in ("", self.config.dialect)
                       and is_application_code(path, self.config.non_application_paths)]
            if scripts:
                planned.append(("", [], [], [Step(path, f.result.operations) for path, f in scripts]))
        others = {name: tuple(steps) for name, _dialect, _files, steps in planned}
        others.update(self._unreplayed_steps())
        replays: dict[str, ReplayRun] = {}
        built = []
        for name, members, files, steps in planned:
            dialect = members[0].dialect if members else self.config.dialect
            run = replay_steps(steps, previous=self._replays.get(name), naming_convention=naming_convention,
                               dialect=dialect)
            replays[name] = run
            problems = explain_failures(name, run.steps, run.step_failures,
                                        {other: other_steps for other, other_steps in others.items() if other != name},
                                        self._read)
            # What a statement SchemaLens does not model explains is its gap, not the workspace's problem;
            # so is what fails after a statement whose changes it does not read, which is said once.
            gaps = {problem.error.location for problem in problems
                    if problem.unmodelled is not None or problem.after_opaque is not None} | conditional
            errors = tuple(error for error in run.errors if error.location not in gaps) + _unread_changes(problems)
            database = Database(name, dialect, tuple(members), tuple(files), run.steps, run.layer, errors, problems,
                                test_fixture=bool(members) and all(m.test_fixture for m in members),
                                alembic=name.partition(":")[0] == ALEMBIC)
            built_from = schema_file_for_new_databases(database, self._read, self._paths) if members else None
            # folders that upgrade the databases a schema file builds: failing from empty is no error of theirs
            built.append(replace(database, errors=(), built_from=built_from) if built_from else database)
        self._replays = replays
        return _with_main(built, orm_layer, self.config.dialect)

    def _operations(self, path: str) -> tuple:
        parsed = self._files.get(path)
        return parsed.result.operations if parsed is not None and parsed.result is not None else ()

    def _unreplayed_steps(self) -> dict[str, tuple[Step, ...]]:
        """The SQL that no database replays, by where it is: draft folders and scripts. A statement
        that misses an object they create says where that object was meant to come from."""
        found: dict[str, list[Step]] = {}
        for path, parsed in sorted(self._files.items()):
            if parsed.kind in ("sql_draft", "sql_script") and parsed.result is not None and parsed.result.operations:
                key = f"{parsed.kind}:{PurePosixPath(path).parent if parsed.kind == 'sql_draft' else path}"
                found.setdefault(key, []).append(Step(path, parsed.result.operations))
        return {key: tuple(steps) for key, steps in found.items()}

    def _revision_graph(self, revisions: list) -> RevisionGraph:
        """The graph of these revisions, kept while the very same parses come again (an edit of
        anything but a revision leaves them all): 1,000 revisions take 5 ms to link."""
        return self._last_rebuild.get("graph", tuple(revisions), lambda: build_revision_graph(revisions))

    def _histories(self, revisions: list, orm_layer: SchemaLayer) -> tuple[MigrationHistory, ...]:
        """Each environment's graph, in the order they are replayed: an environment whose
        revisions reference tables another one creates comes after it."""
        histories = []
        for environment in self._environments:
            graph = self._revision_graph([r for r in revisions if environment.owns(r.path)])
            ordered = [graph.by_id[rid] for rid in graph.order]
            others = frozenset(other.default_schema for other in self._environments
                               if other is not environment and other.default_schema)
            changed_first = self._last_rebuild.get("changed first", (graph, environment.default_schema),
                                                   lambda: _tables_changed_first(ordered, environment.default_schema))
            existing, unknown = _existing_tables(changed_first, environment.default_schema, orm_layer, others)
            histories.append(MigrationHistory(environment, graph, existing, unknown))
        return _replay_order(histories)

    def _no_schema_note(self):
        """What the audit says when it read no schema: its checks assessed none. Python files that
        create tables with SQL of their own (a migration runner of the project: lnbits) are named,
        as what SchemaLens does not read."""
        creating = sorted(path for path, parsed in self._files.items()
                          if parsed.kind in PYTHON_KINDS and is_application_code(path, self.config.non_application_paths)
                          and self._creates_tables_with_sql(path, parsed.digest))
        if not creating:
            return _("no schema read: no SQLAlchemy model, Alembic revision or SQL migration file was found, so no check "
                     "below assessed a schema")
        shown = ", ".join(creating[:3]) + (", ..." if len(creating) > 3 else "")
        return _n("no schema read: %(count)d Python file creates tables with SQL it runs itself (%(paths)s), which "
                  "SchemaLens does not read as migrations; no check below assessed a schema",
                  "no schema read: %(count)d Python files create tables with SQL they run themselves (%(paths)s), which "
                  "SchemaLens does not read as migrations; no check below assessed a schema", len(creating),
                  paths=shown)

    def _creates_tables_with_sql(self, path: str, digest: str) -> bool:
        """Whether the file's text holds a CREATE TABLE, searched once per text: every rebuild of a
        workspace without a schema asks (lnbits: 55 ms over its 174 files)."""
        known = self._creates_tables.get(path)
        if known is None or known[0] != digest:
            known = self._creates_tables[path] = (digest, bool(_CREATE_TABLE.search(self.text_of(path) or "")))
        return known[1]

    def _coverage(self, orm_layer: SchemaLayer, database_layer: SchemaLayer, histories, databases) -> Coverage:
        revisions = {history.environment.name: len(history.graph.by_id) for history in histories}
        notes = []
        for history in histories:
            environment = history.environment
            if environment.default_schema:
                notes.append(_("migrations %(environment)s: unqualified names are in schema %(schema)s (its env.py sets "
                               "the search path)", environment=environment.name, schema=environment.default_schema))
            elif environment.per_run_schema:
                notes.append(_("migrations %(environment)s: run once per schema (its env.py sets the search path per "
                               "run); read with unqualified names", environment=environment.name))
            if history.existing_tables:
                notes.append(_("migrations %(environment)s: the history starts on an existing schema (its revisions "
                               "change tables that none of them creates: a create_all() and stamp bootstrap); "
                               "%(count)d model table(s) are taken as there at its start", environment=environment.name,
                               count=len(history.existing_tables)))
        for database in databases:
            if database.built_from is not None:
                notes.append(_("migration set %(folder)s: upgrades the databases %(schema)s builds; not replayed from an "
                               "empty database, its failures there not reported", folder=database.name or ".",
                               schema=database.built_from))
            baseline = upgrade_baseline(database.steps)
            if baseline is not None:
                folder, version, count = baseline
                notes.append(_("migration set %(folder)s: its upgrade scripts start from schema version %(version)s, which "
                               "the workspace does not hold; %(count)s table(s) they change are taken as there, their "
                               "columns not known", folder=folder, version=version, count=count))
        sql = sql_coverage(self._files, self._sql_plan, databases)
        if not orm_layer.tables and not database_layer.tables and not histories and not sql.sets:
            notes.append(self._no_schema_note())
        skipped: dict[str, list[str]] = {}
        for path, parsed in self._files.items():
            if parsed.kind == "revision_skipped":
                why = next(why for folder, why in self._set_aside_versions.items() if under(path, [folder]))
                skipped.setdefault(why, []).append(path)
        return Coverage(
            other_orm_models=other_orm_models(parsed.result.summary for parsed in self._files.values()
                                              if parsed.kind in PYTHON_KINDS and parsed.result is not None),
            revisions_skipped=tuple((why, len(paths), tuple(sorted(paths)[:3])) for why, paths in sorted(skipped.items())),
            model_classes=self._orm.model_classes, unrecognized_models=self._orm.unrecognized,
            kept_out_tables=self._orm.kept_out, library_bases=self._orm.library_bases,
            library_tables=self._orm.library_tables, library_named=self._orm.library_named, revisions=revisions,
            sql_files=sql.files, sql_skipped=sql.skipped, migration_sets=sql.sets, sql_statements=sql.statements,
            orm_tables=len(orm_layer.tables), database_tables=len(database_layer.tables),
            tables_in_both=tables_in_both(orm_layer, database_layer), notes=tuple(notes))


_CREATE_TABLE = LazyPattern(r"\bCREATE\s+(?:UNLOGGED\s+)?TABLE\b", re.IGNORECASE)


class _LastRebuild:
    """Values a rebuild computed from objects an edit may leave as they are (the parses of
    unchanged revisions), for the next rebuild while those are the very same objects. An entry
    holds them, so that their ids stay theirs."""

    def __init__(self) -> None:
        self._last: dict[tuple, tuple] = {}
        self._now: dict[tuple, tuple] = {}

    def next(self) -> None:
        """A rebuild begins: what the last one computed is kept while this one asks for it."""
        self._last, self._now = self._now, {}

    def get(self, what: str, objects: tuple, compute: Callable[[], Any]) -> Any:
        key = (what, *map(id, objects))
        entry = self._now.get(key) or self._last.get(key) or (objects, compute())
        self._now[key] = entry
        return entry[1]




def _kinds(paths: list[str], files: dict[str, ParsedFile], unread: dict[str, str]) -> dict[str, str]:
    """path -> kind of every file, parsed or not yet, in walk order."""
    return {path: files[path].kind if path in files else unread[path] for path in paths if path in files or path in unread}


class _StoredParses:
    """The parse cache as an index reads it. At once, the first part: every file but Python ones
    whole, and of the Python files the schema-first look read last time, their summaries (their
    code facts are in the rest). The rest, the other Python files and those code facts, only
    when asked (`taken`): that is after the first look, which then comes sooner (polar, warm:
    0.37 s of loading before it, 0.13 s now). `complete`: take the rest at once."""

    def __init__(self, first: Optional[FirstPart], cache: Optional[ParseCache], dialect_of: Callable[[str], str],
                 complete: bool) -> None:
        self._cache = cache
        self._dialect_of = dialect_of
        self.entries: dict[tuple[str, str, str], ParsedFile] = dict(first.entries) if first else {}
        self.model_marks: dict[str, bool] = first.model_marks if first else {}
        self._later: dict[tuple[str, str, str], tuple[str, str]] = first.later if first else {}
        self._token = first.token if first else ""
        self._rest: Optional[dict] = None  # loaded: its entries
        self._facts: dict = {}  # loaded: the code facts of the first part's Python files
        if complete:
            self._load_rest()
            self.entries = {key: self._with_facts(key, parsed) for key, parsed in self.entries.items()}
            self.entries.update(self._rest)

    def holds(self, job: tuple[str, str, str, str, str]) -> bool:
        """Whether the rest holds the parse of a file to parse (path, kind, digest, text, module),
        made as the index would make it now (the same module name, the same SQL dialect)."""
        return self._later.get(job[:3]) == (job[4], self._dialect_of(job[0]))

    def taken(self, jobs: list[tuple[str, str, str, str, str]], files: dict[str, ParsedFile],
              texts: dict[str, Optional[str]]) -> list[tuple[str, str, str, str, str]]:
        """Put in `files` what the rest holds of `jobs` (keeping the summary of a file the first
        look read: `_keeping_summary`), and the code facts of the files taken from the first part;
        returns what is left to parse: `jobs` it does not hold, and first-part files whose code
        facts it lacks (a rest part lost)."""
        if self._rest is None:
            self._load_rest()
        left = []
        for job in jobs:
            parsed = self._rest.get(job[:3]) if self.holds(job) else None
            if parsed is not None:
                files[job[0]] = _keeping_summary(files.get(job[0]), parsed)
            else:
                left.append(job)
        asked = {job[0] for job in jobs}
        for path, parsed in list(files.items()):
            key = (path, parsed.kind, parsed.digest)
            if path in asked or key not in self.entries or parsed is not self.entries[key] \
                    or not isinstance(parsed.result, PythonModule) or parsed.result.facts is not None:
                continue
            with_facts = self._with_facts(key, parsed)
            if with_facts is not parsed:
                files[path] = with_facts
            else:
                left.append((path, parsed.kind, parsed.digest, texts.get(path) or "", parsed.module))
        return left

    def _load_rest(self) -> None:
        stored = self._cache.load_rest(self._token) if self._cache is not None and self._token else None
        self._rest, self._facts = stored if stored is not None else ({}, {})

    def _with_facts(self, key: tuple[str, str, str], parsed: ParsedFile) -> ParsedFile:
        facts = self._facts.get(key)
        if facts is None or not isinstance(parsed.result, PythonModule):
            return parsed
        return replace(parsed, result=replace(parsed.result, facts=facts))


def _keeping_summary(first: Optional[ParsedFile], parsed: ParsedFile) -> ParsedFile:
    """`parsed`, with its code facts, holding the summary object of the first pass's parse of the
    same text (index_all): the models' build taken from the first pass, and the index of the names
    each module reads (prepare_for_edits), know summaries by identity. With new objects, the first
    edit after the index would map every class again (0.8 s on 500 models)."""
    if first is None or first.result is None or parsed.result is None or (first.digest, first.module, first.kind) \
            != (parsed.digest, parsed.module, parsed.kind):
        return parsed
    return replace(parsed, result=replace(parsed.result, summary=first.result.summary))


# From this many Python files to parse, a first pass without their code facts is worth its cost
# (each of them is parsed twice): the schema's findings come seconds before the rest.
_SCHEMA_FIRST_MINIMUM = 200
# From this many files to parse without their code facts (in one round of the first pass), worker
# processes parse them sooner than this process, their start included (CTFd's 320 files: 0.36 s here, 0.48 s
# on two workers; polar's 1,800: 2.1 s here, 1.3 s on two).
_FIRST_PASS_IN_WORKERS = 500
# Files in each piece of work given to a worker in the second pass.
_CHUNK = 16
# Files in each piece of work handed to a worker in the first pass: small enough that this
# process, done with its own share, takes back a good part of what the worker has not begun.
_HANDED_CHUNK = 8
# The first round's balance between this process and the helper (_lent_to_the_helper), measured
# on polar and dispatch: a migration's parse, 0.42-0.58 s per MB of text against 0.24-0.27 for
# a module's summary; what follows the round before the migrations are taken back (polar: 0.05 s
# of later rounds and 0.05 s of models' build after a round of 0.18 s); loading a summary, 0.045
# s for 174 made in 0.24 s. Polar's helper then takes a quarter of the round's modules.
_MIGRATION_COST = 2.0
_AFTER_THE_ROUND = 0.5
_TAKING_BACK = 0.2


def _chunks(jobs: list, size: int) -> list[list]:
    """`jobs` in pieces of `size`, in order: what a worker is given at a time."""
    return [jobs[start:start + size] for start in range(0, len(jobs), size)]


def _positionless(summary: module_summary.ModuleSummary, evaluated: frozenset[str]) -> bytes:
    """A summary as the models' build reads it, without its locations, as bytes: of a function
    the build did not evaluate, its name only."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: which equal objects happen to be one object must not change the bytes
    pickler.dispatch_table = {
        Location: lambda location: (tuple, ()),
        module_summary.FunctionSummary: lambda function: (tuple, (
            tuple(getattr(function, field) for field in function.__slots__) if function.qualified in evaluated
            else (function.qualified,),)),
    }
    pickler.dump(summary)
    return buffer.getvalue()


def _located_paths(built: OrmBuild) -> frozenset[str]:
    """The files of every location the models' build holds (tables, columns, errors, ...)."""
    paths: set[str] = set()

    def recorded(location: Location):
        paths.add(location.path)
        return (tuple, ())
    pickler = pickle.Pickler(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {Location: recorded}
    pickler.dump(built)
    return frozenset(paths)


def _read_as_a_revision(read: ReadAhead, path: str, text: str) -> bool:
    """looks_like_revision, as the read-ahead marked the text it read (polar: 9 ms of searching)."""
    marks = read.marks.get(read.digests.get(path, ""))
    return marks.revision if marks is not None else looks_like_revision(text)


# A SQL script longer than this (a seed file, a data dump: 0.15 s of parse and more) is read after
# the first look, unless that look needs it (_needs_the_scripts). A 20 MB seed file in CTFd held
# the first diagnostics of a model file for 27 s.
_LARGE_SCRIPT_CHARACTERS = 256 * 1024


def _large_script(job: tuple) -> bool:
    return job[1] == "sql_script" and len(job[3]) > _LARGE_SCRIPT_CHARACTERS


def _needs_the_scripts(model: WorkspaceModel) -> bool:
    """Whether the first look must read the scripts left for later: when no migration builds a
    database (the scripts, a schema dump, are its database), or when a replay failed (a script
    may be where the missing object is made, which the failure's explanation says: SL570). A
    script is read by no other part of the first look than these (its statements are no step of
    a database that migrations build)."""
    databases = model.databases
    return not any(database.alembic or database.locations for database in databases) \
        or any(database.problems for database in databases)


def _lent_to_the_helper(python: list[tuple], migrations: list[tuple]) -> int:
    """How many of the first round's Python modules (the last ones) the helper parses besides
    the migrations, so that it ends them when this process needs them. This process parses the
    rest of the round, then the closure's later rounds and the models' build, about half the
    round again, before it takes the migrations back. By their texts' sizes: a migration's parse
    costs twice a module's summary per character (_MIGRATION_COST), a summary brought back a
    fifth of making it (_TAKING_BACK)."""
    helper = _MIGRATION_COST * sum(len(job[3]) for job in migrations)
    here = (1 + _AFTER_THE_ROUND) * sum(len(job[3]) for job in python)
    lent = 0
    for job in reversed(python):
        size = len(job[3])
        if helper + size > here - size * (1 - _TAKING_BACK):
            break
        helper, here, lent = helper + size, here - size * (1 - _TAKING_BACK), lent + 1
    return lent


def _look_first(schema_first: Callable[[WorkspaceModel], None], model: WorkspaceModel) -> None:
    try:
        schema_first(model)
    except Exception:  # the boundary: the full index must not depend on the first look
        log.exception("the schema-first look failed")


def _counted(progress: Optional[Progress], before: int, total: int) -> Optional[Progress]:
    """`progress` for one pass of a two-pass parse: counted from `before`, out of `total`."""
    if progress is None:
        return None
    return lambda done, _pass_total: progress(before + done, total)


def _env_folders(version_folders: list[str], paths: set[str]) -> list[str]:
    """The folders holding the env.py of each version folder (its parent, or the parent's parent
    for a history per engine), read or set aside, except the workspace root."""
    found = []
    for folder in version_folders:
        for parent in list(PurePosixPath(folder).parents)[:2]:
            if str(parent) not in ("", ".") and f"{parent}/env.py" in paths:
                found.append(str(parent))
                break
    return sorted(set(found))


def _unread_changes(problems) -> tuple[ExtractionError, ...]:
    """One note at each statement whose changes SchemaLens does not read (CALL of a procedure, SQL
    built at run time) that later statements of its file fail after, in the replay from empty
    (authelia: CALL PROC_DROP_FOREIGN_KEY(...) drops the keys that the next statements add again)."""
    after = Counter(problem.after_opaque for problem in problems
                    if problem.unmodelled is None and problem.after_opaque is not None)
    return tuple(ExtractionError(location, _n(
        "what this statement changes is not read: %(count)d later statement of this file fails when the migrations are "
        "replayed from empty, which may follow from it, and is not reported",
        "what this statement changes is not read: %(count)d later statements of this file fail when the migrations are "
        "replayed from empty, which may follow from it, and are not reported", count), kind="opaque")
        for location, count in after.items())


def _summary(parsed: Optional[ParsedFile]) -> Optional[module_summary.ModuleSummary]:
    """The module summary of a parsed Python file, else None."""
    if parsed is None or parsed.kind not in PYTHON_KINDS or parsed.result is None:
        return None
    return parsed.result.summary


def _read_disk(file: Path) -> Optional[str]:
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None



def _version_label(path: str) -> str:
    """A SQL migration's version as its tool names it: the file's stem, or its folder's name when
    every version is a folder (Prisma `<timestamp>_x/migration.sql`, Diesel `.../up.sql`)."""
    pure = PurePosixPath(path)
    return pure.parent.name if pure.name.lower() in PER_FOLDER_FILES else pure.stem


def _with_main(databases: list[Database], orm_layer: SchemaLayer, dialect: str) -> tuple[Database, ...]:
    """The databases with the main one marked: the Alembic one, else the one whose tables the
    models map, else the largest of the workspace's dialect (test fixtures last)."""
    if not databases:
        return ()
    candidates = [d for d in databases if not d.test_fixture and d.dialect == dialect] or \
        [d for d in databases if not d.test_fixture] or databases
    main = next((d for d in candidates if d.alembic), None)
    if main is None:
        modelled = set(orm_layer.tables)
        main = max(candidates, key=lambda d: (len(modelled & set(d.layer.tables)), len(d.layer.tables), -candidates.index(d)))
    return tuple(replace(d, main=True) if d is main else d for d in databases)


def _history_steps(history: MigrationHistory, orm_layer: SchemaLayer) -> list[Step]:
    graph, environment = history.graph, history.environment
    revisions = [graph.by_id[rid] for rid in graph.order]
    steps = [Step(r.path, r.upgrade, r.id, schema=environment.default_schema) for r in revisions]
    if (history.existing_tables or history.unknown_tables) and revisions:
        seeded = tuple(orm_layer.tables[key] for key in history.existing_tables)
        start = Location(revisions[0].path, revisions[0].location.line)
        steps.insert(0, Step(revisions[0].path, (ExistingTables(seeded, start, history.unknown_tables),), None,
                             schema=environment.default_schema))
    return steps


def _existing_tables(changed_first: tuple[frozenset[str], tuple[str, ...]], default_schema: Optional[str],
                     orm_layer: SchemaLayer, other_schemas: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(model tables, other tables) the history takes as given. A history whose revisions change
    tables that none of them creates (`changed_first`: see _tables_changed_first) started on a
    schema built another way (`create_all()`, then `alembic stamp`): then every model table it
    does not create was there (those of its schema when its env.py sets one; else those of any
    schema but the ones other environments set: indico keeps its tables in a dozen schemas), and
    the tables it changes that the models no longer declare were there too."""
    created, never_created = changed_first
    if not any(key in orm_layer.tables for key in never_created):
        return (), ()
    def ours(table) -> bool:
        schema = table.schema or None
        return schema == default_schema if default_schema else schema not in other_schemas
    models = tuple(key for key, table in orm_layer.tables.items() if ours(table) and key not in created)
    return models, tuple(key for key in never_created if key not in orm_layer.tables)


def _tables_changed_first(revisions: list, default_schema: Optional[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    """(the tables the revisions create, those they change before any creates them)."""
    created: set[str] = set()
    changed_first: dict[str, None] = {}
    for revision in revisions:
        for operation in revision.upgrade:
            table = getattr(operation, "table", None)
            if not isinstance(table, str):
                continue
            key = table_key(table, getattr(operation, "schema", None) or default_schema)
            if isinstance(operation, CreateTable):
                created.add(key)
            elif key not in created:
                changed_first.setdefault(key)
            if isinstance(operation, RenameTable):  # onyx: search_settings is embedding_model renamed
                created.add(table_key(operation.new_name, operation.schema or default_schema))
    return frozenset(created), tuple(key for key in changed_first if key not in created)


def _alembic_databases(histories: tuple[MigrationHistory, ...], orm_layer: SchemaLayer) -> list[tuple[MigrationHistory, ...]]:
    """The histories of each database the Alembic environments build, each in replay order.
    Environments build one database, but one that creates a table another also creates builds
    a database of its own (nova's `main` and `api` databases, each with its `quotas`): it joins
    the database whose tables it references, else any database it creates nothing of again,
    else it starts one. The database with the most tables the models map comes first."""
    if len(histories) < 2:
        return [tuple(histories)] if histories else []
    creates = {id(h): _created_tables(h) for h in histories}
    references = {id(h): _referenced_by(h) for h in histories}
    groups: list[list[MigrationHistory]] = []
    for history in histories:
        created = creates[id(history)]
        open_groups = [g for g in groups if not any(created & creates[id(other)] for other in g)]
        referenced = [g for g in open_groups if any(references[id(history)] & creates[id(other)] for other in g)]
        group = next(iter(referenced or open_groups), None)
        if group is None:
            groups.append([history])
        else:
            group.append(history)
    modelled = set(orm_layer.tables)
    groups.sort(key=lambda g: -len(modelled & set().union(*(creates[id(h)] for h in g))))
    return [tuple(group) for group in groups]


def _created_tables(history: MigrationHistory) -> set[str]:
    return {table_key(op.table, op.schema or history.environment.default_schema)
            for r in history.graph.by_id.values() for op in r.upgrade if isinstance(op, CreateTable)}


def _referenced_by(history: MigrationHistory) -> set[str]:
    return {key for r in history.graph.by_id.values() for op in r.upgrade
            for key in _referenced_tables(op, history.environment.default_schema)}


def _replay_order(histories: list[MigrationHistory]) -> tuple[MigrationHistory, ...]:
    """Environments whose revisions reference tables another creates come after it (then by name)."""
    if len(histories) < 2:
        return tuple(histories)
    creates = {id(h): _created_tables(h) for h in histories}
    references = {id(h): _referenced_by(h) for h in histories}
    remaining = sorted(histories, key=lambda h: h.environment.name)
    ordered: list[MigrationHistory] = []
    while remaining:
        ready = next((h for h in remaining if not any(references[id(h)] & creates[id(o)] for o in remaining if o is not h)),
                     remaining[0])
        ordered.append(ready)
        remaining.remove(ready)
    return tuple(ordered)


def _referenced_tables(operation, default_schema: Optional[str]) -> list[str]:
    """The tables an operation needs to exist: the one it changes and those its foreign keys reference."""
    keys = [table_key(fk.ref_table, fk.ref_schema or default_schema) for fk in _foreign_keys(operation)]
    table = getattr(operation, "table", None)
    if isinstance(table, str) and not isinstance(operation, CreateTable):
        keys.append(table_key(table, getattr(operation, "schema", None) or default_schema))
    return keys


def _foreign_keys(operation) -> list:
    constraints = list(getattr(operation, "constraints", ()) or ())
    constraint = getattr(operation, "constraint", None)
    if constraint is not None:
        constraints.append(constraint)
    return [c for c in constraints if isinstance(c, ForeignKey)]
