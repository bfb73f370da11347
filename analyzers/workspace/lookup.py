"""What a position in a file refers to, and where things are defined: the logic behind hover,
go to definition and symbols, kept out of the language server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..extract.python_source import split_lines
from ..schema.model import Location, Table, table_key
from ..lazy_pattern import LazyPattern

_IDENTIFIER = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
# A dotted name of up to three parts (schema.table.column); in SQL a part may be "quoted".
_PART = r"[A-Za-z_][A-Za-z0-9_$]*"
_DOTTED = LazyPattern(rf"{_PART}(?:\.{_PART}){{0,2}}")
_SQL_PART = rf'"[^"\n]+"|{_PART}'
_SQL_DOTTED = LazyPattern(rf"(?:{_SQL_PART})(?:\.(?:{_SQL_PART})){{0,2}}")
_SQL_SPLIT = LazyPattern(_SQL_PART)
# Words of a model class that stand for its table.
_TABLE_WORDS = frozenset({"__tablename__", "__table_args__", "__table__"})


@dataclass(frozen=True, slots=True)
class Target:
    table: str  # table key
    column: Optional[str] = None


def _known(model, key: str) -> Optional[Table]:
    return model.database.tables.get(key) or model.orm.tables.get(key)


def _enclosing_model_table(model, path: str, line: int) -> Optional[Table]:
    """The ORM table whose class or Table(...) starts last before `line` in this file."""
    candidates = [t for t in model.orm.tables.values() if t.location.path == path and t.location.line <= line]
    return max(candidates, key=lambda t: t.location.line, default=None)


def target_at(model, path: str, text: str, line: int, character: int) -> Optional[Target]:
    """The table or column at a 1-based line and 0-based character, if the word there names one.

    Recognised: a table name (also inside strings: `op.add_column("orders", ...)`, SQL), a
    schema-qualified one (`billing.invoices`, `"billing"."invoices"` in SQL, `public.orders`), a
    `table.column` or `schema.table.column` string (`ForeignKey("users.id")`), a model class name
    (`class Order(...)`, `Order.status` for its column), `__tablename__` and `__table_args__`
    in a model class, a column name of a table named on the same line, and a column attribute
    inside a model class.
    """
    lines = split_lines(text)  # the lines an editor counts
    if not 0 < line <= len(lines):
        return None
    current = lines[line - 1]
    pattern = _SQL_DOTTED if path.endswith(".sql") else _DOTTED
    match = next((m for m in pattern.finditer(current) if m.start() <= character <= m.end()), None)
    if match is None:
        return None
    spans = [(match.start() + m.start(), match.start() + m.end(), m.group(0)) for m in _SQL_SPLIT.finditer(match.group(0))]
    parts = [part[1:-1] if part.startswith('"') else part for _, _, part in spans]
    under = next((n for n, (start, end, _) in enumerate(spans) if start <= character <= end), len(parts) - 1)
    # The whole name (`"users.id"`, `billing.invoices` from its schema part), else the name up to
    # the part under the cursor (`Order.status` of `Order.status.in_(...)`).
    named = _named(model, path, parts) or _named(model, path, parts[: under + 1])
    if named is not None:
        return named
    if len(parts) == 1 and parts[0] in _TABLE_WORDS:
        table = _enclosing_model_table(model, path, line)
        return Target(table.key) if table is not None else None
    name = parts[-1]
    for other in _IDENTIFIER.findall(current):
        table = _known(model, other)
        if table is not None and table.column(name) is not None:
            return Target(table.key, name)
    for enclosing in (_operation_table(model, path, line), _enclosing_model_table(model, path, line)):
        if enclosing is not None and enclosing.column(name) is not None:
            return Target(enclosing.key, name)
    return None


def _named(model, path: str, parts: list[str]) -> Optional[Target]:
    """The table or column a dotted name spells: table, schema.table, table.column,
    schema.table.column, or a model class (and its column attribute)."""
    def column_of(table: Optional[Table], column: str) -> Optional[Target]:
        return Target(table.key, column) if table is not None and table.column(column) is not None else None

    if len(parts) == 3:
        return column_of(_known(model, table_key(parts[1], parts[0])), parts[2])
    if len(parts) == 2:
        found = column_of(_known(model, parts[0]), parts[1])
        if found is None and _known(model, table_key(parts[1], parts[0])) is not None:
            found = Target(table_key(parts[1], parts[0]))
        if found is None and path.endswith(".py"):
            found = column_of(_model_class(model, path, parts[0]), parts[1])
        return found
    table = _known(model, parts[0])
    if table is None and path.endswith(".py"):
        table = _model_class(model, path, parts[0])
    return Target(table.key) if table is not None else None


def _model_class(model, path: str, name: str) -> Optional[Table]:
    """The model table of a class named `name`: the one this file declares, else the only one."""
    tables = [table for table in model.orm.tables.values() if table.class_name == name]
    here = [table for table in tables if table.location.path == path]
    if here:
        return here[0]
    return tables[0] if len(tables) == 1 else None


def _operation_table(model, path: str, line: int) -> Optional[Table]:
    """The table of the migration operation spanning `line` (an op.* call, a batch, a statement)."""
    revision = model.revision_files.get(path)
    operations = [*revision.upgrade, *revision.downgrade] if revision else \
        [op for step in model.steps if step.path == path for op in step.operations]
    for operation in operations:
        start, end = operation.location.line, operation.location.end_line or operation.location.line
        table = getattr(operation, "table", None)
        if start <= line <= end and isinstance(table, str):
            return _known(model, table)
    return None


def definitions(model, target: Target) -> list[tuple[Location, str]]:
    """Where a table or column is declared in the models and created by the migrations."""
    found = []
    for layer, label in ((model.orm, "model"), (model.database, "migration")):
        table = layer.tables.get(target.table)
        if table is None:
            continue
        element = table.column(target.column) if target.column else table
        if element is not None:
            found.append((element.location, label))
    return found


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    kind: str  # "table", "column", "revision"
    location: Location
    children: tuple["Symbol", ...] = ()


def document_symbols(model, path: str) -> list[Symbol]:
    """Tables (with their columns) declared or created in a file, and the revision it defines."""
    symbols: list[Symbol] = []
    seen = set()
    for layer in (model.orm, model.database):
        for table in layer.tables.values():
            if table.location.path != path or table.key in seen:
                continue
            seen.add(table.key)
            columns = tuple(Symbol(c.name, "column", c.location) for c in table.columns if c.location.path == path)
            symbols.append(Symbol(table.key, "table", table.location, columns))
    revision = model.revision_files.get(path)
    if revision is not None:
        symbols.append(Symbol(revision.id, "revision", revision.location))
    return sorted(symbols, key=lambda s: (s.location.line, s.name))


def workspace_symbols(model, query: str) -> list[Symbol]:
    query = query.lower()
    found = {}
    for layer in (model.orm, model.database):
        for table in layer.tables.values():
            if query in table.key.lower() and table.key not in found:
                found[table.key] = Symbol(table.key, "table", table.location)
    return sorted(found.values(), key=lambda s: s.name)


def _operation_mentions(operation, target: Target) -> bool:
    if getattr(operation, "table", None) != target.table:
        return False
    if target.column is None:
        return True
    mentioned = {getattr(operation, "column", None)}
    column = getattr(operation, "column", None)
    if hasattr(column, "name"):
        mentioned.add(column.name)
    for element in (getattr(operation, "index", None), getattr(operation, "constraint", None)):
        mentioned.update(getattr(element, "columns", ()) or ())
    for column_def in getattr(operation, "columns", ()) or ():
        mentioned.add(getattr(column_def, "name", None))
    return target.column in mentioned


def references(model, target: Target) -> list[tuple[Location, str]]:
    """Every place that declares, changes, references or queries a table or column: model
    declarations, migration operations (upgrade and downgrade), foreign keys pointing at it,
    indexes on it, and equality lookups in application code."""
    found: list[tuple[Location, str]] = list(definitions(model, target))
    downgrades = [(op, "downgrade") for revision in model.revision_files.values() for op in revision.downgrade]
    upgrades = [(op, "migration") for step in model.steps for op in step.operations]
    for operation, label in (*upgrades, *downgrades):
        if _operation_mentions(operation, target):
            found.append((operation.location, f"{label}: {type(operation).__name__}"))
    for layer in (model.orm, model.database):
        for table in layer.tables.values():
            for fk in table.foreign_keys:
                if fk.ref_table == target.table and (target.column is None or target.column in fk.ref_columns):
                    found.append((fk.location, f"foreign key from {table.name}"))
            if table.key == target.table and target.column:
                found += [(i.location, f"index {i.name}") for i in table.indexes if target.column in i.columns]
    classes = {t.class_name for t in model.orm.tables.values() if t.key == target.table and t.class_name}
    for facts in model.code.values():
        for lookup in facts.lookups:
            if (target.column is None and lookup.model in classes) or \
                    (target.column == lookup.column and (lookup.model is None or lookup.model in classes)):
                found.append((lookup.location, "query"))
    unique = {}
    for location, label in found:
        unique.setdefault((location.path, location.line, location.column), (location, label))
    return sorted(unique.values(), key=lambda item: (item[0].path, item[0].line, item[0].column))
