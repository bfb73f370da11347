"""What the index read and what it could not: said out loud in `schemalens schema` (text and the
`coverage` key of the JSON) and in the audit report, never turned into findings.

Rules that compare the two layers read `layers_comparable` and hold back, with one info finding
saying why, when a layer is clearly incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..extract.other_orms import OtherOrmModels
from ..extract.orm_build import KeptOutTable, UnrecognizedModel
from ..i18n import _, _n
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
    library_tables: tuple[tuple[str, str], ...] = ()  # (table key, library): tables a library maps at run time
    library_named: tuple[tuple[str, str], ...] = ()  # (class, library base): a table the library names, not read
    other_orm_models: tuple[OtherOrmModels, ...] = ()  # model classes of ORMs SchemaLens does not read
    revisions: dict[str, int] = field(default_factory=dict)  # Alembic environment -> revisions read
    revisions_skipped: tuple[tuple[str, int, tuple[str, ...]], ...] = ()  # (why, how many files, the first of them)
    sql_files: dict[str, int] = field(default_factory=dict)  # "migration file(s), PostgreSQL" -> files read
    sql_skipped: tuple[tuple[str, int, tuple[str, ...]], ...] = ()  # (why, how many files, the first of them)
    sql_statements: dict[str, tuple[int, int]] = field(default_factory=dict)  # dialect -> (statements read, not readable)
    migration_sets: tuple["MigrationSetCoverage", ...] = ()
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
        out = [_("models: %(read)d of %(count)d model classes read as tables", read=self.recognized_models,
                 count=self.model_classes)]
        for models in self.other_orm_models:
            shown = ", ".join(models.paths) + (", ..." if models.files > len(models.paths) else "")
            out.append("  " + _n("not read: %(count)d %(library)s model class (%(paths)s): SchemaLens reads SQLAlchemy models",
                                 "not read: %(count)d %(library)s model classes (%(paths)s): SchemaLens reads SQLAlchemy models",
                                 models.classes, library=models.library, paths=shown))
        for model in self.unrecognized_models[:SHOWN]:
            out.append("  " + _("not read: %(name)s (%(location)s): %(reason)s", name=model.class_name,
                                location=model.location, reason=model.reason))
        if len(self.unrecognized_models) > SHOWN:
            out.append("  " + _n("... and %(count)d more", "... and %(count)d more", len(self.unrecognized_models) - SHOWN))
        by_reason: dict[str, list[KeptOutTable]] = {}
        for table in self.kept_out_tables:
            by_reason.setdefault(table.reason, []).append(table)
        for reason, tables in sorted(by_reason.items()):
            names = ", ".join(t.key for t in tables[:SHOWN]) + (", ..." if len(tables) > SHOWN else "")
            what = _("declared in code that is not application code") if reason == "not application code" \
                else _("of another database engine (%(engine)s)", engine=reason)
            out.append(_n("kept out of the schema: %(count)d table(s) %(what)s: %(names)s",
                          "kept out of the schema: %(count)d table(s) %(what)s: %(names)s", len(tables), what=what, names=names))
        by_base: dict[str, list[str]] = {}
        for base, table in self.library_bases:
            by_base.setdefault(base, []).append(table)
        for base, tables in sorted(by_base.items()):
            names = ", ".join(tables[:SHOWN]) + (", ..." if len(tables) > SHOWN else "")
            out.append(_("not read: columns the library class %(base)s may declare, inherited by %(tables)s", base=base,
                         tables=names))
        by_library: dict[str, list[str]] = {}
        for table, library in self.library_tables:
            by_library.setdefault(library, []).append(table)
        for library, tables in sorted(by_library.items()):
            names = ", ".join(tables[:SHOWN]) + (", ..." if len(tables) > SHOWN else "")
            out.append(_("mapped by %(library)s at run time, not by a model: %(tables)s", library=library, tables=names))
        for cls, base in self.library_named:
            out.append(_("not read: the table of %(cls)s, named by its library class %(base)s", cls=cls, base=base))
        for folder, count in sorted(self.revisions.items()):
            out.append(_n("migrations: %(count)d Alembic revision(s) in environment %(folder)s",
                          "migrations: %(count)d Alembic revision(s) in environment %(folder)s", count, folder=folder or '.'))
        for why, count, paths in self.revisions_skipped:
            shown = ", ".join(paths) + (", ..." if count > len(paths) else "")
            out.append(_("Alembic revisions not read: %(count)d, %(why)s: %(paths)s", count=count, why=why, paths=shown))
        for kind, count in sorted(self.sql_files.items()):
            out.append(_("SQL files: %(count)d %(kind)s", count=count, kind=kind))
        for dialect, (read, unread) in sorted(self.sql_statements.items()):
            parser = "pglast" if dialect == "PostgreSQL" else "sqlglot"
            out.append(_("SQL statements: %(count)d %(dialect)s read with %(parser)s", count=read, dialect=dialect, parser=parser)
                       + (_(", %(count)d it cannot read", count=unread) if unread else ""))
        for why, count, paths in self.sql_skipped:
            shown = ", ".join(paths) + (", ..." if count > len(paths) else "")
            out.append(_("SQL files not read: %(count)d, %(why)s: %(paths)s", count=count, why=why, paths=shown))
        for migration_set in self.migration_sets:
            out.append(migration_set.line())
        out.append(_("tables: %(orm)d in the models, %(database)d after the migrations, %(both)d in both",
                     orm=self.orm_tables, database=self.database_tables, both=self.tables_in_both))
        reason = self.incomparable_reason()
        if reason and self.orm_tables and self.database_tables:
            out.append(_("models and migrations not compared (SL520-SL524 held back): %(reason)s", reason=reason))
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
            "library_tables": [{"table": table, "library": library} for table, library in self.library_tables],
            "library_named": [{"class": cls, "library": base} for cls, base in self.library_named],
            "other_orm_models": [{"library": models.library, "classes": models.classes, "files": models.files,
                                  "first": list(models.paths)} for models in self.other_orm_models],
            "revisions": dict(sorted(self.revisions.items())),
            "revisions_skipped": [{"why": why, "files": count, "first": list(paths)}
                                  for why, count, paths in self.revisions_skipped],
            "sql_files": dict(sorted(self.sql_files.items())),
            "sql_statements": {dialect: {"read": read, "unread": unread}
                               for dialect, (read, unread) in sorted(self.sql_statements.items())},
            "sql_skipped": [{"why": why, "files": count, "first": list(paths)} for why, count, paths in self.sql_skipped],
            "migration_sets": [migration_set.as_json() for migration_set in self.migration_sets],
            "tables": {"orm": self.orm_tables, "database": self.database_tables, "both": self.tables_in_both},
            "layers_comparable": self.layers_comparable,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class MigrationSetCoverage:
    """One SQL migration folder (or the Alembic history) and the database it builds."""

    folder: str
    tool: str
    dialect: str
    files: int
    database: Optional[str] = None  # the database it is replayed into; None for a draft or an unread engine
    tables: int = 0
    main: bool = False
    why_not_replayed: str = ""

    def line(self) -> str:
        where = self.folder or "."
        if self.database is None:
            return _("migration set %(folder)s: %(files)d file(s), %(tool)s, %(dialect)s: not replayed (%(why)s)",
                     folder=where, files=self.files, tool=self.tool, dialect=self.dialect, why=self.why_not_replayed)
        into = "" if self.database == self.folder else _(", replayed into the database of %(database)s", database=self.database)
        main = _(" (the main database)") if self.main else ""
        return _("migration set %(folder)s: %(files)d file(s), %(tool)s, %(dialect)s%(into)s: %(tables)d table(s)%(main)s",
                 folder=where, files=self.files, tool=self.tool, dialect=self.dialect, into=into, tables=self.tables,
                 main=main)

    def as_json(self) -> dict:
        return {"folder": self.folder, "tool": self.tool, "dialect": self.dialect, "files": self.files,
                "database": self.database, "tables": self.tables, "main": self.main,
                "not_replayed": self.why_not_replayed or None}


@dataclass(frozen=True, slots=True)
class SqlCoverage:
    files: dict[str, int]
    skipped: tuple[tuple[str, int, tuple[str, ...]], ...]
    sets: tuple[MigrationSetCoverage, ...]
    statements: dict[str, tuple[int, int]]


_KINDS = {"sql_migration": _("migration file(s)"), "sql_script": _("script(s) (not migrations)"),
          "sql_draft": _("file(s) in draft folders (not replayed)")}


def sql_coverage(parsed_files: dict, plan, databases) -> SqlCoverage:
    """What was read of the workspace's SQL: files per kind and dialect, files skipped and why,
    and every migration set with the database it builds."""
    from ..extract.sql_dialects import UNREAD, label

    files: dict[str, int] = {}
    skipped: dict[str, list[str]] = {}

    statements: dict[str, list[int]] = {}
    for path, parsed in sorted(parsed_files.items()):
        if parsed.kind in _KINDS:
            key = _KINDS[parsed.kind] + ", " + label(parsed.dialect)
            files[key] = files.get(key, 0) + 1
            if parsed.result is not None:
                counts = statements.setdefault(label(parsed.dialect), [0, 0])
                locations = {(op.location.line, op.location.column) for op in parsed.result.operations
                             if getattr(op, "kind", None) != UNREAD}
                counts[0] += len(locations)
                counts[1] += sum(1 for op in parsed.result.operations if getattr(op, "kind", None) == UNREAD)
    for path, (kind, _root, why) in sorted(plan.files.items()):
        if kind == "sql_skipped":
            skipped.setdefault(why, []).append(path)
    in_database = {location.folder: database for database in databases for location in database.locations}
    sets = []
    for alembic in (database for database in databases if database.alembic):
        sets.append(MigrationSetCoverage(alembic.name, "Alembic revisions", label(alembic.dialect),
                                         sum(1 for step in alembic.steps if step.path.endswith(".py")), alembic.name,
                                         len(alembic.layer.tables), alembic.main))
    for location in plan.locations:
        database = in_database.get(location.folder)
        why = location.draft_reason if location.draft else "" if location.readable else f"{label(location.dialect)} is not read"
        sets.append(MigrationSetCoverage(location.folder, location.tool_label, label(location.dialect), len(location.files),
                                         database.name if database is not None else None,
                                         len(database.layer.tables) if database is not None else 0,
                                         database is not None and database.main, why))
    ordered_skips = tuple((why, len(paths), tuple(paths[:3])) for why, paths in sorted(skipped.items(), key=lambda i: -len(i[1])))
    return SqlCoverage(files, ordered_skips, tuple(sets), {d: (read, unread) for d, (read, unread) in statements.items()})


def tables_in_both(orm: SchemaLayer, database: SchemaLayer) -> int:
    return len(set(orm.tables) & set(database.tables))
