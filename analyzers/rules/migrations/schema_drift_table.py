from __future__ import annotations

from typing import Iterator

from ...schema.drift import has_migrations, migration_history, newest_migration
from ...schema.model import Table, table_key
from ...schema.operations import UnsupportedStatement
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

_MODELS = ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase, relationship\n\n\n"
           "class Base(DeclarativeBase):\n    pass\n\n\n"
           "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n")
_REFUND = "\n\nclass Refund(Base):  # expect\n    __tablename__ = 'refunds'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n"
_ALEMBIC = {"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": ""}


def _revision(body: str) -> str:
    return ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n\n"
            f"def upgrade():\n    op.create_table('orders', sa.Column('id', sa.BigInteger(), primary_key=True))\n{body}\n\n"
            "def downgrade():\n    op.drop_table('orders')\n")


# Statements SchemaLens does not model but that give the ORM something to map: a view, or a
# table built from a query.


class SchemaDriftTable(Rule):
    """## What it finds
    A table that a model declares but no migration creates, or that the migrations create but
    no model maps. Checked only when the workspace has both models and migrations (a project
    without migrations cannot drift from them). A table created by a migration history that
    creates none of the modelled tables (a SQL folder another team owns for its reporting
    tables, a plugin's Alembic environment of its own) is not expected to have a model, and neither is a partition, nor a table a library
    maps at run time (SQLAlchemy-Continuum's `<table>_version` of `__versioned__` models and of
    their association tables, and its `transaction` table), nor one a mixin's `declared_attr`
    maps at run time for each model that inherits it (SQLAlchemy's table-per-related pattern:
    `type(f"{cls.__name__}Event", (Event, Base), {"__tablename__": f"{cls.__name__.lower()}_events",
    ...})`), nor the table of a model class whose `__tablename__` comes from a library base
    SchemaLens does not read (fastapi-users' `SQLAlchemyBaseOAuthAccountTableUUID`: the table
    whose name, without case or underscores, is the class's); the coverage section names them.
    A model table no migration creates is not reported when the application creates its models'
    tables each time it starts (jupyterhub's `Base.metadata.create_all(engine)` as the hub starts,
    not under a condition nor in a one-off `init_db`): the table is there whenever it runs.

    ## Why it matters
    A model without its table fails at run time, on the migrated database only: the first
    query raises `relation "refunds" does not exist`, while tests built with `create_all()`
    pass. A table without a model is invisible to the code that owns the schema: the next
    `alembic revision --autogenerate` writes `op.drop_table(...)` for it, and a reviewer who
    trusts the generated revision deletes the table and its data.

    ## Example
    ```python
    class Refund(Base):              # app/models.py: no revision creates "refunds"
        __tablename__ = "refunds"
    ```

    ## Use instead
    Generate and review the revision in the same change as the model
    (`alembic revision --autogenerate -m "add refunds"`), or, for a table that another tool
    owns, keep it out of autogenerate with an `include_object` hook in `env.py`.

    ## How to verify
    `SELECT to_regclass('public.refunds');` is not NULL on a migrated database, and
    `alembic check` reports no new upgrade operations (`alembic revision --autogenerate` gives
    an empty revision).
    """

    code = "SL520"
    compares_layers = True
    name = "schema-drift-table"
    dimension = 5
    severity = "P1"
    summary = _("table declared by the models but not created by migrations, or the reverse")

    valid = (
        Example({"app/models.py": _MODELS, **_ALEMBIC, "migrations/versions/a1_orders.py": _revision("")}),
        Example({"app/models.py": _MODELS + _REFUND.replace("  # expect", "")}),  # no migrations: nothing to drift from
        Example({"app/models.py": _MODELS, **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(""),
                 "reporting/migrations/V1__daily_sales.sql": "CREATE TABLE daily_sales (day date PRIMARY KEY, total numeric);\n"}),
        Example({"app/models.py": _MODELS + _REFUND.replace("  # expect", ""), **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
            "    op.execute('CREATE VIEW refunds AS SELECT id FROM orders')")}),
        # ihatemoney: SQLAlchemy-Continuum maps the version tables of `__versioned__` models (and of
        # their association tables) and its transaction table at run time
        Example({"app/models.py": _MODELS.replace("    __tablename__ = 'orders'\n", "    __tablename__ = 'orders'\n    __versioned__ = {}\n")
                 + "    tags = relationship('Tag', secondary='order_tags')\n\n\n"
                   "class Tag(Base):\n    __tablename__ = 'tags'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n\n\n"
                   "order_tags = sa.Table('order_tags', Base.metadata, sa.Column('order_id', sa.ForeignKey('orders.id')),\n"
                   "                      sa.Column('tag_id', sa.ForeignKey('tags.id')))\n",
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
            "    op.create_table('tags', sa.Column('id', sa.BigInteger(), primary_key=True))\n"
            "    op.create_table('order_tags', sa.Column('order_id', sa.BigInteger()), sa.Column('tag_id', sa.BigInteger()))\n"
            "    op.create_table('transaction', sa.Column('id', sa.BigInteger(), primary_key=True))\n"
            "    op.create_table('orders_version', sa.Column('id', sa.BigInteger()), sa.Column('transaction_id', sa.BigInteger()))\n"
            "    op.create_table('order_tags_version', sa.Column('order_id', sa.BigInteger()), sa.Column('transaction_id', sa.BigInteger()))")}),
        # warehouse: each model with events gets an events table from a class its mixin builds
        Example({"app/models.py": _MODELS.replace("class Order(Base):", "class HasEvents:\n"
                                                  "    @declared_attr\n    def events(cls):\n"
                                                  "        event_cls = type(f'{cls.__name__}Event', (Base,), {\n"
                                                  "            '__tablename__': f'{cls.__name__.lower()}_events',\n"
                                                  "            'id': sa.Column(sa.BigInteger, primary_key=True)})\n"
                                                  "        return relationship(event_cls)\n\n\n"
                                                  "class Order(HasEvents, Base):").replace(
                     "from sqlalchemy.orm import DeclarativeBase,", "from sqlalchemy.orm import DeclarativeBase, declared_attr,"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
            "    op.create_table('order_events', sa.Column('id', sa.BigInteger(), primary_key=True))")}),
        # onyx: fastapi-users' base class names the table of OAuthAccount ("oauth_account")
        Example({"app/models.py": "from fastapi_users_db_sqlalchemy import SQLAlchemyBaseOAuthAccountTableUUID\n"
                                  + _MODELS + "\n\nclass OAuthAccount(SQLAlchemyBaseOAuthAccountTableUUID, Base):\n"
                                              "    access_token = sa.Column(sa.Text, nullable=False)\n",
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
            "    op.create_table('oauth_account', sa.Column('id', sa.BigInteger(), primary_key=True))")}),
        # jupyterhub: the application creates its models' tables each time it starts
        Example({"app/models.py": _MODELS + _REFUND.replace("  # expect", "")
                 + "\n\ndef new_session_factory(url):\n    engine = sa.create_engine(url)\n"
                   "    Base.metadata.create_all(engine)\n    return engine\n",
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision("")}),
        # ckan: a plugin's Alembic environment of its own creates only tables no model maps
        Example({"app/models.py": _MODELS, **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(""),
                 "plugins/tracking/migration/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
                 "plugins/tracking/migration/env.py": "",
                 "plugins/tracking/migration/versions/t1_raw.py": (
                     "from alembic import op\nimport sqlalchemy as sa\nrevision = 't1'\ndown_revision = None\n\n\n"
                     "def upgrade():\n    op.create_table('tracking_raw', sa.Column('url', sa.Text()))\n\n\n"
                     "def downgrade():\n    op.drop_table('tracking_raw')\n")}),
    )
    invalid = (
        Example({"app/models.py": _MODELS + _REFUND, **_ALEMBIC, "migrations/versions/a1_orders.py": _revision("")}),
        Example({"app/models.py": _MODELS, **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
            "    op.create_table('coupons', sa.Column('code', sa.Text(), primary_key=True))  # expect")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        model = context.model
        if not model.orm.tables or not has_migrations(model):
            return
        relations = self._relations_not_modelled(context)
        # the tables of every database the migrations build (nova's API database too), the main one's last: they win
        databases = sorted((d for d in model.databases if d.main or not d.test_fixture), key=lambda d: d.main)
        created = {key: table for database in databases for key, table in database.layer.tables.items()}
        # a model table no migration creates is made by the application itself when it creates them all as it starts
        made_at_start = context.tables_created_at_start is not None
        for key, table in sorted(model.orm.tables.items()):
            if key not in created and key not in relations and not made_at_start:
                yield self._model_only(context, table)
        owners = self._owning_histories(context, created)
        library_tables = {table for table, _ in model.coverage.library_tables}
        library_named = {_squashed(cls) for cls, _ in model.coverage.library_named}
        for key, table in sorted(created.items()):
            if key not in model.orm.tables and key not in library_tables and not table.partition_of \
                    and _squashed(table.name) not in library_named \
                    and migration_history(model, table.location.path) in owners:
                yield self._database_only(table)

    def _owning_histories(self, context: AuditContext, created: dict) -> set[str]:
        """Migration histories that create at least one modelled table (every Alembic one when none does)."""
        model = context.model
        owners = {migration_history(model, table.location.path) for key, table in created.items() if key in model.orm.tables}
        return owners or {migration_history(model, path) for path in model.revision_files}

    def _relations_not_modelled(self, context: AuditContext) -> set[str]:
        """Names of views and CREATE TABLE AS results in the migrations, read at their statements."""
        found = set()
        for step in context.model.steps:
            for operation in step.operations:
                if not isinstance(operation, UnsupportedStatement) or operation.kind not in ("View", "CreateTableAs"):
                    continue
                name = context.relation_created_by(operation)
                if name is not None:
                    *schema, table = name.replace('"', "").split(".")
                    found.add(table_key(table, schema[-1] if schema else None))
        return found

    def _model_only(self, context: AuditContext, table: Table) -> Finding:
        head = newest_migration(context.model)
        what = _("model %(class_name)s", class_name=table.class_name) if table.class_name else _("Table(%(table)r)", table=table.name)
        return self.finding(
            table.location, _("%(table)s is declared by the models but no migration creates it", table=table.key),
            _("%(what)s maps table %(table)s, but replaying the migrations gives no such table.", what=what, table=table.key),
            impact=_("Worst case: every request that touches %(value)s fails with `relation \"%(table)s\" does "
                   "not exist` right after the deploy, on the migrated database only. Most likely: tests built with "
                   "`create_all()` pass and staging or production is the first to fail.", value=table.class_name or table.name, table=table.name),
            root_cause=_("The model was added or renamed without generating (or committing) the revision that creates its table."),
            fix=Fix(short_term=_("`alembic revision --autogenerate -m \"create %(table)s\"`, check that it holds "
                               "`op.create_table(\"%(table)s\", ...)` with the model's columns and keys, and ship it "
                               "before or with the model.", table=table.name),
                    medium_term=_("Run `alembic check` (and `schemalens check`) in CI, so a model change without its "
                                "revision fails the build."),
                    long_term=_("Migrations are generated from the models and reviewed in the same pull request; tests run "
                              "against a database built by the migrations, not by `create_all()`.")),
            verification=_("SELECT to_regclass('%(qualified)s');  -- not NULL after the migration; "
                         "`alembic check` reports no new upgrade operations (`alembic revision --autogenerate` is empty)", qualified=_qualified(table)),
            table=table.key,
            related=(Related(head, _("newest migration: none creates this table")),) if head else ())

    def _database_only(self, table: Table) -> Finding:
        related = (Related(table.changed, _("last changed")),) if table.changed and table.changed != table.location else ()
        return self.finding(
            table.location, _("%(table)s is created by migrations but no model maps it", table=table.key),
            _("The migrations create table %(table)s (and leave it at head), but no model class or Table() declares it.", table=table.key),
            impact=_("Worst case: the next `alembic revision --autogenerate` writes `op.drop_table(\"%(table)s\")`, a "
                   "reviewer trusts it and the table and its data are gone. Most likely: code reads it with raw SQL that "
                   "no type checker or autogenerate sees, and its columns drift from what that code expects.", table=table.name),
            root_cause=_("The table was created by hand-written migration SQL, or its model was deleted while the table "
                       "was kept."),
            fix=Fix(short_term=_("Declare %(table)s in the models (every column, key and index as migrated), or, if it "
                               "is really unused, drop it in a revision after checking nothing reads it.", table=table.name),
                    medium_term=_("If another tool owns %(table)s, keep it out of autogenerate with an `include_object` "
                                "hook in `env.py` and document the owner.", table=table.name),
                    long_term=_("One owner per table: the models describe every table the application's migrations create.")),
            verification=_("SELECT to_regclass('%(qualified)s');  -- the table exists; "
                         "`alembic check` proposes no `drop_table` for it once it is modelled (or excluded)", qualified=_qualified(table)),
            table=table.key, related=related)


def _qualified(table: Table) -> str:
    return f"{table.schema or 'public'}.{table.name}"


def _squashed(name: str) -> str:
    """A class or table name without case or underscores: the table a library base names for a
    model class (fastapi-users: `OAuthAccount` -> "oauth_account", `AccessToken` -> "accesstoken")
    is taken to be the one whose name squashes alike."""
    return name.replace("_", "").lower()
