"""The rehearsal: every Alembic revision up, all of them down step by step, and up again, then
the SQL folders file by file, each statement traced. Alembic runs through its command API with
the project's own env.py (project code: only `schemalens verify` runs it); when that env cannot
run without the application, a SchemaLens env runs the same revision files with no app import."""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from unittest import mock
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Optional

from ..extract.alembic_revisions import nearest_alembic_ini
from ..scaffold import disk_reader
from .target import RehearsalDatabase
from .tracer import StatementTracer, TracedStatement

Progress = Callable[[str], None]

_SCHEMALENS_ENV = '''"""SchemaLens rehearsal env: the revision files against the rehearsal database, no app import."""
from alembic import context
from sqlalchemy import create_engine, pool

engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
'''

PHASES = ("upgrade", "downgrade", "upgrade again")


@dataclass
class StepResult:
    """One revision (or SQL file) in one phase."""

    phase: str
    revision: str
    path: Optional[str]
    statements: list[TracedStatement] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # touched table -> rows after the step

    @property
    def error(self) -> Optional[TracedStatement]:
        return next((s for s in self.statements if s.error), None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def duration_ms(self) -> float:
        return sum(s.duration_ms for s in self.statements)


@dataclass
class Rehearsal:
    way: str = ""  # how Alembic ran: the project's env.py or SchemaLens's
    steps: list[StepResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # readable failures outside any statement
    notes: list[str] = field(default_factory=list)


def rehearse(model, database: RehearsalDatabase, progress: Progress) -> Rehearsal:
    rehearsal = Rehearsal()
    paths = {rid: revision.path for rid, revision in model.revisions.by_id.items()}

    def on_step(phase: str, revision: str, statements: list) -> None:
        # Rows are counted once the phase is over: mid-phase the migration's transaction may hold
        # locks that a count from another connection would wait for.
        step = StepResult(phase, revision, paths.get(revision, revision), statements)
        rehearsal.steps.append(step)
        state = "ok" if step.ok else f"FAILED: {step.error.error}"
        progress(f"{phase:13} {revision}  {step.duration_ms:7.1f} ms  {state}")

    tracer = StatementTracer(database.name, database.dsn, on_step)
    tracer.install()
    try:
        if model.revisions.by_id:
            _alembic(model, database, tracer, rehearsal, progress)
        if model.sql_migrations:
            _sql_folders(model, database, tracer, rehearsal, progress)
    finally:
        tracer.remove()
    for step in rehearsal.steps:
        if step.phase == "upgrade":
            step.rows = _rows(database, {t for s in step.statements for t in s.locks})
    return rehearsal


# Alembic

def _alembic(model, database: RehearsalDatabase, tracer: StatementTracer, rehearsal: Rehearsal, progress: Progress) -> None:
    from alembic import command

    versions = str(PurePosixPath(model.revisions.by_id[model.revisions.order[0]].path).parent)
    found = nearest_alembic_ini(versions, disk_reader(model.root))
    ini = model.root / found[0] if found else None
    with tempfile.TemporaryDirectory(prefix="schemalens-env-") as own_env, _database_environment(database.url):
        attempts = []
        if ini is not None:
            attempts.append((f"the project's env.py ({ini.relative_to(model.root)})", _project_config(ini, database.url)))
        attempts.append(("a SchemaLens env (the revision files, no application import)",
                         _own_config(Path(own_env), model.root / versions, database.url)))
        for way, config in attempts:
            rehearsal.way = way
            progress(f"running Alembic with {way}")
            try:
                _phase(tracer, "upgrade", lambda: command.upgrade(config, "heads"))
            except Exception as error:  # noqa: BLE001 - env.py and revisions are project code: anything can fail
                if not tracer.statements and not tracer.pending and way != attempts[-1][0]:
                    rehearsal.notes.append(f"{way} could not run here ({type(error).__name__}: {error}); "
                                           "falling back to the SchemaLens env")
                    continue
                _failed(tracer, rehearsal, "upgrade", model, error)
                return
            break
        for phase, run in (("downgrade", lambda: command.downgrade(config, "base")),
                           ("upgrade again", lambda: command.upgrade(config, "heads"))):
            try:
                _phase(tracer, phase, run)
            except Exception as error:  # noqa: BLE001 - a downgrade is project code too
                _failed(tracer, rehearsal, phase, model, error)
                if phase == "downgrade":
                    rehearsal.notes.append("the downgrade stopped; upgrading again from where it stopped")
                    continue
                return


def _phase(tracer: StatementTracer, phase: str, run: Callable[[], None]) -> None:
    """Runs one Alembic command with every revision in its own transaction (as a rolling deploy
    applies them), whatever env.py asks: a lock is then attributed to the revision that took it."""
    from alembic.runtime.environment import EnvironmentContext

    configure = EnvironmentContext.configure

    def per_revision(self, *args, **kwargs):
        return configure(self, *args, **{**kwargs, "transaction_per_migration": True})

    tracer.phase = phase
    tracer.pending = []
    with mock.patch.object(EnvironmentContext, "configure", per_revision):
        run()


def _failed(tracer: StatementTracer, rehearsal: Rehearsal, phase: str, model, error: Exception) -> None:
    """The revision that was running when Alembic stopped: the first not done in this phase."""
    done = {step.revision for step in rehearsal.steps if step.phase == phase}
    order = list(model.revisions.order)
    remaining = [r for r in (reversed(order) if phase == "downgrade" else order) if r not in done]
    if tracer.pending and remaining:
        tracer.finish_revision(remaining[0])
    else:
        rehearsal.failures.append(f"{phase} stopped{' at ' + remaining[0] if remaining else ''}: "
                                  f"{type(error).__name__}: {error}")


def _project_config(ini: Path, url: str):
    from alembic.config import Config

    config = Config(str(ini))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.cmd_opts = argparse.Namespace(x=[f"url={url}"])  # env.py files read `alembic -x url=...`
    return config


def _own_config(folder: Path, versions: Path, url: str):
    from alembic.config import Config

    (folder / "env.py").write_text(_SCHEMALENS_ENV, encoding="utf-8")
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")  # a versions path with spaces stays one path
    config.set_main_option("version_locations", str(versions))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextlib.contextmanager
def _database_environment(url: str):
    """env.py files often read the URL from the environment: point those at the rehearsal too."""
    names = ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "ALEMBIC_DATABASE_URL")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: url for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# SQL folders

def _sql_folders(model, database: RehearsalDatabase, tracer: StatementTracer, rehearsal: Rehearsal,
                 progress: Progress) -> None:
    """Forward only, file by file in replay order; a file runs in one transaction (as Flyway and
    most tools do) unless it manages transactions itself or builds indexes CONCURRENTLY."""
    import pglast
    from sqlalchemy import create_engine, pool

    engine = create_engine(database.url, poolclass=pool.NullPool)
    tracer.phase = "upgrade"
    progress(f"running {len(model.sql_migrations)} SQL migration file(s)")
    try:
        for path in model.sql_migrations:
            text = (model.root / path).read_text(encoding="utf-8", errors="replace")
            try:
                statements = [s for s in pglast.split(text) if s.strip()]
            except Exception as error:  # noqa: BLE001 - pglast's ParseError: the file cannot run either
                rehearsal.failures.append(f"{path}: cannot be split into statements: {error}")
                break
            own_transactions = any(s.lstrip().upper().startswith(("BEGIN", "COMMIT", "START TRANSACTION")) or
                                   "CONCURRENTLY" in s.upper() for s in statements)
            with engine.connect() as connection:
                if own_transactions:
                    connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                try:
                    with contextlib.nullcontext() if own_transactions else connection.begin():
                        for statement in statements:
                            connection.exec_driver_sql(statement.replace("%", "%%"))
                except Exception:  # noqa: BLE001 - the statement's error is traced; later files would fail on it
                    tracer.finish_revision(path)
                    break
            tracer.finish_revision(path)
    finally:
        engine.dispose()


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
