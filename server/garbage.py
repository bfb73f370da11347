"""The cyclic garbage collector, kept off the edit path.

A full collection walks every object the server holds: the whole workspace's model, about
100 ms on redash (400 files). The interpreter starts one by itself every few edits, inside
whichever rebuild happens to allocate, and that edit waits for it: on redash, 3 edits in 40
paid 90-100 ms more than the others, the tail of didChange -> diagnostics. So the server turns
the interpreter's own full collections off.

Young collections cost an edit too: a rebuild allocates the next model, a few hundred thousand
objects that live until the next edit, and the collector walked each of them once or twice
(gen0, then gen1) while the edit ran or just after: 5-7 ms of a redash edit. So the collector
is off during a rebuild, and what the rebuild left is frozen (`gc.freeze`: never walked by a
collection) before it is on again. A rebuild leaves little cyclic garbage (about 150 objects on
redash, 4 on polar), which frozen objects keep until a sweep: unfreeze, a full collection,
freeze (180 ms on redash, 340 ms on polar). A sweep runs once the user pauses (`IDLE` after the
last rebuild) when `SWEEP_EVERY` rebuilds were frozen since the last one, and before a rebuild
after `AT_MOST_EVERY` rebuilds without a pause, so that memory stays flat under nonstop edits
too. A pause after fewer rebuilds runs a full collection of what is not frozen (what requests
left between rebuilds): 2 ms.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Optional

IDLE = 2.0  # seconds without a rebuild
SWEEP_EVERY = 100  # rebuilds since the last sweep: one at the next pause
AT_MOST_EVERY = 300  # rebuilds without a pause: a sweep before the next
_NEVER = 1 << 30  # as a threshold of the oldest generation: no automatic full collection


class FullCollections:
    """Owns the collector for a server's process, from `start` on."""

    def __init__(self) -> None:
        self.since_last = 0  # rebuilds since the last sweep
        self._pending: Optional[asyncio.TimerHandle] = None

    def start(self) -> None:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, _NEVER)

    def before_rebuild(self) -> None:
        """A rebuild begins: a pause is over; past `AT_MOST_EVERY` rebuilds, sweep now. The
        collector is off until the rebuild ends."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        self.since_last += 1
        if self.since_last >= AT_MOST_EVERY:
            self.sweep()
        gc.disable()

    def after_rebuild(self, loop: asyncio.AbstractEventLoop) -> None:
        """A rebuild ended and published: freeze what it left, and collect if no other rebuild
        begins within `IDLE`."""
        gc.freeze()
        gc.enable()
        if self._pending is not None:
            self._pending.cancel()
        self._pending = loop.call_later(IDLE, self._idle)

    def _idle(self) -> None:
        self._pending = None
        if self.since_last >= SWEEP_EVERY:
            self.sweep()
        else:
            gc.collect()

    def sweep(self) -> None:
        """Free the cyclic garbage of every rebuild since the last sweep."""
        self.since_last = 0
        gc.unfreeze()
        gc.collect()
        gc.freeze()
