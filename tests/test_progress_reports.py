"""The initial index's progress reports (server/progress.py): the first, the last, and between
them one per interval at most, whatever the number of files."""

from __future__ import annotations

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
