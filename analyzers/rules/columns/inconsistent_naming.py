from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .missing_audit_columns import CREATED_NAMES, UPDATED_NAMES
from ...i18n import _


class InconsistentNaming(Rule):
    """## What it finds
    The same concept named differently across tables: creation time as `created_at` in some
    tables and `create_time` or `gmt_create` in others (likewise update time). The
    least-used spelling is reported, pointing at the majority one.

    ## Why it matters
    Shared code (mixins, retention jobs, CDC pipelines, BI models) has to special-case each
    spelling, and a query written against one table silently fails against another.

    ## Example
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY, created_at timestamptz);
    CREATE TABLE orders (id bigint PRIMARY KEY, create_time timestamptz);
    ```

    ## Use instead
    One spelling everywhere (`created_at`, `updated_at`), provided by a mixin; rename the odd
    ones with an expand/contract migration.

    ## How to verify
    `SELECT column_name, count(*) FROM information_schema.columns WHERE column_name IN
    ('created_at', 'create_time', 'gmt_create') GROUP BY 1;` returns one row.
    """

    code = "SL206"
    name = "inconsistent-naming"
    dimension = 2
    severity = "P2"
    summary = _("the same concept named differently across tables")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, created_at timestamptz);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, created_at timestamptz);\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, created_at timestamptz);\n"
        "CREATE TABLE teams (id bigint PRIMARY KEY, created_at timestamptz);\n"
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  create_time timestamptz  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for concept, spellings in ((_("Creation time"), CREATED_NAMES), (_("Update time"), UPDATED_NAMES)):
            users = defaultdict(list)
            for table in context.tables():
                if table.partition_of:
                    continue
                for column in table.columns:
                    if column.name in spellings:
                        users[column.name].append((table, column))
            if len(users) < 2:
                continue
            majority = max(users, key=lambda name: (len(users[name]), name == spellings[0]))
            example_table, example_column = users[majority][0]
            for name, places in sorted(users.items()):
                if name == majority:
                    continue
                for table, column in places:
                    location, related = context.where_column(table, column)
                    related += (Related(example_column.location, _("%(example_table)s.%(majority)s", example_table=example_table.name, majority=majority)),)
                    yield self.finding(
                        location, _("%(table)s.%(name)s vs %(majority)s elsewhere", table=table.name, name=name, majority=majority),
                        _("%(concept)s is `%(name)s` here but `%(majority)s` in %(count)s other table(s).", concept=concept, name=name, majority=majority, count=len(users[majority])),
                        impact=_("Worst case: a retention or CDC job keyed on one spelling skips this table. Most likely: "
                               "every shared query and mixin needs a special case."),
                        root_cause=_("No naming standard for audit columns, or tables from different eras or teams."),
                        fix=Fix(short_term=_("Document the standard spelling (%(majority)s).", majority=majority),
                                medium_term=_("Rename %(table)s.%(name)s to %(majority)s with expand/contract (add %(majority)s, "
                                            "dual-write, backfill, switch reads, drop the old column).", table=table.name, name=name, majority=majority),
                                long_term=_("Standard: one mixin supplies the audit columns of every table.")),
                        verification=_("SELECT table_name FROM information_schema.columns WHERE column_name = '%(name)s';  -- expect none", name=name),
                        table=table.name, column=name, related=related)
