"""Compare schema layers by what PostgreSQL stores: the static replay, the ORM extraction and a
live catalog. Used by `schemalens verify` and by the oracle tests.

`comparable(layer)` reduces a layer to plain sets and tuples: tables, columns (type, nullable),
primary key, foreign keys (with ON DELETE), unique constraints, check constraint names, indexes
(name, keys, unique, method, partial or not), partitioning and enums. Partitions compare by
columns only: PostgreSQL gives them copies of their parent's indexes and constraints under names
it generates.
"""

from __future__ import annotations

from ..i18n import _, join
from .model import SchemaLayer


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


def differences(expected: dict, actual: dict, names: tuple[str, str] = ("expected", "actual")) -> list[str]:
    """Readable lines (catalog texts): what differs between two comparable() dicts (`names` says
    which is which)."""
    lines = []
    for key in sorted(set(expected["tables"]) | set(actual["tables"])):
        left, right = expected["tables"].get(key), actual["tables"].get(key)
        if left == right:
            continue
        if left is None or right is None:
            lines.append(_("table %(table)s: only in %(side)s", table=key, side=names[1] if left is None else names[0]))
            continue
        for part in sorted(set(left) | set(right)):
            lines += _part_differences(_("table %(table)s", table=key + "." + part), left.get(part), right.get(part), names)
    if expected["enums"] != actual["enums"]:
        lines.append(join("", ("enums: ", names[0], f" {expected['enums']!r}, ", names[1], f" {actual['enums']!r}")))
    return lines


def _shown(values: dict, column) -> str:
    return repr(values[column]) if column in values else join("", ("'", _("missing"), "'"))


def _part_differences(where: str, left, right, names: tuple[str, str]) -> list[str]:
    """One line per differing column, or per element only one side has."""
    if left == right:
        return []
    if isinstance(left, dict) and isinstance(right, dict):
        return [_("%(where)s %(column)s: %(left_side)s %(left)s, %(right_side)s %(right)s", where=where, column=column,
                  left_side=names[0], left=_shown(left, column), right_side=names[1], right=_shown(right, column))
                for column in sorted(set(left) | set(right), key=str) if left.get(column) != right.get(column)]
    if isinstance(left, (set, frozenset)) and isinstance(right, (set, frozenset)):
        return ([_("%(where)s: only in %(side)s: %(item)s", where=where, side=names[0], item=repr(item))
                 for item in sorted(left - right, key=repr)]
                + [_("%(where)s: only in %(side)s: %(item)s", where=where, side=names[1], item=repr(item))
                   for item in sorted(right - left, key=repr)])
    return [join("", (where, ":\n  ", names[0], f": {left!r}\n  ", names[1], f": {right!r}"))]
