"""`schemalens verify`: rehearse the migrations on a real PostgreSQL (upgrade, step-by-step
downgrade, upgrade again), trace each statement's locks, rewrites and time, and compare the
database it leaves with SchemaLens's static database layer and with the models.

    report = verify(model)                 # a throwaway embedded PostgreSQL
    report = verify(model, dsn="postgresql://me@db/rehearsal_test")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from ..i18n import _
from ..schema.compare import comparable, differences
from .rehearsal import Progress, Rehearsal, rehearse
from .target import RehearsalDatabase, TargetError, embedded, from_dsn
from ..lazy_pattern import LazyPattern

__all__ = ["TargetError", "VerifyReport", "verify"]

TOOL_TABLES = ("alembic_version", "flyway_schema_history")


@dataclass
class VerifyReport:
    database: str
    rehearsal: Rehearsal
    drift: list[str] = field(default_factory=list)  # the models vs the migrated database: the project's
    limitations: list[str] = field(default_factory=list)  # SchemaLens's static replay vs PostgreSQL: ours
    seconds: float = 0.0
    kept: Optional[str] = None
    drift_compared: bool = False  # False: one side was empty, and nothing is said about drift
    drift_skipped: str = ""  # why it was not compared

    @property
    def failed(self) -> bool:
        """Not OK: something failed, or something that should have run did not."""
        return self.verdict != "OK"

    @property
    def verdict(self) -> str:
        """FAILED (a statement, a revision or the run failed), INCOMPLETE (nothing failed, but a
        migration set did not run: another engine's, no database for it), else OK."""
        rehearsal = self.rehearsal
        if rehearsal.failures or any(not step.ok for step in rehearsal.steps) or \
                any(s.failed for s in rehearsal.sql_sets):
            return "FAILED"
        return "INCOMPLETE" if any(not s.ok for s in rehearsal.sql_sets) else "OK"


def verify(model, *, dsn: Optional[str] = None, yes: bool = False, keep: bool = False, python: Optional[str] = None,
           progress: Progress = lambda line: None) -> VerifyReport:
    """Rehearses the workspace's migrations. `python`: the project's interpreter, which runs its
    env.py and revisions (default: SchemaLens's own, where the application may not import)."""
    started = time.perf_counter()
    database: RehearsalDatabase = from_dsn(dsn, yes) if dsn else embedded()
    progress(_("schemalens verify runs the project's Alembic env.py and revision files (project code) and its SQL "
               "migrations against %(where)s; nothing else is touched.", where=database.describe()))

    try:
        rehearsal = rehearse(model, database, progress, python=python)
        report = VerifyReport(database.describe(), rehearsal)
        _compare(model, database, report)
    finally:
        kept = database.close(keep)
    report.kept = kept
    report.seconds = time.perf_counter() - started
    return report


def _compare(model, database: RehearsalDatabase, report: VerifyReport) -> None:
    """After the last upgrade: PostgreSQL's catalog against the static layer (our gaps) and the
    models (the project's drift, for the tables the models map)."""
    import psycopg

    from ..pg.catalog import read_catalog

    if not report.rehearsal.main_rehearsed:
        report.drift_skipped = _("the main database's migrations did not run on PostgreSQL (see the migration sets), so "
                                 "there is nothing to compare")
        return
    with psycopg.connect(database.dsn) as connection:
        catalog = comparable(read_catalog(connection))
    # Bookkeeping tables in every environment's schema; a per-run (tenant) schema's tables are
    # what SchemaLens reads unqualified.
    catalog["tables"] = {key.split(".", 1)[1] if key.startswith("schemalens_") else key: entry
                         for key, entry in catalog["tables"].items() if key.rsplit(".", 1)[-1] not in TOOL_TABLES}
    catalog = normalized(catalog)
    static = normalized(comparable(model.database))
    report.limitations = differences(catalog, static, ("PostgreSQL", "SchemaLens"))
    if not model.orm.tables:
        report.drift_skipped = _("SchemaLens read no model (0 model tables), so there is nothing to compare the database with")
    elif not catalog["tables"]:
        report.drift_skipped = _("the rehearsal left no table in the database (no migration created one), so there is "
                                 "nothing to compare the models with")
    else:
        report.drift_compared = True
        orm = normalized(comparable(model.orm))
        mapped = {"tables": {k: v for k, v in catalog["tables"].items() if k in orm["tables"]}, "enums": catalog["enums"]}
        for key, entry in orm["tables"].items():
            if key in mapped["tables"]:
                _take_generated_names(entry, mapped["tables"][key])
        report.drift = [line for line in differences(mapped, orm, (_("database"), _("models"))) if not line.startswith("enums")]


# PostgreSQL's default (and largest) precision for timestamps and times is 6: timestamp(6) is timestamp.
_DEFAULT_PRECISION = LazyPattern(r"^(timestamp|time)\(6\)")


def normalized_type(text: str) -> str:
    return _DEFAULT_PRECISION.sub(r"\1", " ".join(text.lower().split()))


def _unquoted(value):
    """Names as PostgreSQL stores them: `"timestamp"` is the column timestamp."""
    if isinstance(value, str):
        return value[1:-1].replace('""', '"') if len(value) > 1 and value[0] == value[-1] == '"' else value
    if isinstance(value, tuple):
        return tuple(_unquoted(item) for item in value)
    return value


def normalized(found: dict) -> dict:
    """A comparable() dict with types as PostgreSQL stores them and names unquoted, so that two
    spellings of the same schema compare equal."""
    tables = {}
    for key, entry in found["tables"].items():
        entry = dict(entry)
        entry["columns"] = {_unquoted(name): (normalized_type(kind), nullable) for name, (kind, nullable) in entry["columns"].items()}
        for part in ("foreign_keys", "unique", "indexes", "checks"):
            if part in entry:
                entry[part] = {_unquoted(element) for element in entry[part]}
        if entry.get("primary_key"):
            entry["primary_key"] = _unquoted(entry["primary_key"])
        tables[_unquoted(key)] = entry
    return {"tables": tables, "enums": found["enums"]}


def _take_generated_names(model_entry: dict, database_entry: dict) -> None:
    """A constraint or index the models leave unnamed gets PostgreSQL's name: compare the rest."""
    key = model_entry.get("primary_key")
    if key is not None and key[0] is None and database_entry.get("primary_key") and database_entry["primary_key"][1] == key[1]:
        model_entry["primary_key"] = database_entry["primary_key"]
    for part in ("foreign_keys", "unique", "indexes"):
        named = set()
        for element in model_entry.get(part, set()):
            if element[0] is None:
                element = next((found for found in database_entry.get(part, ()) if found[1:] == element[1:]), element)
            named.add(element)
        model_entry[part] = named
