"""Query paths: the query shapes of application code resolved to tables and columns of the
effective schema, with where each runs (a request handler, reached through callers, or a
task), and what the indexes can serve of it. The index rules (SL405-SL413), the key-paths
section of the report and the hovers read these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from .extract.queries import ColumnRef, QueryCall, QueryShape
from .schema.model import Index, Location, SchemaLayer, Table


@dataclass(frozen=True, slots=True)
class ColumnUse:
    table: str  # table key in the effective layer
    column: str
    location: Location


@dataclass(frozen=True, slots=True)
class PathPredicate:
    use: ColumnUse
    operator: str
    pattern: Optional[str] = None
    json_as_text: bool = False
    alternative: Optional[tuple[int, int]] = None  # inside an OR: (which OR, which branch)


@dataclass(frozen=True, slots=True)
class PathJoin:
    table: str  # the joined table
    columns: tuple[str, ...]  # its columns the join matches on
    other_table: Optional[str]
    other_columns: tuple[str, ...]
    location: Location
    relationship: Optional[str] = None  # "Order.items" when joined through a relationship
    subquery: Optional["QueryPath"] = None


@dataclass(frozen=True, slots=True)
class QueryPath:
    shape: QueryShape
    context: str  # "request", "task" or "other", after following callers
    table: Optional[str]  # the main table
    predicates: tuple[PathPredicate, ...] = ()
    joins: tuple[PathJoin, ...] = ()
    order_by: tuple[tuple[ColumnUse, bool], ...] = ()
    group_by: tuple[ColumnUse, ...] = ()
    aggregates: tuple[tuple[str, ColumnUse], ...] = ()

    @property
    def location(self) -> Location:
        return self.shape.location

    @property
    def tables(self) -> tuple[str, ...]:
        found = [self.table] if self.table else []
        for join in self.joins:
            for table in (join.table, join.other_table):
                if table and table not in found:
                    found.append(table)
        return tuple(found)

    def equal_columns(self, table: str) -> set[str]:
        return {p.use.column for p in self.predicates
                if p.use.table == table and p.operator in ("=", "in", "is null") and p.alternative is None}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Resolver:
    """Class and attribute names of one workspace to tables and columns."""

    def __init__(self, model, layer: SchemaLayer) -> None:
        self.layer = layer
        self.classes = {t.class_name: t.key for t in model.orm.tables.values() if t.class_name}
        self.relationships = {(r.class_name, r.attribute): r for r in model.relationships}
        self.class_of_table = {key: name for name, key in self.classes.items()}

    def table(self, name: str, is_table: bool = False) -> Optional[str]:
        if not name:
            return None
        if "." in name:  # `Class.relationship`: its target
            owner, _, attribute = name.rpartition(".")
            found = self.relationship(owner, attribute)
            return found.target_table if found is not None and found.target_table in self.layer.tables else None
        if not is_table and name in self.classes and self.classes[name] in self.layer.tables:
            return self.classes[name]
        if name in self.layer.tables:
            return name
        snake = _snake(name)
        for candidate in (snake, snake + "s", snake + "es", snake[:-1] + "ies" if snake.endswith("y") else None):
            if candidate and candidate in self.layer.tables:
                return candidate
        return None

    def column(self, ref: ColumnRef, fallback_table: Optional[str] = None) -> Optional[ColumnUse]:
        table = self.table(ref.model, ref.table) or fallback_table
        found = self.layer.tables.get(table) if table else None
        if found is None or found.column(ref.column) is None:
            return None
        return ColumnUse(table, ref.column, ref.location)

    def relationship(self, class_or_table: str, attribute: str):
        """The `relationship()` named `attribute` on a class (or on the class mapping a table)."""
        return self.relationships.get((self.class_of_table.get(class_or_table, class_or_table), attribute))


def contexts(code_facts: Iterable) -> dict[tuple[str, str], str]:
    """(path, function) -> "request", "task" or "other": functions called, directly or through
    other functions, from a request handler run in requests (and likewise for tasks)."""
    functions = [(facts.path, function) for facts in code_facts for function in facts.functions]
    resolved = {(path, f.name): f.context for path, f in functions}
    for kind in ("request", "task"):
        called = {name for (path, f) in functions if resolved[(path, f.name)] == kind for name in f.calls}
        changed = True
        while changed:
            changed = False
            for path, function in functions:
                key = (path, function.name)
                if resolved[key] == "other" and function.name.rpartition(".")[2] in called:
                    resolved[key] = kind
                    called |= set(function.calls)
                    changed = True
    return resolved


def resolve(shape: QueryShape, resolver: Resolver, context: str) -> QueryPath:
    main = next((t for t in (resolver.table(e, shape.entities_are_tables) for e in shape.entities) if t), None)
    predicates = tuple(PathPredicate(use, p.operator, p.pattern, p.json_as_text, p.alternative) for p in shape.predicates
                       for use in [resolver.column(p.column, main if p.column.table and not p.column.model else None)] if use)
    joins = []
    for join in shape.joins:
        if join.subquery is not None:
            sub = resolve(join.subquery, resolver, context)
            joins.append(PathJoin(sub.table or "", (), main, (), join.location, subquery=sub))
        elif join.relationship is not None:
            source = resolver.table(join.relationship.model)
            relationship = resolver.relationship(join.relationship.model, join.relationship.column)
            target = relationship.target_table if relationship is not None else None
            name = f"{join.relationship.model}.{join.relationship.column}"
            if source and target and relationship.secondary in resolver.layer.tables:
                # through the association table: source -> secondary -> target
                for near, far in ((relationship.secondary, source), (target, relationship.secondary)):
                    columns, other = _relationship_columns(resolver.layer, far, near)
                    joins.append(PathJoin(near, columns, far, other, join.location, relationship=name))
            elif source and target:
                columns, other = _relationship_columns(resolver.layer, source, target)
                joins.append(PathJoin(target, columns, source, other, join.location, relationship=name))
        else:
            target = resolver.table(join.target, shape.entities_are_tables)
            if target is None:
                continue
            mine, theirs, other_table = [], [], None
            for left, right in join.on:
                a, b = resolver.column(left), resolver.column(right)
                if a and b:
                    near, far = (a, b) if a.table == target else (b, a)
                    mine.append(near.column)
                    theirs.append(far.column)
                    other_table = far.table
            if not mine:
                columns, theirs_found = _relationship_columns(resolver.layer, other_table or main or "", target)
                mine, theirs, other_table = list(columns), list(theirs_found), other_table or main
            joins.append(PathJoin(target, tuple(mine), other_table, tuple(theirs), join.location))
    order = tuple((use, o.descending) for o in shape.order_by for use in [resolver.column(o.column, main)] if use)
    group = tuple(use for ref in shape.group_by for use in [resolver.column(ref, main)] if use)
    aggregates = tuple((name, use) for name, ref in shape.aggregates for use in [resolver.column(ref, main)] if use)
    return QueryPath(shape, context, main, predicates, tuple(joins), order, group, aggregates)


def _relationship_columns(layer: SchemaLayer, source: str, target: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns of `target` that a foreign key matches to `source` (or the reverse direction:
    `target`'s key columns that `source` references)."""
    target_table, source_table = layer.tables.get(target), layer.tables.get(source)
    for key in (target_table.foreign_keys if target_table else ()):
        if key.ref_table == source:
            return key.columns, key.ref_columns
    for key in (source_table.foreign_keys if source_table else ()):
        if key.ref_table == target:
            return key.ref_columns, key.columns
    return (), ()


def query_paths(model, layer: SchemaLayer, code_facts: Iterable) -> list[QueryPath]:
    facts = list(code_facts)
    resolver = Resolver(model, layer)
    where_run = contexts(facts)
    paths = []
    for file_facts in facts:
        for shape in file_facts.queries:
            context = shape.context
            if shape.function is not None:
                context = where_run.get((file_facts.path, shape.function), context)
            paths.append(resolve(shape, resolver, context))
    return paths


# what indexes serve

def _usable(index: Index, filtered: set[str]) -> bool:
    """A partial index serves a query that filters on the columns its WHERE reads."""
    if not index.where:
        return True
    mentioned = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", index.where))
    return bool(mentioned & filtered)


def btree_keys(table: Table, filtered: Optional[set[str]] = None) -> list[tuple[str, tuple[str, ...]]]:
    """(name, key columns) of what can serve equality, range and order: the primary key, unique
    constraints, and btree indexes (expression keys cut the key where they start)."""
    keys: list[tuple[str, tuple[str, ...]]] = []
    if table.primary_key:
        keys.append((table.primary_key.name or f"{table.name}_pkey", table.primary_key.columns))
    keys += [(u.name or "unique", u.columns) for u in table.unique_constraints]
    for index in table.indexes:
        if index.using not in (None, "btree") or not _usable(index, filtered or set()):
            continue
        columns = []
        for position, column in enumerate(index.columns):
            if position < len(index.expressions) and index.expressions[position]:
                break
            columns.append(column)
        if columns:
            keys.append((index.name or "index", tuple(columns)))
    return keys


def serving_index(table: Table, column: str, equal: set[str], filtered: Optional[set[str]] = None) -> Optional[str]:
    """The name of a key whose leading columns are `column`, after columns the query matches by
    equality (the leftmost-prefix rule), or None."""
    for name, columns in btree_keys(table, filtered if filtered is not None else equal | {column}):
        for key in columns:
            if key == column:
                return name
            if key not in equal:
                break
    return None


def trigram_or_text_index(table: Table, column: str) -> Optional[str]:
    """A GIN/GiST trigram index on the column, or a full-text index over it."""
    for index in table.indexes:
        if index.using not in ("gin", "gist"):
            continue
        for position, key in enumerate(index.columns):
            expression = position < len(index.expressions) and index.expressions[position]
            opclass = dict(index.opclasses).get(key, "")
            if not expression and key == column and "trgm" in opclass:
                return index.name
            if expression and re.search(rf"\b{re.escape(column)}\b", key) and ("tsvector" in key or "trgm" in key):
                return index.name
    return None


@dataclass(frozen=True, slots=True)
class Entry:
    """One way a query can enter a table: a predicate or a join onto it, and the key serving it."""

    column: str
    index: Optional[str]
    location: Location
    kind: str  # "predicate", "search" (LIKE with a leading wildcard) or "join"


def entry_points(path: QueryPath, table: Table, layer: Optional[SchemaLayer] = None) -> list[Entry]:
    """Every way the query can enter `table`: its predicates, and a join from another table the
    query enters through an index (with `layer`; without it, every join). When none of them has
    an index, PostgreSQL reads the whole table; when one has, the others only filter the rows
    it returns."""
    found = _predicate_entries(path, table)
    equal = path.equal_columns(table.key)
    filtered = {p.use.column for p in path.predicates if p.use.table == table.key}
    for join in path.joins:
        sides = ((join.table, join.columns, join.other_table), (join.other_table, join.other_columns, join.table))
        for near, columns, far in sides:
            if near != table.key or not columns or not far:
                continue
            far_table = layer.tables.get(far) if layer is not None else None
            if layer is not None and (far_table is None or not any(e.index for e in _predicate_entries(path, far_table))):
                continue  # the other side is read whole: a hash join reads this side whole too
            key = serving_index(table, columns[0], set(columns[1:]) | equal, filtered | set(columns))
            found.append(Entry(columns[0], key, join.location, "join"))
    return found


def _predicate_entries(path: QueryPath, table: Table) -> list[Entry]:
    found: list[Entry] = []
    groups: dict[int, dict[int, list[Entry]]] = {}
    equal = path.equal_columns(table.key)
    filtered = {p.use.column for p in path.predicates if p.use.table == table.key}
    for predicate in path.predicates:
        if predicate.alternative is not None:
            groups.setdefault(predicate.alternative[0], {}).setdefault(predicate.alternative[1], [])
        if predicate.use.table != table.key or predicate.operator in ("!=", "is not null", "not in") or predicate.json_as_text:
            continue
        column = predicate.use.column
        if predicate.operator in ("like", "ilike") and predicate.pattern in ("contains", "suffix", "unknown"):
            entry = Entry(column, trigram_or_text_index(table, column), predicate.use.location, "search")
        else:
            entry = Entry(column, serving_index(table, column, equal, filtered), predicate.use.location, "predicate")
        if predicate.alternative is None:
            found.append(entry)
        else:
            groups[predicate.alternative[0]][predicate.alternative[1]].append(entry)
    for branches in groups.values():
        # An OR narrows the table only when every branch has a predicate on it, and an index
        # serves it (a BitmapOr) only when every branch has an indexed one.
        if not all(branches.values()):
            continue
        served = [next((e.index for e in entries if e.index), None) for entries in branches.values()]
        index = " + ".join(served) if all(served) else None
        # the entry names the branch that needs an index (the first, when all have one)
        lacking = next((entries[0] for entries, key in zip(branches.values(), served) if key is None),
                       next(iter(branches.values()))[0])
        found.append(Entry(lacking.column, index, lacking.location, lacking.kind if not index else "predicate"))
    return found


# coverage

@dataclass(frozen=True, slots=True)
class UnresolvedCall:
    call: "QueryCall"
    kind: str  # "not a query", "entity", "column", "condition", "join"
    reason: str


@dataclass(frozen=True, slots=True)
class QueryCoverage:
    """How many filter/filter_by/where/join/order_by/group_by calls of application code resolved
    to tables and columns, and why the others did not."""

    calls: int = 0
    resolved: int = 0
    unresolved: tuple[UnresolvedCall, ...] = ()

    @property
    def share(self) -> float:
        return self.resolved / self.calls if self.calls else 1.0


def query_coverage(model, layer: SchemaLayer, code_facts: Iterable) -> QueryCoverage:
    resolver = Resolver(model, layer)
    calls = resolved = 0
    unresolved = []
    for facts in code_facts:
        for call in facts.query_calls:
            calls += 1
            problem = _call_problem(call, facts, resolver)
            if problem is None:
                resolved += 1
            else:
                unresolved.append(UnresolvedCall(call, *problem))
    return QueryCoverage(calls, resolved, tuple(unresolved))


def _call_problem(call, facts, resolver: Resolver) -> Optional[tuple[str, str]]:
    if call.query is None:
        return "not a query", f"{call.receiver}.{call.method}(): not traced to a query"
    shape = facts.queries[call.query]
    main = next((t for t in (resolver.table(e, shape.entities_are_tables) for e in shape.entities) if t), None)
    if main is None:
        what = ", ".join(shape.entities) or "nothing"
        return "entity", f"{call.method}() on a query of {what}: not a mapped table"
    for name in call.tables:
        if resolver.table(name) is None:
            return "join", f"join({name}): not a mapped table or relationship"
    for ref in call.columns:
        if resolver.column(ref, main if ref.table and not ref.model else None) is None:
            table = resolver.table(ref.model, ref.table)
            if table is None:
                return "column", f"{ref.model}.{ref.column}: {ref.model} is not a mapped class"
            return "column", f"{ref.model}.{ref.column}: not a column of {table}"
    if call.unread:
        return "condition", f"{call.method}({call.unread[0]}): not read as columns"
    return None
