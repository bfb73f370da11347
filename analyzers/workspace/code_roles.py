"""Which files are application code. Tests, scripts, seeds, fixtures and load tests run against a
database too, but their tables are not the application's schema and their queries are not its
query paths: the ORM layer and the query and data-risk rules read application code only.

The default patterns (`DEFAULT_NON_APPLICATION`) are documented in the README; the
`non_application_paths` setting replaces them (an empty list makes every file application code).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from pathlib import PurePosixPath
from typing import Iterable, Optional

# Folder names (at any depth) and file-name globs of code that is not the application.
# Examples, tutorials and documentation show the library or the application; they are not it
# (Flask-AppBuilder's examples/, phoenix's internal_docs/vignettes/: a `users` model of their own).
_FOLDERS = ("tests", "test", "testing", "scripts", "fixtures", "seeds", "load_tests", "benchmarks", "bench", "docs",
            "examples", "example", "samples", "demo", "demos", "tutorials", "notebooks", "vignettes")
_FILES = ("test_*.py", "*_test.py", "tests.py", "conftest.py", "seed*.py", "populate*.py")
DEFAULT_NON_APPLICATION = (*(f"{folder}/" for folder in _FOLDERS), "*_docs/", *_FILES)


def is_application_code(path: str, patterns: Iterable[str] = DEFAULT_NON_APPLICATION) -> bool:
    """False when `path` (relative, forward slashes) matches a pattern: `name/` means a folder of
    that name at any depth, anything else is a glob over the whole path or the file name."""
    return _is_application_code(path, tuple(patterns))


@functools.lru_cache(maxsize=65536)
def _is_application_code(path: str, patterns: tuple[str, ...]) -> bool:
    folders, folder_globs, file_globs = _matchers(patterns)
    folder, _, name = path.rpartition("/")
    if folder and not folders.isdisjoint(folder.split("/")):
        return False
    if folder_globs is not None and folder_globs.match(folder + "/"):
        return False
    return file_globs is None or not (file_globs.match(path) or file_globs.match(name))


@functools.lru_cache(maxsize=64)
def _matchers(patterns: tuple[str, ...]) -> tuple[frozenset[str], Optional[re.Pattern], Optional[re.Pattern]]:
    """(folder names, one expression of the folder patterns as globs over a file's folder path,
    one of the other patterns): one match each instead of a glob per pattern (a cold index asks
    once per file)."""
    folder_patterns = [pattern for pattern in patterns if pattern.endswith("/")]
    file_patterns = [pattern for pattern in patterns if not pattern.endswith("/")]

    flags = re.IGNORECASE if os.path.normcase("A") == "a" else 0  # as fnmatch matches on Windows

    def one(globs: list[str]) -> Optional[re.Pattern]:
        return re.compile("|".join(fnmatch.translate(glob) for glob in globs), flags) if globs else None
    return (frozenset(pattern.rstrip("/") for pattern in folder_patterns),
            one([pattern + "*" for pattern in folder_patterns]), one(file_patterns))


# Commands an operator runs by hand (`flask <command>`, `manage.py`, a `cli` package): one at a
# time, never two at once, so they are not a concurrent path.
_COMMAND_FOLDERS = ("cli", "commands", "management")
_COMMAND_FILES = ("manage.py", "cli.py", "commands.py")


@functools.lru_cache(maxsize=65536)
def is_operator_command(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return parts[-1] in _COMMAND_FILES or any(part in _COMMAND_FOLDERS for part in parts[:-1])
