"""Replay migration operations in order to build the `database` layer.

Tables are frozen; each operation replaces the tables it touches, so the state after every
step is a cheap shallow snapshot. The incremental index keeps those snapshots and, when one
revision changes, replays from that revision on (`replay_steps(..., previous=run)`).

Unnamed constraints and indexes get the names PostgreSQL would choose
(`ChooseConstraintName`/`ChooseIndexName`: `<table>_pkey`, `<table>_<cols>_fkey`,
`<table>_<cols>_key`, `<table>_<col>_check`, `<table>_<cols>_idx`), so the replayed layer
compares directly with a real catalog.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..dataclass_copy import replace
from . import operations as ops
from .model import (
    Change,
    CheckConstraint,
    Column,
    ExtractionError,
    ForeignKey,
    Index,
    Location,
    PrimaryKey,
    SchemaLayer,
    Sequence,
    Table,
    UniqueConstraint,
    table_key,
)
from ..lazy_pattern import LazyPattern

_MAX_IDENTIFIER_BYTES = 63


@dataclass(slots=True)
class _State:
    tables: dict[str, Table]
    enums: dict
    sequences: dict
    functions: dict
    index_owner: dict[str, str]  # index key -> key of its table: index names share the relation namespace
    existing: frozenset[str] = frozenset()  # tables taken from the models at the start (ExistingTables)
    # Named types SQLAlchemy created for a table in this run (CreateEnum.once_per_run)
    made_for_tables: frozenset[str] = frozenset()
    # Objects a statement needed and did not find -> where that was first reported: later
    # statements that fail on the same missing object are consequences, not new problems.
    missing: dict[tuple[str, str], Location] = field(default_factory=dict)

    def copy(self) -> "_State":
        return _State(dict(self.tables), dict(self.enums), dict(self.sequences), dict(self.functions),
                      dict(self.index_owner), self.existing, self.made_for_tables, dict(self.missing))


@dataclass(frozen=True, slots=True)
class ReplayFailure:
    """A statement that fails when the migrations are replayed from an empty database.

    `missing` names the object it needed and did not find (("relation", "billing.invoices"),
    ("column", "invoices.status"), ("index", ...), ("type", ...), ("constraint", ...));
    `existing` is where the object it creates again was created first. A failure with `root`
    fails only because the failure at `root` left its object missing: one root error is
    reported, its consequences are counted under it.
    """

    error: ExtractionError
    missing: Optional[tuple[str, str]] = None
    existing: Optional[Location] = None
    root: Optional[Location] = None
    duplicate: Optional[tuple[str, str]] = None  # the object created a second time ("relation", key), ...


@dataclass(frozen=True, slots=True)
class ReplayRun:
    """The result of a replay: the layer at head, errors, and checkpoints to resume from."""

    layer: SchemaLayer
    errors: tuple[ExtractionError, ...]
    steps: tuple[ops.Step, ...] = ()
    # (steps applied, state after them), every `checkpoint_every` steps: a changed step replays
    # from the checkpoint before it; one state per step would cost a copy per step.
    checkpoints: tuple[tuple[int, _State], ...] = field(default=(), repr=False)
    step_failures: tuple[tuple[ReplayFailure, ...], ...] = field(default=(), repr=False)
    replayed_steps: int = 0  # how many steps this run actually replayed (the rest were reused)
    naming_convention: Optional[dict[str, str]] = None
    dialect: str = "postgresql"

    @property
    def failures(self) -> tuple[ReplayFailure, ...]:
        """Every failing statement in replay order, root errors and their consequences."""
        return tuple(failure for failures in self.step_failures for failure in failures)

    def state_after(self, steps_applied: int) -> Optional[_State]:
        return next((state for applied, state in self.checkpoints if applied == steps_applied), None)


def replay_steps(
    steps: Iterable[ops.Step], *, previous: Optional[ReplayRun] = None, layer_name: str = "database",
    naming_convention: Optional[dict[str, str]] = None, checkpoint_every: int = 32, dialect: str = "postgresql",
) -> ReplayRun:
    """Apply `steps` in order and return the resulting layer.

    With `previous`, the longest unchanged prefix of steps (same Step objects or equal ones)
    is not replayed again: replay resumes from the last checkpoint inside it. A different
    `naming_convention` or `dialect` replays everything. Operations built by SQLAlchemy
    (Alembic's op.*) name their unnamed constraints with `naming_convention`, as SQLAlchemy does.
    The replay refuses what PostgreSQL refuses; with `dialect` another engine (SQLite drops a
    table that others reference).
    """
    steps = tuple(steps)
    unchanged = 0
    checkpoints: list[tuple[int, _State]] = [(0, _State({}, {}, {}, {}, {}))]
    if previous is not None and previous.naming_convention == naming_convention and previous.dialect == dialect:
        limit = min(len(steps), len(previous.steps))
        while unchanged < limit and (steps[unchanged] is previous.steps[unchanged] or steps[unchanged] == previous.steps[unchanged]):
            unchanged += 1
        if unchanged == len(steps) == len(previous.steps):
            return replace(previous, replayed_steps=0)
        checkpoints = [(applied, state) for applied, state in previous.checkpoints if applied <= unchanged] or checkpoints
    start, resumed = checkpoints[-1]
    step_failures = list(previous.step_failures[:start]) if start else []
    state = resumed.copy()
    for position in range(start, len(steps)):
        step = steps[position]
        replayer = _Replayer(state, step.revision, naming_convention or {}, step.schema, dialect)
        for operation in step.operations:
            replayer.apply(operation)
        step_failures.append(tuple(replayer.failures))
        if (position + 1) % checkpoint_every == 0:
            checkpoints.append((position + 1, state))
            state = state.copy()
    layer = SchemaLayer(layer_name, dict(state.tables), dict(state.enums), dict(state.sequences), dict(state.functions))
    # Consequences of an earlier failure are not errors of their own.
    errors = tuple(failure.error for failures in step_failures for failure in failures if failure.root is None)
    return ReplayRun(layer, errors, steps, tuple(checkpoints), tuple(step_failures), len(steps) - start, naming_convention,
                     dialect)


class _Replayer:
    """Applies the operations of one step to a state, recording what PostgreSQL would reject."""

    def __init__(self, state: _State, revision: Optional[str], naming_convention: dict[str, str],
                 default_schema: Optional[str] = None, dialect: str = "postgresql") -> None:
        self.state = state
        self.dialect = dialect
        self.revision = revision
        self.default_schema = default_schema
        # SQLAlchemy's default convention names `index=True` indexes; the project's wins.
        self.naming_convention = {"ix": "ix_%(column_0_label)s", **naming_convention}
        self.failures: list[ReplayFailure] = []

    def apply(self, operation: ops.Operation) -> None:
        handler = getattr(self, f"_{type(operation).__name__}", None)
        if handler is None:
            return
        if self.default_schema is not None:
            operation = _in_schema(operation, self.default_schema)
        reported = len(self.failures)
        handler(operation)
        table = getattr(operation, "table", None)
        if isinstance(table, str) and table_key(table, getattr(operation, "schema", None)) in self.state.existing:
            # The models describe this table at head, not as the history found it: what a fresh
            # database would reject here says nothing about the history.
            del self.failures[reported:]

    def _ExistingTables(self, op: ops.ExistingTables) -> None:
        taken = {table.key for table in op.tables if table.key not in self.state.tables} | set(op.unknown)
        for table in op.tables:
            if table.key in taken:
                self._store(replace(table, history=(self._change(op.location, op.reason),)))
        self.state.existing = self.state.existing | taken

    # helpers

    def _error(self, location: Location, message: str, *, missing: Optional[tuple[str, str]] = None,
               existing: Optional[Location] = None, duplicate: Optional[tuple[str, str]] = None) -> None:
        error = ExtractionError(location, message, kind="replay")
        root = self.state.missing.get(missing) if missing is not None else None
        if missing is not None and root is None:
            self.state.missing[missing] = location
        self.failures.append(ReplayFailure(error, missing, existing, root, duplicate))

    def _missing_column(self, table: Table, location: Location, message: str, column: str) -> None:
        """PostgreSQL's error for a column `table` lacks; none when the migration that created
        the table passed columns SchemaLens could not read (its extraction error says so)."""
        if not table.partly_read:
            self._error(location, message, missing=("column", f"{table.key}.{column}"))

    def _not_made(self, kind: str, key: str, table: Optional[str], schema: Optional[str]) -> None:
        """A statement that would have made an object failed because its table is missing: the
        object is missing for the same root reason, so statements that need it later are
        consequences of that root too."""
        root = self.state.missing.get(("relation", table_key(table, schema))) if table else None
        if root is not None:
            self.state.missing.setdefault((kind, key), root)

    def _found(self, kind: str, key: str) -> None:
        """An object now exists: statements that miss it again later are problems of their own."""
        self.state.missing.pop((kind, key), None)

    def _change(self, location: Location, action: str) -> Change:
        return Change(location, action, self.revision)

    def _table(self, name: str, schema: Optional[str], location: Location, *, quiet: bool = False) -> Optional[Table]:
        table = self.state.tables.get(table_key(name, schema))
        if table is None and not quiet:
            self._error(location, f'relation "{table_key(name, schema)}" does not exist',
                        missing=("relation", table_key(name, schema)))
        return table

    def _store(self, table: Table) -> None:
        previous = self.state.tables.get(table.key)
        self._forget_indexes(previous)
        if previous is None:
            self._found("relation", table.key)
        self.state.tables[table.key] = table
        for index in table.indexes:
            if index.name:
                self.state.index_owner[table_key(index.name, table.schema)] = table.key

    def _remove(self, table: Table) -> None:
        self._forget_indexes(table)
        del self.state.tables[table.key]

    def _forget_indexes(self, table: Optional[Table]) -> None:
        for index in table.indexes if table is not None else ():
            if index.name:
                self.state.index_owner.pop(table_key(index.name, table.schema), None)

    def _touch(self, table: Table, location: Location, action: str) -> Table:
        return replace(table, changed=location, history=(*table.history, self._change(location, action)))

    def _constraint_names(self, table: Table) -> set[str]:
        names = {c.name for c in (*table.foreign_keys, *table.unique_constraints, *table.check_constraints) if c.name}
        if table.primary_key and table.primary_key.name:
            names.add(table.primary_key.name)
        return names

    def _relation_location(self, name: str, schema: Optional[str]) -> Optional[Location]:
        """Where the table, index or sequence that holds a relation name was created."""
        key = table_key(name, schema)
        if key in self.state.tables:
            return self.state.tables[key].location
        owner = self.state.tables.get(self.state.index_owner.get(key, ""))
        index = next((i for i in owner.indexes if i.name == name), None) if owner else None
        if index is not None:
            return index.location
        sequence = self.state.sequences.get(key)
        return sequence.location if sequence is not None else None

    def _relation_taken(self, name: str, schema: Optional[str]) -> bool:
        """Whether a table, index or sequence of that name exists in the schema's namespace."""
        key = table_key(name, schema)
        return key in self.state.tables or key in self.state.index_owner or key in self.state.sequences

    # naming, as PostgreSQL chooses names for unnamed constraints and indexes

    def _by_convention(self, table: Table, element, kind: str, final_names: frozenset[str]):
        """The element named by the naming convention (sqlalchemy.sql.naming), or None."""
        template = self.naming_convention.get(kind)
        if element.name in final_names:
            return None
        # Explicit names stay unless the template wraps them; unnamed ones need a template without them.
        if template is None or (element.name is None) == ("%(constraint_name)s" in template):
            return None
        name = convention_name(template, table, element)
        return replace(element, name=name) if name else None

    def _name_constraint(self, table: Table, constraint: ops.Constraint, by_convention: bool = False,
                         final_names: frozenset[str] = frozenset()) -> ops.Constraint:
        if by_convention:
            kind = {PrimaryKey: "pk", ForeignKey: "fk", UniqueConstraint: "uq", CheckConstraint: "ck"}[type(constraint)]
            named = self._by_convention(table, constraint, kind, final_names)
            if named is not None:
                return named
        if constraint.name:
            return constraint
        constraint_names = self._constraint_names(table)

        def taken(name: str) -> bool:
            return name in constraint_names or self._relation_taken(name, table.schema)

        check_column = _first_column_in(constraint.expression, table) if isinstance(constraint, CheckConstraint) else None
        return replace(constraint, name=postgres_constraint_name(table.name, constraint, taken, check_column))

    def _name_index(self, table: Table, index: Index, by_convention: bool = False,
                    final_names: frozenset[str] = frozenset()) -> Index:
        if by_convention:
            named = self._by_convention(table, index, "ix", final_names)
            if named is not None:
                return named
        if index.name:
            return index
        parts = [(_expression_column_name(column) if is_expression else column) for column, is_expression in
                 zip(index.columns, index.expressions or (False,) * len(index.columns))]
        name = _choose_name(table.name, "_".join(parts), "idx", lambda name: self._relation_taken(name, table.schema))
        return replace(index, name=name)

    # tables

    def _CreateTable(self, op: ops.CreateTable) -> None:
        existing = self._table(op.table, op.schema, op.location, quiet=True)
        if existing is not None:
            if not op.if_not_exists:
                self._error(op.location, f'relation "{existing.key}" already exists', existing=existing.location,
                            duplicate=("relation", existing.key))
            return
        columns = op.columns
        if op.partition_of:
            parent = self._table(op.partition_of, op.schema, op.location)
            if parent is not None:
                columns = tuple(replace(column, location=op.location, changed=None, history=()) for column in parent.columns)
                self._store(replace(parent, history=(*parent.history, self._change(op.location, f"partition {op.table} attached"))))
        table = Table(
            name=op.table, schema=op.schema, location=op.location,
            columns=tuple(replace(column, history=(self._change(column.location, "create table"),)) for column in columns),
            partition_by=op.partition_by, partition_of=op.partition_of, partition_bound=op.partition_bound,
            history=(self._change(op.location, "create table"),), partly_read=op.partly_read,
        )
        self._store(table)
        for column in op.columns:
            if column.identity == "serial" and column.sequence:
                self._register_owned_sequence(column.sequence, op.schema, op.table, column.name, column.location)
        for constraint in _distinct_keys(op.constraints):
            self._add_constraint(op.table, op.schema, constraint, op.location, record=False,
                                 by_convention=op.named_by_convention, final_names=op.final_names)

    def _register_owned_sequence(self, name: str, schema: Optional[str], table: str, column: str, location: Location) -> None:
        self.state.sequences[table_key(name, schema)] = Sequence(name, location, schema, f"{table}.{column}")

    def _DropTable(self, op: ops.DropTable) -> None:
        table = self._table(op.table, op.schema, op.location, quiet=op.if_exists)
        if table is None:
            return
        referencing = [other for other in self.state.tables.values()
                       if other.key != table.key and any(fk.ref_table == table.name and (fk.ref_schema or None) == (table.schema or None) for fk in other.foreign_keys)]
        # Tables taken from the models carry their foreign keys at head, not as they were then.
        # SQLite drops a table others reference (checking their rows, if foreign keys are on).
        if referencing and not op.cascade and not all(other.key in self.state.existing for other in referencing) \
                and self.dialect != "sqlite":
            self._error(op.location, f'cannot drop table {table.key} because other objects depend on it ({", ".join(t.key for t in referencing)})')
            return
        for other in referencing:
            kept = tuple(fk for fk in other.foreign_keys if not (fk.ref_table == table.name and (fk.ref_schema or None) == (table.schema or None)))
            self._store(replace(other, foreign_keys=kept))
        self._remove(table)
        for key, sequence in list(self.state.sequences.items()):
            if sequence.owned_by and sequence.owned_by.split(".")[0] == table.name and (sequence.schema or None) == (table.schema or None):
                del self.state.sequences[key]

    def _RenameTable(self, op: ops.RenameTable) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            if table_key(op.table, op.schema) in self.state.existing:
                # a table the history takes as there, its columns not known (manila's volume_types,
                # created by code not read): under its new name, as much as under the old
                self.state.existing = self.state.existing | {table_key(op.new_name, op.schema)}
            return
        self._remove(table)
        renamed = self._touch(replace(table, name=op.new_name), op.location, f"rename table {op.table} to {op.new_name}")
        self._store(renamed)
        for other in list(self.state.tables.values()):
            if any(fk.ref_table == op.table and (fk.ref_schema or None) == (op.schema or None) for fk in other.foreign_keys):
                fks = tuple(replace(fk, ref_table=op.new_name) if fk.ref_table == op.table and (fk.ref_schema or None) == (op.schema or None) else fk
                            for fk in other.foreign_keys)
                self._store(replace(other, foreign_keys=fks))

    # columns

    def _AddColumn(self, op: ops.AddColumn) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            self._not_made("column", f"{table_key(op.table, op.schema)}.{op.column.name}", op.table, op.schema)
            return
        if table.column(op.column.name) is not None:
            if not op.if_not_exists:
                self._error(op.location, f'column "{op.column.name}" of relation "{table.key}" already exists',
                            existing=table.column(op.column.name).location)
            return
        self._found("column", f"{table.key}.{op.column.name}")
        column = replace(op.column, history=(self._change(op.location, "add column"),))
        table = self._touch(table.with_column(column), op.location, f"add column {column.name}")
        self._store(table)
        if column.identity == "serial" and column.sequence:
            self._register_owned_sequence(column.sequence, op.schema, op.table, column.name, op.location)
        for constraint in op.constraints:
            self._add_constraint(op.table, op.schema, constraint, op.location, record=False,
                                 by_convention=op.named_by_convention, final_names=op.final_names)

    def _DropColumn(self, op: ops.DropColumn) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            return
        if table.column(op.column) is None:
            if not op.if_exists:
                self._missing_column(table, op.location, f'column "{op.column}" of relation "{table.key}" does not exist',
                                     op.column)
            return
        name = op.column
        # PostgreSQL drops every index and constraint that involves the column.
        table = replace(
            table,
            columns=tuple(c for c in table.columns if c.name != name),
            primary_key=None if table.primary_key and name in table.primary_key.columns else table.primary_key,
            foreign_keys=tuple(fk for fk in table.foreign_keys if name not in fk.columns),
            unique_constraints=tuple(u for u in table.unique_constraints if name not in u.columns),
            check_constraints=tuple(c for c in table.check_constraints if not _mentions(c.expression, name)),
            indexes=tuple(i for i in table.indexes if name not in i.columns and not any(
                is_expr and _mentions(text, name) for text, is_expr in zip(i.columns, i.expressions))
                and not (i.where and _mentions(i.where, name))),
        )
        self._store(self._touch(table, op.location, f"drop column {name}"))

    def _column_of(self, table_name: str, schema: Optional[str], column_name: str, location: Location):
        """(table, column), or (None, None) with the error PostgreSQL would give."""
        table = self._table(table_name, schema, location)
        column = table.column(column_name) if table is not None else None
        if table is not None and column is None:
            self._missing_column(table, location, f'column "{column_name}" of relation "{table.key}" does not exist',
                                 column_name)
        return (table, column) if column is not None else (None, None)

    def _AlterColumn(self, op: ops.AlterColumn) -> None:
        table, column = self._column_of(op.table, op.schema, op.column, op.location)
        if column is None:
            return
        updates: dict = {}
        actions = []
        if op.type is not None:
            updates.update(type=op.type, raw_type=op.raw_type or op.type)
            actions.append(f"type {op.type}")
        if op.nullable is not None:
            if op.nullable and table.primary_key and column.name in table.primary_key.columns:
                self._error(op.location, f'column "{column.name}" is in a primary key')
            else:
                updates["nullable"] = op.nullable
                actions.append("drop not null" if op.nullable else "set not null")
        if op.server_default is not None:
            updates["server_default"] = None if op.server_default == ops.DROP_DEFAULT else op.server_default
            actions.append("drop default" if op.server_default == ops.DROP_DEFAULT else "set default")
        if op.comment is not None:
            updates["comment"] = op.comment
        if op.identity is not None:
            updates.update(identity=op.identity, nullable=False)
            actions.append(f"add identity {op.identity}")
        if op.new_name is not None and op.new_name != column.name:
            if table.column(op.new_name) is not None:
                self._error(op.location, f'column "{op.new_name}" of relation "{table.key}" already exists',
                            existing=table.column(op.new_name).location)
                return
            self._found("column", f"{table.key}.{op.new_name}")
            updates["name"] = op.new_name
            actions.append(f"rename to {op.new_name}")
        action = f"alter column {op.column}: " + ", ".join(actions) if actions else f"alter column {op.column}"
        altered = replace(column, changed=op.location, history=(*column.history, self._change(op.location, action)), **updates)
        columns = tuple(altered if c.name == column.name else c for c in table.columns)
        table = self._touch(replace(table, columns=columns), op.location, action)
        if op.new_name is not None and op.new_name != column.name:
            table = _rename_column_references(table, column.name, op.new_name)
            self._store(table)
            self._rename_referring_columns(table, column.name, op.new_name)
        else:
            self._store(table)

    def _rename_referring_columns(self, table: Table, old: str, new: str) -> None:
        for other in list(self.state.tables.values()):
            changed = False
            fks = []
            for fk in other.foreign_keys:
                if fk.ref_table == table.name and (fk.ref_schema or None) == (table.schema or None) and old in fk.ref_columns:
                    fk = replace(fk, ref_columns=tuple(new if c == old else c for c in fk.ref_columns))
                    changed = True
                fks.append(fk)
            if changed:
                self._store(replace(other, foreign_keys=tuple(fks)))

    # constraints

    def _AddConstraint(self, op: ops.AddConstraint) -> None:
        table = self.state.tables.get(table_key(op.table, op.schema)) if op.if_not_exists else None
        if table is not None and op.constraint.name in self._constraint_names(table):
            return
        self._add_constraint(op.table, op.schema, op.constraint, op.location, record=True,
                             by_convention=op.named_by_convention, final_names=op.final_names)

    def _add_constraint(self, table_name: str, schema: Optional[str], constraint: ops.Constraint,
                        location: Location, *, record: bool, by_convention: bool = False,
                        final_names: frozenset[str] = frozenset()) -> None:
        table = self._table(table_name, schema, location)
        if table is None:
            if constraint.name:
                self._not_made("constraint", f"{table_key(table_name, schema)}.{constraint.name}", table_name, schema)
            return
        if table.key in self.state.existing and _equivalent_present(table, constraint):
            return  # the models already describe it on a table taken as there
        constraint = self._name_constraint(table, constraint, by_convention, final_names)
        if constraint.name in self._constraint_names(table):
            self._error(location, f'constraint "{constraint.name}" for relation "{table.key}" already exists',
                        existing=_constraint_location(table, constraint.name))
            return
        missing = [c for c in getattr(constraint, "columns", ()) if table.column(c) is None]
        if missing:
            self._missing_column(table, location, f'column "{missing[0]}" named in key does not exist', missing[0])
            return
        self._found("constraint", f"{table.key}.{constraint.name}")
        if isinstance(constraint, PrimaryKey):
            if table.primary_key is not None:
                self._error(location, f'multiple primary keys for table "{table.key}" are not allowed')
                return
            columns = tuple(replace(c, nullable=False) if c.name in constraint.columns else c for c in table.columns)
            table = replace(table, primary_key=constraint, columns=columns)
        elif isinstance(constraint, ForeignKey):
            target = self._table(constraint.ref_table, constraint.ref_schema, location)
            if target is None:
                return
            if not constraint.ref_columns and target.primary_key:
                constraint = replace(constraint, ref_columns=target.primary_key.columns)
            table = replace(table, foreign_keys=(*table.foreign_keys, constraint))
        elif isinstance(constraint, UniqueConstraint):
            table = replace(table, unique_constraints=(*table.unique_constraints, constraint))
        else:
            table = replace(table, check_constraints=(*table.check_constraints, constraint))
        if record:
            table = self._touch(table, location, f"add constraint {constraint.name}")
        self._store(table)

    def _AddConstraintUsingIndex(self, op: ops.AddConstraintUsingIndex) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            return
        index = next((i for i in table.indexes if i.name == op.index), None)
        if index is None:
            self._error(op.location, f'index "{op.index}" does not exist', missing=("index", table_key(op.index, table.schema)))
            return
        # PostgreSQL renames the index to the constraint's name and the index becomes the constraint.
        name = op.name or op.index
        self._store(replace(table, indexes=tuple(i for i in table.indexes if i is not index)))
        constraint = (PrimaryKey(name, index.columns, op.location) if op.primary
                      else UniqueConstraint(name, index.columns, op.location))
        self._add_constraint(op.table, op.schema, constraint, op.location, record=True)

    def _DropConstraint(self, op: ops.DropConstraint) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            return
        name = op.name
        if name is None and op.kind == "primary" and table.primary_key is not None:
            name = table.primary_key.name  # the table's one primary key, its name not read
            if name is None:
                self._store(self._touch(replace(table, primary_key=None), op.location, "drop primary key"))
                return
        if name not in self._constraint_names(table):
            name = self._dropped_by_convention(table, op) or _named_by_convention_instead(table, op.name)
        if name is None:
            if not op.if_exists:
                self._error(op.location, f'constraint "{op.name}" of relation "{table.key}" does not exist',
                            missing=("constraint", f"{table.key}.{op.name}"))
            return
        table = replace(
            table,
            primary_key=None if table.primary_key and table.primary_key.name == name else table.primary_key,
            foreign_keys=tuple(c for c in table.foreign_keys if c.name != name),
            unique_constraints=tuple(c for c in table.unique_constraints if c.name != name),
            check_constraints=tuple(c for c in table.check_constraints if c.name != name),
        )
        self._store(self._touch(table, op.location, f"drop constraint {op.name}"))

    def _dropped_by_convention(self, table: Table, op: ops.DropConstraint) -> Optional[str]:
        """The name Alembic's `op.drop_constraint(name, table, type_=kind)` drops when the naming
        convention of that kind wraps the name given (phoenix: `"ck": "ck_%(table_name)s_
        `%(constraint_name)s`"`, so dropping "valid_auth_method" drops "ck_users_`valid_auth_method`"),
        if the table has a constraint of that name."""
        kind = _CONVENTION_KINDS.get(op.kind or "")
        template = self.naming_convention.get(kind) if kind else None
        if template is None or "%(constraint_name)s" not in template:
            return None
        try:
            name = convention_name(template, table, _NamedOnly(op.name))
        except (KeyError, AttributeError):  # a token needing what the drop does not say (its columns)
            return None
        return name if name in self._constraint_names(table) else None

    def _RenameConstraint(self, op: ops.RenameConstraint) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            return
        rename = (lambda c: replace(c, name=op.new_name, changed=op.location) if c.name == op.name else c)
        table = replace(
            table,
            primary_key=rename(table.primary_key) if table.primary_key else None,
            foreign_keys=tuple(map(rename, table.foreign_keys)),
            unique_constraints=tuple(map(rename, table.unique_constraints)),
            check_constraints=tuple(map(rename, table.check_constraints)),
            # A unique or primary key constraint's index carries the constraint's name.
            indexes=tuple(map(rename, table.indexes)),
        )
        self._store(self._touch(table, op.location, f"rename constraint {op.name} to {op.new_name}"))

    def _ValidateConstraint(self, op: ops.ValidateConstraint) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            return
        validate = (lambda c: replace(c, not_valid=False, changed=op.location) if c.name == op.name else c)
        table = replace(table, foreign_keys=tuple(map(validate, table.foreign_keys)),
                        check_constraints=tuple(map(validate, table.check_constraints)))
        self._store(self._touch(table, op.location, f"validate constraint {op.name}"))

    # indexes

    def _CreateIndex(self, op: ops.CreateIndex) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is None:
            if op.index.name:
                self._not_made("index", table_key(op.index.name, op.schema), op.table, op.schema)
            return
        index = op.index
        if table.key in self.state.existing and any(i.columns == index.columns and i.unique == index.unique
                                                    and (i.where or None) == (index.where or None) for i in table.indexes):
            return  # the models already describe it on a table taken as there
        if not index.expressions:
            index = replace(index, expressions=(False,) * len(index.columns))
        missing = [c for c, is_expression in zip(index.columns, index.expressions) if not is_expression and table.column(c) is None]
        if missing and table.columns:
            self._missing_column(table, op.location, f'column "{missing[0]}" does not exist', missing[0])
            return
        if index.name and self._relation_taken(index.name, table.schema):
            if not op.if_not_exists:
                self._error(op.location, f'relation "{index.name}" already exists',
                            existing=self._relation_location(index.name, table.schema),
                            duplicate=("relation", table_key(index.name, table.schema)))
            return
        index = self._name_index(table, index, op.named_by_convention, op.final_names)
        self._found("index", table_key(index.name, table.schema))
        table = self._touch(replace(table, indexes=(*table.indexes, index)), op.location, f"create index {index.name}")
        self._store(table)

    def _find_index(self, name: str, schema: Optional[str]) -> tuple[Optional[Table], Optional[Index]]:
        owner = self.state.index_owner.get(table_key(name, schema))
        table = self.state.tables.get(owner) if owner else None
        index = next((i for i in table.indexes if i.name == name), None) if table else None
        return (table, index) if index else (None, None)

    def _DropIndex(self, op: ops.DropIndex) -> None:
        table, index = self._find_index(op.name, op.schema)
        if index is None:
            if not op.if_exists:
                self._error(op.location, f'index "{op.name}" does not exist', missing=("index", table_key(op.name, op.schema)))
            return
        table = replace(table, indexes=tuple(i for i in table.indexes if i.name != op.name))
        self._store(self._touch(table, op.location, f"drop index {op.name}"))

    def _RenameIndex(self, op: ops.RenameIndex) -> None:
        table, index = self._find_index(op.name, op.schema)
        if index is None:
            # ALTER INDEX ... RENAME also renames the index behind a unique or PK constraint,
            # and with it the constraint.
            owner = next((t for t in self.state.tables.values() if (t.schema or None) == (op.schema or None)
                          and any(c is not None and c.name == op.name for c in (t.primary_key, *t.unique_constraints))), None)
            if owner is not None:
                self._RenameConstraint(ops.RenameConstraint(owner.name, op.name, op.new_name, op.location, owner.schema))
                return
            self._error(op.location, f'relation "{op.name}" does not exist', missing=("index", table_key(op.name, op.schema)))
            return
        indexes = tuple(replace(i, name=op.new_name, changed=op.location) if i.name == op.name else i for i in table.indexes)
        self._store(self._touch(replace(table, indexes=indexes), op.location, f"rename index {op.name} to {op.new_name}"))

    # partitions

    def _AttachPartition(self, op: ops.AttachPartition) -> None:
        parent = self._table(op.table, op.schema, op.location)
        child = self._table(op.partition, op.schema, op.location)
        if parent is None or child is None:
            return
        self._store(replace(child, partition_of=parent.name, partition_bound=op.bound, changed=op.location))

    def _DetachPartition(self, op: ops.DetachPartition) -> None:
        child = self._table(op.partition, op.schema, op.location)
        if child is not None:
            self._store(replace(child, partition_of=None, partition_bound=None, changed=op.location))

    # types, sequences, functions, triggers, comments

    def _CreateEnum(self, op: ops.CreateEnum) -> None:
        key = table_key(op.enum.name, op.enum.schema)
        if key in self.state.enums and (op.if_not_exists or op.once_per_run and key in self.state.made_for_tables):
            return
        if op.once_per_run:
            self.state.made_for_tables = self.state.made_for_tables | {key}
        if key in self.state.enums:
            self._error(op.location, f'type "{key}" already exists', existing=self.state.enums[key].location,
                        duplicate=("type", key))
            return
        self._found("type", key)
        self.state.enums[key] = op.enum

    def _AddEnumValue(self, op: ops.AddEnumValue) -> None:
        key = table_key(op.name, op.schema)
        enum = self.state.enums.get(key)
        if enum is None:
            self._error(op.location, f'type "{key}" does not exist', missing=("type", key))
            return
        values = list(enum.values)
        if op.value in values:
            return
        if op.before in values:
            values.insert(values.index(op.before), op.value)
        elif op.after in values:
            values.insert(values.index(op.after) + 1, op.value)
        else:
            values.append(op.value)
        self.state.enums[key] = replace(enum, values=tuple(values), changed=op.location)

    def _DropType(self, op: ops.DropType) -> None:
        if self.state.enums.pop(table_key(op.name, op.schema), None) is None and not op.if_exists:
            self._error(op.location, f'type "{op.name}" does not exist', missing=("type", table_key(op.name, op.schema)))

    def _UnsupportedStatement(self, op: ops.UnsupportedStatement) -> None:
        """`ALTER TYPE ... RENAME TO` of an enum: the type and the columns of that type take the
        new name (warehouse renames `ses_event_types`). Other types are not modelled."""
        if op.kind != "RENAME TYPE" or not op.name or not op.detail:
            return
        enum = self.state.enums.pop(table_key(op.name, op.schema), None)
        if enum is None:
            return
        self.state.enums[table_key(op.detail, op.schema)] = replace(enum, name=op.detail, changed=op.location)
        old = {op.name.lower(), table_key(op.name, op.schema)}
        new = table_key(op.detail, op.schema)
        for table in list(self.state.tables.values()):
            columns = tuple(_with_type_renamed(column, old, new) for column in table.columns)
            if columns != table.columns:
                self._store(replace(table, columns=columns))

    def _CreateSequence(self, op: ops.CreateSequence) -> None:
        self._found("sequence", table_key(op.sequence.name, op.sequence.schema))
        self.state.sequences[table_key(op.sequence.name, op.sequence.schema)] = op.sequence

    def _AlterSequenceOwner(self, op: ops.AlterSequenceOwner) -> None:
        key = table_key(op.name, op.schema)
        sequence = self.state.sequences.get(key)
        if sequence is None:
            self._error(op.location, f'relation "{key}" does not exist', missing=("sequence", key))
            return
        self.state.sequences[key] = replace(sequence, owned_by=op.owned_by)

    def _DropSequence(self, op: ops.DropSequence) -> None:
        if self.state.sequences.pop(table_key(op.name, op.schema), None) is None and not op.if_exists:
            self._error(op.location, f'sequence "{op.name}" does not exist', missing=("sequence", table_key(op.name, op.schema)))

    def _CreateFunction(self, op: ops.CreateFunction) -> None:
        self.state.functions[table_key(op.function.name, op.function.schema)] = op.function

    def _DropFunction(self, op: ops.DropFunction) -> None:
        self.state.functions.pop(table_key(op.name, op.schema), None)

    def _CreateTrigger(self, op: ops.CreateTrigger) -> None:
        table = self._table(op.trigger.table, op.schema, op.location)
        if table is not None:
            triggers = tuple(t for t in table.triggers if t.name != op.trigger.name)
            self._store(self._touch(replace(table, triggers=(*triggers, op.trigger)), op.location, f"create trigger {op.trigger.name}"))

    def _DropTrigger(self, op: ops.DropTrigger) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is not None:
            self._store(self._touch(replace(table, triggers=tuple(t for t in table.triggers if t.name != op.name)), op.location, f"drop trigger {op.name}"))

    def _SetTableComment(self, op: ops.SetTableComment) -> None:
        table = self._table(op.table, op.schema, op.location)
        if table is not None:
            self._store(replace(table, comment=op.comment))

    def _SetColumnComment(self, op: ops.SetColumnComment) -> None:
        table, column = self._column_of(op.table, op.schema, op.column, op.location)
        if column is None:
            return
        self._store(table.with_column(replace(column, comment=op.comment)))


def _constraint_location(table: Table, name: str) -> Optional[Location]:
    for constraint in (table.primary_key, *table.foreign_keys, *table.unique_constraints, *table.check_constraints):
        if constraint is not None and constraint.name == name:
            return constraint.location
    return None


def _rename_column_references(table: Table, old: str, new: str) -> Table:
    swap = (lambda columns: tuple(new if c == old else c for c in columns))
    return replace(
        table,
        primary_key=replace(table.primary_key, columns=swap(table.primary_key.columns)) if table.primary_key else None,
        foreign_keys=tuple(replace(fk, columns=swap(fk.columns)) for fk in table.foreign_keys),
        unique_constraints=tuple(replace(u, columns=swap(u.columns)) for u in table.unique_constraints),
        indexes=tuple(replace(i, columns=tuple(new if c == old and not is_expr else c for c, is_expr in
                                               zip(i.columns, i.expressions or (False,) * len(i.columns))))
                      for i in table.indexes),
    )


_IDENTIFIER = LazyPattern(r'"([^"]+)"|\b([A-Za-z_][A-Za-z0-9_$]*)\b')


def _identifiers(expression: str) -> list[str]:
    without_strings = re.sub(r"'(?:[^']|'')*'", "''", expression)
    return [quoted or bare.lower() for quoted, bare in _IDENTIFIER.findall(without_strings)]


def _mentions(expression: Optional[str], column: str) -> bool:
    return bool(expression) and column in _identifiers(expression)


def _first_column_in(expression: str, table: Table) -> Optional[str]:
    """The column a CHECK constraint's name is built from: PostgreSQL uses it only when the
    expression refers to exactly one column (AddRelationNewConstraints), else `<table>_check`."""
    names = {c.name for c in table.columns}
    referenced = list(dict.fromkeys(identifier for identifier in _identifiers(expression) if identifier in names))
    return referenced[0] if len(referenced) == 1 else None


_TOKEN = LazyPattern(r"%\((\w+)\)s")


def convention_name(template: str, table: Table, element) -> Optional[str]:
    """A naming-convention template filled in for one constraint or index, as
    sqlalchemy.sql.naming does; None for a token it does not know."""
    columns = [c for c, is_expression in zip(element.columns, getattr(element, "expressions", ()) or
                                             (False,) * len(element.columns)) if not is_expression] \
        if hasattr(element, "columns") else []

    def one(name: str, attribute: str, referred: bool) -> str:
        if attribute == "label" and not referred:
            return f"{table.schema + '_' if table.schema else ''}{table.name}_{name}"
        return name

    def token(match: re.Match) -> str:
        key = match.group(1)
        if key == "table_name":
            return table.name
        if key == "constraint_name":
            return element.name or ""
        if key == "referred_table_name":
            return element.ref_table
        parts = re.match(r"^(referred_)?column_(\d+)(_?N)?_(name|key|label)$", key)
        if not parts:
            raise KeyError(key)
        referred, position, multiple, attribute = parts.groups()
        names = list(element.ref_columns) if referred else columns
        if multiple:
            return ("_" if multiple.startswith("_") else "").join(one(n, attribute, bool(referred)) for n in names)
        return one(names[int(position)], attribute, bool(referred)) if int(position) < len(names) else ""

    try:
        return sqlalchemy_truncated(_TOKEN.sub(token, template))
    except KeyError:
        return None


def sqlalchemy_truncated(name: str) -> str:
    """A naming-convention name as SQLAlchemy emits it: over 63 characters, cut to 55 with `_`
    and the last 4 hex digits of its MD5 (compiler._truncate_and_render_maxlen_name)."""
    if len(name) <= _MAX_IDENTIFIER_BYTES:
        return name
    return f"{name[:_MAX_IDENTIFIER_BYTES - 8]}_{hashlib.md5(name.encode()).hexdigest()[-4:]}"


def _expression_column_name(expression: str) -> str:
    """PostgreSQL's FigureColname for an index expression: a function's name, else "expr"."""
    call = re.match(r"\s*\(*\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", expression)
    return call.group(1).lower() if call else "expr"


def _make_object_name(name1: str, name2: str, label: str) -> str:
    """PostgreSQL's makeObjectName: shorten the longer part until the name fits 63 bytes."""
    overhead = len(label.encode()) + 1 + (len(name2.encode()) and 1)
    available = _MAX_IDENTIFIER_BYTES - overhead
    part1, part2 = name1.encode(), name2.encode()
    while len(part1) + len(part2) > available:
        if len(part1) > len(part2):
            part1 = part1[:-1]
        else:
            part2 = part2[:-1]
    pieces = [part1.decode(errors="ignore")]
    if name2:
        pieces.append(part2.decode(errors="ignore"))
    pieces.append(label)
    return "_".join(pieces)


def postgres_constraint_name(table: str, constraint, taken, check_column: Optional[str] = None) -> str:
    """The name PostgreSQL gives an unnamed constraint of `table` (a table name, no schema):
    `orders_pkey`, `orders_buyer_id_fkey`, `orders_email_key`, `orders_total_check` (a CHECK is
    named after `check_column`, the first column its expression reads), numbered while
    `taken(name)`."""
    if isinstance(constraint, PrimaryKey):
        return _choose_name(table, "", "pkey", taken)
    if isinstance(constraint, ForeignKey):
        return _choose_name(table, "_".join(constraint.columns), "fkey", taken)
    if isinstance(constraint, UniqueConstraint):
        return _choose_name(table, "_".join(constraint.columns), "key", taken)
    return _choose_name(table, check_column or "", "check", taken)


# Alembic's type_ of op.drop_constraint -> the naming convention's key
_CONVENTION_KINDS = {"check": "ck", "unique": "uq", "foreignkey": "fk", "primary": "pk"}


@dataclass(frozen=True, slots=True)
class _NamedOnly:
    """A constraint known by its name alone (what a drop says of it)."""

    name: str
    columns: tuple[str, ...] = ()


def _named_by_convention_instead(table: Table, name: str) -> Optional[str]:
    """The constraint of `table` that PostgreSQL would have named `name` had it been created
    unnamed, when the replay named it by the naming convention instead: a revision that drops
    `orders_user_id_fkey` was written against a database built before the project adopted its
    convention (flaskbb), while the replay applies today's convention to all of history."""
    keys = [*([table.primary_key] if table.primary_key else []), *table.foreign_keys, *table.unique_constraints]
    for constraint in keys:  # a CHECK's default name depends on its expression: not matched
        if postgres_constraint_name(table.name, constraint, lambda _name: False) == name:
            return constraint.name
    return None


def _choose_name(name1: str, name2: str, label: str, taken) -> str:
    """PostgreSQL's ChooseRelationName: add 1, 2, ... to the label until `taken(name)` is False."""
    name = _make_object_name(name1, name2, label)
    suffix = 0
    while taken(name):
        suffix += 1
        name = _make_object_name(name1, name2, f"{label}{suffix}")
    return name


def _in_schema(operation, schema: str):
    """`operation` with unqualified names resolved through a search path of `schema`."""
    changes = {}
    if getattr(operation, "schema", schema) is None:
        changes["schema"] = schema
    constraints = getattr(operation, "constraints", None)
    if constraints:
        changes["constraints"] = tuple(_referencing_schema(c, schema) for c in constraints)
    constraint = getattr(operation, "constraint", None)
    if isinstance(constraint, ForeignKey):
        changes["constraint"] = _referencing_schema(constraint, schema)
    return replace(operation, **changes) if changes else operation


def _referencing_schema(constraint, schema: str):
    if isinstance(constraint, ForeignKey) and constraint.ref_schema is None:
        return replace(constraint, ref_schema=schema)
    return constraint


def _distinct_keys(constraints) -> list:
    """The constraints of a CREATE TABLE as PostgreSQL keeps them: a UNIQUE on the same columns as
    the primary key or an earlier UNIQUE makes no second index and is dropped
    (transformIndexConstraints)."""
    keys = {tuple(c.columns) for c in constraints if isinstance(c, PrimaryKey)}
    kept = []
    for constraint in constraints:
        if isinstance(constraint, UniqueConstraint) and not constraint.deferrable:
            if tuple(constraint.columns) in keys:
                continue
            keys.add(tuple(constraint.columns))
        kept.append(constraint)
    return kept


def _equivalent_present(table: Table, constraint) -> bool:
    """Whether `table` already has a constraint that means the same as `constraint`, whatever its name."""
    if isinstance(constraint, PrimaryKey):
        return table.primary_key is not None and table.primary_key.columns == constraint.columns
    if isinstance(constraint, ForeignKey):
        return any(fk.columns == constraint.columns and fk.ref_table == constraint.ref_table
                   and (not constraint.ref_columns or fk.ref_columns == constraint.ref_columns) for fk in table.foreign_keys)
    if isinstance(constraint, UniqueConstraint):
        return any(u.columns == constraint.columns for u in table.unique_constraints) \
            or any(i.unique and i.columns == constraint.columns and not i.where for i in table.indexes)
    return any(c.expression == constraint.expression for c in table.check_constraints)


def _with_type_renamed(column: Column, old: set[str], new: str) -> Column:
    """`column` with its type (or the type of its array's items) named `new` when it is one of `old`."""
    items, brackets = (column.type[:-2], "[]") if column.type.endswith("[]") else (column.type, "")
    if items not in old:
        return column
    return replace(column, type=new + brackets, raw_type=new + brackets)
