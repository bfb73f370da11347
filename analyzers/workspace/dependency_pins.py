"""The versions of libraries a project pins, read from the lock and requirements files at its
root: what the model reader needs where a library's behaviour changed between versions (the
column type SQLModel gives a `datetime` field, whether pydantic lets a field default to None). A library the files do not pin to one version
has none: what depends on it is then not read.

Read, in this order (the first that pins the library wins): `uv.lock`, `poetry.lock`,
`pdm.lock` (TOML `[[package]]` tables), `Pipfile.lock` (its `default` section), and
`requirements*.txt` at the root or in `requirements/` (`name==version` lines; a development
file such as `requirements-dev.txt` pins nothing the application runs).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Container, Iterator, Optional

from .deployed_engine import requirement_files
from .stamps import Remembered
from .toml_reader import tomllib
from ..lazy_pattern import LazyPattern

# The libraries whose version the model reader asks for.
PINNED_LIBRARIES = ("sqlmodel", "pydantic")
_LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock")
_EXACT_PIN = LazyPattern(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([0-9][0-9A-Za-z.+-]*)", re.MULTILINE)

Version = tuple[int, ...]


def version_key(text: str) -> Optional[Version]:
    """(0, 0, 45) for "0.0.45", "0.0.45.post1" or "0.0.45rc1"; None for a version that does not
    start with a number."""
    numbers = []
    for part in text.split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.end() < len(part):
            break
    return tuple(numbers) or None


def _normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them: `SQLModel`, `sql_model` and `sql-model` alike."""
    return re.sub(r"[-_.]+", "-", name).lower()


# A lock file's `[[package]]` table starts with this line. The package's own name is one of its
# top-level keys, on a `name = "..."` line of its own: its dependencies name packages inside
# inline tables or as the keys of a sub-table, never so.
_PACKAGE_HEADER = "[[package]]"
_NAME_LINE = LazyPattern(r"""^name[ \t]*=[ \t]*(["'])([^"'\n]+)\1[ \t]*(?:#[^\n]*)?$""", re.MULTILINE)


def tables_named(text: str, names: Container[str]) -> Iterator[str]:
    """The `[[package]]` tables of a TOML lock file (uv, Poetry, PDM) whose own name, normalized,
    is among `names`, each from its header to the next table's, in the file's order: parsing only
    them is what the pins need (tracecat's uv.lock, 0.8 MB: 0.14 s of every audit to parse whole)."""
    for line in _NAME_LINE.finditer(text):
        if _normalized(line.group(2)) not in names:
            continue
        start = text.rfind(_PACKAGE_HEADER, 0, line.start())
        if start >= 0:
            end = text.find("\n" + _PACKAGE_HEADER, line.end())
            yield text[start:end if end >= 0 else len(text)]


def _read_pins(root: Path, looked: list[str]) -> dict[str, Version]:
    wanted = {_normalized(name): name for name in PINNED_LIBRARIES}
    pins: dict[str, Version] = {}

    def pin(name: str, version: str) -> None:
        library = wanted.get(_normalized(name))
        key = version_key(version.lstrip("=")) if library is not None else None
        if key is not None:
            pins.setdefault(library, key)

    for name in (*_LOCK_FILES, "Pipfile.lock"):
        path = root / name
        looked.append(str(path))
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            if name == "Pipfile.lock":
                for package, entry in json.loads(text).get("default", {}).items():
                    pin(package, str(entry.get("version", "")))
            else:
                for table in tables_named(text, wanted):
                    for package in tomllib.loads(table).get("package", []):
                        pin(str(package.get("name", "")), str(package.get("version", "")))
        except (OSError, ValueError, AttributeError):
            continue
    for path in requirement_files(root, looked):
        looked.append(str(path))
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for found in _EXACT_PIN.finditer(text):
            pin(found.group(1), found.group(2))
    return pins


_remembered_pins = Remembered(_read_pins)


def pinned_versions(root: Optional[Path]) -> dict[str, Version]:
    """The pinned version of each library of PINNED_LIBRARIES that the files at `root` pin;
    remembered until a file it read or a folder it listed changes (workspace/stamps.py)."""
    return dict(_remembered_pins(root)) if root is not None else {}
