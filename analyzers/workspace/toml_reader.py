"""The TOML reader: the standard library's from Python 3.11, its backport `tomli` on 3.10 (a
dependency there, see pyproject.toml). Every module that reads TOML takes it from here."""

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["tomllib"]
