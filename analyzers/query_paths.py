"""Query paths: the query shapes of application code resolved to tables and columns of the
effective schema, with where each runs (a request handler, reached through callers, or a
task), and what the indexes can serve of it. The index rules (SL405-SL413), the key-paths
section of the report and the hovers read these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from .dataclass_copy import replace
from .schema.model import Index, Location, SchemaLayer, Table

if TYPE_CHECKING:  # the query extractor: not imported by an audit without Python (query_paths returns at once)
    from .extract.queries import Arm, ColumnRef, QueryCall, QueryShape


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
    expression: bool = False  # on an expression over the column (a hybrid property's value)
    json_key: bool = False  # a key of a JSON document, not the whole document as text
    conditional: bool = False  # only some calls make it (added under an `if`, a loop or a `match` case)
    arm: Optional[Arm] = None  # conditional: the arm of an if/elif chain every call takes one of


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
    shape: QueryShape  # as composed across functions (query_flow), class names qualified
    context: str  # "request", "task" or "other", after following callers
    table: Optional[str]  # the main table
    predicates: tuple[PathPredicate, ...] = ()
    joins: tuple[PathJoin, ...] = ()
    order_by: tuple[tuple[ColumnUse, bool], ...] = ()
    group_by: tuple[ColumnUse, ...] = ()
    aggregates: tuple[tuple[str, ColumnUse], ...] = ()
    source: Optional[tuple[str, int]] = None  # (path, index in its file's queries) of the shape it is reported for
    parts: tuple[tuple[str, int, Optional[str]], ...] = ()  # every shape composed into it: (path, index, class of self)
    unknown_columns: tuple[ColumnRef, ...] = ()  # `getattr(Model, name)`: columns chosen at run time
    reached: bool = True  # False: only functions no application path runs lead to it (CodeBase.unreached)

    @property
    def location(self) -> Location:
        return self.shape.location

    @property
    def order_expression(self) -> bool:
        """Its first ordering is an expression over a column (`func.abs(amount)`), not the column."""
        return bool(self.shape.order_by) and self.shape.order_by[0].expression

    @property
    def tables(self) -> tuple[str, ...]:
        found = [self.table] if self.table else []
        for join in self.joins:
            for table in (join.table, join.other_table):
                if table and table not in found:
                    found.append(table)
        return tuple(found)

    def equal_columns(self, table: str, always: bool = False, null: bool = True) -> set[str]:
        """The columns of `table` the query matches by equality (outside an OR); with `always`,
        only those every call matches (not added under an `if`); without `null`, not `IS NULL`."""
        operators = ("=", "in", "is null") if null else ("=", "in")
        return {p.use.column for p in self.predicates
                if p.use.table == table and p.operator in operators and p.alternative is None
                and not (always and p.conditional)}

    def every_call(self, table: str, holds: Callable[[set[str]], bool], null: bool = True) -> bool:
        """Whether `holds` is true of the columns of `table` every call matches by equality
        (`equal_columns`): of those every call makes, or of those plus each arm's of an if/elif
        chain every call takes one arm of (see `Arm`), for every arm of the chain."""
        always = self.equal_columns(table, always=True, null=null)
        if holds(always):
            return True
        operators = ("=", "in", "is null") if null else ("=", "in")
        chains: dict[tuple, list[set[str]]] = {}
        for p in self.predicates:
            if p.arm is not None:
                arms = chains.setdefault((p.use.location.path, p.arm.chain), [set() for _ in range(p.arm.count)])
                if p.use.table == table and p.operator in operators and p.alternative is None:
                    arms[p.arm.index].add(p.use.column)
        return any(all(holds(always | columns) for columns in arms) for arms in chains.values())


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Resolver:
    """Class and attribute names of one workspace to tables and columns. Names come qualified
    (`app.models.order.Order`) when the flow could follow them, else as written."""

    def __init__(self, model, layer: SchemaLayer, bases=None) -> None:
        """`bases(qualified class)`: the class and its bases (a subclass without a table of its
        own, single-table inheritance, is its base's table)."""
        self.layer = layer
        self.bases = bases
        tables = [t for t in model.orm.tables.values() if t.class_name]
        self.classes = {t.class_name: t.key for t in tables}
        self.qualified = {f"{t.module}.{t.class_name}": t.key for t in tables if t.module}
        self.relationships = {(r.table, r.attribute): r for r in model.relationships}
        for declared in model.relationships:  # `backref="project"` declares Person.project on the target's side
            if declared.backref and declared.target_table:
                self.relationships.setdefault((declared.target_table, declared.backref), replace(
                    declared, table=declared.target_table, class_name="", attribute=declared.backref, target=None,
                    target_table=declared.table, uselist=None, backref=declared.attribute, lazy=declared.backref_lazy,
                    backref_lazy=declared.lazy))

    @cached_property
    def signature(self) -> tuple:
        """What resolving reads of the models, besides the layer: equal signatures resolve alike."""
        return (self.classes, self.qualified, tuple((r.table, r.attribute, r.target_table, r.secondary, r.foreign_keys)
                                                    for r in self.relationships.values()))

    def table(self, name: str, is_table: bool = False) -> Optional[str]:
        """The table a class (qualified or as written) or a table name stands for."""
        if not name:
            return None
        if not is_table:
            key = self.qualified.get(name)
            if key is None and "." in name and self.bases is not None:
                key = next((self.qualified[base] for base in self.bases(name) if base in self.qualified), None)
            if key is None and "." in name:
                # qualified, but not a mapped class: a re-export path the flow did not follow
                key = self.classes.get(name.rpartition(".")[2]) if name.rpartition(".")[2] in self.classes else None
            elif key is None:
                key = self.classes.get(name)
            if key is not None and key in self.layer.tables:
                return key
        if name in self.layer.tables:
            return name
        if "." in name:
            return None
        snake = _snake(name)
        for candidate in (snake, snake + "s", snake + "es", snake[:-1] + "ies" if snake.endswith("y") else None):
            if candidate and candidate in self.layer.tables:
                return candidate
        return None

    def ref_table(self, ref: ColumnRef) -> Optional[str]:
        """The table a column reference is on (through a relationship for `filter_by` after a join)."""
        table = self.table(ref.model, ref.table)
        if ref.through is None:
            return table
        found = self.relationship(table or ref.model, ref.through)
        return found.target_table if found is not None and found.target_table in self.layer.tables else None

    def column(self, ref: ColumnRef, fallback_table: Optional[str] = None) -> Optional[ColumnUse]:
        table = self.ref_table(ref) or fallback_table
        found = self.layer.tables.get(table) if table else None
        if found is None or ref.dynamic is not None:
            return None
        if found.column(ref.column) is not None:
            return ColumnUse(table, ref.column, ref.location)
        inherited = self._inherited_table(ref, table)
        if inherited is not None:  # joined-table inheritance: the column is on a base class's table
            return ColumnUse(inherited, ref.column, ref.location)
        relationship = self.relationship(table, ref.column)
        if relationship is not None and relationship.secondary is None:
            # `Order.customer == c` compares the foreign key column of a many-to-one relationship
            local = [key.columns for key in found.foreign_keys if key.ref_table == relationship.target_table]
            if len(local) > 1 and relationship.foreign_keys:  # `foreign_keys=[user_id]` says which
                local = [c for c in local if all(re.search(rf"\b{re.escape(n)}\b", relationship.foreign_keys) for n in c)]
            if len(local) == 1 and len(local[0]) == 1:
                return ColumnUse(table, local[0][0], ref.location)
        return None

    def _inherited_table(self, ref: ColumnRef, table: str) -> Optional[str]:
        if self.bases is None or ref.table or "." not in ref.model:
            return None
        for base in self.bases(ref.model)[1:]:
            key = self.qualified.get(base)
            found = self.layer.tables.get(key) if key and key != table else None
            if found is not None and found.column(ref.column) is not None:
                return key
        return None

    def relationship(self, class_or_table: str, attribute: str):
        """The `relationship()` named `attribute` on a class (or on the class mapping a table)."""
        table = class_or_table if class_or_table in self.layer.tables else self.table(class_or_table)
        return self.relationships.get((table, attribute)) if table else None


def resolve(shape: QueryShape, resolver: Resolver, context: str) -> QueryPath:
    main = next((t for t in (resolver.table(e, shape.entities_are_tables) for e in shape.entities) if t), None)
    if main is None and not shape.entities and shape.origin is None:
        # `exists().where(...)`, `select(func.count())`: FROM the columns' table
        main = next((t for t in (resolver.ref_table(p.column) for p in shape.predicates) if t), None)
    predicates = tuple(PathPredicate(use, p.operator, p.pattern, p.json_as_text, p.alternative, p.expression,
                                     p.json_key, p.conditional, p.arm)
                       for p in shape.predicates
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
            name = f"{join.relationship.model.rpartition('.')[2]}.{join.relationship.column}"
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
    unknown = tuple(p.column for p in shape.predicates if p.column.dynamic is not None) + tuple(
        o.column for o in shape.order_by if o.column.dynamic is not None)
    return QueryPath(shape, context, main, predicates, tuple(joins), order, group, aggregates, unknown_columns=unknown)


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
    """The queries of the files in `code_facts` (application code), followed across the
    workspace's functions (query_flow), resolved to the tables and columns of `layer`."""
    application = [facts.path for facts in code_facts]
    if not application:  # a workspace of migrations and SQL only: nothing to follow (nor query_flow to import)
        return []
    from .query_flow import code_base

    flow = code_base(model, application)
    where_run = flow.where_run
    unreached = flow.unreached
    # A query the flow kept across an edit (the same object) resolves as it did when the class
    # names and relationships are the same and so is every table it looked up (a model edit
    # changes one table or a few: the others are the same objects, or equal).
    tables = _RecordedTables(layer.tables)
    resolver = Resolver(model, _LayerView(tables), flow.mro)
    before, was = (_last_resolved[2], _last_resolved[0]) if _last_resolved and _last_resolved[1] == resolver.signature \
        else ({}, {})
    unchanged: dict[str, bool] = {}
    # the tables that are not the same objects (none, after an edit of code): a query that read
    # none of them needs no comparison of tables (polar: 1,844 queries, 99 tables)
    replaced_tables = {key for key in was.keys() | layer.tables.keys() if was.get(key) is not layer.tables.get(key)}

    def same_table(key: str) -> bool:
        if key not in unchanged:
            old, new = was.get(key), layer.tables.get(key)
            unchanged[key] = old is new or old == new
        return unchanged[key]

    resolved: dict[int, tuple] = {}
    paths = []
    for query in flow.flow_queries:
        context = where_run.get(query.context_of, query.shape.context)
        reached = query.context_of not in unreached
        kept = before.get(id(query))
        if kept is not None and kept[0] is query and kept[1] == context and kept[2] == reached \
                and (kept[4].isdisjoint(replaced_tables) or all(map(same_table, kept[4]))):
            path, read = kept[3], kept[4]
        else:
            tables.read = set()
            path = replace(resolve(query.shape, resolver, context), source=query.source, parts=query.parts, reached=reached)
            read = frozenset(tables.read)
        resolved[id(query)] = (query, context, reached, path, read)
        paths.append(path)
    _last_resolved[:] = [layer.tables, resolver.signature, resolved]
    return paths


# [the tables resolved against, Resolver.signature, {id(flow query): (it, context, reached, QueryPath, keys looked up)}]
_last_resolved: list = []


class _RecordedTables:
    """A layer's tables that note which keys were looked up."""

    def __init__(self, tables: dict) -> None:
        self.tables = tables
        self.read: set[str] = set()

    def get(self, key: str, default=None):
        self.read.add(key)
        return self.tables.get(key, default)

    def __contains__(self, key: str) -> bool:
        self.read.add(key)
        return key in self.tables

    def __getitem__(self, key: str):
        self.read.add(key)
        return self.tables[key]


class _LayerView:
    """What the Resolver reads of a layer: its tables."""

    def __init__(self, tables: _RecordedTables) -> None:
        self.tables = tables


# what indexes serve

def _usable(index: Index, filtered: set[str]) -> bool:
    """A partial index serves a query that filters on the columns its WHERE reads."""
    if not index.where:
        return True
    return not _names_in(index.where).isdisjoint(filtered)


@lru_cache(maxsize=4096)
def _names_in(where: str) -> frozenset[str]:
    return frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", where))


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
        if predicate.use.table != table.key or predicate.operator in ("!=", "is not null", "not in", "not like", "@>") \
                or predicate.json_as_text or predicate.expression:
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
    call: QueryCall
    kind: str  # "not a query", "not followed", "entity", "join", "column", "condition"
    reason: str


@dataclass(frozen=True, slots=True)
class QueryCoverage:
    """How many filter/filter_by/where/join/outerjoin/order_by/group_by calls of application code
    resolved to tables and columns, and why the others did not."""

    calls: int = 0
    resolved: int = 0
    unresolved: tuple[UnresolvedCall, ...] = ()

    @property
    def share(self) -> float:
        return self.resolved / self.calls if self.calls else 1.0


def query_coverage(model, layer: SchemaLayer, code_facts: Iterable) -> QueryCoverage:
    """Each counted call of the files in `code_facts`: resolved when a query it refines (as
    composed across functions) has a table, and everything the call names is a column of it."""
    from .query_flow import code_base

    facts_list = list(code_facts)
    flow = code_base(model, [facts.path for facts in facts_list])
    resolver = Resolver(model, layer, flow.mro)
    where_run = flow.where_run
    composed: dict[tuple[str, int], list[tuple[QueryPath, Optional[str]]]] = {}
    for query in flow.flow_queries:
        path = resolve(query.shape, resolver, where_run.get(query.context_of, "other"))
        for file_path, index, self_class in query.parts:
            composed.setdefault((file_path, index), []).append((path, self_class))
    calls = resolved = 0
    unresolved = []
    for facts in facts_list:
        for call in facts.query_calls:
            calls += 1
            problem = _call_problem(call, facts, composed, flow, resolver)
            if problem is None:
                resolved += 1
            else:
                unresolved.append(UnresolvedCall(call, *problem))
    return QueryCoverage(calls, resolved, tuple(unresolved))


def _call_problem(call: QueryCall, facts, composed: dict, flow, resolver: Resolver) -> Optional[tuple[str, str]]:
    if call.query is None:
        return "not a query", f"{call.receiver}.{call.method}(): not traced to a query"
    shape = facts.queries[call.query]
    entries = composed.get((facts.path, call.query), [])
    if not entries and shape.embedded:  # a subquery joined into another query: read on its own
        entries = [(resolve(query.shape, resolver, "other"), self_class) for query in flow.alone(facts.path, call.query)
                   for _, _, self_class in query.parts[:1]]
    if not any(path.table for path, _ in entries) and shape.origin is not None:
        origin = shape.origin
        if origin.kind == "parameter":
            return "not followed", (f"{call.method}() on parameter `{origin.name}` of {shape.function or 'module'}: "
                                    "no caller followed hands it a query")
        return "not followed", f"{call.method}() on what `{origin.name}()` returns: not followed to a query"
    if not entries:
        return "not followed", f"{call.method}(): its query is not reported"
    first = None
    for path, self_class in entries:
        problem = _problem_in(call, path, self_class, facts.path, shape.function, flow, resolver)
        if problem is None:
            return None
        first = first or problem
    return first


def _hybrid_over_columns(ref: ColumnRef, flow, resolver: Resolver, depth: int = 0) -> bool:
    """Whether `ref` is a hybrid property (or a renamed column, a composite) that reads only
    columns of its table, directly or through other hybrid properties of the class."""
    hybrid = flow.hybrid(ref.model, ref.column) if depth < 4 else None
    if hybrid is None or not hybrid.columns:
        return False
    for inner in hybrid.columns:
        inner = replace(inner, model=ref.model)
        if inner.column == ref.column:
            return False
        if resolver.column(inner) is None and not _hybrid_over_columns(inner, flow, resolver, depth + 1):
            return False
    return True


def _problem_in(call: QueryCall, path: QueryPath, self_class, file_path: str, function, flow,
                resolver: Resolver) -> Optional[tuple[str, str]]:
    from .extract.queries import ColumnRef

    if path.table is None:
        what = ", ".join(e.rpartition(".")[2] for e in path.shape.entities) or "nothing known"
        return "entity", f"{call.method}() on a query of {what}: not a mapped table"
    for name in call.tables:
        qualified = flow.qualified_ref(file_path, self_class, ColumnRef(name, "", call.location), function).model or name
        if resolver.table(qualified) is None:
            return "join", f"join({name}): not a mapped table"
    for ref in call.relationships:
        qualified = flow.qualified_ref(file_path, self_class, ref, function)
        if resolver.relationship(qualified.model, ref.column) is None:
            return "join", f"join({ref.model}.{ref.column}): not a relationship of a mapped class"
    for ref in call.columns:
        if ref.dynamic is not None:
            return "column", f"getattr({ref.model}, {ref.dynamic}): the column is chosen at run time"
        qualified = flow.qualified_ref(file_path, self_class, ref, function)
        if ref.table and not ref.model:
            continue  # SQL without a table name: read against the main table
        if resolver.column(qualified) is None and _hybrid_over_columns(qualified, flow, resolver):
            continue  # a hybrid property over columns of the table
        if resolver.column(qualified) is None:
            table = resolver.ref_table(qualified)
            if table is None:
                return "column", f"{ref.model}.{ref.column}: {ref.model} is not a mapped class"
            return "column", f"{ref.model}.{ref.column}: not a column of {table}"
    if call.unread:
        return "condition", f"{call.method}({call.unread[0]}): not read as columns"
    return None
