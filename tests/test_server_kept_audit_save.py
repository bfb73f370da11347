"""The audit kept for the next start is written once the user pauses (server.app's
keep_audit_when_idle), not on the analysis thread before the first edit after the index; a
shutdown writes it at once. Other work waits for the same pause (do_when_idle), and a shutdown
drops it."""

from __future__ import annotations

import asyncio

import pytest

from schemalens.server import app
from schemalens.server.app import SchemaLensServer


PAUSE = 0.3  # the server's pause, shortened; edits below come three times faster, for longer than it


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(app, "IDLE", PAUSE)
    return SchemaLensServer()


async def _saved(saved: list, within: float = 5.0) -> list:
    """`saved` once it is not empty, or after `within` seconds."""
    for _ in range(int(within / 0.01)):
        if saved:
            break
        await asyncio.sleep(0.01)
    return saved


@pytest.mark.asyncio
async def test_the_kept_audit_is_written_after_a_pause(server):
    saved = []
    server.keep_audit_when_idle(lambda: saved.append("audit"))
    await asyncio.sleep(0.01)
    assert saved == []  # an edit now would not wait for it
    assert await _saved(saved) == ["audit"]


@pytest.mark.asyncio
async def test_edits_put_the_save_off_until_they_pause(server):
    saved = []
    server.keep_audit_when_idle(lambda: saved.append("audit"))
    server.audited = unchanged = object()  # rebuilds that leave the model as audited: nothing to audit
    for _ in range(10):
        await asyncio.sleep(PAUSE / 3)
        await server.rebuild(lambda index: unchanged)  # an edit's rebuild, each within the pause
    assert saved == []
    assert await _saved(saved) == ["audit"]


@pytest.mark.asyncio
async def test_a_shutdown_writes_the_kept_audit_at_once(server):
    saved = []
    server.keep_audit_when_idle(lambda: saved.append("audit"))
    await server.save_kept_audit()
    assert saved == ["audit"]
    await asyncio.sleep(2 * PAUSE)
    assert saved == ["audit"]  # once


@pytest.mark.asyncio
async def test_a_shutdown_during_the_first_index_does_not_wait_for_it(server):
    async with server.lock:  # the first index holds it until it ends; it has nothing kept yet
        await asyncio.wait_for(server.save_kept_audit(), 0.5)


@pytest.mark.asyncio
async def test_work_for_when_the_user_pauses_waits_for_a_pause_after_the_edits(server):
    done = []
    server.do_when_idle(lambda: done.append("work"))
    server.audited = unchanged = object()
    for _ in range(6):
        await asyncio.sleep(PAUSE / 3)
        await server.rebuild(lambda index: unchanged)
    assert done == []
    assert await _saved(done) == ["work"]
    await asyncio.sleep(2 * PAUSE)
    assert done == ["work"]  # once


@pytest.mark.asyncio
async def test_a_shutdown_drops_the_work_for_a_pause(server):
    done, saved = [], []
    server.keep_audit_when_idle(lambda: saved.append("audit"))
    server.do_when_idle(lambda: done.append("work"))
    await server.save_kept_audit()
    await asyncio.sleep(2 * PAUSE)
    assert saved == ["audit"] and done == []
