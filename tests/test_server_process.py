"""The server process as an editor runs it over stdio: it exits within 2 s when the editor dies
(also while the first index runs on the analysis thread, also when the pipe stays open), and it
writes nothing to standard error: its log goes to the client as window/logMessage."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from schemalens.analyzers.workspace.discovery import project_root
from workspace_files import bench_generator

SERVICE = Path(__file__).parent / "fixtures" / "flask_service"
EXIT_SECONDS = 2.0


class RawClient:
    """A minimal LSP client over the server's pipes, so that a test can kill the 'editor' or
    close the pipe at any moment and watch what the server writes where."""

    def __init__(self, cache: Path, pid: int) -> None:
        environment = {**os.environ, "SCHEMALENS_CACHE_DIR": str(cache)}
        self.server = subprocess.Popen([sys.executable, "-m", "schemalens", "lsp"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
        self.pid = pid
        self.messages: queue.Queue = queue.Queue()
        self.received: list[dict] = []
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        # reads until every process that holds the server's standard error ends (its children too)
        self.stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.stderr_reader.start()
        self._ids = iter(range(1, 10_000))

    def _read(self) -> None:
        stream = self.server.stdout
        while True:
            header = stream.readline()
            if not header:
                return
            if header.lower().startswith(b"content-length:"):
                length = int(header.split(b":")[1])
                while stream.readline() not in (b"\r\n", b""):
                    pass
                self.messages.put(json.loads(stream.read(length)))

    def _read_stderr(self) -> None:
        self.stderr = self.server.stderr.read()

    def send(self, payload: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **payload}).encode()
        self.server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.server.stdin.flush()

    def request(self, method: str, params: dict) -> dict:
        number = next(self._ids)
        self.send({"id": number, "method": method, "params": params})
        return self.wait_for(lambda message: message.get("id") == number and "method" not in message)

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=0.1)
            except queue.Empty:
                continue
            self.received.append(message)
            if "id" in message and "method" in message:  # a request from the server: accept it
                self.send({"id": message["id"], "result": None})
            if predicate(message):
                return message
        raise AssertionError(f"timed out; received {[m.get('method') for m in self.received]}")

    def initialize(self, root: Path, capabilities: dict | None = None, **params) -> dict:
        result = self.request("initialize", {"processId": self.pid, "rootUri": root.as_uri(),
                                             "capabilities": capabilities or {}, **params})
        self.send({"method": "initialized", "params": {}})
        return result

    def log_messages(self) -> list[dict]:
        return [m["params"] for m in self.received if m.get("method") == "window/logMessage"]

    def close(self) -> None:
        if self.server.poll() is None:
            self.server.kill()
        self.server.wait()


def _editor() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _seconds_to_exit(server: subprocess.Popen, limit: float = 30) -> float:
    started = time.monotonic()
    server.wait(timeout=limit)
    return time.monotonic() - started


@pytest.fixture
def service(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    return root


@pytest.fixture(scope="module")
def large_workspace(tmp_path_factory) -> Path:
    """A workspace whose cold index takes seconds (300 model modules, 600 revisions)."""
    root = tmp_path_factory.mktemp("large") / "workspace"
    bench_generator().generate_workspace(root, models=300, revisions=600, sql=50)
    return root


def test_the_server_exits_within_2_s_when_the_client_process_dies(service: Path, tmp_path: Path):
    editor = _editor()
    client = RawClient(tmp_path / "cache", editor.pid)
    try:
        client.initialize(service)
        client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics")
        assert client.server.poll() is None
        editor.kill()
        editor.wait()
        assert _seconds_to_exit(client.server) < EXIT_SECONDS
    finally:
        editor.kill()
        client.close()


def test_the_server_exits_within_2_s_when_the_client_dies_while_indexing(large_workspace: Path, tmp_path: Path):
    """The pipe stays open (a child of the editor may hold it): only the process id tells."""
    editor = _editor()
    client = RawClient(tmp_path / "cache", editor.pid)
    try:
        client.initialize(large_workspace)
        time.sleep(1.0)
        assert not any("indexed" in m["message"] for m in client.log_messages()), "the index should still run"
        workers = _children(client.server.pid)
        editor.kill()
        editor.wait()
        assert _seconds_to_exit(client.server) < EXIT_SECONDS
        deadline = time.monotonic() + 10
        while any(_alive(worker) for worker in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(worker) for worker in workers), "parse workers outlived the server"
    finally:
        editor.kill()
        client.close()


def test_the_server_exits_within_2_s_when_the_pipe_closes_while_indexing(large_workspace: Path, tmp_path: Path):
    """An editor that exits closes the pipe: the server does not wait for the index to finish.
    It writes nothing to standard error as it ends: its parse workers' semaphores are released,
    else multiprocessing's resource tracker warns of them there, and editors log that as an error."""
    client = RawClient(tmp_path / "cache", os.getpid())
    try:
        client.initialize(large_workspace)
        time.sleep(1.0)
        assert not any("indexed" in m["message"] for m in client.log_messages()), "the index should still run"
        client.server.stdin.close()
        assert _seconds_to_exit(client.server) < EXIT_SECONDS
        client.stderr_reader.join(timeout=10)
    finally:
        client.close()
    assert client.stderr == b""


def test_a_thread_that_fails_as_the_server_ends_writes_nothing():
    """What the pipe test above meets one end in ten (a worker pool's thread failing once its
    workers are killed), made certain: the thread fails while end_process runs, and the process
    ends with standard error empty and its own exit status."""
    script = (
        "import threading\n"
        "from schemalens.server import process\n"
        "failing = threading.Event()\n"
        "def pool_thread():\n"
        "    failing.wait()\n"
        "    raise OSError('its worker was killed')\n"
        "thread = threading.Thread(target=pool_thread)\n"
        "thread.start()\n"
        "def finalizers(minpriority=None):\n"
        "    failing.set()\n"
        "    thread.join()\n"
        "process.multiprocessing.util._run_finalizers = finalizers\n"
        "process.end_process(3)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (3, b"")


def test_a_client_in_another_pid_namespace_is_not_taken_for_dead(service: Path, tmp_path: Path):
    """A process id this machine does not have (a container's editor, a remote host): the server
    keeps serving instead of exiting at once."""
    unused = next(pid for pid in range(4_000_000, 3_000_000, -1) if not Path(f"/proc/{pid}").exists())
    client = RawClient(tmp_path / "cache", unused)
    try:
        client.initialize(service)
        client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics")
        time.sleep(1.5)
        assert client.server.poll() is None
    finally:
        client.close()


def test_logs_go_to_the_client_at_their_level_and_nothing_to_stderr(service: Path, tmp_path: Path):
    """Neovim logs every stderr line as an ERROR: the server's notes go through logMessage."""
    client = RawClient(tmp_path / "cache", os.getpid())
    try:
        client.initialize(service, initializationOptions={"schemalens": {"dialect": "oracle"}})  # a wrong value: a warning
        client.wait_for(lambda m: m.get("method") == "window/logMessage" and "indexed" in m["params"]["message"])
        client.request("shutdown", {})
        client.send({"method": "exit"})
        assert client.server.wait(timeout=10) == 0
    finally:
        client.close()
    time.sleep(0.2)
    assert client.stderr == b""
    levels = {m["message"].split(":", 1)[1].strip()[:30]: m["type"] for m in client.log_messages()}
    assert any(kind == 2 and "dialect" in message for message, kind in levels.items()), levels  # Warning
    assert any(kind == 3 and message.startswith("indexed") for message, kind in levels.items()), levels  # Info


def test_a_file_opened_without_a_workspace_folder_indexes_its_project(service: Path, tmp_path: Path):
    client = RawClient(tmp_path / "cache", os.getpid())
    try:
        client.request("initialize", {"processId": os.getpid(), "rootUri": None, "capabilities": {}})
        client.send({"method": "initialized", "params": {}})
        models = service / "app/models/accounts.py"
        client.send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": models.as_uri(), "languageId": "python", "version": 1, "text": models.read_text()}}})
        published = client.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                    and m["params"]["uri"] == models.as_uri() and m["params"]["diagnostics"])
        assert any(d["code"] == "SL701" for d in published["params"]["diagnostics"])
    finally:
        client.close()


def test_the_project_root_of_a_file_is_found_from_the_file(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "backend" / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "backend" / "pyproject.toml").write_text("")
    (tmp_path / "backend" / "migrations" / "alembic.ini").write_text("")
    revision = tmp_path / "backend" / "migrations" / "versions" / "a1.py"
    assert project_root(revision) == tmp_path / "backend"  # not migrations/, where alembic.ini is
    assert project_root(tmp_path / "docs" / "schema.sql") == tmp_path
    (tmp_path / "backend" / "schemalens.toml").write_text("")
    assert project_root(tmp_path / "backend" / "app" / "models.py") == tmp_path / "backend"


# the pieces, without a process

def test_log_records_before_the_client_connects_wait_and_then_go_out_at_their_level():
    import asyncio
    import logging

    from lsprotocol import types

    from schemalens.server.process import ClientLogHandler

    sent: list = []
    handler = ClientLogHandler(sent.append)
    logger = logging.getLogger("schemalens.test-process")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.warning("early %s", "warning")
        assert sent == []
        loop = asyncio.new_event_loop()
        handler.connect(loop)
        logger.info("later")
        logger.debug("detail")
        logger.error("broken")
        loop.call_soon(loop.stop)
        loop.run_forever()
        loop.close()
    finally:
        logger.removeHandler(handler)
    assert [(m.type, m.message) for m in sent] == [
        (types.MessageType.Warning, "schemalens: early warning"), (types.MessageType.Info, "schemalens: later"),
        (types.MessageType.Log, "schemalens: detail"), (types.MessageType.Error, "schemalens: broken")]


def test_a_record_logged_while_sending_one_is_dropped():
    """pygls logs a failed write; sending that record would fail the same way, forever."""
    import asyncio
    import logging

    from schemalens.server.process import ClientLogHandler

    logger = logging.getLogger("schemalens.test-process-loop")
    sent: list = []

    def send(message):
        sent.append(message)
        logger.error("Error sending data")  # what pygls does when the pipe is gone

    handler = ClientLogHandler(send)
    logger.addHandler(handler)
    loop = asyncio.new_event_loop()
    handler.connect(loop)
    try:
        logger.error("first")
        for _ in range(3):
            loop.call_soon(loop.stop)
            loop.run_forever()
    finally:
        logger.removeHandler(handler)
        loop.close()
    assert [m.message for m in sent] == ["schemalens: first"]


def test_the_watchdog_ends_the_process_within_its_interval_once_the_client_is_gone():
    from schemalens.server.process import CLIENT_CHECK_SECONDS, ClientWatchdog

    editor = _editor()
    exits: list = []
    watchdog = ClientWatchdog(editor.pid, exit_process=exits.append, interval=0.05)
    assert watchdog.start_watching()
    time.sleep(0.2)
    assert exits == []
    editor.kill()
    editor.wait()
    watchdog.join(timeout=2)
    assert exits == [0]
    assert CLIENT_CHECK_SECONDS * 2 < EXIT_SECONDS
