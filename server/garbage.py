"""Full passes of the cyclic garbage collector, moved off the edit path.

A full collection walks every object the server holds: the whole workspace's model, about
90 ms on redash (400 files). The interpreter starts one by itself every few edits, inside
whichever rebuild happens to allocate, and that edit waits for it: on redash, 3 edits in 40
paid 90-100 ms more than the others, the tail of didChange -> diagnostics. The server turns
the interpreter's own full collections off and runs one itself once the user pauses (`IDLE`
after the last rebuild), and during a rebuild after `AT_MOST_EVERY` rebuilds without a pause,
so that memory stays flat under nonstop edits too. Young generations are still collected by
the interpreter as it allocates: they hold the little cyclic garbage an edit leaves, cheaply.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Optional

IDLE = 2.0  # seconds without a rebuild
AT_MOST_EVERY = 100  # rebuilds
_NEVER = 1 << 30  # as a threshold of the oldest generation: no automatic full collection


class FullCollections:
    """Owns the oldest generation's collections for a server's process, from `start` on."""

    def __init__(self) -> None:
        self.since_last = 0  # rebuilds since the last full collection
        self._pending: Optional[asyncio.TimerHandle] = None

    def start(self) -> None:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, _NEVER)

    def before_rebuild(self) -> None:
        """A rebuild begins: a pause is over; past `AT_MOST_EVERY` rebuilds, collect now."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self.since_last += 1
        if self.since_last >= AT_MOST_EVERY:
            self.collect()

    def after_rebuild(self, loop: asyncio.AbstractEventLoop) -> None:
        """A rebuild ended and published: collect if no other begins within `IDLE`."""
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(IDLE, self._idle)

    def _idle(self) -> None:
        self._pending = None
        self.collect()

    def collect(self) -> None:
        self.since_last = 0
        gc.collect()
