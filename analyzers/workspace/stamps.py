"""Stamps of files and folders: what says, without reading them, that they are as they were."""

from __future__ import annotations

import os
from typing import Iterable, Union


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
