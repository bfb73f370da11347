"""The Alembic environments of a workspace: each is its own revision history, replayed on its own.

Found from every alembic.ini (each section with a `script_location`, `%(here)s`, absolute
paths, `package:path` locations, `version_locations`), from `env.py` folders with a `versions/`
beside them (Flask-Migrate), and from folders of revision files that no environment owns (the
plugin or extension migrations a project's own migrator runs). Each environment's `env.py` is
read statically for the schema it migrates: a constant `SET search_path TO core` (or a
`schema_translate_map` default) makes unqualified names in its revisions mean that schema; a
search path set per run (one schema per tenant) leaves them unqualified. A version folder whose
revisions sit in subfolders named after engines (`versions/postgresql`, `versions/sqlite`) holds
one history per engine: the PostgreSQL one is read, the others are said as not read. A subfolder
whose revisions repeat revision ids of the rest of its version folder holds a second history
(zou's `versions/legacy`: the old chain that ends in the squashed revision's id, for databases
created before the squash): a database runs one of the two, so it is said as not read either.
Subfolders that repeat no id are part of the history (keystone's `versions/yoga/expand`).
"""

from __future__ import annotations

import ast
import configparser
import os
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Callable, Iterable, Optional

from ..extract.python_source import parse_python
from ..i18n import _
from .discovery import file_name, folder_of, under
from ..lazy_pattern import LazyPattern

_REVISION_HEADER = LazyPattern(r"^revision\s*(?::[^=\n]+)?=\s*['\"]", re.MULTILINE)
_DOWN_REVISION_HEADER = LazyPattern(r"^down_revision\s*(?::[^=\n]+)?=", re.MULTILINE)
_SEARCH_PATH = LazyPattern(r"search_path\s*(?:to|=)\s*['\"]?([A-Za-z_$][\w$]*)", re.IGNORECASE)
_SKIPPED_FOLDERS = (".git", ".venv", "venv", "node_modules", "site-packages")
_NO_DEFAULT_SECTION = "schemalens: no default section"


@dataclass(frozen=True, slots=True)
class AlembicEnvironment:
    name: str  # the alembic.ini section, else the script location or the revision folder
    versions: tuple[str, ...]  # folders holding its revision files (relative, forward slashes)
    env_path: Optional[str] = None  # its env.py
    default_schema: Optional[str] = None  # what unqualified names in its revisions mean
    per_run_schema: bool = False  # env.py sets the search path for each run (a schema per tenant)
    # Folders of revisions it does not run, with why: the histories it keeps for other engines,
    # and second histories that repeat its revision ids: (folder, why)
    set_aside: tuple[tuple[str, str], ...] = ()
    # The engines other than PostgreSQL it keeps histories for ("SQLite", "MySQL"): the project
    # supports them (prefect: versions/sqlite beside versions/postgresql)
    other_engines: tuple[str, ...] = ()
    # env.py sets the connection's isolation level to AUTOCOMMIT: begin_transaction() then opens no
    # transaction, and every statement of a revision commits on its own (privacyidea)
    autocommit: bool = False

    def owns(self, path: str) -> bool:
        return under(path, self.versions) and not under(path, [folder for folder, _why in self.set_aside])


def looks_like_revision(text: str) -> bool:
    """A cheap test on a file's text: module-level `revision = "..."` and `down_revision =`."""
    return "down_revision" in text and bool(_REVISION_HEADER.search(text)) and bool(_DOWN_REVISION_HEADER.search(text))


def find_environments(paths: Iterable[str], text_of: Callable[[str], Optional[str]],
                      package_folder: Callable[[str], Optional[str]], revision_files: Iterable[str] = ()) -> list[AlembicEnvironment]:
    """Every environment of the workspace whose files are `paths` (relative). `package_folder`
    maps a package name to its folder (for `package:path` script locations); `revision_files`
    are the files that look like revisions (`looks_like_revision`)."""
    paths = list(paths)
    present = {folder_of(p) for p in paths} | {"."}
    environments: list[AlembicEnvironment] = []
    claimed: set[str] = set()

    revision_files = list(revision_files)

    def add(name: str, script_location: Optional[str], version_locations: list[str]) -> None:
        versions = [folder for folder in version_locations if _present(folder, present)]
        if script_location is not None and _present(f"{script_location}/versions", present):
            versions.insert(0, f"{script_location}/versions")
        versions = [v for v in dict.fromkeys(versions) if v not in claimed]
        if not versions:
            return
        claimed.update(versions)
        postgres, set_aside, other_engines = [], [], []
        for folder in versions:
            engines = _engine_folders(folder, revision_files)
            if any(engine == "PostgreSQL" for engine in engines.values()):
                postgres += [sub for sub, engine in engines.items() if engine == "PostgreSQL"]
                set_aside += [(sub, _("the history kept for %(engine)s", engine=engine))
                              for sub, engine in engines.items() if engine != "PostgreSQL"]
                other_engines += [engine for engine in engines.values() if engine and engine != "PostgreSQL"]
            else:
                postgres.append(folder)
        for folder in postgres:
            set_aside += [(sub, _("a second history that repeats revision ids of %(folder)s", folder=folder))
                          for sub in _second_histories(folder, revision_files, text_of)]
        env_path = f"{script_location}/env.py" if script_location is not None and f"{script_location}/env.py" in paths else None
        schema, per_run = _migrated_schema(env_path, text_of) if env_path else (None, False)
        environments.append(AlembicEnvironment(name, tuple(postgres), env_path, schema, per_run, tuple(set_aside),
                                               tuple(dict.fromkeys(other_engines)),
                                               autocommit=bool(env_path) and _connects_in_autocommit(env_path, text_of)))

    for ini in sorted(p for p in paths if file_name(p) == "alembic.ini" and not _skipped(p)):
        here = folder_of(ini)
        parser = configparser.ConfigParser(defaults={"here": "%(here)s"}, interpolation=None)
        # [DEFAULT] read as a section like the others: which sections name a script_location themselves
        own = configparser.ConfigParser(default_section=_NO_DEFAULT_SECTION, interpolation=None, strict=False)
        try:
            parser.read_string(text_of(ini) or "")
            own.read_string(text_of(ini) or "")
        except configparser.Error:
            continue
        for section in parser.sections():
            options = parser[section]
            location = options.get("script_location")
            # a script_location of [DEFAULT] reaches every section, [loggers] and [post_write_hooks]
            # too (onyx): it is the [alembic] section's, which Alembic reads unless told another
            if not location or section != "alembic" and not own.has_option(section, "script_location"):
                continue
            script_location = _resolve(location, here, package_folder)
            separator = options.get("version_path_separator", "")
            raw = options.get("version_locations") or ""
            parts = raw.split(os.pathsep if separator == "os" else separator) if separator not in ("", "space") \
                else re.split(r"[\s,]+", raw)
            versions = [_resolve(part, here, package_folder) for part in parts if part.strip()]
            name = section if section != "alembic" else (script_location or ini)
            add(name, script_location, [v for v in versions if v is not None])
    for env in sorted(p for p in paths if file_name(p) == "env.py" and not _skipped(p)):
        folder = folder_of(env)
        add(folder, folder, [])
    orphans: dict[str, list[str]] = {}
    for path in revision_files:
        if not any(under(path, [v]) for v in claimed):
            orphans.setdefault(folder_of(path), []).append(path)
    for folder, files in sorted(orphans.items()):
        owner = next((position for position, environment in enumerate(environments) if environment.env_path
                      and under(f"{folder}/x.py", [str(PurePosixPath(environment.env_path).parent)])), None)
        if owner is None:
            add(folder, None, [folder])
        else:  # beside an env.py, outside its version folders: Alembic never runs it (agenta's core/temp)
            environment = environments[owner]
            why = _("outside the version folders of %(environment)s", environment=environment.name)
            environments[owner] = replace(environment, set_aside=(*environment.set_aside, (folder, why)))
    return _without_alternatives(environments, revision_files, text_of)


def _without_alternatives(environments: list[AlembicEnvironment], revision_files: list[str],
                          text_of: Callable[[str], Optional[str]]) -> list[AlembicEnvironment]:
    """Environments whose revisions repeat revision ids of another are alternatives to it, not
    histories of their own: agenta keeps a copy of its core history in each edition (`oss/` and
    `ee/`), and a database runs one of them. The one with more revisions is read; the versions
    of the other are set aside, said as not read. Not when their env.py files connect to
    databases of different names (agenta's `uri_core` and `uri_tracing`): those are two databases."""
    if len(environments) < 2:
        return environments
    owned = {environment.name: [path for path in revision_files if environment.owns(path)] for environment in environments}
    ids = {name: {rid for path in paths for rid in _REVISION_ID.findall(text_of(path) or "")} for name, paths in owned.items()}
    databases = {environment.name: _database_words(environment.env_path, text_of) for environment in environments}
    kept: dict[str, AlembicEnvironment] = {}
    for environment in sorted(environments, key=lambda e: (-len(owned[e.name]), e.name)):
        rival = next((other for other in kept.values() if ids[other.name] & ids[environment.name]
                      and not (databases[other.name] and databases[environment.name]
                               and databases[other.name] != databases[environment.name])), None)
        if rival is None:
            kept[environment.name] = environment
            continue
        why = _("an alternative to %(other)s that repeats its revision ids", other=rival.name)
        kept[rival.name] = replace(rival, set_aside=(*rival.set_aside, *((folder, why) for folder in environment.versions)))
    return [kept[environment.name] for environment in environments if environment.name in kept]


# Folders named after a database engine: one revision history per engine, of which env.py runs
# the one of the database it connects to (prefect: versions/postgresql and versions/sqlite).
_ENGINE_FOLDERS = {"postgresql": "PostgreSQL", "postgres": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL",
                   "mariadb": "MariaDB", "mssql": "SQL Server", "oracle": "Oracle"}


def _engine_folders(folder: str, revision_files: list[str]) -> dict[str, str]:
    """{subfolder: engine} when every revision under the version folder `folder` sits in a
    subfolder of it named after a database engine; else {}."""
    subfolders = {PurePosixPath(path).parent for path in revision_files if under(path, [folder])}
    engines = {str(sub): _ENGINE_FOLDERS.get(sub.name.lower()) for sub in subfolders}
    if not engines or any(engine is None or str(PurePosixPath(sub).parent) != folder for sub, engine in engines.items()):
        return {}
    return dict(sorted(engines.items()))


_REVISION_ID = LazyPattern(r"^revision\s*(?::[^=\n]+)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)


# The URL an env.py migrates: `config.set_main_option("sqlalchemy.url", settings.uri_core)`,
# `create_engine(DATABASE_URL_TRACING)`.
_DATABASE_URL = LazyPattern(r"set_main_option\(\s*[\"']sqlalchemy\.url[\"']\s*,\s*([^)\n]+)\)|create_(?:async_)?engine\(\s*([^,)\n]+)")
_GENERIC_URL_WORDS = frozenset({"postgres", "postgresql", "pg", "uri", "url", "dsn", "database", "db", "env", "settings",
                                "config", "conf", "sqlalchemy", "os", "environ", "get", "getenv", "str", "self"})


def _database_words(env_path: Optional[str], text_of: Callable[[str], Optional[str]]) -> frozenset[str]:
    """The words naming the database an env.py connects to (`env.postgres.uri_tracing` ->
    {"tracing"}), empty when it does not say."""
    found = _DATABASE_URL.search(text_of(env_path) or "") if env_path else None
    if found is None:
        return frozenset()
    expression = found.group(1) or found.group(2)
    return frozenset(re.findall(r"[a-z0-9]+", expression.lower())) - _GENERIC_URL_WORDS


def _second_histories(folder: str, revision_files: list[str], text_of: Callable[[str], Optional[str]]) -> list[str]:
    """The subfolders of the version folder `folder` whose revisions repeat a revision id of the
    revisions outside them: each holds a history of its own."""
    inside = [path for path in revision_files if under(path, [folder])]
    subfolders = sorted({_first_subfolder(folder, path) for path in inside} - {None})
    if not subfolders:
        return []
    ids = {path: set(_REVISION_ID.findall(text_of(path) or "")) for path in inside}
    found = []
    for sub in subfolders:
        own = set().union(*(ids[path] for path in inside if under(path, [sub])))
        rest = set().union(*(ids[path] for path in inside if not under(path, [sub])))
        if own & rest:
            found.append(sub)
    return found


def _first_subfolder(folder: str, path: str) -> Optional[str]:
    """`folder/legacy` for `folder/legacy/x/r1.py`; None for a file directly in `folder`."""
    parts = PurePosixPath(path).relative_to(folder.strip("/") or ".").parts
    return str(PurePosixPath(folder) / parts[0]) if len(parts) > 1 else None


def _present(folder: str, present: set[str]) -> bool:
    folder = folder.strip("/") or "."
    return any(p == folder or p.startswith(folder + "/") for p in present)


def _skipped(path: str) -> bool:
    return any(part in _SKIPPED_FOLDERS for part in PurePosixPath(path).parts)


def _resolve(location: str, here: str, package_folder: Callable[[str], Optional[str]]) -> Optional[str]:
    """A script or version location as a workspace-relative folder, or None when it points outside."""
    location = location.strip().replace("%(here)s", here if here != "." else "")
    if re.match(r"^[A-Za-z_][\w.]*:", location) and not re.match(r"^[A-Za-z]:[\\/]", location):
        package, _, rest = location.partition(":")
        folder = package_folder(package)
        if folder is None:
            return None
        location = f"{folder}/{rest}" if folder not in ("", ".") else rest
    elif not location.startswith("/"):
        location = f"{here}/{location}" if here not in ("", ".") and not location.startswith(here + "/") else location
    normalized = os.path.normpath(location).replace("\\", "/")
    if normalized.startswith(("/", "..")):
        return None
    return "" if normalized == "." else normalized


def _connects_in_autocommit(env_path: str, text_of: Callable[[str], Optional[str]]) -> bool:
    """Whether env.py gives the migrations' connection the AUTOCOMMIT isolation level
    (`connection.execution_options(isolation_level="AUTOCOMMIT")`, or the engine's)."""
    text = text_of(env_path) or ""
    if "autocommit" not in text.lower():
        return False
    source, _ = parse_python(text, env_path)
    return source is not None and any(
        isinstance(node, ast.keyword) and node.arg == "isolation_level" and isinstance(node.value, ast.Constant)
        and str(node.value.value).upper() == "AUTOCOMMIT" for node in ast.walk(source.tree))


def _migrated_schema(env_path: str, text_of: Callable[[str], Optional[str]]) -> tuple[Optional[str], bool]:
    """(schema, per run): what env.py sets the search path to, read without running it."""
    # the Python readers: an Alembic workspace's (an audit of SQL alone does not import them)
    from ..extract.module_summary import module_bindings, summarize_module
    from ..extract.python_names import ExprBuilder, dotted
    from ..extract.python_world import World
    from ..extract.static_eval import Evaluator, Unknown

    text = text_of(env_path) or ""
    if "search_path" not in text.lower() and "schema_translate_map" not in text:
        return None, False
    source, _ = parse_python(text, env_path)
    if source is None:
        return None, False
    bindings, _ = module_bindings(source, "env")
    builder = ExprBuilder(source, bindings)
    evaluator = Evaluator(World([summarize_module(text, env_path, "env")]))
    per_run = False
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Call) and (dotted(node.func) or "").endswith("execution_options"):
            for keyword in node.keywords:
                if keyword.arg == "schema_translate_map" and isinstance(keyword.value, ast.Dict):
                    for key, value in zip(keyword.value.keys, keyword.value.values):
                        if isinstance(key, ast.Constant) and key.value is None and isinstance(value, ast.Constant):
                            return str(value.value), False
        if not isinstance(node, (ast.Constant, ast.JoinedStr)) or "search_path" not in source.segment(node).lower():
            continue
        try:
            value = evaluator.value(builder.build(node))
        except (Unknown, RecursionError):
            per_run = True  # built from a loop variable: a schema per run
            continue
        match = _SEARCH_PATH.search(value) if isinstance(value, str) else None
        if match:
            return match.group(1), False
    return None, per_run
