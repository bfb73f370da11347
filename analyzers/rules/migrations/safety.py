"""Shared by the migration-safety rules: the operations that touch tables earlier migrations
created, the lock sentence of a finding, severity from size hints, and the small workspaces
their examples are built on."""

from __future__ import annotations

import re
import shlex
from datetime import timedelta
from typing import Iterator, Optional

from ...pg.locks import LockEffect
from ...schema.migration_walk import WalkedOperation
from ...schema.model import Table, table_key
from ...schema.operations import AddColumn, CreateTable, DataChange, SetParameter
from ...i18n import _
from ...lazy_pattern import LazyPattern
from ...workspace.discovery import folder_of
from ..base import Related
from ..context import BIG_TABLE_ROWS, SMALL_TABLE_ROWS, AuditContext

LOCK_TIMEOUT_ADVICE = _("Start the revision with `SET lock_timeout = '5s'` so that, if the lock cannot be "
                         "taken at once, the migration fails and is retried instead of queueing every query "
                         "on the table behind it.")


def on_existing_tables(context: AuditContext, *kinds: type) -> Iterator[WalkedOperation]:
    """Operations of the given kinds on tables that an earlier migration step created."""
    for walked in context.walked(*kinds):
        if walked.existing:
            yield walked


def env_sets(context: AuditContext, walked: WalkedOperation, setting: str) -> bool:
    """Alembic's env.py (next to the versions folder of the operation's revision) names `setting`
    (`lock_timeout`, `statement_timeout`): it sets it for every revision."""
    return setting in _env_text(context, walked)


def _env_text(context: AuditContext, walked: WalkedOperation) -> str:
    """The text of Alembic's env.py next to the versions folder of the operation's revision ("":
    none, or the operation is no revision's)."""
    if not walked.step.path.endswith(".py"):
        return ""
    folder = folder_of(folder_of(walked.step.path))
    return context.text_of("env.py" if folder == "." else f"{folder}/env.py") or ""


# A stall of writes, or of a table's queue, that a deploy absorbs: a timeout at most this long
# bounds a lock to a hiccup.
BRIEF_STALL = timedelta(seconds=10)
_TIMEOUT_VALUE = LazyPattern(r"^'?\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*'?$")
_TIMEOUT_UNITS = {"us": 0.000001, "ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400}


def timeout_limit(context: AuditContext, walked: WalkedOperation, setting: str) -> Optional[timedelta]:
    """How long `setting` (`lock_timeout`, `statement_timeout`) lets the operation run or wait: as
    the last statement of its step before it sets it, else as Alembic's env.py sets it for every
    revision (warehouse: `SET statement_timeout = 5000`); None when nothing limits it (unset, 0,
    or a value SchemaLens cannot read)."""
    value = None
    for earlier in context.step_operations(walked.step_number):
        if earlier is walked:
            break
        operation = earlier.operation
        if isinstance(operation, SetParameter) and operation.name == setting:
            value = operation.value
    if value is None:
        written = re.search(rf"\b{setting}\s*(?:=|\bto\b)\s*('?[\w.]+'?)", _env_text(context, walked), re.IGNORECASE)
        value = written.group(1) if written else None
    match = _TIMEOUT_VALUE.match(value.strip()) if value else None
    if match is None:
        return None
    limit = timedelta(seconds=float(match.group(1)) * _TIMEOUT_UNITS[match.group(2) or "ms"])
    return limit or None


def briefly_limited(context: AuditContext, walked: WalkedOperation, setting: str) -> bool:
    """`setting` limits the operation to BRIEF_STALL or less (see timeout_limit)."""
    limit = timeout_limit(context, walked, setting)
    return limit is not None and limit <= BRIEF_STALL


def created_here(walked: WalkedOperation) -> tuple[Related, ...]:
    if walked.created_at is None:
        return ()
    return (Related(walked.created_at, _("%(table)s created here", table=walked.table)),)


def severity_by_size(context: AuditContext, table: Optional[str], small: Optional[str] = None,
                     big: str = "P0") -> Optional[str]:
    """`big` when the size hints give the table 1M rows now or within a year, else `small`
    (None: the rule's default)."""
    found = context.layer.tables.get(table_key(table)) if table else None
    return big if found is not None and context.is_big(found) else small


def scaffold_command(context: AuditContext, walked: WalkedOperation, change: str, table: str,
                     **options: Optional[str]) -> str:
    """The sentence naming the `schemalens scaffold` command that writes the safe revisions, for
    an operation in an Alembic revision (the scaffold writes Alembic revisions only)."""
    if walked.step.path not in context.model.revision_files:
        return ""
    arguments = "".join(f" --{name.replace('_', '-')} {shlex.quote(value)}" for name, value in options.items() if value)
    command = f"schemalens scaffold {change} --table {table}{arguments}"
    return " " + _("`%(command)s` writes these revisions.", command=command)


def lock_sentence(effect: LockEffect) -> str:
    text = effect.describe()
    return text + " " + effect.note if effect.note else text


# Examples: a base revision creates `orders` and `customers`; the rule's revision follows it.

ALEMBIC_BASE = {
    "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
    "migrations/env.py": "",
    "migrations/versions/a1_base.py": (
        "from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
        "def upgrade():\n"
        "    op.create_table('customers', sa.Column('id', sa.BigInteger(), primary_key=True),\n"
        "                    sa.Column('email', sa.String(200)))\n"
        "    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                    sa.Column('status', sa.String(20)), sa.Column('customer_id', sa.BigInteger()),\n"
        "                    sa.Column('total', sa.Integer()), sa.Column('note', sa.Text()))\n\n"
        "def downgrade():\n    op.drop_table('orders')\n    op.drop_table('customers')\n"),
}


def alembic_example(upgrade: str, downgrade: str = "    pass", *, lock_timeout: bool = True) -> dict[str, str]:
    """The base workspace plus revision b2 with the given upgrade body (indented lines)."""
    prefix = "    op.execute(\"SET lock_timeout = '5s'\")\n" if lock_timeout else ""
    revision = ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'b2'\ndown_revision = 'a1'\n\n"
                f"def upgrade():\n{prefix}{upgrade}\n\ndef downgrade():\n{downgrade}\n")
    return {**ALEMBIC_BASE, "migrations/versions/b2_change.py": revision}


def young_table_example(upgrade: str, *, written: str = "2024-03-08 10:00", lock_timeout: bool = True,
                        newest: Optional[str] = None) -> dict[str, str]:
    """A history whose revision c3 (written on `written`) changes `orders`,
    which revision b2 created on 2024-03-05 (revision a1, the first of the history, created
    `customers` long before); with `newest`, an empty revision d4 written on that date ends it."""
    def revision(revision_id: str, down: Optional[str], date: str, body: str) -> str:
        return (f'"""{revision_id}\n\nCreate Date: {date}\n"""\nfrom alembic import op\nimport sqlalchemy as sa\n'
                f"revision = {revision_id!r}\ndown_revision = {down!r}\n\ndef upgrade():\n{body}\n\n"
                "def downgrade():\n    pass\n")

    later = {"migrations/versions/d4_later.py": revision("d4", "c3", f"{newest}:00.000000", "    pass")} if newest else {}
    return later | {
        "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
        "migrations/env.py": "",
        "migrations/versions/a1_customers.py": revision(
            "a1", None, "2023-01-10 09:00:00.000000",
            "    op.create_table('customers', sa.Column('id', sa.BigInteger(), primary_key=True),\n"
            "                    sa.Column('email', sa.String(200)))"),
        "migrations/versions/b2_orders.py": revision(
            "b2", "a1", "2024-03-05 09:00:00.000000",
            "    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
            "                    sa.Column('status', sa.String(20)), sa.Column('customer_id', sa.BigInteger()),\n"
            "                    sa.Column('total', sa.Integer()), sa.Column('note', sa.Text()))"),
        "migrations/versions/c3_change.py": revision(
            "c3", "b2", f"{written}:00.000000", ("    op.execute(\"SET lock_timeout = '5s'\")\n" if lock_timeout else "")
            + upgrade),
    }


SQL_BASE = ("CREATE TABLE customers (id bigint PRIMARY KEY, email varchar(200));\n"
            "CREATE TABLE orders (id int PRIMARY KEY, status varchar(20), customer_id bigint, total int, note text);\n")


def sql_example(second: str) -> dict[str, str]:
    """A Flyway folder: V1 creates the tables, V2 holds the statements under test."""
    return {"db/V1__base.sql": SQL_BASE, "db/V2__change.sql": second}


def prisma_example(second: str) -> dict[str, str]:
    """A Prisma migrations folder: the first migration creates the tables, the second holds the
    statements under test."""
    return {"prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
            "prisma/migrations/20240101000000_base/migration.sql": SQL_BASE,
            "prisma/migrations/20240102000000_change/migration.sql": second}


def new_in_this_step(walked: WalkedOperation) -> bool:
    """The operation's table was created by the same migration step: it is still empty."""
    return walked.created_at is not None and not walked.existing


# A table created at most this long before a migration is young: a scan or rewrite stalls traffic
# noticeably at millions of rows, which a table gains within a month only at over 100,000 rows a
# day, a volume the size hints should declare (they override this).
YOUNG_TABLE_AGE = timedelta(days=30)
# A table created at most this long before a migration came with the same change: both ship in the
# same upgrade run, so nothing has read or written the table yet.
SAME_CHANGE_AGE = timedelta(days=1)


def table_age(context: AuditContext, walked: WalkedOperation, table: Optional[str] = None) -> Optional[timedelta]:
    """How long before the operation's migration an earlier one created its table (or `table`, a
    table key), from the migrations' dates (see `AuditContext.migration_date`). None when a date
    is missing, when the dates run backwards, or when the table came from the first migration of
    its history (often a squash of older ones, whose date is not its tables' birth)."""
    created_at = walked.created_at if table is None else context.created_before(walked, table)
    if created_at is None or created_at.path == walked.step.path or context.starts_a_history(created_at.path):
        return None
    created, written = context.migration_date(created_at.path), context.migration_date(walked.step.path)
    if created is None or written is None or written < created:
        return None
    return written - created


def young_table(context: AuditContext, walked: WalkedOperation, table: Optional[str] = None) -> bool:
    """The operation's table (or `table`, a table key) was created by the same migration, or at
    most 30 days (YOUNG_TABLE_AGE) before it, and the size hints do not say it was big by then:
    a scan, rewrite or index build over it is short, and few queries hold it."""
    if created_with_this_change(context, walked, table):
        return True
    age = table_age(context, walked, table)
    if age is None or age > YOUNG_TABLE_AGE:
        return False
    key = walked.table if table is None else table
    found = context.layer.tables.get(key) if key else None
    return found is None or _hinted_rows_at_age(context, found, age, walked) < BIG_TABLE_ROWS


# The rows a table held back then, estimated from today's hints by its age (linear growth), below
# which an old migration's scan counts as short: an estimate, so ten times below SMALL_TABLE_ROWS.
FEW_ROWS_THEN = SMALL_TABLE_ROWS // 10


def few_rows(context: AuditContext, walked: WalkedOperation, table: Optional[str] = None) -> bool:
    """The operation's table (or `table`, a table key) held few rows when the migration ran: it
    was young (see `young_table`), the size hints keep it under SMALL_TABLE_ROWS now and in a
    year, or their rows at the table's age then were under FEW_ROWS_THEN (a table hinted at
    100,000 rows after three years held about 4,000 when it was six weeks old). A scan, rewrite
    or index build over it took milliseconds."""
    if young_table(context, walked, table):
        return True
    key = walked.table if table is None else table
    found = context.layer.tables.get(key) if key else None
    if found is None:
        return False
    if context.is_small(found):
        return True
    age = table_age(context, walked, table)
    return age is not None and context.hints(found).rows is not None \
        and _hinted_rows_at_age(context, found, age, walked) < FEW_ROWS_THEN


def _hinted_rows_at_age(context: AuditContext, table: Table, age: timedelta, walked: WalkedOperation) -> float:
    """The rows the size hints give the table when it was `age` old. The hints speak of today
    (the newest migration's date): a table hinted at a million rows after four years held a
    thirteen-day share of them when it was thirteen days old; a yearly growth hint gives the
    rate directly."""
    hints = context.hints(table)
    if hints.rows_in_a_year:
        return hints.rows_in_a_year * (age / timedelta(days=365))
    if not hints.rows:
        return 0
    written, newest = context.migration_date(walked.step.path), context.newest_migration_date
    if written is None or newest is None:
        return hints.rows
    lifetime = newest - (written - age)
    return hints.rows if lifetime <= age else hints.rows * (age / lifetime)


def created_with_this_change(context: AuditContext, walked: WalkedOperation, table: Optional[str] = None) -> bool:
    """The operation's table (or `table`, a table key) was created by the same migration or by one
    written at most a day (SAME_CHANGE_AGE) before it: both run in the same upgrade, so the table
    is empty and nothing reads it yet."""
    if table is None and new_in_this_step(walked):
        return True
    if table is not None:
        created_at = context.created_before(walked, table)
        if created_at is not None and created_at.path == walked.step.path:
            return True
    age = table_age(context, walked, table)
    return age is not None and age <= SAME_CHANGE_AGE


def in_alembic(walked: WalkedOperation) -> bool:
    return walked.step.path.endswith(".py")


def step_label(walked: WalkedOperation) -> str:
    """"revision b2" for an Alembic revision, the file name for a SQL migration."""
    step = walked.step
    if step.path.endswith(".py") and step.revision:
        return _("revision %(revision)s", revision=step.revision)
    return step.path.rsplit("/", 1)[-1]


def concurrently_advice(walked: WalkedOperation, statement: str) -> str:
    """How to run `statement` (a CONCURRENTLY form) outside a transaction, in this step's tool."""
    if in_alembic(walked):
        return _("run `%(statement)s` inside `with op.get_context().autocommit_block():`", statement=statement)
    if walked.in_transaction:
        return _("run `%(statement)s` in a migration file of its own that the tool runs without a transaction "
                 "(sqlx `-- no-transaction`, dbmate `transaction:false`, goose `NO TRANSACTION`; Flyway does so "
                 "by itself), outside any BEGIN ... COMMIT", statement=statement)
    return _("run `%(statement)s` (outside any BEGIN ... COMMIT)", statement=statement)


def transaction_of(context: AuditContext, walked: WalkedOperation) -> list[WalkedOperation]:
    """The operations of the transaction `walked` runs in: the same migration step, with no BEGIN,
    COMMIT or autocommit block in between. Empty when it runs outside a transaction."""
    from ...schema.operations import TransactionControl

    if not walked.in_transaction:
        return []
    walk = context.step_operations(walked.step_number)
    position = next(i for i, w in enumerate(walk) if w is walked)

    def same(other: WalkedOperation) -> bool:
        return other.in_transaction and not isinstance(other.operation, TransactionControl)

    start, end = position, position
    while start > 0 and same(walk[start - 1]):
        start -= 1
    while end + 1 < len(walk) and same(walk[end + 1]):
        end += 1
    return list(walk[start:end + 1])


def backfilled_under_the_add(context: AuditContext, target: WalkedOperation, columns) -> bool:
    """One of `columns` was added earlier in the same transaction and an UPDATE of its table ran
    in between: the ADD COLUMN's ACCESS EXCLUSIVE lock is held through the backfill and the scan
    `target` makes alike, one problem that SL516 reports at the backfill."""
    added = False
    for walked in transaction_of(context, target):
        operation = walked.operation
        if walked is target:
            return False
        if walked.table != target.table:
            continue
        if isinstance(operation, AddColumn) and operation.column.name in columns:
            added = True
        elif added and isinstance(operation, DataChange) and operation.kind == "UPDATE":
            return True
    return False


def locked_anyway(context: AuditContext, walked: WalkedOperation) -> bool:
    """Another statement of the same transaction takes ACCESS EXCLUSIVE on the operation's table
    too (a DROP TABLE, a DROP COLUMN, a type change): the table is blocked until the commit either
    way, so a lighter lock for this operation would not shorten it."""
    from ...pg.locks import ACCESS_EXCLUSIVE

    if walked.table is None:
        return False
    return any(other is not walked and other.table == walked.table
               and any(e.lock() == ACCESS_EXCLUSIVE for e in other.lock_effects)
               for other in transaction_of(context, walked))


def temporary_tables(operations) -> frozenset[str]:
    """Tables the operations create TEMPORARY: gone at the end of the session, nothing of the
    schema to undo (agenta, indico: a scratch table for a data migration)."""
    return frozenset(operation.table for operation in operations
                     if isinstance(operation, CreateTable) and operation.temporary)
