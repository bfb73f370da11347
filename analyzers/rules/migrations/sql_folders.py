"""SQL migration folders as the migration tools see them: files per folder, the naming scheme,
and whole-number versions (`V12__x.sql`, `0012_x.sql` -> 12)."""

from __future__ import annotations

import re
from typing import Optional

from ...workspace.discovery import file_name, folder_of
from .duplicate_migration_version import sql_version
from ...lazy_pattern import LazyPattern

_FLYWAY = LazyPattern(r"^V\d", re.IGNORECASE)
_NUMBERED = LazyPattern(r"^\d")


def migration_folders(model) -> dict[str, list[str]]:
    """Folder -> its SQL migration files (down and undo files excluded), in replay (version) order."""
    folders: dict[str, list[str]] = {}
    for path in model.sql_migrations:
        folders.setdefault(folder_of(path), []).append(path)
    return folders


def naming_scheme(path: str) -> Optional[str]:
    """"flyway" (V<n>__), "golang-migrate" (<n>_x.up.sql), "numbered" (<n>_x.sql) or None."""
    name = file_name(path)
    if _FLYWAY.match(name):
        return "flyway"
    if _NUMBERED.match(name):
        return "golang-migrate" if name.lower().endswith(".up.sql") else "numbered"
    return None


def whole_version(path: str) -> Optional[int]:
    """The version as one whole number, or None (no version, or a dotted one such as 1.2)."""
    version = sql_version(path)
    return int(version) if version is not None and "." not in version else None


def version_prefix(path: str) -> str:
    """The version as written in the file name: "V4", "0004"."""
    name = file_name(path)
    match = re.match(r"^(V?\d+)", name, re.IGNORECASE)
    return match.group(1) if match else name
