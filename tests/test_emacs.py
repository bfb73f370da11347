"""End to end in Emacs with eglot (Debian's emacs-nox and elpa-eglot): the configuration the
README gives starts the server on the bundled example (tests/editors/eglot.el)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
SCRIPT = Path(__file__).parent / "editors" / "eglot.el"
README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent  # where `schemalens` is installed


def readme_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    return re.search(r"```elisp\n(.*?)```", text[text.index("Emacs 28+ with eglot"):], re.S).group(1)

if not (shutil.which("emacs") and Path("/usr/share/emacs/site-lisp/elpa").is_dir()) \
        and not os.environ.get("SCHEMALENS_REQUIRE_EDITORS"):
    pytest.skip("Emacs with eglot is not installed (apt-get install emacs-nox elpa-eglot)", allow_module_level=True)


@pytest.fixture(scope="module")
def eglot_report(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("emacs")
    root = folder / "shop"
    shutil.copytree(EXAMPLE, root)
    out = folder / "report.json"
    snippet = folder / "schemalens-eglot.el"
    snippet.write_text(readme_snippet())
    environment = {**os.environ, "SCHEMALENS_ROOT": str(root), "SCHEMALENS_PYTHON": sys.executable,
                   "SCHEMALENS_SNIPPET": str(snippet), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   "SCHEMALENS_OUT": str(out), "HOME": str(folder), "SCHEMALENS_CACHE_DIR": str(folder / "cache")}
    subprocess.run(["emacs", "--batch", "-Q", "-l", str(SCRIPT)], env=environment, timeout=240, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)
    report = json.loads(out.read_text())
    assert "error" not in report, report.get("error")
    return report


def test_eglot_shows_the_findings_of_a_model_file(eglot_report: dict):
    assert eglot_report["server"] == "schemalens"
    assert eglot_report["program"] == '("schemalens" "lsp")', "the README's configuration started the server"
    assert any("[SL401]" in text and "(user_id)" in text for text in eglot_report["diagnostics"])


def test_eglot_hover_and_code_actions(eglot_report: dict):
    assert "**orders**" in eglot_report["hover"] and "Migrations (newest first)" in eglot_report["hover"]
    assert eglot_report["class_hover"].startswith("**orders**")
    titles = eglot_report["actions"]
    assert any(title.startswith("SchemaLens: Ignore SL") and title.endswith("on this line") for title in titles)
    assert any(title.startswith("SchemaLens: Ignore SL") and title.endswith("in this file") for title in titles)
