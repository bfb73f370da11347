"""On a cold start of a workspace with many Python files, the language server publishes what the
models and migrations show before it reads the code, then what the code adds, and never takes a
published finding back; an open file they show nothing in is said to have nothing yet, then
(the real server over stdio, driven by pytest-lsp)."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from schemalens.server.app import _done_on_the_loop

from conftest import publication_order, publications_of
from test_audit_cache import _service

MODELS = "app/models/accounts.py"
MODULES = 220  # more Python files than a one-pass index is worth (index._SCHEMA_FIRST_MINIMUM)


async def _session(root: Path, cache: Path, opened: Optional[str] = None,
                   order: Optional[list[str]] = None) -> tuple[list[list[types.Diagnostic]], list[str]]:
    """One editor session until the index ends: every publication of the models file's
    diagnostics (of `opened`'s, opened at once, when given), in order, and the server's log
    messages. `order`: filled with the file of every publication, in order."""
    config = ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"],
                                server_env={"SCHEMALENS_CACHE_DIR": str(cache)})
    client = await config.start()
    published = publications_of(client, (root / (opened or MODELS)).as_uri())
    publications = publication_order(client)
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="service")]))
        if opened:
            client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
                uri=(root / opened).as_uri(), language_id="python", version=1,
                text=(root / opened).read_text(encoding="utf-8"))))
        for _ in range(3000):
            if any("indexed" in m.message for m in client.log_messages):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
    finally:
        await client.shutdown_session()
    if order is not None:
        order += publications
    return published, [m.message for m in client.log_messages]


def _reports(root: Path) -> Path:
    (root / "app" / "reports").mkdir()
    for number in range(MODULES):
        (root / "app" / "reports" / f"report_{number}.py").write_text(
            f"def total_{number}(rows):\n    return sum(row.amount for row in rows)\n", encoding="utf-8")
    return root


@pytest.mark.asyncio
async def test_the_schema_findings_come_first_and_stay(tmp_path: Path):
    root, cache = _reports(_service(tmp_path)), tmp_path / "cache"
    cold = await _session(root, cache)
    (root / "app" / "reports" / "report_0.py").write_text("def total_0(rows):\n    return 0\n", encoding="utf-8")
    warm = await _session(root, cache)  # one file changed: the parse cache serves the rest
    for published, log in (cold, warm):
        assert any("the checks of the code follow" in message for message in log)
        first, last = [{(d.code, d.range.start.line) for d in diagnostics} for diagnostics in (published[0], published[-1])]
        assert "SL401" in {code for code, _ in first}  # the models' own findings, at once
        # plaintext secrets wait for the code that writes them, placeholder defaults for the code
        # that may add to the column as a running total
        assert {"SL701", "SL205"}.isdisjoint({code for code, _ in first})
        assert {"SL701", "SL205"} <= {code for code, _ in last}
        assert first <= last


@pytest.mark.asyncio
async def test_an_open_file_they_find_nothing_in_is_published_with_them(tmp_path: Path):
    root, cache = _reports(_service(tmp_path)), tmp_path / "cache"
    published, log = await _session(root, cache, opened="app/reports/report_1.py")
    # with the models' findings, then again when the index ends, as for every file opened
    assert len(published) == 2 and not any(published)
    assert any("the checks of the code follow" in message for message in log)


@pytest.mark.asyncio
async def test_the_open_file_is_published_before_the_others(tmp_path: Path):
    root, cache, order = _reports(_service(tmp_path)), tmp_path / "cache", []
    opened = "migrations/versions/0003_rename.py"  # the last, by name, of the files with findings
    published, _ = await _session(root, cache, opened=opened, order=order)
    # the first look publishes every file it finds something in, the open one first
    assert order[0] == (root / opened).as_uri() and published[0]
    assert len(set(order)) > 2


def test_the_index_goes_on_once_the_first_look_is_sent():
    """The index's thread waits for the publication it asked of the event loop's (both would
    share the interpreter), and goes on after a while when the loop does not run it."""
    loop = asyncio.new_event_loop()
    running = threading.Thread(target=loop.run_forever, daemon=True)
    running.start()
    try:
        sent: list[str] = []
        _done_on_the_loop(loop, lambda: (time.sleep(0.2), sent.append("published")))
        assert sent == ["published"]
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result()  # a loop that runs again
        loop.call_soon_threadsafe(time.sleep, 3)  # a loop busy elsewhere
        started = time.monotonic()
        _done_on_the_loop(loop, lambda: sent.append("late"))
        assert time.monotonic() - started < 2.5 and sent == ["published"]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        running.join(timeout=5)
        loop.close()
