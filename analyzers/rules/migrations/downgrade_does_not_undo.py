from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Iterator, Optional

from ...schema.model import CheckConstraint, ForeignKey, Location, PrimaryKey, Table, UniqueConstraint, table_key
from ...schema.replay import convention_name
from ...schema.operations import (
    AddColumn,
    AddConstraint,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropConstraint,
    DropIndex,
    DropTable,
    Opaque,
    RenameTable,
    UnsupportedStatement,
)
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .revision_examples import ALEMBIC_SETUP, revision_file
from .safety import temporary_tables
from ...i18n import _

# Examples: a base revision creates `orders`; the rule's revision follows it.
_ORDERS = {**ALEMBIC_SETUP, "migrations/versions/a1_orders.py": revision_file(
    "a1", None, "    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
                "                    sa.Column('status', sa.Text()), sa.Column('legacy_code', sa.Text()))",
    "    op.drop_table('orders')")}
_HUBS = {"migrations/versions/b2_hubs.py": revision_file(
    "b2", "a1", "    op.create_table('hubs', sa.Column('id', sa.Integer(), primary_key=True))", "    op.drop_table('hubs')"),
          "migrations/versions/c3_no_hubs.py": revision_file(
              "c3", "b2", "    op.drop_table('hubs')  # expect\n    op.add_column('orders', sa.Column('hub_url', sa.Text()))",
              "    op.drop_column('orders', 'hub_url')")}
# Statements that create tables SchemaLens does not model (CREATE TABLE ... AS, SELECT ... INTO).
_CREATES_UNMODELLED_TABLES = ("CreateTableAs", "Select")


@dataclass
class _Effects:
    """What one function (upgrade or downgrade) does to tables, columns, indexes and constraints."""

    created_tables: dict[str, CreateTable] = field(default_factory=dict)
    dropped_tables: dict[str, DropTable] = field(default_factory=dict)
    added_columns: dict[tuple[str, str], AddColumn] = field(default_factory=dict)
    dropped_columns: dict[tuple[str, str], DropColumn] = field(default_factory=dict)
    created_indexes: list[CreateIndex] = field(default_factory=list)
    dropped_indexes: set[str] = field(default_factory=set)
    added_constraints: list[AddConstraint] = field(default_factory=list)
    dropped_constraints: set[str] = field(default_factory=set)
    renamed_tables: set[str] = field(default_factory=set)
    renamed_columns: set[tuple[str, str]] = field(default_factory=set)
    unknown: bool = False  # SQL or names built at run time, or helper calls: anything may happen

    @classmethod
    def of(cls, operations, unknown: bool = False) -> "_Effects":
        """`unknown`: the function also calls helpers or holds operations that were not read."""
        effects = cls(unknown=unknown)
        operations = list(operations)
        scratch = temporary_tables(operations)
        for operation in operations:
            table = getattr(operation, "table", None)
            if table in scratch:
                continue  # a TEMPORARY table is no part of the schema
            key = table_key(table, getattr(operation, "schema", None)) if isinstance(table, str) else None
            if _name_unknown(operation, key):
                effects.unknown = True  # a name computed at run time (a loop over tables, a variable)
                continue
            if isinstance(operation, CreateTable):
                effects.created_tables.setdefault(key, operation)
            elif isinstance(operation, DropTable):
                effects.dropped_tables.setdefault(key, operation)
            elif isinstance(operation, AddColumn):
                effects.added_columns.setdefault((key, operation.column.name), operation)
            elif isinstance(operation, DropColumn):
                effects.dropped_columns.setdefault((key, operation.column), operation)
            elif isinstance(operation, CreateIndex) and operation.index.name:
                effects.created_indexes.append(operation)
            elif isinstance(operation, DropIndex):
                effects.dropped_indexes.add(operation.name)
            elif isinstance(operation, AddConstraint) and operation.constraint.name:
                effects.added_constraints.append(operation)
            elif isinstance(operation, DropConstraint):
                effects.dropped_constraints.add(operation.name)
            elif isinstance(operation, RenameTable):
                effects.renamed_tables |= {table_key(operation.table or "", operation.schema),
                                           table_key(operation.new_name or "", operation.schema)}
            elif isinstance(operation, AlterColumn) and key and operation.new_name:
                effects.renamed_columns |= {(key, operation.column), (key, operation.new_name)}
            elif isinstance(operation, Opaque):
                effects.unknown = True
            elif isinstance(operation, UnsupportedStatement) and operation.kind in _CREATES_UNMODELLED_TABLES:
                effects.unknown = True
        return effects


_CONVENTION_KEYS = {PrimaryKey: "pk", ForeignKey: "fk", UniqueConstraint: "uq", CheckConstraint: "ck"}


def _by_convention(convention: dict, operation: AddConstraint) -> Optional[str]:
    """The name the constraint gets from the models' naming convention, which Alembic applies
    to the name an `op.create_*_constraint` call gives (`ck_folders_is_hidden` for
    `is_hidden` under `ck_%(table_name)s_%(constraint_name)s`)."""
    template = convention.get(_CONVENTION_KEYS.get(type(operation.constraint), ""))
    if not template or "%(constraint_name)s" not in template:
        return None
    return convention_name(template, Table(operation.table, operation.location, operation.schema), operation.constraint)


def _named_among(name: str, table: str, by_convention: Optional[str], dropped: set[str]) -> bool:
    """The constraint `name` of `table` is among the `dropped` names: as written, as the naming
    convention makes it, or as a convention the models set outside SchemaLens's reading makes
    it, ending with the table's name and its own (indico's `ck_blocking_principals_valid_user`
    for `valid_user` on `blocking_principals`)."""
    return name in dropped or by_convention in dropped or any(other.endswith(f"_{table}_{name}") for other in dropped)


def _columns_of(element) -> tuple[str, ...]:
    """The columns a constraint or index is on; for a CHECK or an expression key, the names the
    expression reads (dropping any of them drops the constraint or index)."""
    if isinstance(element, CheckConstraint):
        return _names_in(element.expression)
    return tuple(name for key in getattr(element, "columns", ()) for name in _names_in(key))


def _names_in(expression: str) -> tuple[str, ...]:
    return tuple(re.findall(r"[A-Za-z_]\w*", re.sub(r"'(?:[^']|'')*'", "", expression)))


def _name_unknown(operation, key: Optional[str]) -> bool:
    """True when a table, column, index or constraint name of the operation is not a constant."""
    if isinstance(operation, (CreateTable, DropTable, AddColumn, DropColumn, CreateIndex, AddConstraint, DropConstraint)) \
            and key is None:
        return True
    if isinstance(operation, AddColumn):
        return operation.column is None
    if isinstance(operation, DropColumn):
        return not operation.column
    if isinstance(operation, (DropIndex, DropConstraint)):
        return not operation.name
    return False


class DowngradeDoesNotUndo(Rule):
    """## What it finds
    A `downgrade()` that is written but does not undo its `upgrade()`:
    - a table, column, named index or named constraint the upgrade adds that the downgrade
      leaves in place (dropping its table, or the column an index or constraint is on, counts);
    - a table or column the upgrade drops that the downgrade does not re-create (not a column
      dropped IF EXISTS that the table, as the migrations built it, does not have: onyx cleans
      up drift so);
    - a table or column the downgrade drops although the upgrade did not create it: rolling back
      destroys data that existed before the revision.

    A downgrade that leaves a table (column) of the upgrade in place and drops another of a
    similar name that the upgrade did not create (a mistyped name) is one finding, at the table
    (column) the upgrade creates, with the wrong drop as related location.

    A constraint dropped under the name a naming convention gives it (`ck_orders_status_known`
    for `status_known`) is dropped; a CHECK or an expression index goes with any column it reads.
    A model table no migration creates is created by the application itself (`create_all()` as
    it starts): a downgrade that drops it drops what came after the upgrade. When the application
    creates its models' tables each time it starts (jupyterhub), a table the upgrade drops is made
    again by the release rolled back to: a downgrade need not re-create it.
    Renamed tables and columns are skipped, and so is a side that builds SQL or names at run
    time or calls helper functions of the project.
    Empty downgrades are SL504's; downgrades that `raise` on purpose are SL534's. All findings
    are P1: the check compares names, not what the data was (an upgrade that copied data into
    a column the downgrade drops is still reported at P1).

    ## Why it matters
    A rollback that "succeeds" but leaves the schema half-changed is worse than one that fails:
    the previous release runs against a schema it was not tested with (a leftover NOT NULL
    column makes its inserts fail), the next `alembic upgrade` fails on "column already
    exists", and a downgrade that drops the wrong column deletes production data.

    ## Example
    ```python
    def upgrade():
        op.add_column("orders", sa.Column("note", sa.Text()))
        op.create_index("ix_orders_status", "orders", ["status"])

    def downgrade():
        op.drop_index("ix_orders_status", table_name="orders")
    ```

    ## Use instead
    ```python
    def downgrade():
        op.drop_index("ix_orders_status", table_name="orders")
        op.drop_column("orders", "note")
    ```
    Undo in reverse order, touching only what the upgrade changed. A dropped column can be
    re-created but its data cannot: keep the data (rename instead of drop, or copy it to a
    backup table) until the release is final, or declare the revision irreversible
    (`raise RuntimeError(...)` with a comment saying why).

    ## How to verify
    On a rehearsal database: `pg_dump --schema-only` before `alembic upgrade <rev>` equals the
    dump after `alembic downgrade <rev>-1` (`schemalens verify` compares them).
    """

    code = "SL533"
    name = "downgrade-does-not-undo"
    dimension = 5
    severity = "P1"
    summary = _("downgrade that does not undo what upgrade did")

    valid = (Example({**_ORDERS, "migrations/versions/b2_note.py": revision_file(
        "b2", "a1",
        "    op.add_column('orders', sa.Column('note', sa.Text()))\n"
        "    op.create_index('ix_orders_status', 'orders', ['status'])\n"
        "    op.create_unique_constraint('uq_orders_note', 'orders', ['note'])\n"
        "    op.alter_column('orders', 'legacy_code', new_column_name='code')",
        "    op.alter_column('orders', 'code', new_column_name='legacy_code')\n"
        "    op.drop_index('ix_orders_status', table_name='orders')\n"
        "    op.drop_column('orders', 'note')")}),
        # onyx: drift cleanup, a column no migration created dropped IF EXISTS: nothing to put back
        Example({**_ORDERS, "migrations/versions/b2_cleanup.py": revision_file(
            "b2", "a1",
            "    op.add_column('orders', sa.Column('note', sa.Text()))\n"
            "    op.execute('ALTER TABLE orders DROP COLUMN IF EXISTS deleted_at')",
            "    op.drop_column('orders', 'note')")}),
        # indico: the downgrade drops the constraint under the name the models' naming convention
        # gave it; a CHECK and an expression index go with the column they read
        Example({**_ORDERS, "migrations/versions/b2_hidden.py": revision_file(
            "b2", "a1",
            "    op.create_check_constraint('status_known', 'orders', \"status IN ('new', 'paid')\")\n"
            "    op.add_column('orders', sa.Column('is_hidden', sa.Boolean(), nullable=True))\n"
            "    op.create_check_constraint('hidden_not_paid', 'orders', \"NOT (is_hidden AND status = 'paid')\")\n"
            "    op.create_index('ix_orders_hidden_lower', 'orders', [sa.text('lower(is_hidden::text)')])",
            "    op.drop_constraint('ck_orders_status_known', 'orders')\n"
            "    op.drop_column('orders', 'is_hidden')")}),
        # jupyterhub: the column given as a Column object; `roles` is a model table the application
        # creates itself as it starts (no migration does), so its downgrade drops what came after
        Example({**_ORDERS, "app/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n\n\n"
            "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    status = sa.Column(sa.Text)\n    legacy_code = sa.Column(sa.Text)\n    options = sa.Column(sa.Text)\n\n\n"
            "class Role(Base):\n    __tablename__ = 'roles'\n    id = sa.Column(sa.Integer, primary_key=True)\n"),
            "migrations/versions/b2_options.py": revision_file(
                "b2", "a1",
                "    op.add_column('orders', sa.Column('options', sa.Text()))",
                "    op.drop_column('orders', sa.Column('options'))\n"
                "    op.drop_table('roles')")}),
        # jupyterhub, onyx: the downgrade drops a constraint whose name it computes at run time:
        # what it undoes is not known
        Example({**_ORDERS, "migrations/versions/b2_note.py": revision_file(
            "b2", "a1",
            "    op.add_column('orders', sa.Column('note', sa.Text()))\n"
            "    op.create_unique_constraint('uq_orders_note', 'orders', ['note'])",
            "    op.drop_constraint(unique_name(op.get_bind()), 'orders', type_='unique')")}),
        # jupyterhub: the application creates its models' tables each time it starts, so the release
        # rolled back to makes the table the upgrade dropped
        Example({**_ORDERS, **_HUBS, "app/orm.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase, sessionmaker\n\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n\n"
            "def new_session_factory(url):\n    engine = sa.create_engine(url)\n"
            "    Base.metadata.create_all(engine)\n    return sessionmaker(bind=engine)\n")}),
    )
    invalid = (
        Example({**_ORDERS, **_HUBS}),
        Example({**_ORDERS, "migrations/versions/b2_note.py": revision_file(
            "b2", "a1",
            "    op.add_column('orders', sa.Column('note', sa.Text()))  # expect\n"
            "    op.create_index('ix_orders_status', 'orders', ['status'])",
            "    op.drop_index('ix_orders_status', table_name='orders')")}),
        Example({**_ORDERS, "migrations/versions/b2_status.py": revision_file(
            "b2", "a1",
            "    op.alter_column('orders', 'status', nullable=False)\n"
            "    op.drop_column('orders', 'legacy_code')  # expect",
            "    op.alter_column('orders', 'status', nullable=True)\n"
            "    op.drop_column('orders', 'status')  # expect")}),
        # A mistyped name in the downgrade: one finding, at the table the upgrade creates.
        Example({**_ORDERS, "migrations/versions/b2_links.py": revision_file(
            "b2", "a1",
            "    op.create_table('order_item_links', sa.Column('id', sa.Integer(), primary_key=True))  # expect",
            "    op.drop_table('order_item_link_types')")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        created_at_start = self._created_at_start(context)
        # the application creates its models' tables as it starts (jupyterhub): the release rolled
        # back to makes the tables its models declare, whatever a downgrade left out
        remade_at_start = context.tables_created_at_start is not None
        convention = context.model.naming_convention or {}
        # DROP COLUMN IF EXISTS of a column the table does not have (onyx: drift cleanup): nothing to undo
        no_ops = frozenset(walked.operation.location for walked in context.migration_walk if walked.column_absent)
        for path, revision in sorted(context.model.revision_files.items()):
            # of the tables the application creates itself, those its downgrade may drop
            dropped = {table_key(operation.table, getattr(operation, "schema", None)) for operation in revision.downgrade
                       if isinstance(operation, DropTable) and isinstance(operation.table, str)}
            yield from context.per_subject(self.code, path, self._revision_findings, revision, convention,
                                           frozenset(dropped & created_at_start), remade_at_start, no_ops)

    def _revision_findings(self, revision, convention: dict, created_at_start: frozenset[str],
                           remade_at_start: bool, no_ops: frozenset = frozenset()) -> Iterator[Finding]:
        if revision.downgrade_is_empty:
            return  # SL504 reports it
        upgrade, downgrade = revision.function("upgrade"), revision.function("downgrade")
        if downgrade is not None and downgrade.raises:
            return  # irreversible on purpose: SL534 checks that it says why
        # helpers it calls, or operations on names computed at run time: anything may happen
        unknown_upgrade = upgrade is not None and upgrade.calls_helpers or "upgrade" in revision.unread
        unknown_downgrade = downgrade is not None and downgrade.calls_helpers or "downgrade" in revision.unread
        upgrade_operations = [operation for operation in revision.upgrade if operation.location not in no_ops] \
            if no_ops else revision.upgrade
        yield from self._compare(revision, _Effects.of(upgrade_operations, unknown_upgrade),
                                 _Effects.of(revision.downgrade, unknown_downgrade), convention, created_at_start,
                                 remade_at_start)

    @staticmethod
    def _created_at_start(context: AuditContext) -> set[str]:
        """Model tables no migration creates, and tables a history takes as there at its start:
        the application creates them itself (`create_all()` as it starts, jupyterhub), so a
        downgrade that drops one drops what came after the upgrade."""
        created = {walked.table for walked in context.migration_walk if isinstance(walked.operation, CreateTable)}
        taken = {table for history in context.model.histories for table in history.unknown_tables}
        return (set(context.model.orm.tables) | taken) - created

    def _compare(self, revision, up: _Effects, down: _Effects, convention: dict,
                 created_at_start: frozenset[str], remade_at_start: bool) -> Iterator[Finding]:
        renamed_tables = up.renamed_tables | down.renamed_tables
        renamed_columns = up.renamed_columns | down.renamed_columns
        left_tables, left_columns = self._left_tables_and_columns(up, down, renamed_tables, renamed_columns)
        destroyed_tables, destroyed_columns = self._destroyed_tables_and_columns(up, down, renamed_tables,
                                                                                 renamed_columns)
        # A downgrade that drops a table (column) the upgrade did not create while leaving the one it
        # did create in place, under a similar name, holds one mistake: a wrong name. One finding.
        mistaken = {}
        if not down.unknown and not up.unknown:
            mistaken = {**_pair_by_name(left_tables, destroyed_tables),
                        **_pair_by_name(left_columns, destroyed_columns)}
        if not down.unknown:
            yield from self._left_in_place(revision, up, down, renamed_tables, left_tables, left_columns, mistaken,
                                           convention)
            yield from self._not_recreated(revision, up, down, renamed_tables, renamed_columns, remade_at_start)
        if not up.unknown:
            wrong = set(mistaken.values())
            yield from self._destroyed(revision, down, [t for t in destroyed_tables if t not in wrong | created_at_start],
                                       [c for c in destroyed_columns if c not in wrong])

    @staticmethod
    def _left_tables_and_columns(up, down, renamed_tables, renamed_columns) -> tuple[list, list]:
        """The tables and (table, column)s the upgrade adds and the downgrade leaves in place."""
        def gone(table: str, columns=()) -> bool:
            return table in down.dropped_tables or any((table, column) in down.dropped_columns for column in columns)

        tables = [table for table in up.created_tables
                  if table not in renamed_tables and table not in up.dropped_tables and not gone(table)]
        columns = [(table, column) for table, column in up.added_columns
                   if not (table in up.created_tables or table in renamed_tables or (table, column) in renamed_columns
                           or (table, column) in up.dropped_columns or gone(table, (column,)))]
        return tables, columns

    @staticmethod
    def _destroyed_tables_and_columns(up, down, renamed_tables, renamed_columns) -> tuple[list, list]:
        """The tables and (table, column)s the downgrade drops that the upgrade did not create."""
        tables = [table for table in down.dropped_tables
                  if not (table in up.created_tables or table in renamed_tables or table in down.created_tables)]
        columns = [(table, column) for table, column in down.dropped_columns
                   if not ((table, column) in up.added_columns or table in up.created_tables or table in renamed_tables
                           or (table, column) in renamed_columns or (table, column) in down.added_columns)]
        return tables, columns

    def _left_in_place(self, revision, up, down, renamed_tables, left_tables, left_columns,
                       mistaken, convention: dict) -> Iterator[Finding]:
        def gone(table: str, columns=()) -> bool:
            return table in down.dropped_tables or any((table, column) in down.dropped_columns for column in columns)

        for table in left_tables:
            operation = up.created_tables[table]
            if table in mistaken:
                wrong = mistaken[table]
                yield self._wrong_name(revision, operation.location, f"table {table}", f"table {wrong}",
                                       down.dropped_tables[wrong].location, table)
            else:
                yield self._left(revision, operation.location, f"table {table}", f"op.drop_table({operation.table!r})",
                                 table)
        for table, column in left_columns:
            operation = up.added_columns[(table, column)]
            if (table, column) in mistaken:
                wrong = mistaken[(table, column)]
                yield self._wrong_name(revision, operation.location, f"column {table}.{column}",
                                       f"column {wrong[0]}.{wrong[1]}", down.dropped_columns[wrong].location,
                                       table, column)
            else:
                yield self._left(revision, operation.location, f"column {table}.{column}",
                                 f"op.drop_column({operation.table!r}, {column!r})", table, column)
        for operation in up.created_indexes:
            table, name = table_key(operation.table, operation.schema), operation.index.name
            if (table in up.created_tables or table in renamed_tables or name in down.dropped_indexes
                    or name in up.dropped_indexes or gone(table, _columns_of(operation.index))):
                continue
            yield self._left(revision, operation.location, f"index {name}",
                             f"op.drop_index({name!r}, table_name={operation.table!r})", table)
        for operation in up.added_constraints:
            table, name = table_key(operation.table, operation.schema), operation.constraint.name
            if (table in up.created_tables or table in renamed_tables
                    or _named_among(name, operation.table, _by_convention(convention, operation), down.dropped_constraints)
                    or name in up.dropped_constraints or gone(table, _columns_of(operation.constraint))):
                continue
            yield self._left(revision, operation.location, f"constraint {name}",
                             f"op.drop_constraint({name!r}, {operation.table!r})", table)

    def _not_recreated(self, revision, up, down, renamed_tables, renamed_columns, remade_at_start: bool) -> Iterator[Finding]:
        for table, operation in up.dropped_tables.items():
            if table in up.created_tables or table in renamed_tables or table in down.created_tables or remade_at_start:
                continue
            yield self._lost(revision, operation.location, f"table {table}",
                             f"op.create_table({operation.table!r}, ...) with the columns, keys and indexes it had", table)
        for (table, column), operation in up.dropped_columns.items():
            if ((table, column) in up.added_columns or table in up.dropped_tables or table in renamed_tables
                    or (table, column) in renamed_columns or (table, column) in down.added_columns
                    or table in down.created_tables):
                continue
            yield self._lost(revision, operation.location, f"column {table}.{column}",
                             f"op.add_column({operation.table!r}, sa.Column({column!r}, <its type>, nullable=True))",
                             table, column)

    def _destroyed(self, revision, down, tables, columns) -> Iterator[Finding]:
        for table in tables:
            yield self._drops(revision, down.dropped_tables[table].location, f"table {table}", table)
        for table, column in columns:
            yield self._drops(revision, down.dropped_columns[(table, column)].location, f"column {table}.{column}",
                              table, column)

    # the three findings

    def _downgrade_related(self, revision) -> tuple[Related, ...]:
        return (Related(revision.downgrade_location, _("downgrade()")),) if revision.downgrade_location else ()

    def _left(self, revision, location: Location, what: str, undo: str, table: str,
              column: Optional[str] = None) -> Finding:
        return self.finding(
            location, _("downgrade of %(id)s leaves %(what)s in place", id=revision.id, what=what),
            _("upgrade() of revision %(id)s adds %(what)s; downgrade() does not remove it.", id=revision.id, what=what),
            impact=_("Worst case: after a rollback the previous release runs against %(what)s, which it does not know "
                   "(a NOT NULL column without a default makes its inserts fail). Most likely: the next upgrade fails "
                   "with \"already exists\" and someone repairs the database by hand.", what=what),
            root_cause=_("The downgrade was written by hand, or the upgrade grew after the downgrade was generated."),
            fix=Fix(short_term=_("Add `%(undo)s` to downgrade() of %(id)s.", undo=undo, id=revision.id),
                    medium_term=_("CI runs upgrade -> downgrade -> upgrade on a rehearsal database for every pull request."),
                    long_term=_("Compare the schema before the upgrade with the schema after the downgrade for each revision.")),
            verification=self._verification(revision), table=table, column=column,
            related=self._downgrade_related(revision))

    def _lost(self, revision, location: Location, what: str, redo: str, table: str,
              column: Optional[str] = None) -> Finding:
        return self.finding(
            location, _("downgrade of %(id)s does not re-create %(what)s", id=revision.id, what=what),
            _("upgrade() of revision %(id)s drops %(what)s; downgrade() does not bring it back.", id=revision.id, what=what),
            impact=_("Worst case: the previous release, rolled back to, reads and writes %(what)s and fails on every "
                   "request. Most likely: the rollback ends with a schema that matches neither release.", what=what),
            root_cause=_("The drop was treated as a one-way step, but the downgrade neither restores it nor says it cannot."),
            fix=Fix(short_term=_("Add `%(redo)s` to downgrade() of %(id)s (its data is gone: restore it from a "
                               "backup if needed), or declare the revision irreversible with a comment saying why.", redo=redo, id=revision.id),
                    medium_term=_("Drop in two releases: stop using it first, drop it once no release that uses it can come back."),
                    long_term=_("Keep dropped data (rename, or copy to an archive table) until the release is final.")),
            verification=self._verification(revision), table=table, column=column,
            related=self._downgrade_related(revision))

    def _drops(self, revision, location: Location, what: str, table: str, column: Optional[str] = None) -> Finding:
        return self.finding(
            location, _("downgrade of %(id)s drops %(what)s, which its upgrade did not create", id=revision.id, what=what),
            _("downgrade() of revision %(id)s drops %(what)s, but upgrade() did not add it: rolling back deletes "
            "data that existed before this revision.", id=revision.id, what=what),
            impact=_("Worst case: a rollback deletes %(what)s and its data in production, with no way back but a backup. "
                   "Most likely: the downgrade was written for another revision, and this one's changes stay in place.", what=what),
            root_cause=_("The downgrade was copied from another revision, or names the wrong table or column."),
            fix=Fix(short_term=_("Remove the drop of %(what)s from downgrade() of %(id)s; undo only what upgrade() did.", what=what, id=revision.id),
                    medium_term=_("CI runs upgrade -> downgrade -> upgrade on a rehearsal database with rows for every pull request."),
                    long_term=_("Compare the schema before the upgrade with the schema after the downgrade for each revision.")),
            verification=self._verification(revision), table=table, column=column,
            related=self._downgrade_related(revision))

    def _wrong_name(self, revision, location: Location, what: str, wrong: str, wrong_location: Location, table: str,
                    column: Optional[str] = None) -> Finding:
        return self.finding(
            location, _("downgrade of %(id)s drops %(wrong)s instead of %(what)s", id=revision.id, wrong=wrong, what=what),
            _("upgrade() of revision %(id)s adds %(what)s; downgrade() leaves it in place and drops %(wrong)s, "
              "which the upgrade did not create: a wrong name.", id=revision.id, what=what, wrong=wrong),
            impact=_("Worst case: a rollback deletes %(wrong)s and its data, if it exists, and leaves %(what)s "
                     "behind for the previous release. Most likely: the downgrade fails, or the next upgrade fails "
                     "with \"already exists\".", wrong=wrong, what=what),
            root_cause=_("The name in downgrade() was mistyped or copied from another revision."),
            fix=Fix(short_term=_("In downgrade() of %(id)s, drop %(what)s instead of %(wrong)s.", id=revision.id,
                                 what=what, wrong=wrong),
                    medium_term=_("CI runs upgrade -> downgrade -> upgrade on a rehearsal database for every pull request."),
                    long_term=_("Compare the schema before the upgrade with the schema after the downgrade for each revision.")),
            verification=self._verification(revision), table=table, column=column,
            related=(Related(wrong_location, _("drops %(wrong)s", wrong=wrong)), *self._downgrade_related(revision)))

    @staticmethod
    def _verification(revision) -> str:
        parent = revision.down_revisions[0] if revision.down_revisions else "base"
        return (_("pg_dump --schema-only before `alembic upgrade %(id)s` equals the dump after "
                "`alembic downgrade %(parent)s` on a rehearsal database", id=revision.id, parent=parent))


def _pair_by_name(left: list, destroyed: list) -> dict:
    """{left: destroyed}: each name the downgrade leaves in place, paired with the most similar
    name it drops instead (the same table, for columns; names at least 60 % alike), each used once."""
    def name(key) -> str:
        return key[1] if isinstance(key, tuple) else key

    def alike(one, other) -> float:
        if isinstance(one, tuple) and one[0] != other[0]:
            return 0.0
        return SequenceMatcher(None, name(one), name(other)).ratio()

    candidates = sorted(((alike(one, other), one, other) for one in left for other in destroyed), key=lambda c: -c[0])
    pairs: dict = {}
    for likeness, one, other in candidates:
        if likeness >= 0.6 and one not in pairs and other not in pairs.values():
            pairs[one] = other
    return pairs
