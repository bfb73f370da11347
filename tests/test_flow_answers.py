"""The query flow's answers kept for the next run (flow_answers.py): an audit that takes them back
reports what an audit that composes them reports, on the real projects; a change to a Python
file, or to which files are application code, has them composed again; a change elsewhere (a
SQL migration) does not; a damaged file of answers is not read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import corpus_projects
from schemalens.analyzers import flow_answers, query_flow
from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.report.audit_json import audit_json
from schemalens.analyzers.workspace.index import WorkspaceIndex

SHOP = Path(__file__).resolve().parent.parent / "examples" / "shop"


def _audit(root: Path, cache: Path) -> tuple[dict, bool]:
    """The JSON report of an audit of `root` as a new process makes it (nothing kept in memory),
    with the parse cache in `cache`, and whether it took kept answers; its answers kept after."""
    query_flow._last_code_base.clear()
    model = WorkspaceIndex(root, cache_dir=cache).index_all()
    result = run_audit(model)
    taken = query_flow.last_code_base(model).answers_taken
    flow_answers.keep(model)
    return audit_json(model, result.findings, result.query_paths), taken


def _composed(root: Path, cache: Path) -> dict:
    """The JSON report of an audit that composes the flow's answers itself."""
    shutil.rmtree(cache, ignore_errors=True)
    report, taken = _audit(root, cache)
    assert not taken
    return report


@pytest.mark.skipif(not corpus_projects.available(), reason="the corpus (../shared/corpus) is not here")
@pytest.mark.parametrize("project", ["CTFd", "redash", "dispatch"])
def test_an_audit_that_takes_the_answers_reports_what_composing_them_reports(project, tmp_path):
    root = corpus_projects.unpacked(project)
    composed = _composed(root, tmp_path / "cache")
    report, taken = _audit(root, tmp_path / "cache")
    assert taken
    assert report["findings"] and report == composed


@pytest.fixture
def shop(tmp_path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("__pycache__"))
    _audit(root, tmp_path / "cache")  # answers kept for the workspace as copied
    return root


def _changed(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edit_of_a_python_file_has_the_answers_composed_again(shop, tmp_path):
    _changed(shop / "app/services/orders.py", "\n", "\n# one more line\n")
    report, taken = _audit(shop, tmp_path / "cache")
    assert not taken
    assert report == _composed(shop, tmp_path / "fresh")


def test_a_change_of_what_is_application_code_has_the_answers_composed_again(shop, tmp_path):
    _changed(shop / "pyproject.toml", "[tool.schemalens]\n", "[tool.schemalens]\nnon_application_paths = [\"tasks/\"]\n")
    report, taken = _audit(shop, tmp_path / "cache")
    assert not taken
    assert report == _composed(shop, tmp_path / "fresh")


def test_an_edit_of_a_sql_migration_takes_the_answers(shop, tmp_path):
    _changed(shop / "sql/migrations/V1__reporting_schema.sql", "\n", "\n-- one more line\n")
    report, taken = _audit(shop, tmp_path / "cache")
    assert taken
    assert report == _composed(shop, tmp_path / "fresh")


def test_a_damaged_file_of_answers_is_not_read(shop, tmp_path):
    kept, = (tmp_path / "cache").glob("*.flow.pickle")
    kept.write_bytes(kept.read_bytes()[:200])
    report, taken = _audit(shop, tmp_path / "cache")
    assert not taken
    assert report == _composed(shop, tmp_path / "fresh")
