from __future__ import annotations

from typing import Iterator

from ...schema.drift import has_migrations, primary_key_difference, shared_tables
from ...schema.model import Table
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

_MODELS = ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n"
           "class Base(DeclarativeBase):\n    pass\n\n\n"
           "class Event(Base):\n    __tablename__ = 'events'\n")
_SINGLE = "    id = sa.Column(sa.BigInteger, primary_key=True){marker}\n    occurred_at = sa.Column(sa.DateTime(timezone=True), nullable=False)\n"
_COMPOSITE = ("    id = sa.Column(sa.BigInteger, primary_key=True)\n"
              "    occurred_at = sa.Column(sa.DateTime(timezone=True), primary_key=True)\n")
_PARTITIONED = ("CREATE TABLE events (\n  id bigint GENERATED ALWAYS AS IDENTITY,\n  occurred_at timestamptz NOT NULL,\n"
                "  PRIMARY KEY (id, occurred_at)\n) PARTITION BY RANGE (occurred_at);\n")


class SchemaDriftPrimaryKey(Rule):
    """## What it finds
    Tables whose primary key the models and the migrations declare on different columns, or
    that have a primary key on one side only. Models that reflect their table are not compared.
    A table whose migrations leave no primary key but a UNIQUE key on the model's key columns,
    all NOT NULL, has its key enforced under another name: P2, for the missing primary key.

    P0 when the model's key is a strict subset of the database's: typically a model keyed on
    `id` over a partitioned table whose key is `(id, created_at)`, since PostgreSQL requires
    the partition key in every unique key. Otherwise P1.

    ## Why it matters
    The ORM identifies rows by the model's primary key: its identity map holds one object per
    key value and its UPDATEs and DELETEs say `WHERE id = ...`. When the database allows two
    rows with the same `id` (one per partition), `session.get(Event, 42)` returns either one,
    two rows collapse into one object, and an ORM update or delete changes every row with that
    `id`. A key that exists in the models only is not enforced, so duplicates the ORM cannot
    tell apart get in. `alembic revision --autogenerate` does not compare primary keys, so
    nothing else reports it.

    ## Example
    ```python
    class Event(Base):                      # events is PARTITION BY RANGE (occurred_at)
        __tablename__ = "events"            # PRIMARY KEY (id, occurred_at) in the migration
        id = sa.Column(sa.BigInteger, primary_key=True)
    ```

    ## Use instead
    ```python
        id = sa.Column(sa.BigInteger, primary_key=True)
        occurred_at = sa.Column(sa.DateTime(timezone=True), primary_key=True)
    ```
    and look rows up by the full key (`session.get(Event, (42, occurred_at))`). When the key
    must stay `id` alone, the table cannot be partitioned on another column.

    ## How to verify
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND
    a.attnum = ANY (i.indkey) WHERE i.indrelid = 'events'::regclass AND i.indisprimary;`
    lists the model's primary key columns.
    """

    code = "SL522"
    compares_layers = True
    name = "schema-drift-primary-key"
    dimension = 5
    severity = "P1"
    summary = _("primary key differs between models and migrations")

    valid = (
        Example({"app/models.py": _MODELS + _COMPOSITE, "db/V1__events.sql": _PARTITIONED}),
        Example({"app/models.py": _MODELS + _SINGLE.format(marker=""),
                 "db/V1__events.sql": "CREATE TABLE events (id bigserial, occurred_at timestamptz NOT NULL, CONSTRAINT events_pk PRIMARY KEY (id));\n"}),
    )
    invalid = (
        # letta, FitTrackee: the key's other columns dropped (and the primary key with them), then
        # UNIQUE on the rest: the key holds, the primary key is missing (P2)
        Example({"app/models.py": _MODELS + _SINGLE.format(marker="  # expect"),
                 "db/V1__events.sql": ("CREATE TABLE events (id bigint NOT NULL, tag text NOT NULL, occurred_at timestamptz NOT NULL,"
                                       " PRIMARY KEY (id, tag));\n"),
                 "db/V2__retag.sql": "ALTER TABLE events DROP COLUMN tag;\nALTER TABLE events ADD CONSTRAINT events_id_key UNIQUE (id);\n"}),
        Example({"app/models.py": _MODELS + _SINGLE.format(marker="  # expect"), "db/V1__events.sql": _PARTITIONED}),
        Example({"app/models.py": _MODELS + _SINGLE.format(marker="  # expect"),
                 "db/V1__events.sql": "CREATE TABLE events (id bigint NOT NULL, occurred_at timestamptz NOT NULL);\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        if not has_migrations(context.model):
            return
        for orm, database in shared_tables(context.model, context.text_of):
            if primary_key_difference(orm, database) is None:
                continue
            unique = _unique_in_its_place(orm, database)
            yield self._finding(orm, database) if unique is None else self._unique_stands_in(orm, database, unique)

    def _unique_stands_in(self, orm: Table, database: Table, unique) -> Finding:
        """No primary key, but a UNIQUE key on the model's NOT NULL key columns: the key holds;
        what is missing is the name (replication and tools need a primary key). P2."""
        table, key = orm.key, _columns(orm.primary_key.columns)
        name = unique.name or _("the unique key")
        return self.finding(
            orm.primary_key.location, _("%(table)s has no primary key; UNIQUE %(key)s stands in for it", table=table, key=key),
            _("The migrations leave %(table)s without a primary key (a key column was dropped, and the key with it), but "
              "%(name)s enforces %(key)s on NOT NULL columns, the model's key.", table=table, name=name, key=key),
            impact=_("Worst case: logical replication cannot publish UPDATE and DELETE of %(table)s, and tools that need a "
                     "primary key (pg_repack, some CDC connectors) refuse the table. Most likely: nothing until one of them "
                     "is set up.", table=table),
            root_cause=_("Dropping a column of a primary key drops the key; the revision added a unique key instead of a "
                         "new primary key."),
            fix=Fix(short_term=_("Promote it: `ALTER TABLE %(table)s ADD CONSTRAINT %(table_name)s_pkey PRIMARY KEY USING "
                                 "INDEX %(index)s` (the index behind %(name)s).", table=table, table_name=orm.name,
                                 index=unique.name or "<index>", name=name)),
            verification=_("SELECT conname FROM pg_constraint WHERE conrelid = '%(table)s'::regclass AND contype = 'p';  "
                           "-- one row", table=table),
            table=table, related=(Related(unique.location, _("the unique key")),), severity="P2")

    def _finding(self, orm: Table, database: Table) -> Finding:
        table = orm.key
        modelled = orm.primary_key.columns if orm.primary_key else ()
        migrated = database.primary_key.columns if database.primary_key else ()
        subset = bool(modelled) and set(modelled) < set(migrated)
        owner = f"model {orm.class_name}" if orm.class_name else f"Table({orm.name!r})"
        if orm.primary_key is not None:
            location = orm.primary_key.location
            related = Related(database.primary_key.location, _("database primary key")) if database.primary_key else \
                Related(database.location, _("%(table)s created here without a primary key", table=table))
        else:
            location = database.primary_key.location
            related = Related(orm.location, _("%(owner)s declares no primary key", owner=owner))
        key, full = _columns(modelled), _columns(migrated)
        if subset:
            impact = (_("Worst case: two %(table)s rows share %(key)s (one per partition or per %(value)s); "
                      "the identity map turns them into one object, `session.get` returns either, and an ORM UPDATE or "
                      "DELETE `WHERE %(value_2)s` changes every one of them: silent data "
                      "corruption. Most likely: lookups by the partial key return the wrong row once the duplicates appear.", table=table, key=key, value=', '.join(sorted(set(migrated) - set(modelled))), value_2=' AND '.join(f'{c} = ...' for c in modelled)))
        elif not migrated:
            impact = (_("Worst case: the database does not enforce %(key)s: duplicates inserted by retries or raw SQL become "
                      "rows the ORM cannot tell apart, so updates and deletes by key touch all of them. Most likely: tests "
                      "built with `create_all()` have the key and production does not.", key=key))
        elif not modelled:
            impact = (_("Worst case: databases built from the models (tests, new environments) lack the key %(full)s and accept "
                      "duplicates that production rejects. Most likely: inserts that pass in tests fail in production.", full=full))
        else:
            impact = (_("Worst case: the ORM identifies %(table)s rows by %(key)s while the database keys them by %(full)s; rows "
                      "the database holds apart collapse into one object, or lookups by the model's key miss. Most likely: "
                      "`session.get` and ORM updates address rows by a key the database does not guarantee.", table=table, key=key, full=full))
        return self.finding(
            location, _("%(table)s primary key: model %(key)s, database %(full)s", table=table, key=key, full=full),
            (_("%(owner)s keys %(table)s by %(key)s, but the migrations give it ", owner=owner, table=table, key=key) + (_("the primary key %(full)s.", full=full) if migrated else _("no primary key."))
             if modelled else _("%(owner)s declares no primary key for %(table)s, but the migrations give it %(full)s.", owner=owner, table=table, full=full)),
            impact=impact,
            root_cause=(_("The table was partitioned (or re-keyed) by a migration, and PostgreSQL made the partition key part "
                        "of the primary key; the model kept the old key.") if subset else
                        _("The key was changed on one side only; `alembic revision --autogenerate` does not compare primary keys.")),
            fix=Fix(short_term=(_("Make the model's key %(full)s: `primary_key=True` on exactly %(migrated)s (or "
                                "`__mapper_args__ = {\"primary_key\": [...]}`), and pass the full key to `session.get`.", full=full, migrated=', '.join(migrated))
                                if migrated else
                                _("Add the key in a revision: `op.create_primary_key(\"pk_%(orm)s\", \"%(orm)s\", "
                                "%(modelled)r)`, after removing duplicates (build a unique index CONCURRENTLY first on a "
                                "big table).", orm=orm.name, modelled=list(modelled))),
                    medium_term=_("Find code that loads or updates %(table)s by %(key)s alone and give it the full key.", table=table, key=key),
                    long_term=_("Primary keys are reviewed with every partitioning or re-keying migration; a check compares "
                              "the model's keys with the catalog in CI.")),
            verification=(_("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = "
                          "ANY (i.indkey) WHERE i.indrelid = '%(table)s'::regclass AND i.indisprimary;  -- the model's key "
                          "columns (`alembic check` does not compare primary keys)", table=table)),
            table=table, related=(related,), severity="P0" if subset else None)


def _unique_in_its_place(orm: Table, database: Table):
    """When the database has no primary key: its UNIQUE constraint (or unique index on plain
    columns, without WHERE) on the model's key, whose columns are all NOT NULL: the key is
    enforced, only not named PRIMARY KEY (letta's tools_agents: its key's other columns dropped,
    then UNIQUE (agent_id, tool_id)). None otherwise."""
    if database.primary_key is not None or orm.primary_key is None:
        return None
    key = set(orm.primary_key.columns)
    columns = [database.column(name) for name in key]
    if any(column is None or column.nullable for column in columns):
        return None
    return next((unique for unique in database.unique_constraints if set(unique.columns) == key), None) or next(
        (index for index in database.indexes
         if index.unique and index.where is None and not any(index.expressions) and set(index.columns) == key), None)


def _columns(columns) -> str:
    return f"({', '.join(columns)})" if columns else _("no primary key")
