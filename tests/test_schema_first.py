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
