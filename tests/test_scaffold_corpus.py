"""Scaffolds on a real project's table: redash's `queries` at head, as its own create_all() +
stamp bootstrap builds it (tests/corpus/oracles/redash.database.json: columns, keys, indexes, the
tables it references and the two that reference it), with its real row trigger (the search-vector
trigger sqlalchemy-searchable 1.2.0 creates for it, which writes another column) and, because no
corpus table has an `updated_at` trigger, the common one added. 10,000 rows, a writer running the
old and then the new application's statements; the revisions are written by `scaffold` on the
real redash workspace (its file_template, script.py.mako, revision ids), planned against the
oracle's catalog, and chained after a stub of its head.

Per change: 0 writer errors in every step, 0 rows changed outside the target column, upgrade ->
downgrade -> upgrade, and a re-run after a failure injected at the last statement of each
revision. CI runs it on PostgreSQL 16 (the wheel) and 15 (Debian), as .ci/run does.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

import corpus_projects
from corpus_oracle_compare import load_oracle
from schemalens.analyzers.scaffold import ChangeRequest, scaffold
from schemalens.analyzers.workspace.index import WorkspaceIndex

alembic_command = pytest.importorskip("alembic.command")
from alembic.config import Config  # noqa: E402

ORACLE = Path(__file__).parent / "corpus" / "oracles" / "redash.database.json"
TABLES = ("organizations", "users", "data_sources", "query_results", "queries", "visualizations", "alerts")
SEEDED = 10_000
WRITER_ROWS = 500  # the writer touches rows 1..500 only: the others must come out of every step unchanged
HEAD = "db0aca1ebd32"

# sqlalchemy-searchable 1.2.0 (redash's pin) for queries.search_vector, regconfig pg_catalog.simple.
SEARCH_TRIGGER = """
CREATE FUNCTION queries_search_vector_update() RETURNS TRIGGER AS $$
BEGIN
    NEW.search_vector = ((to_tsvector('pg_catalog.simple', coalesce(CAST(NEW.id AS TEXT), '')) || to_tsvector('pg_catalog.simple', coalesce(NEW.name, ''))) || to_tsvector('pg_catalog.simple', coalesce(NEW.description, ''))) || to_tsvector('pg_catalog.simple', coalesce(NEW.query, ''));
    RETURN NEW;
END
$$ LANGUAGE 'plpgsql';
CREATE TRIGGER queries_search_vector_trigger BEFORE UPDATE OR INSERT ON "queries" FOR EACH ROW EXECUTE PROCEDURE queries_search_vector_update();
"""
# Not in redash (its ORM sets updated_at): the usual trigger that a backfill must not fire for rows it fills.
UPDATED_AT_TRIGGER = """
CREATE FUNCTION queries_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
CREATE TRIGGER queries_set_updated_at BEFORE UPDATE ON queries FOR EACH ROW EXECUTE FUNCTION queries_set_updated_at();
"""
SEED = f"""
INSERT INTO organizations (updated_at, created_at, name, slug, settings) VALUES (now(), now(), 'o', 'o', '{{}}');
INSERT INTO users (updated_at, created_at, org_id, name, email, api_key) VALUES (now(), now(), 1, 'u', 'u@x', 'k');
INSERT INTO data_sources (org_id, name, type, encrypted_options, queue_name, scheduled_queue_name, created_at)
  VALUES (1, 'd', 'pg', '\\x00', 'q', 's', now());
INSERT INTO queries (updated_at, created_at, version, org_id, data_source_id, name, description, query, query_hash,
                     api_key, user_id, is_archived, is_draft, schedule_failures, options)
  SELECT now() - g * interval '1 minute', now(), 1, 1, 1, 'q' || g, CASE WHEN g % 3 = 0 THEN NULL ELSE 'd' || g END,
         'SELECT ' || g, md5(g::text), 'k' || g, 1, false, g % 2 = 0, 0, '{{}}' FROM generate_series(1, {SEEDED}) g;
INSERT INTO visualizations (updated_at, created_at, type, query_id, name, description, options)
  SELECT now(), now(), 'TABLE', g, 'v' || g, '', '{{}}' FROM generate_series(1, {SEEDED}) g;
INSERT INTO alerts (updated_at, created_at, name, query_id, user_id, state, options)
  SELECT now(), now(), 'a' || g, g, 1, 'ok', '{{}}' FROM generate_series(1, 100) g;
ANALYZE;
"""
_INSERT = ("INSERT INTO queries (updated_at, created_at, version, org_id, name, description, query, query_hash, api_key, "
           "user_id, is_archived, is_draft, schedule_failures, options) VALUES (now(), now(), 1, 1, 'w', 'w', 'SELECT 1', "
           "'h', 'k', 1, false, false, 0, '{}')")
_TOUCH = "UPDATE queries SET name = name WHERE id = %(k)s"
_READ = "SELECT id, name, description FROM queries WHERE id = %(k)s"


@dataclass
class Case:
    request: ChangeRequest
    targets: tuple[str, ...]  # the columns the change may write (and their staging columns)
    old_app: tuple[str, ...]
    new_app: tuple[str, ...]
    new_from: int  # the new application is deployed before this phase
    phases: int

    @property
    def id(self) -> str:
        return self.request.change


CASES = [
    Case(ChangeRequest("add-column", "queries", column="source", type="text", backfill="'legacy'"), ("source",),
         (_INSERT, _TOUCH, _READ), (_INSERT.replace("options)", "options, source)").replace("'{}')", "'{}', 'app')"),
                                    _TOUCH, _READ), 1, 3),
    Case(ChangeRequest("set-not-null", "queries", column="description", backfill="''"), ("description",),
         (_INSERT.replace("'w', 'SELECT 1'", "NULL, 'SELECT 1'"), _TOUCH, _READ), (_INSERT, _TOUCH, _READ), 0, 2),
    pytest.param(Case(ChangeRequest("rename-column", "queries", column="description", new_name="summary"), ("description", "summary"),
         (_INSERT, _TOUCH, _READ),
         (_INSERT.replace("description", "summary"), _TOUCH, _READ.replace("description", "summary"),
          "UPDATE queries SET summary = summary WHERE id = %(k)s"), 2, 3), id="rename-column",
        marks=pytest.mark.xfail(strict=True, reason="open: redash's search-vector trigger reads NEW.description; once "
                                "the contract drops description every insert fails (the scaffold cannot see trigger "
                                "bodies and does not refuse yet)")),
    pytest.param(Case(ChangeRequest("change-type", "queries", column="id", type="bigint"), ("id", "id_new"),
         (_INSERT, _TOUCH, _READ, "INSERT INTO visualizations (updated_at, created_at, type, query_id, name, description, "
          "options) VALUES (now(), now(), 'T', %(k)s, 'w', '', '{}')"),
         (_INSERT, _TOUCH, _READ), 3, 3), id="change-type",
        marks=pytest.mark.xfail(strict=True, reason="open: the backfill fails in redash's search-vector trigger "
                                "(plpgsql: type of parameter (integer) does not match that when preparing the plan "
                                "(bigint)) once id_new and the sync trigger exist")),
]


def _ddl(tables: dict) -> list[str]:
    """CREATE statements for the oracle's tables: sequences, tables, keys, indexes, foreign keys."""
    statements, keys = [], []
    for name in TABLES:
        table = tables[name]
        columns = []
        for column in table["columns"]:
            default = column["server_default"]
            if default and default.startswith("nextval("):
                statements.append(f"CREATE SEQUENCE {default.split(chr(39))[1]}")
            columns.append(f'"{column["name"]}" {column["type"]}' + ("" if column["nullable"] else " NOT NULL")
                           + (f" DEFAULT {default}" if default else ""))
        primary = table["primary_key"]
        columns.append(f'CONSTRAINT {primary["name"]} PRIMARY KEY ({", ".join(primary["columns"])})')
        columns += [f'CONSTRAINT {u["name"]} UNIQUE ({", ".join(u["columns"])})' for u in table["unique"]]
        statements.append(f'CREATE TABLE {name} ({", ".join(columns)})')
        statements += [f"ALTER SEQUENCE {c['server_default'].split(chr(39))[1]} OWNED BY {name}.{c['name']}"
                       for c in table["columns"] if (c["server_default"] or "").startswith("nextval(")]
        statements += [f'CREATE {"UNIQUE " if i["unique"] else ""}INDEX {i["name"]} ON {name}'
                       f'{" USING " + i["using"] if i["using"] else ""} ({", ".join(i["columns"])})'
                       for i in table["indexes"] if not any(i["expressions"])]
        keys += [f'ALTER TABLE {name} ADD CONSTRAINT {k["name"]} FOREIGN KEY ({", ".join(k["columns"])}) REFERENCES '
                 f'{k["ref_table"]} ({", ".join(k["ref_columns"])})'
                 + (f' ON DELETE {k["on_delete"]}' if k["on_delete"] not in (None, "NO ACTION") else "")
                 for k in table["foreign_keys"] if k["ref_table"] in TABLES]
    return statements + keys


@pytest.fixture(scope="module")
def redash_model():
    root = corpus_projects.unpacked("redash")
    if root is None:
        pytest.skip(f"the corpus is not at {corpus_projects.CORPUS}")
    return WorkspaceIndex(root).index_all()


@pytest.fixture
def database(postgres, tmp_path):
    tables = {t["name"]: t for t in json.loads(ORACLE.read_text())["layers"]["database"]["tables"]}
    dsn = postgres.fresh_database("redash")
    with psycopg.connect(dsn, autocommit=True) as connection:
        for statement in _ddl(tables):
            connection.execute(statement)
        connection.execute(SEARCH_TRIGGER)
        connection.execute(UPDATED_AT_TRIGGER)
        connection.execute(SEED)
    project = tmp_path / "alembic"
    (project / "versions").mkdir(parents=True)
    (project / "env.py").write_text(
        "from alembic import context\nfrom sqlalchemy import create_engine, pool\n\n"
        "engine = create_engine(context.config.get_main_option('sqlalchemy.url'), poolclass=pool.NullPool)\n"
        "with engine.connect() as connection:\n"
        "    context.configure(connection=connection, transaction_per_migration=True)\n"
        "    with context.begin_transaction():\n        context.run_migrations()\n")
    (project / "versions" / f"{HEAD}_head.py").write_text(
        f"revision = {HEAD!r}\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n")
    config = Config()
    config.set_main_option("script_location", str(project))
    config.set_main_option("sqlalchemy.url", postgres.url(dsn).replace("%", "%%"))
    alembic_command.stamp(config, HEAD)
    return dsn, config, project


class Writer(threading.Thread):
    def __init__(self, dsn: str, statements: tuple[str, ...]) -> None:
        super().__init__(daemon=True)
        self.dsn, self.statements = dsn, statements
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self.writes = 0
        self.max_latency = 0.0

    def run(self) -> None:
        rng = random.Random(3)
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute("SET statement_timeout = '10s'")
            while not self.stop_event.is_set():
                statement = rng.choice(self.statements)
                started = time.perf_counter()
                try:
                    connection.execute(statement, {"k": 1 + rng.randrange(WRITER_ROWS)} if "%(k)s" in statement else None)
                    self.writes += 1
                except psycopg.Error as error:
                    self.errors.append(f"{statement}: {error}")
                self.max_latency = max(self.max_latency, time.perf_counter() - started)
                time.sleep(0.002)


def _untouched_digest(dsn: str, targets: tuple[str, ...]) -> str:
    """Every column but the targets of the rows the writer never touches."""
    dropped = "ARRAY[" + ", ".join(f"'{t}'" for t in targets) + "]"
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            f"SELECT count(*) FILTER (WHERE true), md5(string_agg((to_jsonb(q) - {dropped})::text, ',' ORDER BY q.id::bigint)) "
            f"FROM queries q WHERE q.id > {WRITER_ROWS} AND q.id <= {SEEDED}").fetchone()[1]


def _fail_at_last_statement(config: Config, revision: str) -> bool:
    """Upgrades to `revision` with its last statement made to fail; True when it failed."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def fail(connection, cursor, statement, parameters, context, executemany):
        if "RESET lock_timeout" in statement and state["armed"]:
            raise RuntimeError("injected failure")

    state = {"armed": True}
    event.listen(Engine, "before_cursor_execute", fail)
    try:
        alembic_command.upgrade(config, revision)
    except RuntimeError:
        return True
    except Exception as error:  # noqa: BLE001 - SQLAlchemy wraps it
        return "injected failure" in str(error)
    finally:
        event.remove(Engine, "before_cursor_execute", fail)
    return False


@pytest.mark.parametrize("case", CASES, ids=lambda case: getattr(case, "id", None))
def test_a_scaffold_on_redash_queries_changes_only_its_column_under_a_live_writer(redash_model, database, case: Case, capsys):
    dsn, config, project = database
    # Planned against the catalog redash's bootstrap builds (SchemaLens's static layer has no primary
    # key on queries: its `primary_key("Query")` helper is not read); named and templated as redash's.
    layer, _ = load_oracle("redash", "database")
    files, _ = scaffold(redash_model, case.request, layer=layer)
    assert len(files) == case.phases
    assert files[0].text.count(f"down_revision = {HEAD!r}") + files[0].text.count(f'down_revision = "{HEAD}"') == 1
    for revision_file in files:
        (project / "versions" / Path(revision_file.path).name).write_text(revision_file.text)
    before = _untouched_digest(dsn, case.targets)
    writer = Writer(dsn, case.new_app if case.new_from == 0 else case.old_app)
    writer.start()
    changed = []
    try:
        for position, revision_file in enumerate(files):
            if position == case.new_from:
                writer.statements = case.new_app
            if position == len(files) - 1:  # a failure part-way through, then the same revision again
                _fail_at_last_statement(config, revision_file.revision)
            alembic_command.upgrade(config, revision_file.revision)
            changed.append(_untouched_digest(dsn, case.targets) != before)
        if case.new_from == len(files):
            writer.statements = case.new_app
        for position in reversed(range(len(files))):
            if position < case.new_from:
                writer.statements = case.old_app
            alembic_command.downgrade(config, files[position - 1].revision if position else HEAD)
            changed.append(_untouched_digest(dsn, case.targets) != before)
        for position, revision_file in enumerate(files):  # upgrade again, with the deploys where the docstrings say
            if position == case.new_from:
                writer.statements = case.new_app
            alembic_command.upgrade(config, revision_file.revision)
            changed.append(_untouched_digest(dsn, case.targets) != before)
    finally:
        writer.stop_event.set()
        writer.join()
    with capsys.disabled():
        print(f"\nredash queries {case.id}: {writer.writes} writes, {len(writer.errors)} writer errors, max writer latency "
              f"{writer.max_latency * 1000:.0f} ms, steps that changed rows outside {', '.join(case.targets)}: {sum(changed)}")
    assert not writer.errors, writer.errors[:3]
    assert not any(changed), changed
