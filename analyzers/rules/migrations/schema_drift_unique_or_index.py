from __future__ import annotations

from typing import Iterator, Union

from ...schema.drift import ElementDifference, has_migrations, shared_tables, unique_and_index_differences
from ...schema.model import Index, Table, UniqueConstraint
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

_ALEMBIC = {"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": ""}


def _models(table_args: str, columns: str = "") -> str:
    return ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n\n"
            f"class User(Base):\n    __tablename__ = 'users'\n    __table_args__ = (\n        {table_args}\n    )\n"
            "    id = sa.Column(sa.BigInteger, primary_key=True)\n"
            + (columns or "    email = sa.Column(sa.String(255), nullable=False)\n    status = sa.Column(sa.Text)\n"))


def _revision(body: str) -> str:
    return ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n\n"
            "def upgrade():\n    op.create_table('users', sa.Column('id', sa.BigInteger(), primary_key=True),\n"
            "                    sa.Column('email', sa.String(length=255), nullable=False), sa.Column('status', sa.Text()))\n"
            f"{body}\n\n\ndef downgrade():\n    op.drop_table('users')\n")


Element = Union[UniqueConstraint, Index]


class SchemaDriftUniqueOrIndex(Rule):
    """## What it finds
    Unique constraints and indexes that the models declare and the migrations do not create,
    or the reverse, compared by their columns or expressions, uniqueness, WHERE and access
    method (not by name): a unique index and a unique constraint on the same columns are the
    same thing. An index on both sides that differs (unique on one side only, another WHERE)
    is reported once. Models that reflect their table are not compared, nor a model's UNIQUE
    on its primary key's columns, which PostgreSQL drops from CREATE TABLE as redundant.

    ## Why it matters
    A unique constraint in the models only is not enforced: duplicates get in, and
    `INSERT ... ON CONFLICT (email)` fails with "there is no unique or exclusion constraint
    matching the ON CONFLICT specification". One in the database only makes inserts fail
    with an IntegrityError that tests built from the models never raise. An index in the
    models only leaves the query it was made for scanning the table in production; one in the
    database only is what the next `alembic revision --autogenerate` drops.

    ## Example
    ```python
    class User(Base):
        email = sa.Column(sa.String(255), unique=True)   # no migration creates the constraint
    ```

    ## Use instead
    Generate the revision with the model change; on a table with rows, build the index first
    with `postgresql_concurrently=True` inside `autocommit_block()` and add the constraint
    `USING INDEX` (`ALTER TABLE users ADD CONSTRAINT uq_users_email UNIQUE USING INDEX ...`).

    ## How to verify
    `SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid =
    'users'::regclass;` lists the model's indexes and unique keys, and `alembic check`
    reports no new upgrade operations.
    """

    code = "SL524"
    compares_layers = True
    name = "schema-drift-unique-or-index"
    dimension = 5
    severity = "P2"
    summary = _("unique constraint or index declared by the models but not by migrations, or the reverse")

    valid = (
        Example({"app/models.py": _models("sa.Index('ix_users_lower_email', sa.func.lower(sa.text('email'))),\n"
                                          "        sa.Index('ix_users_active', 'id', postgresql_where=sa.text(\"status = 'active'\")),",
                                          "    email = sa.Column(sa.String(255), nullable=False, unique=True)\n    status = sa.Column(sa.Text)\n"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.create_index('users_email_key', 'users', ['email'], unique=True)\n"
                     "    op.execute(\"CREATE INDEX users_lower_email_idx ON users (lower((email)::text))\")\n"
                     "    op.execute(\"CREATE INDEX users_active_idx ON users (id) WHERE (status = 'active'::text)\")")}),
        # ckan: the revision names the table in the WHERE (`"users".status`), PostgreSQL does not keep it
        Example({"app/models.py": _models("sa.Index('ix_users_active_email', sa.func.lower(sa.text('email')), unique=True,\n"
                                          "                 postgresql_where=sa.text(\"status = 'active'\")),"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.create_index('ix_users_active_email', 'users', [sa.text('lower(email)')], unique=True,\n"
                     "                    postgresql_where=sa.text('\"users\".status=\\'active\\''))")}),
        # polar: the model declares the unique key twice (UniqueConstraint and unique=True), the database holds it once
        Example({"app/models.py": _models("sa.UniqueConstraint('email'),",
                                          "    email = sa.Column(sa.String(255), nullable=False, unique=True)\n"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.create_unique_constraint('users_email_key', 'users', ['email'])")}),
        # indico: the index written in a declared_attr with `cls` and `func`, in SQL in the revision
        Example({"app/models.py": _models("sa.Index('ix_users_lower_email'),").replace(
                     "    __table_args__ = (\n        sa.Index('ix_users_lower_email'),\n    )\n",
                     "    @declared_attr\n    def __table_args__(cls):\n"
                     "        return (sa.Index('ix_users_status_email', cls.status, sa.func.lower(cls.email), unique=True),)\n\n"
                     ).replace("from sqlalchemy.orm import DeclarativeBase", "from sqlalchemy.orm import DeclarativeBase, declared_attr"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.execute('CREATE UNIQUE INDEX ix_users_status_email ON users (status, lower(email))')")}),
        # heat: an index on created_at, a column oslo.db's TimestampMixin declares
        Example({"app/models.py": _models("sa.Index('ix_users_created_at', 'created_at'),").replace(
                     "import sqlalchemy as sa\n", "import sqlalchemy as sa\nfrom oslo_db.sqlalchemy import models\n").replace(
                     "class User(Base):", "class User(Base, models.TimestampMixin):"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.add_column('users', sa.Column('created_at', sa.DateTime()))\n"
                     "    op.create_index('ix_users_created_at', 'users', ['created_at'])")}),
        # zou, letta: a UNIQUE on the primary key's columns, in the model and in op.create_table;
        # PostgreSQL keeps only the primary key
        Example({"app/models.py": _models("sa.UniqueConstraint('id', name='users_id_uc'),"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": (
                     "from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n\n"
                     "def upgrade():\n    op.create_table('users', sa.Column('id', sa.BigInteger(), primary_key=True),\n"
                     "                    sa.Column('email', sa.String(length=255), nullable=False),\n"
                     "                    sa.Column('status', sa.Text()), sa.UniqueConstraint('id', name='users_id_uc'))\n")}),
    )
    invalid = (
        Example({"app/models.py": _models("sa.UniqueConstraint('email', name='uq_users_email'),  # expect\n"
                                          "        sa.Index('ix_users_status', 'status'),"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.create_index('ix_users_status', 'users', ['status'])\n"
                     "    op.create_index('ix_users_status_email', 'users', ['status', 'email'])  # expect")}),
        Example({"app/models.py": _models("sa.Index('ix_users_email', 'email'),  # expect"),
                 **_ALEMBIC, "migrations/versions/a1_users.py": _revision(
                     "    op.create_index('ix_users_email', 'users', ['email'], unique=True)")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        if not has_migrations(context.model):
            return
        for orm, database in shared_tables(context.model, context.text_of):
            yield from context.per_subject(self.code, orm.key, self._table_findings, orm, database,
                                           orm.key in context.library_tables)

    def _table_findings(self, orm: Table, database: Table, partly_read: bool) -> Iterator[Finding]:
        """`partly_read`: a library base class may declare columns of the table (heat's oslo.db
        TimestampMixin: created_at), and the model's index on one of them was not read."""
        for difference in unique_and_index_differences(orm, database):
            if partly_read and any(orm.column(name) is None for element in (difference.orm, difference.database)
                                   if element is not None for name in element.columns):
                continue
            if difference.database is None:
                yield self._model_only(orm, database, difference.orm)
            elif difference.orm is None:
                yield self._database_only(orm, difference.database)
            else:
                yield self._differs(orm, difference)

    def _model_only(self, orm: Table, database: Table, element: Element) -> Finding:
        table, what = orm.key, _describe(element)
        unique = _is_unique(element)
        return self.finding(
            element.location, _("%(what)s on %(table)s is declared in the model but no migration creates it", what=what, table=table),
            _("The model declares %(what)s on %(table)s", what=what, table=table) + (_(" (%(element)s)", element=element.name) if element.name else "")
            + _(", but the migrations never create it."),
            impact=(_("Worst case: duplicate %(keys)s rows get into %(table)s, and `ON CONFLICT (%(keys)s)` "
                    "fails with \"no unique or exclusion constraint matching\". Most likely: tests built with "
                    "`create_all()` reject duplicates that production accepts.", keys=_keys(element), table=table) if unique else
                    _("Worst case: the queries this index was declared for scan all of %(table)s in production and time out "
                    "under load. Most likely: they are fast in tests built with `create_all()` and slow after deploy.", table=table)),
            root_cause=_("The model gained the index or constraint without a revision, or the revision was written by hand without it."),
            fix=Fix(short_term=_("Generate the revision (`alembic revision --autogenerate`); on a table with rows build "
                               "`CREATE %(value)sINDEX CONCURRENTLY ... ON %(table)s (%(keys)s)` "
                               "in an `autocommit_block()`", value='UNIQUE ' if unique else '', table=table, keys=_keys(element)) + (_(", after removing duplicates, then attach it as the constraint "
                                                                "with `ADD CONSTRAINT ... UNIQUE USING INDEX`.") if unique else "."),
                    medium_term=_("Run `alembic check` in CI so that model and migrations cannot part ways."),
                    long_term=_("Model and revision change in the same pull request; tests run on a migrated database.")),
            verification=_verification(table), table=table, column=_column(element),
            related=(Related(database.location, _("%(table)s created here; no migration adds this %(kind)s", table=table, kind=_kind(element))),))

    def _database_only(self, orm: Table, element: Element) -> Finding:
        table, what = orm.key, _describe(element)
        owner = f"model {orm.class_name}" if orm.class_name else f"Table({orm.name!r})"
        unique = _is_unique(element)
        return self.finding(
            element.location, _("%(what)s on %(table)s exists in the database but not in the model", what=what, table=table),
            _("The migrations create %(what)s on %(table)s", what=what, table=table) + (_(" (%(element)s)", element=element.name) if element.name else "")
            + _(", which %(owner)s does not declare.", owner=owner),
            impact=(_("Worst case: inserts that tests accept fail in production with a unique violation on "
                    "(%(keys)s), or the next autogenerated revision drops the constraint and duplicates get in. "
                    "Most likely: code written against the models does not expect the IntegrityError.", keys=_keys(element)) if unique else
                    _("Worst case: the next `alembic revision --autogenerate` drops the index and the queries that use it "
                    "scan all of %(table)s. Most likely: a reviewer removes the `drop_index` by hand, every time.", table=table)),
            root_cause=_("The index or constraint was added by a hand-written migration without the matching model change."),
            fix=Fix(short_term=_("Declare it on %(owner)s (`sa.%(value)s"
                               "(%(value_2)r, ...)` in `__table_args__`, or `unique=True`/`index=True` on the "
                               "column), or drop it in a revision if nothing needs it.", owner=owner, value='UniqueConstraint' if isinstance(element, UniqueConstraint) else 'Index', value_2=(element.name or '')),
                    medium_term=_("Run `alembic check` in CI; hand-written migrations come with their model change."),
                    long_term=_("The models declare every index and constraint the application's migrations create.")),
            verification=_verification(table), table=table, column=_column(element),
            related=(Related(orm.location, _("%(owner)s does not declare this %(kind)s", owner=owner, kind=_kind(element))),))

    def _differs(self, orm: Table, difference: ElementDifference) -> Finding:
        table, left, right = orm.key, difference.orm, difference.database
        what = _("model %(describe)s, database %(describe_2)s", describe=_describe(left), describe_2=_describe(right))
        return self.finding(
            left.location, _("%(table)s: %(what)s", table=table, what=what),
            _("The model and the migrations index %(table)s differently: %(what)s (%(aspects)s differ).", table=table, what=what, aspects=', '.join(difference.aspects)),
            impact=(_("Worst case: uniqueness is enforced on one side only: duplicates in production, or inserts that "
                    "fail in production and pass in tests. ") if "uniqueness" in difference.aspects else
                    _("Worst case: queries planned against the model's index find a different one in production. "))
                   + _("Most likely: the next autogenerated revision drops and recreates the index."),
            root_cause=_("The index or constraint was changed on one side only."),
            fix=Fix(short_term=_("Decide which side is right; change the model to match the database, or replace the index "
                               "in a revision (build the new one CONCURRENTLY, then drop the old one)."),
                    medium_term=_("Run `alembic check` in CI."),
                    long_term=_("Model and revision change in the same pull request.")),
            verification=_verification(table), table=table, column=_column(left),
            related=(Related(right.location, _("database %(kind)s", kind=_kind(right))),))


def _is_unique(element: Element) -> bool:
    return isinstance(element, UniqueConstraint) or element.unique


def _kind(element: Element) -> str:
    return "unique constraint" if isinstance(element, UniqueConstraint) else "unique index" if element.unique else "index"


def _keys(element: Element) -> str:
    return ", ".join(element.columns)


def _describe(element: Element) -> str:
    text = f"{_kind(element)} ({_keys(element)})"
    if isinstance(element, Index):
        if element.using:
            text += f" USING {element.using}"
        if element.where:
            text += f" WHERE {element.where}"
    return text


def _column(element: Element):
    return element.columns[0] if len(element.columns) == 1 else None


def _verification(table: str) -> str:
    return (_("SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = '%(table)s'::regclass;"
            "  -- the model's indexes and unique keys, no more, no fewer; `alembic check` reports no new upgrade operations", table=table))
