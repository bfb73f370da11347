"""A language server started again on a workspace nobody changed publishes the audit kept from
its last start at once, then rebuilds its index and republishes nothing (the real server over
stdio, driven by pytest-lsp)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from conftest import diagnostics_for, publications_of
from test_audit_cache import _service

MODELS = "app/models/accounts.py"
KEPT = "published the kept audit"


async def _session(root: Path, cache: Path) -> tuple[list, list[str], int]:
    """One editor session: open the models file, wait for the index. Its diagnostics, the
    server's log messages, and how many times the models file's diagnostics were published."""
    config = ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"],
                                server_env={"SCHEMALENS_CACHE_DIR": str(cache)})
    client = await config.start()
    uri = (root / MODELS).as_uri()
    published = publications_of(client, uri)

    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="service")]))
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=uri, language_id="python", version=1, text=(root / MODELS).read_text(encoding="utf-8"))))
        diagnostics = await diagnostics_for(client, uri, lambda d: any(x.code == "SL701" for x in d))
        while not any("indexed" in m.message for m in client.log_messages):
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # anything the rebuild republishes arrives now
        return diagnostics, [m.message for m in client.log_messages], len(published)
    finally:
        await client.shutdown_session()


@pytest.mark.asyncio
async def test_an_unchanged_workspace_gets_its_kept_audit_at_once(tmp_path: Path):
    root, cache = _service(tmp_path), tmp_path / "cache"
    first, first_log, _ = await _session(root, cache)
    assert not any(KEPT in message for message in first_log)
    again, again_log, times = await _session(root, cache)
    assert any(KEPT in message for message in again_log)
    assert again == first and times == 1  # the rebuild found the same and published nothing more


@pytest.mark.asyncio
async def test_a_changed_workspace_is_audited_again(tmp_path: Path):
    root, cache = _service(tmp_path), tmp_path / "cache"
    await _session(root, cache)
    models = root / MODELS
    models.write_text(models.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    _, log, _ = await _session(root, cache)
    assert not any(KEPT in message for message in log)


@pytest.mark.asyncio
async def test_the_query_flow_answers_are_kept_for_the_next_start(tmp_path: Path):
    root, cache = _service(tmp_path), tmp_path / "cache"
    await _session(root, cache)
    kept, = cache.glob("*.flow.pickle")  # written at the pause after the index, or at shutdown
    written = kept.stat().st_mtime_ns
    await _session(root, cache)
    assert kept.stat().st_mtime_ns == written  # the second start took them back: nothing new to write
