"""The SQLAlchemy-models oracle: real MetaData and the static `orm` layer reduced to one shape.

Only tests import fixture model packages; the extractor under test reads the same files as text.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.sqlalchemy_models import build_orm
from schemalens.analyzers.schema.model import SchemaLayer, table_key
from schemalens.analyzers.schema.type_names import normalize_type
from schemalens.analyzers.workspace.package_roots import PackageRoots

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"


def import_fixture(package: str):
    """Import a fixture package by its top-level name (tests/fixtures/models on sys.path)."""
    if str(MODELS) not in sys.path:
        sys.path.insert(0, str(MODELS))
    return importlib.import_module(package)


def static_layer(package: str, versions: Optional[dict[str, tuple[int, ...]]] = None) -> tuple[SchemaLayer, tuple]:
    """The extractor's view of the same package, every file read as text; `versions`: the
    libraries' pinned versions, as a lock file gives them."""
    paths = {path.relative_to(MODELS).as_posix(): path for path in sorted((MODELS / package).rglob("*.py"))}
    roots = PackageRoots(paths)
    summaries = [summarize_module(path.read_text(encoding="utf-8"), relative, roots.module_name(relative))
                 for relative, path in paths.items()]
    built = build_orm(summaries, versions=versions)
    return built.layer, built.errors


def _names(columns) -> tuple[str, ...]:
    return tuple(column.name for column in columns)


def from_metadata(*metadatas: sa.MetaData) -> dict:
    dialect = postgresql.dialect()
    tables, enums = {}, {}
    for metadata in metadatas:
        for table in metadata.tables.values():
            columns = {}
            for column in table.columns:
                columns[column.name] = (normalize_type(column.type.compile(dialect=dialect)), column.nullable)
                column_type = column.type.item_type if isinstance(column.type, sa.ARRAY) else column.type
                if isinstance(column_type, sa.Enum) and column_type.native_enum and column_type.name:
                    enums[table_key(column_type.name, column_type.schema)] = tuple(column_type.enums)
            constraints = table.constraints
            primary = table.primary_key
            tables[table_key(table.name, table.schema)] = {
                "columns": columns,
                "primary_key": (primary.name, _names(primary.columns)) if primary.columns else None,
                "foreign_keys": {(c.name, tuple(e.parent.name for e in c.elements), c.elements[0].column.table.name,
                                  tuple(e.column.name for e in c.elements), c.ondelete and c.ondelete.upper())
                                 for c in constraints if isinstance(c, sa.ForeignKeyConstraint)},
                "unique": {(c.name, _names(c.columns)) for c in constraints if isinstance(c, sa.UniqueConstraint)},
                "checks": {c.name for c in constraints if isinstance(c, sa.CheckConstraint)},
                "indexes": {(i.name, tuple(_index_key(e) for e in i.expressions), i.unique) for i in table.indexes
                            if _created_on_postgresql(i)},
                "comment": table.comment,
            }
    return {"tables": tables, "enums": enums}


def from_layer(layer: SchemaLayer) -> dict:
    tables = {}
    for key, table in layer.tables.items():
        tables[key] = {
            "columns": {column.name: (column.type, column.nullable) for column in table.columns},
            "primary_key": (table.primary_key.name, table.primary_key.columns) if table.primary_key else None,
            "foreign_keys": {(fk.name, fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) for fk in table.foreign_keys},
            "unique": {(u.name, u.columns) for u in table.unique_constraints},
            "checks": {c.name for c in table.check_constraints},
            "indexes": {(i.name, tuple("<expression>" if e else k for k, e in zip(i.columns, i.expressions)), i.unique)
                        for i in table.indexes},
            "comment": table.comment,
        }
    return {"tables": tables, "enums": {key: enum.values for key, enum in layer.enums.items()}}


def differences(expected: dict, actual: dict) -> list[str]:
    lines = []
    for key in sorted(set(expected["tables"]) | set(actual["tables"])):
        left, right = expected["tables"].get(key), actual["tables"].get(key)
        if left is None or right is None:
            lines.append(f"table {key}: only in {'static' if left is None else 'metadata'}")
            continue
        for part in sorted(left):
            if left[part] != right[part]:
                lines.append(f"{key}.{part}:\n  metadata {left[part]!r}\n  static   {right[part]!r}")
    if expected["enums"] != actual["enums"]:
        lines.append(f"enums:\n  metadata {expected['enums']!r}\n  static   {actual['enums']!r}")
    return lines


def _created_on_postgresql(element) -> bool:
    """`ddl_if(dialect=...)` (SQLAlchemy 2.0) leaves out what other dialects only create."""
    condition = getattr(element, "_ddl_if", None)
    if condition is None or condition.dialect is None:
        return True
    dialects = (condition.dialect,) if isinstance(condition.dialect, str) else tuple(condition.dialect)
    return "postgresql" in dialects


def _index_key(element) -> str:
    """A column name, also under a sort order (`created.desc()`: PostgreSQL stores the order as an
    option of a plain column key), else "<expression>"."""
    import sqlalchemy as sa

    while isinstance(element, sa.sql.elements.UnaryExpression) and element.modifier is not None:
        element = element.element
    return element.name if isinstance(element, sa.Column) else "<expression>"
