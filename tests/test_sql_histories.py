"""SQL migration folders as their tools read them: each file's dialect, each tool's layout and
order, one database per migration set, one root error per cascade, and the history rules.

`tests/fixtures/multi_service` is shaped like a multi-service repository (see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pglast
import psycopg
import pytest

import corpus_projects
from oracle import comparable, differences
from schemalens.analyzers.audit import run_audit, workspace_problems
from schemalens.analyzers.extract import sql_dialects
from schemalens.analyzers.extract.sql_dialects import _MARKERS, file_dialect, text_dialect
from schemalens.analyzers.extract.sql_files import parse_sql
from schemalens.analyzers.pg.catalog import read_catalog
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.analyzers.workspace.migration_sets import runnable_text
from schemalens.commands import main

FIXTURES = Path(__file__).parent / "fixtures"
SERVICES = FIXTURES / "multi_service"


@pytest.fixture(scope="module")
def services():
    return WorkspaceIndex(SERVICES).index_all()


def _write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def _database(model, folder: str):
    return next(d for d in model.databases if any(location.folder == folder for location in d.locations))


# dialects

@pytest.mark.parametrize(("text", "dialect"), [
    ("SET ANSI_NULLS ON\nGO\nCREATE TABLE [dbo].[T] ([Id] INT IDENTITY(1,1) NOT NULL, [Name] NVARCHAR(40))\nGO\n", "sqlserver"),
    ("CREATE TABLE `t` (`id` int(11) unsigned NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n", "mysql"),
    ("CREATE TABLE t (id NUMBER(10) NOT NULL, name VARCHAR2(40 CHAR));\n", "oracle"),
    ("CREATE TABLE t (id String, ts DateTime64(3)) ENGINE = MergeTree ORDER BY id;\n", "clickhouse"),
    ("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);\nPRAGMA foreign_keys = ON;\n", "sqlite"),
    # phoenix: a drizzle migration for SQLite, identifiers in backquotes
    ("CREATE TABLE `items` (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, `repo` text);\n", "sqlite"),
    # quay's sqlc queries (internal/dal/queries/gc.sql)
    ("SELECT t.id FROM tag t WHERE t.lifetime_end_ms <= (strftime('%s', 'now') * 1000) AND t.name = ?;\n", "sqlite"),
    ("\\set ON_ERROR_STOP on\nCREATE TABLE t (id bigserial PRIMARY KEY, body jsonb);\n", "postgresql"),
    ("CREATE TABLE t (id bigint PRIMARY KEY);\n", None),
])
def test_a_file_s_dialect_is_read_from_the_markers_only_its_engine_accepts(text, dialect):
    assert text_dialect(text).dialect == dialect


# Texts each marker's pattern finds, one for every alternative it has.
_MARKED = {
    "GO batch separators": ["CREATE TABLE t (id int)\ngo\n"],
    "IDENTITY(seed, step)": ["id INT IDENTITY(1,1)"],
    "the dbo schema": ["[dbo].[t]", "dbo.t"],
    "[bracketed] identifiers": ["[dbo].[T]", "CREATE TABLE t ([Id] INT)"],
    "CLUSTERED indexes": ["PRIMARY KEY CLUSTERED (id)", "CREATE NONCLUSTERED INDEX ix ON t (id)"],
    "SET ANSI_NULLS": ["SET ANSI_NULLS ON", "SET QUOTED_IDENTIFIER ON", "SET NOCOUNT ON", "SET ANSI_PADDING ON"],
    "OBJECT_ID()/sp_ procedures": ["IF OBJECT_ID('t') IS NOT NULL", "EXEC sp_help", "EXECUTE sp_addrole", "sp_rename"],
    "DATETIME2/UNIQUEIDENTIFIER/NVARCHAR(MAX)": ["created DATETIME2", "id UNIQUEIDENTIFIER", "body NVARCHAR(MAX)",
                                                 "DEFAULT GETDATE()", "DEFAULT NEWID()"],
    "NVARCHAR/DECLARE @variable": ["name NVARCHAR(40)", "DECLARE @count INT"],
    "`backquoted` identifiers": ["CREATE TABLE `t` (id int)"],
    "ENGINE=InnoDB": [") ENGINE=InnoDB;"],
    "AUTO_INCREMENT": ["id int AUTO_INCREMENT"],
    "utf8 charsets": ["DEFAULT CHARSET=utf8mb4", "COLLATE utf8mb4_bin", "CHARACTER SET utf8"],
    "UNSIGNED/TINYINT/LONGTEXT": ["id int unsigned", "flag TINYINT", "body MEDIUMTEXT", "data LONGBLOB"],
    "INT(11) display widths": ["id int(11)", "id BIGINT(20)", "n SMALLINT(6)", "n INTEGER(4)"],
    "ON UPDATE CURRENT_TIMESTAMP": ["updated timestamp ON UPDATE CURRENT_TIMESTAMP"],
    "DELIMITER": ["DELIMITER //"],
    "# comments": ["# a comment\n"],
    "@user variables": ["@x := 1", "SET @x = 1"],
    "ENGINE = MergeTree": ["ENGINE = MergeTree ORDER BY id", "ENGINE = Memory"],
    "ON CLUSTER": ["CREATE TABLE t ON CLUSTER main (id UInt64)"],
    "LowCardinality/Nullable types": ["name LowCardinality(String)", "n Nullable(Int32)", "t DateTime64(3)",
                                      "c FixedString(2)", "m Map(String, UInt64)", "a Array(String)"],
    "data-skipping indexes": ["INDEX ix name TYPE minmax GRANULARITY 4", "INDEX ix name TYPE bloom_filter"],
    "UInt64/Float64 types": ["id UInt64", "n Int8", "x Float64", "t DateTime"],
    "VARCHAR2": ["name VARCHAR2(40)", "name NVARCHAR2(40)"],
    "NUMBER columns": ["id NUMBER(10)", "id NUMBER,", "id NUMBER NOT NULL"],
    "SYSDATE/DUAL/EXECUTE IMMEDIATE": ["DEFAULT SYSDATE", "DEFAULT SYSTIMESTAMP", "SELECT 1 FROM DUAL",
                                       "EXECUTE IMMEDIATE 'x'"],
    "NOCACHE/CLOB": ["NOCACHE", "NOCYCLE", "NOORDER", "NOLOGGING", "body CLOB"],
    "SQL*Plus commands and / lines": ["CREATE TABLE t (id int);\n/\n", "PROMPT creating t", "REM a remark",
                                      "REMARK a remark", "SPOOL out.log"],
    "synonyms, NVL(), ROWNUM": ["CREATE PUBLIC SYNONYM t FOR s.t", "NVL(a, b)", "WHERE ROWNUM < 2"],
    "AUTOINCREMENT/PRAGMA": ["id INTEGER PRIMARY KEY AUTOINCREMENT", "PRAGMA foreign_keys = ON", ") WITHOUT ROWID"],
    "INSERT OR REPLACE": ["INSERT OR REPLACE INTO t VALUES (1)", "DEFAULT (datetime('now'))"],
    "strftime()": ["WHERE t.end_ms <= strftime('%s', 'now') * 1000"],
    "INTEGER IDENTITY columns (HSQLDB/H2)": ["id INTEGER IDENTITY PRIMARY KEY", "CREATE CACHED TABLE t (id int)"],
    "psql meta-commands": ["\\set ON_ERROR_STOP on"],
    "dollar-quoted bodies": ["AS $$ BEGIN END $$", "AS $body$ BEGIN END $body$"],
    "SERIAL/JSONB/TIMESTAMPTZ types": ["id bigserial", "b jsonb", "t timestamptz", "d bytea", "a inet", "v tsvector"],
    "extensions, plpgsql, GIN indexes": ["CREATE EXTENSION pg_trgm", "LANGUAGE plpgsql", "USING gin (body)",
                                         "CREATE INDEX CONCURRENTLY ix ON t (id)"],
    "::casts": ["SELECT '1'::int"],
    "ON CONFLICT/ILIKE/arrays": ["ON CONFLICT DO NOTHING", "name ILIKE 'a%'", "tags text[]",
                                 "COMMENT ON TABLE t IS 'x'"],
}


def test_every_match_of_a_marker_holds_one_of_its_needles():
    """A text is searched with a marker only when it holds one of the marker's needles: every
    alternative of every pattern finds its sample, and the sample, lowercased, holds a needle."""
    assert sorted(_MARKED) == sorted(what for _, _, _, what, _ in _MARKERS)
    for _, _, pattern, what, needles in _MARKERS:
        for sample in _MARKED[what]:
            assert pattern.search(sample), (what, sample)
            assert any(needle in sample.lower() for needle in needles), (what, sample)


def test_the_needles_change_no_guess(monkeypatch):
    """Every SQL text at hand (the samples, the fixtures, the corpus's) gets the same guess as
    when every text is searched with every marker."""
    texts = [sample for samples in _MARKED.values() for sample in samples]
    texts += ["\n".join(samples) for samples in _MARKED.values()]
    texts.append("SET ANſI_NULLS ON\nGO\n")  # a long s: an S to a pattern that ignores case, not to str.lower
    folders = [FIXTURES, Path(__file__).parent.parent / "examples"]
    folders += [corpus_projects.unpacked(name) for name in corpus_projects.PROJECTS] if corpus_projects.available() else []
    texts += [path.read_text(encoding="utf-8", errors="replace") for folder in folders for path in sorted(folder.rglob("*.sql"))]
    guessed = [text_dialect(text) for text in texts]
    monkeypatch.setattr(sql_dialects, "_MARKERS", tuple((*marker[:4], ("",)) for marker in _MARKERS))
    assert [text_dialect(text) for text in texts] == guessed
    assert len(texts) > 100 and {guess.dialect for guess in guessed} >= {"sqlserver", "mysql", "oracle", "postgresql", None}


def test_names_and_folders_say_the_dialect_before_the_markers():
    assert file_dialect("db/0001_init.mysql.up.sql", "CREATE TABLE t (id bigserial);").dialect == "mysql"
    assert file_dialect("schema/sqlite/v3/schema.sql", "CREATE TABLE `t` (id int);").dialect == "sqlite"
    assert file_dialect("db/V1__init.sql", "CREATE TABLE t (id int);").dialect is None
    # a word of the name before its first dot, after the markers (fides' sample data; a PostgreSQL
    # migration named for the engine it imports from)
    assert file_dialect("docker/sample_data/mariadb_example_schema.sql", "FLUSH PRIVILEGES;\nUSE shop;\n").dialect == "mysql"
    assert file_dialect("db/V5__import_from_mysql.sql", "CREATE TABLE t (id bigserial, doc jsonb);").dialect == "postgresql"


def test_a_folder_named_for_its_driver_says_the_engine_its_name_ends_with(tmp_path):
    # river: one driver's folder per engine, the SQLite one's markers in only one of its files
    root = _write(tmp_path, {
        **{f"riverdriver/{driver}/migration/main/00{number}_m.up.sql": f"CREATE TABLE t{number} (id integer PRIMARY KEY);\n"
           for driver in ("riverpgxv5", "riversqlite") for number in range(1, 4)},
        "riverdriver/riversqlite/migration/main/004_m.up.sql": "CREATE TABLE n (id integer PRIMARY KEY AUTOINCREMENT);\n",
        "assets/jpg/0001_x.sql": "CREATE TABLE j (id int);\n",
    })
    model = WorkspaceIndex(root).index_all()
    dialects = {location.folder: location.dialect for location in model.sql_locations}
    assert dialects == {"riverdriver/riverpgxv5/migration/main": "postgresql",
                        "riverdriver/riversqlite/migration/main": "sqlite", "assets/jpg": "postgresql"}
    assert [e for e in model.errors if "PostgreSQL would reject" in e.message] == []


def test_a_sqlite_migration_that_rebuilds_a_table_through_renames_replays(tmp_path):
    # river's SQLite driver: SQLite alters little, a table is renamed, made again and copied
    root = _write(tmp_path, {
        "db/sqlite/001_init.up.sql": "CREATE TABLE job (id integer PRIMARY KEY AUTOINCREMENT, tries integer NOT NULL);\n",
        "db/sqlite/002_rebuild.up.sql": (
            "ALTER TABLE job RENAME TO job_old;\nCREATE TABLE job (id integer PRIMARY KEY AUTOINCREMENT, tries integer);\n"
            "INSERT INTO job SELECT * FROM job_old;\nDROP TABLE job_old;\n"
            "ALTER TABLE job RENAME COLUMN tries TO tries_old;\nALTER TABLE job ADD COLUMN tries integer NOT NULL DEFAULT 25;\n"
            "UPDATE job SET tries = tries_old;\nALTER TABLE job DROP COLUMN tries_old;\n"),
    })
    model = WorkspaceIndex(root).index_all()
    assert [e for e in model.errors if e.kind == "replay"] == []
    (database,) = model.databases
    assert [column.name for column in database.layer.tables["job"].columns] == ["id", "tries"]


def test_no_file_of_another_engine_is_said_to_be_rejected_by_postgresql(services):
    assert [e for e in services.errors if "PostgreSQL would reject" in e.message] == []
    coverage = services.coverage.as_json()
    assert set(coverage["sql_statements"]) == {"PostgreSQL", "MySQL", "SQL Server", "Oracle", "ClickHouse"}
    assert coverage["sql_statements"]["SQL Server"]["read"] >= 3


def test_other_engines_are_read_into_their_own_databases(services):
    reporting = _database(services, "services/reporting/migrations")
    assert reporting.dialect == "sqlserver"
    assert [c.name for c in reporting.layer.tables["DailyRevenue"].columns] == ["Id", "Day", "Amount", "Channel", "Currency"]
    clickhouse = _database(services, "services/analytics/clickhouse/migrations")
    assert clickhouse.dialect == "clickhouse" and clickhouse.layer.tables["events"].column("environment") is not None
    legacy = _database(services, "services/legacy/mysql")
    assert legacy.dialect == "mysql" and legacy.layer.tables["accounts"].column("name") is not None


def test_a_postgresql_statement_postgresql_rejects_is_still_an_error(tmp_path):
    root = _write(tmp_path, {"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, placed_at timestamptz);\n",
                             "db/V2__note.sql": "ALTER TABLE orders ADD COLUMN note text DEFAULT '' NOT NULL,;\n",
                             # MySQL syntax in a PostgreSQL folder: PostgreSQL runs it, and rejects it
                             "db/V3__flag.sql": "ALTER TABLE `orders` ADD COLUMN `flag` tinyint(1);\n"})
    model = WorkspaceIndex(root).index_all()
    rejected = sorted((e.location.path, e.location.line) for e in model.errors if "PostgreSQL would reject" in e.message)
    assert rejected == [("db/V2__note.sql", 1), ("db/V3__flag.sql", 1)]


def test_another_engine_s_statement_sqlglot_cannot_read_is_counted_not_reported():
    from schemalens.analyzers.extract.sql_other_dialects import UNREAD

    extraction = parse_sql("CREATE TABLE t (id int);\nALTER TABLE t ADD (\n", "m.sql", dialect="oracle", rejections=False)
    assert extraction.errors == ()
    assert [op.kind for op in extraction.operations if getattr(op, "kind", None) == UNREAD] == [UNREAD]


# layouts

def test_each_tool_s_layout_decides_what_runs_and_in_which_order(tmp_path):
    root = _write(tmp_path, {
        "flyway/V1__a.sql": "CREATE TABLE a (id int);\n", "flyway/V1.10__c.sql": "SELECT 1;\n",
        "flyway/V1.9__b.sql": "SELECT 1;\n", "flyway/R__views.sql": "SELECT 1;\n", "flyway/U1__a.sql": "DROP TABLE a;\n",
        "migrate/000002_b.up.sql": "ALTER TABLE b ADD COLUMN x int;\n", "migrate/000002_b.down.sql": "DROP TABLE b;\n",
        "migrate/000001_b.up.sql": "CREATE TABLE b (id int);\n",
        "prisma/migrations/20250625_x/migration.sql": "ALTER TABLE p ADD COLUMN y int;\n",
        "prisma/migrations/20250519073249_init/migration.sql": "CREATE TABLE p (id int);\n",
        "diesel/migrations/2019-02-26-002946_create/up.sql": "CREATE TABLE d (id int);\n",
        "diesel/migrations/2019-02-26-002946_create/down.sql": "DROP TABLE d;\n",
        "diesel/migrations/2019-03-03-163336_more/up.sql": "ALTER TABLE d ADD COLUMN z int;\n",
        # authelia: versions written V<n>.<name>, up and down files, run by the project's own code
        "storage/V0010.More.up.sql": "ALTER TABLE s ADD COLUMN w int;\n", "storage/V0002.Init.up.sql": "CREATE TABLE s (id int);\n",
        "storage/V0002.Init.down.sql": "DROP TABLE s;\n", "storage/V0010.More.down.sql": "ALTER TABLE s DROP COLUMN w;\n",
    })
    model = WorkspaceIndex(root).index_all()
    files = {location.folder: [Path(path).name if Path(path).name not in ("up.sql", "migration.sql") else Path(path).parent.name
                               for path in location.files] for location in model.sql_locations}
    assert files == {"flyway": ["V1__a.sql", "V1.9__b.sql", "V1.10__c.sql", "R__views.sql"],
                     "migrate": ["000001_b.up.sql", "000002_b.up.sql"],
                     "prisma/migrations": ["20250519073249_init", "20250625_x"],
                     "diesel/migrations": ["2019-02-26-002946_create", "2019-03-03-163336_more"],
                     "storage": ["V0002.Init.up.sql", "V0010.More.up.sql"]}
    assert {l.folder: l.tool for l in model.sql_locations} == {
        "flyway": "flyway", "migrate": "up-down", "prisma/migrations": "prisma", "diesel/migrations": "diesel",
        "storage": "up-down"}
    assert [e for e in model.errors if e.kind == "replay"] == []


def test_down_sections_of_one_file_are_not_replayed():
    for text in ("-- migrate:up\nCREATE TABLE u (id int);\n\n-- migrate:down\nDROP TABLE u;\n",
                 "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE u (id int);\n-- +goose StatementEnd\n\n"
                 "-- +goose Down\nDROP TABLE u;\n",
                 "-- +migrate Up\nCREATE TABLE u (id int);\n-- +migrate Down\nDROP TABLE u;\n",
                 "-- Up\nCREATE TABLE u (id int);\n\n-- Down\nDROP TABLE u;\n"):
        up = runnable_text(text)
        assert len(up) == len(text) and up.count("\n") == text.count("\n")
        assert [type(op).__name__ for op in parse_sql(up, "x.sql").operations] == ["CreateTable"]


def test_flyway_placeholders_read_as_names():
    text = "CREATE TABLE IF NOT EXISTS ${tableName} (id text PRIMARY KEY);\n"
    extraction = parse_sql(runnable_text(text), "R__x.sql")
    assert extraction.errors == () and extraction.operations[0].table.startswith("tablename")


def test_a_template_of_named_values_is_read_with_each_name_as_an_identifier(tmp_path):
    # supabase/auth: pop renders every migration, `{{ index .Options "Namespace" }}` its schema
    namespace = '{{ index .Options "Namespace" }}'
    root = _write(tmp_path, {
        "migrations/20210101000000_init.up.sql": f"CREATE TABLE IF NOT EXISTS {namespace}.users (id uuid PRIMARY KEY);\n"
                                                 f"CREATE TABLE {{{{ prefix }}}}_audit (id bigint PRIMARY KEY);\n",
        "migrations/20210102000000_email.up.sql": f'ALTER TABLE "{namespace}"."users" ADD COLUMN email text;\n'
                                                  f"COMMENT ON TABLE {{{{index .Options \"Namespace\" }}}}.users IS '{namespace}';\n",
        "migrations/20210103000000_idx.up.sql": f"CREATE INDEX users_email_idx ON {namespace}.users (email);\n",
        "migrations/20210103000000_idx.down.sql": f"DROP INDEX {namespace}.users_email_idx;\n",
    })
    model = WorkspaceIndex(root).index_all()
    assert model.errors == () and {kind for path, kind in model.files.items() if path.endswith(".up.sql")} == {"sql_migration"}
    users = model.database.tables["namespace.users"]
    assert [column.name for column in users.columns] == ["id", "email"] and [index.name for index in users.indexes] == ["users_email_idx"]
    assert any(name.startswith("prefix_") and name.endswith("_audit") for name in model.database.tables)  # as ${prefix}
    text = (root / "migrations/20210102000000_email.up.sql").read_text()
    assert len(runnable_text(text)) == len(text) and runnable_text(text).count("\n") == text.count("\n")


@pytest.mark.parametrize("template", ["ALTER VIEW v {% if owner %}OWNER TO {{ owner }}{% endif %};\n",
                                      "{{ range .Tables }}CREATE TABLE {{ . }} (id int);{{ end }}\n",
                                      "CREATE TABLE {{ . }} (id int);\n"])
def test_a_template_that_must_be_rendered_is_not_read(tmp_path, template):
    root = _write(tmp_path, {"migrations/20210101000000_init.up.sql": template})
    model = WorkspaceIndex(root).index_all()
    assert model.files["migrations/20210101000000_init.up.sql"] == "sql_skipped" and model.errors == ()
    assert model.database.tables == {}


def test_files_tagged_per_engine_run_only_in_their_engine(tmp_path):
    root = _write(tmp_path, {
        "sql/20200101000001_t.postgres.up.sql": "CREATE TABLE t (id bigserial PRIMARY KEY);\n",
        "sql/20200101000001_t.mysql.up.sql": "CREATE TABLE `t` (`id` int AUTO_INCREMENT PRIMARY KEY);\n",
        "sql/20200101000001_t.sqlite3.up.sql": "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT);\n",
        "sql/20200101000002_u.up.sql": "ALTER TABLE t ADD COLUMN note text;\n",
    })
    model = WorkspaceIndex(root).index_all()
    (location,) = model.sql_locations
    assert location.tool == "pop" and location.dialect == "postgresql"
    assert [Path(p).name for p in location.files] == ["20200101000001_t.postgres.up.sql", "20200101000002_u.up.sql"]
    assert len(location.skipped) == 2 and model.errors == ()


def test_pop_runs_its_engine_s_variant_of_a_version_instead_of_the_generic_one(tmp_path):
    # ory/popx: one file per version, the engine's variant (`.postgres.autocommit.`) over the generic one
    root = _write(tmp_path, {
        "sql/20200101000001_t.up.sql": "CREATE TABLE t (id bigint PRIMARY KEY, note text);\n",
        "sql/20200101000002_ix.autocommit.up.sql": "CREATE INDEX IF NOT EXISTS t_note_idx ON t (note);\n",
        "sql/20200101000002_ix.postgres.autocommit.up.sql": "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_note_idx ON t (note);\n",
        "sql/20200101000002_ix.mysql.up.sql": "CREATE INDEX t_note_idx ON t (note(64));\n",
    })
    model = WorkspaceIndex(root).index_all()
    (location,) = model.sql_locations
    assert [Path(p).name for p in location.files] == ["20200101000001_t.up.sql", "20200101000002_ix.postgres.autocommit.up.sql"]
    assert [f for f in run_audit(model).findings if f.rule == "SL572"] == []


# several migration sets

def test_each_service_s_migrations_build_their_own_database(services):
    names = sorted(d.name for d in services.databases)
    assert names == ["services/analytics/clickhouse/migrations", "services/billing/migrations", "services/legacy/mysql",
                     "services/notifications/migrations", "services/orders/db/migrations",
                     "services/reporting/migrations", "services/users/db/migrations"]
    main_database = next(d for d in services.databases if d.main)
    assert main_database.name == "services/orders/db/migrations" and services.database is main_database.layer
    assert set(services.database.tables) == {"orders", "order_items", "shipments"}
    assert "users" not in services.database.tables and "invoices" not in services.database.tables


def test_a_draft_copy_is_not_replayed_into_any_database(services):
    draft = next(l for l in services.sql_locations if l.folder.endswith("migrations_old"))
    assert draft.draft and draft.draft_of == "services/orders/db/migrations"
    assert all(services.files[path] == "sql_draft" for path in draft.files)
    assert not any("order_lines" in d.layer.tables for d in services.databases)


def test_a_folder_that_only_extends_another_is_the_same_database(tmp_path):
    root = _write(tmp_path, {
        "db/migration/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, updated_at timestamptz);\n",
        "db/migration/V2__index.sql": "CREATE INDEX orders_updated_at_idx ON orders (updated_at);\n",
        "db/migration_data/V1.1__backfill.sql": "UPDATE orders SET updated_at = now();\n",
        "other/migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
    })
    model = WorkspaceIndex(root).index_all()
    database = _database(model, "db/migration")
    assert [Path(p).name for p in database.files] == ["V1__orders.sql", "V1.1__backfill.sql", "V2__index.sql"]
    assert len(model.databases) == 2


def test_the_migration_tool_s_own_table_is_there(tmp_path):
    root = _write(tmp_path, {"m/000001_t.up.sql": "CREATE TABLE t (id int);\n",
                             "m/000002_clean.up.sql": "UPDATE schema_migrations SET dirty = false;\n"
                                                      "ALTER TABLE schema_migrations ADD COLUMN note text;\n"})
    assert WorkspaceIndex(root).index_all().errors == ()


def test_one_root_error_per_missing_object_and_its_consequences_counted(services):
    notifications = _database(services, "services/notifications/migrations")
    (problem,) = notifications.problems
    assert problem.error.message == 'relation "templates" does not exist' and problem.creation is None
    assert [location.line for location in problem.consequences] == [2, 3]
    assert [e.location.line for e in notifications.errors] == [1]


# the rules, on the fixture

def test_history_and_index_rules_report_each_problem_of_the_fixture_once(services):
    result = run_audit(services)
    ours = sorted((f.rule, f.location.path.removeprefix("services/"), f.location.line) for f in result.findings
                  if f.rule in ("SL570", "SL571", "SL572", "SL573", "SL574", "SL414", "SL415", "SL503", "SL538"))
    assert ours == [
        ("SL414", "orders/db/migrations/V7__partial_indexes.sql", 2),
        ("SL415", "orders/db/migrations/V7__partial_indexes.sql", 4),
        ("SL570", "notifications/migrations/004_template_locale.sql", 1),
        ("SL571", "orders/db/migrations/V3__index_orders_priority.sql", 1),
        ("SL571", "orders/db/migrations/V5__alter_shipments.sql", 1),
        ("SL572", "billing/migrations/000005_add_customer_ref_v2.up.sql", 2),
        ("SL572", "users/db/migrations/20240103120000_add_email_fix.sql", 2),
        ("SL573", "notifications/migrations/002a_backfill_channel.sql", 1),
        ("SL573", "orders/db/migrations/V4__add_order_priority.sql", 1),
        ("SL574", "orders/db/migrations_old/V1__create_orders.sql", 1),
    ]
    # Each replay error is shown once, by the finding that carries its fix.
    assert [e for e in workspace_problems(services.errors, result.findings) if e.kind == "replay"] == []


def test_an_index_repeating_a_unique_key_is_reported_in_every_service_s_database(tmp_path):
    root = _write(tmp_path, {
        "orders/migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n"
                                            "CREATE INDEX orders_customer_idx ON orders (customer_id);\n",
        "users/migrations/V1__users.sql": ("CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, deleted_at timestamptz);\n"
                                           "CREATE INDEX users_email_idx ON users (email);\n"
                                           "CREATE INDEX users_live_email_idx ON users (email) WHERE deleted_at IS NULL;\n"),
    })
    model = WorkspaceIndex(root).index_all()
    assert len(model.databases) == 2
    found = sorted((f.rule, f.location.path, f.location.line) for f in run_audit(model).findings if f.rule in ("SL402", "SL415"))
    assert found == [("SL402", "users/migrations/V1__users.sql", 2), ("SL415", "users/migrations/V1__users.sql", 3)]


def test_a_versioned_folder_beside_the_schema_file_that_builds_new_databases_is_not_replayed_from_empty(tmp_path):
    # temporal-sql-tool: schema.sql builds a new database; versioned/ upgrades existing ones
    manifest = '{"CurrVersion": "0.6", "SchemaUpdateCqlFiles": ["add_start_time.sql"]}\n'
    files = {"schema/sqlite/temporal/schema.sql": "CREATE TABLE current_executions (id int, start_time timestamp);\n",
             "schema/sqlite/temporal/versioned/v0.2/queue.sql": "CREATE TABLE queue (id int);\n",
             "schema/sqlite/temporal/versioned/v0.6/add_start_time.sql":
                 "ALTER TABLE current_executions ADD COLUMN start_time timestamp;\n"}
    # a schema file that does not create what the folder needs builds no database the folder upgrades
    unrelated = files | {"schema/sqlite/temporal/schema.sql": "CREATE TABLE visibility (id int);\n"}
    without_manifests = WorkspaceIndex(_write(tmp_path / "plain", unrelated)).index_all()
    assert [f.rule for f in run_audit(without_manifests).findings if f.rule in ("SL570", "SL571")] == ["SL570"]
    # umami: the schema file creates the table the first migration alters; no manifests needed
    beside = WorkspaceIndex(_write(tmp_path / "beside", files)).index_all()
    assert [f.rule for f in run_audit(beside).findings if f.rule in ("SL570", "SL571")] == []
    # nor are its failures from empty reported as errors (quay: 7 "relation ... does not exist"); the coverage says why
    assert [e.message for e in beside.errors if e.kind == "replay"] == []
    assert any("upgrades the databases schema/sqlite/temporal/schema.sql builds" in str(note) for note in beside.coverage.notes)
    files |= {"schema/sqlite/temporal/versioned/v0.2/manifest.json": manifest.replace("add_start_time", "queue"),
              "schema/sqlite/temporal/versioned/v0.6/manifest.json": manifest}
    with_manifests = WorkspaceIndex(_write(tmp_path / "temporal", files)).index_all()
    assert [f.rule for f in run_audit(with_manifests).findings if f.rule in ("SL570", "SL571")] == []


def test_a_release_number_in_a_migration_s_name_is_not_a_redo(tmp_path):
    root = _write(tmp_path, {"db/V1__events.sql": "CREATE TABLE events (id bigint PRIMARY KEY);\n",
                             "db/V2__combined_v1.10_v1.13.sql": "ALTER TABLE events ADD COLUMN a text;\n",
                             "db/V3__events_v2.sql": "ALTER TABLE events ALTER COLUMN a TYPE varchar(200);\n"})
    redo = [f.location.path for f in run_audit(WorkspaceIndex(root).index_all()).findings if f.rule == "SL503"]
    assert redo == ["db/V3__events_v2.sql"]


def test_the_ordering_finding_names_the_migration_that_creates_the_object(services):
    finding = next(f for f in run_audit(services).findings if f.rule == "SL571" and "V3__" in f.location.path)
    assert "V4__add_order_priority.sql" in finding.title
    assert [(r.location.path.rsplit("/", 1)[1], r.location.line) for r in finding.related] == [("V4__add_order_priority.sql", 2)]


# the command line

def test_schema_prints_every_database_and_json_lists_them(tmp_path, capsys):
    assert main(["schema", str(SERVICES), "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert text.index("Database services/orders/db/migrations") < text.index("Database services/billing/migrations")
    assert "migration set services/orders/db/migrations_old: 2 file(s)" in text and "not replayed" in text
    assert main(["schema", str(SERVICES), "--no-cache", "--set", "services/legacy/mysql"]) == 0
    only = capsys.readouterr().out
    assert "accounts" in only and "orders" not in only.split("Coverage")[0]
    assert main(["schema", str(SERVICES), "--no-cache", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["databases"]) == 7 and sum(d["main"] for d in data["databases"]) == 1
    assert data["coverage"]["migration_sets"][0]["tool"]


# the oracle: each PostgreSQL migration set applied to an empty PostgreSQL in its tool's order

@pytest.mark.parametrize("folder", ["services/orders/db/migrations", "services/notifications/migrations",
                                    "services/users/db/migrations", "services/billing/migrations"])
def test_the_statements_that_fail_on_a_fresh_postgresql_are_the_ones_the_replay_says(postgres, services, folder):
    database = _database(services, folder)
    dsn = postgres.fresh_database(folder.split("/")[1])
    failed = set()
    with psycopg.connect(dsn, autocommit=True) as connection:
        for path in database.files:
            text = runnable_text((SERVICES / path).read_text(encoding="utf-8"))
            for piece in pglast.split(text, only_slices=True):
                try:
                    connection.execute(text[piece])
                except psycopg.Error:
                    failed.add((path, text.count("\n", 0, piece.start) + 1))
    replayed = {(failure.error.location.path, failure.error.location.line) for problem in database.problems
                for failure in [problem.failure]} | {(location.path, location.line) for problem in database.problems
                                                     for location in problem.consequences}
    assert replayed == failed
    expected, actual = comparable(read_catalog(dsn)), comparable(database.layer)
    assert expected == actual, "\n".join(differences(expected, actual))


def test_schema_files_of_tests_build_no_database_of_the_application(tmp_path):
    # kinto: tests/core/schema/ holds old schemas to test upgrades from; only the application's scripts are stepped
    root = _write(tmp_path, {
        "app/storage/schema.sql": "CREATE TABLE records (id text PRIMARY KEY, data jsonb);\n",
        "tests/core/schema/storage-1.6.sql": ("CREATE TABLE records (id text PRIMARY KEY);\n"
                                             "ALTER TABLE records ADD COLUMN data jsonb;\n"),
    })
    model = WorkspaceIndex(root).index_all()
    assert [step.path for step in model.steps] == ["app/storage/schema.sql"]


def _repeats_pair_by_pair(database) -> list:
    """sql_history._repeats as first written, every step against every earlier one: the oracle of
    the indexed search."""
    from schemalens.analyzers.rules.migrations import sql_history as history
    from schemalens.analyzers.schema import operations as ops
    from schemalens.analyzers.schema.model import table_key

    steps = [step for step in database.steps
             if step.path.endswith(".sql") and not any(isinstance(op, ops.ExistingTables) for op in step.operations)]
    tables = {table_key(op.table, op.schema or step.schema) for step in database.steps for op in step.operations
              if isinstance(op, ops.CreateTable)}
    prints = [{fp for fp in history.fingerprints(step) if fp[0] in history._NO_TABLE or fp[1] in tables} for step in steps]
    found = []
    for number, step in enumerate(steps):
        if not prints[number]:
            continue
        best = None
        for other in range(number):
            shared = prints[number] & prints[other]
            if not shared or not prints[number] <= prints[other] or history._undone_between(shared, steps[other + 1:number]):
                continue
            if best is None or len(shared) > best[1]:
                best = (steps[other], len(shared))
        if best is not None:
            found.append(history.Repeat(best[0], step, best[1], bool(history.REDO_WORDS.search(history.migration_name(step.path)))))
    return found


@pytest.mark.parametrize("seed", range(12))
def test_repeated_migrations_are_found_as_comparing_every_pair_finds_them(tmp_path, seed):
    import random

    from schemalens.analyzers.rules.migrations.sql_history import _repeats

    rng = random.Random(seed)
    statements = ["CREATE TABLE t{t} (id int, c{c} int);", "ALTER TABLE t{t} ADD COLUMN c{c} int;",
                  "ALTER TABLE t{t} DROP COLUMN c{c};", "CREATE INDEX ix{c} ON t{t} (c{c});", "DROP INDEX ix{c};",
                  "ALTER TABLE t{t} RENAME TO t{c};", "DROP TABLE t{t};", "CREATE TYPE e{c} AS ENUM ('a');"]
    files = {f"db/V{number}__{rng.choice(['step', 'step_fix', 'redo'])}.sql":
             "\n".join(rng.choice(statements).format(t=rng.randrange(3), c=rng.randrange(3)) for _ in range(rng.randint(1, 3)))
             for number in range(1, 41)}
    database = _database(WorkspaceIndex(_write(tmp_path, files)).index_all(), "db")
    expected = _repeats_pair_by_pair(database)
    assert _repeats(database) == expected
    assert seed > 2 or expected  # the first seeds repeat something


def test_upgrade_scripts_named_from_a_version_start_from_a_schema_the_folder_does_not_hold(tmp_path):
    """kinto: a fresh install runs schema.sql; `migrations/migration_001_002.sql` ... upgrade older
    installs, from schema version 1, which no file holds. What they change before creating it was
    that schema's: no replay error, and the coverage says so. A folder numbered from its first
    migration still reports a table it never creates."""
    root = _write(tmp_path, {
        "storage/schema.sql": "CREATE TABLE objects (id text PRIMARY KEY, deleted boolean NOT NULL);\n",
        "storage/migrations/migration_010_011.sql": "ALTER INDEX idx_records_id RENAME TO idx_objects_id;\n",
        "storage/migrations/migration_001_002.sql": "ALTER TABLE records ADD COLUMN deleted boolean;\nDROP INDEX idx_records_old;\n",
        "storage/migrations/migration_002_003.sql": "ALTER TABLE records RENAME TO objects;\n"
                                                    "CREATE TABLE timestamps (parent_id text PRIMARY KEY);\n",
        "numbered/0002_more.sql": "ALTER TABLE orders ADD COLUMN note text;\n",
        "numbered/0001_init.sql": "CREATE TABLE customers (id int PRIMARY KEY);\n",
    })
    model = WorkspaceIndex(root).index_all()
    upgrades = next(location for location in model.sql_locations if location.folder == "storage/migrations")
    assert [Path(path).name for path in upgrades.files] == [
        "migration_001_002.sql", "migration_002_003.sql", "migration_010_011.sql"]
    replay_errors = [(e.location.path, e.message) for e in model.errors if e.kind == "replay"]
    assert replay_errors == [("numbered/0002_more.sql", 'relation "orders" does not exist')]
    assert any("storage/migrations: its upgrade scripts start from schema version 1" in note and "1 table(s)" in note
               for note in model.coverage.notes)


def test_a_dropped_default_is_weighed_by_the_columns_nullability_then_not_at_head(tmp_path):
    # linkwarden: the default and NOT NULL dropped together, NOT NULL set again by a later migration
    root = _write(tmp_path, {
        "db/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new');\n",
        "db/V2__loosen.sql": "ALTER TABLE orders ALTER COLUMN status DROP DEFAULT, ALTER COLUMN status DROP NOT NULL;\n",
        "db/V3__tighten.sql": "UPDATE orders SET status = 'new' WHERE status IS NULL;\n"
                              "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n",
    })
    [finding] = [f for f in run_audit(WorkspaceIndex(root).index_all()).findings if f.rule == "SL563"]
    assert finding.severity == "P2" and finding.location.path == "db/V2__loosen.sql"


@pytest.mark.parametrize("folder, call", [
    ("db/mysql", "CALL PROC_DROP_FOREIGN_KEY('sessions', 'sessions_user_fkey');"),  # authelia
    ("db", "CALL drop_foreign_key('sessions', 'sessions_user_fkey');"),
])
def test_what_fails_after_a_procedure_called_is_said_once_there_not_reported(tmp_path, folder, call):
    """A procedure's changes are not read: the statements after it that fail in the replay from
    empty (they add again the keys it dropped) are one note at the call, not errors of the folder."""
    root = _write(tmp_path, {
        f"{folder}/V1__init.sql": "CREATE TABLE users (id int PRIMARY KEY);\n"
                                  "CREATE TABLE sessions (id int PRIMARY KEY, user_id int,\n"
                                  "  CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id));\n",
        f"{folder}/V2__fixes.sql": f"{call}\n"
                                   "ALTER TABLE sessions ADD CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id)\n"
                                   "  REFERENCES users (id) ON DELETE CASCADE;\n"})
    model = WorkspaceIndex(root).index_all()
    problems = workspace_problems(model.errors, run_audit(model).findings)
    assert [(e.location.path, e.location.line, e.kind) for e in problems] == [(f"{folder}/V2__fixes.sql", 1, "opaque")]
    assert "1 later statement of this file fails" in str(problems[0].message)
