"""The database engine the project deploys, read from the drivers its dependency files declare.

SchemaLens answers for PostgreSQL. A project whose dependencies name MySQL drivers and no
PostgreSQL driver (CTFd: `pymysql` only) runs on MySQL, where some PostgreSQL claims are false:
InnoDB creates an index for every foreign key itself; its online DDL does not lock as
PostgreSQL does, and knows neither CONCURRENTLY nor NOT VALID. Rules whose claim is such a one
(`Rule.moot_on_mysql`, and the lock rules: `Rule.contends_with_live_traffic`) are held back there
and the report says so. A library's extra that installs a driver (`oslo.db[mysql]`) names it too.
A `postgres_version` setting says the project runs PostgreSQL whatever its dependencies hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

from .config import Config
from .stamps import Remembered
from .toml_reader import tomllib
from ..lazy_pattern import LazyPattern

# A driver, or a library's extra that installs one (`oslo.db[mysql]`, `sqlalchemy[postgresql_asyncpg]`).
_EXTRA = r"|(?:(?<=[\[,])|(?<=, ))({engine}\w*)(?=\s*[\],])"
_POSTGRES_DRIVERS = LazyPattern(r"(?<![\w-])(psycopg2?(?:-binary)?|psycopg_pool|asyncpg|pg8000)(?![\w-])"
                                + _EXTRA.format(engine="postgres"), re.IGNORECASE)
_MYSQL_DRIVERS = LazyPattern(r"(?<![\w-])(pymysql|mysqlclient|mysql-connector-python|aiomysql|asyncmy)(?![\w-])"
                             + _EXTRA.format(engine="mysql"), re.IGNORECASE)
# Dependency declarations at the project root, and pip-tools style requirements folders.
_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "Pipfile")
_REQUIREMENTS = LazyPattern(r"^requirements[\w.-]*\.(?:txt|in)$", re.IGNORECASE)
# Requirements for developing, not running, the project: a test driver there says nothing.
_DEVELOPMENT = LazyPattern(r"dev|test|lint|doc|ci\b|typing", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeployedEngine:
    name: str  # "postgresql" or "mysql"
    source: str  # "requirements.txt: pymysql", "configured", "default"


def deployed_engine(config: Config, root: Optional[Path]) -> DeployedEngine:
    """Remembered until a folder it listed or a file it read changes (workspace/stamps.py): every
    audit asks, each edit in a language server."""
    if config.postgres_version is not None:
        return DeployedEngine("postgresql", f"postgres_version configured in {config.source or 'the settings'}")
    return _remembered_engine(root) if root is not None else DeployedEngine("postgresql", "default")


def _read_engine(root: Path, looked: list[str]) -> DeployedEngine:
    mysql = None
    for path in _dependency_files(root, looked):
        looked.append(str(path))
        try:
            declared = _runtime_dependencies(path)
        except (OSError, ValueError):
            continue
        found = _POSTGRES_DRIVERS.search(declared)
        if found:
            return DeployedEngine("postgresql", f"{path.relative_to(root).as_posix()}: {_named(found)}")
        found = _MYSQL_DRIVERS.search(declared)
        if found and mysql is None:
            mysql = DeployedEngine("mysql", f"{path.relative_to(root).as_posix()}: {_named(found)}")
    return mysql or DeployedEngine("postgresql", "default")


_remembered_engine = Remembered(_read_engine)


def _runtime_dependencies(path: Path) -> str:
    """The dependencies `path` declares for running the project, as text: pyproject's
    `[project]` dependencies and extras and Poetry's main group (not development groups, where
    a test driver lives), other files without their comments ("# via psycopg" declares nothing)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name == "pyproject.toml":
        data = tomllib.loads(text)
        project = data.get("project", {})
        declared = list(project.get("dependencies", []))
        for extra in project.get("optional-dependencies", {}).values():
            declared += extra
        declared += list(data.get("tool", {}).get("poetry", {}).get("dependencies", {}))
        return "\n".join(str(entry) for entry in declared)
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def _dependency_files(root: Path, looked: list[str]) -> Iterator[Path]:
    """The files that declare dependencies; `looked` gets the folders listed."""
    for name in _FILES:
        if (root / name).is_file():
            yield root / name
    yield from requirement_files(root, looked)


def requirement_files(root: Path, looked: list[str]) -> Iterator[Path]:
    """The requirements files at `root` and in its `requirements/` folder, but those for
    developing the project; `looked` gets the folders listed."""
    looked += [str(root), str(root / "requirements")]
    candidates = [p for p in root.iterdir() if _REQUIREMENTS.match(p.name)]
    if (root / "requirements").is_dir():  # requirements/base.txt, requirements/prod.in
        candidates += [p for p in (root / "requirements").iterdir() if p.suffix in (".txt", ".in")]
    yield from sorted(p for p in candidates if p.is_file() and not _DEVELOPMENT.search(p.stem))


def _named(found: re.Match) -> str:
    """The driver or the extra a driver pattern found."""
    return found.group(1) or found.group(2)
