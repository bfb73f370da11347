"""The client's first message, read from standard input as the server starts, on a thread of its
own, while the server imports its modules (0.35 s): an editor sends `initialize` at once, and the
workspace root it names lets the parse worker read the workspace's files meanwhile
(parse_workers.start_early_worker, read_ahead.py). The server then reads the message as if
nothing had (`replayed`). Light to import: it runs before the server's imports.
"""

from __future__ import annotations

import io
import json
import re
import threading
from typing import BinaryIO, Callable, Optional
from urllib.parse import unquote, urlparse

_CONTENT_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)
_DRIVE = re.compile(r"/[A-Za-z]:")  # file:///c:/... on Windows


class FirstMessage:
    """Reads the first message of `stream`, then calls `on_root` with the workspace root it
    names (None: it names none, or it is not an `initialize` request, or it cannot be read)."""

    def __init__(self, stream: BinaryIO, on_root: Callable[[Optional[str]], None]) -> None:
        self._stream = stream
        self._read = io.BytesIO()
        self._thread = threading.Thread(target=self._read_first, args=(on_root,), name="schemalens-first-message",
                                        daemon=True)
        self._thread.start()

    def wait(self, seconds: float) -> None:
        """Wait up to `seconds` for the message to be read and handed to `on_root`."""
        self._thread.join(seconds)

    def replayed(self) -> _Replayed:
        """The stream, from its start: the message read, then the rest. Waits for the message."""
        self._thread.join()
        return _Replayed(self._read.getvalue(), self._stream)

    def _read_first(self, on_root: Callable[[Optional[str]], None]) -> None:
        try:
            body = self._message()
        except OSError:  # standard input closed or unreadable: the server's own read says so
            body = b""
        on_root(workspace_root(body))

    def _message(self) -> bytes:
        """The body of the first message ("" at the end of the stream, or without a length)."""
        length = None
        while line := self._stream.readline():
            self._read.write(line)
            if not line.strip():
                break
            if match := _CONTENT_LENGTH.fullmatch(line.strip()):
                length = int(match.group(1))
        if length is None:
            return b""
        body = self._stream.read(length)
        self._read.write(body)
        return body


def workspace_root(body: bytes) -> Optional[str]:
    """The folder of an `initialize` request's workspace, as pygls chooses it: `rootUri`, else
    `rootPath`, else the first of `workspaceFolders`; None if it names no local folder."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    params = message.get("params") if isinstance(message, dict) and message.get("method") == "initialize" else None
    if not isinstance(params, dict):
        return None
    if isinstance(params.get("rootUri"), str):
        return _local_path(params["rootUri"])
    if isinstance(params.get("rootPath"), str):
        return params["rootPath"]
    folders = params.get("workspaceFolders")
    if isinstance(folders, list) and folders and isinstance(folders[0], dict) and isinstance(folders[0].get("uri"), str):
        return _local_path(folders[0]["uri"])
    return None


def _local_path(uri: str) -> Optional[str]:
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = unquote(parsed.path)
    return path[1:] if _DRIVE.match(path) else path


class _Replayed:
    """`first` (bytes read from `stream` already), then `stream`: what pygls reads the messages
    from (`readline`, `read`)."""

    def __init__(self, first: bytes, stream: BinaryIO) -> None:
        self._first = io.BytesIO(first)
        self._stream = stream

    def readline(self) -> bytes:
        return self._first.readline() or self._stream.readline()

    def read(self, size: int) -> bytes:
        data = self._first.read(size)
        return data + self._stream.read(size - len(data)) if len(data) < size else data
