"""The server's protocol keeps no future of a handler that is done (server/protocol.py): pygls 2.1
kept one per notification, and the server grew with every edit."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from schemalens.server.app import SchemaLensServer


@pytest.mark.asyncio
async def test_notifications_leave_no_futures_behind():
    server = SchemaLensServer()  # not started: its protocol runs handlers all the same
    protocol = server.protocol
    calls = []

    @server.feature("custom/ping")
    async def ping(ls, params):
        calls.append(params)

    for number in range(20):
        protocol._handle_notification("custom/ping", number)
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(calls) == 20
    assert protocol._request_futures == {}


@pytest.mark.asyncio
async def test_a_built_in_notification_leaves_no_futures_behind(tmp_path):
    server = SchemaLensServer()
    protocol = server.protocol
    (tmp_path / "a.py").write_text("x = 1\n")
    uri = (tmp_path / "a.py").as_uri()
    protocol._handle_notification(types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text="x = 1\n")))
    for _ in range(10):
        await asyncio.sleep(0.01)
    assert protocol._request_futures == {}
