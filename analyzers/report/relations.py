"""Relations between tables, with cardinality, and the domains tables group into."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

from ..schema.model import ForeignKey, SchemaLayer, Table

# Columns an association table may carry besides its two keys and still be "just the link".
_LINK_EXTRAS = {"id", "created_at", "updated_at", "created", "position", "sort_order"}


@dataclass(frozen=True, slots=True)
class Relation:
    """`left` relates to `right`: "1-1", "1-N" (one left, many right) or "N-N" (through `via`)."""

    left: str
    right: str
    cardinality: str
    columns: str  # the key columns, "orders.user_id -> users.id"
    via: Optional[str] = None
    on_delete: Optional[str] = None


def is_association_table(table: Table) -> bool:
    """Two foreign keys and nothing else of substance: the link of an N-N relation."""
    if len(table.foreign_keys) != 2:
        return False
    key_columns = {column for fk in table.foreign_keys for column in fk.columns}
    extras = {column.name for column in table.columns} - key_columns
    return extras <= _LINK_EXTRAS


def _is_one_to_one(table: Table, fk: ForeignKey) -> bool:
    unique_sets = [set(u.columns) for u in table.unique_constraints]
    unique_sets += [set(i.columns) for i in table.indexes if i.unique and not i.where]
    if table.primary_key:
        unique_sets.append(set(table.primary_key.columns))
    return set(fk.columns) in unique_sets


def relations(layer: SchemaLayer) -> list[Relation]:
    found = []
    for table in sorted(layer.tables.values(), key=lambda t: t.key):
        if is_association_table(table):
            left, right = table.foreign_keys
            found.append(Relation(left.ref_table, right.ref_table, "N-N",
                                  f"{table.name}.({', '.join(left.columns + right.columns)})", via=table.name))
            continue
        for fk in table.foreign_keys:
            cardinality = "1-1" if _is_one_to_one(table, fk) else "1-N"
            columns = f"{table.name}.{', '.join(fk.columns)} -> {fk.ref_table}.{', '.join(fk.ref_columns) or '?'}"
            found.append(Relation(fk.ref_table, table.name, cardinality, columns, on_delete=fk.on_delete))
    return found


def domains(layer: SchemaLayer, orm: Optional[SchemaLayer] = None) -> dict[str, list[Table]]:
    """Tables grouped by domain: the declaring model module when known, else a shared name prefix."""
    modules = {}
    for source in (orm, layer):
        if source is None:
            continue
        for key, table in source.tables.items():
            if table.module and key not in modules:
                modules[key] = table.module.rsplit(".", 1)[-1]
    prefixes = Counter(table.name.split("_", 1)[0] for table in layer.tables.values() if "_" in table.name)
    grouped: dict[str, list[Table]] = {}
    for key, table in sorted(layer.tables.items()):
        # A partition belongs where its parent does.
        domain = _domain_of(table.partition_of or key, modules, prefixes)
        grouped.setdefault(domain, []).append(table)
    return dict(sorted(grouped.items(), key=lambda item: (item[0] == "other", item[0])))


def _domain_of(key: str, modules: dict, prefixes: Counter) -> str:
    prefix = key.rsplit(".", 1)[-1].split("_", 1)[0]
    return modules.get(key) or (prefix if prefixes[prefix] >= 2 else "other")
