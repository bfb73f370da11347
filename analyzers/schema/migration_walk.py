"""Walk the migration steps in replay order, knowing for each operation what the database looked
like just before it: whether its table already existed (created by an earlier step, so it may
hold rows), the column's type before a type change, whether a transaction is open, and which
entry of the PostgreSQL lock knowledge base (`pg/locks.py`) the operation is.

The migration-safety rules (SL5xx) read this instead of each re-tracking the replay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from ..pg.locks import EFFECTS, LockEffect
from . import operations as ops
from .model import CheckConstraint, ForeignKey, PrimaryKey, UniqueConstraint, table_key
from .type_names import SERIAL_TYPES

# Functions PostgreSQL marks volatile that show up as column defaults: each row gets its own
# value, so adding such a column rewrites the table. now() and CURRENT_TIMESTAMP are stable.
_VOLATILE_DEFAULT = re.compile(r"\b(random|clock_timestamp|timeofday|gen_random_uuid|uuid_generate_v[14]\w*|"
                               r"nextval|uuid_generate_v1mc)\s*\(", re.IGNORECASE)

_VARCHAR = re.compile(r"^character varying(?:\((\d+)\))?$")
_NUMERIC = re.compile(r"^numeric(?:\((\d+)(?:,\s*(\d+))?\))?$")


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

    @property
    def lock_effects(self) -> tuple[LockEffect, ...]:
        return tuple(EFFECTS[key] for key in lock_effect_keys(self))


def is_volatile_default(expression: Optional[str]) -> bool:
    return bool(expression and _VOLATILE_DEFAULT.search(expression))


def type_change_rewrites(before: Optional[str], after: str, using: Optional[str] = None) -> bool:
    """Whether ALTER COLUMN TYPE from `before` to `after` rewrites the table (PostgreSQL 12+).

    Binary-compatible changes do not: a longer or unbounded varchar, varchar to text, a wider
    numeric with the same scale. Anything unknown is assumed to rewrite.
    """
    if before is None:
        return True
    if before == after and not using:
        return False
    if using:
        return True
    if after == "text" and (before == "text" or _VARCHAR.match(before)):
        return False
    old_varchar, new_varchar = _VARCHAR.match(before), _VARCHAR.match(after)
    if (old_varchar or before == "text") and new_varchar:
        if new_varchar.group(1) is None:
            return False
        return before == "text" or old_varchar.group(1) is None or int(new_varchar.group(1)) < int(old_varchar.group(1))
    old_numeric, new_numeric = _NUMERIC.match(before), _NUMERIC.match(after)
    if old_numeric and new_numeric:
        if new_numeric.group(1) is None:
            return False
        if old_numeric.group(1) is None:
            return True
        same_scale = (old_numeric.group(2) or "0") == (new_numeric.group(2) or "0")
        return not (same_scale and int(new_numeric.group(1)) >= int(old_numeric.group(1)))
    return True


def lock_effect_keys(walked: WalkedOperation) -> tuple[str, ...]:
    """The lock knowledge base entries for one operation (an ALTER COLUMN may be several)."""
    operation = walked.operation
    if isinstance(operation, ops.AlterColumn):
        return _alter_column_keys(operation, walked.type_before)
    key = _lock_effect_key(walked)
    return (key,) if key else ()


def _alter_column_keys(operation: ops.AlterColumn, type_before: Optional[str]) -> tuple[str, ...]:
    keys = []
    if operation.type is not None and operation.type != type_before:
        rewrites = type_change_rewrites(type_before, operation.type, operation.using)
        keys.append("alter-type-rewrite" if rewrites else "alter-type-binary-compatible")
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
            return "drop-table"
        case ops.RenameTable():
            return "rename-table"
        case ops.AddColumn():
            column = operation.column
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
            return "add-unique-using-index"
        case ops.ValidateConstraint():
            return "validate-check"
        case ops.AttachPartition():
            return "attach-partition"
        case ops.DetachPartition():
            return "detach-partition"
        case ops.AddEnumValue():
            return "add-enum-value"
        case ops.DataChange(kind="TRUNCATE"):
            return "truncate"
        case ops.Maintenance(kind="VACUUM FULL"):
            return "vacuum-full"
        case ops.Maintenance(kind="CLUSTER"):
            return "cluster"
        case ops.Maintenance(kind="REFRESH MATERIALIZED VIEW"):
            return "refresh-materialized-view-concurrently" if operation.concurrently else "refresh-materialized-view"
    return None


def walk_migrations(steps: tuple[ops.Step, ...],
                    sql_in_transaction: Callable[[str], bool] = lambda path: False) -> Iterator[WalkedOperation]:
    """Every operation of every step, in replay order, with what was true just before it.

    Alembic revisions run in a transaction (autocommit_block() leaves it). A SQL file runs in
    one when `sql_in_transaction(path)` says its folder's tool wraps it (see
    workspace/migration_tools.py), else only between an explicit BEGIN and COMMIT.
    """
    created: dict[str, tuple[int, ops.Location]] = {}
    index_tables: dict[str, str] = {}  # index name -> table key
    partitioned: set[str] = set()
    column_types: dict[tuple[str, str], str] = {}
    for number, step in enumerate(steps):
        in_transaction = step.path.endswith(".py") or sql_in_transaction(step.path)
        for operation in step.operations:
            key = _table_key_of(operation)
            if key is None and isinstance(operation, ops.DropIndex):
                key = index_tables.get(operation.name)
            type_before = None
            if isinstance(operation, ops.AlterColumn) and key is not None:
                type_before = column_types.get((key, operation.column))
            origin = created.get(key) if key is not None else None
            yield WalkedOperation(number, step, operation, key, existing=origin is not None and origin[0] < number,
                                  in_transaction=in_transaction, created_at=origin[1] if origin else None,
                                  type_before=type_before, partitioned=key in partitioned)
            if isinstance(operation, ops.CreateIndex) and operation.index.name:
                index_tables[operation.index.name] = key
            in_transaction = _track(operation, number, key, in_transaction, created, partitioned, column_types)


def _table_key_of(operation: ops.Operation) -> Optional[str]:
    table = getattr(operation, "table", None)
    return table_key(table, getattr(operation, "schema", None)) if isinstance(table, str) else None


def _track(operation, number: int, key: Optional[str], in_transaction: bool, created: dict, partitioned: set,
           column_types: dict) -> bool:
    """Record what `operation` changed; return whether a transaction is open after it."""
    match operation:
        case ops.TransactionControl(kind=kind):
            return kind == "BEGIN"
        case ops.CreateTable():
            created[key] = (number, operation.location)
            if operation.partition_by:
                partitioned.add(key)
            for column in operation.columns:
                column_types[(key, column.name)] = column.type
        case ops.RenameTable():
            new_key = table_key(operation.new_name, operation.schema)
            if key in created:
                created[new_key] = created.pop(key)
            if key in partitioned:
                partitioned.add(new_key)
            for (table, column), type_name in list(column_types.items()):
                if table == key:
                    column_types[(new_key, column)] = type_name
        case ops.DropTable():
            created.pop(key, None)
        case ops.AddColumn():
            column_types[(key, operation.column.name)] = operation.column.type
        case ops.AlterColumn():
            if operation.type is not None:
                column_types[(key, operation.column)] = operation.type
            if operation.new_name is not None and (key, operation.column) in column_types:
                column_types[(key, operation.new_name)] = column_types.pop((key, operation.column))
    return in_transaction
