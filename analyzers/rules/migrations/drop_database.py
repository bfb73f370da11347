from __future__ import annotations

from typing import Iterator

from ...schema.operations import UnsupportedStatement
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, sql_example
from ...i18n import _


class DropDatabase(Rule):
    """## What it finds
    `DROP DATABASE` in a migration.

    ## Why it matters
    A migration runs against every environment the application is deployed to, production
    included: a DROP DATABASE there deletes all of its data at once, with no transaction to
    roll back (PostgreSQL refuses DROP DATABASE inside one). Whatever it was meant for (a test
    database, a cleanup), it does not belong in the schema's history.

    P0.

    ## Example
    ```sql
    DROP DATABASE IF EXISTS analytics;
    ```

    ## Use instead
    Drop databases by hand or from provisioning code (Terraform, a one-off runbook), after a
    backup, never from a migration that every environment replays.

    ## How to verify
    `grep -ri "drop database"` over the migration folders finds nothing; `schemalens check`
    reports no SL543.
    """

    code = "SL543"
    name = "drop-database"
    dimension = 5
    severity = "P0"
    summary = _("DROP DATABASE in a migration")
    peers = ("squawk:ban-drop-database", "pgls:banDropDatabase")

    valid = (Example(sql_example("DROP TABLE IF EXISTS orders_archive;\n")),)
    invalid = (
        Example(sql_example("DROP DATABASE IF EXISTS analytics;  -- expect\n")),
        Example(alembic_example("    op.execute('DROP DATABASE analytics')  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.walked(UnsupportedStatement):
            operation = walked.operation
            if operation.kind != "DROP DATABASE":
                continue
            yield self.finding(
                operation.location, _("database %(operation)s is dropped by a migration", operation=operation.name),
                _("DROP DATABASE %(operation)s deletes the whole database in every environment the migration runs "
                "in, outside any transaction.", operation=operation.name),
                impact=_("Worst case: a production database is deleted during a deploy and must be restored from "
                       "backup. Most likely: a development cleanup that fails or does damage elsewhere."),
                root_cause=_("A setup or cleanup step was written as a migration."),
                fix=Fix(short_term=_("Remove the statement from the migration; drop the database by hand after a backup."),
                        medium_term=_("Keep environment provisioning (databases, roles) out of schema migrations.")),
                verification=_("The migration folders contain no DROP DATABASE; `schemalens check` reports no SL543"))
