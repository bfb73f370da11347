"""Stamps of files and folders: what says, without reading them, that they are as they were."""

from __future__ import annotations

import os
from typing import Any, Callable, Generic, Iterable, TypeVar, Union

T = TypeVar("T")


def stamps(paths: Iterable[Union[str, os.PathLike]]) -> tuple:
    """(path, (modification time in ns, size)) of each path, (path, None) for one that is not
    there. A folder's modification time changes when an entry is added, removed or renamed."""
    found = []
    for path in paths:
        try:
            status = os.stat(path)
        except OSError:
            found.append((str(path), None))
            continue
        found.append((str(path), (status.st_mtime_ns, status.st_size)))
    return tuple(found)


class Remembered(Generic[T]):
    """What a look at files found, by key (a project's root), until a folder the look listed or a
    file it read changes: `look` gets a list to add each of those paths to, listed or looked for
    (a path not there counts: it may come)."""

    def __init__(self, look: Callable[[Any, list[str]], T]) -> None:
        self._look = look
        self._last: dict[Any, tuple[tuple, T]] = {}

    def __call__(self, key) -> T:
        last = self._last.get(key)
        if last is not None and stamps(path for path, _ in last[0]) == last[0]:
            return last[1]
        looked: list[str] = []
        found = self._look(key, looked)
        self._last[key] = (stamps(dict.fromkeys(looked)), found)
        return found
