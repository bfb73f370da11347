"""End to end in a real third-party editor: headless Neovim (Debian's package) starts the
server over stdio on the bundled example and records what it shows (tests/editors/neovim.lua)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
SCRIPT = Path(__file__).parent / "editors" / "neovim.lua"
REVISION = "migrations/versions/7c3e5a9f0d48_bigint_order_item_ids_and_orders_created_index.py"
CJK_FILE = "app/models/order.py"
PAID_AT = "    paid_at = db.Column(db.DateTime)"
CJK_LINE = '    note_zh = "订单标签颜色😀🏷"; paid_at = db.Column(db.DateTime)  # 支付时间 ⏰'


@pytest.fixture(scope="module")
def neovim_report(tmp_path_factory) -> dict:
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
    subprocess.run(["nvim", "--headless", "--clean", "-n", "-i", "NONE", "-c", f"luafile {SCRIPT}"],
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


