"""The worker processes that parse files for a cold index, and the one started ahead of time.

spawn, not fork: the language server has threads, and fork copies their locks. A spawned
worker starts a fresh interpreter and imports the parsers first (0.3 s). The language server
starts one before its own imports (0.4 s, lsprotocol's and pygls's, then its own), so that it is ready
when the client's `initialize` arrives: the first pass of a cold index hands it the migrations
while this process reads the models (`WorkspaceIndex._parse_for_the_schema`).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # imported when a pool is made: a command that parses in its own process never pays it
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

# What a worker imports to parse (`index._parse_job`): imported ahead by the early worker.
_PARSERS = f"{__name__.rpartition('.')[0]}.index"

_early: list[tuple[int, ProcessPoolExecutor]] = []  # (its size, the pool of the worker started ahead), until an index takes it


def new_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of up to `workers` processes, started as work comes. Workers parse without the
    cyclic collector: syntax trees are freed by reference counting (RSS stays flat), and
    collections cost a fifth of the parse time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, initializer=gc.disable,
                               mp_context=multiprocessing.get_context("spawn"))


def start_early_worker() -> None:
    """Start one parse worker now, importing the parsers, without waiting for it. Only with more
    than one CPU: on one, it would take the time it saves from this process."""
    workers = os.cpu_count() or 1
    if workers < 2 or _early:
        return
    try:
        pool = new_pool(workers)
        pool.submit(_import_parsers)
    except (OSError, RuntimeError) as error:  # no multiprocessing here (sandbox, frozen app)
        log.info("no early parse worker: %s", error)
        return
    _early.append((workers, pool))


def take_early_pool(workers: int) -> Optional[ProcessPoolExecutor]:
    """The pool of the worker started ahead, for an index that parses with `workers` processes;
    None when there is none (or it was made for another number, then it is shut down). Taken
    once: the index that takes it shuts it down."""
    if not _early:
        return None
    size, pool = _early.pop()
    if size != workers:
        pool.shutdown(wait=False, cancel_futures=True)
        return None
    return pool


def _import_parsers() -> None:
    importlib.import_module(_PARSERS)
