"""Compare a static SchemaLens layer with an oracle layer (SQLAlchemy's MetaData or a live
PostgreSQL catalog, checked in under tests/corpus/oracles/) element by element.

The oracle files use the schema JSON contract's table shape (`analyzers/report/schema_json.py`)
plus a few keys the contract leaves out (`ref_schema` and `deferrable` of foreign keys,
`expressions`/`include`/`opclasses` of indexes). `load_layer` reads one back into a SchemaLayer,
`layer_document` writes one, and `compare_layers` counts, per element kind, the oracle's elements
that SchemaLens has equal, and lists the differences:

- `missing`: in the oracle, not in SchemaLens;
- `extra`: in SchemaLens, not in the oracle;
- `different`: both have it (same identity), an attribute differs.

Identities and compared attributes per kind:

| kind | identity | attributes |
|---|---|---|
| tables | schema-qualified name | (presence) |
| columns | table, name | type, nullable |
| primary_key | table | columns, name |
| foreign_keys | table, columns | referred table (schema-qualified), referred columns, ON DELETE (none = NO ACTION), name |
| unique | table, columns | name |
| indexes | table, keys (column names; `<expression>` for expressions) | unique, method, partial or not, name |
| checks | table, name | (presence) |

A name is compared only when both sides have one (an unnamed ORM constraint is named by
PostgreSQL, which a static reader may or may not imitate). Tables named `alembic_version` are
bookkeeping, in no model or migration, and are left out.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional

from schemalens.analyzers.report.schema_json import layer_json
from schemalens.analyzers.schema.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    Location,
    PrimaryKey,
    SchemaLayer,
    Table,
    UniqueConstraint,
    table_key,
)

KINDS = ("tables", "columns", "primary_key", "foreign_keys", "unique", "indexes", "checks")
# The kinds the corpus target (>= 98 % equal) is measured on.
TARGET_KINDS = ("tables", "columns", "primary_key", "foreign_keys", "unique", "indexes")
BOOKKEEPING_TABLES = frozenset({"alembic_version"})
# Schemas compared as another: dispatch's tenant schema is named after an organization row
# ("default" at install), which no code or migration spells; its tables are compared unqualified.
SCHEMA_ALIASES = {"dispatch": {"dispatch_organization_default": None}}
ORACLES = Path(__file__).resolve().parent / "corpus" / "oracles"


# --- JSON <-> SchemaLayer ------------------------------------------------------------------------

def layer_document(layer: SchemaLayer) -> dict:
    """A layer as the contract's `{"tables", "enums"}`, with the extra keys the oracles keep."""
    document = layer_json(layer)
    for entry, (_, table) in zip(document["tables"], sorted(layer.tables.items())):
        for fk_entry, fk in zip(entry["foreign_keys"], table.foreign_keys):
            fk_entry["ref_schema"] = fk.ref_schema
            fk_entry["deferrable"] = fk.deferrable
        for index_entry, index in zip(entry["indexes"], table.indexes):
            index_entry["expressions"] = list(index.expressions) or [False] * len(index.columns)
            index_entry["include"] = list(index.include)
            index_entry["opclasses"] = sorted([column, opclass] for column, opclass in index.opclasses)
        entry["comment"] = table.comment
    return document


def _location(entry: Mapping) -> Location:
    return Location(entry.get("path") or "<oracle>", entry.get("line") or 1)


def table_from_json(entry: Mapping) -> Table:
    where = _location(entry)
    primary = entry.get("primary_key")
    return Table(
        name=entry["name"], schema=entry.get("schema"), location=where, comment=entry.get("comment"),
        columns=tuple(Column(name=c["name"], type=c["type"], raw_type=c["type"], nullable=c["nullable"],
                             location=_location(c), server_default=c.get("server_default"),
                             identity=c.get("identity"), comment=c.get("comment"))
                      for c in entry["columns"]),
        primary_key=PrimaryKey(primary.get("name"), tuple(primary["columns"]), where) if primary else None,
        foreign_keys=tuple(ForeignKey(f.get("name"), tuple(f["columns"]), f["ref_table"], tuple(f["ref_columns"]),
                                      _location(f), ref_schema=f.get("ref_schema"), on_delete=f.get("on_delete"),
                                      on_update=f.get("on_update"), deferrable=bool(f.get("deferrable")),
                                      not_valid=bool(f.get("not_valid")))
                           for f in entry.get("foreign_keys", ())),
        unique_constraints=tuple(UniqueConstraint(u.get("name"), tuple(u["columns"]), _location(u))
                                 for u in entry.get("unique", ())),
        check_constraints=tuple(CheckConstraint(c.get("name"), c.get("expression") or "", _location(c),
                                                not_valid=bool(c.get("not_valid")))
                                for c in entry.get("checks", ())),
        indexes=tuple(Index(i.get("name"), tuple(i["columns"]), _location(i), unique=bool(i.get("unique")),
                            where=i.get("where"), using=i.get("using"),
                            opclasses=tuple(tuple(pair) for pair in i.get("opclasses", ())),
                            include=tuple(i.get("include", ())),
                            expressions=tuple(i.get("expressions") or (False,) * len(i["columns"])))
                      for i in entry.get("indexes", ())),
        partition_by=entry.get("partition_by"), partition_of=entry.get("partition_of"),
    )


def layer_from_json(document: Mapping, name: str) -> SchemaLayer:
    """`document` is one layer: `{"tables": [...], "enums": [...]}`."""
    tables = {}
    for entry in document["tables"]:
        table = table_from_json(entry)
        tables[table.key] = table
    enums = {table_key(e["name"], e.get("schema")): EnumType(e["name"], tuple(e["values"]), _location(e), e.get("schema"))
             for e in document.get("enums", ())}
    return SchemaLayer(name, tables, enums)


def load_oracle(project: str, layer: str, folder: Path = ORACLES) -> tuple[SchemaLayer, dict]:
    """The oracle of `project` for `layer` ("orm" or "database"): the layer and the file's
    `oracle` notes (how it was built, what failed)."""
    document = json.loads((folder / f"{project}.{layer}.json").read_text(encoding="utf-8"))
    return layer_from_json(document["layers"][layer], layer), document.get("oracle", {})


# --- comparison ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    kind: str  # an element kind of KINDS
    change: str  # "missing" (in the oracle only), "extra" (in SchemaLens only), "different"
    table: str
    element: str  # the identity, readable
    detail: str = ""  # for "different": which attributes, oracle vs SchemaLens

    def __str__(self) -> str:
        text = f"{self.change:9} {self.kind:12} {self.table}"
        if self.element:
            text += f" {self.element}"
        return text + (f": {self.detail}" if self.detail else "")


@dataclass
class Comparison:
    equal: Counter = field(default_factory=Counter)  # kind -> oracle elements SchemaLens has equal
    total: Counter = field(default_factory=Counter)  # kind -> oracle elements
    differences: list[Difference] = field(default_factory=list)

    def percent(self, kind: str) -> float:
        return 100.0 * self.equal[kind] / self.total[kind] if self.total[kind] else 100.0

    def counts_by_change(self) -> Counter:
        return Counter((d.kind, d.change) for d in self.differences)


def _name_differs(left: Optional[str], right: Optional[str]) -> bool:
    return left is not None and right is not None and left != right


def _ref(fk: ForeignKey, aliases: Mapping[str, Optional[str]]) -> str:
    return table_key(fk.ref_table, aliases.get(fk.ref_schema, fk.ref_schema) if fk.ref_schema else None)


def _index_keys(index: Index) -> tuple[str, ...]:
    flags = index.expressions or (False,) * len(index.columns)
    return tuple("<expression>" if is_expression else key for key, is_expression in zip(index.columns, flags))


def _elements(kind: str, table: Table, aliases: Mapping[str, Optional[str]]) -> list[tuple[tuple, dict]]:
    """(identity, attributes) of every element of `kind` in `table`; a None attribute named
    `name` is a wildcard."""
    if kind == "columns":
        return [((c.name,), {"type": c.type, "nullable": c.nullable}) for c in table.columns]
    if kind == "primary_key":
        pk = table.primary_key
        return [((), {"columns": tuple(pk.columns), "name": pk.name})] if pk and pk.columns else []
    if kind == "foreign_keys":
        return [((tuple(fk.columns),), {"ref_table": _ref(fk, aliases), "ref_columns": tuple(fk.ref_columns),
                                         "on_delete": (fk.on_delete or "NO ACTION").upper(), "name": fk.name})
                for fk in table.foreign_keys]
    if kind == "unique":
        return [((tuple(u.columns),), {"name": u.name}) for u in table.unique_constraints]
    if kind == "indexes":
        return [((_index_keys(i),), {"unique": bool(i.unique), "using": (i.using or "btree").lower(),
                                     "partial": i.where is not None, "name": i.name}) for i in table.indexes]
    if kind == "checks":
        return [((c.name,), {}) for c in table.check_constraints]
    raise ValueError(kind)


def _differing(oracle: dict, static: dict) -> list[str]:
    names = []
    for attribute in oracle:
        if attribute == "name":
            if _name_differs(oracle["name"], static.get("name")):
                names.append(attribute)
        elif oracle[attribute] != static.get(attribute):
            names.append(attribute)
    return names


def _match(kind: str, table: str, oracle: list, static: list, result: Comparison) -> None:
    """Pair elements: equal ones first, then same identity (different), then the rest."""
    result.total[kind] += len(oracle)
    pending_static = list(static)
    unmatched = []
    for identity, attributes in oracle:
        for position, (other_identity, other_attributes) in enumerate(pending_static):
            if other_identity == identity and not _differing(attributes, other_attributes):
                result.equal[kind] += 1
                del pending_static[position]
                break
        else:
            unmatched.append((identity, attributes))
    for identity, attributes in unmatched:
        readable = ", ".join(map(str, identity)) if identity else ""
        for position, (other_identity, other_attributes) in enumerate(pending_static):
            if other_identity == identity:
                detail = "; ".join(f"{name} {attributes[name]!r} vs {other_attributes.get(name)!r}"
                                   for name in _differing(attributes, other_attributes))
                result.differences.append(Difference(kind, "different", table, readable, detail))
                del pending_static[position]
                break
        else:
            result.differences.append(Difference(kind, "missing", table, readable))
    for identity, _ in pending_static:
        result.differences.append(Difference(kind, "extra", table, ", ".join(map(str, identity)) if identity else ""))


def _keyed(layer: SchemaLayer, aliases: Mapping[str, Optional[str]]) -> dict[str, Table]:
    tables = {}
    for table in layer.tables.values():
        if table.name in BOOKKEEPING_TABLES:
            continue
        schema = aliases.get(table.schema, table.schema) if table.schema else None
        tables[table_key(table.name, schema)] = table
    return tables


def compare_layers(oracle: SchemaLayer, static: SchemaLayer, *,
                   schema_aliases: Mapping[str, Optional[str]] | None = None) -> Comparison:
    """Count the oracle's elements that `static` has equal, and list the differences.

    `schema_aliases` maps a schema name to the one it is compared as (None: public), on both
    sides, e.g. a tenant schema whose name comes from data, not code."""
    aliases = dict(schema_aliases or {})
    result = Comparison()
    expected, actual = _keyed(oracle, aliases), _keyed(static, aliases)
    result.total["tables"] = len(expected)
    for key in sorted(set(expected) | set(actual)):
        left, right = expected.get(key), actual.get(key)
        if left is not None and right is not None:
            result.equal["tables"] += 1
        elif left is not None:
            result.differences.append(Difference("tables", "missing", key, ""))
        else:
            result.differences.append(Difference("tables", "extra", key, ""))
        for kind in KINDS[1:]:
            _match(kind, key, _elements(kind, left, aliases) if left else [],
                   _elements(kind, right, aliases) if right else [], result)
    # Elements of a table SchemaLens lacks are reported once, as the missing table.
    result.differences = [d for d in result.differences
                          if d.kind == "tables" or not (d.table not in actual and d.change == "missing")
                          and not (d.table not in expected and d.change == "extra")]
    return result


def summary_lines(comparison: Comparison, kinds: Iterable[str] = KINDS) -> list[str]:
    """One line per kind: `columns  812/906  89.6 %`."""
    return [f"{kind:13} {comparison.equal[kind]:>5}/{comparison.total[kind]:<5} {comparison.percent(kind):5.1f} %"
            for kind in kinds]


def group_differences(differences: Iterable[Difference]) -> dict[str, list[Difference]]:
    groups = defaultdict(list)
    for difference in differences:
        groups[difference.kind].append(difference)
    return dict(groups)
