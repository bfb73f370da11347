"""Read a live PostgreSQL catalog into a SchemaLayer (the oracle for the static replay, and
`verify`'s view of the rehearsed database).

Catalog elements have no source file; they carry `Location("<postgresql>", 1)`. Indexes that
back a primary key or unique constraint are reported as that constraint, as SQLAlchemy and the
static layers do.
"""

from __future__ import annotations


from ..schema.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Index,
    Location,
    PrimaryKey,
    SchemaLayer,
    Table,
    Trigger,
    UniqueConstraint,
    table_key,
)
from ..schema.type_names import normalize_type

CATALOG_LOCATION = Location("<postgresql>", 1)

_USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"

_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

_TABLES = f"""
SELECT c.oid, n.nspname, c.relname, pg_get_partkeydef(c.oid), p.relname, pg_get_expr(c.relpartbound, c.oid),
       obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class p ON p.oid = i.inhparent
WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS}
ORDER BY n.nspname, c.relname
"""

_COLUMNS = f"""
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, col_description(a.attrelid, a.attnum)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {_USER_SCHEMAS}
ORDER BY a.attrelid, a.attnum
"""

_CONSTRAINTS = f"""
SELECT con.conrelid, con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
       rn.nspname, rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord),
       con.confdeltype, con.confupdtype, con.condeferrable, con.condeferred, con.convalidated,
       pg_get_constraintdef(con.oid, true)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'f', 'u', 'c') AND {_USER_SCHEMAS}
ORDER BY con.conrelid, con.conname
"""

_INDEXES = f"""
SELECT i.indrelid, ic.relname, i.indisunique, am.amname, pg_get_expr(i.indpred, i.indrelid, true),
       i.indnkeyatts, i.indnatts,
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnatts) k ORDER BY k),
       ARRAY(SELECT i.indkey[k - 1] = 0 FROM generate_series(1, i.indnatts) k ORDER BY k),
       ARRAY(SELECT CASE WHEN oc.opcdefault THEN '' ELSE oc.opcname END
             FROM generate_series(1, i.indnkeyatts) k JOIN pg_opclass oc ON oc.oid = i.indclass[k - 1] ORDER BY k)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = ic.relam
WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, ic.relname
"""

_ENUMS = f"""
SELECT n.nspname, t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
WHERE {_USER_SCHEMAS} GROUP BY n.nspname, t.typname ORDER BY 1, 2
"""

_TRIGGERS = f"""
SELECT t.tgrelid, t.tgname, p.proname
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE NOT t.tgisinternal AND {_USER_SCHEMAS} ORDER BY t.tgrelid, t.tgname
"""


def _unquote_identifier(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def _schema(name: str) -> str | None:
    return None if name == "public" else name


def read_catalog(connection_or_dsn) -> SchemaLayer:
    """The user tables, enums and triggers of a database, as a SchemaLayer named "postgresql".

    Takes a psycopg connection or a conninfo string.
    """
    import psycopg

    if isinstance(connection_or_dsn, str):
        with psycopg.connect(connection_or_dsn) as connection:
            return read_catalog(connection)
    cursor = connection_or_dsn.cursor()
    tables: dict[int, dict] = {}
    for oid, schema, name, partkey, parent, bound, comment in cursor.execute(_TABLES):
        tables[oid] = dict(name=name, schema=_schema(schema), partition_by=partkey, partition_of=parent,
                           partition_bound=bound, comment=comment, columns=[], foreign_keys=[],
                           unique_constraints=[], check_constraints=[], indexes=[], triggers=[], primary_key=None)
    for oid, name, type_text, not_null, default, identity, comment in cursor.execute(_COLUMNS):
        if oid in tables:
            tables[oid]["columns"].append(Column(
                name=name, type=normalize_type(type_text), raw_type=type_text, nullable=not not_null,
                location=CATALOG_LOCATION, server_default=default,
                identity={"a": "always", "d": "by default"}.get(identity), comment=comment))
    for (oid, name, kind, columns, ref_schema, ref_table, ref_columns, on_delete, on_update,
         deferrable, deferred, validated, definition) in cursor.execute(_CONSTRAINTS):
        if oid not in tables:
            continue
        table = tables[oid]
        if kind == "p":
            table["primary_key"] = PrimaryKey(name, tuple(columns), CATALOG_LOCATION)
        elif kind == "f":
            table["foreign_keys"].append(ForeignKey(
                name, tuple(columns), ref_table, tuple(ref_columns), CATALOG_LOCATION, ref_schema=_schema(ref_schema),
                on_delete=_ACTIONS[on_delete], on_update=_ACTIONS[on_update], deferrable=deferrable,
                initially="DEFERRED" if deferred else None, not_valid=not validated))
        elif kind == "u":
            table["unique_constraints"].append(UniqueConstraint(name, tuple(columns), CATALOG_LOCATION, deferrable=deferrable))
        else:
            expression = definition[len("CHECK "):] if definition.startswith("CHECK ") else definition
            table["check_constraints"].append(CheckConstraint(name, expression.removesuffix(" NOT VALID"), CATALOG_LOCATION, not_valid=not validated))
    for (oid, name, unique, method, predicate, key_count, count, definitions, expression_flags, opclasses) in cursor.execute(_INDEXES):
        if oid not in tables:
            continue
        # pg_get_indexdef quotes a plain column key that needs it ("timestamp"); the static layers
        # keep column names as they are.
        keys = tuple(definition if is_expression else _unquote_identifier(definition)
                     for definition, is_expression in zip(definitions[:key_count], expression_flags))
        tables[oid]["indexes"].append(Index(
            name=name, columns=keys, location=CATALOG_LOCATION, unique=unique, where=predicate,
            using=None if method == "btree" else method,
            opclasses=tuple((key, opclass) for key, opclass in zip(keys, opclasses) if opclass),
            include=tuple(definitions[key_count:count]), expressions=tuple(expression_flags[:key_count])))
    for oid, name, function in cursor.execute(_TRIGGERS):
        if oid in tables:
            tables[oid]["triggers"].append(Trigger(name, tables[oid]["name"], function, CATALOG_LOCATION))
    layer_tables = {}
    for fields in tables.values():
        table = Table(location=CATALOG_LOCATION, **{key: tuple(value) if isinstance(value, list) else value
                                                    for key, value in fields.items()})
        layer_tables[table.key] = table
    enums = {table_key(name, _schema(schema)): EnumType(name, tuple(values), CATALOG_LOCATION, _schema(schema))
             for schema, name, values in cursor.execute(_ENUMS)}
    return SchemaLayer("postgresql", layer_tables, enums)
