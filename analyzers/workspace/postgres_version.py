"""The PostgreSQL version the migrations run on: the `postgres_version` setting, else the
images the project itself runs PostgreSQL from (docker-compose services, CI service images,
Dockerfiles), else the newest version SchemaLens supports.

Several rules answer differently per version (constant defaults rewrite before 11, SET NOT NULL
uses a validated CHECK from 12, REINDEX CONCURRENTLY from 12, DETACH PARTITION CONCURRENTLY from
14, REPACK from 19). When the project names several versions the oldest wins: the migrations
must be safe on every server they run on.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from .config import DEFAULT_EXCLUDE, NEWEST_POSTGRES_VERSION, SUPPORTED_POSTGRES_VERSIONS, Config
from .stamps import Remembered
from ..lazy_pattern import LazyPattern

# An image reference of a PostgreSQL server: postgres:15, postgres:15.3-alpine, postgis/postgis:14-3.3,
# bitnami/postgresql:16, timescale/timescaledb:2.11.0-pg15, pgvector/pgvector:pg16, cimg/postgres:14.2.
_IMAGE = LazyPattern(r"""(?:^|[\s"'=/])((?:[\w.-]+/)*(?:postgres|postgresql|postgis|timescaledb(?:-ha)?|pgvector|"""
                    r"""postgres-\w+)):([\w.-]+)""", re.IGNORECASE | re.MULTILINE)
_PG_TAG = LazyPattern(r"pg-?(\d{1,2})(?!\d)", re.IGNORECASE)
_LEADING = LazyPattern(r"^(\d{1,2})(?:[.\-_]|$)")
_FILES = LazyPattern(r"^(?:docker-)?compose[\w.-]*\.ya?ml$|^Dockerfile[\w.-]*$|^\.gitlab-ci\.ya?ml$", re.IGNORECASE)
_CI_FOLDERS = (".github/workflows", ".circleci", ".buildkite", ".woodpecker")
_MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class PostgresVersion:
    version: int
    source: str  # "configured", "docker-compose.yml: postgres:15", or "default (newest supported)"


def postgres_version(config: Config, root: Optional[Path]) -> PostgresVersion:
    if config.postgres_version is not None:
        return PostgresVersion(config.postgres_version, f"configured in {config.source or 'the settings'}")
    found = detected_versions(root) if root is not None else []
    if found:
        version, where = min(found)
        return PostgresVersion(version, where)
    return PostgresVersion(NEWEST_POSTGRES_VERSION, "default (the newest supported)")


def image_version(tag: str) -> Optional[int]:
    """The major version an image tag names ("15.3-alpine" -> 15, "2.11.0-pg15" -> 15), or None."""
    match = _PG_TAG.search(tag) or _LEADING.match(tag)
    if match is None:
        return None
    version = int(match.group(1))
    return version if 9 <= version <= 30 else None


def detected_versions(root: Path) -> list[tuple[int, str]]:
    """(major version, "file: image") for every PostgreSQL image the project runs. Remembered
    until a folder it listed or a file it read changes (their stamps): every audit asks, each edit
    in a language server, and walking polar's tree cost 3.7 ms where the stamps cost 0.2."""
    return list(_remembered_versions(root))


def _detected(root: Path, looked: list[str]) -> list[tuple[int, str]]:
    found = []
    for path in _candidate_files(root, looked):
        looked.append(str(path))
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for match in _IMAGE.finditer(text):
            version = image_version(match.group(2))
            if version is None:
                continue
            clamped = min(max(version, SUPPORTED_POSTGRES_VERSIONS[0]), SUPPORTED_POSTGRES_VERSIONS[-1])
            found.append((clamped, f"{path.relative_to(root).as_posix()}: {match.group(1)}:{match.group(2)}"))
    return found


_remembered_versions = Remembered(_detected)


def _candidate_files(root: Path, looked: list[str]) -> Iterator[Path]:
    """The files that may name an image; `looked` gets every folder listed or looked for."""
    for folder in _CI_FOLDERS:
        directory = root / folder
        looked.append(str(directory))
        if directory.is_dir():
            yield from sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
    base_depth = len(root.parts)
    for directory, folders, files in os.walk(root):
        looked.append(directory)
        depth = len(Path(directory).parts) - base_depth
        folders[:] = sorted(f for f in folders if f not in DEFAULT_EXCLUDE and not f.startswith(".") and depth < _MAX_DEPTH)
        for name in sorted(files):
            if _FILES.match(name):
                yield Path(directory) / name
