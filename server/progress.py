"""Work-done progress of the initial index, as often as an editor can show it."""

from __future__ import annotations

import time
from typing import Callable

# One report per file read (1,774 on polar) made the event loop's thread serialize and send each
# one while the index ran: 0.05-0.1 s more before the first diagnostics. An editor shows the last.
REPORT_INTERVAL_SECONDS = 0.1


class ThrottledReports:
    """Calls `send(done, total)` for the first count, the last (`done == total`), and otherwise at
    most once per `interval` seconds."""

    def __init__(self, send: Callable[[int, int], None], interval: float = REPORT_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock
        self._last = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        if done < total and now - self._last < self._interval:
            return
        self._last = now
        self._send(done, total)
