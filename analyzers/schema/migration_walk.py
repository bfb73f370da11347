"""Walk the migration steps in replay order, knowing for each operation what the database looked
like just before it: whether its table already existed (created by an earlier step, so it may
hold rows), the column's type before a type change, whether a transaction is open, and which
entry of the PostgreSQL lock knowledge base (`pg/locks.py`) the operation is.

The migration-safety rules (SL5xx) read this instead of each re-tracking the replay.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from ..pg.function_volatility import is_volatile_expression
from ..pg.locks import EFFECTS, LockEffect
from . import operations as ops
from .drift import UNKNOWN
from .model import CheckConstraint, ForeignKey, PrimaryKey, UniqueConstraint, table_key
from .replay import postgres_constraint_name
from .type_names import SERIAL_TYPES, normalize_type
from ..lazy_pattern import LazyPattern

_VARCHAR = LazyPattern(r"^character varying(?:\((\d+)\))?$")
_NUMERIC = LazyPattern(r"^numeric(?:\((\d+)(?:,\s*(\d+))?\))?$")
_FRACTIONAL_SECONDS = LazyPattern(r"^(timestamp|time)(?:\((\d)\))?( with(?:out)? time zone)?$")


@dataclass(frozen=True, slots=True)
class WalkedOperation:
    step_number: int
    step: ops.Step
    operation: ops.Operation
    table: Optional[str]  # the table the operation is on (for DROP INDEX in SQL: found from the index)
    existing: bool  # the operation's table was created by an earlier step
    in_transaction: bool
    created_at: Optional[ops.Location] = None  # where an earlier step created the table
    type_before: Optional[str] = None  # AlterColumn: the column's type before the change
    partitioned: bool = False
    constraint_before: Optional[object] = None  # DropConstraint/ValidateConstraint: the constraint, when a step added it
    nullable_before: Optional[bool] = None  # AlterColumn: whether the column allowed NULL before; None: unknown
    default_before: Optional[bool] = None  # AlterColumn: whether the column had a server default before; None: unknown
    references: tuple[str, ...] = ()  # DropTable: the tables its foreign keys reference (keys), as far as known
    # DropColumn IF EXISTS of a column the table, created by an earlier step with every column
    # read, does not have: a no-op on a database these migrations built (onyx's drift cleanup)
    column_absent: bool = False
    # lock_effects once known: a dozen rules ask for them on every audit, and the walk is kept
    # across audits while the migrations do not change
    known_lock_effects: Optional[tuple[LockEffect, ...]] = field(default=None, compare=False, repr=False)

    @property
    def lock_effects(self) -> tuple[LockEffect, ...]:
        if self.known_lock_effects is None:
            object.__setattr__(self, "known_lock_effects", tuple(EFFECTS[key] for key in lock_effect_keys(self)))
        return self.known_lock_effects

    @property
    def earlier_in_step(self) -> tuple[ops.Operation, ...]:
        """The operations of its step before it."""
        return self.step.operations[:self._position()]

    @property
    def later_in_step(self) -> tuple[ops.Operation, ...]:
        """The operations of its step after it."""
        return self.step.operations[self._position() + 1:]

    def _position(self) -> int:
        """Where the operation is in its step: found by identity (the walk hands out the step's own
        objects), where `operations.index` compared it with each one before it, field by field."""
        return next(index for index, other in enumerate(self.step.operations) if other is self.operation)


def is_volatile_default(expression: Optional[str]) -> bool:
    """A default PostgreSQL computes per row (a volatile or unknown function): adding a column
    with it rewrites the table. now() and CURRENT_TIMESTAMP are stable; see pg/function_volatility.py.
    A default a revision computes in Python (UNKNOWN) is written as a literal: a constant."""
    return expression != UNKNOWN and is_volatile_expression(expression)


def type_change_rewrites(before: Optional[str], after: str, using: Optional[str] = None,
                         column: Optional[str] = None, utc_session: bool = False) -> bool:
    """Whether ALTER COLUMN TYPE from `before` to `after` rewrites the table (PostgreSQL 12+).

    Binary-compatible changes do not: a longer or unbounded varchar, varchar to text, text or
    varchar to citext and back (to a varchar without length), a wider numeric with the same
    scale, a timestamp or time with more digits of the second, and, in a session whose time zone
    is UTC (`utc_session`), timestamp to timestamptz or back when the new type has no precision
    written (PostgreSQL drops the conversion then). A USING clause that is the column
    itself, or the column cast to the new type, changes nothing (PostgreSQL reduces it to the
    plain change); any other USING rewrites. Anything unknown is assumed to rewrite.
    """
    if using and column and _uses_only_the_column(using, column, after):
        using = None
    if before is None:
        return True
    if before == after and not using:
        return False
    if using:
        return True
    if after == "text" and (before == "text" or _VARCHAR.match(before)):
        return False
    old_varchar, new_varchar = _VARCHAR.match(before), _VARCHAR.match(after)
    if "citext" in (before, after):
        # the citext extension casts from text and varchar, and to them, WITHOUT FUNCTION (binary);
        # a length on the new varchar is checked on every row (warehouse: varchar -> citext)
        return not (after == "citext" and (before == "text" or old_varchar)
                    or before == "citext" and (after == "text" or new_varchar and new_varchar.group(1) is None))
    if (old_varchar or before == "text") and new_varchar:
        if new_varchar.group(1) is None:
            return False
        return before == "text" or old_varchar.group(1) is None or int(new_varchar.group(1)) < int(old_varchar.group(1))
    old_clock, new_clock = _FRACTIONAL_SECONDS.match(before), _FRACTIONAL_SECONDS.match(after)
    if old_clock and new_clock and (old_clock.group(1), old_clock.group(3)) == (new_clock.group(1), new_clock.group(3)):
        # more digits of the second (6 when unwritten) keep every value as it is stored
        return int(new_clock.group(2) or 6) < int(old_clock.group(2) or 6)
    if old_clock and new_clock and old_clock.group(1) == new_clock.group(1) == "timestamp" and utc_session:
        # the conversion is dropped at UTC; a precision written on the new type is applied to every row
        return new_clock.group(2) is not None
    old_numeric, new_numeric = _NUMERIC.match(before), _NUMERIC.match(after)
    if old_numeric and new_numeric:
        if new_numeric.group(1) is None:
            return False
        if old_numeric.group(1) is None:
            return True
        same_scale = (old_numeric.group(2) or "0") == (new_numeric.group(2) or "0")
        return not (same_scale and int(new_numeric.group(1)) >= int(old_numeric.group(1)))
    return True


@functools.lru_cache(maxsize=4096)  # every audit asks again about the same ALTERs
def _uses_only_the_column(using: str, column: str, after: str) -> bool:
    """`USING column`, `USING column::new_type` or `USING CAST(column AS new_type)`."""
    import pglast
    from pglast import ast as pg_ast

    try:
        expression = pglast.parse_sql(f"SELECT {using}")[0].stmt.targetList[0].val
    except Exception:  # not an expression PostgreSQL reads: assume a real conversion
        return False
    if isinstance(expression, pg_ast.TypeCast):
        if normalize_type(_deparse_type(expression.typeName)) != after:
            return False
        expression = expression.arg
    return isinstance(expression, pg_ast.ColumnRef) and [getattr(f, "sval", None) for f in expression.fields] == [column]


_UTC_ZONES = frozenset({"UTC", "ETC/UTC", "GMT", "ETC/GMT", "UCT", "UNIVERSAL", "ZULU", "Z", "0", "+0", "+00", "+00:00"})


def _utc_session(walked: WalkedOperation) -> bool:
    """Whether the step set its session's time zone to UTC before the operation (lemmy's
    `SET timezone = 'UTC'` before turning its timestamps into timestamptz)."""
    zone = None
    for operation in walked.earlier_in_step:
        if isinstance(operation, ops.SetParameter) and operation.name.lower() == "timezone":
            zone = (operation.value or "").strip().upper()
    return zone in _UTC_ZONES


def _deparse_type(type_name) -> str:
    from pglast.stream import RawStream

    return RawStream()(type_name)


def lock_effect_keys(walked: WalkedOperation) -> tuple[str, ...]:
    """The lock knowledge base entries for one operation (an ALTER COLUMN may be several)."""
    operation = walked.operation
    if isinstance(operation, ops.AlterColumn):
        return _alter_column_keys(operation, walked.type_before, _utc_session(walked))
    key = _lock_effect_key(walked)
    return (key,) if key else ()


def _alter_column_keys(operation: ops.AlterColumn, type_before: Optional[str], utc_session: bool = False) -> tuple[str, ...]:
    keys = []
    if operation.type is not None and operation.type != type_before:
        rewrites = type_change_rewrites(type_before, operation.type, operation.using, operation.column, utc_session)
        keys.append("alter-type-rewrite" if rewrites else
                    "alter-type-using-the-column" if operation.using else "alter-type-binary-compatible")
    if operation.nullable is not None:
        keys.append("drop-not-null" if operation.nullable else "set-not-null")
    if operation.new_name is not None:
        keys.append("rename-column")
    if operation.server_default is not None:
        keys.append("set-default")
    return tuple(keys)


def _lock_effect_key(walked: WalkedOperation) -> Optional[str]:
    operation = walked.operation
    match operation:
        case ops.CreateTable():
            has_fk = any(isinstance(c, ForeignKey) for c in operation.constraints)
            return "create-table-with-foreign-key" if has_fk else "create-table"
        case ops.DropTable():
            return "drop-table-with-foreign-key" if walked.references else "drop-table"
        case ops.RenameTable():
            return "rename-table"
        case ops.AddColumn():
            column = operation.column
            if column.generated is not None:
                return "add-column-generated-stored"
            if (is_volatile_default(column.server_default) or column.type in SERIAL_TYPES
                    or column.identity in ("always", "by default", "serial")):
                return "add-column-volatile-default"
            return "add-column-constant-default" if column.server_default else "add-column"
        case ops.DropColumn():
            return "drop-column"
        case ops.CreateIndex():
            if walked.partitioned:
                return "create-index-partitioned"
            return "create-index-concurrently" if operation.index.concurrently else "create-index"
        case ops.DropIndex():
            return "drop-index-concurrently" if operation.concurrently else "drop-index"
        case ops.AddConstraint():
            constraint = operation.constraint
            if isinstance(constraint, ForeignKey):
                return "add-foreign-key-not-valid" if constraint.not_valid else "add-foreign-key"
            if isinstance(constraint, CheckConstraint):
                return "add-check-not-valid" if constraint.not_valid else "add-check"
            if isinstance(constraint, PrimaryKey):
                return "add-primary-key"
            if isinstance(constraint, UniqueConstraint):
                return "add-unique"
            return None
        case ops.AddConstraintUsingIndex():
            return "add-primary-key-using-index" if operation.primary else "add-unique-using-index"
        case ops.ValidateConstraint():
            return "validate-foreign-key" if isinstance(walked.constraint_before, ForeignKey) else "validate-check"
        case ops.DropConstraint():
            return "drop-foreign-key" if dropped_constraint_kind(walked) == "foreignkey" else "drop-constraint"

        case ops.AttachPartition():
            return "attach-partition"
        case ops.DetachPartition():
            return "detach-partition-concurrently" if operation.concurrently else "detach-partition"
        case ops.AddEnumValue():
            return "add-enum-value"
        case ops.DataChange(kind="TRUNCATE"):
            return "truncate-cascade" if operation.cascade else "truncate"
        case ops.Maintenance(kind="REINDEX"):
            return "reindex-concurrently" if operation.concurrently else "reindex"
        case ops.CreateTrigger():
            return "create-trigger"
        case ops.UnsupportedStatement(kind="ALTER TABLE DISABLE TRIGGER" | "ALTER TABLE ENABLE TRIGGER"):
            return "disable-trigger"
        case ops.UnsupportedStatement(kind="ADD EXCLUSION CONSTRAINT"):
            return "add-exclusion-constraint"
        case ops.UnsupportedStatement(kind="ALTER COLUMN DROP EXPRESSION"):
            return "drop-expression"
        case ops.UnsupportedStatement(kind="ALTER DOMAIN VALIDATE CONSTRAINT"):
            return "alter-domain-validate-constraint"
        case ops.UnsupportedStatement(kind="ALTER DOMAIN SET NOT NULL"):
            return "alter-domain-set-not-null"
        case ops.UnsupportedStatement(kind="ALTER DOMAIN ADD CONSTRAINT"):
            not_valid = (operation.detail or "").endswith("NOT VALID")
            return "alter-domain-add-constraint-not-valid" if not_valid else "alter-domain-add-constraint"
        case ops.Maintenance(kind="VACUUM FULL"):
            return "vacuum-full"
        case ops.Maintenance(kind="CLUSTER"):
            return "cluster"
        case ops.Maintenance(kind="REFRESH MATERIALIZED VIEW"):
            return "refresh-materialized-view-concurrently" if operation.concurrently else "refresh-materialized-view"
    return None


def dropped_constraint_kind(walked: WalkedOperation) -> Optional[str]:
    """"foreignkey", "unique", "check" or "primary" for a DROP CONSTRAINT: the constraint an
    earlier step added, else Alembic's `type_`, else PostgreSQL's default name suffix; or None."""
    constraint = walked.constraint_before
    if constraint is not None:
        return {ForeignKey: "foreignkey", UniqueConstraint: "unique", CheckConstraint: "check",
                PrimaryKey: "primary"}.get(type(constraint))
    kind = getattr(walked.operation, "kind", None)
    if kind:
        return kind.lower()
    name = walked.operation.name or ""
    return next((kind for suffix, kind in (("_fkey", "foreignkey"), ("_pkey", "primary"), ("_key", "unique"),
                                           ("_check", "check")) if name.endswith(suffix)), None)


# The walk keeps what it knows before every this-many-th step (`checkpoints`): an edit of one
# migration walks again from the last such step before it, not from the first.
CHECKPOINT_EVERY = 100


@dataclass
class WalkState:
    """What the walk knows of the database before a step."""

    created: dict[str, tuple[int, ops.Location]] = field(default_factory=dict)  # table key -> (step, where)
    index_tables: dict[str, str] = field(default_factory=dict)  # index name -> table key
    partitioned: set[str] = field(default_factory=set)
    column_types: dict[tuple[str, str], str] = field(default_factory=dict)
    constraints: dict[tuple[str, str], object] = field(default_factory=dict)  # (table key, constraint name) -> the constraint
    nullable: dict[tuple[str, str], bool] = field(default_factory=dict)  # (table key, column) -> allows NULL
    defaults: dict[tuple[str, str], bool] = field(default_factory=dict)  # (table key, column) -> has a server default
    references: dict[str, dict[object, str]] = field(default_factory=dict)  # table key -> {its foreign key: the referenced table's key}
    emptied: dict[str, int] = field(default_factory=dict)  # table key -> the step that deleted all its rows (DELETE without WHERE, TRUNCATE)
    partly_read: set[str] = field(default_factory=set)  # tables created with columns built at run time

    def copy(self) -> "WalkState":
        return WalkState(dict(self.created), dict(self.index_tables), set(self.partitioned), dict(self.column_types),
                         dict(self.constraints), dict(self.nullable), dict(self.defaults),
                         {key: dict(references) for key, references in self.references.items()}, dict(self.emptied),
                         set(self.partly_read))


def walk_migrations(steps: tuple[ops.Step, ...],
                    in_transaction_of: Callable[[str], bool] = lambda path: path.endswith(".py"), *, start: int = 0,
                    state: Optional[WalkState] = None,
                    checkpoints: Optional[dict[int, WalkState]] = None,
                    sent_whole: frozenset[str] = frozenset()) -> Iterator[WalkedOperation]:
    """Every operation of every step, in replay order, with what was true just before it.

    A step runs in a transaction when `in_transaction_of(path)` says so: an Alembic revision
    unless its environment connects in AUTOCOMMIT (autocommit_block() leaves the transaction), a
    SQL file when its folder's tool wraps it (see workspace/migration_tools.py); else only
    between an explicit BEGIN and COMMIT. A file in `sent_whole` is one query (Prisma): what
    follows its COMMIT runs in the next implicit transaction PostgreSQL opens.

    From step `start` on, with `state` (what was true before it, which the walk changes) when
    given; `checkpoints`, when given, receives a copy of the state before every CHECKPOINT_EVERY-th
    step.
    """
    state = state if state is not None else WalkState()
    created, index_tables, partitioned = state.created, state.index_tables, state.partitioned
    column_types, constraints, nullable, defaults = state.column_types, state.constraints, state.nullable, state.defaults
    references, emptied = state.references, state.emptied
    for number in range(start, len(steps)):
        if checkpoints is not None and number % CHECKPOINT_EVERY == 0:
            checkpoints[number] = state.copy()
        step = steps[number]
        in_transaction = in_transaction_of(step.path)
        for operation in step.operations:
            key = _table_key_of(operation)
            if key is None and isinstance(operation, ops.DropIndex):
                key = index_tables.get(operation.name)
            type_before = constraint_before = nullable_before = default_before = None
            if isinstance(operation, ops.AlterColumn) and key is not None:
                type_before = column_types.get((key, operation.column))
                nullable_before = nullable.get((key, operation.column))
                default_before = defaults.get((key, operation.column))
            if isinstance(operation, (ops.DropConstraint, ops.ValidateConstraint)) and key is not None:
                constraint_before = constraints.get((key, operation.name))
            origin = created.get(key) if key is not None else None
            referenced = tuple(sorted(set(references.get(key, {}).values()) - {key})) \
                if isinstance(operation, ops.DropTable) else ()
            # A table the same step emptied earlier holds no rows, like one it created (letta:
            # DELETE FROM tools, then an ADD COLUMN ... NOT NULL)
            existing = origin is not None and origin[0] < number and emptied.get(key) != number
            absent = isinstance(operation, ops.DropColumn) and operation.if_exists and origin is not None \
                and key not in state.partly_read and (key, operation.column) not in column_types
            yield WalkedOperation(number, step, operation, key, existing=existing,
                                  in_transaction=in_transaction, created_at=origin[1] if origin else None,
                                  type_before=type_before, partitioned=key in partitioned,
                                  constraint_before=constraint_before, nullable_before=nullable_before,
                                  default_before=default_before, references=referenced, column_absent=absent)
            _track_references(operation, key, constraint_before, references)
            if isinstance(operation, ops.CreateIndex) and operation.index.name:
                index_tables[operation.index.name] = key
            _track_constraints(operation, key, constraints)
            _track_nullable(operation, key, nullable)
            _track_defaults(operation, key, defaults)
            if isinstance(operation, ops.DataChange) and key is not None \
                    and (operation.kind == "TRUNCATE" or operation.kind == "DELETE" and operation.whole_table):
                emptied[key] = number
            in_transaction = _track(operation, number, key, in_transaction, created, partitioned, column_types,
                                    state.partly_read) or isinstance(operation, ops.TransactionControl) \
                and step.path in sent_whole


def _track_nullable(operation, key: Optional[str], nullable: dict) -> None:
    """Whether each column of the tables the migrations create allows NULL (a primary key's
    columns never do)."""
    if key is None:
        return
    match operation:
        case ops.CreateTable():
            keys = {c for constraint in operation.constraints if isinstance(constraint, PrimaryKey)
                    for c in constraint.columns}
            for column in operation.columns:
                nullable[(key, column.name)] = column.nullable and not column.primary_key and column.name not in keys
        case ops.AddColumn():
            nullable[(key, operation.column.name)] = operation.column.nullable and not operation.column.primary_key
        case ops.AlterColumn():
            if operation.nullable is not None:
                nullable[(key, operation.column)] = operation.nullable
            if operation.new_name is not None and (key, operation.column) in nullable:
                nullable[(key, operation.new_name)] = nullable.pop((key, operation.column))
        case ops.AddConstraint(constraint=PrimaryKey(columns=columns)):
            for column in columns:
                nullable[(key, column)] = False
        case ops.RenameTable():
            new_key = table_key(operation.new_name, operation.schema)
            for (table, column), allows in list(nullable.items()):
                if table == key:
                    nullable[(new_key, column)] = allows


def _track_defaults(operation, key: Optional[str], defaults: dict) -> None:
    """Whether each column of the tables the migrations create has a server default."""
    if key is None:
        return
    match operation:
        case ops.CreateTable():
            for column in operation.columns:
                defaults[(key, column.name)] = column.server_default is not None
        case ops.AddColumn():
            defaults[(key, operation.column.name)] = operation.column.server_default is not None
        case ops.AlterColumn():
            if operation.server_default is not None:
                defaults[(key, operation.column)] = operation.server_default != ops.DROP_DEFAULT
            if operation.new_name is not None and (key, operation.column) in defaults:
                defaults[(key, operation.new_name)] = defaults.pop((key, operation.column))
        case ops.RenameTable():
            new_key = table_key(operation.new_name, operation.schema)
            for (table, column), has_default in list(defaults.items()):
                if table == key:
                    defaults[(new_key, column)] = has_default


def _track_references(operation, key: Optional[str], dropped, references: dict) -> None:
    """The foreign keys of each table, so that a DROP TABLE knows which tables it locks too (their
    foreign key triggers are dropped with it). `dropped`: the constraint a DROP CONSTRAINT removes."""
    if key is None:
        return
    match operation:
        case ops.CreateTable() | ops.AddColumn():
            for constraint in operation.constraints:
                if isinstance(constraint, ForeignKey):
                    references.setdefault(key, {})[constraint] = table_key(constraint.ref_table, constraint.ref_schema)
        case ops.AddConstraint(constraint=ForeignKey() as constraint):
            references.setdefault(key, {})[constraint] = table_key(constraint.ref_table, constraint.ref_schema)
        case ops.DropConstraint():
            references.get(key, {}).pop(dropped, None)
        case ops.DropTable():
            references.pop(key, None)
        case ops.RenameTable():
            if key in references:
                references[table_key(operation.new_name, operation.schema)] = references.pop(key)


def _track_constraints(operation, key: Optional[str], constraints: dict) -> None:
    """Constraints by table and name, so that a later DROP or VALIDATE knows what it is about. An
    unnamed primary key, foreign key or unique constraint goes by the name PostgreSQL gives it
    (`orders_buyer_id_fkey`): revisions autogenerated later drop it by that name. An unnamed
    CHECK is left out: its name depends on the columns its expression reads."""
    if key is None:
        return
    if isinstance(operation, (ops.CreateTable, ops.AddColumn)):
        added = operation.constraints
    elif isinstance(operation, ops.AddConstraint):
        added = (operation.constraint,)
    else:
        if isinstance(operation, ops.DropConstraint):
            constraints.pop((key, operation.name), None)
        return
    for constraint in added:
        name = constraint.name
        if name is None and not isinstance(constraint, CheckConstraint):
            name = postgres_constraint_name(operation.table, constraint, lambda taken: (key, taken) in constraints)
        if name:
            constraints[(key, name)] = constraint


def _table_key_of(operation: ops.Operation) -> Optional[str]:
    table = getattr(operation, "table", None)
    return table_key(table, getattr(operation, "schema", None)) if isinstance(table, str) else None


def _track(operation, number: int, key: Optional[str], in_transaction: bool, created: dict, partitioned: set,
           column_types: dict, partly_read: set) -> bool:
    """Record what `operation` changed; return whether a transaction is open after it."""
    match operation:
        case ops.TransactionControl(kind=kind):
            return kind == "BEGIN"
        case ops.CreateTable():
            created[key] = (number, operation.location)
            if operation.partition_by:
                partitioned.add(key)
            if operation.partly_read:
                partly_read.add(key)
            for column in operation.columns:
                column_types[(key, column.name)] = column.type
        case ops.RenameTable():
            new_key = table_key(operation.new_name, operation.schema)
            if key in created:
                created[new_key] = created.pop(key)
            if key in partitioned:
                partitioned.add(new_key)
            if key in partly_read:
                partly_read.add(new_key)
            for (table, column), type_name in list(column_types.items()):
                if table == key:
                    column_types[(new_key, column)] = type_name
        case ops.DropTable():
            created.pop(key, None)
        case ops.AddColumn():
            column_types[(key, operation.column.name)] = operation.column.type
        case ops.DropColumn():
            column_types.pop((key, operation.column), None)
        case ops.AlterColumn():
            if operation.type is not None:
                column_types[(key, operation.column)] = operation.type
            if operation.new_name is not None and (key, operation.column) in column_types:
                column_types[(key, operation.new_name)] = column_types.pop((key, operation.column))
    return in_transaction
