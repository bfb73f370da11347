"""When the language server audits: a change that leaves the workspace model as it was (a file
opened or saved as the index read it) publishes nothing new and runs no audit."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.server.app import SchemaLensServer
from schemalens.server.positions import Positions

SERVICE = Path(__file__).parent / "fixtures" / "flask_service"
MODELS = "app/models/accounts.py"


def _server(tmp_path: Path) -> tuple[SchemaLensServer, list[str], list]:
    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    server = SchemaLensServer()
    server.root = root.resolve()
    server.index = WorkspaceIndex(server.root, workers=1)
    # no client: no open buffers, no open documents to publish first
    server.positions = lambda: Positions("utf-16", server.index.text_of)
    server._open_uris = dict
    published: list = []
    server.text_document_publish_diagnostics = published.append
    audits: list[str] = []
    audit = SchemaLensServer._audit

    def counted(index, model, kept=None):
        audits.append("audit")
        return audit(index, model, kept)
    server._audit = counted
    return server, audits, published


def test_opening_a_file_as_the_index_read_it_runs_no_audit(tmp_path: Path):
    server, audits, published = _server(tmp_path)

    async def scenario():
        await server.reindex()
        await server.settled()
        assert audits == ["audit"] and published
        published.clear()
        server.pending[MODELS] = (server.root / MODELS).read_text()
        await server.apply_pending()
        await server.settled()
        assert audits == ["audit"] and published == []

    asyncio.run(scenario())


def test_an_edit_that_changes_the_model_is_audited(tmp_path: Path):
    server, audits, published = _server(tmp_path)

    async def scenario():
        await server.reindex()
        await server.settled()
        text = (server.root / MODELS).read_text()
        server.pending[MODELS] = text.replace("    phone = db.Column(db.String(32))\n", "")
        await server.apply_pending()
        await server.settled()
        assert audits == ["audit", "audit"]
        models = [params for params in published if params.uri.endswith(MODELS)]
        assert "SL701" in {d.code for d in models[0].diagnostics}
        assert "SL701" not in {d.code for d in models[-1].diagnostics}

    asyncio.run(scenario())


def test_the_files_not_open_are_published_once_edits_pause(tmp_path: Path):
    """No file is open here: an edit's diagnostics wait OTHERS_AFTER_SECONDS, and an edit sent
    meanwhile takes their place; once edits pause, the last one's are published."""
    server, audits, published = _server(tmp_path)

    async def scenario():
        await server.reindex()
        await server.settled()
        published.clear()
        text = (server.root / MODELS).read_text()
        server.pending[MODELS] = text.replace("    phone = db.Column(db.String(32))\n", "")
        await server.apply_pending()
        assert published == []
        server.pending[MODELS] = text
        await server.apply_pending()
        await server.settled()
        assert audits == ["audit", "audit", "audit"] and published == []  # as the index published them

    asyncio.run(scenario())
