"""The initial index's progress reports (server/progress.py): the first, the last, and between
them one per interval at most, whatever the number of files; the last count is sent even when the
client answers the request for a progress token after the files were read."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from schemalens.server.progress import ThrottledReports


def test_reports_come_at_most_once_per_interval_with_the_first_and_the_last():
    now = [0.0]
    sent: list[tuple[int, int]] = []
    reports = ThrottledReports(lambda done, total: sent.append((done, total)), interval=0.1, clock=lambda: now[0])
    for done in range(1, 1001):  # a file read every millisecond
        now[0] = done / 1000
        reports(done, 1000)
    assert sent[0] == (1, 1000) and sent[-1] == (1000, 1000)
    assert len(sent) == 11
    assert all(later[0] - earlier[0] >= 100 for earlier, later in zip(sent, sent[1:-1]))


SERVICE = Path(__file__).parent / "fixtures" / "flask_service"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def slow_to_answer(lsp_client: LanguageClient, tmp_path: Path):
    """A client that answers the server's request for a progress token only after a second: a
    small workspace is read by then."""
    async def create_late(params: types.WorkDoneProgressCreateParams) -> None:
        await asyncio.sleep(1)
        lsp_client.progress_reports.setdefault(params.token, [])

    lsp_client.protocol.fm.features[types.WINDOW_WORK_DONE_PROGRESS_CREATE] = create_late  # in place of pytest-lsp's

    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True)),
        root_uri=root.as_uri()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_token_answered_after_the_files_were_read_still_gets_the_last_count(slow_to_answer: LanguageClient):
    async def ended() -> list:
        while True:
            reports = next(iter(slow_to_answer.progress_reports.values()), [])
            if reports and isinstance(reports[-1], types.WorkDoneProgressEnd):
                return reports
            await asyncio.sleep(0.05)

    reports = await asyncio.wait_for(ended(), 30)
    counts = [report.message for report in reports if isinstance(report, types.WorkDoneProgressReport)]
    assert counts, "no count between the beginning and the end"
    done, total = counts[-1].removesuffix(" files").split("/")
    assert done == total
