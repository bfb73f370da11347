"""Parsing one file of a known kind, in the index's process or a worker's: what a parse gives
(`ParsedFile`), and the jobs a worker runs. Light to import beside the index: a worker that parses
only the first pass (migrations, models) does not import the code facts' extractors (the early
worker's imports: 0.06 s less)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Optional

from ..extract import sql_files
from ..extract.python_source import Reparser, parse_python
from ..i18n import _
from ..lazy_module import LazyModule
from ..schema.model import ExtractionError, Location
from .cache import dumps
from .migration_sets import runnable_text, with_stand_ins

if TYPE_CHECKING:
    from ..extract import code_facts

log = logging.getLogger(__name__)

# The readers of Python files, imported with the first one parsed: a workspace of SQL migrations
# alone does not pay their imports (a worker imports them ahead: parse_workers._PARSERS).
_EXTRACT = f"{__package__.rpartition('.')[0]}.extract"
alembic_revisions = LazyModule(f"{_EXTRACT}.alembic_revisions", globals(), "alembic_revisions")
module_summary = LazyModule(f"{_EXTRACT}.module_summary", globals(), "module_summary")

PYTHON_KINDS = ("model", "python", "support")


@dataclass(frozen=True, slots=True)
class PythonModule:
    """What one Python file (not a revision) gives, from one parse: its summary for the models
    layer and name resolution, and its code facts (queries, lookups, writes)."""

    summary: module_summary.ModuleSummary
    # Of code that is not the application's (tests, scripts): its URLs only. None in the first,
    # schema-only pass of a cold index (`index_all`'s `schema_first`).
    facts: Optional[code_facts.CodeFacts]


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """One file's parse result, valid for as long as its content digest is unchanged."""

    path: str
    kind: str  # "model", "python", "support" (tests, scripts), "revision", "revision_skipped" (another engine's);
    # "sql_migration", "sql_script", "sql_draft", "sql_skipped"
    digest: str
    result: Any  # PythonModule, Revision, SqlExtraction, or None when the file cannot be read
    errors: tuple[ExtractionError, ...] = ()
    module: str = ""  # the dotted module name it was parsed as (Python files)
    dialect: str = ""  # the SQL dialect it was parsed in (its folder's for SQL, the workspace's for Python)
    # The parser raised: not kept in the parse cache, so that the next index reads the file again
    # (a failure of the moment, such as a worker's import, must not outlive it).
    failed: bool = False


def parse_jobs(jobs: list[tuple[str, str, str, str, str, str, str, bool]]) -> list[ParsedFile]:
    return [parse_job(job) for job in jobs]


def parse_jobs_in_worker(jobs: list[tuple[str, str, str, str, str, str, str, bool]]) -> bytes:
    """`parse_jobs`, in a worker process: the parsed files pickled as the parse cache pickles
    them (cache.dumps), which this process loads in 40 % of the time the pool's own pickling
    takes (polar's first pass: 0.05 s instead of 0.13 s for 174 summaries)."""
    return dumps(parse_jobs(jobs))


def parse_job(job: tuple[str, str, str, str, str, str, str, bool], kept: Optional[code_facts.EarlierReads] = None,
              reparser: Optional[Reparser] = None) -> ParsedFile:
    """Parse one file of a known kind (runs in worker processes too, so it is a plain function).
    `dialect` is the file's (its SQL folder's, for a migration), `workspace_dialect` the settings';
    without `with_code`, a Python file gives its summary only. `kept`: see code_facts.facts_of;
    `reparser`: the tree of the Python file edited last (python_source.Reparser)."""
    path, kind, digest, text, module, dialect, workspace_dialect, with_code = job
    try:
        result, errors = _parse_kind(kind, path, text, module, dialect, workspace_dialect, with_code, kept, reparser)
    except Exception as error:  # the boundary: a parser bug must not take the index down
        log.exception("failed to parse %s", path)
        return ParsedFile(path, kind, digest, None,
                          (ExtractionError(Location(path, 1), _("SchemaLens could not analyse this file: %(error)s",
                                                                error=repr(error))),), module,
                          dialect, failed=True)
    return ParsedFile(path, kind, digest, result, tuple(errors), module, dialect)


def _parse_kind(kind: str, path: str, text: str, module: str, dialect: str, workspace_dialect: str,
                with_code: bool = True, kept: Optional[code_facts.EarlierReads] = None,
                reparser: Optional[Reparser] = None) -> tuple[Any, tuple[ExtractionError, ...]]:
    if kind in PYTHON_KINDS:
        source, error = reparser.parse(text, path) if reparser is not None and with_code else \
            parse_python(text, path, numbered=with_code)
        if source is None:
            return None, (error,)
        summary = module_summary.summarize_source(source, module, kept.summary if kept is not None else None)
        helpers = alembic_revisions.read_migration_helpers(source, dialect)
        if helpers is not None:
            summary = replace(summary, migration_helpers=helpers)
        if not with_code:
            return PythonModule(summary, None), tuple(summary.errors)
        from ..extract import code_facts  # the code facts: a worker that parses only the first pass never imports them

        facts = code_facts.facts_of(source, dialect, kept) if kind != "support" else code_facts.url_facts_of(source)
        return PythonModule(summary, facts), (*summary.errors, *facts.errors)
    if kind == "revision":
        parse = alembic_revisions.parse_revision(text, path, dialect)
        return parse.revision, tuple(parse.errors)
    if kind == "revision_skipped":  # a history kept for another engine (see alembic_environments)
        return None, ()
    if kind == "sql_skipped":  # another engine SchemaLens does not read, or a down migration
        return sql_files.SqlExtraction((), ()), ()
    # the up section of dbmate, goose, sql-migrate files; Flyway placeholders; a template's named values
    runnable = runnable_text(text) if kind in ("sql_migration", "sql_draft") else with_stand_ins(text)
    extraction = sql_files.parse_sql(runnable, path, dialect=dialect, rejections=dialect == workspace_dialect)
    return replace(extraction, scan=sql_files.scan_sql(text, path, extraction.operations)), tuple(extraction.errors)
