"""Scaffolds on a real project's table: redash's `queries` at head, as its own create_all() +
stamp bootstrap builds it (tests/corpus/oracles/redash.database.json: columns, keys, indexes, the
tables it references and the two that reference it), with its real row trigger (the search-vector
trigger sqlalchemy-searchable 1.2.0 creates for it, which writes another column and reads
id, name, description and query) and, because no corpus table has an `updated_at` trigger, the
common one added. 10,000 rows, a writer running the old and then the new application's
statements; the revisions are written by `scaffold` on the real redash workspace (its
file_template, script.py.mako, revision ids), planned against SchemaLens's static model of it,
and chained after a stub of its head.

Each of the eleven changes: 0 writer errors in every step (the writer switches to the new
application where the docstrings say), 0 rows changed outside the target column, upgrade ->
downgrade -> upgrade, and a re-run after a failure injected at the last statement of each
revision (the alembic_version update, after every autocommit block has committed). The search
trigger is not in redash's migrations (sqlalchemy-searchable creates it at create_all()): a
rename of a column it reads is planned with `--dsn` (the trigger read from the catalog and
rewritten by the contract), and without it stops before it changes anything. CI runs this on
PostgreSQL 16 (the wheel) and 15 (Debian), as .ci/run does.
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
from schemalens.analyzers.scaffold import ChangeRequest, ScaffoldError, scaffold
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
INSERT INTO organizations (updated_at, created_at, name, slug, settings) VALUES (now(), now(), 'o', 'o', '{{}}'),
  (now(), now(), 'o2', 'o2', '{{}}');
INSERT INTO users (updated_at, created_at, org_id, name, email, api_key) VALUES (now(), now(), 1, 'u', 'u@x', 'k');
INSERT INTO data_sources (org_id, name, type, encrypted_options, queue_name, scheduled_queue_name, created_at)
  VALUES (1, 'd', 'pg', '\\x00', 'q', 's', now()), (2, 'd2', 'pg', '\\x00', 'q', 's', now());
INSERT INTO queries (updated_at, created_at, version, org_id, data_source_id, name, description, query, query_hash,
                     api_key, user_id, is_archived, is_draft, schedule_failures, options)
  SELECT now() - g * interval '1 minute', now(), 1, 1, CASE WHEN g % 50 = 0 THEN 2 ELSE 1 END, 'q' || g,
         CASE WHEN g % 3 = 0 THEN NULL ELSE 'd' || g END,
         'SELECT ' || g, md5(g::text), 'k' || g, 1, false, g % 2 = 0, 0, '{{}}' FROM generate_series(1, {SEEDED}) g;
INSERT INTO visualizations (updated_at, created_at, type, query_id, name, description, options)
  SELECT now(), now(), 'TABLE', g, 'v' || g, '', '{{}}' FROM generate_series(1, {SEEDED}) g;
INSERT INTO alerts (updated_at, created_at, name, query_id, user_id, state, options)
  SELECT now(), now(), 'a' || g, g, 1, 'ok', '{{}}' FROM generate_series(1, 100) g;
ANALYZE;
"""
# The application's statements. Inserts take fresh api keys (add-unique makes them unique).
_INSERT = ("INSERT INTO queries (updated_at, created_at, version, org_id, name, description, query, query_hash, api_key, "
           "user_id, is_archived, is_draft, schedule_failures, options) VALUES (now(), now(), 1, 1, 'w', 'w', 'SELECT 1', "
           "'h', md5(random()::text), 1, false, false, 0, '{}')")
_TOUCH = "UPDATE queries SET name = name WHERE id = %(k)s"
_READ = "SELECT id, name, description FROM queries WHERE id = %(k)s"
_OLD_APP = (_INSERT, _TOUCH, _READ)


@dataclass
class Case:
    request: ChangeRequest
    targets: tuple[str, ...]  # the columns the change may write (and their staging columns)
    old_app: tuple[str, ...]
    new_app: tuple[str, ...]
    new_from: int  # the new application is deployed before this phase (as the docstrings say)
    phases: int
    relations: tuple[str, ...] = ("queries",)  # where the seeded rows are read, the first that exists
    setup: str = ""  # SQL run on the database before the scaffold
    from_catalog: bool = False  # scaffold --dsn: the table's triggers read from the database
    finished: tuple[str, ...] = ()  # queries that return true once every phase ran
    restored: tuple[str, ...] = ()  # targets that each downgrade leaves as they were seeded (never empty)

    @property
    def id(self) -> str:
        return self.request.change


def _attribute(column: str, check: str) -> str:
    return (f"SELECT {check} FROM pg_attribute WHERE attrelid = 'queries'::regclass AND attname = '{column}' "
            "AND NOT attisdropped")


def _new(statement: str, column: str, value: str) -> str:
    return statement.replace("options)", f"options, {column})").replace("'{}')", f"'{{}}', {value})")


CASES = [
    Case(ChangeRequest("add-column", "queries", column="source", type="text", backfill="'legacy'"), ("source",),
         _OLD_APP, (_new(_INSERT, "source", "'app'"), _TOUCH, _READ), 1, 3,
         finished=(_attribute("source", "attnotnull"), "SELECT count(*) = 0 FROM queries WHERE source IS NULL")),
    Case(ChangeRequest("set-not-null", "queries", column="description", backfill="''"), ("description",),
         (_INSERT.replace("'w', 'SELECT 1'", "NULL, 'SELECT 1'"), _TOUCH, _READ), _OLD_APP, 0, 2,
         finished=(_attribute("description", "attnotnull"),)),
    # The search trigger reads NEW.description: read from the catalog, rewritten by the contract to read summary.
    Case(ChangeRequest("rename-column", "queries", column="description", new_name="summary"), ("description", "summary"),
         _OLD_APP,
         (_INSERT.replace("description", "summary"), _TOUCH, _READ.replace("description", "summary"),
          "UPDATE queries SET summary = summary WHERE id = %(k)s"), 2, 3, from_catalog=True, restored=("description",),
         finished=(_attribute("summary", "true"), "SELECT count(*) = 0 FROM queries WHERE id <= 10000 AND "
                   "search_vector IS DISTINCT FROM to_tsvector('pg_catalog.simple', id::text) || to_tsvector('pg_catalog.simple', name) "
                   "|| to_tsvector('pg_catalog.simple', coalesce(summary, '')) || to_tsvector('pg_catalog.simple', query)",
                   # the rewritten trigger computes it from summary for a new row
                   "WITH i AS (INSERT INTO queries (updated_at, created_at, version, org_id, name, summary, query, query_hash, "
                   "api_key, user_id, is_archived, is_draft, schedule_failures, options) VALUES (now(), now(), 1, 1, 'n', 'fresh', "
                   "'q', 'h', 'k-new', 1, false, false, 0, '{}') RETURNING search_vector) SELECT search_vector @@ 'fresh'::tsquery FROM i")),
    Case(ChangeRequest("rename-table", "queries", new_name="saved_queries"), (),
         _OLD_APP, tuple(statement.replace("queries", "saved_queries") for statement in _OLD_APP), 1, 2,
         relations=("saved_queries", "queries"),
         finished=("SELECT to_regclass('queries') IS NULL AND (SELECT relkind = 'r' FROM pg_class WHERE relname = 'saved_queries')",)),
    # Its primary key, with the serial sequence and the keys of visualizations and alerts.
    Case(ChangeRequest("change-type", "queries", column="id", type="bigint"), ("id", "id_new"),
         (*_OLD_APP, "INSERT INTO visualizations (updated_at, created_at, type, query_id, name, description, options) "
          "VALUES (now(), now(), 'T', %(k)s, 'w', '', '{}')"), _OLD_APP, 3, 3, restored=("id",),
         finished=(_attribute("id", "format_type(atttypid, atttypmod) = 'bigint' AND attnotnull"),
                   "SELECT bool_and(convalidated) AND count(*) = 3 FROM pg_constraint WHERE conname IN "
                   "('queries_pkey', 'visualizations_query_id_fkey', 'alerts_query_id_fkey')",
                   "SELECT data_type = 'bigint' FROM information_schema.sequences WHERE sequence_name = 'queries_id_seq'",
                   "SELECT pg_get_serial_sequence('queries', 'id') IS NOT NULL")),
    # Every key column of queries has its foreign key: this one is dropped first, as if it had never been made.
    Case(ChangeRequest("add-foreign-key", "queries", column="last_modified_by_id", ref="users.id"), ("last_modified_by_id",),
         _OLD_APP, (*_OLD_APP, "UPDATE queries SET last_modified_by_id = 1 WHERE id = %(k)s"), 0, 2,
         setup="ALTER TABLE queries DROP CONSTRAINT queries_last_modified_by_id_fkey",
         finished=("SELECT convalidated FROM pg_constraint WHERE conname = 'queries_last_modified_by_id_fkey'",)),
    Case(ChangeRequest("add-unique", "queries", column="api_key"), (), _OLD_APP, _OLD_APP, 0, 2,
         finished=("SELECT contype = 'u' FROM pg_constraint WHERE conname = 'queries_api_key_key'",)),
    Case(ChangeRequest("add-check", "queries", column="schedule_failures", check="schedule_failures >= 0"), (),
         _OLD_APP, _OLD_APP, 0, 2,
         finished=("SELECT convalidated FROM pg_constraint WHERE conname = 'queries_schedule_failures_check'",)),
    Case(ChangeRequest("add-index", "queries", columns=("user_id", "created_at")), (), _OLD_APP, _OLD_APP, 0, 1,
         finished=("SELECT indisvalid FROM pg_index WHERE indexrelid = 'queries_user_id_created_at_idx'::regclass",)),
    Case(ChangeRequest("drop-column", "queries", column="tags"), ("tags",), _OLD_APP, _OLD_APP, 0, 1,
         finished=("SELECT NOT EXISTS (" + _attribute("tags", "1") + ")",)),
    # A query's organization is its data source's: every 50th seeded row disagrees and is repaired from the parent.
    Case(ChangeRequest("add-composite-fk", "queries", columns=("data_source_id", "org_id"), ref="data_sources.id,org_id"),
         ("org_id",), _OLD_APP, (_INSERT.replace("org_id, name", "org_id, data_source_id, name").replace("1, 1, 'w'", "1, 1, 1, 'w'"),
                                 _TOUCH, _READ), 0, 3,
         finished=("SELECT convalidated FROM pg_constraint WHERE conname = 'queries_data_source_id_org_id_fkey'",
                   "SELECT count(*) = 0 FROM queries q JOIN data_sources d ON d.id = q.data_source_id WHERE q.org_id <> d.org_id",
                   "SELECT count(*) = 200 FROM queries WHERE id <= 10000 AND org_id = 2")),
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
            # As redash's driver (psycopg2) does: no server-side prepared statements. A session that has
            # them is told by the type change's docstring to reconnect (test_after_a_type_change_...).
            connection.prepare_threshold = None
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


def _untouched_digest(dsn: str, case: Case, but: tuple[str, ...] = ()) -> str:
    """Every column but the targets (except those in `but`) of the seeded rows the writer never touches."""
    dropped = "ARRAY[" + ", ".join(f"'{t}'" for t in case.targets if t not in but) + "]::text[]"
    with psycopg.connect(dsn) as connection:
        relation = next(r for r in case.relations if connection.execute("SELECT to_regclass(%s)", (r,)).fetchone()[0])
        return connection.execute(
            f"SELECT md5(string_agg((to_jsonb(q) - {dropped})::text, ',' ORDER BY q.id::bigint)) "
            f"FROM {relation} q WHERE q.id > {WRITER_ROWS} AND q.id <= {SEEDED}").fetchone()[0]


def _fail_at_last_statement(config: Config, revision: str) -> bool:
    """Upgrades to `revision` with its last statement (the alembic_version update, after every
    autocommit block committed) made to fail; True when it failed there."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def fail(connection, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE ALEMBIC_VERSION"):
            raise RuntimeError("injected failure")

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


def _write(project: Path, files) -> None:
    for revision_file in files:
        (project / "versions" / Path(revision_file.path).name).write_text(revision_file.text)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_a_scaffold_on_redash_queries_changes_only_its_column_under_a_live_writer(redash_model, database, case: Case, capsys):
    dsn, config, project = database
    if case.setup:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(case.setup)
    files, _ = scaffold(redash_model, case.request, dsn=dsn if case.from_catalog else None)
    assert len(files) == case.phases
    assert files[0].text.count(f"down_revision = {HEAD!r}") + files[0].text.count(f'down_revision = "{HEAD}"') == 1
    _write(project, files)
    before = _untouched_digest(dsn, case)
    seeded = _untouched_digest(dsn, case, but=case.restored)
    writer = Writer(dsn, case.new_app if case.new_from == 0 else case.old_app)
    writer.start()
    changed, restored = [], []
    try:
        for position, revision_file in enumerate(files):
            if position == case.new_from:
                writer.statements = case.new_app
            # a failure at the end of each revision (its autocommit blocks and batches committed), then the same revision again
            assert _fail_at_last_statement(config, revision_file.revision)
            alembic_command.upgrade(config, revision_file.revision)
            changed.append(_untouched_digest(dsn, case) != before)
        if case.new_from == len(files):
            writer.statements = case.new_app
        for position in reversed(range(len(files))):
            if position < case.new_from:
                writer.statements = case.old_app
            alembic_command.downgrade(config, files[position - 1].revision if position else HEAD)
            changed.append(_untouched_digest(dsn, case) != before)
            if case.restored:
                restored.append(_untouched_digest(dsn, case, but=case.restored) == seeded)
        for position, revision_file in enumerate(files):  # upgrade again, with the deploys where the docstrings say
            if position == case.new_from:
                writer.statements = case.new_app
            alembic_command.upgrade(config, revision_file.revision)
            changed.append(_untouched_digest(dsn, case) != before)
    finally:
        writer.stop_event.set()
        writer.join()
    with psycopg.connect(dsn, autocommit=True) as connection:
        unmet = [check for check in case.finished if connection.execute(check).fetchone()[0] is not True]
    with capsys.disabled():
        print(f"\nredash queries {case.id}: {writer.writes} writes, {len(writer.errors)} writer errors, max writer latency "
              f"{writer.max_latency * 1000:.0f} ms, steps that changed rows outside {', '.join(case.targets) or 'no column'}: "
              f"{sum(changed)}")
    assert not writer.errors, writer.errors[:3]
    assert not any(changed), changed
    assert all(restored), restored
    assert not unmet, unmet


def _upgrade_error(config: Config, revision: str) -> str:
    try:
        alembic_command.upgrade(config, revision)
    except Exception as error:  # noqa: BLE001 - SQLAlchemy wraps PostgreSQL's error
        return str(error)
    return ""


def _columns(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as connection:
        return {row[0] for row in connection.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'queries'::regclass AND attnum > 0 AND NOT attisdropped")}


def test_a_rename_the_migrations_cannot_see_a_trigger_of_stops_before_it_changes_anything(redash_model, database):
    """Planned from the migrations alone (redash's search trigger is not in them), the rename's
    first revision stops at run time, naming the trigger, its function and the column."""
    dsn, config, project = database
    files, _ = scaffold(redash_model, ChangeRequest("rename-column", "queries", column="description", new_name="summary"))
    _write(project, files)
    before = _columns(dsn)
    writer = Writer(dsn, _OLD_APP)
    writer.start()
    try:
        error = _upgrade_error(config, files[0].revision)
    finally:
        writer.stop_event.set()
        writer.join()
    assert ("trigger queries_search_vector_trigger on queries runs queries_search_vector_update(), which reads "
            "description: the contract drops description") in error
    assert "Scaffold again with --dsn" in error
    assert _columns(dsn) == before and not writer.errors


def test_a_column_a_trigger_reads_is_not_dropped(redash_model, database):
    """Known from the catalog, the drop is refused when planned; not known, its revision stops at run time."""
    dsn, config, project = database
    request = ChangeRequest("drop-column", "queries", column="description")
    with pytest.raises(ScaffoldError, match="trigger queries_search_vector_trigger .function queries_search_vector_update. "
                                            "reads it"):
        scaffold(redash_model, request, dsn=dsn)
    files, _ = scaffold(redash_model, request)
    _write(project, files)
    assert "which reads description: once description is dropped every insert and update of queries would fail" in \
        _upgrade_error(config, files[-1].revision)
    assert "description" in _columns(dsn)


def test_after_a_type_change_a_session_that_ran_the_trigger_before_keeps_writing(redash_model, database):
    """A session that ran the search trigger while id was integer inserts after the swap to
    bigint (PL/pgSQL plans are per session; the contract defines the trigger functions again).
    A statement it prepared that returns id fails until it reconnects, as the docstring says."""
    dsn, config, project = database
    files, _ = scaffold(redash_model, ChangeRequest("change-type", "queries", column="id", type="bigint"))
    assert "gets 'cached plan must not change result type' from it until it reconnects" in files[-1].text
    _write(project, files)
    read = "SELECT id FROM queries WHERE id = %s"
    with psycopg.connect(dsn, autocommit=True) as session:
        session.execute(_INSERT)
        session.execute(read, (1,), prepare=True)
        for revision_file in files:
            alembic_command.upgrade(config, revision_file.revision)
        session.execute(_INSERT)
        assert session.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'queries'::regclass "
                               "AND attname = 'id'").fetchone()[0] == "bigint"
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="cached plan must not change result type"):
            session.execute(read, (1,), prepare=True)
    with psycopg.connect(dsn, autocommit=True) as reconnected:
        assert reconnected.execute(read, (1,), prepare=True).fetchone() == (1,)
