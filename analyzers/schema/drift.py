"""ORM/database drift: what the models declare (`orm` layer) against what replaying the
migrations builds (`database` layer), table by table and element by element.

Modelled on alembic's `autogenerate/compare`: elements are matched by what they are (columns,
referred table, uniqueness), not by name, and spellings that PostgreSQL treats as the same
(`'0'` and `0` as a numeric default, a unique index and a unique constraint) compare equal.
Each difference keeps both elements (either may be None), so callers can point at both places.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Callable, Generic, Optional, Sequence, TypeVar, Union

from ..by_path import ByPath
from .model import Column, ForeignKey, Index, Location, PrimaryKey, Table, UniqueConstraint, table_key
from ..lazy_pattern import LazyPattern

Element = TypeVar("Element")

# A default the ORM leaves to the database without saying what it is (`FetchedValue()`).
UNKNOWN = "<unknown>"


# the workspace


def has_migrations(model) -> bool:
    """True when the workspace has Alembic revisions or SQL migration files (a schema dump alone
    is not a migration history, and a project without migrations cannot drift from them)."""
    return bool(model.revisions.by_id) or bool(model.sql_migrations)


def migration_history(model, path: str) -> str:
    """The history a migration file belongs to: for a revision, the Alembic environment whose
    env.py runs it (ckan's plugins keep histories of their own, each with its env.py); a folder of
    revisions without an env.py joins the environment of the database it builds. Else its SQL
    migration folder: the one that holds a folder per version (Prisma, Diesel) for the files in them."""
    if path not in model.revision_files:
        parent = PurePosixPath(path).parent
        folders = {location.folder or "." for location in getattr(model, "sql_locations", ())}
        return "sql:" + str(parent.parent if str(parent) not in folders and str(parent.parent) in folders else parent)
    history = _history_of(model, path)
    if history is not None and history.environment.env_path is None:
        database = model.database_of(path)
        history = next((other for other in model.histories if other.environment.env_path is not None and database is not None
                        and any(database is model.database_of(revision.path) for revision in other.graph.by_id.values())),
                       history)
    return f"alembic:{history.environment.name}" if history is not None else "alembic"


def _history_of(model, path: str):
    return next((history for history in model.histories if path in history.graph.paths), None)


def newest_migration(model, history: Optional[str] = None) -> Optional[Location]:
    """Where the next migration of `history` (any, when None) follows: the first Alembic head's
    `revision =` line, or the first line of the last SQL migration file."""
    if history in (None, "alembic") and model.revisions.heads:
        return model.revisions.by_id[model.revisions.heads[0]].location
    paths = [path for path in model.sql_migrations if history is None or migration_history(model, path) == history]
    return Location(paths[-1], 1) if paths else None


def shared_tables(model, text_of: Callable[[str], Optional[str]]) -> list[tuple[Table, Table]]:
    """(orm, database) pairs of the tables both layers know, by key, without the models that
    reflect their table from the database (their columns and keys are the database's), the
    tables either layer did not read whole (Table.partly_read), and the tables that more than
    one database of the workspace creates (nova's `quotas`, in its main and its API database:
    which one a model maps is its declarative base's, not read)."""
    created = Counter(key for database in model.databases if not database.test_fixture for key in database.layer.tables)
    return [(orm, model.database.tables[key]) for key, orm in sorted(model.orm.tables.items())
            if key in model.database.tables and not (orm.partly_read or model.database.tables[key].partly_read)
            and created[key] < 2 and not is_reflected(orm, text_of)]


# `autoload_with=engine` (also in a `__table_args__` dict), `autoload=True`, or a
# DeferredReflection base: the model takes its columns from the database at run time.
_REFLECTION = LazyPattern(r"\bautoload_with[\"']?\s*[=:]|\bautoload[\"']?\s*[=:]\s*True\b|\bDeferredReflection\b")


# Whether a file mentions reflection at all: searched once per text, not once per table, and
# searched as plain text first (the pattern's search costs 8 ms over polar's model modules).
_mentions_reflection = ByPath(lambda text: ("autoload" in text or "DeferredReflection" in text)
                              and _REFLECTION.search(text) is not None)


def is_reflected(table: Table, text_of: Callable[[str], Optional[str]]) -> bool:
    """True when the class or Table(...) declaring `table` asks SQLAlchemy to reflect it. The
    declaration runs from its first line to the next line that starts at column 1."""
    text = text_of(table.location.path)
    if text is None or not _mentions_reflection(table.location.path, text):
        return False
    lines = text.splitlines()[table.location.line - 1:]
    end = next((number for number, line in enumerate(lines[1:], start=1) if line[:1].strip() and not line.startswith(")")),
               len(lines))
    return bool(_REFLECTION.search("\n".join(lines[:end])))


# columns


@dataclass(frozen=True, slots=True)
class ColumnDifference:
    """One column that differs. `aspects` lists what differs for a column on both sides
    ("type", "nullable", "server default"); a column on one side only has no aspects."""

    table: str
    name: str
    orm: Optional[Column]
    database: Optional[Column]
    aspects: tuple[str, ...] = ()
    orm_nullable: bool = True
    database_nullable: bool = True


def column_differences(orm: Table, database: Table) -> list[ColumnDifference]:
    """Columns declared on one side only (model side first, then database side, by name), then
    columns whose type, nullability or server default differ (by name)."""
    orm_columns = {c.name: c for c in orm.columns}
    database_columns = {c.name: c for c in database.columns}
    found = [ColumnDifference(orm.key, name, orm_columns[name], None)
             for name in sorted(orm_columns.keys() - database_columns.keys())]
    found += [ColumnDifference(orm.key, name, None, database_columns[name])
              for name in sorted(database_columns.keys() - orm_columns.keys())]
    for name in sorted(orm_columns.keys() & database_columns.keys()):
        left, right = orm_columns[name], database_columns[name]
        left_nullable, right_nullable = effective_nullable(orm, left), effective_nullable(database, right)
        aspects = []
        if not same_type(left.type, right.type) and not _stores_the_same(left.type, right.type):
            aspects.append("type")
        if left_nullable != right_nullable:
            aspects.append("nullable")
        if not same_server_default(left, right):
            aspects.append("server default")
        if aspects:
            found.append(ColumnDifference(orm.key, name, left, right, tuple(aspects), left_nullable, right_nullable))
    return found


def effective_nullable(table: Table, column: Column) -> bool:
    """Whether PostgreSQL lets the column hold NULL: primary key and identity columns never do."""
    in_primary_key = table.primary_key is not None and column.name in table.primary_key.columns
    return column.nullable and not in_primary_key and column.identity is None


# Modifiers PostgreSQL type names can carry: lengths, precision and scale, nothing else.
_KNOWN_TYPE = LazyPattern(r"^[a-z_][a-z0-9_ .]*(\(\d+(,\d+)?\))?( with(out)? time zone)?(\[\])*$")


def comparable_type(text: str) -> bool:
    """False for types SchemaLens could not read (`null`, `unknown`, Python call text such as
    `app.types.money()`, a module path such as `app.db.types.json`: PostgreSQL qualifies a type
    by its schema only): such a column is not reported as a type difference."""
    return text not in ("null", "unknown", "") and bool(_KNOWN_TYPE.match(text)) \
        and text.split("(")[0].count(".") < 2


# PostgreSQL's default (and largest) precision for timestamps and times is 6.
_DEFAULT_PRECISION = LazyPattern(r"^(timestamp|time)\(6\)")


def same_type(orm_type: str, database_type: str) -> bool:
    """Both types are normalized as format_type prints them; an unreadable one matches anything."""
    if not (comparable_type(orm_type) and comparable_type(database_type)):
        return True
    return _DEFAULT_PRECISION.sub(r"\1", orm_type) == _DEFAULT_PRECISION.sub(r"\1", database_type)


def _stores_the_same(orm_type: str, database_type: str) -> bool:
    """text and a character varying without a length: two types that store and compare the
    same values (an autogenerated revision writes a library's Text type as its String parent)."""
    return {orm_type, database_type} == {"text", "character varying"}


def same_server_default(orm: Column, database: Column) -> bool:
    """Server defaults compare after normalization; sequences and identities are not compared
    (SQLAlchemy's implied SERIAL has no default text in the models)."""
    if orm.identity or database.identity or orm.sequence or database.sequence:
        return True
    left, right = default_key(orm.server_default, orm.type), default_key(database.server_default, database.type)
    if UNKNOWN in (left, right) or any(key and key.startswith("nextval(") for key in (left, right)):
        return True
    return left == right


# A Python value SchemaLens cannot render as the SQL it compiles to: a class's attribute (an enum
# member, `Status.ACTIVE`) or a call of a class (`FetchedValue()`, a construct compiled per dialect
# such as prefect's `GenerateUUID()`); SQL functions are not written in mixed case.
_PYTHON_VALUE = LazyPattern(r"\b[A-Z]\w*\.\w+|\b(?=\w*[a-z])(?=\w*[A-Z])[A-Za-z]\w*\s*\(")
_NUMERIC_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")
_TRUE = ("true", "t", "yes", "y", "on", "1")
_FALSE = ("false", "f", "no", "n", "off", "0")
_NOW = ("now()", "current_timestamp", "current_timestamp()", "transaction_timestamp()")


def default_key(text: Optional[str], type_name: str = "") -> Optional[str]:
    """A server default reduced to what PostgreSQL stores: casts, outer parentheses, case and
    quoting of numbers and booleans do not matter; `DEFAULT NULL` is no default (None)."""
    if text is None:
        return None
    if _outside_strings(text, lambda part: "\0" if _PYTHON_VALUE.search(part) else "").count("\0"):
        return UNKNOWN
    key = expression_text(text)
    if key is None:
        return UNKNOWN
    if key == "null":
        return None
    if key in _NOW:
        return "now()"
    literal = key[1:-1] if re.fullmatch(r"'[^']*'", key) else key
    base = type_name.split("(")[0]
    if base == "boolean" and literal in _TRUE + _FALSE:
        return "true" if literal in _TRUE else "false"
    if base in _NUMERIC_TYPES:
        try:
            return str(Decimal(literal).normalize())
        except InvalidOperation:
            return key
    return key


# expressions (defaults, index keys, partial index predicates)

_STRING = LazyPattern(r"'(?:[^']|'')*'")
_PYTHON_TEXT = LazyPattern(r"""\b(?:\w+\.)*(?:text|literal_column)\(\s*(?P<quote>"|')(?P<body>.*?)(?P=quote)\s*\)""")
_PYTHON_CONSTANT = LazyPattern(r"\b(?:sa|sqlalchemy|db|sql|expression)\.(?:sql\.)?(true|false|null)\(\)")
_PYTHON_FUNC = LazyPattern(r"\b(?:\w+\.)*func\.")
_PYTHON_COLUMN = LazyPattern(r"""\b(?:\w+\.)*(?:Column|column)\(\s*(?P<quote>"|')(?P<name>\w+)(?P=quote)\s*\)""")
_MODEL_ATTRIBUTE = LazyPattern(r"\b[A-Z]\w*\.(\w+)")
_CAST_CALL = LazyPattern(r"\bcast\s*\(\s*('(?:[^']|'')*'|[\w.\"]+)\s+as\s+[^()]+?(\(\s*\d+(\s*,\s*\d+)?\s*\))?\s*\)", re.IGNORECASE)
_CAST_OPERATOR = LazyPattern(
    r"::\s*(double precision|character varying|bit varying|(timestamp|time)(\(\d+\))? with(out)? time zone|[\w.\"]+)"
    r"(\(\s*\d+(\s*,\s*\d+)?\s*\))?(\[\])*", re.IGNORECASE)
# What is left of Python after the conversions: SchemaLens cannot tell what SQL it makes.
_PYTHON_LEFT = LazyPattern(r"==|!=|\bfunc\b|\b(?:and_|or_|not_)\(|\.(?:is_|isnot|is_not|in_|not_in|notin_|like|ilike|desc|asc|"
                          r"label|op|cast|collate|astext|contains|startswith|endswith)\b")


def expression_text(text: str) -> Optional[str]:
    """A SQL expression (or the SQLAlchemy Python that builds one) in one spelling: without casts
    or outer parentheses, lower case outside string literals, single spaces. None when it is
    Python that SchemaLens cannot turn into SQL."""
    text = _PYTHON_TEXT.sub(lambda match: match.group("body"), text.strip())
    text = _PYTHON_COLUMN.sub(lambda match: match.group("name"), text)
    text = _outside_strings(text, lambda part: _MODEL_ATTRIBUTE.sub(r"\1", _PYTHON_FUNC.sub("", _PYTHON_CONSTANT.sub(r"\1", part))))
    if _outside_strings(text, lambda part: "" if not _PYTHON_LEFT.search(part) else "\0").count("\0"):
        return None
    previous = None
    while previous != text:
        previous, text = text, _CAST_OPERATOR.sub("", _CAST_CALL.sub(r"\1", text))
    text = _outside_strings(text, lambda part: re.sub(r"\s+", " ", part.lower().replace('"', ""))).strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def expression_key(text: str) -> Optional[str]:
    """`expression_text` without any parentheses or spaces: `lower((email)::text)` and
    `lower(email)` are the same index key. (Two different expressions that differ only in
    their parentheses on one table's index are not a case worth a parser.)"""
    normalized = expression_text(text)
    if normalized is None:
        return None
    return _outside_strings(normalized, lambda part: re.sub(r"[()\s]", "", part))


def _outside_strings(text: str, change: Callable[[str], str]) -> str:
    """`text` with `change` applied to every part that is not inside a '...' literal."""
    parts, position = [], 0
    for match in _STRING.finditer(text):
        parts += [change(text[position:match.start()]), match.group(0)]
        position = match.end()
    parts.append(change(text[position:]))
    return "".join(parts)


def _balanced(text: str) -> bool:
    depth = 0
    for character in _STRING.sub("''", text):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


# keys and constraints


@dataclass(frozen=True, slots=True)
class ElementDifference(Generic[Element]):
    """A primary key, foreign key, unique constraint or index that differs. `orm` or `database`
    is None when only the other side has it; with both, `aspects` says what differs."""

    table: str
    orm: Optional[Element]
    database: Optional[Element]
    aspects: tuple[str, ...] = ()


def primary_key_difference(orm: Table, database: Table) -> Optional[ElementDifference[PrimaryKey]]:
    """The primary keys when their column sets differ (PostgreSQL's key order only orders the index)."""
    orm_columns = set(orm.primary_key.columns) if orm.primary_key else set()
    database_columns = set(database.primary_key.columns) if database.primary_key else set()
    if orm_columns == database_columns:
        return None
    return ElementDifference(orm.key, orm.primary_key, database.primary_key, ("columns",))


def foreign_key_differences(orm: Table, database: Table, orm_layer, database_layer) -> list[ElementDifference[ForeignKey]]:
    """Foreign keys matched by (columns, referred table, referred columns), then compared on
    ON DELETE, ON UPDATE and DEFERRABLE, as alembic's autogenerate does. A key whose columns
    or referred table are missing on the other side is left to the column and table checks."""
    orm_only, database_only, pairs = _match(orm.foreign_keys, database.foreign_keys, _foreign_key_key)
    found = []
    for left, right in pairs:
        aspects = tuple(aspect for aspect, value in (("on delete", _action), ("on update", _update_action),
                                                     ("deferrable", _deferrable)) if value(left) != value(right))
        if aspects:
            found.append(ElementDifference(orm.key, left, right, aspects))
    found += [ElementDifference(orm.key, key, None) for key in orm_only if _reportable_key(key, database, database_layer)]
    found += [ElementDifference(orm.key, None, key) for key in database_only if _reportable_key(key, orm, orm_layer)]
    return found


def _foreign_key_key(key: ForeignKey) -> tuple:
    return (table_key(key.ref_table, key.ref_schema), tuple(sorted(zip(key.columns, key.ref_columns))))


def _action(key: ForeignKey) -> Optional[str]:
    return None if (key.on_delete or "NO ACTION").upper() == "NO ACTION" else key.on_delete.upper()


def _update_action(key: ForeignKey) -> Optional[str]:
    return None if (key.on_update or "NO ACTION").upper() == "NO ACTION" else key.on_update.upper()


def _deferrable(key: ForeignKey) -> str:
    if (key.initially or "").upper() == "DEFERRED":
        return "initially deferred"
    return "deferrable" if key.deferrable else "not deferrable"


def _reportable_key(key: ForeignKey, other: Table, other_layer) -> bool:
    columns = {column.name for column in other.columns}
    return set(key.columns) <= columns and table_key(key.ref_table, key.ref_schema) in other_layer.tables


UniqueOrIndex = Union[UniqueConstraint, Index]


def unique_and_index_differences(orm: Table, database: Table) -> list[ElementDifference[UniqueOrIndex]]:
    """Unique constraints and indexes matched by what they enforce and index: a unique index
    without WHERE or expressions is the same as a unique constraint on its columns. Leftovers
    on the same columns (or with the same name) pair up as one difference; an index whose
    expression is Python SchemaLens cannot read is never reported, nor is any expression or
    partial index on the other side that it could be."""
    # each element's key made once: asked of every element five times below (polar: 3,200 keys a first audit)
    keys = {id(e): _unique_or_index_key(e, orm.name) for e in (*orm.unique_constraints, *orm.indexes,
                                                              *database.unique_constraints, *database.indexes)}

    def key(element: UniqueOrIndex) -> Optional[tuple]:
        return keys[id(element)]

    orm_elements = _distinct([e for e in (*orm.unique_constraints, *orm.indexes) if _columns_exist(e, database)], key)
    database_elements = _distinct([e for e in (*database.unique_constraints, *database.indexes) if _columns_exist(e, orm)],
                                  key)
    orm_only, database_only, pairs = _match(orm_elements, database_elements, key)
    # PostgreSQL keeps no UNIQUE of CREATE TABLE on the primary key's columns (transformIndexConstraints
    # drops it as redundant), so a database built from these models lacks it too (zou, letta)
    primary = tuple(orm.primary_key.columns) if orm.primary_key else None
    orm_only = [e for e in orm_only if not (isinstance(e, UniqueConstraint) and not e.deferrable
                                            and tuple(e.columns) == primary)]
    found = []
    for left, right in pairs:
        aspects = _index_aspects(key(left), key(right))
        if aspects:
            found.append(ElementDifference(orm.key, left, right, aspects))
    same_columns, orm_only, database_only = _pair_leftovers(orm_only, database_only)
    for left, right in same_columns:
        aspects = _index_aspects(key(left), key(right))  # empty when one side is unreadable: nothing to say
        if aspects:
            found.append(ElementDifference(orm.key, left, right, aspects))
    unreadable = any(key(e) is None for e in (*orm_only, *database_only))
    found += [ElementDifference(orm.key, e, None) for e in orm_only if not _skipped(e, key(e), unreadable)]
    found += [ElementDifference(orm.key, None, e) for e in database_only if not _skipped(e, key(e), unreadable)]
    return found


def _distinct(elements: list[UniqueOrIndex], key_of: Callable[[UniqueOrIndex], Optional[tuple]]) -> list[UniqueOrIndex]:
    """One of each key: a unique key declared twice (`UniqueConstraint("slug")` beside
    `unique=True`) is one thing to compare, whatever the other side holds of it."""
    seen: set[tuple] = set()
    kept = []
    for element in elements:
        key = key_of(element)
        if key is not None and key[0] == "unique":
            if key in seen:
                continue
            seen.add(key)
        kept.append(element)
    return kept


def _columns_exist(element: UniqueOrIndex, other: Table) -> bool:
    """False when a plain column of `element` is missing on the other side (the column check reports it)."""
    names = {column.name for column in other.columns}
    expressions = getattr(element, "expressions", ()) or (False,) * len(element.columns)
    return all(is_expression or column in names for column, is_expression in zip(element.columns, expressions))


def _is_plain(element: UniqueOrIndex) -> bool:
    return not isinstance(element, Index) or (not any(element.expressions) and element.where is None)


def _skipped(element: UniqueOrIndex, key: Optional[tuple], unreadable: bool) -> bool:
    return key is None or (unreadable and not _is_plain(element))


def _keys(element: UniqueOrIndex, table: str = "") -> Optional[tuple[str, ...]]:
    expressions = getattr(element, "expressions", ()) or (False,) * len(element.columns)
    keys = tuple(_table_expression_key(column, table) if is_expression else column.lower()
                 for column, is_expression in zip(element.columns, expressions))
    return None if None in keys else keys


def _table_expression_key(text: str, table: str) -> Optional[str]:
    """`expression_key` of an index's expression or WHERE on `table`, its columns written with or
    without the table's name: PostgreSQL stores `"user".state = 'active'` as `state = 'active'`."""
    key = expression_key(text)
    if key is None or not table:
        return key
    qualifier = r"(?<![\w.])" + re.escape(table.lower()) + r"\.(?=[a-z_])"
    return _outside_strings(key, lambda part: re.sub(qualifier, "", part))


def _unique_or_index_key(element: UniqueOrIndex, table: str) -> Optional[tuple]:
    keys = _keys(element, table)
    if keys is None:
        return None
    unique = isinstance(element, UniqueConstraint) or element.unique
    if _is_plain(element) and unique:
        return ("unique", tuple(sorted(keys)), None, "btree")
    where = _table_expression_key(element.where, table) if element.where else None
    if element.where and where is None:
        return None
    return ("unique" if unique else "index", keys, where, (element.using or "btree").lower())


def _index_aspects(left: Optional[tuple], right: Optional[tuple]) -> tuple[str, ...]:
    """How two elements differ, by their keys (_unique_or_index_key)."""
    if left is None or right is None:
        return ()
    aspects = []
    if left[0] != right[0]:
        aspects.append("uniqueness")
    if sorted(left[1]) != sorted(right[1]):
        aspects.append("keys")
    elif left[1] != right[1] and left[0] == right[0] == "index":
        aspects.append("key order")
    if left[2] != right[2]:
        aspects.append("where")
    if left[3] != right[3]:
        aspects.append("method")
    return tuple(aspects)


def _pair_leftovers(orm_only: list, database_only: list) -> tuple[list[tuple], list, list]:
    """Leftovers on the same key columns, then with the same name, are one element that differs."""
    pairs = []
    for pairing in (lambda e: (tuple(sorted(_keys(e) or ())) or None), lambda e: e.name):
        for left in list(orm_only):
            wanted = pairing(left)
            right = next((e for e in database_only if wanted is not None and pairing(e) == wanted), None)
            if right is not None:
                pairs.append((left, right))
                orm_only.remove(left)
                database_only.remove(right)
    return pairs, orm_only, database_only


def _match(orm_elements: Sequence[Element], database_elements: Sequence[Element],
           key: Callable[[Element], Optional[tuple]]) -> tuple[list[Element], list[Element], list[tuple[Element, Element]]]:
    """Pair elements with equal keys, in order; return (orm only, database only, pairs).
    Elements whose key is None (unreadable) never pair here."""
    waiting: dict[tuple, list[int]] = {}
    for position, element in enumerate(database_elements):
        waiting.setdefault(key(element), []).append(position)
    orm_only, pairs, paired = [], [], set()
    for element in orm_elements:
        found = key(element)
        if found is not None and waiting.get(found):
            position = waiting[found].pop(0)
            paired.add(position)
            pairs.append((element, database_elements[position]))
        else:
            orm_only.append(element)
    database_only = [element for position, element in enumerate(database_elements) if position not in paired]
    return orm_only, database_only, pairs
