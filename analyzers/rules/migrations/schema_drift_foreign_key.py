from __future__ import annotations

from typing import Iterator

from ...schema.drift import ElementDifference, foreign_key_differences, has_migrations, shared_tables
from ...schema.model import ForeignKey, Table
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _, join

_ALEMBIC = {"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": ""}


def _models(order_columns: str) -> str:
    return ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n\n"
            "class User(Base):\n    __tablename__ = 'users'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n\n\n"
            "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n" + order_columns)


def _revision(order_columns: str) -> str:
    return ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n\n"
            "def upgrade():\n    op.create_table('users', sa.Column('id', sa.BigInteger(), primary_key=True))\n"
            "    op.create_table(\n        'orders',\n        sa.Column('id', sa.BigInteger(), primary_key=True),\n"
            f"{order_columns}    )\n\n\n"
            "def downgrade():\n    op.drop_table('orders')\n    op.drop_table('users')\n")


class SchemaDriftForeignKey(Rule):
    """## What it finds
    Foreign keys that the models declare and the migrations do not create, or the reverse,
    compared by their columns and the table and columns they refer to (not by name); and
    foreign keys on both sides whose ON DELETE, ON UPDATE or DEFERRABLE differ, as
    alembic's autogenerate compares them. A key on a column or to a table that one side lacks
    is left to `schema-drift-column` and `schema-drift-table`. Models that reflect their table
    are not compared.

    ## Why it matters
    A key in the models only is not enforced: orphan rows get in, and relationships declared
    with `passive_deletes=True` rely on an ON DELETE CASCADE the database does not have, so
    deleting a parent leaves its children behind. Tests built with `create_all()` have the
    key and pass. A key in the database only is unknown to the ORM's unit of work, which may
    flush a child before its parent or delete a parent first and fail with a foreign key
    violation; the next `alembic revision --autogenerate` writes `op.drop_constraint` for it.
    A different ON DELETE means deleting a parent does something else in production than in
    tests.

    ## Example
    ```python
    class Order(Base):
        user_id = sa.Column(sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"))
    # the revision: sa.Column("user_id", sa.BigInteger())   (no ForeignKeyConstraint)
    ```

    ## Use instead
    `alembic revision --autogenerate` gives `op.create_foreign_key("fk_orders_user_id_users",
    "orders", "users", ["user_id"], ["id"], ondelete="CASCADE")`; on a big table add it with
    `postgresql_not_valid=True` and validate it in a later revision.

    ## How to verify
    `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid =
    'orders'::regclass AND contype = 'f';` lists the model's keys, and `alembic check` reports
    no new upgrade operations.
    """

    code = "SL523"
    compares_layers = True
    name = "schema-drift-foreign-key"
    dimension = 5
    severity = "P1"
    summary = _("foreign key declared by the models but not by migrations, or the reverse")

    valid = (
        Example({"app/models.py": _models("    user_id = sa.Column(sa.BigInteger, sa.ForeignKey('users.id', ondelete='CASCADE'))\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
                     "        sa.Column('user_id', sa.BigInteger()),\n"
                     "        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='orders_user_fk', ondelete='CASCADE'),\n")}),
    )
    invalid = (
        Example({"app/models.py": _models("    user_id = sa.Column(sa.BigInteger, sa.ForeignKey('users.id'))  # expect\n"
                                          "    buyer_id = sa.Column(sa.BigInteger)\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
                     "        sa.Column('user_id', sa.BigInteger()),\n"
                     "        sa.Column('buyer_id', sa.BigInteger(), sa.ForeignKey('users.id')),  # expect\n")}),
        Example({"app/models.py": _models("    user_id = sa.Column(sa.BigInteger, sa.ForeignKey('users.id', ondelete='CASCADE'))  # expect\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
                     "        sa.Column('user_id', sa.BigInteger(), sa.ForeignKey('users.id')),\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        model = context.model
        if not has_migrations(model):
            return
        for orm, database in shared_tables(model, context.text_of):
            for difference in foreign_key_differences(orm, database, model.orm, model.database):
                if difference.database is None:
                    yield self._model_only(orm, database, difference.orm)
                elif difference.orm is None:
                    yield self._database_only(orm, difference.database)
                else:
                    yield self._options_differ(orm, difference)

    def _model_only(self, orm: Table, database: Table, key: ForeignKey) -> Finding:
        table, reference = orm.key, _reference(key)
        return self.finding(
            key.location, _("%(table)s %(reference)s is declared in the model but no migration creates it", table=table, reference=reference),
            _("The model declares the foreign key %(table)s %(reference)s, but the migrations never create it.", table=table, reference=reference),
            impact=_("Worst case: the database accepts %(table)s rows that point at no %(ref_table)s row, and deleting a "
                   "%(ref_table)s row leaves its %(table)s behind (an ON DELETE the model relies on does not exist). "
                   "Most likely: tests built with `create_all()` enforce the key and production does not.", table=table, ref_table=key.ref_table),
            root_cause=_("The key was added to the model without a revision, or the revision was written by hand without it."),
            fix=Fix(short_term=_("Find orphans (`SELECT count(*) FROM %(table)s t WHERE %(orphans)s`), then "
                               "`op.create_foreign_key(%(name)r, %(orm)r, %(ref_table)r, "
                               "%(columns)r, %(ref_columns)r", table=table, orphans=_orphans(key), name=_name(orm, key), orm=orm.name, ref_table=key.ref_table, columns=list(key.columns), ref_columns=list(key.ref_columns))
                               + (_(", ondelete=%(on_delete)r", on_delete=key.on_delete) if key.on_delete else "")
                               + _(", postgresql_not_valid=True)` and validate it in a later revision."),
                    medium_term=_("Run `alembic check` in CI so that model and migrations cannot part ways."),
                    long_term=_("Model and revision change in the same pull request; tests run on a migrated database.")),
            verification=_verification(table),
            table=table, column=key.columns[0] if len(key.columns) == 1 else None,
            related=(Related(database.location, _("%(table)s created here; no migration adds this key", table=table)),))

    def _database_only(self, orm: Table, key: ForeignKey) -> Finding:
        table, reference = orm.key, _reference(key)
        owner = f"model {orm.class_name}" if orm.class_name else f"Table({orm.name!r})"
        return self.finding(
            key.location, _("%(table)s %(reference)s exists in the database but not in the model", table=table, reference=reference),
            _("The migrations create the foreign key %(table)s %(reference)s", table=table, reference=reference)
            + (_(" ON DELETE %(on_delete)s", on_delete=key.on_delete) if key.on_delete else "") + _(", which %(owner)s does not declare.", owner=owner),
            impact=_("Worst case: the next `alembic revision --autogenerate` drops the key and %(table)s starts collecting "
                   "orphans. Most likely: the ORM flushes or deletes %(table)s and %(ref_table)s in an order the key "
                   "rejects, failing with a foreign key violation in production only.", table=table, ref_table=key.ref_table),
            root_cause=_("The key was added by a hand-written migration without the matching `ForeignKey` in the model."),
            fix=Fix(short_term=_("Declare it on %(owner)s: `sa.ForeignKey(\"%(ref_table)s.%(ref_columns)s\"", owner=owner, ref_table=key.ref_table, ref_columns=key.ref_columns[0])
                               + (_(", ondelete=\"%(on_delete)s\"", on_delete=key.on_delete) if key.on_delete else "") + _(")` on ")
                               + ", ".join(key.columns) + _(" (or a `ForeignKeyConstraint` for a composite key)."),
                    medium_term=_("Run `alembic check` in CI; hand-written migrations come with their model change."),
                    long_term=_("The models declare every constraint the application's migrations create.")),
            verification=_verification(table),
            table=table, column=key.columns[0] if len(key.columns) == 1 else None,
            related=(Related(orm.location, _("%(owner)s does not declare this key", owner=owner)),))

    def _options_differ(self, orm: Table, difference: ElementDifference) -> Finding:
        table, left, right = orm.key, difference.orm, difference.database
        parts = []
        if "on delete" in difference.aspects:
            parts.append(f"ON DELETE model {left.on_delete or 'NO ACTION'}, database {right.on_delete or 'NO ACTION'}")
        if "on update" in difference.aspects:
            parts.append(f"ON UPDATE model {left.on_update or 'NO ACTION'}, database {right.on_update or 'NO ACTION'}")
        if "deferrable" in difference.aspects:
            parts.append(f"model {_deferral(left)}, database {_deferral(right)}")
        return self.finding(
            left.location, _("%(table)s %(reference)s: ", table=table, reference=_reference(left)) + join("; ", parts),
            _("The foreign key %(table)s %(reference)s exists on both sides but differs: ", table=table, reference=_reference(left)) + join("; ", parts) + ".",
            impact=_("Worst case: deleting or updating a %(ref_table)s row does something else in production than the "
                   "model and its tests expect: %(table)s rows are deleted that the code meant to keep, or the delete fails "
                   "with a foreign key violation. Most likely: cascades that pass in tests fail or overreach in production.", ref_table=left.ref_table, table=table),
            root_cause=_("The key's options were changed on one side only."),
            fix=Fix(short_term=_("Decide which side is right; change the model's `ForeignKey(...)` options to match, or "
                               "replace the key in a revision (`op.drop_constraint` + `op.create_foreign_key` with "
                               "`postgresql_not_valid=True`, validated in a later revision)."),
                    medium_term=_("Run `alembic check` in CI."),
                    long_term=_("Model and revision change in the same pull request.")),
            verification=_verification(table), table=table, column=left.columns[0] if len(left.columns) == 1 else None,
            related=(Related(right.location, _("database foreign key")),))


def _reference(key: ForeignKey) -> str:
    target = f"{key.ref_schema}.{key.ref_table}" if key.ref_schema and key.ref_schema != "public" else key.ref_table
    return f"({', '.join(key.columns)}) -> {target}({', '.join(key.ref_columns)})"


def _name(table: Table, key: ForeignKey) -> str:
    return key.name or f"fk_{table.name}_{'_'.join(key.columns)}_{key.ref_table}"


def _orphans(key: ForeignKey) -> str:
    matches = " AND ".join(f"r.{ref} = t.{column}" for column, ref in zip(key.columns, key.ref_columns))
    present = " AND ".join(f"t.{column} IS NOT NULL" for column in key.columns)
    return f"{present} AND NOT EXISTS (SELECT 1 FROM {key.ref_table} r WHERE {matches})"


def _deferral(key: ForeignKey) -> str:
    if (key.initially or "").upper() == "DEFERRED":
        return "DEFERRABLE INITIALLY DEFERRED"
    return "DEFERRABLE" if key.deferrable else "NOT DEFERRABLE"


def _verification(table: str) -> str:
    return (_("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '%(table)s'::regclass AND "
            "contype = 'f';  -- the model's foreign keys, no more, no fewer; `alembic check` reports no new upgrade operations", table=table))
