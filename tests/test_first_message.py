"""The client's first message, read as the language server starts (server/first_message.py): the
workspace root it names goes to the early parse worker, and the server then reads every message,
that one included, byte for byte as the client sent them."""

from __future__ import annotations

import json
import os
import threading

import pytest

from schemalens.server.first_message import FirstMessage, workspace_root


def _message(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _initialize(**params) -> bytes:
    return _message({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}, **params}})


def _read_as_pygls(stream) -> list[bytes]:
    """Each message as pygls reads it: its header lines, one at a time, to the blank line, then
    a read of its body's length."""
    messages = []
    while header := stream.readline():
        message, length = header, None
        while header.strip():
            if header.startswith(b"Content-Length:"):
                length = int(header.split(b":")[1])
            header = stream.readline()
            message += header
        messages.append(message + (stream.read(length) if length is not None and header else b""))
    return messages


def _served(sent: bytes) -> tuple[list, list[bytes]]:
    """(the roots handed on, what the server reads) when the client sends `sent` and closes."""
    reading, writing = os.pipe()
    roots: list = []
    handed = threading.Event()
    with open(reading, "rb") as stream:
        first = FirstMessage(stream, lambda root: (roots.append(root), handed.set()))
        with open(writing, "wb") as client:
            client.write(sent)
        assert handed.wait(10)
        return roots, _read_as_pygls(first.replayed())


def test_the_server_reads_every_message_as_the_client_sent_them():
    sent = [_initialize(rootUri="file:///work/my%20shop", workspaceFolders=None),
            _message({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            _message({"jsonrpc": "2.0", "id": 1, "method": "shutdown"})]
    roots, read = _served(b"".join(sent))
    assert roots == ["/work/my shop"] and read == sent


@pytest.mark.parametrize("sent", [b"", b"Content-Length: 12\r\n", b"X-Other: 1\r\n\r\n{}",
                                  _message({"jsonrpc": "2.0", "method": "initialized"}), b"Content-Length: 4\r\n\r\n{[}]"])
def test_a_first_message_that_names_no_workspace_hands_on_none(sent):
    roots, read = _served(sent)
    assert roots == [None] and b"".join(read) == sent


@pytest.mark.parametrize(("params", "root"), [
    ({"rootUri": "file:///srv/app", "rootPath": "/elsewhere"}, "/srv/app"),
    ({"rootUri": None, "rootPath": "/srv/app"}, "/srv/app"),
    ({"workspaceFolders": [{"uri": "file:///srv/a", "name": "a"}, {"uri": "file:///srv/b", "name": "b"}]}, "/srv/a"),
    ({"rootUri": "file:///c%3A/work/app"}, "c:/work/app"),
    ({"rootUri": "file://host/share/app"}, None),
    ({"rootUri": "untitled:Untitled-1"}, None),
    ({}, None),
])
def test_the_workspace_root_is_the_one_pygls_chooses(params, root):
    assert workspace_root(_initialize(**params).partition(b"\r\n\r\n")[2]) == root


def test_a_request_other_than_initialize_names_no_root():
    body = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "shutdown", "params": {"rootUri": "file:///srv/app"}})
    assert workspace_root(body.encode()) is None
