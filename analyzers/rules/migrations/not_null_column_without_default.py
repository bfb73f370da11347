from __future__ import annotations

from typing import Iterator

from ...schema.operations import AddColumn
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import (
    alembic_example,
    created_here,
    created_with_this_change,
    on_existing_tables,
    scaffold_command,
    sql_example,
    young_table_example,
)
from ...i18n import _


class NotNullColumnWithoutDefault(Rule):
    """## What it finds
    A NOT NULL column without a server default added to a table an earlier migration created.
    A generated column (identity, serial, `GENERATED ALWAYS AS ... STORED`) gets its values from
    PostgreSQL and is not reported.

    A table created by a migration written at most a day before this one (Alembic's `Create
    Date:` line or a date that starts the file name; never a table of the first migration of a
    history) came with the same change: both run in the same upgrade, so it is still empty and
    is not reported. Nor is a table the same migration emptied before (`DELETE FROM orders`
    without WHERE, `TRUNCATE orders`).

    ## Why it matters
    On a table that has rows PostgreSQL rejects the statement (`column contains null values`):
    the migration passes on an empty development database and fails in production, mid-deploy.
    And application code still running the old release does not write the column, so its
    inserts would fail even if the migration went through.

    P0: the migration cannot run on a table with rows.

    ## Example
    ```python
    op.add_column("orders", sa.Column("currency", sa.String(3), nullable=False))
    ```

    ## Use instead
    Add it with a constant server default (instant since PostgreSQL 11):
    `sa.Column("currency", sa.String(3), nullable=False, server_default="EUR")`; or add it
    nullable, backfill in batches and make it NOT NULL through a validated CHECK.

    ## How to verify
    Rehearse the migration on a database with rows (`schemalens verify`); it must not fail
    with `column "currency" of relation "orders" contains null values`.
    """

    code = "SL511"
    name = "not-null-column-without-default"
    dimension = 5
    severity = "P0"
    summary = _("NOT NULL column without a default added to an existing table")
    peers = ("squawk:adding-required-field", "pgls:addingRequiredField", "atlas:MF103",
             "django-migration-linter:NOT_NULL")

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('currency', sa.String(3), nullable=False, "
                                "server_default='EUR'))")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN currency char(3);\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN doubled int GENERATED ALWAYS AS (total * 2) STORED NOT NULL;\n")),
        # The table came with the same change (a revision written the same day): it is empty.
        Example(young_table_example("    op.add_column('orders', sa.Column('org_id', sa.Integer(), nullable=False))",
                                    written="2024-03-05 15:00")),
        # documenso (Prisma): the table came the same day, its date in the migration's folder name
        Example({"prisma/migrations/20230404095503_init/migration.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
                 "prisma/migrations/20230605122017_reset/migration.sql": 'CREATE TABLE "Reset" (id int PRIMARY KEY);\n',
                 "prisma/migrations/20230605164015_expiry/migration.sql":
                     'ALTER TABLE "Reset" ADD COLUMN "expiry" TIMESTAMP(3) NOT NULL;\n'}),
        # letta: the revision deletes every row first, in the same transaction
        Example(alembic_example("    op.execute('DELETE FROM orders')\n"
                                "    op.add_column('orders', sa.Column('org_id', sa.Integer(), nullable=False))")),
    )
    invalid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('currency', sa.String(3), nullable=False))  # expect")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN currency char(3) NOT NULL;  -- expect\n")),
        Example({"prisma/migrations/20230404095503_init/migration.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
                 "prisma/migrations/20230605122017_reset/migration.sql": 'CREATE TABLE "Reset" (id int PRIMARY KEY);\n',
                 "prisma/migrations/20230705164015_expiry/migration.sql":
                     'ALTER TABLE "Reset" ADD COLUMN "expiry" TIMESTAMP(3) NOT NULL;  -- expect\n'}),
        # Three days later the table may have rows: one is enough for the ADD COLUMN to fail.
        Example(young_table_example(
            "    op.add_column('orders', sa.Column('org_id', sa.Integer(), nullable=False))  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AddColumn):
            column, table = walked.operation.column, walked.table
            if column.nullable or column.server_default or column.identity or column.primary_key \
                    or column.generated is not None or created_with_this_change(context, walked):
                continue
            yield self.finding(
                walked.operation.location, _("%(table)s.%(column)s is added NOT NULL without a default", table=table, column=column.name),
                _("ALTER TABLE %(table)s ADD COLUMN %(column)s %(type)s NOT NULL fails as soon as %(table)s has a "
                "row, and the running release does not write the column.", table=table, column=column.name, type=column.type),
                impact=_("Worst case: the deploy fails half-way in production (the migration ran on empty databases "
                       "only) and inserts from the old release into %(table)s fail. Most likely: a failed release "
                       "and a hurried hotfix.", table=table),
                root_cause=_("Development and test databases are empty, so the statement passes everywhere but "
                           "production."),
                fix=Fix(short_term=_("Give %(column)s a constant `server_default`, or add it nullable, backfill, "
                                   "then make it NOT NULL through a validated CHECK.", column=column.name)
                                   + scaffold_command(context, walked, "add-column", table, column=column.name, type=column.type,
                                                      backfill="<SQL value for existing rows>"),
                        medium_term=_("Run migrations in CI against a database with rows."),
                        long_term=_("`schemalens verify` in CI on a seeded copy of the schema.")),
                verification=_("SELECT count(*) FROM %(table)s WHERE %(column)s IS NULL;  -- 0; test: upgrade on "
                             "a database with rows (`schemalens verify`) succeeds", table=table, column=column.name),
                table=table, column=column.name, related=created_here(walked))
