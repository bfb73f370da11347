"""The rehearsal: every Alembic environment's revisions up, all of them down step by step, and
up again; then every SQL migration set (a database the index plans from SQL folders) in a new
database of its own, file by file in its tool's order, each statement traced.

Alembic runs in a child process (`runner.py`) of the interpreter that is to run the project's
code: SchemaLens's own, or the project's with `python=` (`verify --python PATH`), where the
revisions' imports of the application work. It tries the project's own env.py first (project
code: only `schemalens verify` runs it); when that env cannot run here, a SchemaLens env runs the
same revision files with no application import, and the report says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..extract.alembic_revisions import nearest_alembic_ini
from ..i18n import Message, Translator, _, join, translator


from ..scaffold import disk_reader
from ..workspace.package_roots import PackageRoots
from ..extract.sql_dialects import POSTGRESQL, label
from ..workspace.databases import ALEMBIC
from ..workspace.migration_sets import runnable_text
from ..workspace.migration_tools import SqlTransactions, file_in_transaction
from .target import RehearsalDatabase, TargetError
from .tracer import StatementTracer, TracedStatement

ENGLISH = translator("en")

Progress = Callable[[str], None]

PHASES = ("upgrade", "downgrade", "upgrade again")
RUNNER = Path(__file__).resolve().parent / "runner.py"
_SKIPPED_FOLDERS = {".git", ".venv", "venv", "node_modules", "site-packages", "__pycache__", ".tox", ".corpus-cache"}


@dataclass
class StepResult:
    """One revision (or SQL file) in one phase."""

    phase: str
    revision: str
    path: Optional[str]
    statements: list[TracedStatement] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # touched table -> rows after the step
    environment: Optional[str] = None  # the Alembic environment (None for SQL files)
    exception: Optional[dict] = None  # the Python exception that stopped it (runner.exception_json)
    problem: Optional[str] = None  # why it failed, in words, with what to do
    operations: int = 0  # operations its source has for this phase (read statically)
    migration_set: Optional[str] = None  # the SQL migration set of a SQL file (None for revisions)
    line: Optional[int] = None  # a SQL file's failing statement: its first line in the file

    @property
    def error(self) -> Optional[TracedStatement]:
        return next((s for s in self.statements if s.error), None)

    @property
    def ran_nothing(self) -> bool:
        """Its source has operations, and not one statement reached PostgreSQL."""
        return self.operations > 0 and not self.statements and self.exception is None

    @property
    def ok(self) -> bool:
        return self.error is None and self.exception is None and not self.ran_nothing

    @property
    def duration_ms(self) -> float:
        return sum(s.duration_ms for s in self.statements)

    def failure(self) -> str:
        """What failed and what to do, in one paragraph."""
        if self.problem:
            return self.problem
        if self.error is not None:
            refused = _("PostgreSQL refused `%(sql)s`: %(error)s", sql=self.error.sql[:200], error=self.error.error)
            return f"{self.path}:{self.line}: " + refused if self.line is not None else refused
        return _("ran no statement")


@dataclass
class Rehearsal:
    way: str = ""  # how Alembic ran, per environment ("core: the project's env.py ...; tenant: ...")
    steps: list[StepResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # readable failures outside any revision
    notes: list[str] = field(default_factory=list)
    python: Optional[str] = None  # the interpreter that ran the project's code
    ways: dict[str, str] = field(default_factory=dict)  # environment -> how Alembic ran it
    environments: list[str] = field(default_factory=list)  # rehearsed, in order
    revisions: dict[str, int] = field(default_factory=dict)  # environment -> revisions it has
    bootstrapped: list[str] = field(default_factory=list)  # environments set up by create_all() + stamp
    sql_sets: list["SqlSetResult"] = field(default_factory=list)  # every SQL migration set, run or not
    main_rehearsed: bool = True  # False: the main database's migrations did not run in the rehearsal database

    @property
    def ran_anything(self) -> bool:
        return bool(self.steps)


@dataclass
class SqlSetResult:
    """One SQL migration set (one database the index plans from SQL folders), rehearsed from
    empty in a database of its own, or not run and why."""

    name: str  # the set as the index names it (its first folder; "Alembic revisions" for SQL after Alembic)
    dialect: str
    files: tuple[str, ...]  # the files its tool runs, in its order
    database: str = ""  # the PostgreSQL database it ran in ("" when it did not run)
    ran: int = 0  # files that ran to their end
    failed: Optional[str] = None  # path:line of the statement that stopped it
    not_run: str = ""  # why no file ran ("" when it ran)
    seconds: float = 0.0
    transactions: str = ""  # how its tool runs the files (one transaction per file, or none)

    @property
    def ok(self) -> bool:
        """Every file ran to its end: never when none did."""
        return not self.not_run and self.failed is None and 0 < self.ran == len(self.files)

    def line(self, _: Translator = ENGLISH) -> str:
        """One line for the report, in the language of `_`."""
        if self.not_run:
            return _("%(name)s (%(files)d file(s), %(dialect)s): not run: %(reason)s", name=self.name,
                     files=len(self.files), dialect=label(self.dialect), reason=self.not_run)
        state = (_("FAILED at %(place)s, %(later)d later file(s) not run", place=self.failed,
                   later=len(self.files) - self.ran - 1) if self.failed
                 else _("ok") if self.ok else _("ran nothing"))
        return _("%(name)s: %(ran)d of %(files)d file(s) ran in %(seconds).1f s (database %(database)s; %(transactions)s):"
                 " %(state)s", name=self.name, ran=self.ran, files=len(self.files), seconds=self.seconds,
                 database=self.database, transactions=self.transactions, state=state)


def rehearse(model, database: RehearsalDatabase, progress: Progress, python: Optional[str] = None) -> Rehearsal:
    """`python`: the interpreter that runs the project's env.py and revisions (default: this one)."""
    rehearsal = Rehearsal()
    histories = [h for h in getattr(model, "histories", ()) if h.graph.by_id]
    if histories:
        _alembic(model, histories, database, rehearsal, progress, python)
        _never_ran(histories, rehearsal)
    for step in rehearsal.steps:
        if step.phase == "upgrade":
            step.rows = _rows(database, {t for s in step.statements for t in s.locks})
    _sql_sets(model, database, rehearsal, progress, alembic_ran=bool(histories))
    if not rehearsal.ran_anything and not rehearsal.failures:
        rehearsal.failures.append(
            _("nothing ran: SchemaLens found no Alembic revision and no PostgreSQL SQL migration folder to rehearse "
              "(see the migration sets above)") if rehearsal.sql_sets else
            _("nothing ran: SchemaLens found no Alembic revision and no PostgreSQL SQL migration folder to rehearse"))
    return rehearsal


# Alembic, in the child process

def _alembic(model, histories, database: RehearsalDatabase, rehearsal: Rehearsal, progress: Progress,
             python: Optional[str]) -> None:
    interpreter = python or sys.executable
    job = alembic_job(model, histories, database)
    by_id = {}
    for history in histories:
        rehearsal.revisions[history.environment.name] = len(history.graph.by_id)
        for revision in history.graph.by_id.values():
            by_id[(history.environment.name, revision.id)] = revision
    progress(_("running Alembic in %(python)s", python=interpreter) if python else
             _("running Alembic in %(python)s (SchemaLens's own interpreter: give --python for the project's)",
               python=interpreter))
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as stderr:
        process = subprocess.Popen([interpreter, str(RUNNER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=stderr, text=True, encoding="utf-8", errors="replace", cwd=str(model.root))
        process.stdin.write(json.dumps(job))
        process.stdin.close()
        finished = False
        for line in process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            finished |= event["event"] == "done"
            _event(event, rehearsal, by_id, model, python, progress)
        code = process.wait()
        if not finished:
            stderr.seek(0)
            tail = "\n".join(stderr.read().strip().splitlines()[-8:])
            stopped = _("the Alembic runner stopped (exit %(code)s) in %(python)s", code=code, python=interpreter)
            rehearsal.failures.append(stopped + f":\n{tail}" if tail else stopped)


def _never_ran(histories, rehearsal: Rehearsal) -> None:
    """Revisions of an environment that no step ran, where nothing failed to explain it (an env.py
    that found nothing to migrate, a history Alembic did not see): never an OK."""
    for history in histories:
        name = history.environment.name
        if name not in rehearsal.environments or any(not s.ok for s in rehearsal.steps if s.environment == name):
            continue
        phase = "upgrade again" if name in rehearsal.bootstrapped else "upgrade"
        ran = {s.revision for s in rehearsal.steps if s.environment == name and s.phase == phase}
        missing = [rid for rid in history.graph.order if rid not in ran]
        if missing:
            rehearsal.failures.append(_(
                "%(environment)s: %(missing)d of %(count)d revision(s) never ran in the %(phase)s (%(revisions)s) "
                "although nothing failed: %(way)s did not run them (an env.py that migrates only the schemas it finds, "
                "or another database)", environment=name, missing=len(missing), count=len(history.graph.order),
                phase=phase, revisions=", ".join(missing[:5]) + (", ..." if len(missing) > 5 else ""),
                way=rehearsal.ways.get(name) or _("its env")))


def alembic_job(model, histories, database: RehearsalDatabase) -> dict:
    """What runner.py needs: the database, the import roots, and per environment its files,
    its alembic.ini section and, for a create_all() + stamp history, the tables it starts from."""
    root = model.root.resolve()
    read = disk_reader(model.root)
    roots = PackageRoots(_python_files(root))
    import_roots: dict[str, None] = {}
    environments = []
    version_tables: set[tuple] = set()
    for history in histories:
        environment = history.environment
        revisions = [history.graph.by_id[rid] for rid in history.graph.order]
        for revision in revisions:
            import_roots.setdefault(roots.import_root(revision.path))
        found = nearest_alembic_ini(environment.versions[0], read)
        ini = root / found[0] if found else None
        section = environment.name if ini is not None and f"[{environment.name}]" in (found[1] or "") else "alembic"
        schema = environment.default_schema or (_per_run_schema(environment.name) if environment.per_run_schema else None)
        # Two environments in one schema keep their versions apart (CTFd's plugins keep theirs elsewhere).
        version_table = "alembic_version" if (schema, "alembic_version") not in version_tables else \
            "alembic_version_" + "".join(c if c.isalnum() else "_" for c in environment.name.lower())
        version_tables.add((schema, version_table))
        bootstrap = None
        if history.existing_tables:
            tables = [model.orm.tables[key] for key in history.existing_tables if key in model.orm.tables]
            modules = sorted({roots.module_name(table.location.path) for table in tables})
            for table in tables:
                import_roots.setdefault(roots.import_root(table.location.path))
            bootstrap = {"modules": modules, "tables": [[table.schema, table.name] for table in tables]}
        environments.append({
            "name": environment.name,
            "versions": [str(root / folder) for folder in environment.versions],
            "env_path": str(root / environment.env_path) if environment.env_path else None,
            "ini": str(ini) if ini is not None else None,
            "section": section,
            "env_label": (f"{found[0]}" + (f" [{section}]" if section != "alembic" else "")) if found else "",
            "cwd": str(ini.parent if ini is not None else root),
            "schema": schema,
            "version_table": version_table,
            "revisions": {str((root / r.path).resolve()): r.id for r in revisions},
            "bootstrap": bootstrap,
        })
    sys_path = [str(root / folder) if folder != "." else str(root) for folder in import_roots]
    return {"url": database.url.replace("postgresql+psycopg", "postgresql", 1), "database": database.name,
            "sys_path": sys_path, "environments": environments}


def _per_run_schema(name: str) -> str:
    """The schema a per-run (one per tenant) environment is rehearsed in."""
    return "schemalens_" + "".join(c if c.isalnum() else "_" for c in name.lower())


def _python_files(root: Path) -> list[str]:
    """Package markers and project files under `root` (relative), for the import roots."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [s for s in subfolders if s not in _SKIPPED_FOLDERS and not s.startswith(".")]
        relative = Path(folder).relative_to(root).as_posix()
        for name in files:
            if name.endswith(".py") or name in ("pyproject.toml", "setup.py", "setup.cfg"):
                found.append(name if relative == "." else f"{relative}/{name}")
    return found


def _event(event: dict, rehearsal: Rehearsal, by_id: dict, model, python: Optional[str], progress: Progress) -> None:
    kind = event["event"]
    environment = event.get("environment")
    if kind == "started":
        rehearsal.python = f"{python or event['python']} (Python {event['version']}, SQLAlchemy {event['sqlalchemy']}, Alembic {event['alembic']})"
    elif kind == "way":
        rehearsal.ways[environment] = runner_text(event["way"])
        if environment not in rehearsal.environments:
            rehearsal.environments.append(environment)
        rehearsal.way = join("; ", (f"{name}: " + way if len(rehearsal.ways) > 1 else way
                                    for name, way in rehearsal.ways.items()))
        progress(_("%(environment)s: running Alembic with %(way)s", environment=environment, way=rehearsal.ways[environment]))
    elif kind == "fallback":
        reason = fallback_reason(event["exception"], python)
        rehearsal.notes.append(_("%(environment)s: %(way)s could not run here: %(reason)s; the SchemaLens env ran the "
                                 "same revision files instead", environment=environment, way=runner_text(event["way"]),
                                 reason=reason))
    elif kind == "bootstrapped":
        rehearsal.bootstrapped.append(environment)
        rehearsal.notes.append(_("%(environment)s: its history starts on an existing schema, so it was bootstrapped as "
                                 "the project does it: create_all() of the models' %(tables)s table(s), then alembic "
                                 "stamp heads; the upgrade then has nothing to run, the downgrade and the upgrade again "
                                 "run every revision", environment=environment, tables=event["tables"]))
    elif kind in ("step", "failed"):
        revision = event.get("revision")
        known = by_id.get((environment, revision))
        statements = [_statement(s) for s in event["statements"]]
        phase = event["phase"]
        if revision is None:
            revision = "env.py" if phase != "bootstrap" else "create_all()"
        step = StepResult(phase, revision, known.path if known else revision, statements, environment=environment,
                          exception=event.get("exception") if kind == "failed" else None)
        if known is not None and phase in PHASES:
            step.operations = len(known.downgrade if phase == "downgrade" else known.upgrade)
        if kind == "failed":
            step.problem = failure_text(step, python, model)
        rehearsal.steps.append(step)
        progress(f"{phase:13} {revision}  {step.duration_ms:7.1f} ms  " + _step_state(step))
    elif kind == "note":
        rehearsal.notes.append(runner_text(event["text"]))
    elif kind == "fatal":
        rehearsal.failures.append(runner_text(event["text"]))


def runner_text(value) -> str:
    """A text runner.py sent: a catalog id with its parameters (see its `_`), or plain text."""
    return Message(value["msgid"], value["params"]) if isinstance(value, dict) else value


def _statement(data: dict) -> TracedStatement:
    return TracedStatement(data["sql"], data["phase"], duration_ms=data["duration_ms"],
                           locks={table: set(modes) for table, modes in data["locks"].items()},
                           rewritten=tuple(data["rewritten"]), created=tuple(data["created"]),
                           in_transaction=data["in_transaction"], error=data["error"], traced=data.get("traced", True))


def _step_state(step: StepResult) -> str:
    """A progress line's verdict on a step: ok, or FAILED and why."""
    return _("ok") if step.ok else _("FAILED: %(failure)s", failure=step.failure())


def _interpreter_hint(python: Optional[str]) -> str:
    if python:
        return _("install it in %(python)s, the interpreter given with --python", python=python)
    return _("run verify with --python pointing at the project's interpreter (its virtualenv, where the application "
             "imports), e.g. schemalens verify --python .venv/bin/python, or install it in SchemaLens's interpreter "
             "(%(python)s)", python=sys.executable)


def fallback_reason(exception: dict, python: Optional[str]) -> str:
    """Why the project's env.py could not run, in words."""
    message = exception["message"]
    where = f" ({exception['where']})" if exception.get("where") else ""
    if "application context" in message or "current_app" in message:
        return _("its env.py needs the running Flask application (current_app), which only `flask db upgrade` "
                 "provides") + where
    if message.startswith("refusing to run migrations against"):
        return _("its env.py connects to the database its own settings name, not the rehearsal's: %(message)s",
                 message=message)
    if exception.get("missing_module"):
        return _("its env.py imports %(module)s, which this interpreter cannot import%(where)s; %(hint)s",
                 module=exception["missing_module"], where=where, hint=_interpreter_hint(python))
    return f"{exception['type']}: {message}{where}"


def failure_text(step: StepResult, python: Optional[str], model) -> str:
    """The failed revision, the exception, and what to do."""
    exception = step.exception or {}
    if step.revision not in ("env.py", "create_all()"):
        subject = _("%(phase)s of %(path)s", phase=step.phase, path=step.path)
    elif step.revision == "create_all()":
        subject = _("%(environment)s: the create_all() bootstrap", environment=step.environment)
    else:
        subject = f"{step.environment}: env.py"
    if step.error is not None:
        return _("%(subject)s: PostgreSQL refused `%(sql)s`: %(error)s. Fix the revision (or the one before it that left "
                 "the schema this way) and run verify again.", subject=subject, sql=step.error.sql[:200],
                 error=step.error.error)
    raised = f"{exception.get('type')}: {exception.get('message')}"
    text = (_("%(subject)s: %(exception)s at %(where)s.", subject=subject, exception=raised, where=exception["where"])
            if exception.get("where") else _("%(subject)s: %(exception)s.", subject=subject, exception=raised))
    if exception.get("missing_module"):
        module = exception["missing_module"] + (f" ({exception['importer']})" if exception.get("importer") else "")
        return text + " " + _("The import of %(module)s failed in %(python)s: %(hint)s.", module=module,
                              python=python or sys.executable, hint=_interpreter_hint(python))
    return text + " " + _("Fix the code it points at (or give it what it needs to run) and run verify again.")


# SQL migration sets

def _sql_sets(model, database: RehearsalDatabase, rehearsal: Rehearsal, progress: Progress, alembic_ran: bool) -> None:
    """Every migration set the index plans from SQL folders, each from empty in its own database
    (the one that extends the Alembic history in the rehearsal database, after it). Drafts,
    test fixtures and other engines' sets do not run; a set that cannot run is reported as such."""
    planned = {location.folder for d in model.databases for location in d.locations}
    for location in getattr(model, "sql_locations", ()):
        if location.draft and location.files:
            rehearsal.notes.append(_("%(folder)s: not run, %(reason)s (a draft: no migrator reads it)",
                                     folder=location.folder, reason=location.draft_reason))
        elif location.files and location.folder not in planned:
            rehearsal.sql_sets.append(SqlSetResult(location.folder or ".", location.dialect, location.files,
                                                   not_run=_written_for(location.dialect, location.dialect_reason)))
    for planned_set in model.databases:
        if not planned_set.files:
            continue
        if planned_set.test_fixture:
            rehearsal.notes.append(_("%(set)s: not run, a test fixture (its folders are under tests/: it builds a test "
                                     "database, not the application's)", set=planned_set.label))
            continue
        result = SqlSetResult(planned_set.label, planned_set.dialect, planned_set.files)
        rehearsal.sql_sets.append(result)
        if planned_set.dialect != POSTGRESQL:
            result.not_run = _written_for(planned_set.dialect, planned_set.locations[0].dialect_reason)
            rehearsal.main_rehearsed &= not planned_set.main
            progress(_("%(set)s: not run (%(dialect)s)", set=planned_set.label, dialect=label(planned_set.dialect)))
            continue
        if planned_set.name == ALEMBIC:
            if rehearsal.failures or any(not step.ok for step in rehearsal.steps):
                result.not_run = _("it extends the Alembic history's database, whose rehearsal failed first")
                continue
            target = database  # after the Alembic head, in its database
        elif planned_set.main and not alembic_ran:
            target = database
        else:
            try:
                target = database.another(planned_set.name)
            except TargetError as error:
                result.not_run = error.args[0]
                rehearsal.main_rehearsed &= not planned_set.main
                continue
        _sql_set(model, target, result, rehearsal, progress)


def _written_for(dialect: str, reason: str) -> str:
    return _("written for %(dialect)s (%(reason)s); verify runs PostgreSQL only", dialect=label(dialect), reason=reason)


def _sql_set(model, target: RehearsalDatabase, result: SqlSetResult, rehearsal: Rehearsal, progress: Progress) -> None:
    """Runs one set's files in order, the up part of each (what the static reader reads), in a
    transaction when its tool opens one; stops at the first statement PostgreSQL refuses."""
    import psycopg
    from sqlalchemy import create_engine, pool

    root = model.root
    text_of = lambda path: _read(root / path)  # noqa: E731
    transactions = SqlTransactions(model, text_of)
    tools = {}

    def on_step(phase: str, revision: str, statements: list) -> None:
        rehearsal.steps.append(StepResult(phase, revision, revision, statements, migration_set=result.name))

    result.database = target.name
    tracer = StatementTracer(target.name, lambda: psycopg.connect(target.dsn, autocommit=True), on_step)
    tracer.install()
    engine = create_engine(target.url, poolclass=pool.NullPool)
    tracer.phase = "upgrade"
    progress(_("%(set)s: running %(count)d SQL migration file(s) in database %(database)s", set=result.name,
               count=len(result.files), database=target.name))
    started = time.perf_counter()
    try:
        for path in result.files:
            text = text_of(path) or ""
            tool = transactions.tool_of(path)
            tools[tool.tool or _("no tool recognized")] = tool.mode
            in_transaction = file_in_transaction(tool, text)
            line = _run_file(engine, runnable_text(text), in_transaction)
            tracer.finish_revision(path)
            step = rehearsal.steps[-1]
            if line is not None or not step.ok:
                step.line = line
                result.failed = f"{path}:{line}" if line is not None else path
                step.problem = (_("migration set %(set)s: %(place)s: PostgreSQL refused `%(sql)s`: %(error)s. Fix the "
                                  "migration (or an earlier one that left the database this way) and run verify again.",
                                  set=result.name, place=result.failed, sql=step.error.sql[:200], error=step.error.error)
                                if step.error is not None and line is not None else None)
                progress(f"upgrade       {path}  " + _step_state(step))
                break
            result.ran += 1
            progress(f"upgrade       {path}  {step.duration_ms:7.1f} ms  " + _step_state(step))
    finally:
        result.seconds = time.perf_counter() - started
        engine.dispose()
        tracer.remove()
    result.transactions = join("; ", (f"{tool}: " + (_("a transaction per file") if mode == "per-file" else _("no transaction"))
                                      for tool, mode in tools.items()))
    for step in rehearsal.steps:
        if step.migration_set == result.name and step.phase == "upgrade" and not step.rows:
            step.rows = _rows(target, {t for s in step.statements for t in s.locks})


def _run_file(engine, text: str, in_transaction: bool) -> Optional[int]:
    """Runs `text` statement by statement; returns the line of the statement PostgreSQL refused
    (the tracer has its error), else None."""
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as connection:
        if not in_transaction:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        transaction = connection.begin() if in_transaction else None
        for start, statement in _statements(text):
            try:
                connection.exec_driver_sql(statement.replace("%", "%%"))
            except DBAPIError:
                if transaction is not None and transaction.is_active:
                    transaction.rollback()
                return text.count("\n", 0, start) + 1
        if transaction is not None and transaction.is_active:
            transaction.commit()
    return None


def _statements(text: str) -> list[tuple[int, str]]:
    """(offset of its first token, text) of each statement, split as PostgreSQL's parser does;
    by its scanner alone when the file does not parse, so that PostgreSQL reports the error at
    the statement that has it. Where the scanner stops (an unterminated string, quoted name or
    comment), the statement it is in runs to the end of the text."""
    from pglast.parser import ParseError

    from ..extract import pg_tree

    try:
        slices = pg_tree.split(text, with_parser=True)
        return [(piece.start, text[piece]) for piece in slices if text[piece].strip()]
    except ParseError:
        pass
    return [(first, text[first:end]) for _start, end, first in pg_tree.statement_spans(text)
            if first is not None and text[first:end].strip()]


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _rows(database: RehearsalDatabase, tables: set[str], cap: int = 1_000_000) -> dict[str, int]:
    """Rows in the tables a step touched (counted up to `cap`)."""
    if not tables:
        return {}
    import psycopg
    from psycopg import sql

    found = {}
    with psycopg.connect(database.dsn, autocommit=True) as connection:
        for table in sorted(tables):
            try:
                query = sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT {}) AS bounded").format(
                    sql.Identifier(table), sql.Literal(cap))
                found[table] = connection.execute(query).fetchone()[0]
            except psycopg.Error:  # dropped by the step, or in another schema
                continue
    return found
