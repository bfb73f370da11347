from __future__ import annotations

from typing import Iterator

from ...schema.model import PrimaryKey, UniqueConstraint
from ...schema.operations import AddColumn
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .safety import alembic_example, created_here, lock_sentence, on_existing_tables, severity_by_size, sql_example
from ...i18n import _


class VolatileColumnDefault(Rule):
    """## What it finds
    A column added to a table an earlier migration created whose value PostgreSQL must compute
    for every existing row:

    - a volatile default: `random()`, `clock_timestamp()`, `gen_random_uuid()`, `nextval()`, a
      serial type or an identity column, and any function PostgreSQL does not know to be
      IMMUTABLE or STABLE (user and extension functions such as `uuid_generate_v4()` are
      VOLATILE unless declared otherwise). Which built-in functions are not volatile is read
      from PostgreSQL's own catalog (`pg/function_volatility.py`, checked by the tests);
    - a stored generated column (`GENERATED ALWAYS AS (...) STORED`, SQLAlchemy `Computed`);
    - any default at all before PostgreSQL 11 (`postgres_version`).

    Constant and stable defaults (`0`, `'new'`, `sa.false()`, `now()`, `CURRENT_TIMESTAMP`) are
    fine since PostgreSQL 11, and so is a value a revision computes in Python
    (`server_default=get_node()`), which SQLAlchemy writes as a literal. A column added with
    its own PRIMARY KEY or UNIQUE (`ADD COLUMN id bigserial PRIMARY KEY`) is reported once, by
    SL514, whose finding names the rewrite too.

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
    summary = _("column added to an existing table with a volatile default (table rewrite)")
    peers = ("squawk:adding-field-with-default", "pgls:addingFieldWithDefault", "pgls:addSerialColumn",
             "strong_migrations:add_column_default", "strong_migrations:add_column_default_callable",
             "strong_migrations:add_column_auto_incrementing", "strong_migrations:add_column_generated_stored",
             "eugene:E11", "atlas:PG302")

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('flag', sa.Integer(), server_default='0'))")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();\n")),
        # One statement, one finding: SL514 reports it, rewrite included.
        Example(sql_example("ALTER TABLE orders ADD COLUMN seq bigserial UNIQUE;\n")),
        # privacyidea: sa.false() compiles to the constant false; a value computed in Python when
        # the revision runs is written as a literal
        Example(alembic_example("    op.add_column('orders', sa.Column('paid', sa.Boolean(), nullable=False,\n"
                                "                  server_default=sa.false()))\n"
                                "    node = socket.gethostname()\n"
                                "    op.add_column('orders', sa.Column('node', sa.Unicode(255), nullable=False,\n"
                                "                  server_default=node))")),
    )
    invalid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('public_id', sa.Uuid(),  # expect\n"
                                "                  server_default=sa.text('gen_random_uuid()')))")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN seq bigserial;  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN doubled int GENERATED ALWAYS AS (total * 2) STORED;  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN flag int NOT NULL DEFAULT 0;  -- expect\n"),
                config="postgres_version = 10\n"),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_step(self.code, self._check_step, on_existing_tables(context, AddColumn))

    def _check_step(self, context: StepView, added: list) -> Iterator[Finding]:
        old_version = context.postgres_version < 11
        for walked in added:
            rewriting = ("add-column-volatile-default", "add-column-generated-stored",
                         *(("add-column-constant-default",) if old_version else ()))
            effect = next((e for e in walked.lock_effects if e.key in rewriting), None)
            if effect is None or _left_to_sl514(context, walked):
                continue
            column, table = walked.operation.column, walked.table
            default = column.server_default or column.identity or column.type
            if column.generated is not None:
                yield self._generated(context, walked, effect)
                continue
            if effect.key == "add-column-constant-default":
                yield self._before_11(context, walked, effect)
                continue
            yield self.finding(
                walked.operation.location, _("%(table)s.%(column)s is added with the volatile default %(default)s", table=table, column=column.name, default=default),
                lock_sentence(effect),
                impact=_("Worst case: %(table)s is locked for reads and writes while every row is rewritten. Most "
                       "likely: a deploy that stalls traffic for as long as copying the table takes.", table=table),
                root_cause=_("Since PostgreSQL 11 constant defaults are instant, which makes every default look "
                           "free; volatile ones still rewrite."),
                fix=Fix(short_term=_("Add %(column)s with no default, then `ALTER COLUMN %(column)s SET DEFAULT "
                                   "%(default)s` for new rows, and backfill old rows in batches.", column=column.name, default=default),
                        medium_term=_("Generate such values in the application, or set the default after adding the column."),
                        long_term=_("A migration template that adds columns without volatile defaults.")),
                verification=_("SELECT pg_relation_filenode('%(table)s');  -- unchanged by the migration; test: "
                             "`schemalens verify` reports no rewrite", table=table),
                table=table, column=column.name, related=created_here(walked),
                severity=severity_by_size(context, table))

    def _generated(self, context: AuditContext, walked, effect) -> Finding:
        column, table = walked.operation.column, walked.table
        return self.finding(
            walked.operation.location, _("%(table)s.%(column)s is added as a stored generated column", table=table, column=column.name),
            lock_sentence(effect),
            impact=_("Worst case: %(table)s is locked for reads and writes while every row is rewritten with the computed "
                   "value. Most likely: a deploy that stalls traffic for as long as copying the table takes.", table=table),
            root_cause=_("A stored generated column is materialized for every existing row when it is added."),
            fix=Fix(short_term=_("Add %(column)s as a plain nullable column, fill it for new rows with a trigger (or in "
                               "the application), backfill old rows in batches; or compute `%(generated)s` in "
                               "queries or a view instead.", column=column.name, generated=column.generated)),
            verification=_("SELECT pg_relation_filenode('%(table)s');  -- unchanged by the migration", table=table),
            table=table, column=column.name, related=created_here(walked), severity=severity_by_size(context, table))

    def _before_11(self, context: AuditContext, walked, effect) -> Finding:
        column, table = walked.operation.column, walked.table
        return self.finding(
            walked.operation.location, _("%(table)s.%(column)s is added with a default on PostgreSQL "
                                       "%(postgres_version)s", table=table, column=column.name, postgres_version=context.postgres_version),
            _("Before PostgreSQL 11 every default, even a constant, is written into every existing row: ADD COLUMN "
            "rewrites %(table)s under ACCESS EXCLUSIVE.", table=table),
            impact=_("Worst case: %(table)s is locked for reads and writes while every row is rewritten. Most likely: a "
                   "stalled deploy on a big table.", table=table),
            root_cause=_("Constant defaults became catalog-only in PostgreSQL 11; this project runs an older version."),
            fix=Fix(short_term=_("Add %(column)s without a default, set the default afterwards (new rows only), and "
                               "backfill old rows in batches.", column=column.name),
                    medium_term=_("Upgrade PostgreSQL (11+ makes constant defaults instant).")),
            verification=_("SELECT pg_relation_filenode('%(table)s');  -- unchanged by the migration", table=table),
            table=table, column=column.name, related=created_here(walked), severity=severity_by_size(context, table))


def _left_to_sl514(context: AuditContext, walked) -> bool:
    """`ADD COLUMN id bigserial PRIMARY KEY`: SL514 reports the statement, rewrite included."""
    from .. import rule_by_code
    from ..selection import rule_enabled

    rule = rule_by_code("SL514")
    return rule is not None and rule_enabled(rule.code, context.model.config, rule.default_enabled) \
        and any(isinstance(c, (PrimaryKey, UniqueConstraint)) for c in walked.operation.constraints)
