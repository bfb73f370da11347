"""Files that fit the project: they pass ruff's default rules, the project's alembic.ini
post_write_hooks run on them as `alembic revision` runs them, and revision ids and file names
follow a history of timestamp ids. Alembic itself is the oracle for hooks and the chain."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import corpus_projects
from schemalens.analyzers.scaffold import ChangeRequest, scaffold, write_files
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.commands import main

from conftest import FIXTURES
from test_scaffold_corpus import CASES as REDASH_CASES
from test_scaffold_postgres import CASES

alembic_command = pytest.importorskip("alembic.command")
from alembic.config import Config  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402

VERSIONS = "migrations/versions"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "scaffold_project", root)
    return root


def _ruff(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *arguments], capture_output=True, text=True)


def _ruff_codes(texts: list[str], folder: Path, *select: str) -> dict[str, list[str]]:
    """Rule code -> the places ruff reports it, with no configuration but `select`."""
    folder.mkdir()
    for position, text in enumerate(texts):
        (folder / f"revision_{position}.py").write_text(text)
    result = _ruff("check", "--isolated", "--no-cache", "--output-format", "json", *(("--select", ",".join(select)) if select else ()),
                   str(folder))
    codes: dict[str, list[str]] = {}
    for violation in json.loads(result.stdout):
        codes.setdefault(violation["code"], []).append(f"{Path(violation['filename']).name}:{violation['location']['row']} "
                                                       f"{violation['message']}")
    return codes


def _alembic_own_revision(template: Path, folder: Path) -> str:
    """What `alembic revision` writes from the same script.py.mako."""
    (folder / "versions").mkdir(parents=True)
    shutil.copy(template, folder / "script.py.mako")
    config = Config()
    config.set_main_option("script_location", str(folder))
    return Path(alembic_command.revision(config, message="probe").path).read_text()


def _assert_lint_clean(texts: list[str], template: Path, tmp_path: Path) -> None:
    # The rules ruff enabled by default before 0.16, which every version keeps: none at all.
    assert _ruff_codes(texts, tmp_path / "classic", "E4", "E7", "E9", "F") == {}
    # This ruff's own default rules: nothing beyond what the project's template gives Alembic's own files.
    own = _ruff_codes([_alembic_own_revision(template, tmp_path / "alembic")], tmp_path / "baseline")
    added = {code: places for code, places in _ruff_codes(texts, tmp_path / "defaults").items() if code not in own}
    assert added == {}


def test_files_of_every_change_pass_ruffs_default_rules(project: Path, tmp_path: Path):
    model = WorkspaceIndex(project).index_all()
    texts = [revision_file.text for case in CASES for revision_file in scaffold(model, case.request)[0]]
    assert len(texts) >= 20
    _assert_lint_clean(texts, project / "migrations" / "script.py.mako", tmp_path)


def test_files_written_with_redashs_template_pass_ruffs_default_rules(tmp_path: Path):
    source = corpus_projects.unpacked("redash")
    if source is None:
        pytest.skip(f"the corpus is not at {corpus_projects.CORPUS}")
    model = WorkspaceIndex(source).index_all()
    texts = [revision_file.text for case in REDASH_CASES for revision_file in scaffold(model, case.request)[0]]
    _assert_lint_clean(texts, source / "migrations" / "script.py.mako", tmp_path)


RECORD_HOOK = '''import json, os, sys
with open(os.environ["SCHEMALENS_HOOK_LOG"], "a") as log:
    log.write(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd()}) + "\\n")
'''


def test_post_write_hooks_run_on_scaffolded_files_as_alembic_revision_runs_them(project: Path, tmp_path: Path, monkeypatch):
    hook_log = tmp_path / "hooks.jsonl"
    (tmp_path / "record.py").write_text(RECORD_HOOK)
    monkeypatch.setenv("SCHEMALENS_HOOK_LOG", str(hook_log))
    with (project / "alembic.ini").open("a") as ini:
        ini.write(f"\n[post_write_hooks]\nhooks = record, ruff_format\n"
                  f"record.type = exec\nrecord.executable = {sys.executable}\n"
                  f"record.options = {tmp_path / 'record.py'} --file REVISION_SCRIPT_FILENAME\n"
                  f"ruff_format.type = exec\nruff_format.executable = {sys.executable}\n"
                  "ruff_format.options = -m ruff format --isolated --no-cache REVISION_SCRIPT_FILENAME\n")
    config = Config(str(project / "alembic.ini"))
    script = alembic_command.revision(config, message="by alembic")
    by_alembic = [json.loads(line) for line in hook_log.read_text().splitlines()]
    assert by_alembic == [{"argv": ["--file", script.path], "cwd": by_alembic[0]["cwd"]}]
    unformatted = scaffold(WorkspaceIndex(project).index_all(),
                           ChangeRequest("rename-column", "orders", column="status", new_name="state"))[0]
    hook_log.unlink()
    Path(script.path).unlink()

    assert main(["scaffold", "rename-column", "--table", "orders", "--column", "status", "--new-name", "state",
                 "--path", str(project), "--no-cache"]) == 0
    written = sorted((project / VERSIONS).glob("*_rename_orders_status_to_state_*.py"))
    recorded = [json.loads(line) for line in hook_log.read_text().splitlines()]
    assert sorted(entry["argv"][1] for entry in recorded) == [str(path) for path in written]
    assert {entry["cwd"] for entry in recorded} == {by_alembic[0]["cwd"]} and all(entry["argv"][0] == "--file" for entry in recorded)
    # ruff format ran on them (the scaffold's own layout is not ruff's), and left them formatted
    assert sorted(path.read_text() for path in written) != sorted(f.text for f in unformatted)
    check = _ruff("format", "--isolated", "--no-cache", "--check", *map(str, written))
    assert check.returncode == 0, check.stdout


TIMESTAMP_REVISION = '''"""{message}

Revision ID: {revision}
Revises: {down}
"""
from alembic import op

revision = "{revision}"
down_revision = {down_repr}


def upgrade():
    {body}


def downgrade():
    pass
'''


@pytest.mark.parametrize("now, expected", [
    (datetime.datetime(2026, 11, 30, 9, 5, 7), ["20261130090507", "20261130090508"]),
    # a clock behind the newest id: new ids still come after it
    (datetime.datetime(2024, 1, 1, 0, 0, 0), ["20250612143002", "20250612143003"]),
])
def test_a_history_of_timestamp_ids_gets_timestamp_ids_and_its_file_template(project: Path, now, expected):
    """dispatch's file_template (`%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s`) over a history of
    14-digit timestamp ids: new ids are timestamps after the newest, files named by the template,
    and Alembic reads the chain with the new head."""
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace("%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s",
                                           "%%(year)d-%%(month).2d-%%(day).2d_%%(rev)s"))
    for path in (project / VERSIONS).iterdir():
        path.unlink()
    history = [("20250101000000", None, "op.create_table('orders', __import__('sqlalchemy').Column('id', "
                                        "__import__('sqlalchemy').BigInteger(), primary_key=True), "
                                        "__import__('sqlalchemy').Column('qty', __import__('sqlalchemy').Integer()))"),
               ("20250612143001", "20250101000000", "pass")]
    for revision, down, body in history:
        (project / VERSIONS / f"{revision[:4]}-{revision[4:6]}-{revision[6:8]}_{revision}.py").write_text(TIMESTAMP_REVISION.format(
            message=revision, revision=revision, down=down or "", down_repr=repr(down), body=body))
    model = WorkspaceIndex(project).index_all()
    files, used = scaffold(model, ChangeRequest("add-check", "orders", column="qty", check="qty > 0"), now=now)
    assert [f.revision for f in files] == expected
    assert [Path(f.path).name for f in files] == [f"{now:%Y-%m-%d}_{revision}.py" for revision in expected]
    write_files(project, files, used.versions)
    script = ScriptDirectory.from_config(Config(str(ini)))
    assert script.get_heads() == [expected[-1]]
    assert [r.revision for r in script.walk_revisions()] == [*reversed(expected), "20250612143001", "20250101000000"]
