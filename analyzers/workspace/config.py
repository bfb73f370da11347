"""Project configuration: `[tool.schemalens]` in pyproject.toml, or schemalens.toml.

Unknown keys and values of the wrong type are reported as configuration problems and fall back
to the defaults, so a typo never stops the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..i18n import LANGUAGES, _, normalize_language
from ..schema.model import ExtractionError, Location
from .code_roles import DEFAULT_NON_APPLICATION
from .toml_reader import tomllib

DIALECTS = ("postgresql", "mysql", "sqlite")
# PostgreSQL major versions whose behaviour the rules know (9 stands for 9.x). The default, when
# the project does not say (see workspace/postgres_version.py), is the newest released one; 19,
# in beta, is accepted when configured (REPACK).
SUPPORTED_POSTGRES_VERSIONS = tuple(range(9, 20))
NEWEST_POSTGRES_VERSION = 18
# How a SQL migration folder's files run: each in one transaction, or statement by statement.
# A migration tool's name stands for its default (see workspace/migration_tools.py).
SQL_TRANSACTION_MODES = ("per-file", "none")

DEFAULT_EXCLUDE = (
    ".git", ".hg", ".venv", "venv", "env", ".tox", ".nox", "node_modules", "__pycache__",
    "build", "dist", "site-packages", ".mypy_cache", ".pytest_cache", ".ruff_cache",
)


@dataclass(frozen=True, slots=True)
class TableHints:
    """What the team expects of a table's size and load; rules scale severity with these."""

    rows: Optional[int] = None
    rows_in_a_year: Optional[int] = None
    write_qps: Optional[float] = None


@dataclass(frozen=True, slots=True)
class Config:
    dialect: str = "postgresql"
    include: tuple[str, ...] = ()  # glob patterns; empty means every file
    exclude: tuple[str, ...] = ()  # glob patterns or folder names, on top of DEFAULT_EXCLUDE
    model_roots: tuple[str, ...] = ()  # empty: auto-detect
    migration_roots: tuple[str, ...] = ()  # Alembic script locations; empty: auto-detect
    sql_roots: tuple[str, ...] = ()  # SQL migration folders; empty: auto-detect
    non_application_paths: tuple[str, ...] = DEFAULT_NON_APPLICATION  # tests, scripts, seeds: see code_roles
    tables: dict[str, TableHints] = field(default_factory=dict)
    select: tuple[str, ...] = ("ALL",)  # rule codes or prefixes ("SL3", "SL301") or "ALL"
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)  # rule code -> "P0" | "P1" | "P2"
    per_path_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)  # glob -> codes
    presets: tuple[str, ...] = ()  # opt-in rule sets: "squawk"
    postgres_version: Optional[int] = None  # None: read from the project, else the newest supported
    sql_transactions: dict[str, str] = field(default_factory=dict)  # SQL folder -> "per-file", "none" or a tool
    lang: Optional[str] = None  # "en" or "zh": reports, diagnostics and hovers; None: the command's or editor's choice
    # "offline": migrations run while the application is stopped (a maintenance window, a
    # self-hosted upgrade); "online": beside live traffic; None: online unless the application
    # applies them itself as it starts.
    migrations_run: Optional[str] = None
    source: Optional[str] = None  # the file the settings came from, relative to the root
    problems: tuple[ExtractionError, ...] = ()


_LIST_KEYS = ("include", "exclude", "model_roots", "migration_roots", "sql_roots", "non_application_paths", "select",
              "ignore")
_SEVERITIES = ("P0", "P1", "P2")
MIGRATION_RUNS = ("online", "offline")


def load_config(root: Path) -> Config:
    """Read the configuration of the workspace at `root` (schemalens.toml wins over pyproject)."""
    for name, section in (("schemalens.toml", ()), ("pyproject.toml", ("tool", "schemalens"))):
        path = root / name
        if not path.is_file():
            continue
        try:
            data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            return Config(source=name, problems=(ExtractionError(Location(name, 1), _("cannot read configuration: %(error)s",
                                                                                      error=str(error))),))
        for key in section:
            data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            continue
        return config_from_mapping(data, name)
    return Config()


def load_hints_file(root: Path, relative: str) -> tuple[dict[str, TableHints], tuple[ExtractionError, ...]]:
    """Row-count hints kept in their own TOML file (`[tables.orders] rows = 2_000_000`), as the
    editor's `hintsFile` setting names it, relative to the workspace root."""
    location = Location(relative, 1)
    try:
        data = tomllib.loads((root / relative).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        return {}, (ExtractionError(location, _("cannot read the hints file: %(error)s", error=str(error))),)
    problems: list[str] = []
    hints = _table_hints(data.get("tables", {}), problems)
    return hints, tuple(ExtractionError(location, _("hints file: %(problem)s", problem=text)) for text in problems)


def config_from_mapping(data: Any, source: str) -> Config:
    """Build a Config from parsed TOML (or LSP settings), reporting what had to be ignored."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    if not isinstance(data, dict):
        data, problems = {}, [_("the [tool.schemalens] section must be a table")]
    for key, value in data.items():
        if key == "dialect":
            if value in DIALECTS:
                values["dialect"] = value
            else:
                problems.append(_("dialect %(value)r is not one of %(dialects)s; using postgresql", value=value,
                                  dialects=", ".join(DIALECTS)))
        elif key in _LIST_KEYS:
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                values[key] = tuple(value)
            else:
                problems.append(_("%(key)s must be a list of strings", key=key))
        elif key == "tables":
            values["tables"] = _table_hints(value, problems)
        elif key == "severity":
            values["severity"] = _severity_overrides(value, problems)
        elif key in ("per_path_ignores", "per-path-ignores"):
            values["per_path_ignores"] = _per_path_ignores(value, problems)
        elif key in ("preset", "presets"):
            values["presets"] = _presets(value, problems)
        elif key == "postgres_version":
            version = _postgres_version(value, problems)
            if version is not None:
                values["postgres_version"] = version
        elif key == "sql_transactions":
            values["sql_transactions"] = _sql_transactions(value, problems)
        elif key == "migrations_run":
            if value in MIGRATION_RUNS:
                values["migrations_run"] = value
            else:
                problems.append(_("migrations_run %(value)r is not one of %(modes)s; detecting it", value=value,
                                  modes=", ".join(MIGRATION_RUNS)))
        elif key in ("lang", "language"):
            lang = normalize_language(value)
            if lang is None:
                problems.append(_("lang %(value)r is not one of %(languages)s; using the default", value=value,
                                  languages=", ".join(LANGUAGES)))
            else:
                values["lang"] = lang
        else:
            problems.append(_("unknown setting %(key)r", key=key))
    location = Location(source, 1)
    return Config(**values, source=source, problems=tuple(ExtractionError(location, _("configuration: %(problem)s",
                                                                                      problem=text)) for text in problems))


def _table_hints(value: Any, problems: list[str]) -> dict[str, TableHints]:
    if not isinstance(value, dict):
        problems.append(_("tables must be a table of per-table hints"))
        return {}
    hints = {}
    for table, fields in value.items():
        if not isinstance(fields, dict):
            problems.append(_("tables.%(table)s must be a table (rows, rows_in_a_year, write_qps)", table=table))
            continue
        numbers = {}
        for key, number in fields.items():
            if key not in ("rows", "rows_in_a_year", "write_qps"):
                problems.append(_("tables.%(table)s: unknown hint %(key)r", table=table, key=key))
            elif isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                problems.append(_("tables.%(table)s.%(key)s must be a non-negative number", table=table, key=key))
            else:
                numbers[key] = number
        hints[table] = TableHints(**numbers)
    return hints


def _severity_overrides(value: Any, problems: list[str]) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append(_('severity must be a table such as %(example)s', example='{SL301 = "P0"}'))
        return {}
    overrides = {}
    for code, level in value.items():
        if level in _SEVERITIES:
            overrides[code.upper()] = level
        else:
            problems.append(_("severity.%(code)s must be one of P0, P1, P2", code=code))
    return overrides


def _per_path_ignores(value: Any, problems: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict) or not all(
            isinstance(codes, list) and all(isinstance(code, str) for code in codes) for codes in value.values()):
        problems.append(_("per_path_ignores must map globs to lists of rule codes: %(example)s",
                          example='{"tests/**" = ["SL2"]}'))
        return {}
    return {pattern: tuple(code.upper() for code in codes) for pattern, codes in value.items()}


def _presets(value: Any, problems: list[str]) -> tuple[str, ...]:
    from ..rules.selection import PRESETS

    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        problems.append(_('preset must be a name or a list of names, such as "squawk"'))
        return ()
    unknown = [name for name in names if name not in PRESETS]
    if unknown:
        problems.append(_("unknown preset %(presets)s; known: %(known)s", presets=", ".join(map(repr, unknown)),
                          known=", ".join(sorted(PRESETS))))
    return tuple(name for name in names if name in PRESETS)


def _postgres_version(value: Any, problems: list[str]) -> Optional[int]:
    """A major version: 16, "16", "16.4" or "9.6" (9.x is below every supported version)."""
    text = str(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else ""
    major = text.split(".")[0]
    if not major.isdigit():
        problems.append(_("postgres_version must be a PostgreSQL version such as 16, not %(value)r", value=value))
        return None
    version = int(major)
    if version not in SUPPORTED_POSTGRES_VERSIONS:
        nearest = min(max(version, SUPPORTED_POSTGRES_VERSIONS[0]), SUPPORTED_POSTGRES_VERSIONS[-1])
        problems.append(_("postgres_version %(version)d is outside %(lowest)d-%(highest)d; using %(nearest)d",
                          version=version, lowest=SUPPORTED_POSTGRES_VERSIONS[0],
                          highest=SUPPORTED_POSTGRES_VERSIONS[-1], nearest=nearest))
        return nearest
    return version


def _sql_transactions(value: Any, problems: list[str]) -> dict[str, str]:
    from .migration_tools import TOOL_TRANSACTIONS

    known = (*SQL_TRANSACTION_MODES, *sorted(TOOL_TRANSACTIONS))
    if not isinstance(value, dict):
        problems.append(_('sql_transactions must map SQL folders to "per-file", "none" or a tool name: %(example)s',
                          example='{"db/migrations" = "per-file"}'))
        return {}
    modes = {}
    for folder, mode in value.items():
        if mode in known:
            modes[str(folder).strip("/") or "."] = mode
        else:
            problems.append(_("sql_transactions.%(folder)s must be one of %(modes)s", folder=folder, modes=", ".join(known)))

    return modes
