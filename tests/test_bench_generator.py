"""bench/generate_workspace.py: deterministic, and what it writes is a valid workspace."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import psycopg

from schemalens.analyzers.pg.catalog import read_catalog
from workspace_files import bench_generator


def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    generate = bench_generator().generate_workspace
    first = generate(tmp_path / "a", models=12, revisions=20, sql=5, seed=1)
    generate(tmp_path / "b", models=12, revisions=20, sql=5, seed=1)
    generate(tmp_path / "c", models=12, revisions=20, sql=5, seed=2)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")
    assert len(first.model_files) == 12 and len(first.revision_files) == 20 and len(first.sql_files) == 5
    assert 12 <= len(first.tables) <= 24


def test_fewer_revisions_than_tables_create_every_table_in_the_last_one(tmp_path):
    workspace = bench_generator().generate_workspace(tmp_path / "w", models=40, revisions=2, sql=0)
    last = (workspace.root / workspace.revision_files[-1]).read_text(encoding="utf-8")
    created = "".join((workspace.root / path).read_text(encoding="utf-8") for path in workspace.revision_files)
    assert all(f"op.create_table('{table}'" in created for table in workspace.tables)
    assert "op.create_table(" in last


def test_generated_revisions_and_sql_apply_to_postgresql(tmp_path, postgres):
    workspace = bench_generator().generate_workspace(tmp_path / "w", models=15, revisions=30, sql=8, seed=7)
    dsn = postgres.fresh_database("generated")
    alembic = [sys.executable, "-m", "alembic", "-c", str(workspace.root / "alembic.ini"), "-x", f"url={postgres.url(dsn)}"]
    for step in (["upgrade", "head"], ["downgrade", "base"], ["upgrade", "head"]):
        completed = subprocess.run([*alembic, *step], capture_output=True, text=True)
        assert completed.returncode == 0, completed.stderr
    with psycopg.connect(dsn, autocommit=True) as connection:
        for path in workspace.sql_files:
            connection.execute((workspace.root / path).read_text(encoding="utf-8"))
    tables = read_catalog(dsn).tables
    assert set(workspace.tables) <= set(tables)
    assert any(name.startswith("report_") for name in tables)
