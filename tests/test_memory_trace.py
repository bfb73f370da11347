"""The server's allocation tracing (server/memory_trace.py), which bench/bench_lsp.py --tracemalloc reads."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from schemalens.server.memory_trace import ENVIRONMENT, EVERY, MemoryTrace


def test_a_snapshot_is_written_every_so_many_rebuilds_when_asked(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "allocations"))
    trace = MemoryTrace.from_environment()
    try:
        for _ in range(EVERY - 1):
            trace.rebuilt()
        assert not list((tmp_path / "allocations").glob("*.pickle"))
        trace.rebuilt()
        [snapshot] = (tmp_path / "allocations").glob("*.pickle")
        assert snapshot.name == f"snapshot-{EVERY:06d}.pickle"
        assert tracemalloc.Snapshot.load(str(snapshot)).traces
    finally:
        tracemalloc.stop()


def test_nothing_is_traced_unless_asked(monkeypatch):
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    trace = MemoryTrace.from_environment()
    trace.rebuilt()
    assert trace.folder is None and not tracemalloc.is_tracing()


def test_the_audit_keeps_one_word_set_per_file_however_many_edits():
    from schemalens.analyzers.by_path import ByPath

    computed = []
    words = ByPath(lambda text: computed.append(text) or frozenset(text.split()))
    for number in range(100):
        assert words("app/models.py", f"x = {number}") == frozenset({"x", "=", str(number)})
    assert words("app/models.py", "x = 99") == frozenset({"x", "=", "99"})
    assert len(computed) == 100  # the unchanged text is not read again
    assert len(words._entries) == 1
