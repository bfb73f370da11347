"""The last audit of a workspace, kept on disk beside the parse cache, so that a language server
started again on a workspace nobody changed since publishes its diagnostics at once, before its
index is rebuilt (ruff keeps its results by file metadata the same way).

An audit is kept with a snapshot of the workspace: every file under the root outside the
excluded folders (not only the ones SchemaLens parses: requirements, compose and CI files say
which engine and PostgreSQL version run), each with its modification time in nanoseconds and
its size, and the effective configuration. It is used only when a fresh snapshot is equal; the
file name carries SchemaLens's code fingerprint, so another version never reads it. A file
modified within RACY_SECONDS of the snapshot could change again within the same clock tick
unseen (git's "racily clean" files): such an audit is not kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .cache import cache_file, read_pickle, write_pickle
from .config import DEFAULT_EXCLUDE, Config

RACY_SECONDS = 2


@dataclass(frozen=True, slots=True)
class Snapshot:
    files: tuple[tuple[str, int, int], ...]  # (relative path, mtime in ns, size), sorted
    config: str  # the effective configuration, as its repr
    taken_ns: int  # the wall clock when it was taken

    def same_workspace(self, other: "Snapshot") -> bool:
        return self.files == other.files and self.config == other.config


@dataclass(frozen=True, slots=True)
class KeptAudit:
    findings: tuple  # Finding
    problems: tuple  # ExtractionError


def workspace_snapshot(root: Path, config: Config) -> Snapshot:
    taken_ns = time.time_ns()
    excluded = set(DEFAULT_EXCLUDE) | {pattern for pattern in config.exclude if "/" not in pattern and "*" not in pattern}
    files = []
    for directory, folders, names in os.walk(root):
        folders[:] = [folder for folder in folders if folder not in excluded and not folder.endswith(".egg-info")]
        # each file's path relative to the root, as a string: a Path per file took half the time
        folder = Path(directory).relative_to(root).as_posix()
        prefix = "" if folder == "." else folder + "/"
        for name in names:
            try:
                status = os.stat(os.path.join(directory, name))
            except OSError:
                continue
            files.append((prefix + name, status.st_mtime_ns, status.st_size))
    return Snapshot(tuple(sorted(files)), repr(config), taken_ns)


class AuditCache:
    def __init__(self, directory: Path, root: Path) -> None:
        self.path = cache_file(directory, root, ".audit.pickle")

    def load(self, current: Snapshot) -> Optional[KeptAudit]:
        """The audit kept for a workspace equal to `current`, else None."""
        kept = read_pickle(self.path)
        if not (isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], Snapshot)
                and isinstance(kept[1], KeptAudit) and kept[0].same_workspace(current)):
            return None
        return kept[1]

    def save(self, snapshot: Snapshot, audit: KeptAudit) -> bool:
        """Keep `audit` of the workspace `snapshot` describes; False when it is not kept (a file
        changed too close to the snapshot to tell, or the cache folder cannot be written)."""
        racy_after = snapshot.taken_ns - RACY_SECONDS * 1_000_000_000
        if any(mtime >= racy_after for _, mtime, _ in snapshot.files):
            return False
        return write_pickle(self.path, (snapshot, audit))
