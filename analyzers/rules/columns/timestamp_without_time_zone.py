from __future__ import annotations

from typing import Iterator, Optional

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..places import column_type_place
from ...i18n import _


class TimestampWithoutTimeZone(Rule):
    """## What it finds
    Columns of type `timestamp without time zone` (SQLAlchemy `DateTime()` without
    `timezone=True`, SQL `timestamp`). Not in a project whose Alembic revisions also serve
    MySQL or SQLite (they branch on the engine, PostgreSQL included, or use its types, or env.py
    renders batch operations): there naive UTC timestamps are the portable choice, since
    MySQL's `DATETIME` holds no offset.

    ## Why it matters
    The value carries no offset: what it means depends on the time zone of whichever process
    wrote it. Servers in different zones, a DST change or a driver that converts to local time
    shift stored instants silently, and comparisons with `now()` (a `timestamptz`) go through
    the session's `TimeZone` setting.

    ## Example
    ```python
    created_at = db.Column(db.DateTime, default=datetime.utcnow)
    ```

    ## Use instead
    ```python
    created_at = db.Column(db.DateTime(timezone=True), server_default=sa.func.now())
    ```
    Convert existing data with `ALTER TABLE t ALTER COLUMN c TYPE timestamptz USING c AT TIME ZONE 'UTC'`
    (a rewrite under ACCESS EXCLUSIVE: stage it on big tables, see the migration-safety rules).

    ## How to verify
    `SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'timestamp without time zone';`
    returns no rows.
    """

    code = "SL201"
    grouped_by = "workspace"
    name = "timestamp-without-time-zone"
    dimension = 2
    severity = "P2"
    summary = _("timestamp column without time zone")
    peers = ("squawk:prefer-timestamp-tz", "pgls:preferTimestamptz")

    valid = (Example({"app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Event(Base):\n    __tablename__ = 'events'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "    created_at = sa.Column(sa.DateTime(timezone=True))\n")}),
        # CTFd: the same revisions run on MySQL, SQLite and PostgreSQL
        Example({"app/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
            "class Event(Base):\n    __tablename__ = 'events'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    created_at = sa.Column(sa.DateTime)\n"),
            "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": "",
            "migrations/versions/a1_precision.py": (
                "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import mysql\n"
                "revision = 'a1'\ndown_revision = None\n\ndef upgrade():\n    url = str(op.get_bind().engine.url)\n"
                "    if url.startswith('mysql'):\n        op.alter_column('events', 'created_at', type_=mysql.DATETIME(fsp=6))\n\n"
                "def downgrade():\n    pass\n")}),
        # mealie: its revisions branch on PostgreSQL, the other engine being SQLite
        Example({"app/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
            "class Event(Base):\n    __tablename__ = 'events'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    created_at = sa.Column(sa.DateTime)\n"),
            "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": "",
            "migrations/versions/a1_search.py": (
                "from alembic import op\n\nrevision = 'a1'\ndown_revision = None\n\n\ndef is_postgres():\n"
                "    return op.get_context().dialect.name == \"postgresql\"\n\n\ndef upgrade():\n    if is_postgres():\n"
                "        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')\n\n\ndef downgrade():\n    pass\n")}),
    )
    invalid = (Example({"app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Event(Base):\n    __tablename__ = 'events'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "    created_at = sa.Column(sa.DateTime)  # expect\n")}),
        Example({"migrations/V1__events.sql": "CREATE TABLE events (\n  id bigint PRIMARY KEY,\n  seen_at timestamp NOT NULL  -- expect\n);\n"}),
        # a type change is reported where it happens
        Example({"migrations/V1__events.sql": "CREATE TABLE events (id bigint PRIMARY KEY, seen_at timestamptz);\n",
                 "migrations/V2__local.sql": "ALTER TABLE events ALTER COLUMN seen_at TYPE timestamp;  -- expect\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        if context.migrations_serve_other_engines:
            return
        for table in context.tables():
            if not table.partition_of:
                yield from context.per_subject(self.code, table.key, self._table_findings, table, context.model_twin(table))

    def _table_findings(self, table: Table, twin: Optional[Table]) -> Iterator[Finding]:
        for column in table.columns:
            if not column.type.startswith(("timestamp without time zone", "timestamp(")) or "with time zone" in column.type:
                continue
            location, related = column_type_place(column, twin)
            yield self.finding(
                location, _("%(table)s.%(column)s is a timestamp without time zone", table=table.name, column=column.name),
                _("%(table)s.%(column)s (%(type)s) stores no UTC offset.", table=table.name, column=column.name, type=column.type),
                impact=_("Worst case: instants written by services in different zones or around a DST change are "
                       "off by hours and ordering or retention queries pick the wrong rows. Most likely: a "
                       "driver or ORM default converts to local time on one code path and not another."),
                root_cause=_("The ORM type `DateTime()` defaults to `timezone=False`."),
                fix=Fix(short_term=_("Declare `%(column)s` as `DateTime(timezone=True)` for new columns and "
                                   "write only UTC values.", column=column.name),
                        medium_term=_("Migrate: `ALTER TABLE %(table)s ALTER COLUMN %(column)s TYPE timestamptz "
                                    "USING %(column)s AT TIME ZONE 'UTC'` (staged on big tables).", table=table.name, column=column.name),
                        long_term=_("Adopt a standard: every instant is timestamptz; local dates are `date` columns.")),
                verification=_("SELECT data_type FROM information_schema.columns WHERE table_name = '%(table)s' "
                             "AND column_name = '%(column)s';  -- expect 'timestamp with time zone'", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)
