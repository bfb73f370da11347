"""The worker processes that parse files for a cold index, and the one started ahead of time.

spawn, not fork: the language server has threads, and fork copies their locks. A spawned
worker starts a fresh interpreter and imports the parsers first (0.3 s). The language server
starts one as soon as the client's `initialize` names the workspace, before its own imports
(0.35 s, lsprotocol's and pygls's, then its own): the worker reads the workspace's files
meanwhile (read_ahead.py), then imports the parsers; the first pass of a cold index hands it the
migrations while this process reads the models (`WorkspaceIndex._parse_for_the_schema`).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import pickle
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

if TYPE_CHECKING:  # imported when a pool is made: a command that parses in its own process never pays it
    from concurrent.futures import Future, ProcessPoolExecutor

    from .read_ahead import ReadAhead

log = logging.getLogger(__name__)

# What a worker imports to parse (`parse_jobs.parse_job`), and what the parsers import when they
# first read Python or SQL (lazy_module.py): imported ahead by the early worker.
_ANALYZERS = __name__.rpartition('.')[0].rpartition('.')[0]
_PARSERS = (f"{_ANALYZERS}.workspace.parse_jobs", f"{_ANALYZERS}.extract.module_summary",
            f"{_ANALYZERS}.extract.alembic_revisions", "pglast.ast", "pglast.enums", "pglast.parser", "pglast.stream")

_early: list[tuple[int, ProcessPoolExecutor]] = []  # (its size, the pool of the worker started ahead), until an index takes it
_reading: list[tuple[str, Future]] = []  # (the workspace root, its files read ahead by that worker), until the server takes them
_importing: list[threading.Thread] = []  # in a worker: the parsers' import its read ahead started, until a parse waits for it
# How long the server waits for the files read ahead before it reads them itself: the read
# starts with the process, and takes about as long as this process would.
_READ_WAIT_SECONDS = 30


def new_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of up to `workers` processes, started as work comes. Workers parse without the
    cyclic collector: syntax trees are freed by reference counting (RSS stays flat), and
    collections cost a fifth of the parse time."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, initializer=gc.disable,
                               mp_context=multiprocessing.get_context("spawn"))


@contextmanager
def at_most(pool: Optional[ProcessPoolExecutor], processes: int) -> Iterator[None]:
    """`pool` starts no more than `processes` processes meanwhile. A ProcessPoolExecutor starts
    one for each job submitted while none of its processes is idle, up to its max_workers
    (CPython 3.10-3.13, `_adjust_process_count`): the first pass's jobs, handed to the early
    worker as it ends its read, started a second worker that took a core from this process and
    from the first (polar, cold, 2 cores: first diagnostics 0.07 s later)."""
    most = getattr(pool, "_max_workers", None)
    if not isinstance(most, int):
        yield
        return
    pool._max_workers = max(1, min(most, processes))
    try:
        yield
    finally:
        pool._max_workers = most


def start_early_worker(root: Optional[str] = None) -> None:
    """Start one parse worker now, without waiting for it: it reads the files of the workspace
    at `root` if given (`take_read_ahead`), then imports the parsers. Only with more than one
    CPU: on one, it would take the time it saves from this process. One job: a pool starts
    another process for each job it is given while its processes are busy."""
    workers = os.cpu_count() or 1
    if workers < 2 or _early:
        return
    try:
        pool = new_pool(workers)
        if root is None:
            pool.submit(_import_parsers)
        else:
            root = str(Path(root).resolve())
            _reading.append((root, pool.submit(_read_ahead, root)))
    except (OSError, RuntimeError) as error:  # no multiprocessing here (sandbox, frozen app)
        log.info("no early parse worker: %s", error)
        return
    _early.append((workers, pool))


# How long a thread of this process may hold the interpreter while another waits for it, while
# workers send parses back (Python's default: 5 ms). The pool's thread reads a result from its
# pipe 64 KB at a time and waits for the interpreter between reads, while the index's thread
# parses its own share: polar's squashed first revision (1.5 MB of parse) took 80 ms to come
# back, during which the worker, blocked writing it, parsed nothing.
_SWITCH_INTERVAL_SECONDS = 0.0005


@contextmanager
def results_received_promptly() -> Iterator[None]:
    """This process's threads take turns every half millisecond meanwhile, not every 5 ms."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, _SWITCH_INTERVAL_SECONDS))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def take_read_ahead(root: Path) -> Optional[ReadAhead]:
    """The files of the workspace at `root` (resolved) the early worker read, once it has; None
    when it read none, or another workspace's, or it failed. Taken once."""
    if not _reading:
        return None
    read_root, future = _reading.pop()
    if read_root != str(root):
        future.cancel()
        return None
    try:
        return pickle.loads(future.result(timeout=_READ_WAIT_SECONDS))
    except Exception as error:  # the boundary: a worker that failed or is stuck; the index reads the files
        log.info("no files read ahead: %s", error)
        return None


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
    for name in _PARSERS:
        importlib.import_module(name)


def _read_ahead(root: str) -> bytes:
    """In the worker: the files read, pickled. The server loads them when it takes them: loaded as
    they arrived, their texts (polar: 15 MB) held the server's interpreter while it published the
    audit kept for an unchanged workspace. The parsers are imported on a thread meanwhile, while
    the files go back (a job that needs them waits for that import)."""
    from .read_ahead import read_ahead

    read = pickle.dumps(read_ahead(root), protocol=pickle.HIGHEST_PROTOCOL)
    importing = threading.Thread(target=_import_parsers, daemon=True)
    importing.start()
    _importing.append(importing)
    return read


def parse_in_worker(jobs: list[tuple[str, str, str, str, str, str, str, bool]]) -> bytes:
    """`parse_jobs.parse_jobs_in_worker`, once the parsers' import that the read ahead started in
    this worker has ended. A parse during that import used pglast half imported: Python lets a
    second thread see a module of a circular import before its import ends, and pglast's node
    classes are completed at the end of its import (a parse failed with ImportError or
    ValueError, and the file was reported unreadable)."""
    while _importing:
        _importing.pop().join()
    from .parse_jobs import parse_jobs_in_worker

    return parse_jobs_in_worker(jobs)
