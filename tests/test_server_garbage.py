"""The server's full garbage collections run when the user pauses, or after AT_MOST_EVERY
rebuilds without a pause, never by the interpreter's own schedule (server/garbage.py)."""

from __future__ import annotations

import asyncio
import gc

import pytest

from schemalens.server import garbage
from schemalens.server.garbage import FullCollections


def _full_passes() -> int:
    return gc.get_stats()[2]["collections"]


@pytest.fixture
def server_collections():
    thresholds = gc.get_threshold()
    full = FullCollections()
    full.start()
    yield full
    gc.set_threshold(*thresholds)


def test_the_interpreter_runs_no_full_collection_of_its_own(server_collections):
    before, middle = _full_passes(), gc.get_stats()[1]["collections"]
    kept = [[] for _ in range(1_000_000)]  # allocations enough for many young and middle collections
    assert gc.get_stats()[1]["collections"] > middle + garbage.AT_MOST_EVERY // 10
    assert _full_passes() == before
    del kept


def test_nonstop_rebuilds_collect_every_at_most_every(server_collections):
    before = _full_passes()
    for _ in range(garbage.AT_MOST_EVERY - 1):
        server_collections.before_rebuild()
    assert _full_passes() == before
    server_collections.before_rebuild()
    assert _full_passes() == before + 1
    assert server_collections.since_last == 0


def test_a_pause_collects_and_a_rebuild_within_it_does_not(server_collections, monkeypatch):
    monkeypatch.setattr(garbage, "IDLE", 0.05)

    async def edits() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        start = _full_passes()
        server_collections.before_rebuild()
        server_collections.after_rebuild(loop)
        await asyncio.sleep(0.01)
        server_collections.before_rebuild()  # the next edit, within the pause: no collection
        await asyncio.sleep(0.1)
        during_the_rebuild = _full_passes() - start
        server_collections.after_rebuild(loop)
        await asyncio.sleep(0.1)
        return during_the_rebuild, _full_passes() - start

    assert asyncio.run(edits()) == (0, 1)
