"""Which files are application code. Tests, scripts, seeds, fixtures and load tests run against a
database too, but their tables are not the application's schema and their queries are not its
query paths: the ORM layer and the query and data-risk rules read application code only.

The default patterns (`DEFAULT_NON_APPLICATION`) are documented in the README; the
`non_application_paths` setting replaces them (an empty list makes every file application code).
"""

from __future__ import annotations

import fnmatch
import functools
from pathlib import PurePosixPath
from typing import Iterable

# Folder names (at any depth) and file-name globs of code that is not the application.
_FOLDERS = ("tests", "test", "testing", "scripts", "fixtures", "seeds", "load_tests", "benchmarks", "bench", "docs")
_FILES = ("test_*.py", "*_test.py", "tests.py", "conftest.py", "seed*.py", "populate*.py")
DEFAULT_NON_APPLICATION = (*(f"{folder}/" for folder in _FOLDERS), *_FILES)


def is_application_code(path: str, patterns: Iterable[str] = DEFAULT_NON_APPLICATION) -> bool:
    """False when `path` (relative, forward slashes) matches a pattern: `name/` means a folder of
    that name at any depth, anything else is a glob over the whole path or the file name."""
    return _is_application_code(path, tuple(patterns))


@functools.lru_cache(maxsize=65536)
def _is_application_code(path: str, patterns: tuple[str, ...]) -> bool:
    parts = PurePosixPath(path).parts
    for pattern in patterns:
        if pattern.endswith("/"):
            if pattern.rstrip("/") in parts[:-1] or fnmatch.fnmatch("/".join(parts[:-1]) + "/", pattern + "*"):
                return False
        elif fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(parts[-1], pattern):
            return False
    return True


# Commands an operator runs by hand (`flask <command>`, `manage.py`, a `cli` package): one at a
# time, never two at once, so they are not a concurrent path.
_COMMAND_FOLDERS = ("cli", "commands", "management")
_COMMAND_FILES = ("manage.py", "cli.py", "commands.py")


@functools.lru_cache(maxsize=65536)
def is_operator_command(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return parts[-1] in _COMMAND_FILES or any(part in _COMMAND_FOLDERS for part in parts[:-1])
