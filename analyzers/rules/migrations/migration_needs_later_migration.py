from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .fresh_database_replay import failed_table, replay_problems
from .sql_history import display_name
from ...i18n import _

_SHOWN_CONSEQUENCES = 3


class MigrationNeedsLaterMigration(Rule):
    """## What it finds
    A SQL migration that changes a table, column, index or type that only a later migration of
    the same folder creates: the files are out of order. It happens when a migration is
    renumbered (an ad-hoc `012a_` patch given the next free number), when two branches merge
    with versions taken at branch time, or when a migration is written against a database that
    already had the object. Not a SQLite CREATE TABLE whose foreign key names a table created
    later: SQLite checks none until rows are written.

    ## Why it matters
    Applied in the tool's order to an empty database, the migration fails because the object
    does not exist yet; the environments that exist today ran the files in another order (or
    got the object by hand), so nothing shows until a new environment, CI or a disaster
    recovery is built from the folder. Renumbering after the fact also changes the checksum and
    order the tool recorded, so Flyway's `validate` fails on the old databases.

    ## Example
    ```
    V3__index_orders_priority.sql   CREATE INDEX orders_priority_idx ON orders (priority);
    V4__add_order_priority.sql      ALTER TABLE orders ADD COLUMN priority smallint ...;
    ```

    ## Use instead
    Give the migration that creates the object the earlier version (or move the statement that
    needs it into a migration after it). For files that already ran in production, keep their
    versions and add a new migration that does the dependent change with a guard (`IF NOT
    EXISTS`), then make the old one a no-op on fresh databases; say so in both files' headers.

    ## How to verify
    Apply the folder to an empty database with its tool (or `schemalens verify`): it runs to
    the end, and the tool's info command lists the versions in the order they were written.
    """

    code = "SL571"
    name = "migration-needs-later-migration"
    dimension = 5
    severity = "P0"
    summary = _("SQL migration that needs an object a later migration creates")

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                      "db/V2__priority.sql": "ALTER TABLE orders ADD COLUMN priority smallint NOT NULL DEFAULT 0;\n",
                      "db/V3__priority_index.sql": "CREATE INDEX orders_priority_idx ON orders (priority);\n"}),
             # phoenix: a drizzle migration for SQLite, whose foreign key names a table created below it
             Example({"drizzle/0000_init.sql": (
                 "CREATE TABLE `labels` (`item_id` integer NOT NULL REFERENCES `items`(`id`), `label` text NOT NULL);\n"
                 "CREATE TABLE `items` (`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL, `repo` text);\n")}),)
    invalid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                        "db/V2__priority_index.sql": "CREATE INDEX orders_priority_idx ON orders (priority);  -- expect\n",
                        "db/V3__priority.sql": "ALTER TABLE orders ADD COLUMN priority smallint NOT NULL DEFAULT 0;\n"}),
               Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                        "db/V2__alter_shipments.sql": ("ALTER TABLE shipments ADD COLUMN carrier text;  -- expect\n"
                                                       "CREATE INDEX shipments_carrier_idx ON shipments (carrier);\n"),
                        "db/V3__shipments.sql": "CREATE TABLE shipments (id bigint PRIMARY KEY, order_id bigint);\n"}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for database, problem in replay_problems(context, later=True):
            error, creation = problem.error, problem.creation
            name, creator = display_name(error.location.path), display_name(creation.location.path)
            kind, key = problem.failure.missing
            what = _('%(kind)s "%(key)s"', kind=kind, key=key)
            same_file = creation.location.path == error.location.path
            consequences = problem.consequences
            after = " " + _("%(count)s later statement(s) fail only because of it.", count=len(consequences)) if consequences else ""
            related = (Related(creation.location, _("created only here, later")),
                       *(Related(location, _("fails only because of this")) for location in consequences[:_SHOWN_CONSEQUENCES]))
            where = _("later in the same file") if same_file else _("by %(creator)s, which runs after it", creator=creator)
            yield self.finding(
                error.location, _("%(name)s needs %(what)s, created only %(where)s", name=name, what=what, where=where),
                _("In the order of %(label)s, %(name)s changes %(what)s before it exists: it is created %(where)s.%(after)s", label=database.label, name=name, what=what, where=where, after=after),
                impact=_("Worst case: a disaster recovery from the migrations stops here. Most likely: every new "
                       "environment and CI database fails here, while the databases that ran the files in another order "
                       "(or got the object by hand) hide it."),
                root_cause=_("A migration renumbered or merged with a version taken at branch time, or written against a "
                           "database that already had the object."),
                fix=Fix(short_term=(_("Move the statement after the one that creates %(what)s in the same file.", what=what)
                                    if same_file else
                                    _("Give %(creator)s a version before %(name)s (or move the dependent statement into a "
                                    "migration after %(creator)s); where both already ran, add a guarded migration instead "
                                    "of renumbering and say so in both headers.", creator=creator, name=name)),
                        medium_term=_("CI applies every migration folder to an empty database with its own tool."),
                        long_term=_("Take migration versions at merge time (or timestamps), never renumber shipped files.")),
                verification=_("apply the folder to an empty database with its tool (or schemalens verify); it runs to the end"),
                table=failed_table(problem.failure), related=related)
