"""A cold index reads the models, migrations and SQL before the code facts of Python files
(WorkspaceIndex.index_all's `schema_first`): every finding of that first look stands in the full
audit, on the fixtures and on every corpus project, and checks that need the code wait for it."""

from __future__ import annotations

from pathlib import Path

import pytest

import corpus_projects
from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.workspace import index as workspace_index
from schemalens.analyzers.workspace.index import CodeNotRead, WorkspaceIndex

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLE = Path(__file__).parent.parent / "examples" / "shop"
WORKSPACES = {"flask_service": FIXTURES / "flask_service", "example": EXAMPLE,
              **{name: None for name in corpus_projects.PROJECTS}}


def _key(finding) -> tuple:
    return (finding.rule, finding.location, finding.title, finding.message, finding.severity, finding.related)


def _first_and_full(root: Path) -> tuple[list, object]:
    firsts: list = []
    model = WorkspaceIndex(root).index_all(schema_first=firsts.append)
    return firsts, model


@pytest.fixture
def every_index_looks_first(monkeypatch):
    monkeypatch.setattr(workspace_index, "_SCHEMA_FIRST_MINIMUM", 1)


@pytest.mark.parametrize("name", WORKSPACES)
def test_the_first_look_finds_nothing_the_full_audit_takes_back(name, every_index_looks_first):
    root = WORKSPACES[name] or corpus_projects.unpacked(name)
    if root is None:
        pytest.skip("the corpus is not available")
    (first_model,), model = _first_and_full(root)
    first, full = run_audit(first_model), run_audit(model)
    assert first.findings and first.waiting_for_code and not full.waiting_for_code
    assert {_key(f) for f in first.findings} <= {_key(f) for f in full.findings}
    assert first_model.orm == model.orm and first_model.database == model.database


def test_the_first_model_has_no_code_to_read(every_index_looks_first):
    (first_model,), model = _first_and_full(FIXTURES / "flask_service")
    with pytest.raises(CodeNotRead):
        list(first_model.code.items())
    assert model.code  # the full model has it
    first = run_audit(first_model)
    assert "SL701" in first.waiting_for_code  # plaintext secrets: whether the code hashes them
    assert any(f.rule == "SL701" for f in run_audit(model).findings)


def test_a_small_workspace_is_read_in_one_pass():
    firsts, _ = _first_and_full(FIXTURES / "flask_service")
    assert firsts == []


def test_a_workspace_read_from_the_parse_cache_looks_first_with_its_code_hidden(tmp_path, every_index_looks_first):
    root = FIXTURES / "flask_service"
    WorkspaceIndex(root, cache_dir=tmp_path).index_all()
    firsts: list = []
    model = WorkspaceIndex(root, cache_dir=tmp_path).index_all(schema_first=firsts.append)
    (first_model,) = firsts
    with pytest.raises(CodeNotRead):
        dict(first_model.code)
    first, full = run_audit(first_model), run_audit(model)
    assert first.findings and first.waiting_for_code
    assert {_key(f) for f in first.findings} <= {_key(f) for f in full.findings}


def _seeded(tmp_path: Path, script: str) -> Path:
    """The flask_service fixture with a SQL script of seed data beside its Alembic migrations."""
    import shutil

    root = tmp_path / "seeded"
    shutil.copytree(FIXTURES / "flask_service", root)
    (root / "db").mkdir()
    (root / "db" / "seed.sql").write_text(script, encoding="utf-8")
    return root


_SEED = "".join(f"INSERT INTO users (id, email) VALUES ({number}, 'user{number}@example.com');\n" for number in range(50))


@pytest.mark.parametrize("name", ["example", "seeded"])
def test_a_large_script_is_read_after_the_first_look(name, tmp_path, every_index_looks_first, monkeypatch):
    """The example's cleanup script, and seed data: neither is part of the first look, whose
    findings all stand, and the full model is the one an index without a first look builds."""
    monkeypatch.setattr(workspace_index, "_LARGE_SCRIPT_CHARACTERS", 100)
    root = EXAMPLE if name == "example" else _seeded(tmp_path, _SEED)
    script = "sql/scripts/cleanup.sql" if name == "example" else "db/seed.sql"
    (first_model,), model = _first_and_full(root)
    assert first_model.files[script] == model.files[script] == "sql_script"
    assert script not in first_model.sql_scans and script in model.sql_scans
    first, full = run_audit(first_model), run_audit(model)
    assert first.findings and {_key(f) for f in first.findings} <= {_key(f) for f in full.findings}
    assert {_key(f) for f in full.findings} == {_key(f) for f in run_audit(WorkspaceIndex(root).index_all()).findings}


def test_the_first_look_reads_a_large_script_that_is_the_database(tmp_path, every_index_looks_first, monkeypatch):
    """No migration: the scripts (a schema dump) are the database the models are checked against."""
    monkeypatch.setattr(workspace_index, "_LARGE_SCRIPT_CHARACTERS", 100)
    root = _seeded(tmp_path, "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);\n" + _SEED)
    import shutil

    shutil.rmtree(root / "migrations")
    (first_model,), model = _first_and_full(root)
    assert "db/seed.sql" in first_model.sql_scans
    assert first_model.database == model.database and "users" in first_model.database.tables


def test_the_first_look_reads_a_large_script_when_a_migration_fails_to_replay(tmp_path, every_index_looks_first,
                                                                             monkeypatch):
    """The failure's explanation may be the script (SL570: only a script creates the table)."""
    monkeypatch.setattr(workspace_index, "_LARGE_SCRIPT_CHARACTERS", 100)
    root = _seeded(tmp_path, "CREATE TABLE ledgers (id bigint PRIMARY KEY);\n" + _SEED)
    versions = root / "migrations" / "versions"
    (versions / "0002_ledger_index.py").write_text(
        'revision = "0002"\ndown_revision = "0001baseline"\n\nfrom alembic import op\n\n\n'
        'def upgrade():\n    op.create_index("ix_ledgers_id", "ledgers", ["id"])\n\n\n'
        'def downgrade():\n    op.drop_index("ix_ledgers_id", table_name="ledgers")\n', encoding="utf-8")
    (first_model,), model = _first_and_full(root)
    assert any(database.problems for database in model.databases)
    assert "db/seed.sql" in first_model.sql_scans
    first, full = run_audit(first_model), run_audit(model)
    assert {_key(f) for f in first.findings} <= {_key(f) for f in full.findings}
