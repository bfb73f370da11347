"""Find a workspace's files and sort them into kinds: models, revisions, SQL migrations (see
`migration_sets`), scripts."""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .config import DEFAULT_EXCLUDE, Config
from ..lazy_pattern import LazyPattern

# Cheap test before a Python file is parsed as a model module: it declares something. Modules
# that only query (services importing `select`) are application code, read for query facts.
# SQLModel's table classes say `table=True`.
_MODEL_MARKERS = ("__tablename__", "db.Model", "declarative_base", "DeclarativeBase", "declared_attr", "table=True")
_MODEL_MARKER_PIECES = ("__tablename__", "db.Model", "eclarative", "declared_attr", "table=True")  # see holds_any
# Calls that declare, as names of their own: `sa.Column(`, not `DatatableColumn(` or a generated
# GraphQL schema's `class ProjectColumn(` (1 MB of it read first: prefect). Searched as plain text
# first, then as a name, in the few files that hold one.
_MODEL_CALLS = ("Table(", "mapped_column(", "Column(", "registry(", "MetaData(", "SQLAlchemy(")
_MODEL_CALL = LazyPattern(r"(?<!\w)(?:%s)" % "|".join(re.escape(call) for call in _MODEL_CALLS))
_MODEL_CALL_PIECES = ("Table(", "olumn(", "registry(", "MetaData(", "SQLAlchemy(")


def walk_files(root: Path, config: Config) -> Iterator[str]:
    """Paths (relative, with forward slashes) of the .py, .sql and config files under `root`."""
    excluded = set(DEFAULT_EXCLUDE) | {pattern for pattern in config.exclude if "/" not in pattern and "*" not in pattern}
    patterns = [pattern for pattern in config.exclude if pattern not in excluded]
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in excluded and not f.endswith(".egg-info"))
        relative_dir = os.path.relpath(directory, root).replace(os.sep, "/")  # strings, not paths: once per file
        prefix = "" if relative_dir == "." else relative_dir + "/"
        for name in sorted(files):
            if not (name.endswith((".py", ".sql")) or name in ("alembic.ini", "pyproject.toml", "schemalens.toml")):
                continue
            relative = prefix + name
            if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                continue
            if config.include and not any(fnmatch.fnmatch(relative, pattern) for pattern in config.include):
                continue
            yield relative


def folder_of(path: str) -> str:
    """The folder of a relative path (forward slashes), "." for the workspace root: what
    `PurePosixPath(path).parent` gives, without building path objects (the checks ask it of every
    migration on every audit)."""
    return path.rpartition("/")[0] or "."


def file_name(path: str) -> str:
    """`PurePosixPath(path).name`, without building a path object."""
    return path.rpartition("/")[2]


def file_stem(path: str) -> str:
    """`PurePosixPath(path).stem`: the name without its last suffix."""
    name = file_name(path)
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def under(path: str, folders: Iterable[str]) -> bool:
    """True when `path` lies inside one of `folders` (relative paths, forward slashes)."""
    prefixes = _prefixes(folders if isinstance(folders, tuple) else tuple(folders))
    return prefixes is None or path.startswith(prefixes)


@functools.lru_cache(maxsize=256)
def _prefixes(folders: tuple[str, ...]) -> Optional[tuple[str, ...]]:
    """What a path inside one of `folders` starts with; None when one is the root. Made once per
    set of folders: an audit asks of every file whether it lies in the migration folders."""
    stripped = [folder.strip("/") for folder in folders]
    if any(folder in ("", ".") for folder in stripped):
        return None
    return tuple(folder + "/" for folder in stripped)


def looks_like_model_module(text: str) -> bool:
    return holds_any(text, _MODEL_MARKER_PIECES, _MODEL_MARKERS) or (
        any(piece in text for piece in _MODEL_CALL_PIECES) and _MODEL_CALL.search(text) is not None)


def holds_any(text: str, pieces: tuple[str, ...], markers: tuple[str, ...]) -> bool:
    """Whether `text` holds one of `markers`, each of which holds one of `pieces`: a piece that
    several markers share is one search of the whole text instead of several (most texts hold
    none, and every search then reads all of it: polar's 1,774 files, 14.5 MB)."""
    return any(piece in text for piece in pieces) and any(marker in text for marker in markers)


# What marks a project's root, in order: the first marker found in any folder above a file wins
# (alembic.ini is no marker: Flask-Migrate keeps it in migrations/, below the project).
ROOT_MARKERS = ("schemalens.toml", "pyproject.toml", ".git")


def project_root(file: Path) -> Path:
    """The root of the project holding `file`: the nearest folder above it with the first of
    ROOT_MARKERS that any folder above it has, else the file's own folder."""
    folders = list(Path(file).resolve().parents)
    for marker in ROOT_MARKERS:
        for folder in folders:
            if (folder / marker).exists():
                return folder
    return folders[0]
