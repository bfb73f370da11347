from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterator

from ...schema.operations import CreateTable
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .sql_history import checked_databases, display_name, repeats
from ...i18n import _

_SHOWN_CONSEQUENCES = 3


def replay_problems(context: AuditContext, *, later: bool):
    """(database, problem) for the root failures of the SQL migration histories that the rules
    report: those whose missing object a later migration of the same database creates
    (`later=True`), or all the others. Failures SchemaLens cannot judge are left out: what a
    statement it does not model created, what SQL built at run time or a procedure called may have
    changed (the index says those once, at that statement). A folder that only upgrades existing
    databases, new ones being built from a schema file beside it (temporal-sql-tool), is not meant
    to replay from empty."""
    for database in checked_databases(context.model):
        if database.built_from is not None:
            continue
        for problem in database.problems:
            path = problem.error.location.path
            if not path.endswith(".sql") or problem.unmodelled is not None or problem.after_opaque \
                    or database.dialect == "sqlite" and _creates_a_table(database, problem):
                continue
            creation = problem.creation
            if (creation is not None and creation.later) == later:
                yield database, problem


class FreshDatabaseReplay(Rule):
    """## What it finds
    A statement of a SQL migration folder that fails when the folder is applied to an empty
    database in the order its tool runs it (Flyway, golang-migrate, sqlx, dbmate, goose, Prisma,
    numbered files): a table, column, index or type it needs that no earlier migration of the
    folder creates, or an object it creates that an earlier migration already created. Each
    service's folder is replayed on its own, as its own database. One root error is one finding:
    statements that fail only because of it are counted under it, not reported again. A
    statement that needs an object a later migration creates is SL571's. A folder that only
    upgrades existing databases while a schema file beside it builds new ones (temporal-sql-tool's
    `versioned/` with a `manifest.json` per version, next to `schema.sql`; or a `schema.sql`
    (or `<name>_schema.sql`, as quay's) beside the folder that creates the first table the
    migrations need and none of them creates, as umami's ClickHouse folder) is not replayed as the way to a new database.

    ## Why it matters
    The databases that exist today were built another way (by hand, from a dump, from a
    migration that was later edited or deleted), so nothing fails there. A new environment, a
    developer's laptop, CI, or a disaster recovery from the migrations cannot be built: the
    migrator stops at this statement, and everything after it never runs.

    ## Example
    ```sql
    -- 004_template_locale.sql: no migration of the folder creates templates
    ALTER TABLE templates ADD COLUMN locale text NOT NULL DEFAULT 'en';
    ```

    ## Use instead
    Add the missing migration before this one (for a table created by hand:
    `pg_dump --schema-only -t templates` from production, as an `IF NOT EXISTS` migration with
    the earliest version), or move the statement to the service whose database has the table.
    A migration that repeats an earlier one is deleted before it reaches a new environment, or
    guarded (`IF NOT EXISTS`) where it already ran.

    ## How to verify
    Apply the folder to an empty database with its tool (`flyway migrate`, `migrate -path ...
    up`, `dbmate up`) or `schemalens verify`; it runs to the end.
    """

    code = "SL570"
    name = "fresh-database-replay"
    dimension = 5
    severity = "P0"
    summary = _("SQL migration that fails on an empty database")

    valid = (Example({"db/V1__notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY, body text);\n",
                      "db/V2__channel.sql": "ALTER TABLE notifications ADD COLUMN channel text;\n"}),
             Example({"db/V1__notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY, body text);\n",
                      "db/V2__channel.sql": "ALTER TABLE notifications ADD COLUMN IF NOT EXISTS body text;\n"}),
             # umami: new databases are built from the schema file beside the folder, whose first
             # migration alters a table that file creates
             Example({"db/events/schema.sql": "CREATE TABLE events (id bigint PRIMARY KEY, body text);\n",
                      "db/events/migrations/01_channel.sql": "ALTER TABLE events ADD COLUMN channel text;\n",
                      "db/events/migrations/02_locale.sql": "ALTER TABLE events ADD COLUMN locale text;\n"}),
             # quay: the schema of new databases in `<name>_schema.sql`, beside a folder that brings old ones to it
             Example({"db/sqlite/quay_schema.sql": "CREATE TABLE tag (id bigint PRIMARY KEY, name text);\n",
                      "db/sqlite/compatibility/0001_bridge.sql": "ALTER TABLE tag ADD COLUMN immutable boolean;\n"}),
             # hatchet: a function of an earlier migration makes a table's partitions under names it builds
             Example({"db/001_parts.sql": (
                          "CREATE TABLE wal (id bigint, tenant_id uuid) PARTITION BY HASH (tenant_id);\n"
                          "CREATE FUNCTION create_hash_partitions(parent text, count int) RETURNS void AS $$\n"
                          "BEGIN\n  FOR i IN 0..count - 1 LOOP\n"
                          "    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',\n"
                          "                   parent || '_' || i, parent, count, i);\n  END LOOP;\nEND $$ LANGUAGE plpgsql;\n"),
                      "db/002_wal.sql": "SELECT create_hash_partitions('wal'::text, 2);\n",
                      "db/003_poll.sql": "CREATE INDEX wal_0_poll_idx ON wal_0 (tenant_id);\n"}),
             # supabase/storage: a DO block drops the primary key it looks up before adding another
             Example({"db/001_buckets.sql": "CREATE TABLE buckets (id text PRIMARY KEY);\n",
                      "db/002_ids.sql": (
                          "DO $$\nDECLARE drop_sql text;\nBEGIN\n"
                          "  SELECT concat('ALTER TABLE buckets DROP CONSTRAINT ', constraint_name) INTO drop_sql\n"
                          "  FROM information_schema.table_constraints WHERE table_name = 'buckets' AND constraint_type = 'PRIMARY KEY';\n"
                          "  EXECUTE drop_sql;\n  ALTER TABLE buckets RENAME COLUMN id TO name;\n"
                          "  ALTER TABLE buckets ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();\n"
                          "  ALTER TABLE buckets ADD PRIMARY KEY (id);\nEND $$;\n")}),
             # supabase/auth: a branch on the catalog in a form not read runs in some databases only
             Example({"db/001_factors.sql": "CREATE TABLE factors (user_id int, phone text);\n"
                                            "CREATE UNIQUE INDEX unique_verified_phone_factor ON factors (user_id, phone);\n",
                      "db/002_rename.sql": (
                          "DO $$\nBEGIN\n  IF (SELECT count(*) = 2 FROM pg_indexes\n"
                          "      WHERE indexname IN ('unique_verified_phone_factor', 'unique_phone_factor_per_user')) THEN\n"
                          "    EXECUTE 'DROP INDEX unique_verified_phone_factor';\n  END IF;\n"
                          "  IF EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'unique_verified_phone_factor') THEN\n"
                          "    EXECUTE 'ALTER INDEX unique_verified_phone_factor RENAME TO unique_phone_factor_per_user';\n"
                          "  END IF;\nEND $$;\n")}),
             # authelia (MySQL): a procedure of the migration's drops the keys it then adds again
             Example({"db/mysql/V0001.Init.up.sql": (
                          "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(64));\n"
                          "CREATE TABLE sessions (id INT PRIMARY KEY, user_id INT,\n"
                          "  CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users (id));\n"),
                      "db/mysql/V0002.Fixes.up.sql": (
                          "CALL PROC_DROP_FOREIGN_KEY('sessions', 'sessions_user_fkey');\n"
                          "ALTER TABLE sessions ADD CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id)\n"
                          "  REFERENCES users (id) ON DELETE CASCADE;\n")}),
             Example({"db/V1__init.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n"
                                         "CREATE TABLE sessions (id bigint PRIMARY KEY,\n"
                                         "  user_id bigint CONSTRAINT sessions_user_fkey REFERENCES users (id));\n",
                      "db/V2__fixes.sql": "CALL drop_foreign_key('sessions', 'sessions_user_fkey');\n"
                                          "ALTER TABLE sessions ADD CONSTRAINT sessions_user_fkey FOREIGN KEY (user_id)\n"
                                          "  REFERENCES users (id) ON DELETE CASCADE;\n"}))
    invalid = (
        Example({"db/V1__notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY, body text);\n",
                 "db/V2__template_locale.sql": (
                     "ALTER TABLE templates ADD COLUMN locale text NOT NULL DEFAULT 'en';  -- expect\n"
                     "CREATE INDEX templates_locale_idx ON templates (locale);\n")}),
        Example({"db/V1__notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY, body text);\n",
                 "db/V2__notifications_again.sql": (
                     "CREATE TABLE notifications (id bigint PRIMARY KEY, body text, channel text);  -- expect\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        repeated = {repeat.later.path for database in checked_databases(context.model) for repeat in repeats(database)}
        for database, problem in replay_problems(context, later=False):
            error, failure = problem.error, problem.failure
            path = error.location.path
            if failure.existing is not None and path in repeated:
                continue  # a migration that repeats an earlier one: SL572 reports the pair
            yield self._finding(database, problem)

    def _finding(self, database, problem) -> Finding:
        error, failure, creation = problem.error, problem.failure, problem.creation
        path, where = error.location.path, database.label
        name = display_name(path)
        related: list[Related] = []
        reason = error.message
        if creation is not None:
            if creation.in_draft:
                explanation = _("only %(place)s, a folder no migrator reads, creates it", place=creation.place)
                fix = (_("Move the migration that creates it from %(place)s into %(where)s with a version before "
                       "%(name)s, or move this statement out of %(where)s.", place=creation.place, where=where, name=name))
            elif creation.in_script:
                explanation = _("only the script %(place)s, which no migrator runs, creates it", place=creation.place)
                fix = (_("Turn what %(place)s creates into a migration of %(where)s that runs before %(name)s "
                       "(IF NOT EXISTS, so the databases that already have it are untouched).", place=creation.place, where=where, name=name))
            else:
                explanation = _("only the migrations of %(place)s, another database, create it", place=creation.place)
                fix = (_("Move this statement to the migrations of %(place)s (the database that has the object), "
                       "or create the object in %(where)s first.", place=creation.place, where=where))
            related.append(Related(creation.location, _("created here")))
        elif failure.existing is not None:
            explanation = _("an earlier migration already created it")
            fix = (_("Delete the statement from %(name)s if it repeats what the earlier migration did (before it reaches a "
                   "new environment), or guard it (IF NOT EXISTS) if some databases lack the object.", name=name))
            related.append(Related(failure.existing, _("created first here")))
        elif failure.missing is not None:
            explanation = _("no migration of %(where)s creates it", where=where)
            fix = (_("Add the migration that creates it, versioned before %(name)s (for an object created by hand, dump "
                   "its definition with pg_dump --schema-only and write it with IF NOT EXISTS), or guard the statement "
                   "with IF EXISTS if the change is optional.", name=name))
        else:
            explanation = _("the database is not in the state the statement expects")
            fix = _("Correct the statement in %(name)s so that it applies to the schema the earlier migrations build.", name=name)
        consequences = problem.consequences
        related += [Related(location, _("fails only because of this")) for location in consequences[:_SHOWN_CONSEQUENCES]]
        after = " " + _("%(count)s later statement(s) fail only because of it.", count=len(consequences)) if consequences else ""
        return self.finding(
            error.location, _("a fresh database fails here: %(reason)s", reason=reason),
            _("Applied to an empty database in the order of %(where)s, %(name)s fails: %(reason)s (%(explanation)s).%(after)s", where=where, name=name, reason=reason, explanation=explanation, after=after),
            impact=_("Worst case: a disaster recovery from the migrations stops here and the service cannot be rebuilt. "
                   "Most likely: every new environment, developer database and CI run fails here, while the databases "
                   "that exist today, built another way, hide it."),
            root_cause=_("The folder is not the whole history of the database: an object created by hand, in another "
                       "folder or by a migration that was edited or removed later."),
            fix=Fix(short_term=fix,
                    medium_term=_("CI applies every migration folder to an empty database with its own tool on each pull "
                                "request (schemalens verify, or the tool's migrate command)."),
                    long_term=_("Standard: the migration folder alone rebuilds the database; fixes made by hand in "
                              "production become migrations the same day.")),
            verification=_("apply %(parent)s to an empty database with its tool; it runs past %(name)s", parent=PurePosixPath(path).parent, name=name),
            table=failed_table(failure), related=tuple(related))


def failed_table(failure) -> str | None:
    """The table a failure is about, when it is about one."""
    kind, key = failure.missing or failure.duplicate or (None, None)
    if kind == "relation":
        return key
    if kind in ("column", "constraint"):
        return key.rsplit(".", 1)[0]
    return None


def _creates_a_table(database, problem) -> bool:
    """The failing statement is a CREATE TABLE: SQLite checks no foreign key's table until rows
    are written (phoenix's drizzle migration references a table it creates further down)."""
    location = problem.error.location
    return any(isinstance(operation, CreateTable) and operation.location == location
               for operation in database.steps[problem.step].operations)
