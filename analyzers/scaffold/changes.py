"""The safe sequence for each schema change, planned against the database layer (what the
migrations build at head), so that names, types, keys and dependent indexes are the project's.

Each planner returns a `Plan` whose phases run one deploy apart. A phase with nothing to do is
left out (adding an index needs no backfill), so a plan has one to three phases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Optional

from ..schema.drift import comparable_type, same_type
from ..schema.migration_walk import is_volatile_default, type_change_rewrites
from ..i18n import _, join
from ..schema.model import Column, ForeignKey, Index, PrimaryKey, SchemaLayer, Table, UniqueConstraint
from .plan import (Autocommit, Backfill, Block, DropInvalidIndex, InTransaction, Phase, Plan, Unless, columns_sql, flatten,
                   object_name, quote)
from .triggers import TriggerFunction, definition, digest, guard_sql, reads, recompile_sql, renamed, trigger_functions
from ..lazy_pattern import LazyPattern


class ScaffoldError(ValueError):
    """The change cannot be scaffolded as asked; the message (a catalog text) says why and what to
    do instead."""


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    change: str
    table: str
    column: Optional[str] = None
    type: Optional[str] = None
    default: Optional[str] = None  # SQL expression: the column's default for new rows
    backfill: Optional[str] = None  # SQL expression for existing rows (falls back to `default`)
    new_name: Optional[str] = None
    ref: Optional[str] = None  # "table.column" or "table.a,b"
    columns: tuple[str, ...] = ()
    check: Optional[str] = None
    name: Optional[str] = None  # constraint or index name (default: PostgreSQL's convention)
    on_delete: Optional[str] = None
    where: Optional[str] = None  # partial index predicate
    using: Optional[str] = None  # index method
    batch_size: int = 1000
    backfill_triggers: str = "keep"  # "keep": the table's row triggers change no other column; "fire": they run


# The deploy sentences the revision docstrings use.
ANY_APP = _("any version of the application (this step is compatible with old and new code)")
EXPAND_REVISION = _("the expand revision")
RELIES_ON_THE_COLUMN = _("code that relies on the column being set")


def plan_change(request: ChangeRequest, layer: SchemaLayer) -> Plan:
    planner = PLANNERS.get(request.change)
    if planner is None:
        raise ScaffoldError(_("unknown change %(change)r; one of: %(changes)s", change=request.change,
                              changes=", ".join(PLANNERS)))
    schema, _dot, name = request.table.rpartition(".")
    layer = with_postgresql_names(layer)
    table = layer.table(name, schema or None)
    if table is not None and table.schema not in (None, "public"):
        raise ScaffoldError(_("%(table)s is outside the public schema; the scaffold writes unqualified names, "
                              "so it only changes tables in public", table=request.table))
    if table is None:
        raise ScaffoldError(_("table %(table)r is not in the database the migrations build (%(count)d tables at "
                              "head); create it with a migration first", table=request.table, count=len(layer.tables)))
    if request.backfill_triggers not in ("keep", "fire"):
        raise ScaffoldError(_("--backfill-triggers is keep or fire, not %(value)r", value=request.backfill_triggers))
    keep = request.backfill_triggers == "keep"
    phases = tuple(replace(phase, upgrade=_with_triggers(phase.upgrade, keep), downgrade=_with_triggers(phase.downgrade, keep))
                   for phase in planner(request, table, layer) if phase is not None)
    plan = Plan(request.change, table.name, phases)
    _refuse_what_partitioned_tables_refuse(plan, layer)
    return plan


def _with_triggers(blocks: tuple[Block, ...], keep: bool) -> tuple[Block, ...]:
    return tuple(replace(block, keep_other_columns=keep) if isinstance(block, Backfill) else
                 replace(block, blocks=_with_triggers(block.blocks, keep)) if isinstance(block, Unless) else block
                 for block in blocks)


# Statements PostgreSQL refuses on a partitioned table (its own SQL, as the planners write it).
_REFUSED_ON_PARTITIONED = (
    (LazyPattern(r"INDEX CONCURRENTLY (?:IF (?:NOT )?EXISTS )?\S+ ON (\S+)"), _("builds no index CONCURRENTLY")),
    (LazyPattern(r"^ALTER TABLE (\S+) ADD CONSTRAINT \S+ (?:UNIQUE|PRIMARY KEY) USING INDEX"),
     _("takes no ADD CONSTRAINT ... USING INDEX")),
    (LazyPattern(r"^ALTER TABLE (\S+) ADD CONSTRAINT .* FOREIGN KEY .* NOT VALID$"),
     _("takes no NOT VALID foreign key (before 18)")),
)


def _refuse_what_partitioned_tables_refuse(plan: Plan, layer: SchemaLayer) -> None:
    partitioned = {quote(t.name): t.name for t in layer.tables.values() if t.partition_by}
    if not partitioned:
        return
    for phase in plan.phases:
        for block in flatten((*phase.upgrade, *phase.downgrade)):
            for statement in getattr(block, "statements", ()):
                if not isinstance(statement, str):
                    continue
                for pattern, refusal in _REFUSED_ON_PARTITIONED:
                    match = pattern.search(statement)
                    if match and match.group(1) in partitioned:
                        raise ScaffoldError(_("%(table)s is partitioned, and PostgreSQL %(refusal)s on a partitioned "
                                              "table; %(change)s is not planned for partitioned tables yet",
                                              table=partitioned[match.group(1)], refusal=refusal, change=plan.change))


def postgresql_name(table: str, columns: tuple[str, ...], label: str) -> str:
    """The name PostgreSQL gives a constraint created without one (makeObjectName): table, columns
    and label joined by _, the longer of table and columns cut first to fit 63 bytes."""
    addition = "_".join(columns)
    available = 63 - len(label) - 1 - (1 if addition else 0)
    table_chars, addition_chars = len(table), len(addition)
    while table_chars + addition_chars > available:
        if table_chars > addition_chars:
            table_chars -= 1
        else:
            addition_chars -= 1
    return "_".join(part for part in (table[:table_chars], addition[:addition_chars], label) if part)


def with_postgresql_names(layer: SchemaLayer) -> SchemaLayer:
    """Unnamed primary keys, foreign keys and unique constraints (a model's, which SQLAlchemy
    creates without a name) named as PostgreSQL names them, so that a plan can drop and re-add them."""
    def named(table: Table) -> Table:
        key = table.primary_key
        if key is not None and key.name is None:
            key = replace(key, name=postgresql_name(table.name, (), "pkey"))
        return replace(table, primary_key=key,
                       foreign_keys=tuple(k if k.name else replace(k, name=postgresql_name(table.name, k.columns, "fkey"))
                                          for k in table.foreign_keys),
                       unique_constraints=tuple(u if u.name else replace(u, name=postgresql_name(table.name, u.columns, "key"))
                                                for u in table.unique_constraints))
    return replace(layer, tables={key: named(table) for key, table in layer.tables.items()})


# shared pieces

def _require(value, option: str, change: str):
    if not value:
        raise ScaffoldError(_("%(change)s needs %(option)s", change=change, option=option))
    return value


def _column(table: Table, name: Optional[str], change: str) -> Column:
    column = table.column(_require(name, "--column", change))
    if column is None:
        raise ScaffoldError(_("%(table)s has no column %(column)r in the database the migrations build",
                              table=table.name, column=name))
    return column


def _key(table: Table) -> str:
    """The single-column primary key that backfill batches walk."""
    if table.primary_key is None or len(table.primary_key.columns) != 1:
        if table.primary_key is None:
            raise ScaffoldError(_("%(table)s has no primary key: batched backfills walk a single-column primary key; "
                                  "add one (an identity column) first", table=table.name))
        raise ScaffoldError(_("%(table)s has the composite key (%(columns)s): batched backfills walk a single-column "
                              "primary key; add one (an identity column) first", table=table.name,
                              columns=", ".join(table.primary_key.columns)))
    return table.primary_key.columns[0]


def _alter(table: str, action: str) -> str:
    return f"ALTER TABLE {quote(table)} {action}"


def _mentions(text: Optional[str], column: str) -> bool:
    return bool(text) and re.search(rf'(?<![\w"]){re.escape(column)}(?![\w"])|"{re.escape(column)}"', text) is not None


def _not_null_through_check(table: str, column: str) -> tuple[Block, ...]:
    """SET NOT NULL without holding ACCESS EXCLUSIVE through a scan: a NOT VALID check is added
    (instant), validated on its own (SHARE UPDATE EXCLUSIVE: reads and writes go on), and then
    SET NOT NULL uses the validated check instead of scanning (PostgreSQL 12+)."""
    check = object_name(table, column, suffix="not_null")
    return (InTransaction((_alter(table, f"ADD CONSTRAINT {quote(check)} CHECK ({quote(column)} IS NOT NULL) NOT VALID"),)),
            Autocommit((_alter(table, f"VALIDATE CONSTRAINT {quote(check)}"),)),
            InTransaction((_alter(table, f"ALTER COLUMN {quote(column)} SET NOT NULL"),
                           _alter(table, f"DROP CONSTRAINT {quote(check)}"))))


def _create_index(table: str, name: str, columns: tuple[str, ...], *, unique: bool = False,
                  using: Optional[str] = None, where: Optional[str] = None) -> Autocommit:
    """Built CONCURRENTLY; a build that failed half-way leaves an INVALID index behind, so a
    re-run drops that one first and keeps a valid one."""
    method = f" USING {using}" if using else ""
    predicate = f" WHERE {where}" if where else ""
    return Autocommit((DropInvalidIndex(name),
                       f"CREATE {'UNIQUE ' if unique else ''}INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON {quote(table)}{method} "
                       f"({columns_sql(columns)}){predicate}"))


def _drop_index(name: str) -> Autocommit:
    return Autocommit((f"DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}",))


def _foreign_key_sql(key: ForeignKey, name: str, columns: tuple[str, ...]) -> str:
    actions = "".join(f" ON {event} {action}" for event, action in (("DELETE", key.on_delete), ("UPDATE", key.on_update))
                      if action and action != "NO ACTION")
    return (f"ADD CONSTRAINT {quote(name)} FOREIGN KEY ({columns_sql(columns)}) REFERENCES "
            f"{quote(key.ref_table)} ({columns_sql(key.ref_columns)}){actions} NOT VALID")


def _inbound_keys(layer: SchemaLayer, table: Table, column: str) -> list[str]:
    return [f"{other.name}.{key.name or ','.join(key.columns)}" for other in layer.tables.values()
            for key in other.foreign_keys if key.ref_table == table.name and column in key.ref_columns]


@dataclass(frozen=True, slots=True)
class _Dependents:
    """The indexes and constraints that PostgreSQL drops together with a column."""

    indexes: tuple[Index, ...]
    unique: tuple[UniqueConstraint, ...]
    foreign_keys: tuple[ForeignKey, ...]
    primary_key: Optional[PrimaryKey] = None  # the column is the table's primary key
    inbound: tuple[tuple[str, ForeignKey], ...] = ()  # (table, key) of foreign keys that reference it


def _dependents(layer: SchemaLayer, table: Table, column: str, change: str, key_allowed: bool = False) -> _Dependents:
    """What must be rebuilt on the column that replaces `column`; refuses what the scaffold
    cannot carry over without changing its meaning. `key_allowed`: the replacement moves a
    single-column primary key and the foreign keys that reference it (a type change)."""
    blockers = []
    single_key = table.primary_key is not None and table.primary_key.columns == (column,)
    if table.primary_key and column in table.primary_key.columns and not (key_allowed and single_key):
        blockers.append(_("it is part of the primary key %(key)s", key=table.primary_key.name) if table.primary_key.name
                        else _("it is part of the primary key"))
    if not (key_allowed and single_key):
        blockers += [_("foreign key %(key)s references it", key=name) for name in _inbound_keys(layer, table, column)]
    blockers += [_("check constraint %(check)s uses it", check=check.name or check.expression) for check in table.check_constraints
                 if _mentions(check.expression, column)]
    indexes = tuple(index for index in table.indexes if column in index.columns or _mentions(index.where, column)
                    or any(expression and _mentions(key, column) for key, expression in zip(index.columns, index.expressions)))
    blockers += [_("index %(index)s uses it in an expression or its WHERE", index=index.name) for index in indexes
                 if any(index.expressions) or _mentions(index.where, column)]
    if blockers:
        raise ScaffoldError(_("cannot %(change)s %(table)s.%(column)s: %(blockers)s. Change those by hand first, then "
                              "scaffold again.", change=change, table=table.name, column=column,
                              blockers=join("; ", blockers)))
    inbound = tuple((other.name, key) for other in layer.tables.values() for key in other.foreign_keys
                    if key.ref_table == table.name and column in key.ref_columns) if key_allowed and single_key else ()
    return _Dependents(indexes, tuple(u for u in table.unique_constraints if column in u.columns),
                       tuple(k for k in table.foreign_keys if column in k.columns),
                       table.primary_key if key_allowed and single_key else None, inbound)


# the column replacement behind rename-column and change-type

@dataclass(frozen=True, slots=True)
class _Replacement:
    """`column` of `table` is replaced by `staging` (added in expand, kept in sync by a trigger,
    backfilled), which ends up named `target` with `target_type`."""

    table: Table
    column: Column
    staging: str
    target: str
    target_type: str
    dependents: _Dependents
    two_way: bool  # rename: old code writes the old column, new code the new one
    rewrites: tuple[tuple[TriggerFunction, str, str], ...] = ()  # trigger functions (body now, body after the contract)
    guard: Optional[str] = None  # stops the revision if a trigger function of the table reads the column unplanned

    @property
    def function(self) -> str:
        return object_name(self.table.name, self.column.name, suffix="sync")

    def final_name(self, name: Optional[str]) -> str:
        """Names that spell the old column name (as a `_`-separated part) spell the new one."""
        if self.target == self.column.name:
            return name or ""
        return re.sub(rf"(?<![^_]){re.escape(self.column.name)}(?![^_])", self.target, name or "")

    def moved(self, columns: tuple[str, ...], to: str) -> tuple[str, ...]:
        """A key's columns with the replaced column's place taken by `to`."""
        return tuple(to if column == self.column.name else column for column in columns)

    def value(self, row: str = "") -> str:
        source = f"{row}{quote(self.column.name)}"
        return source if self.column.type == self.target_type else f"CAST({source} AS {self.target_type})"

    def expand(self, added: Optional[str] = None) -> tuple[Block, ...]:
        """The staging column (or `added`, the old column coming back in the contract's downgrade
        of a rename) and the trigger that keeps the two in step."""
        table, staging, old = quote(self.table.name), f"NEW.{quote(self.staging)}", f"NEW.{quote(self.column.name)}"
        if self.two_way:
            # Whichever column the statement changed wins; an update that changes neither fills
            # the one still empty (the new column before the backfill, or the old one coming
            # back in the contract's downgrade), never empties the other.
            body = (f"  IF TG_OP = 'INSERT' THEN\n"
                    f"    IF {staging} IS NULL THEN {staging} := {old}; ELSE {old} := {staging}; END IF;\n"
                    f"  ELSIF {staging} IS DISTINCT FROM OLD.{quote(self.staging)} THEN\n    {old} := {staging};\n"
                    f"  ELSIF {old} IS DISTINCT FROM OLD.{quote(self.column.name)} THEN\n    {staging} := {old};\n"
                    f"  ELSIF {old} IS NULL THEN\n    {old} := {staging};\n"
                    f"  ELSE\n    {staging} := {old};\n  END IF;\n")
        else:
            body = f"  {staging} := {self.value('NEW.')};\n"
        return (InTransaction((
            _alter(self.table.name, f"ADD COLUMN {quote(added or self.staging)} "
                                    f"{self.column.type if added else self.target_type}"),
            f"CREATE FUNCTION {quote(self.function)}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n{body}  RETURN NEW;\nEND\n$$",
            f"CREATE TRIGGER {quote(self.function)} BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {quote(self.function)}()")),)

    def undo_expand(self) -> tuple[Block, ...]:
        return (InTransaction((f"DROP TRIGGER IF EXISTS {quote(self.function)} ON {quote(self.table.name)}",
                               f"DROP FUNCTION IF EXISTS {quote(self.function)}()",
                               _alter(self.table.name, f"DROP COLUMN IF EXISTS {quote(self.staging)}"))),)

    def backfill(self, batch_size: int) -> tuple[Block, ...]:
        staging = quote(self.staging)
        return (Backfill(self.table.name, _key(self.table), f"{staging} = {self.value()}",
                         f"{staging} IS DISTINCT FROM {self.value()}", batch_size=batch_size, targets=(self.staging,)),)

    def undo_contract(self, batch_size: int) -> tuple[Block, ...]:
        """The contract's downgrade of a rename: the old column comes back beside the new one, kept
        in step by the same two-way trigger, filled, and given back its indexes, constraints, NOT
        NULL and default; the new column keeps its values throughout (the new application, still
        live, reads it) and loses only what the contract built on it. The result is the state the
        backfill left."""
        name, old, new, dependents = self.table.name, self.column.name, self.target, self.dependents
        blocks: list[Block] = [*self.expand(added=old)]
        if self.rewrites:  # the trigger functions read the old column again, as before the contract
            blocks.append(InTransaction(tuple(definition(function, body) for function, body, _after in self.rewrites)))
        blocks += [Backfill(name, _key(self.table), f"{quote(old)} = {quote(new)}",
                                        f"{quote(old)} IS DISTINCT FROM {quote(new)}", batch_size=batch_size, targets=(old,))]
        restoring = {element.name: object_name(element.name or old, suffix="restore")
                     for element in (*dependents.indexes, *dependents.unique)}
        blocks += [_create_index(name, restoring[index.name], index.columns, unique=index.unique, using=index.using)
                   for index in dependents.indexes]
        blocks += [_create_index(name, restoring[unique.name], unique.columns, unique=True) for unique in dependents.unique]
        statements: list[str] = []
        if not self.column.nullable:
            *check_blocks, set_not_null = _not_null_through_check(name, old)
            blocks += check_blocks
            statements += [*set_not_null.statements, _alter(name, f"ALTER COLUMN {quote(new)} DROP NOT NULL")]
        if self.column.server_default:
            statements += [_alter(name, f"ALTER COLUMN {quote(new)} DROP DEFAULT"),
                           _alter(name, f"ALTER COLUMN {quote(old)} SET DEFAULT {self.column.server_default}")]
        statements += [f"DROP INDEX IF EXISTS {quote(self.final_name(index.name))}" for index in dependents.indexes]
        statements += [f"ALTER INDEX {quote(restoring[index.name])} RENAME TO {quote(index.name)}" for index in dependents.indexes]
        statements += [_alter(name, f"DROP CONSTRAINT IF EXISTS {quote(self.final_name(unique.name))}") for unique in dependents.unique]
        statements += [_alter(name, f"ADD CONSTRAINT {quote(unique.name)} UNIQUE USING INDEX {quote(restoring[unique.name])}")
                       for unique in dependents.unique]
        statements += [_alter(name, f"DROP CONSTRAINT IF EXISTS {quote(self.final_name(key.name))}") for key in dependents.foreign_keys]
        statements += [_alter(name, _foreign_key_sql(key, key.name, key.columns)) for key in dependents.foreign_keys]
        if statements:
            blocks.append(InTransaction(tuple(statements)))
        if dependents.foreign_keys:
            blocks.append(Autocommit(tuple(_alter(name, f"VALIDATE CONSTRAINT {quote(key.name)}") for key in dependents.foreign_keys)))
        return tuple(blocks)

    def contract(self) -> tuple[Block, ...]:
        swap, after = self.swap_and_after()
        # A re-run after a failure past the swap (in the validations after it) finds it committed.
        return (Unless(self.swapped(), swap), *after)

    def swap_and_after(self) -> tuple[tuple[Block, ...], tuple[Block, ...]]:
        """The contract's blocks up to and including the swap, and the validations after it."""
        name, staging, dependents = self.table.name, self.staging, self.dependents
        building = {index.name: object_name(index.name or staging, suffix="new") for index in dependents.indexes}
        building.update({unique.name: object_name(unique.name or staging, suffix="new") for unique in dependents.unique})
        blocks: list[Block] = [
            _create_index(name, building[index.name], self.moved(index.columns, staging), unique=index.unique, using=index.using)
            for index in dependents.indexes]
        blocks += [_create_index(name, building[unique.name], self.moved(unique.columns, staging), unique=True)
                   for unique in dependents.unique]
        key_index = object_name(name, staging, suffix="pkey")
        if dependents.primary_key is not None:
            blocks.append(_create_index(name, key_index, (staging,), unique=True))
        statements = [self.guard] if self.guard else []
        # The table's trigger functions that read the old column read the new one from here on.
        statements += [definition(function, rewritten) for function, _now, rewritten in self.rewrites]
        if dependents.inbound:
            # Writers to a referencing table lock it, then the key's table for the FK check: take
            # the locks in that order too, or a concurrent insert and this swap deadlock.
            tables = ", ".join(dict.fromkeys([*(quote(child) for child, _inbound in dependents.inbound), quote(name)]))
            statements.append(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        if not self.column.nullable:
            *check_blocks, set_not_null = _not_null_through_check(name, staging)
            blocks += check_blocks
            statements += set_not_null.statements
        key = dependents.primary_key
        if key is not None:
            # The key moves to the new column: the keys that reference it let go and come back NOT VALID.
            statements += [_alter(child, f"DROP CONSTRAINT {quote(inbound.name)}") for child, inbound in dependents.inbound]
            statements.append(_alter(name, f"DROP CONSTRAINT {quote(key.name)}"))
        statements.append(self._move_sequence())
        statements += [f"DROP TRIGGER {quote(self.function)} ON {quote(name)}", f"DROP FUNCTION {quote(self.function)}()",
                       _alter(name, f"DROP COLUMN {quote(self.column.name)}")]
        if staging != self.target:
            statements.append(_alter(name, f"RENAME COLUMN {quote(staging)} TO {quote(self.target)}"))
        if key is not None:
            statements.append(_alter(name, f"ADD CONSTRAINT {quote(key.name)} PRIMARY KEY USING INDEX {quote(key_index)}"))
            keys_in = [(child, inbound) for child, inbound in dependents.inbound]
            statements += [_alter(child, _foreign_key_sql(replace(inbound, ref_columns=self.moved(inbound.ref_columns, self.target)),
                                                          inbound.name, inbound.columns)) for child, inbound in keys_in]
        if self.column.server_default:
            statements.append(_alter(name, f"ALTER COLUMN {quote(self.target)} SET DEFAULT {self.column.server_default}"))
        statements += [f"ALTER INDEX {quote(building[index.name])} RENAME TO {quote(self.final_name(index.name))}"
                       for index in dependents.indexes]
        statements += [_alter(name, f"ADD CONSTRAINT {quote(self.final_name(unique.name))} UNIQUE "
                                    f"USING INDEX {quote(building[unique.name])}") for unique in dependents.unique]
        keys = [(key, self.final_name(key.name)) for key in dependents.foreign_keys]
        statements += [_alter(name, _foreign_key_sql(key, final, self.moved(key.columns, self.target))) for key, final in keys]
        if self.column.type != self.target_type:
            statements.append(recompile_sql(name))
        blocks.append(InTransaction(tuple(statements)))
        validations = [_alter(name, f"VALIDATE CONSTRAINT {quote(final)}") for _original, final in keys]

        validations += [_alter(child, f"VALIDATE CONSTRAINT {quote(inbound.name)}") for child, inbound in dependents.inbound]
        return tuple(blocks), ((Autocommit(tuple(validations)),) if validations else ())

    def swapped(self) -> str:
        """True once the contract's swap committed: the column has its new type, or the old name is gone."""
        relation = "'" + quote(self.table.name).replace("'", "''") + "'"
        column = lambda name: (f"FROM pg_attribute WHERE attrelid = {relation}::regclass "  # noqa: E731
                               f"AND attname = '{name.replace(chr(39), chr(39) * 2)}' AND NOT attisdropped")
        if self.column.type != self.target_type:
            target_type = self.target_type.replace("'", "''")
            return f"SELECT coalesce((SELECT format_type(atttypid, atttypmod) = '{target_type}' {column(self.target)}), false)"
        return f"SELECT NOT EXISTS (SELECT 1 {column(self.column.name)})"

    def _move_sequence(self) -> str:
        """A serial column's sequence follows the new column (its default and ownership, and its
        type when that is an integer type); nothing happens for a column without one."""
        table, old, staging = self.table.name.replace("'", "''"), self.column.name.replace("'", "''"), quote(self.staging)
        widen = f" AS {self.target_type}" if self.target_type in ("smallint", "integer", "bigint") else ""
        return ("DO $$\nDECLARE\n  sequence_name text := pg_get_serial_sequence("
                f"'{quote(table)}', '{old}');\nBEGIN\n  IF sequence_name IS NOT NULL THEN\n"
                f"    EXECUTE format('ALTER SEQUENCE %s{widen} OWNED BY {quote(self.table.name)}.{staging}', sequence_name);\n"
                f"    EXECUTE format('ALTER TABLE {quote(self.table.name)} ALTER COLUMN {staging} "
                "SET DEFAULT nextval(%L::regclass)', sequence_name);\n  END IF;\nEND\n$$")

    def after_contract(self) -> Table:
        """The table as the contract leaves it."""
        column = replace(self.column, name=self.target, type=self.target_type)
        columns = tuple(column if c.name == self.column.name else c for c in self.table.columns)

        def carried(elements: tuple, dependents: tuple) -> tuple:
            return tuple(replace(e, name=self.final_name(e.name), columns=self.moved(e.columns, self.target))
                         if e in dependents else e for e in elements)

        return replace(self.table, columns=columns, indexes=carried(self.table.indexes, self.dependents.indexes),
                       unique_constraints=carried(self.table.unique_constraints, self.dependents.unique),
                       foreign_keys=carried(self.table.foreign_keys, self.dependents.foreign_keys))


def _replacement_phases(forward: _Replacement, backward: _Replacement, batch_size: int, *, summary: str,
                        new_code: str, old_code: str) -> tuple[Phase, ...]:
    """Expand, backfill and contract of a column replacement. The contract's downgrade runs the
    reverse replacement to the end and then this expand and backfill again, so that each
    downgrade lands exactly on the state its upgrade started from."""
    expand, fill, contract = forward.expand(), forward.backfill(batch_size), forward.contract()
    if forward.guard:  # before anything changes: the contract would find the same trigger
        expand = (InTransaction((forward.guard,)), *expand)
    if forward.two_way:
        # A rename: the new application reads the new column, so it never goes empty again.
        undo_contract = forward.undo_contract(batch_size)
    else:
        swap, after = backward.swap_and_after()
        undo_contract = (Unless(backward.swapped(), backward.expand() + backward.backfill(batch_size) + swap), *after,
                         *expand, *fill)
    return (
        Phase("expand", f"{summary}: expand", old_code, ANY_APP if not forward.two_way else old_code, expand, forward.undo_expand(),
              (_("A trigger keeps %(staging)s in step with %(column)s on every insert and update and the reverse, so old "
                 "and new code can run side by side once the backfill has filled the existing rows.",
                 staging=forward.staging, column=forward.column.name) if forward.two_way else
               _("A trigger keeps %(staging)s in step with %(column)s on every insert and update.",
                 staging=forward.staging, column=forward.column.name),)),
        Phase("backfill", f"{summary}: backfill", EXPAND_REVISION,
              _("%(code)s (every row has %(staging)s now)", code=new_code, staging=forward.staging) if forward.two_way
              else ANY_APP, fill, (),
              (_("Batches by primary-key range, a commit per batch; a re-run skips rows already done."),)),
        Phase("contract", f"{summary}: contract", new_code, new_code, contract, undo_contract,
              (_("Indexes and constraints on %(column)s are rebuilt on the new column before the old one is dropped.",
                 column=forward.column.name),)
              + ((_("The downgrade brings %(column)s back beside %(staging)s, filled, and leaves %(staging)s as it is: "
                    "the application that reads it keeps working.", column=forward.column.name, staging=forward.staging),)
                 if forward.two_way else ())
              + _trigger_notes(forward)),
    )


def _prepared_statements_note(table: str, column: str) -> str:
    return _("A session that prepared a statement returning %(table)s.%(column)s before this step (server-side prepared "
             "statements: PREPARE, psycopg 3 and JDBC after 5 runs, asyncpg always) gets 'cached plan must not change "
             "result type' from it until it reconnects: restart the application right after this step, or run it with "
             "server-side prepared statements off. The table's PL/pgSQL trigger functions are defined again here, "
             "unchanged, so that every session compiles them anew for the new type.", table=table, column=column)


def _trigger_notes(forward: _Replacement) -> tuple[str, ...]:
    notes = []
    if forward.column.type != forward.target_type:
        notes.append(_prepared_statements_note(forward.table.name, forward.column.name))
    notes += [_("%(function)s reads %(column)s: it reads %(target)s from this step on (the downgrade restores it).",
                function=function.described, column=forward.column.name, target=forward.target)
              for function, _now, _after in forward.rewrites]
    if forward.guard:
        notes.append(_("Before it changes anything, each step checks that no other trigger function of %(table)s reads "
                       "%(column)s, and stops with the trigger's name if one does.", table=forward.table.name,
                       column=forward.column.name))
    return tuple(notes)


# one planner per change

def _add_column(request: ChangeRequest, table: Table, layer: SchemaLayer):
    column = _require(request.column, "--column", request.change)
    column_type = _require(request.type, "--type", request.change)
    if table.column(column) is not None:
        raise ScaffoldError(_("%(table)s already has a column %(column)r", table=table.name, column=column))
    value = request.backfill or request.default
    if value is None:
        raise ScaffoldError(_("existing rows of %(table)s need a value for the new NOT NULL column %(column)r: give "
                              "--default (also used for new rows) or --backfill (an SQL expression for existing rows)",
                              table=table.name, column=column))
    drop = (InTransaction((_alter(table.name, f"DROP COLUMN IF EXISTS {quote(column)}"),)),)
    if request.default and not request.backfill and not is_volatile_default(request.default):
        # A constant default is stored once, not written into every row (PostgreSQL 11+): the
        # column arrives filled and NOT NULL in one instant step, so there is nothing to backfill.
        add = _alter(table.name, f"ADD COLUMN {quote(column)} {column_type} DEFAULT {request.default} NOT NULL")
        yield Phase("expand", f"add {table.name}.{column}", ANY_APP, _("code that reads and writes the new column"),
                    (InTransaction((add,)),), drop,
                    (_("A constant default makes this one instant step on PostgreSQL 11 and later: no rewrite, no backfill."),))
        return
    statements = [_alter(table.name, f"ADD COLUMN {quote(column)} {column_type}")]
    if request.default:  # a volatile default would be evaluated for every row: set it for new rows only
        statements.append(_alter(table.name, f"ALTER COLUMN {quote(column)} SET DEFAULT {request.default}"))
    writes = (_("code that writes %(column)s on every insert", column=column) if request.default else
              _("code that writes %(column)s on every insert (the column has no default)", column=column))
    yield Phase("expand", f"add {table.name}.{column}: expand", ANY_APP, writes, (InTransaction(tuple(statements)),), drop)
    yield Phase("backfill", f"add {table.name}.{column}: backfill", writes, ANY_APP,
                (Backfill(table.name, _key(table), f"{quote(column)} = {value}", f"{quote(column)} IS NULL",
                          batch_size=request.batch_size, targets=(column,)),), ())
    yield Phase("contract", f"add {table.name}.{column}: NOT NULL", writes, RELIES_ON_THE_COLUMN,
                _not_null_through_check(table.name, column),
                (InTransaction((_alter(table.name, f"ALTER COLUMN {quote(column)} DROP NOT NULL"),)),))


def _set_not_null(request: ChangeRequest, table: Table, layer: SchemaLayer):
    """Backfill first, with the application that writes values live; the NOT VALID check only in
    the contract (a NOT VALID check is checked on every update of a row, so added earlier it makes
    any update of a row still NULL fail, even one that touches another column)."""
    column = _column(table, request.column, request.change)
    if not column.nullable:
        raise ScaffoldError(_("%(table)s.%(column)s is already NOT NULL", table=table.name, column=column.name))
    name = quote(column.name)
    writes = (_("code that never writes NULL into %(column)s (leaving it out is fine: the default fills it)",
                column=column.name) if request.default else
              _("code that never writes NULL into %(column)s", column=column.name))
    if request.default:
        yield Phase("expand", f"{table.name}.{column.name} NOT NULL: default", ANY_APP, writes,
                    (InTransaction((_alter(table.name, f"ALTER COLUMN {name} SET DEFAULT {request.default}"),)),),
                    (InTransaction((_alter(table.name, f"ALTER COLUMN {name} DROP DEFAULT"),)),),
                    (_("New rows that leave %(column)s out get %(default)s; nothing is scanned.", column=column.name,
                       default=request.default),))
    value = request.backfill or request.default
    if value:
        yield Phase("backfill", f"{table.name}.{column.name} NOT NULL: backfill", writes, writes,
                    (Backfill(table.name, _key(table), f"{name} = {value}", f"{name} IS NULL", batch_size=request.batch_size,
                              targets=(column.name,)),), (),
                    (_("Rows written after the batches must not be NULL again: the application that never writes NULL "
                       "is live before this step and stays."),))
    still_null = f"SELECT count(*) FROM {quote(table.name)} WHERE {name} IS NULL"
    yield Phase("contract", f"{table.name}.{column.name} NOT NULL: contract",
                _("the backfill, with %(code)s", code=writes) if value else writes, RELIES_ON_THE_COLUMN,
                _not_null_through_check(table.name, column.name),
                (InTransaction((_alter(table.name, f"ALTER COLUMN {name} DROP NOT NULL"),)),),
                (_("Rows still NULL make VALIDATE fail; find them with %(query)s.", query=still_null) if not value
                 else _("VALIDATE reads the whole table without blocking writes."),))



def _rename_column(request: ChangeRequest, table: Table, layer: SchemaLayer):
    column = _column(table, request.column, request.change)
    new_name = _require(request.new_name, "--new-name", request.change)
    if table.column(new_name) is not None:
        raise ScaffoldError(_("%(table)s already has a column %(column)r", table=table.name, column=new_name))
    forward = _Replacement(table, column, new_name, new_name, column.type,
                           _dependents(layer, table, column.name, _("rename")), two_way=True)
    rewrites = _trigger_rewrites(layer, table, column, new_name)
    harm = f"the contract drops {column.name} and from then on every insert and update of {table.name} would fail in it"
    forward = replace(forward, rewrites=rewrites, guard=guard_sql(
        table.name, column.name, harm, {function.function.name: digest(body) for function, body, _after in rewrites}, (forward.function,)))
    after = forward.after_contract()
    moved = after.column(new_name)
    backward = _Replacement(after, moved, column.name, column.name, column.type,
                            _dependents(layer, after, new_name, _("rename")), two_way=True)
    yield from _replacement_phases(forward, backward, request.batch_size, summary=f"rename {table.name}.{column.name} to {new_name}",
                                   new_code=_("code that reads and writes %(column)s", column=new_name), old_code=ANY_APP)


def _trigger_rewrites(layer: SchemaLayer, table: Table, column: Column, new_name: str) -> tuple[tuple[TriggerFunction, str, str], ...]:
    """The table's trigger functions that read `column`, each with its body now and as the contract
    leaves it (reading `new_name`); refuses one that cannot be rewritten safely."""
    rewrites = []
    for function in trigger_functions(layer, table):
        body = function.function.body if function.function else None
        if not reads(body, column.name):
            continue
        if function.other_tables:
            raise ScaffoldError(_("cannot rename %(table)s.%(column)s: %(function)s reads it, and triggers of %(others)s "
                                  "run the same function, whose columns keep their names. Give %(table)s a function of "
                                  "its own first, then scaffold again.", table=table.name, column=column.name,
                                  function=function.described, others=", ".join(function.other_tables)))
        rewritten = renamed(body, column.name, new_name)
        if rewritten is None:
            raise ScaffoldError(_("cannot rename %(table)s.%(column)s: %(function)s reads it other than as "
                                  "NEW.%(column)s or OLD.%(column)s (in a query, a string or a comment), which the "
                                  "scaffold does not rewrite; once the contract drops %(column)s every insert and update "
                                  "of %(table)s would fail in it. Change the function by hand in the contract.",
                                  table=table.name, column=column.name, function=function.described))
        rewrites.append((function, body, rewritten))
    return tuple(rewrites)


def _change_type(request: ChangeRequest, table: Table, layer: SchemaLayer):
    from ..schema.type_names import normalize_type

    column = _column(table, request.column, request.change)
    new_type = normalize_type(_require(request.type, "--type", request.change))
    if new_type == column.type:
        raise ScaffoldError(_("%(table)s.%(column)s is already %(type)s", table=table.name, column=column.name,
                              type=column.type))
    if comparable_type(new_type) and comparable_type(column.type) and same_type(new_type, column.type):
        raise ScaffoldError(_("%(table)s.%(column)s is %(type)s, which PostgreSQL stores as %(new_type)s: there is "
                              "nothing to change", table=table.name, column=column.name, type=column.type,
                              new_type=new_type))
    if not type_change_rewrites(column.type, new_type):
        alter = lambda to: InTransaction((_alter(table.name, f"ALTER COLUMN {quote(column.name)} TYPE {to}"),  # noqa: E731
                                          recompile_sql(table.name)))
        yield Phase("expand", f"{table.name}.{column.name} {column.type} to {new_type}", ANY_APP, ANY_APP,
                    (alter(new_type),), (alter(column.type),),
                    (_("%(type)s to %(new_type)s changes only the catalog (no rewrite, no scan): one instant step. "
                       "The downgrade narrows the type back, which scans the table under its lock.", type=column.type,
                       new_type=new_type),
                     _prepared_statements_note(table.name, column.name)))
        return
    if column.identity in ("always", "by default"):
        raise ScaffoldError(_("%(table)s.%(column)s is an identity column, whose sequence cannot move to another "
                              "column; change its type by hand (or make it a serial column first)", table=table.name,
                              column=column.name))
    staging = f"{column.name}_new"
    if table.column(staging) is not None:
        raise ScaffoldError(_("%(table)s already has a column %(column)r (the scaffold's staging column)",
                              table=table.name, column=staging))
    forward = _Replacement(table, column, staging, column.name, new_type,
                           _dependents(layer, table, column.name, _("change the type of"), key_allowed=True), two_way=False)
    after = forward.after_contract()
    backward = _Replacement(after, after.column(column.name), staging, column.name, column.type,
                            _dependents(layer, after, column.name, _("change the type of"), key_allowed=True), two_way=False)
    yield from _replacement_phases(forward, backward, request.batch_size,
                                   summary=f"{table.name}.{column.name} {column.type} to {new_type}",
                                   new_code=_("code that accepts %(column)s as %(type)s", column=column.name, type=new_type),
                                   old_code=ANY_APP)


def _rename_table(request: ChangeRequest, table: Table, layer: SchemaLayer):
    new_name = _require(request.new_name, "--new-name", request.change)
    if layer.table(new_name) is not None:
        raise ScaffoldError(_("a table %(table)r already exists", table=new_name))
    old, new = quote(table.name), quote(new_name)
    # A view over a single table is updatable: old code keeps reading and writing the old name.
    yield Phase("expand", f"rename table {table.name} to {new_name}", ANY_APP, _("code that uses %(table)s", table=new_name),
                (InTransaction((f"ALTER TABLE {old} RENAME TO {new}", f"CREATE VIEW {old} AS SELECT * FROM {new}")),),
                (InTransaction((f"DROP VIEW IF EXISTS {old}", f"ALTER TABLE {new} RENAME TO {old}")),),
                (_("Until the contract, %(table)s is a view of %(new_name)s: selects, inserts, updates and deletes "
                   "through it reach the table. Columns added to the table after this step do not show in the view.",
                   table=table.name, new_name=new_name),))
    yield Phase("contract", f"drop the view {table.name}", _("code that uses %(table)s only", table=new_name), ANY_APP,
                (InTransaction((f"DROP VIEW {old}",)),), (InTransaction((f"CREATE VIEW {old} AS SELECT * FROM {new}",)),))


def _drop_column(request: ChangeRequest, table: Table, layer: SchemaLayer):
    column = _column(table, request.column, request.change)
    dependents = _dependents(layer, table, column.name, _("drop"))
    for function in trigger_functions(layer, table):
        if function.function is not None and reads(function.function.body, column.name):
            raise ScaffoldError(_("cannot drop %(table)s.%(column)s: %(function)s reads it, and PostgreSQL drops a column "
                                  "without checking function bodies: every insert and update of %(table)s would then fail "
                                  "in the trigger. Change the function so that it no longer reads %(column)s first, then "
                                  "scaffold again.", table=table.name, column=column.name, function=function.described))
    guard = guard_sql(table.name, column.name, f"once {column.name} is dropped every insert and update of {table.name} "
                      "would fail in it", {}, ())
    name = quote(column.name)
    stop = _("code that no longer reads or writes %(column)s", column=column.name)
    if not column.nullable and column.server_default is None:
        refill = _require(request.backfill or request.default,
                          _("--default: the value the downgrade gives rows that have none, to make %(column)s NOT NULL "
                            "again (its old values are gone once the column is dropped)", column=column.name),
                          request.change)
        # New code does not write the column: its inserts must not fail on NOT NULL.
        yield Phase("expand", f"drop {table.name}.{column.name}: allow NULL", ANY_APP, stop,
                    (InTransaction((guard, _alter(table.name, f"ALTER COLUMN {name} DROP NOT NULL"))),),
                    (Backfill(table.name, _key(table), f"{name} = {refill}", f"{name} IS NULL", batch_size=request.batch_size,
                              targets=(column.name,)),
                     *_not_null_through_check(table.name, column.name)),
                    (_("The downgrade writes %(value)s into rows that have no %(column)s (those inserted by code that no "
                       "longer writes it, or all of them after the contract's downgrade) before NOT NULL returns.",
                       value=refill, column=column.name),))
    default = f" DEFAULT {column.server_default}" if column.server_default else ""
    not_null = " NOT NULL" if not column.nullable and column.server_default and not is_volatile_default(column.server_default) else ""
    restore: list[Block] = [InTransaction((_alter(table.name, f"ADD COLUMN {name} {column.type}{default}{not_null}"),))]
    restore += [_create_index(table.name, index.name, index.columns, unique=index.unique, using=index.using)
                for index in dependents.indexes]
    restore += [block for unique in dependents.unique for block in (
        _create_index(table.name, unique.name, unique.columns, unique=True),
        InTransaction((_alter(table.name, f"ADD CONSTRAINT {quote(unique.name)} UNIQUE USING INDEX {quote(unique.name)}"),)))]
    restore += [block for key in dependents.foreign_keys for block in (
        InTransaction((_alter(table.name, _foreign_key_sql(key, key.name, key.columns)),)),
        Autocommit((_alter(table.name, f"VALIDATE CONSTRAINT {quote(key.name)}"),)))]
    lost = [*(_("index %(name)s", name=index.name) for index in dependents.indexes),
            *(_("unique constraint %(name)s", name=unique.name) for unique in dependents.unique),
            *(_("foreign key %(name)s", name=key.name) for key in dependents.foreign_keys)]
    dump = f"pg_dump -t {table.name}"
    copy = f"CREATE TABLE {table.name}_{column.name}_backup AS SELECT {_key(table)}, {name} FROM {quote(table.name)}"
    yield Phase("contract", f"drop {table.name}.{column.name}", stop, ANY_APP,
                (InTransaction((guard, _alter(table.name, f"DROP COLUMN {name}"))),), tuple(restore),
                (_("The values of %(column)s are gone after this step; the downgrade brings the column back empty. Keep "
                   "them first if they may be needed: %(dump)s or %(copy)s.", column=column.name, dump=dump, copy=copy),
                 *((_("Dropped with it and rebuilt by the downgrade: %(lost)s.", lost=join(", ", lost)),) if lost else ())))


def _parse_ref(request: ChangeRequest, layer: SchemaLayer) -> tuple[Table, tuple[str, ...]]:
    ref = _require(request.ref, "--ref TABLE.COLUMN", request.change)
    table_name, _dot, columns = ref.partition(".")
    target = layer.table(table_name)
    if target is None or not columns:
        raise ScaffoldError(_("--ref %(ref)r: give an existing table and its column(s), e.g. customers.id or "
                              "parents.id,tenant_id", ref=ref))
    names = tuple(c.strip() for c in columns.split(","))
    missing = [c for c in names if target.column(c) is None]
    if missing:
        raise ScaffoldError(_("%(table)s has no column %(columns)s", table=target.name, columns=", ".join(missing)))
    return target, names


def _key_columns(request: ChangeRequest, table: Table) -> tuple[str, ...]:
    columns = request.columns or ((request.column,) if request.column else ())
    _require(columns, "--column or --columns", request.change)
    for column in columns:
        _column(table, column, request.change)
    return tuple(columns)


def _serves(index_columns: tuple[str, ...], columns: tuple[str, ...]) -> bool:
    return tuple(index_columns[: len(columns)]) == columns


def _on_delete(request: ChangeRequest, table: Table, target: Table, columns: tuple[str, ...]) -> str:
    """The asked policy; else that of an existing key from the same leading column to the same
    table (a composite key replaces or doubles it); else RESTRICT, which behaves as the implicit
    NO ACTION for a key that is not deferred, and says so."""
    if request.on_delete:
        return request.on_delete.upper()
    existing = next((k.on_delete for k in table.foreign_keys if k.ref_table == target.name and k.columns[:1] == columns[:1]), None)
    return existing or "RESTRICT"


def _add_foreign_key(request: ChangeRequest, table: Table, layer: SchemaLayer, *, repair: bool = False):
    columns = _key_columns(request, table)
    target, ref_columns = _parse_ref(request, layer)
    if len(ref_columns) != len(columns):
        raise ScaffoldError(_("%(count)d column(s) reference %(ref_count)d column(s) of %(table)s", count=len(columns),
                              ref_count=len(ref_columns), table=target.name))
    name = request.name or object_name(table.name, *columns, suffix="fkey")
    expand: list[Block] = []
    undo: list[Block] = []
    keyed = [target.primary_key.columns] if target.primary_key else []
    keyed += [u.columns for u in target.unique_constraints] + [i.columns for i in target.indexes if i.unique and not i.where]
    if not any(set(k) == set(ref_columns) for k in keyed):
        # A foreign key needs a unique constraint on exactly the referenced columns.
        unique = object_name(target.name, *ref_columns, suffix="key")
        expand += [_create_index(target.name, unique, ref_columns, unique=True),
                   InTransaction((_alter(target.name, f"ADD CONSTRAINT {quote(unique)} UNIQUE USING INDEX {quote(unique)}"),))]
        undo.insert(0, InTransaction((_alter(target.name, f"DROP CONSTRAINT IF EXISTS {quote(unique)}"),)))
    if not any(_serves(i.columns, columns) for i in table.indexes) and not any(
            _serves(u.columns, columns) for u in table.unique_constraints):
        # Deletes and key updates on the parent look up the children by these columns.
        index = object_name(table.name, *columns, suffix="idx")
        expand.append(_create_index(table.name, index, columns))
        undo.insert(0, _drop_index(index))
    key = ForeignKey(name, columns, target.name, ref_columns, table.location, on_delete=_on_delete(request, table, target, columns))
    expand.append(InTransaction((_alter(table.name, _foreign_key_sql(key, name, columns)),)))
    undo.insert(0, InTransaction((_alter(table.name, f"DROP CONSTRAINT IF EXISTS {quote(name)}"),)))
    described = f"{table.name} ({', '.join(columns)}) -> {target.name} ({', '.join(ref_columns)})"
    writes = _("code that only writes %(columns)s values present in %(table)s", columns=", ".join(columns),
               table=target.name)
    yield Phase("expand", f"foreign key {described}: expand", writes, ANY_APP, tuple(expand), tuple(undo),
                (_("NOT VALID: enforced on new rows at once, existing rows are checked by the contract."),))
    if repair:
        joined = " AND ".join(f"{quote(table.name)}.{quote(c)} = parent.{quote(r)}"
                              for c, r in zip(columns[:1], ref_columns[:1]))
        differs = " OR ".join(f"{quote(table.name)}.{quote(c)} IS DISTINCT FROM parent.{quote(r)}"
                              for c, r in zip(columns[1:], ref_columns[1:]))
        yield Phase("backfill", f"foreign key {described}: repair rows", EXPAND_REVISION, ANY_APP,
                    (Backfill(table.name, _key(table), ", ".join(f"{quote(c)} = parent.{quote(r)}" for c, r in zip(columns[1:], ref_columns[1:])),
                              f"{joined} AND ({differs})", source=f"{quote(target.name)} AS parent", batch_size=request.batch_size,
                              targets=columns[1:]),), (),
                    (_("Rows whose %(columns)s disagrees with their %(table)s row take the parent's value: the parent is "
                       "the source of truth.", columns=", ".join(columns[1:]), table=target.name),))
    orphans = (f"SELECT count(*) FROM {quote(table.name)} c WHERE {' AND '.join(f'c.{quote(x)} IS NOT NULL' for x in columns)} "
               f"AND NOT EXISTS (SELECT 1 FROM {quote(target.name)} p WHERE "
               + " AND ".join(f"p.{quote(r)} = c.{quote(x)}" for x, r in zip(columns, ref_columns)) + ")")
    yield Phase("contract", f"foreign key {described}: validate",
                _("the expand revision and the repair") if repair else EXPAND_REVISION,
                ANY_APP, (Autocommit((_alter(table.name, f"VALIDATE CONSTRAINT {quote(name)}"),)),), (),
                (_("Orphan rows make VALIDATE fail; count them first: %(query)s.", query=orphans),
                 _("VALIDATE reads both tables holding SHARE UPDATE EXCLUSIVE / ROW SHARE: reads and writes go on.")))



def _add_composite_foreign_key(request: ChangeRequest, table: Table, layer: SchemaLayer):
    if len(_key_columns(request, table)) < 2:
        raise ScaffoldError(_("add-composite-fk needs --columns with the parent key and the redundant key, e.g. "
                              "--columns order_id,customer_id --ref orders.id,customer_id"))
    yield from _add_foreign_key(request, table, layer, repair=True)


def _add_unique(request: ChangeRequest, table: Table, layer: SchemaLayer):
    columns = _key_columns(request, table)
    name = request.name or object_name(table.name, *columns, suffix="key")
    if table.partition_by:
        yield from _add_unique_partitioned(table, layer, name, columns)
        return
    duplicates = (f"SELECT {columns_sql(columns)}, count(*) FROM {quote(table.name)} GROUP BY {columns_sql(columns)} "
                  "HAVING count(*) > 1")
    yield Phase("expand", f"unique {table.name} ({', '.join(columns)}): build the index", ANY_APP, ANY_APP,
                (_create_index(table.name, name, columns, unique=True),), (_drop_index(name),),
                (_("Duplicates make the build fail and leave an INVALID index (a re-run drops it); find them first: "
                   "%(query)s.", query=duplicates),))
    yield Phase("contract", f"unique {table.name} ({', '.join(columns)}): constraint", ANY_APP, ANY_APP,
                (InTransaction((_alter(table.name, f"ADD CONSTRAINT {quote(name)} UNIQUE USING INDEX {quote(name)}"),)),),
                (InTransaction((_alter(table.name, f"DROP CONSTRAINT {quote(name)}"),)),
                 _create_index(table.name, name, columns, unique=True)),
                (_("USING INDEX makes the constraint from the built index without another scan."),))


def _add_check(request: ChangeRequest, table: Table, layer: SchemaLayer):
    expression = _require(request.check, "--check SQL", request.change)
    name = request.name or object_name(table.name, request.column or "value", suffix="check")
    writes = _("code that only writes rows satisfying %(check)s", check=expression)
    yield Phase("expand", f"check {name}: expand", writes, ANY_APP,
                (InTransaction((_alter(table.name, f"ADD CONSTRAINT {quote(name)} CHECK ({expression}) NOT VALID"),)),),
                (InTransaction((_alter(table.name, f"DROP CONSTRAINT IF EXISTS {quote(name)}"),)),),
                (_("NOT VALID: enforced on new and updated rows at once, without scanning the table."),))
    breaking = f"SELECT * FROM {quote(table.name)} WHERE NOT ({expression})"
    yield Phase("contract", f"check {name}: validate", EXPAND_REVISION, ANY_APP,
                (Autocommit((_alter(table.name, f"VALIDATE CONSTRAINT {quote(name)}"),)),), (),
                (_("Rows that break it make VALIDATE fail; find them with %(query)s.", query=breaking),))


def _add_index(request: ChangeRequest, table: Table, layer: SchemaLayer):
    columns = _key_columns(request, table)
    name = request.name or object_name(table.name, *columns, suffix="idx")
    if any(index.name == name for index in table.indexes):
        raise ScaffoldError(_("%(table)s already has an index %(index)r", table=table.name, index=name))
    if table.partition_by:
        yield _add_index_partitioned(table, layer, name, columns, using=request.using, where=request.where)
        return
    yield Phase("expand", f"index {name}", ANY_APP, ANY_APP,
                (_create_index(table.name, name, columns, using=request.using, where=request.where),), (_drop_index(name),),
                (_("CONCURRENTLY: reads and writes go on while the index is built."),))


# partitioned tables: PostgreSQL builds no index CONCURRENTLY on a partitioned table and takes no
# ADD CONSTRAINT ... USING INDEX there (tested on 16: both refused). Each partition's index is
# built concurrently instead; a partitioned index made ON ONLY the parent then adopts them
# (ALTER INDEX ... ATTACH PARTITION), and a constraint added to the parent adopts the
# partitions' own constraints (made USING INDEX) without building anything.

def _partitions(table: Table, layer: SchemaLayer) -> list[Table]:
    """The partitions the migrations create for `table` (one level: sub-partitioning is refused)."""
    partitions = sorted((t for t in layer.tables.values() if t.partition_of == table.name and t.schema == table.schema),
                        key=lambda t: t.name)
    nested = [p.name for p in partitions if p.partition_by]
    if nested:
        raise ScaffoldError(_("%(partitions)s of %(table)s are partitioned again; the scaffold plans one level of "
                              "partitions: index each leaf partition concurrently by hand", partitions=", ".join(nested),
                              table=table.name))
    return partitions


def _partition_key(table: Table) -> Optional[tuple[str, ...]]:
    """The partition key's columns ("RANGE (collected_date)" -> ("collected_date",)), None when it has an expression."""
    match = re.fullmatch(r"\s*\w+\s*\((.*)\)\s*", table.partition_by or "")
    parts = [part.strip().strip('"') for part in match.group(1).split(",")] if match else []
    if not parts or not all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", part) for part in parts):
        return None
    return tuple(parts)


def _partitions_guard(table: Table, partitions: list[Table]) -> str:
    """Stops the revision when the database has other partitions than the migrations create (one
    made at run time would get its index built under the parent's lock, or never)."""
    names = ", ".join("'" + p.name.replace("'", "''") + "'" for p in partitions)
    relation = "'" + quote(table.name).replace("'", "''") + "'"
    return (f"DO $$\nBEGIN\n  IF (SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname::text), '{{}}') "
            f"FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = {relation}::regclass) "
            f"<> ARRAY[{names}]::text[] THEN\n"
            f"    RAISE EXCEPTION 'the partitions of {table.name} are not the ones the migrations create ({', '.join(p.name for p in partitions).replace(chr(39), '')}): "
            "index the others too, then run this revision again';\n  END IF;\nEND $$")


def _partition_index_name(partition: Table, columns: tuple[str, ...], suffix: str) -> str:
    name = object_name(partition.name, *columns, suffix=suffix)
    if any(index.name == name for index in partition.indexes) or any(u.name == name for u in partition.unique_constraints):
        raise ScaffoldError(_("partition %(partition)s already has an index %(index)r", partition=partition.name, index=name))
    return name


def _add_unique_partitioned(table: Table, layer: SchemaLayer, name: str, columns: tuple[str, ...]):
    key = _partition_key(table)
    if key is None or not set(key) <= set(columns):
        raise ScaffoldError(_("%(table)s is partitioned by %(key)s: PostgreSQL requires every column of the partition "
                              "key in a unique constraint on it; add %(columns)s to the columns", table=table.name,
                              key=table.partition_by, columns=", ".join(key) if key else _("the key")))
    partitions = _partitions(table, layer)
    names = [_partition_index_name(p, columns, "key") for p in partitions]
    guard = InTransaction((_partitions_guard(table, partitions),))
    described = f"unique {table.name} ({', '.join(columns)})"
    duplicates = (f"SELECT {columns_sql(columns)}, count(*) FROM {quote(table.name)} GROUP BY {columns_sql(columns)} "
                  "HAVING count(*) > 1")
    yield Phase("expand", f"{described}: build the partitions' indexes", ANY_APP, ANY_APP,
                (guard, *(_create_index(p.name, n, columns, unique=True) for p, n in zip(partitions, names))),
                tuple(_drop_index(n) for n in names),
                (_("%(table)s is partitioned, and PostgreSQL builds no index concurrently on a partitioned table: each "
                   "partition's unique index is built CONCURRENTLY instead.", table=table.name),
                 _("Duplicates make a build fail and leave an INVALID index (a re-run drops it); find them first: "
                   "%(query)s.", query=duplicates)))

    attach = tuple(_alter(p.name, f"ADD CONSTRAINT {quote(n)} UNIQUE USING INDEX {quote(n)}") for p, n in zip(partitions, names))
    yield Phase("contract", f"{described}: constraint", ANY_APP, ANY_APP,
                # The partitioned table first, then its partitions (LOCK TABLE recurses): the order
                # inserts take them. Locking a partition first deadlocks with a concurrent insert.
                (InTransaction((_partitions_guard(table, partitions), f"LOCK TABLE {quote(table.name)} IN ACCESS EXCLUSIVE MODE",
                                *attach, _alter(table.name, f"ADD CONSTRAINT {quote(name)} UNIQUE ({columns_sql(columns)})"))),),
                (InTransaction((_alter(table.name, f"DROP CONSTRAINT {quote(name)}"),)),
                 *(_create_index(p.name, n, columns, unique=True) for p, n in zip(partitions, names))),
                (_("Each partition's index becomes its constraint (USING INDEX); the constraint on the partitioned table "
                   "then adopts them without building or scanning anything."),))


def _add_index_partitioned(table: Table, layer: SchemaLayer, name: str, columns: tuple[str, ...], *,
                           using: Optional[str], where: Optional[str]) -> Phase:
    partitions = _partitions(table, layer)
    names = [_partition_index_name(p, columns, "idx") for p in partitions]
    method = f" USING {using}" if using else ""
    predicate = f" WHERE {where}" if where else ""
    valid = (f"DO $$\nBEGIN\n  IF NOT (SELECT indisvalid FROM pg_index WHERE indexrelid = '{quote(name)}'::regclass) THEN\n"
             f"    RAISE EXCEPTION 'index {name} is not valid: a partition of {table.name} has no attached index';\n"
             "  END IF;\nEND $$")
    upgrade = (InTransaction((_partitions_guard(table, partitions),
                              f"CREATE INDEX IF NOT EXISTS {quote(name)} ON ONLY {quote(table.name)}{method} "
                              f"({columns_sql(columns)}){predicate}")),
               *(_create_index(p.name, n, columns, using=using, where=where) for p, n in zip(partitions, names)),
               InTransaction((*(f"ALTER INDEX {quote(name)} ATTACH PARTITION {quote(n)}" for n in names), valid)))
    return Phase("expand", f"index {name}", ANY_APP, ANY_APP, upgrade,
                 (InTransaction((f"DROP INDEX IF EXISTS {quote(name)}",)),),
                 (_("%(table)s is partitioned, and PostgreSQL builds no index concurrently on a partitioned table: the "
                    "index is made ON ONLY the partitioned table (no build), each partition's index is built CONCURRENTLY "
                    "and attached; the index is valid once every partition has one.", table=table.name),
                  _("The downgrade drops the partitioned index with its partitions' indexes (a partitioned index cannot "
                    "be dropped concurrently): a brief ACCESS EXCLUSIVE on each.")))



PLANNERS: dict[str, Callable] = {
    "add-column": _add_column,
    "set-not-null": _set_not_null,
    "rename-column": _rename_column,
    "rename-table": _rename_table,
    "change-type": _change_type,
    "add-foreign-key": _add_foreign_key,
    "add-unique": _add_unique,
    "add-check": _add_check,
    "add-index": _add_index,
    "drop-column": _drop_column,
    "add-composite-fk": _add_composite_foreign_key,
}


@dataclass(frozen=True, slots=True)
class ChangeHelp:
    """What `scaffold CHANGE --help` says: what the change does, what it asks, an example."""

    summary: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    example: str


HELP: dict[str, ChangeHelp] = {
    "add-column": ChangeHelp(_("a NOT NULL column: added nullable, backfilled in batches, then NOT NULL through a validated "
                             "check (one instant step with a constant --default)"), ("table", "column", "type"),
                             ("default", "backfill", "batch-size", "backfill-triggers"),
                             "schemalens scaffold add-column --table orders --column channel --type text --default \"'web'\""),
    "set-not-null": ChangeHelp(_("NOT NULL on an existing column: optional default, backfill with the application that "
                               "writes values live, then a validated check and SET NOT NULL"), ("table", "column"),
                               ("default", "backfill", "batch-size", "backfill-triggers"),
                               "schemalens scaffold set-not-null --table orders --column amount --backfill 0"),
    "rename-column": ChangeHelp(_("a new column kept in step both ways by a trigger, backfilled; the new application "
                                "after the backfill; the old column dropped last"), ("table", "column", "new-name"),
                                ("batch-size", "backfill-triggers", "dsn"),
                                "schemalens scaffold rename-column --table orders --column status --new-name state"),
    "rename-table": ChangeHelp(_("the table renamed behind an updatable view with the old name, the view dropped once the "
                               "application uses the new name"), ("table", "new-name"), (),
                               "schemalens scaffold rename-table --table customers --new-name clients"),
    "change-type": ChangeHelp(_("a column of the new type kept in step by a trigger, backfilled, then swapped in with its "
                              "indexes and constraints (also a single-column primary key and the keys that reference it)"),
                              ("table", "column", "type"), ("batch-size", "backfill-triggers", "dsn"),
                              "schemalens scaffold change-type --table orders --column id --type bigint"),
    "add-foreign-key": ChangeHelp(_("the key added NOT VALID (with an index on the referencing columns), then validated"),
                                  ("table", "column or --columns", "ref"), ("on-delete", "name"),
                                  "schemalens scaffold add-foreign-key --table orders --column customer_id --ref customers.id"),
    "add-unique": ChangeHelp(_("a unique index built concurrently, then made the constraint USING INDEX"),
                             ("table", "column or --columns"), ("name",),
                             "schemalens scaffold add-unique --table customers --column email"),
    "add-check": ChangeHelp(_("the check added NOT VALID, then validated"), ("table", "check"), ("column", "name"),
                            "schemalens scaffold add-check --table orders --column qty --check 'qty > 0'"),
    "add-index": ChangeHelp(_("an index built concurrently"), ("table", "column or --columns"), ("where", "using", "name"),
                            "schemalens scaffold add-index --table orders --columns customer_id,created_at"),
    "drop-column": ChangeHelp(_("NOT NULL dropped first (the new application stops writing it), then the column"),
                              ("table", "column"), ("default", "dsn"),
                              "schemalens scaffold drop-column --table orders --column legacy_code --default \"''\""),
    "add-composite-fk": ChangeHelp(_("a composite key that keeps a redundant column consistent: rows repaired from the "
                                   "parent, then the key validated"), ("table", "columns", "ref"), ("on-delete", "name"),
                                   "schemalens scaffold add-composite-fk --table order_lines --columns order_id,customer_id "
                                   "--ref orders.id,customer_id"),
}
