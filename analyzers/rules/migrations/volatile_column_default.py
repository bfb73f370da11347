from __future__ import annotations

from typing import Iterator

from ...schema.operations import AddColumn
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, lock_sentence, on_existing_tables, severity_by_size, sql_example


class VolatileColumnDefault(Rule):
    """## What it finds
    A column added to a table an earlier migration created, with a volatile default:
    `random()`, `clock_timestamp()`, `gen_random_uuid()`, `uuid_generate_v4()`, `nextval()`,
    a serial type or an identity column. Constant and stable defaults (`0`, `'new'`, `now()`)
    are fine since PostgreSQL 11.

    ## Why it matters
    A volatile default has to be computed for every existing row, so PostgreSQL rewrites the
    table under ACCESS EXCLUSIVE: no reads or writes until every row is copied.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    op.add_column("orders", sa.Column("public_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()")))
    ```

    ## Use instead
    Add the column without a default (instant), set the default for new rows
    (`ALTER COLUMN ... SET DEFAULT gen_random_uuid()`, also instant), backfill existing rows in
    batches, then add NOT NULL through a validated CHECK.

    ## How to verify
    `SELECT pg_relation_filenode('orders');` is unchanged after the migration;
    `schemalens verify` reports no rewrite.
    """

    code = "SL510"
    contends_with_live_traffic = True
    name = "volatile-column-default"
    dimension = 5
    severity = "P1"
    summary = "column added to an existing table with a volatile default (table rewrite)"
    summary_zh = "为已有表添加带易变默认值的列（整表重写）"

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('flag', sa.Integer(), server_default='0'))")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();\n")),
    )
    invalid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('public_id', sa.Uuid(),  # expect\n"
                                "                  server_default=sa.text('gen_random_uuid()')))")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN seq bigserial;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AddColumn):
            effect = next((e for e in walked.lock_effects if e.key == "add-column-volatile-default"), None)
            if effect is None:
                continue
            column, table = walked.operation.column, walked.table
            default = column.server_default or column.identity or column.type
            yield self.finding(
                walked.operation.location, f"{table}.{column.name} is added with the volatile default {default}",
                lock_sentence(effect),
                impact=f"Worst case: {table} is locked for reads and writes while every row is rewritten. Most "
                       "likely: a deploy that stalls traffic for as long as copying the table takes.",
                root_cause="Since PostgreSQL 11 constant defaults are instant, which makes every default look "
                           "free; volatile ones still rewrite.",
                fix=Fix(short_term=f"Add {column.name} with no default, then `ALTER COLUMN {column.name} SET DEFAULT "
                                   f"{default}` for new rows, and backfill old rows in batches.",
                        medium_term="Generate such values in the application, or set the default after adding the column.",
                        long_term="A migration template that adds columns without volatile defaults."),
                verification=f"SELECT pg_relation_filenode('{table}');  -- unchanged by the migration; test: "
                             "`schemalens verify` reports no rewrite",
                table=table, column=column.name, related=created_here(walked),
                severity=severity_by_size(context, table))
