"""What the index read and what it could not: said out loud in `schemalens schema` (text and the
`coverage` key of the JSON) and in the audit report, never turned into findings.

Rules that compare the two layers read `layers_comparable` and hold back, with one info finding
saying why, when a layer is clearly incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..extract.sqlalchemy_models import KeptOutTable, UnrecognizedModel
from ..schema.model import SchemaLayer

SHOWN = 10  # how many unrecognized models and kept-out tables are listed by name
# A layer comparison means something only when the models were read and most tables of the
# smaller layer are in both.
_READ_SHARE = 0.9
_OVERLAP_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Coverage:
    model_classes: int = 0  # application classes that declare a table or map through a declarative base
    unrecognized_models: tuple[UnrecognizedModel, ...] = ()
    kept_out_tables: tuple[KeptOutTable, ...] = ()
    library_bases: tuple[tuple[str, str], ...] = ()  # (library class, table): what such a base declares is not read
    revisions: dict[str, int] = field(default_factory=dict)  # Alembic environment -> revisions read
    sql_files: dict[str, int] = field(default_factory=dict)  # "migrations (postgresql)", "scripts", "skipped: ..."
    orm_tables: int = 0
    database_tables: int = 0
    tables_in_both: int = 0
    notes: tuple[str, ...] = ()  # how the database layer was built when it is not a plain replay

    @property
    def recognized_models(self) -> int:
        return self.model_classes - len(self.unrecognized_models)

    @property
    def layers_comparable(self) -> bool:
        return self.incomparable_reason() is None

    def incomparable_reason(self) -> Optional[str]:
        """Why comparing the models with the migrated database would report reading gaps as
        drift, or None when the comparison is meaningful."""
        if not self.orm_tables or not self.database_tables:
            return f"no tables were read from the {'models' if not self.orm_tables else 'migrations'}"
        if self.model_classes and self.recognized_models < _READ_SHARE * self.model_classes:
            return f"only {self.recognized_models} of {self.model_classes} model classes were read as tables"
        smaller = min(self.orm_tables, self.database_tables)
        if self.tables_in_both < _OVERLAP_SHARE * smaller:
            return (f"only {self.tables_in_both} of the {smaller} tables of the smaller layer are in both layers; "
                    "one of them is not fully read")
        return None

    def lines(self) -> list[str]:
        """Plain sentences, one per fact."""
        out = [f"models: {self.recognized_models} of {self.model_classes} model classes read as tables"]
        for model in self.unrecognized_models[:SHOWN]:
            out.append(f"  not read: {model.class_name} ({model.location}): {model.reason}")
        if len(self.unrecognized_models) > SHOWN:
            out.append(f"  ... and {len(self.unrecognized_models) - SHOWN} more")
        by_reason: dict[str, list[KeptOutTable]] = {}
        for table in self.kept_out_tables:
            by_reason.setdefault(table.reason, []).append(table)
        for reason, tables in sorted(by_reason.items()):
            names = ", ".join(t.key for t in tables[:SHOWN]) + (", ..." if len(tables) > SHOWN else "")
            what = "declared in code that is not application code" if reason == "not application code" \
                else f"of another database engine ({reason})"
            out.append(f"kept out of the schema: {len(tables)} table(s) {what}: {names}")
        by_base: dict[str, list[str]] = {}
        for base, table in self.library_bases:
            by_base.setdefault(base, []).append(table)
        for base, tables in sorted(by_base.items()):
            names = ", ".join(tables[:SHOWN]) + (", ..." if len(tables) > SHOWN else "")
            out.append(f"not read: columns the library class {base} may declare, inherited by {names}")
        for folder, count in sorted(self.revisions.items()):
            out.append(f"migrations: {count} Alembic revision(s) in environment {folder or '.'}")
        for kind, count in sorted(self.sql_files.items()):
            out.append(f"SQL files: {count} {kind}")
        out.append(f"tables: {self.orm_tables} in the models, {self.database_tables} after the migrations, "
                   f"{self.tables_in_both} in both")
        reason = self.incomparable_reason()
        if reason and self.orm_tables and self.database_tables:
            out.append(f"models and migrations not compared (SL520-SL524 held back): {reason}")
        out += list(self.notes)
        return out

    def as_json(self) -> dict:
        return {
            "model_classes": self.model_classes,
            "model_classes_read": self.recognized_models,
            "unrecognized_models": [{"class": m.class_name, "path": m.location.path, "line": m.location.line,
                                     "reason": m.reason} for m in self.unrecognized_models],
            "kept_out_tables": [{"table": t.key, "path": t.location.path, "line": t.location.line, "reason": t.reason}
                                for t in self.kept_out_tables],
            "library_bases": [{"class": base, "table": table} for base, table in self.library_bases],
            "revisions": dict(sorted(self.revisions.items())),
            "sql_files": dict(sorted(self.sql_files.items())),
            "tables": {"orm": self.orm_tables, "database": self.database_tables, "both": self.tables_in_both},
            "layers_comparable": self.layers_comparable,
            "notes": list(self.notes),
        }


def tables_in_both(orm: SchemaLayer, database: SchemaLayer) -> int:
    return len(set(orm.tables) & set(database.tables))
