"""The server process and its client: log records go to the client's log (`window/logMessage`)
at their level, never to standard error (which editors show as errors: Neovim logs every stderr
line at ERROR); and the server exits when the client process dies without a word."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.util
import os
import threading
from collections import deque
from typing import Callable

from lsprotocol import types

log = logging.getLogger(__name__)

_MESSAGE_TYPES = ((logging.ERROR, types.MessageType.Error), (logging.WARNING, types.MessageType.Warning),
                  (logging.INFO, types.MessageType.Info), (logging.NOTSET, types.MessageType.Log))


def message_type(level: int) -> types.MessageType:
    """The LSP message type of a logging level."""
    return next(kind for threshold, kind in _MESSAGE_TYPES if level >= threshold)


class ClientLogHandler(logging.Handler):
    """Sends log records to the client as `window/logMessage`. Records may come from any
    thread (the analysis thread, pygls's reader): each is handed to the event loop. Records
    logged before the client is connected wait (the last 100) and go out once it is.

    A record logged while a message is being sent (pygls logs a failed write) is dropped:
    sending it would fail the same way, again and again."""

    def __init__(self, send: Callable[[types.LogMessageParams], None]) -> None:
        super().__init__(logging.DEBUG)
        self._send = send
        self._loop = None
        self._waiting: deque[types.LogMessageParams] = deque(maxlen=100)
        self._sending = threading.local()
        self.setFormatter(logging.Formatter("schemalens: %(message)s"))

    def connect(self, loop) -> None:
        """Start sending, on `loop` (the server's event loop)."""
        self._loop = loop
        while self._waiting:
            loop.call_soon_threadsafe(self._deliver, self._waiting.popleft())

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._sending, "active", False):
            return
        try:
            message = types.LogMessageParams(type=message_type(record.levelno), message=self.format(record))
        except Exception:  # a record that cannot be formatted must not take the server down
            self.handleError(record)
            return
        if self._loop is None:
            self._waiting.append(message)
            return
        try:
            self._loop.call_soon_threadsafe(self._deliver, message)
        except RuntimeError:  # the loop is closed: the server is exiting
            pass

    def _deliver(self, message: types.LogMessageParams) -> None:
        self._sending.active = True
        try:
            self._send(message)
        except Exception:  # the client is gone
            pass
        finally:
            self._sending.active = False


def configure_logging(handler: ClientLogHandler, *, keep_stderr: bool) -> None:
    """SchemaLens's records from INFO, pygls's from WARNING (it logs every message it sends at
    INFO), all through `handler`. Over stdio nothing else is written to standard error: the
    handlers that were there (the CLI's) are removed. Over TCP or a WebSocket the terminal keeps
    them too."""
    root = logging.getLogger()
    if not keep_stderr:
        for existing in list(root.handlers):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("schemalens").setLevel(logging.INFO)
    logging.getLogger("pygls").setLevel(logging.WARNING)


def end_process(code: int) -> None:
    """End the server now, and the parse workers of an index that is running (they would wait
    for each other's pipes and outlive it). Not a clean shutdown: that would wait for the
    analysis thread, and for a thread blocked reading a standard input nobody writes to. Every
    file SchemaLens writes is written then renamed, so nothing is left half-written.

    The worker pools' semaphores are released first, by multiprocessing's own finalizers of
    priority 0 and above, as a normal exit runs them (those below join threads, which could
    wait): else its resource tracker, which outlives the server, warns of them on standard error.
    The threads of a pool whose workers are killed fail in the moments before the end (its
    manager, its queue's feeder): nothing to report, and standard error stays empty (one end in
    ten wrote their tracebacks there)."""
    threading.excepthook = _ended
    try:
        for child in multiprocessing.active_children():
            child.kill()
        multiprocessing.util._run_finalizers(0)
    except Exception:  # exiting anyway
        pass
    os._exit(code)


def _ended(_failure: threading.ExceptHookArgs) -> None:
    """threading.excepthook while the process ends: a thread that fails then reports nothing."""


# The client's process: checked this often, so that the server is gone within 2 s of it.
CLIENT_CHECK_SECONDS = 0.5


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


class ClientWatchdog(threading.Thread):
    """Exits the server when the client process dies: an editor that crashes sends no shutdown,
    and one that leaves the pipe open (a child process holds it) never closes standard input.

    A thread of its own, not a task on the event loop: it must fire while the event loop or the
    analysis thread is busy (a long first index). A client whose process id does not exist
    here at the start (it runs in another PID namespace: a container, a remote host) is not
    watched."""

    def __init__(self, pid: int, exit_process: Callable[[int], None] = end_process,
                 interval: float = CLIENT_CHECK_SECONDS) -> None:
        super().__init__(name="schemalens-client-watchdog", daemon=True)
        self.pid, self.interval = pid, interval
        self._exit = exit_process
        self._stopping = threading.Event()
        self._parent = os.getppid()

    def start_watching(self) -> bool:
        if not process_exists(self.pid):
            log.info("client process %d is not visible from here; not watching it", self.pid)
            return False
        self.start()
        return True

    def stop(self) -> None:
        self._stopping.set()

    def client_is_gone(self) -> bool:
        # A dead parent stays a zombie (kill() still finds it) until its own parent reaps it;
        # by then this process has a new parent.
        return not process_exists(self.pid) or (self.pid == self._parent and os.getppid() != self._parent)

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            if self.client_is_gone():
                self._exit(0)
                return
