"""Allocation tracing, to find what makes a long-running server grow: with the environment
variable SCHEMALENS_TRACEMALLOC set to a folder, the server traces allocations with tracemalloc
(10 frames per allocation) and writes a snapshot there every `EVERY` rebuilds,
`snapshot-000500.pickle`, ... `bench/bench_lsp.py --tracemalloc` compares the first and the
last. Off unless asked: tracing slows every allocation several times over."""

from __future__ import annotations

import logging
import os
import tracemalloc
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)

ENVIRONMENT = "SCHEMALENS_TRACEMALLOC"
EVERY = 250
FRAMES = 10


class MemoryTrace:
    def __init__(self, folder: Optional[Path]) -> None:
        self.folder = folder
        self.rebuilds = 0
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            tracemalloc.start(FRAMES)

    @classmethod
    def from_environment(cls) -> "MemoryTrace":
        folder = os.environ.get(ENVIRONMENT)
        return cls(Path(folder) if folder else None)

    def rebuilt(self) -> None:
        """Count one rebuild; every `EVERY`, write a snapshot."""
        if self.folder is None:
            return
        self.rebuilds += 1
        if self.rebuilds % EVERY == 0:
            path = self.folder / f"snapshot-{self.rebuilds:06d}.pickle"
            tracemalloc.take_snapshot().dump(str(path))
            log.info("allocation snapshot written to %s", path)
