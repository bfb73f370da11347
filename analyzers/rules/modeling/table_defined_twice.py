from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ...schema.drift import migration_history
from ...schema.model import table_key
from ...schema.operations import CreateTable
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...workspace.discovery import folder_of
from ...i18n import _


def migration_root(model, step, alembic_ids) -> str:
    """The migration history a step belongs to: the Alembic chain, or its SQL folder (the folder
    of its version folders, for Prisma and Diesel: documenso)."""
    if step.revision in alembic_ids and step.path.endswith(".py"):
        return "alembic:" + folder_of(step.path)
    return migration_history(model, step.path)


class TableDefinedTwice(Rule):
    """## What it finds
    The same table created by more than one migration history (an Alembic chain and a SQL
    folder, or two services' migration folders) with different columns.

    ## Why it matters
    Which definition a database ends up with depends on which history ran first; the other
    fails with "relation already exists" or is skipped by `IF NOT EXISTS`, and code written
    against the missing columns breaks only in some environments. Two owners of one table also
    means two teams changing it without knowing of each other.

    ## Example
    ```
    migrations/versions/1a2b_orders.py   op.create_table("orders", ... "status" ...)
    sql/migrations/V3__orders.sql        CREATE TABLE IF NOT EXISTS orders (..., state text)
    ```

    ## Use instead
    One owner per table: keep the definition in one history and make the other read it (or
    a view of it). Reconcile the columns with an expand/contract migration.

    ## How to verify
    `schemalens schema --format json` lists each table's creating migration once; a fresh
    database built from all histories has the columns both codebases use.
    """

    code = "SL104"
    name = "table-defined-twice"
    dimension = 1
    severity = "P1"
    summary = _("table created by several migration histories with different columns")

    valid = (Example({"migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n",
                      "reporting/V1__daily.sql": "CREATE TABLE daily_totals (day date PRIMARY KEY, total numeric);\n"}),
             # documenso (Prisma): one history of version folders drops the table and creates it again
             Example({"prisma/migrations/20230605122017_reset/migration.sql": 'CREATE TABLE "Reset" (id int PRIMARY KEY);\n',
                      "prisma/migrations/20230917190854_reset_token/migration.sql": (
                          'DROP TABLE IF EXISTS "Reset" CASCADE;\n'
                          'CREATE TABLE "Reset" (id int PRIMARY KEY, token text NOT NULL);\n')}))
    invalid = (Example({
        "migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n",
        "reporting/V1__orders.sql": "CREATE TABLE IF NOT EXISTS orders (  -- expect\n  id bigint PRIMARY KEY,\n  state text\n);\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        alembic_ids = set(context.model.revisions.by_id)
        creations = defaultdict(list)
        for step in context.model.steps:
            for operation in step.operations:
                if isinstance(operation, CreateTable) and not operation.partition_of:
                    creations[table_key(operation.table, operation.schema)].append((migration_root(context.model, step, alembic_ids), operation))
        for key, made in sorted(creations.items()):
            first_root, first = made[0]
            first_columns = {column.name for column in first.columns}
            for root, operation in made[1:]:
                columns = {column.name for column in operation.columns}
                if root == first_root or columns == first_columns:
                    continue
                only_here = sorted(columns - first_columns)
                only_there = sorted(first_columns - columns)
                yield self.finding(
                    operation.location, _("%(key)s is also created in %(path)s with other columns", key=key, path=first.location.path),
                    _("%(key)s is created by two migration histories: here with %(value)s, "
                    "there with %(value_2)s.", key=key, value=', '.join(only_here) or _('no extra columns'), value_2=', '.join(only_there) or _('no extra columns')),
                    impact=_("Worst case: environments built in a different order get different tables and code fails only "
                           "there. Most likely: one history's CREATE is skipped and its columns are missing."),
                    root_cause=_("Two codebases or tools each own a copy of the table's definition."),
                    fix=Fix(short_term=_("Pick the owning history for %(key)s and make the other one stop creating it.", key=key),
                            medium_term=_("Reconcile the columns (%(value)s) with an expand/contract migration.", value=', '.join(only_here + only_there)),
                            long_term=_("ADR: one owner per table; other services read through views or APIs.")),
                    verification=_("Build a fresh database from every history and compare `\\d %(key)s` with both definitions.", key=key),
                    table=operation.table, related=(Related(first.location, _("first created in %(split)s", split=first_root.split(':', 1)[1])),))
