"""Compare schema layers the way the oracle tests need: by what PostgreSQL stores.

`comparable(layer)` reduces a layer (static replay, ORM extraction or a live catalog) to plain
sets and tuples: tables, columns (type, nullable), primary key, foreign keys (with ON DELETE),
unique constraints, check constraint names, indexes (name, keys, unique, method, partial or not),
partitioning and enums. Partitions compare by columns only: PostgreSQL gives them copies of
their parent's indexes and constraints under names it generates.
"""

from __future__ import annotations

from schemalens.analyzers.schema.model import SchemaLayer


def _partition_key(text):
    return " ".join(text.lower().replace('"', "").split()) if text else None


# Alembic's own bookkeeping table exists in every migrated database and in no migration.
_TOOL_TABLES = {"alembic_version", "flyway_schema_history"}


def comparable(layer: SchemaLayer) -> dict:
    tables = {}
    for key, table in sorted(layer.tables.items()):
        if key in _TOOL_TABLES:
            continue
        entry = {
            "columns": {column.name: (column.type, column.nullable) for column in table.columns},
            "partition_by": _partition_key(table.partition_by),
            "partition_of": table.partition_of,
        }
        if table.partition_of is None:
            entry.update(
                primary_key=(table.primary_key.name, table.primary_key.columns) if table.primary_key else None,
                foreign_keys={(fk.name, fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete or "NO ACTION")
                              for fk in table.foreign_keys},
                unique={(u.name, u.columns) for u in table.unique_constraints},
                checks={c.name for c in table.check_constraints},
                indexes={(i.name, tuple(_index_key(k, e) for k, e in zip(i.columns, i.expressions or (False,) * len(i.columns))),
                          i.unique, i.using, i.where is not None) for i in table.indexes},
            )
        tables[key] = entry
    return {"tables": tables, "enums": {key: enum.values for key, enum in sorted(layer.enums.items())}}


def _index_key(key: str, is_expression: bool) -> str:
    # Expression text differs between source and pg_get_indexdef; compare its presence only.
    return "<expression>" if is_expression else key


def differences(expected: dict, actual: dict) -> list[str]:
    """Readable lines for an assertion message: what differs between two comparable() dicts."""
    lines = []
    for key in sorted(set(expected["tables"]) | set(actual["tables"])):
        left, right = expected["tables"].get(key), actual["tables"].get(key)
        if left != right:
            if left is None or right is None:
                lines.append(f"table {key}: only in {'actual' if left is None else 'expected'}")
                continue
            for part in sorted(set(left) | set(right)):
                if left.get(part) != right.get(part):
                    lines.append(f"table {key}.{part}:\n  expected {left.get(part)!r}\n  actual   {right.get(part)!r}")
    if expected["enums"] != actual["enums"]:
        lines.append(f"enums: expected {expected['enums']!r}, actual {actual['enums']!r}")
    return lines
