"""The bundled example workspace (examples/shop): its deliberate problems are marked in all eight
dimensions, its migrations run on a real PostgreSQL, and its models differ from the migrated
schema only where the drift is deliberate."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg

from schemalens.analyzers.pg.catalog import read_catalog

SHOP = Path(__file__).resolve().parent.parent / "examples" / "shop"
_MARKER = re.compile(r"(?:#|--)\s*deliberate:\s*(\S+)\s*(.*)")


def _markers() -> list[tuple[str, int, str, str]]:
    """(path, line, dimension, text) of every `deliberate:` marker in the example."""
    found = []
    for path in sorted([*SHOP.rglob("*.py"), *SHOP.rglob("*.sql")]):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _MARKER.search(line)
            if match:
                found.append((str(path.relative_to(SHOP)), number, match.group(1), match.group(2)))
    return found


def _upgrade(postgres, name: str) -> str:
    """A fresh database migrated to the heads by the example's own env.py, then the SQL folder."""
    dsn = postgres.fresh_database(name)
    completed = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(SHOP / "migrations" / "alembic.ini"), "-x", f"url={postgres.url(dsn)}",
         "upgrade", "heads"], capture_output=True, text=True, cwd=SHOP.parent)
    assert completed.returncode == 0, completed.stderr
    folder = SHOP / "sql" / "migrations"
    with psycopg.connect(dsn, autocommit=True) as connection:
        for path in sorted(folder.glob("V*__*.sql"), key=lambda p: int(p.name[1:].split("__")[0])):
            connection.execute(path.read_text(encoding="utf-8"))
    return dsn


def test_every_dimension_has_a_marked_problem():
    markers = _markers()
    assert all(dimension in "12345678" and len(dimension) == 1 and text for _, _, dimension, text in markers), markers
    assert {dimension for _, _, dimension, _ in markers} == set("12345678")


def test_migrations_and_sql_folder_apply_to_postgresql(postgres):
    dsn = _upgrade(postgres, "shop_migrated")
    with psycopg.connect(dsn) as connection:
        heads = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    assert heads == ["f0c2d6e8a413"]
    tables = read_catalog(dsn).tables
    for name in ("users", "products", "product_tags", "orders", "order_items", "payments", "shipments",
                 "audit_events", "notifications", "order_events", "order_events_default", "daily_sales"):
        assert name in tables, name
    orders = tables["orders"]
    assert orders.column("customer_note") is not None and orders.column("note") is None
    assert tables["order_items"].column("id").type == "bigint"


def _columns(layer) -> dict[str, dict[str, tuple]]:
    return {name: {column.name: (column.type, column.nullable) for column in table.columns}
            for name, table in layer.tables.items()}


def _constraint_names(layer) -> dict[str, set[str]]:
    return {name: {element.name for element in (*table.foreign_keys, *table.unique_constraints,
                                                 *table.check_constraints, *table.indexes)}
            for name, table in layer.tables.items()}


def test_models_differ_from_the_migrated_schema_only_by_the_deliberate_drift(postgres):
    migrated = read_catalog(_upgrade(postgres, "shop_drift_migrations"))
    modelled_dsn = postgres.fresh_database("shop_drift_models")
    # A separate interpreter: the example's top-level `app` package must not leak into this one.
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(SHOP)!r})
        from sqlalchemy import create_engine
        from app.extensions import db
        import app.models
        engine = create_engine({postgres.url(modelled_dsn)!r})
        db.metadata.create_all(engine)
        engine.dispose()
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    modelled = read_catalog(modelled_dsn)

    migrated_columns, modelled_columns = _columns(migrated), _columns(modelled)
    assert set(modelled_columns) <= set(migrated_columns)
    drift = {(table, column) for table, columns in modelled_columns.items()
             for column in columns.keys() ^ migrated_columns[table].keys()}
    assert drift == {("orders", "gift_message")}
    for table, columns in modelled_columns.items():
        shared = columns.keys() & migrated_columns[table].keys()
        assert {c: columns[c] for c in shared} == {c: migrated_columns[table][c] for c in shared}, table
    migrated_names = _constraint_names(migrated)
    for table, names in _constraint_names(modelled).items():
        assert names == migrated_names[table], table
