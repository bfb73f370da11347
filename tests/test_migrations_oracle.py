"""The oracle for the database layer: migrations applied to a real PostgreSQL, and the catalog
it reports, must equal SchemaLens's static replay of the same migrations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from oracle import comparable, differences
from schemalens.analyzers.extract.sql_files import order_sql_migrations
from schemalens.analyzers.pg.catalog import read_catalog
from schemalens.analyzers.workspace.index import WorkspaceIndex
from test_example_shop import SHOP, _upgrade

FIXTURES = Path(__file__).parent / "fixtures"


def _assert_same(catalog_dsn: str, root: Path) -> None:
    model = WorkspaceIndex(root).index_all()
    assert [e for e in model.errors if e.kind in ("error", "replay")] == []
    expected, actual = comparable(read_catalog(catalog_dsn)), comparable(model.database)
    assert expected == actual, "\n".join(differences(expected, actual))


def _alembic_upgrade(postgres, root: Path, name: str) -> str:
    dsn = postgres.fresh_database(name)
    completed = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(root / "migrations" / "alembic.ini"), "-x", f"url={postgres.url(dsn)}",
         "upgrade", "heads"], capture_output=True, text=True, cwd=root)
    assert completed.returncode == 0, completed.stderr
    return dsn


def test_sql_folder_replay_matches_postgresql(postgres):
    folder = FIXTURES / "sql_folder" / "db" / "migrations"
    dsn = postgres.fresh_database("sql_folder")
    with psycopg.connect(dsn, autocommit=True) as connection:
        for name in order_sql_migrations(p.name for p in folder.glob("*.sql")):
            for statement in (folder / name).read_text(encoding="utf-8").split(";\n"):
                if statement.strip():
                    connection.execute(statement)
    _assert_same(dsn, FIXTURES / "sql_folder")


def test_alembic_chain_with_a_dump_baseline_matches_postgresql(postgres):
    root = FIXTURES / "flask_service"
    _assert_same(_alembic_upgrade(postgres, root, "flask_service"), root)


def test_bundled_example_matches_postgresql(postgres):
    _assert_same(_upgrade(postgres, "shop_oracle"), SHOP)


def test_catalog_index_keys_are_column_names_not_quoted_identifiers(postgres):
    dsn = postgres.fresh_database("quoted_keys")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute('CREATE TABLE events (id int, "timestamp" timestamptz, "Name" text)')
        connection.execute('CREATE INDEX ix_events_time ON events ("timestamp" DESC, "Name", lower("Name"))')
    (index,) = read_catalog(dsn).tables["events"].indexes
    assert index.columns == ("timestamp", "Name", 'lower("Name")')
    assert index.expressions == (False, False, True)


def test_revisions_calling_functions_of_other_modules_match_postgresql(postgres):
    """The first revision creates its tables through `init_ops.upgrade()` of another module (a
    helper of that module's own inside), the second adds a column through an imported helper, and
    another adds a primary key only where the table has none: read in place, as Alembic runs them."""
    root = FIXTURES / "alembic_helpers"
    _assert_same(_alembic_upgrade(postgres, root, "alembic_helpers"), root)
