"""Scaffolds on a partitioned table, where PostgreSQL refuses CREATE INDEX CONCURRENTLY and
ADD CONSTRAINT ... USING INDEX on the parent: SL514's split and an added index run on a real
PostgreSQL with rows in every partition and a writer inserting while each revision runs; the
constraint ends up on the partitioned table, valid, adopting the partitions' indexes, and no
revision holds ACCESS EXCLUSIVE on the table for long. Without PostgreSQL: the plans' shape and
the refusals."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import psycopg
import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.fixes import apply_edit, quick_fixes
from schemalens.analyzers.scaffold import ChangeRequest, ScaffoldError, scaffold, write_files
from schemalens.analyzers.scaffold.from_findings import safe_change_edit, safe_change_for
from schemalens.analyzers.workspace.index import WorkspaceIndex

from conftest import FIXTURES

BASE = "0a1b2c3d4e5f"
READINGS = '''"""readings, partitioned by day taken

Revision ID: 1c2d3e4f5a6b
Revises: 0a1b2c3d4e5f
"""
from alembic import op

revision = "1c2d3e4f5a6b"
down_revision = "0a1b2c3d4e5f"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TABLE readings (id bigserial NOT NULL, sensor text NOT NULL, taken_on date NOT NULL, value numeric)
            PARTITION BY RANGE (taken_on);
        CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE TABLE readings_2026 PARTITION OF readings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    """)


def downgrade():
    op.execute("DROP TABLE readings")
'''
UNSAFE_HEAD = '''"""unique readings

Revision ID: 2d3e4f5a6b7c
Revises: 1c2d3e4f5a6b
"""
from alembic import op

revision = "2d3e4f5a6b7c"
down_revision = "1c2d3e4f5a6b"
branch_labels = None
depends_on = None


def upgrade():
    op.create_unique_constraint("readings_sensor_taken_on_key", "readings", ["sensor", "taken_on"])


def downgrade():
    op.drop_constraint("readings_sensor_taken_on_key", "readings", type_="unique")
'''
SEED = ("INSERT INTO readings (sensor, taken_on, value) SELECT 's' || g, date '2025-01-01' + (g % 700), g "
        "FROM generate_series(1, 20000) g")
WRITES = ("INSERT INTO readings (sensor, taken_on, value) VALUES ('w' || %(u)s, date '2025-03-01' + %(k)s %% 600, 1)",)
HEAD = "2d3e4f5a6b7c"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "scaffold_project", root)
    (root / "migrations/versions/20260102_1c2d3e4f5a6b_readings.py").write_text(READINGS)
    # Two months later: `readings` is no young table (see rules/migrations/safety.py young_table).
    (root / "migrations/versions/20260301_2d3e4f5a6b7c_unique_readings.py").write_text(UNSAFE_HEAD)
    return root


def _split_sl514(root: Path):
    """SL514 on the partitioned table, split by the scaffold as the code action does."""
    model = WorkspaceIndex(root).index_all()
    finding = next(f for f in run_audit(model).findings if f.rule == "SL514")
    assert "partitioned" in finding.fix.short_term and "USING INDEX` on the partitioned" not in finding.fix.short_term
    safe_change = safe_change_for(finding, model)
    assert safe_change is not None and safe_change.request.change == "add-unique"
    return safe_change_edit(safe_change, model)


def test_sl514_on_a_partitioned_table_is_planned_per_partition(root: Path):
    planned = _split_sl514(root)
    expand, contract = (f.text for f in planned.files)
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS readings_2025_sensor_taken_on_key ON readings_2025 (sensor, taken_on)" in expand
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS readings_2026_sensor_taken_on_key ON readings_2026 (sensor, taken_on)" in expand
    assert "ON readings " not in expand and "ON readings (" not in expand
    assert "ALTER TABLE readings_2025 ADD CONSTRAINT readings_2025_sensor_taken_on_key UNIQUE USING INDEX" in contract
    assert "ALTER TABLE readings ADD CONSTRAINT readings_sensor_taken_on_key UNIQUE (sensor, taken_on)" in contract
    assert "ALTER TABLE readings ADD CONSTRAINT readings_sensor_taken_on_key UNIQUE USING INDEX" not in contract


def test_a_unique_key_without_the_partition_key_is_refused_with_the_reason(root: Path):
    model = WorkspaceIndex(root).index_all()
    with pytest.raises(ScaffoldError, match="partition key in a unique constraint"):
        scaffold(model, ChangeRequest("add-unique", "readings", columns=("sensor",)))


def test_a_foreign_key_on_a_partitioned_table_is_refused_not_planned_wrong(root: Path):
    model = WorkspaceIndex(root).index_all()
    with pytest.raises(ScaffoldError, match="readings is partitioned"):
        scaffold(model, ChangeRequest("add-foreign-key", "readings", columns=("id",), ref="orders.id"))


def test_no_concurrent_index_quick_fix_on_a_partitioned_table(root: Path):
    path = root / "migrations/versions/20260301_2d3e4f5a6b7c_unique_readings.py"
    path.write_text(UNSAFE_HEAD.replace(
        'op.create_unique_constraint("readings_sensor_taken_on_key", "readings", ["sensor", "taken_on"])',
        'op.create_index("readings_sensor_idx", "readings", ["sensor"])').replace(
        'op.drop_constraint("readings_sensor_taken_on_key", "readings", type_="unique")', 'op.drop_index("readings_sensor_idx")'))
    model = WorkspaceIndex(root).index_all()
    finding = next(f for f in run_audit(model).findings if f.rule == "SL505")
    assert "ON ONLY" in finding.fix.short_term
    assert [fix.applicability for fix in quick_fixes(finding, path.read_text(), model.database.tables)] == ["display"]


@pytest.fixture
def database(postgres, root: Path):
    from alembic.config import Config

    dsn = postgres.fresh_database("partitioned")
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", postgres.url(dsn).replace("%", "%%"))
    return dsn, config


def _query(dsn: str, sql: str):
    with psycopg.connect(dsn, autocommit=True) as connection:
        return connection.execute(sql).fetchone()[0]


def _with_a_writer(dsn: str, run) -> None:
    """`run()` while the application inserts into readings; no error, no long ACCESS EXCLUSIVE lock."""
    from test_scaffold_postgres import LockSampler, Writer

    writer = Writer(dsn, WRITES)
    sampler = LockSampler(dsn, _query(dsn, "SELECT 'readings'::regclass::oid"))
    writer.start()
    sampler.start()
    try:
        run()
        time.sleep(0.2)
    finally:
        writer.stop_event.set()
        sampler.stop_event.set()
        writer.join()
        sampler.join()
    assert not writer.errors, writer.errors[:3]
    assert writer.writes > 20
    assert sampler.longest < 1.0, f"ACCESS EXCLUSIVE on readings held {sampler.longest:.2f} s"


def _all_valid(dsn: str) -> None:
    assert _query(dsn, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == 0
    assert _query(dsn, "SELECT count(*) FROM pg_constraint WHERE NOT convalidated") == 0


def test_the_partitioned_unique_split_runs_on_postgresql(root: Path, database):
    from alembic import command

    dsn, config = database
    command.upgrade(config, "1c2d3e4f5a6b")
    _query(dsn, SEED + " RETURNING 1")
    planned = _split_sl514(root)
    write_files(root, planned.files, "migrations/versions")
    for edit in planned.line_edits:
        path = root / edit.path
        path.write_text(apply_edit(path.read_text(), edit))
    revisions = [HEAD, *(f.revision for f in planned.files)]

    def upgrade_then_downgrade():
        for revision in revisions:
            command.upgrade(config, revision)
        _all_valid(dsn)
        # The partitioned table's constraint adopted both partitions' constraints.
        assert _query(dsn, "SELECT contype FROM pg_constraint WHERE conname = 'readings_sensor_taken_on_key' "
                           "AND conrelid = 'readings'::regclass") == "u"
        assert _query(dsn, "SELECT count(*) FROM pg_constraint WHERE conparentid = "
                           "(SELECT oid FROM pg_constraint WHERE conname = 'readings_sensor_taken_on_key')") == 2
        for revision in reversed(revisions[:-1]):
            command.downgrade(config, revision)
            _all_valid(dsn)
        command.downgrade(config, "1c2d3e4f5a6b")
        assert _query(dsn, "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'readings%'") == 0
    _with_a_writer(dsn, upgrade_then_downgrade)


def test_an_index_on_a_partitioned_table_runs_on_postgresql(root: Path, database):
    from alembic import command

    dsn, config = database
    (root / "migrations/versions/20260301_2d3e4f5a6b7c_unique_readings.py").unlink()
    command.upgrade(config, "1c2d3e4f5a6b")
    _query(dsn, SEED + " RETURNING 1")
    files, _ = scaffold(WorkspaceIndex(root).index_all(), ChangeRequest("add-index", "readings", columns=("sensor",)))
    assert len(files) == 1 and "ON ONLY readings (sensor)" in files[0].text
    write_files(root, files, "migrations/versions")

    def upgrade_then_downgrade():
        command.upgrade(config, files[0].revision)
        _all_valid(dsn)
        assert _query(dsn, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings_sensor_idx'::regclass") == 2
        command.downgrade(config, "1c2d3e4f5a6b")
        assert _query(dsn, "SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'readings%'") == 0
    _with_a_writer(dsn, upgrade_then_downgrade)


def test_a_partition_the_migrations_do_not_know_stops_the_revision(root: Path, database):
    from alembic import command
    from sqlalchemy.exc import InternalError, ProgrammingError

    dsn, config = database
    (root / "migrations/versions/20260301_2d3e4f5a6b7c_unique_readings.py").unlink()
    command.upgrade(config, "1c2d3e4f5a6b")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE readings_2027 PARTITION OF readings FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')")
    files, _ = scaffold(WorkspaceIndex(root).index_all(), ChangeRequest("add-index", "readings", columns=("sensor",)))
    write_files(root, files, "migrations/versions")
    with pytest.raises((InternalError, ProgrammingError), match="not the ones the migrations create"):
        command.upgrade(config, files[0].revision)
