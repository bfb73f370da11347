"""The server's garbage collections (server/garbage.py): none during a rebuild, and what a rebuild
leaves frozen; full collections when the user pauses, a sweep of the frozen garbage at a pause
after SWEEP_EVERY rebuilds or after AT_MOST_EVERY rebuilds without a pause, never by the
interpreter's own schedule."""

from __future__ import annotations

import asyncio
import gc
import weakref

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
    gc.enable()
    gc.unfreeze()


class _Cycle:
    def __init__(self) -> None:
        self.itself = self


def test_the_interpreter_runs_no_full_collection_of_its_own(server_collections):
    before, middle = _full_passes(), gc.get_stats()[1]["collections"]
    kept = [[] for _ in range(1_000_000)]  # allocations enough for many young and middle collections
    assert gc.get_stats()[1]["collections"] > middle + garbage.AT_MOST_EVERY // 10
    assert _full_passes() == before
    del kept


def test_nonstop_rebuilds_sweep_every_at_most_every(server_collections):
    loop = asyncio.new_event_loop()
    before = _full_passes()
    for _ in range(garbage.AT_MOST_EVERY - 1):
        server_collections.before_rebuild()
        server_collections.after_rebuild(loop)
    assert _full_passes() == before
    server_collections.before_rebuild()
    assert _full_passes() == before + 1
    assert server_collections.since_last == 0
    server_collections.after_rebuild(loop)
    loop.close()


def test_a_rebuild_runs_no_collection_and_what_it_leaves_is_frozen(server_collections):
    loop = asyncio.new_event_loop()
    young = gc.get_stats()[0]["collections"]
    server_collections.before_rebuild()
    made = [[] for _ in range(100_000)]
    assert gc.get_stats()[0]["collections"] == young
    frozen = gc.get_freeze_count()
    server_collections.after_rebuild(loop)
    assert gc.get_freeze_count() >= frozen + len(made)
    assert gc.isenabled()
    loop.close()


def _rebuild_leaving_a_cycle(collections: FullCollections, loop) -> weakref.ref:
    collections.before_rebuild()
    garbage_left = weakref.ref(_Cycle())
    collections.after_rebuild(loop)
    return garbage_left


def test_a_pause_sweeps_the_frozen_garbage_once_sweep_every_rebuilds_ran(server_collections, monkeypatch):
    monkeypatch.setattr(garbage, "IDLE", 0.01)

    async def pause_after(rebuilds: int) -> bool:
        loop = asyncio.get_running_loop()
        cycles = [_rebuild_leaving_a_cycle(server_collections, loop) for _ in range(rebuilds)]
        await asyncio.sleep(0.05)
        return all(cycle() is None for cycle in cycles)

    assert not asyncio.run(pause_after(1))  # a plain collection: frozen garbage stays
    assert asyncio.run(pause_after(garbage.SWEEP_EVERY))
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


def test_what_the_server_imports_is_frozen_before_it_serves(monkeypatch):
    """The imports' objects live as long as the process: frozen before the collector is on
    again, so that the first allocations of the first request start no collection over them."""
    from schemalens import commands
    from schemalens.analyzers.workspace import parse_workers
    from schemalens.server import app

    serving: list[tuple[int, bool]] = []
    monkeypatch.setattr(parse_workers, "start_early_worker", lambda root=None: None)
    monkeypatch.setattr(app, "run_stdio", lambda stdin: serving.append((gc.get_freeze_count(), gc.isenabled())))
    gc.unfreeze()
    try:
        commands.main(["lsp"])
    finally:
        gc.unfreeze()
    assert len(serving) == 1 and serving[0][0] > 0 and serving[0][1]
