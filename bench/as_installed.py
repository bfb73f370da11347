"""Benchmarks that time a process start time SchemaLens as an installed copy runs: from bytecode.

`pip install` compiles a package's modules as it installs it. A checkout installed in editable
mode in a shell with PYTHONDONTWRITEBYTECODE set (as some sandboxes and containers are) compiles
SchemaLens's own modules from source at every start instead: about half a second more, in a
SQL-only audit of 98 files half of all its time. `from_bytecode()` lets the child processes use
and write bytecode, and compiles SchemaLens's modules once, before anything is timed."""

from __future__ import annotations

import compileall
import os
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PACKAGE_FOLDERS = ("cli", "analyzers", "server")  # pyproject.toml's package-dir


def from_bytecode() -> None:
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for folder in PACKAGE_FOLDERS:
        compileall.compile_dir(REPOSITORY / folder, quiet=1)
