"""The language server keeps the code attrs, cattrs and dataclasses wrote until its first index
was published, for its next start: the rules' classes and the first messages' (un)structuring
functions come after its imports (cli/written_methods.py; the real server over stdio)."""

from __future__ import annotations

import asyncio
import marshal
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig

from schemalens.written_methods import cache_file
from test_audit_cache import _service


@pytest.mark.asyncio
async def test_the_code_written_until_the_first_index_is_kept_once_it_is_published(tmp_path: Path):
    kept = cache_file("lsp")
    kept.unlink(missing_ok=True)  # a first start: it compiles everything and writes the file
    root = _service(tmp_path)
    config = ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"],
                                server_env={"SCHEMALENS_CACHE_DIR": str(tmp_path / "cache")})  # bytecode written
    client = await config.start()
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="service")]))
        while not any("indexed" in m.message for m in client.log_messages):
            await asyncio.sleep(0.02)
        for _ in range(500):  # written after the index, before any shutdown
            if kept.exists():
                break
            await asyncio.sleep(0.02)
        assert kept.exists()
    finally:
        await client.shutdown_session()
    _magic, _format, scripts = marshal.loads(kept.read_bytes())
    assert "<cattrs generated structure lsprotocol.types.InitializeParams>" in {name for name, _digest in scripts}
