from __future__ import annotations

from typing import Iterator

from ...report.relations import is_association_table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _

CREATED_NAMES = ("created_at", "create_time", "created_time", "gmt_create", "created", "created_on", "inserted_at")
UPDATED_NAMES = ("updated_at", "update_time", "updated_time", "gmt_modified", "modified_at", "updated", "updated_on", "modified")


class MissingAuditColumns(Rule):
    """## What it finds
    Tables (other than association tables and partitions) with neither a creation timestamp
    (`created_at`, `create_time`, `gmt_create`, ...) nor an update timestamp.

    Off by default: audit columns are a team convention; on the real projects we read the tables
    without them were small lookup and link tables, or kept their creation time under another
    name (`date`, `ingested_at`, `timestamp`) (0 of 4 worth a reviewer's time). Select it by code
    (`select = ["ALL", "SL207"]`) where every table must carry them.

    ## Why it matters
    Without them nobody can answer "when did this row appear or change?" during an incident,
    incremental exports and cache invalidation have nothing to key on, and retention jobs
    cannot select old rows.

    ## Example
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(12,2));
    ```

    ## Use instead
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(12,2),
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
    ```
    with a mixin (`TimestampMixin`) so every model gets the same pair.

    ## How to verify
    `SELECT table_name FROM information_schema.tables t WHERE NOT EXISTS (SELECT 1 FROM
    information_schema.columns c WHERE c.table_name = t.table_name AND c.column_name = 'created_at');`
    lists only the exempt tables.
    """

    code = "SL207"
    default_enabled = False
    grouped_by = "workspace"
    name = "missing-audit-columns"
    dimension = 2
    severity = "P2"
    summary = _("table without created/updated timestamps")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),"
        " updated_at timestamptz NOT NULL DEFAULT now());\n")}),)
    invalid = (Example({"migrations/V1__init.sql": "CREATE TABLE invoices (  -- expect\n  id bigint PRIMARY KEY\n);\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of or is_association_table(table):
                continue
            names = {column.name for column in table.columns}
            if names & set(CREATED_NAMES) or names & set(UPDATED_NAMES):
                continue
            location, related = context.where_table(table)
            yield self.finding(
                location, _("%(table)s has no created/updated timestamps", table=table.name),
                _("%(table)s records neither when a row was created nor when it last changed.", table=table.name),
                impact=_("Worst case: during an incident nobody can tell which rows a bad deploy wrote. Most likely: "
                       "incremental exports and retention jobs cannot be written without a full scan."),
                root_cause=_("The table was declared without the project's timestamp mixin."),
                fix=Fix(short_term=_("ALTER TABLE %(table)s ADD COLUMN created_at timestamptz DEFAULT now(), "
                                   "ADD COLUMN updated_at timestamptz DEFAULT now();  (constant defaults do not rewrite)", table=table.name),
                        medium_term=_("Use one TimestampMixin for every model and keep updated_at current with "
                                    "`onupdate=func.now()` or a trigger."),
                        long_term=_("Standard: created_at/updated_at (and created_by/updated_by where people edit) on every entity table.")),
                verification=_("SELECT count(*) FROM %(table)s WHERE created_at IS NULL;  -- expect 0 after the backfill", table=table.name),
                table=table.name, related=related)
