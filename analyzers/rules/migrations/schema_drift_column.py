from __future__ import annotations

import re
from dataclasses import replace
from typing import Iterator

from ...schema.drift import ColumnDifference, column_differences, effective_nullable, has_migrations, shared_tables
from ...schema.model import Column, Table
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ..places import column_place
from ...i18n import _, join

_ALEMBIC = {"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": ""}


def _models(columns: str) -> str:
    return ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n"
            "class Base(DeclarativeBase):\n    pass\n\n\n"
            "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n" + columns)


def _revision(columns: str) -> str:
    return ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n\n"
            "def upgrade():\n    op.create_table(\n        'orders',\n        sa.Column('id', sa.BigInteger(), nullable=False),\n"
            f"{columns}        sa.PrimaryKeyConstraint('id'),\n    )\n\n\n"
            "def downgrade():\n    op.drop_table('orders')\n")


_MODEL_COLUMNS = ("    status = sa.Column(sa.String(20), nullable=False, server_default='new')\n"
                  "    total = sa.Column(sa.Numeric(12, 2), nullable=False, server_default=sa.text('0'))\n"
                  "    paid = sa.Column(sa.Boolean, nullable=False, server_default=sa.false())\n"
                  "    created_at = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())\n")
_MIGRATED_COLUMNS = ("        sa.Column('status', sa.VARCHAR(length=20), nullable=False, server_default=sa.text(\"'new'::character varying\")),\n"
                     "        sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False, server_default='0.00'),\n"
                     "        sa.Column('paid', sa.Boolean(), nullable=False, server_default=sa.text('false')),\n"
                     "        sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), nullable=True, server_default=sa.text('CURRENT_TIMESTAMP')),\n")


_PROJECT_TYPES = ("import enum\nfrom sqlalchemy.dialects import postgresql\nfrom sqlalchemy.sql import functions\n"
                  "from sqlalchemy.types import TypeDecorator\n\n\n"
                  "class JSON(TypeDecorator):\n    impl = postgresql.JSONB\n\n\n"
                  "class GenerateUUID(functions.FunctionElement):\n    name = 'uuid_default'\n\n\n"
                  "class Status(str, enum.Enum):\n    NOT_READY = 'NOT_READY'\n")


class SchemaDriftColumn(Rule):
    """## What it finds
    Columns of a table that both the models and the migrations define, where the two disagree:
    a column on one side only, or a column whose type, nullability or server default differs.
    Spellings PostgreSQL treats as the same do not count (`sa.String(20)` and `VARCHAR(20)`,
    `'0'` and `0.00` as a numeric default, `now()` and `CURRENT_TIMESTAMP`, casts), nor do
    types SchemaLens cannot read (a revision's type imported from the project or another library
    goes by its module path, never by a PostgreSQL type of the same name) or defaults it cannot
    render as SQL (`FetchedValue()`, an enum member, a construct compiled per dialect).
    Models that reflect their table (`autoload_with`, `DeferredReflection`) are not compared.

    ## Why it matters
    SQLAlchemy selects every mapped column: a model column that no migration adds makes every
    query on the table fail with `column ... does not exist`, on the migrated database only,
    while tests built with `create_all()` pass. A NOT NULL column the model does not know makes
    its inserts fail; a nullability or type the model gets wrong lets bad values in or turns
    good ones away; a different server default gives rows written outside the ORM other values
    than the tests saw. The next `alembic revision --autogenerate` turns each difference into
    an `add_column`, `drop_column` or `alter_column` that a reviewer may not expect.

    ## Example
    ```python
    class Order(Base):
        gift_message = db.Column(db.Text)    # no revision adds orders.gift_message
    ```

    ## Use instead
    Change the model and its revision together: `alembic revision --autogenerate -m "add
    orders.gift_message"` gives `op.add_column("orders", sa.Column("gift_message", sa.Text(),
    nullable=True))`. When the database is right, change the model to match it instead.

    ## How to verify
    `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
    WHERE table_name = 'orders';` matches the model, and `alembic check` (with
    `compare_server_default=True` in `env.py` for defaults) reports no new upgrade operations.
    """

    code = "SL521"
    compares_layers = True
    name = "schema-drift-column"
    dimension = 5
    severity = "P1"
    summary = _("column missing on one side, or type/nullability/server default differs between models and migrations")

    valid = (
        Example({"app/models.py": _models(_MODEL_COLUMNS), **_ALEMBIC,
                 "migrations/versions/a1_orders.py": _revision(_MIGRATED_COLUMNS).replace(
                     "import sqlalchemy as sa\n", "import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n")}),
        Example({"app/models.py": _models("    note = sa.Column(sa.Text)\n"),
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigserial PRIMARY KEY, note text);\n"}),
        # CTFd, dispatch, ckan: the ORM fills the column (`default=`, `default_factory=`); the server default only serves
        # the migration's existing rows, and no code inserts with SQL.
        Example({"app/models.py": _models("    position = sa.Column(sa.Integer, nullable=False, default=0)\n"
                                          "    valid = sa.Column(sa.Boolean, default=False)\n"
                                          "    extras = mapped_column(sa.Text, default_factory=str)\n").replace(
                     "from sqlalchemy.orm import DeclarativeBase\n", "from sqlalchemy.orm import DeclarativeBase, mapped_column\n"),
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigserial PRIMARY KEY, position integer NOT NULL DEFAULT 0,\n"
                                      "  valid boolean DEFAULT true, extras text DEFAULT '');\n"}),
        # litestar-fullstack: the model's Text type, written by autogenerate as its String parent
        Example({"app/models.py": _models("    note = sa.Column(sa.Text)\n"),
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigserial PRIMARY KEY, note varchar);\n"}),
        # dispatch: a migration widened the column to unconstrained numeric; the model keeps numeric(10,2)
        Example({"app/models.py": _models("    hours = sa.Column(sa.Numeric(10, 2))\n    note = sa.Column(sa.String(64))\n"),
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigserial PRIMARY KEY, hours numeric, note text);\n"}),
        Example({"app/models.py": _models("    __table_args__ = {'autoload_with': engine}  # reflected: columns come from the database\n"),
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, note text NOT NULL);\n"}),
        # prefect: the project's own JSON type (a TypeDecorator over JSONB) in the revision, an enum
        # member and a construct compiled per dialect as server defaults, `server_default=None`
        Example({"app/types.py": _PROJECT_TYPES,
                 "app/models.py": "from app.types import JSON, GenerateUUID, Status\n" + _models(
                     "    payload = sa.Column(JSON)\n"
                     "    token = sa.Column(sa.Uuid, server_default=GenerateUUID())\n"
                     "    status = sa.Column(sa.String(20), server_default=Status.NOT_READY)\n"
                     "    options = sa.Column(sa.Text, server_default=None)\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
                     "        sa.Column('payload', JSON, nullable=True),\n"
                     "        sa.Column('token', sa.Uuid(), server_default=sa.text('gen_random_uuid()'), nullable=True),\n"
                     "        sa.Column('status', sa.String(length=20), server_default='NOT_READY', nullable=True),\n"
                     "        sa.Column('options', sa.Text(), nullable=True),\n").replace(
                     "import sqlalchemy as sa\n", "import sqlalchemy as sa\nfrom app.types import JSON\n")}),
        # privacyidea: mapped_column from sqlalchemy.testing.schema, lengths read from a dict of
        # the module or computed at run time, sa.false() as the database default; chaos_genius:
        # literal(True) as the model's
        Example({"app/models.py": _models(
                     "    note = sa.Column(sa.Unicode(LENGTHS.get('note')))\n"
                     "    serial = sa.Column(sa.Unicode(LENGTHS['serial']))\n"
                     "    label = sa.Column(sa.Unicode(configured_length('label')))\n"
                     "    paid = mapped_column(sa.Boolean, nullable=False, server_default=sa.false())\n"
                     "    active = sa.Column(sa.Boolean, server_default=sa.literal(True))\n").replace(
                     "from sqlalchemy.orm import DeclarativeBase\n",
                     "from sqlalchemy.orm import DeclarativeBase\nfrom sqlalchemy.testing.schema import mapped_column\n"
                     "from app.lengths import configured_length\n\nLENGTHS = {'note': 200, 'serial': 40}\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
                     "        sa.Column('note', sa.Unicode(length=200), nullable=True),\n"
                     "        sa.Column('serial', sa.Unicode(length=40), nullable=True),\n"
                     "        sa.Column('label', sa.Unicode(length=80), nullable=True),\n"
                     "        sa.Column('paid', sa.Boolean(), nullable=False, server_default=sa.false()),\n"
                     "        sa.Column('active', sa.Boolean(), server_default=sa.text('true')),\n")}),
        # privacyidea: columns built in a loop, passed as `*columns`: the table is not compared
        Example({"app/models.py": _models("    bucket_1s = sa.Column(sa.BigInteger, nullable=False)\n"
                                          "    bucket_5s = sa.Column(sa.BigInteger, nullable=False)\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": (
                     "from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                     "BUCKETS = ('bucket_1s', 'bucket_5s')\n\n\n"
                     "def upgrade():\n    columns = [sa.Column('id', sa.BigInteger(), primary_key=True)]\n"
                     "    for bucket in BUCKETS:\n        columns.append(sa.Column(bucket, sa.BigInteger(), nullable=False))\n"
                     "    op.create_table('orders', *columns)\n"
                     "    op.create_index('ix_orders_bucket_1s', 'orders', ['bucket_1s'])\n\n\n"
                     "def downgrade():\n    op.drop_table('orders')\n")}),
        # privacyidea: the rows its test data inserts with SQL are in test databases only
        Example({"app/models.py": _models("    valid = sa.Column(sa.Boolean, nullable=False, default=False)\n"),
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigserial PRIMARY KEY, valid boolean NOT NULL DEFAULT false);\n",
                 "tests/testdata/seed_postgresql.sql": "INSERT INTO orders (id) VALUES (1);\n"}),
    )
    invalid = (
        Example({"app/models.py": _models("    status = sa.Column(sa.String(20), nullable=False)\n"
                                          "    gift_message = sa.Column(sa.Text)  # expect\n"),
                 **_ALEMBIC, "migrations/versions/a1_orders.py": _revision(
                     "        sa.Column('status', sa.String(length=20), nullable=False),\n"
                     "        sa.Column('channel', sa.String(length=20), nullable=False),  # expect\n")}),
        Example({"app/models.py": _models("    total = sa.Column(sa.Numeric(12, 2), nullable=False)  # expect\n"
                                          "    note = sa.Column(sa.Text)  # expect\n"
                                          "    status = sa.Column(sa.String(20), server_default='new')  # expect\n"
                                          "    channel = sa.Column(sa.String(20), default='web')  # expect\n"),
                 "app/imports.py": "def load(connection, rows):\n"
                                   "    connection.execute('INSERT INTO orders (id, total, note) VALUES (%s, %s, %s)', rows)\n",
                 "db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, total double precision NOT NULL,\n"
                                      "  note text NOT NULL, status varchar(20) DEFAULT 'pending', channel varchar(20) DEFAULT 'api');\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        if not has_migrations(context.model):
            return
        partly_read = {table for _, table in context.model.coverage.library_bases}
        for orm, database in shared_tables(context.model, context.text_of):
            yield from context.per_subject(self.code, orm.key, self._table_findings, orm, database,
                                           orm.key in partly_read, context.code_inserts_with_sql(orm.name))

    def _table_findings(self, orm: Table, database: Table, partly_read: bool, inserted_with_sql: bool) -> Iterator[Finding]:
        """`partly_read`: a library base class may declare columns of the table; `inserted_with_sql`:
        code inserts into it with SQL, where the ORM's client-side defaults do not apply."""
        for difference in column_differences(orm, database):
            if difference.database is None:
                yield self._model_only(orm, database, difference.orm)
            elif difference.orm is None:
                if not partly_read:
                    yield self._database_only(orm, database, difference.database)
            else:
                aspects = _reportable_aspects(difference, inserted_with_sql)
                if aspects:
                    yield self._mismatch(orm, database, replace(difference, aspects=aspects))

    def _model_only(self, orm: Table, database: Table, column: Column) -> Finding:
        table = orm.key
        related = [Related(database.location, _("%(table)s created here; no migration adds %(column)s", table=table, column=column.name))]
        if database.changed and database.changed != database.location:
            related.append(Related(database.changed, _("%(table)s last changed", table=table)))
        not_null = not column.nullable and not column.server_default
        return self.finding(
            column.location, _("%(table)s.%(column)s is declared in the model but no migration creates it", table=table, column=column.name),
            _("The model declares %(table)s.%(column)s (%(spelled)s), but the migrations never "
            "add it to %(table)s.", table=table, column=column.name, spelled=_spelled(column, column.nullable)),
            impact=_("Worst case: every ORM query on %(table)s selects %(column)s and fails with `column %(table)s.%(column)s "
                   "does not exist` as soon as the new code is deployed: an outage of everything that reads "
                   "%(value)s. Most likely: tests built with `create_all()` pass and the migrated "
                   "staging or production database is the first to fail.", table=table, column=column.name, value=orm.class_name or table),
            root_cause=_("The model was changed without generating (or committing) the revision that adds the column."),
            fix=Fix(short_term=_("`alembic revision --autogenerate -m \"add %(table)s.%(column)s\"` and check it holds "
                               "`op.add_column(\"%(orm)s\", sa.Column(\"%(column)s\", %(sa_type)s, "
                               "nullable=%(nullable)s)%(schema_argument)s)`; deploy it before the code that uses the column.", table=table, column=column.name, orm=orm.name, sa_type=_sa_type(column), nullable=column.nullable, schema_argument=_schema_argument(orm))
                               + (_(" It is NOT NULL without a default: add it nullable, backfill, then set NOT NULL.")
                                  if not_null else ""),
                    medium_term=_("Run `alembic check` (and `schemalens check`) in CI so that a model change without its "
                                "revision fails the build."),
                    long_term=_("Tests run against a database built by the migrations, not by `create_all()`.")),
            verification=_verification(database, column.name),
            table=table, column=column.name, related=tuple(related))

    def _database_only(self, orm: Table, database: Table, column: Column) -> Finding:
        table = orm.key
        nullable = effective_nullable(database, column)
        blocks_inserts = not nullable and not column.server_default and not column.identity
        owner = f"model {orm.class_name}" if orm.class_name else f"Table({orm.name!r})"
        return self.finding(
            column.location, _("%(table)s.%(column)s exists in the database but not in the model", table=table, column=column.name),
            _("The migrations give %(table)s a column %(column)s (%(spelled)s) that %(owner)s does not declare.", table=table, column=column.name, spelled=_spelled(column, nullable), owner=owner),
            impact=(_("Worst case: every insert through %(owner)s fails with `null value in column \"%(column)s\" violates "
                    "not-null constraint`, since the ORM never sets a column it does not know. ", owner=owner, column=column.name) if blocks_inserts else
                    _("Worst case: the next `alembic revision --autogenerate` writes "
                    "`op.drop_column(\"%(table)s\", \"%(column)s\")`, a reviewer trusts it and the column's data is gone. ", table=table, column=column.name))
                   + _("Most likely: code reads %(column)s with raw SQL while tests built from the models lack it.", column=column.name),
            root_cause=_("The column was added by a hand-written migration, or removed from the model while the column was kept."),
            fix=Fix(short_term=_("Declare `%(column)s = sa.Column(%(sa_type)s, nullable=%(nullable)s", column=column.name, sa_type=_sa_type(column), nullable=nullable)
                               + (_(", server_default=sa.text(%(server_default)r)", server_default=column.server_default) if column.server_default else "")
                               + _(")` on %(owner)s, or, if nothing uses it, drop it in a revision once no running code reads it.", owner=owner),
                    medium_term=_("Run `alembic check` in CI; hand-written migrations come with the matching model change."),
                    long_term=_("The models describe every column the application's migrations create.")),
            verification=_verification(database, column.name),
            table=table, column=column.name,
            related=(Related(orm.location, _("%(owner)s does not declare %(column)s", owner=owner, column=column.name)),))

    def _mismatch(self, orm: Table, database: Table, difference: ColumnDifference) -> Finding:
        table, left, right = orm.key, difference.orm, difference.database
        location, related = column_place(right, orm)
        parts, impacts, changes = [], [], []
        if "type" in difference.aspects:
            parts.append(_("model %(type)s, database %(type_2)s", type=left.type, type_2=right.type))
            impacts.append(_("values are bound and compared as %(type)s but stored as %(type_2)s: rounding, "
                           "truncation or `invalid input syntax` errors that tests built from the models never see", type=left.type, type_2=right.type))
            changes.append(f"type_={_sa_type(left)}")
        if "nullable" in difference.aspects:
            parts.append(_("model %(null)s, database %(null_2)s", null=_null(difference.orm_nullable), null_2=_null(difference.database_nullable)))
            impacts.append(_("objects that leave %(right)s None fail to save with a not-null violation", right=right.name) if not
                           difference.database_nullable else
                           _("the database accepts NULL in %(right)s, which the code treats as never missing", right=right.name))
            changes.append(f"nullable={difference.orm_nullable}")
        if "server default" in difference.aspects:
            parts.append(_("model %(default)s, database %(default_2)s", default=_default(left), default_2=_default(right)))
            impacts.append(_("rows inserted without a value (raw SQL, other services, bulk loads) get "
                           "%(value)s in production but %(value_2)s in databases "
                           "built from the models", value=right.server_default or 'NULL', value_2=left.server_default or 'NULL'))
            changes.append(f"server_default=sa.text({left.server_default!r})" if left.server_default else "server_default=None")
        return self.finding(
            location, _("%(table)s.%(right)s: ", table=table, right=right.name) + join("; ", parts),
            _("The model and the migrations disagree on %(table)s.%(right)s: ", table=table, right=right.name) + join("; ", parts) + ".",
            impact=_("Worst case: ") + join("; ", impacts) + _(". Most likely: the difference shows up in production only, "
                   "and the next autogenerated revision carries an `alter_column` nobody asked for."),
            root_cause=_("One side was changed without the other: a model edit with no revision, or a hand-written "
                       "migration with no model edit."),
            fix=Fix(short_term=_("Decide which side is right. If the database is, change the model's %(right)s to match "
                               "(%(spelled)s); if the model is, generate "
                               "`op.alter_column(\"%(orm)s\", \"%(right)s\", %(changes)s%(schema_argument)s)`.", right=right.name, spelled=_spelled(right, difference.database_nullable), orm=orm.name, changes=', '.join(changes), schema_argument=_schema_argument(orm)),
                    medium_term=_("A type change rewrites the table and SET NOT NULL scans it: on a big table use a new "
                                "column and backfill, and a NOT VALID check before SET NOT NULL. Run `alembic check` in CI."),
                    long_term=_("Model and revision change in the same pull request; tests run on a migrated database.")),
            verification=_verification(database, right.name),
            table=table, column=right.name, related=related)


def _reportable_aspects(difference: ColumnDifference, inserted_with_sql: bool) -> tuple[str, ...]:
    """A server default against a model that fills the column client-side (`default=`) is no
    drift while every insert goes through the ORM: it only matters to rows inserted with SQL.
    Nor is a database type that stores every value of the model's type unchanged (`numeric`
    for `numeric(10,2)`, `text` for `varchar(64)`, `bigint` for `integer`): nothing the
    application writes fails or changes."""
    aspects = difference.aspects
    client_filled = difference.orm.default is not None and difference.orm.server_default is None
    if client_filled and not inserted_with_sql:
        aspects = tuple(aspect for aspect in aspects if aspect != "server default")
    if _holds_unchanged(difference.orm.type, difference.database.type):
        aspects = tuple(aspect for aspect in aspects if aspect != "type")
    return aspects


_WIDER_INTEGERS = {"smallint": ("integer", "bigint"), "integer": ("bigint",)}


def _holds_unchanged(model_type: str, database_type: str) -> bool:
    """Whether a column of `database_type` stores every value of `model_type` as it is."""
    if database_type in _WIDER_INTEGERS.get(model_type, ()):
        return True
    if model_type.startswith("numeric(") and database_type == "numeric":
        return True
    length = re.fullmatch(r"character varying\((\d+)\)", model_type)
    if length and database_type in ("text", "character varying"):
        return True
    wider = re.fullmatch(r"character varying\((\d+)\)", database_type)
    return bool(length and wider and int(wider.group(1)) >= int(length.group(1)))


def _schema_argument(table: Table) -> str:
    return f", schema=\"{table.schema}\"" if table.schema and table.schema != "public" else ""


def _null(nullable: bool) -> str:
    return "NULL" if nullable else "NOT NULL"


def _default(column: Column) -> str:
    return f"DEFAULT {column.server_default}" if column.server_default else _("no server default")


def _spelled(column: Column, nullable: bool) -> str:
    default = f" DEFAULT {column.server_default}" if column.server_default else ""
    return f"{column.type} {_null(nullable)}{default}"


_SQLALCHEMY_TYPES = {
    "smallint": "sa.SmallInteger()", "integer": "sa.Integer()", "bigint": "sa.BigInteger()", "text": "sa.Text()",
    "boolean": "sa.Boolean()", "double precision": "sa.Double()", "real": "sa.REAL()", "date": "sa.Date()",
    "timestamp without time zone": "sa.DateTime()", "timestamp with time zone": "sa.DateTime(timezone=True)",
    "time without time zone": "sa.Time()", "json": "sa.JSON()", "jsonb": "postgresql.JSONB()", "uuid": "sa.Uuid()",
    "bytea": "sa.LargeBinary()", "interval": "sa.Interval()", "numeric": "sa.Numeric()", "character varying": "sa.String()",
}


def _sa_type(column: Column) -> str:
    """The column's type as SQLAlchemy code: `db.String(32)` -> `sa.String(32)`, `varchar(32)` -> `sa.String(32)`."""
    written = re.fullmatch(r"(?:\w+\.)*([A-Z]\w*)(\(.*\))?", column.raw_type.strip())
    if written:
        return f"sa.{written.group(1)}{written.group(2) or '()'}"
    sized = re.fullmatch(r"(character varying|numeric)\((\d+)(?:,(\d+))?\)", column.type)
    if sized:
        kind, first, second = sized.groups()
        return f"sa.String({first})" if kind == "character varying" else f"sa.Numeric({first}, {second or 0})"
    return _SQLALCHEMY_TYPES.get(column.type, f"<{column.type}>")


def _verification(table: Table, column: str) -> str:
    return (_("SELECT data_type, character_maximum_length, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = '%(value)s' AND table_name = '%(table)s' AND column_name = '%(column)s';"
            "  -- matches the model; `alembic check` (with compare_server_default=True) reports no new upgrade operations", value=table.schema or 'public', table=table.name, column=column))
