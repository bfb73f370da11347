"""The Alembic part of a rehearsal, run as a script by the interpreter that is to run the
project's code: SchemaLens's own by default, the project's with `verify --python PATH` (its
virtualenv, where the application and the revisions' imports work).

    python runner.py < job.json        (events, one JSON object a line, on standard output)

Only the standard library, SQLAlchemy, Alembic and a PostgreSQL driver (psycopg or psycopg2)
are needed, in whatever versions the project pins; `tracer.py` beside this file is loaded by
path. Whatever the project's code prints goes to standard error, never into the events.

For each environment (in replay order): a history that starts from `create_all()` + stamp is
bootstrapped that way (the models' MetaData, imported here, then `alembic stamp heads`); then
upgrade to heads, downgrade to base step by step, upgrade again. Every exception stops the
phase and is reported with the revision whose code raised it (found in the traceback), the
statement that was running, and the traceback's last lines.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
# Run as a script, this folder is sys.path[0]: its modules (report, target) must not shadow the project's.
sys.path[:] = [entry for entry in sys.path if entry and Path(entry).resolve() != HERE]

PHASES = ("upgrade", "downgrade", "upgrade again")


def _(msgid: str, **params) -> dict:
    """A text for SchemaLens's catalog, which this script (run by the project's interpreter) cannot
    import: its id and parameters, translated on SchemaLens's side."""
    return {"msgid": msgid, "params": params}

SCHEMALENS_ENV = '''"""SchemaLens rehearsal env: the revision files against the rehearsal database, no app import."""
import inspect

from alembic import context, op
from sqlalchemy import create_engine, pool, text

SCHEMA = {schema!r}
VERSION_TABLE = {version_table!r}


def _pass_op(script):
    # Revisions written for a plugin migrator take `op` as a parameter (CTFd's plugins): pass Alembic's.
    for revision in script.walk_revisions():
        module = revision.module
        for name in ("upgrade", "downgrade"):
            function = getattr(module, name, None)
            if function is not None and "op" in inspect.signature(function).parameters:
                setattr(module, name, lambda _function=function: _function(op=op))


_pass_op(context.script)
engine = create_engine(context.config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    if SCHEMA:
        with connection.begin():
            connection.execute(text('CREATE SCHEMA IF NOT EXISTS "%s"' % SCHEMA))
        connection.execute(text('SET search_path TO "%s", public' % SCHEMA))
    context.configure(connection=connection, transaction_per_migration=True, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()
'''


class Events:
    """The JSON lines the parent reads."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def send(self, kind: str, **fields) -> None:
        self.stream.write(json.dumps({"event": kind, **fields}, default=str) + "\n")
        self.stream.flush()


def _load_tracer():
    spec = importlib.util.spec_from_file_location("_schemalens_tracer", HERE / "tracer.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def driver_url(url: str) -> str:
    """`postgresql://...` with a driver this interpreter has (psycopg, else psycopg2)."""
    for module, driver in (("psycopg", "postgresql+psycopg"), ("psycopg2", "postgresql+psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return driver + url[len("postgresql"):]
    raise SystemExit("no PostgreSQL driver here: install psycopg or psycopg2 in this interpreter")


def _statement_json(statement) -> dict:
    return {"sql": statement.sql, "phase": statement.phase, "duration_ms": statement.duration_ms,
            "locks": {table: sorted(modes) for table, modes in statement.locks.items()},
            "rewritten": list(statement.rewritten), "created": list(statement.created),
            "in_transaction": statement.in_transaction, "error": statement.error, "traced": statement.traced}


def exception_json(error: BaseException, revision_files: dict) -> dict:
    """What the parent needs to say what failed: the revision whose code raised (innermost frame
    in a revision file), the module a failed import named, the traceback's last lines."""
    frames = traceback.extract_tb(error.__traceback__)
    revision = where = None
    for frame in reversed(frames):
        path = str(Path(frame.filename).resolve()) if frame.filename and not frame.filename.startswith("<") else None
        if path in revision_files:
            revision, where = revision_files[path], f"{frame.filename}:{frame.lineno}"
            break
    # The innermost frame of the project's own code (outside importlib, installed packages and this runner).
    project = next((f"{f.filename}:{f.lineno}" for f in reversed(frames)
                    if "importlib" not in f.filename and "-packages" not in f.filename and not f.filename.startswith("<")
                    and Path(f.filename).resolve().parent != HERE), None)
    if where is None:
        where = project or (f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None)
    missing = getattr(error, "name", None) if isinstance(error, ImportError) else None
    importer = project if missing else None
    return {"type": type(error).__name__, "message": str(error).strip()[:2000], "revision": revision, "where": where,
            "missing_module": missing, "importer": importer,
            "traceback": "".join(traceback.format_exception_only(type(error), error)).strip()[:2000],
            "frames": [f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-6:]]}


class Rehearsal:
    def __init__(self, job: dict, events: Events) -> None:
        self.job = job
        self.events = events
        self.url = driver_url(job["url"])
        tracer_module = _load_tracer()
        from sqlalchemy import create_engine, pool

        sample_engine = create_engine(self.url, poolclass=pool.NullPool)

        def sample_connect():
            fairy = sample_engine.raw_connection()
            raw = getattr(fairy, "driver_connection", None) or fairy.connection
            raw.autocommit = True
            return raw

        self.tracer = tracer_module.StatementTracer(job["database"], sample_connect, self._on_revision)
        self.tracer.by_version_row = False  # each revision's function is wrapped: its end is known (_phase)
        self.environment = None
        self.running = None  # the revision whose upgrade() or downgrade() is running

    def _on_revision(self, phase: str, revision: str, statements: list) -> None:
        self.running = None
        if phase == "stamp":
            return  # `alembic stamp` writes the version row only
        self.events.send("step", environment=self.environment["name"], phase=phase, revision=revision,
                         statements=[_statement_json(s) for s in statements])

    def run(self) -> None:
        self.tracer.install()
        try:
            for environment in self.job["environments"]:
                self.environment = environment
                if not self._environment(environment):
                    rest = [e["name"] for e in self.job["environments"][self.job["environments"].index(environment) + 1:]]
                    if rest:
                        self.events.send("note", text=_("not rehearsed after that failure: %(environments)s",
                                                        environments=", ".join(rest)))
                    break
        finally:
            self.tracer.remove()

    # one environment

    def _environment(self, environment: dict) -> bool:
        """Rehearses one environment; False when its upgrade failed (later ones need its tables)."""
        from alembic import command

        revision_files = environment["revisions"]
        attempts = []
        if environment.get("ini") and environment.get("env_path"):
            attempts.append(("project", _("the project's env.py (%(label)s)", label=environment["env_label"])))
        attempts.append(("schemalens", _("a SchemaLens env (the revision files, no application import)")))
        own_env = tempfile.mkdtemp(prefix="schemalens-env-")
        bootstrap = environment.get("bootstrap")
        config = None
        with _working_directory(environment["cwd"]), _database_environment(self.url):
            for kind, way in attempts:
                config = (self._project_config(environment) if kind == "project"
                          else self._own_config(Path(own_env), environment))
                self.events.send("way", environment=environment["name"], way=way)
                try:
                    if bootstrap:
                        self._bootstrap(environment, config)
                    self._phase("upgrade", lambda: command.upgrade(config, "heads"))
                except Exception as error:  # noqa: BLE001 - env.py and revisions are project code: anything can fail
                    details = exception_json(error, revision_files)
                    untouched = (not self.tracer.statements and not self.tracer.pending and details["revision"] is None
                                 and self.running is None)
                    if kind == "project" and untouched:
                        self.events.send("fallback", environment=environment["name"], way=way, exception=details)
                        continue
                    self._failed(self.tracer.phase, details)
                    return False
                break
            for phase, run in (("downgrade", lambda: command.downgrade(config, "base")),
                               ("upgrade again", lambda: command.upgrade(config, "heads"))):
                try:
                    self._phase(phase, run)
                except Exception as error:  # noqa: BLE001 - a downgrade is project code too
                    self._failed(phase, exception_json(error, revision_files))
                    if phase == "downgrade":
                        self.events.send("note", text=_("%(environment)s: the downgrade stopped; upgrading again from "
                                                        "where it stopped", environment=environment["name"]))
                        continue
                    return True
        return True

    def _phase(self, phase: str, run) -> None:
        """Runs one Alembic command with every revision in its own transaction (as a rolling deploy
        applies them), whatever env.py asks: a lock is then attributed to the revision that took it."""
        from alembic.runtime.environment import EnvironmentContext

        configure = EnvironmentContext.configure

        def per_revision(self, *args, **kwargs):
            return configure(self, *args, **{**kwargs, "transaction_per_migration": True})

        from alembic.runtime.migration import RevisionStep

        initialize = RevisionStep.__init__
        rehearsal = self

        def marked(step, *args, **kwargs):
            # The revision's own function starts: what ran before it (Alembic's version-table
            # queries, env.py's setup) is not the revision's, and an exception from here on is.
            initialize(step, *args, **kwargs)
            function, revision = step.migration_fn, step.revision.revision

            @functools.wraps(function)
            def run_revision(*function_args, **function_kwargs):
                rehearsal.tracer.pending = []
                rehearsal.running = revision
                result = function(*function_args, **function_kwargs)
                rehearsal.tracer.finish_revision(revision)
                return result

            step.migration_fn = run_revision

        self.tracer.phase = phase
        self.tracer.pending = []
        self.tracer.statements = []
        self.running = None
        with mock.patch.object(EnvironmentContext, "configure", per_revision), \
                mock.patch.object(RevisionStep, "__init__", marked):
            run()

    def _failed(self, phase: str, details: dict) -> None:
        details["revision"] = details["revision"] or self.running
        statements = [_statement_json(s) for s in self.tracer.pending]
        self.tracer.pending = []
        self.events.send("failed", environment=self.environment["name"], phase=phase, revision=details["revision"],
                         statements=statements, exception=details)

    # bootstrap: what the project's own setup does before its history starts

    def _bootstrap(self, environment: dict, config) -> None:
        """create_all() of the models' tables this history starts from (their MetaData imported
        here, as the project's own setup command does), then `alembic stamp heads`."""
        from alembic import command
        from sqlalchemy import create_engine, pool, text

        bootstrap = environment["bootstrap"]
        self.tracer.phase = "bootstrap"
        self.tracer.pending = []
        for module in bootstrap["modules"]:
            importlib.import_module(module)
        tables = _model_tables(bootstrap["tables"])
        missing = sorted(f"{schema + '.' if schema else ''}{name}" for schema, name in bootstrap["tables"]
                         if (schema, name) not in tables)
        if missing:
            raise LookupError(f"the models imported here do not declare {len(missing)} table(s) the history starts "
                              f"from: {', '.join(missing[:5])}")
        engine = create_engine(self.url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            with connection.begin():
                schema = environment.get("schema")
                if schema:
                    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                    connection.execute(text(f'SET LOCAL search_path TO "{schema}", public'))
                metadata_tables = list(tables.values())
                metadata_tables[0].metadata.create_all(connection, tables=metadata_tables)
        engine.dispose()
        self.tracer.finish_revision("create_all()")
        self.tracer.statements = []  # a failing env.py after this still falls back
        self.tracer.phase = "stamp"
        command.stamp(config, "heads")
        self.events.send("bootstrapped", environment=environment["name"], tables=len(tables))

    # configurations

    def _project_config(self, environment: dict):
        from alembic.config import Config

        config = Config(environment["ini"], ini_section=environment["section"])
        if not config.get_main_option("script_location"):
            # Flask-Migrate's alembic.ini has none: `flask db` passes the folder of env.py.
            config.set_main_option("script_location", str(Path(environment["env_path"]).parent))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.cmd_opts = argparse.Namespace(x=[f"url={self.url}"])  # env.py files read `alembic -x url=...`
        config.attributes["sqlalchemy.url"] = self.url  # and some read it from here (polar's tests)
        return config

    def _own_config(self, folder: Path, environment: dict):
        from alembic.config import Config

        (folder / "env.py").write_text(SCHEMALENS_ENV.format(schema=environment.get("schema"),
                                                                   version_table=environment.get("version_table", "alembic_version")), encoding="utf-8")
        config = Config()
        config.set_main_option("script_location", str(folder))
        config.set_main_option("path_separator", "os")  # a versions path with spaces stays one path
        config.set_main_option("version_path_separator", "os")  # the name before Alembic 1.16
        config.set_main_option("version_locations", os.pathsep.join(environment["versions"]))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config


def _model_tables(wanted: list) -> dict:
    """(schema, name) -> Table of every mapped class and module-level Table imported so far."""
    import gc

    from sqlalchemy import Table

    keys = {(schema or None, name) for schema, name in wanted}
    found = {}
    for candidate in gc.get_objects():
        if isinstance(candidate, Table):
            key = (candidate.schema or None, candidate.name)
            if key in keys:
                found.setdefault(key, candidate)
    return found


@contextlib.contextmanager
def _working_directory(folder: str):
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


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


def main() -> int:
    events = Events(os.fdopen(os.dup(1), "w", encoding="utf-8"))
    os.dup2(2, 1)  # the project's prints go to standard error
    sys.stdout = sys.stderr
    job = json.loads(sys.stdin.read())
    for entry in reversed(job.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        import alembic  # noqa: F401
        import sqlalchemy
    except ImportError as error:
        events.send("fatal", text=_("%(python)s cannot run Alembic: %(error)s", python=sys.executable, error=str(error)))

        return 2
    events.send("started", python=sys.executable, version=sys.version.split()[0], sqlalchemy=sqlalchemy.__version__,
                alembic=alembic.__version__)
    Rehearsal(job, events).run()
    events.send("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
