"""Type names normalized the way PostgreSQL's `format_type()` prints them.

Both layers use this spelling, so the ORM layer, the replayed migrations and the catalog of a
real PostgreSQL compare directly: `VARCHAR(255)`, `pg_catalog.varchar(255)` and
`sa.String(255)` all become `character varying(255)`.
"""

from __future__ import annotations

import functools
import re

from ..lazy_pattern import LazyPattern

# Base names, lower case, without modifiers -> format_type spelling.
_ALIASES = {
    "int": "integer", "int4": "integer", "integer": "integer", "serial": "integer",
    "serial4": "integer",
    "bigint": "bigint", "int8": "bigint", "bigserial": "bigint", "serial8": "bigint",
    "smallint": "smallint", "int2": "smallint", "smallserial": "smallint", "serial2": "smallint",
    "bool": "boolean", "boolean": "boolean",
    "float8": "double precision", "double precision": "double precision", "double": "double precision",
    "float4": "real", "real": "real",
    "varchar": "character varying", "character varying": "character varying",
    "char": "character", "character": "character", "bpchar": "character", "nchar": "character",
    "text": "text", "json": "json", "jsonb": "jsonb", "uuid": "uuid", "bytea": "bytea",
    "date": "date", "inet": "inet", "cidr": "cidr", "macaddr": "macaddr", "money": "money",
    "numeric": "numeric", "decimal": "numeric", "interval": "interval", "xml": "xml",
    "tsvector": "tsvector", "tsquery": "tsquery", "citext": "citext", "oid": "oid",
    "timestamp": "timestamp without time zone",
    "timestamp without time zone": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "timestamp with time zone": "timestamp with time zone",
    "time": "time without time zone", "time without time zone": "time without time zone",
    "timetz": "time with time zone", "time with time zone": "time with time zone",
    "bit": "bit", "varbit": "bit varying", "bit varying": "bit varying",
    "point": "point", "hstore": "hstore", "ltree": "ltree", "int4range": "int4range",
    "int8range": "int8range", "tstzrange": "tstzrange", "tsrange": "tsrange",
    "daterange": "daterange", "numrange": "numrange",
}

SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})

_TIME_WITH_PRECISION = LazyPattern(
    r"^(timestamp|time)\s*\((\d+)\)\s*(with|without)\s+time\s+zone$"
)


@functools.lru_cache(maxsize=4096)
def normalize_type(text: str) -> str:
    """Normalize a SQL type spelling (any case, `pg_catalog.` prefix, modifiers, arrays).

    Unknown names (enums, domains, extension types) come back lower-cased without their
    `public.` schema, which is how format_type prints them from the default search path.
    """
    spelling = " ".join(text.strip().replace('"', "").split())
    array_suffix = ""
    while spelling.endswith("[]"):
        array_suffix += "[]"
        spelling = spelling[:-2].rstrip()
    if spelling.lower().endswith(" array"):
        spelling, array_suffix = spelling[: -len(" array")].rstrip(), array_suffix + "[]"
    while (array_match := re.match(r"^(.*?)\s*\[\s*\d*\s*\]$", spelling)):  # int[5][10]: every dimension
        spelling, array_suffix = array_match.group(1), array_suffix + "[]"
    lowered = spelling.lower()
    for prefix in ("pg_catalog.", "public."):
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix):]
    precision = _TIME_WITH_PRECISION.match(lowered)
    if precision:
        base, digits, zone = precision.groups()
        return f"{base}({digits}) {zone} time zone{array_suffix}"
    modifiers = ""
    match = re.match(r"^([a-z_ ][a-z0-9_ ]*?)\s*(\(.*\))?\s*((with|without) time zone)?$", lowered)
    if match:
        base, modifiers, zone = match.group(1).strip(), match.group(2) or "", match.group(3)
        if zone:
            base = f"{base} {zone}"
        if base == "timestamptz" and modifiers:
            return f"timestamp{_compact(modifiers)} with time zone{array_suffix}"
        if base in ("timestamp with time zone", "timestamp without time zone") and modifiers:
            head, _, tail = base.partition(" ")
            return f"{head}{_compact(modifiers)} {tail}{array_suffix}"
        if base in ("float",):
            return _float_type(modifiers) + array_suffix
        if base in ("char", "character", "bpchar", "nchar") and not modifiers:
            modifiers = "(1)" if base != "bpchar" else ""
        normalized = _ALIASES.get(base, base)
        if modifiers and normalized.endswith(" time zone"):
            # timestamp(6) -> timestamp(6) without time zone: the precision follows the first word.
            head, _, tail = normalized.partition(" ")
            return f"{head}{_compact(modifiers)} {tail}{array_suffix}"
        return f"{normalized}{_compact(modifiers)}{array_suffix}"
    return lowered + array_suffix


def _compact(modifiers: str) -> str:
    return re.sub(r"\s+", "", modifiers)


def _float_type(modifiers: str) -> str:
    """FLOAT(p) is real for p <= 24 and double precision otherwise, as in PostgreSQL."""
    digits = re.findall(r"\d+", modifiers)
    if digits and int(digits[0]) <= 24:
        return "real"
    return "double precision"
