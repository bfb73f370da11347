"""End to end in Emacs with eglot (Debian's emacs-nox and elpa-eglot): the configuration the
README gives starts the server on the bundled example (tests/editors/eglot.el)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
SCRIPT = Path(__file__).parent / "editors" / "eglot.el"

if not (shutil.which("emacs") and Path("/usr/share/emacs/site-lisp/elpa").is_dir()) \
        and not os.environ.get("SCHEMALENS_REQUIRE_EDITORS"):
    pytest.skip("Emacs with eglot is not installed (apt-get install emacs-nox elpa-eglot)", allow_module_level=True)


@pytest.fixture(scope="module")
def eglot_report(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("emacs")
    root = folder / "shop"
    shutil.copytree(EXAMPLE, root)
    out = folder / "report.json"
    environment = {**os.environ, "SCHEMALENS_ROOT": str(root), "SCHEMALENS_PYTHON": sys.executable,
                   "SCHEMALENS_OUT": str(out), "HOME": str(folder), "SCHEMALENS_CACHE_DIR": str(folder / "cache")}
    subprocess.run(["emacs", "--batch", "-Q", "-l", str(SCRIPT)], env=environment, timeout=240, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    report = json.loads(out.read_text())
    assert "error" not in report, report.get("error")
    return report


def test_eglot_shows_the_findings_of_a_model_file(eglot_report: dict):
    assert eglot_report["server"] == "schemalens"
    assert any("[SL401]" in text and "(user_id)" in text for text in eglot_report["diagnostics"])


def test_eglot_hover_and_code_actions(eglot_report: dict):
    assert "**orders**" in eglot_report["hover"] and "Migrations (newest first)" in eglot_report["hover"]
    assert any(title.startswith("SchemaLens: Ignore SL") for title in eglot_report["actions"])
