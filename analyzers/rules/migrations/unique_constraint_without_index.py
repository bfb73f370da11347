from __future__ import annotations

from typing import Iterator

from ...pg.locks import EFFECTS
from ...schema.model import PrimaryKey, UniqueConstraint
from ...schema.operations import AddColumn, AddConstraint, AddConstraintUsingIndex, CreateIndex
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .history_practice import said_once_per_history
from .safety import (
    alembic_example,
    created_here,
    few_rows,
    lock_sentence,
    on_existing_tables,
    scaffold_command,
    severity_by_size,
    sql_example,
    young_table_example,
)
from ...i18n import _, lowercased


class UniqueConstraintWithoutIndex(Rule):
    """## What it finds
    A UNIQUE constraint or PRIMARY KEY added directly to a table an earlier migration created,
    instead of building the index CONCURRENTLY and attaching it with `USING INDEX`, including
    one written inside `ADD COLUMN` (`ADD COLUMN id bigserial PRIMARY KEY`, `ADD COLUMN code
    text UNIQUE`). When that column's default also rewrites the table (a serial), the finding
    says so and its fix adds the column without it first: SL510 leaves the statement to this
    rule.

    A young table is left alone: one created at most 30 days before the migration (dates from
    Alembic's `Create Date:` line or a date that starts the file name; never a table of the
    first migration of a history, which is often a squash of older ones), unless the size hints
    make it big by then (they give today's rows, of which a month-old table held a month's
    share). Its index build stalls traffic noticeably only at millions of rows, which a table
    gains within a month only at over 100,000 rows a day: a volume to declare in the size hints.
    A table the size hints keep under 100,000 rows, now and in a year, is left alone too: its
    lock lasts milliseconds. So is an older table whose hinted rows, spread over its life, came
    to under 10,000 when the migration ran.

    In a history none of whose migrations adds a key `USING INDEX` of an index built
    `CONCURRENTLY`, three or more findings are one, at the newest migration, with the others as
    related places: the fix is the team's practice for the migrations to come, not one per
    migration that ran long ago. In a history that takes the practice up, the migrations before
    the first that follows it are one finding at P2 (they ran before it: nothing is left to
    change in them), and each later one that goes without it is a finding of its own.

    ## Why it matters
    `ADD CONSTRAINT ... UNIQUE` builds the unique index under ACCESS EXCLUSIVE: no reads and
    no writes on the table for the whole build. Built concurrently first, the index becomes the
    constraint with a catalog change that holds the lock for milliseconds. On a partitioned
    table PostgreSQL allows neither: each partition's index is built concurrently and made its
    constraint, and the constraint added to the partitioned table then adopts them.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    op.create_unique_constraint("uq_orders_order_no", "orders", ["order_no"])
    ```

    ## Use instead
    ```python
    with op.get_context().autocommit_block():
        op.create_index("uq_orders_order_no", "orders", ["order_no"], unique=True, postgresql_concurrently=True)
    op.execute("ALTER TABLE orders ADD CONSTRAINT uq_orders_order_no UNIQUE USING INDEX uq_orders_order_no")
    ```

    ## How to verify
    `SELECT conname, conindid::regclass FROM pg_constraint WHERE conrelid = 'orders'::regclass;`
    shows the constraint backed by the index; `schemalens verify` shows SHARE UPDATE EXCLUSIVE
    during the build.
    """

    code = "SL514"
    contends_with_live_traffic = True
    name = "unique-constraint-without-index"
    dimension = 5
    severity = "P1"
    summary = _("unique constraint or primary key added directly to an existing table")
    peers = ("squawk:disallowed-unique-constraint", "squawk:adding-serial-primary-key-field",
             "squawk:constraint-missing-not-valid", "pgls:disallowUniqueConstraint", "pgls:addingPrimaryKeyConstraint",
             "strong_migrations:add_unique_constraint", "eugene:E7", "atlas:PG104", "atlas:PG105", "atlas:MF101",
             "django-migration-linter:ADD_UNIQUE")

    valid = (
        Example(sql_example("CREATE UNIQUE INDEX CONCURRENTLY orders_status_key ON orders (status);\n"
                            "ALTER TABLE orders ADD CONSTRAINT orders_status_key UNIQUE USING INDEX orders_status_key;\n")),
        # A table created days before, in the same release: few rows (real code: a feature's new table).
        Example(young_table_example("    op.create_unique_constraint('uq_orders_note', 'orders', ['note'])")),
    )
    invalid = (
        Example(alembic_example("    op.create_unique_constraint('uq_orders_status', 'orders', ['status'])  # expect")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_status_key UNIQUE (status);  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN code text UNIQUE;  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN seq bigserial UNIQUE;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return iter(said_once_per_history(
            context, self._findings(context), (AddConstraintUsingIndex,), _concurrently_built(context),
            lambda history: _("no migration of %(history)s adds a key USING an index built CONCURRENTLY", history=history)))

    def _findings(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AddConstraint, AddColumn):
            operation = walked.operation
            constraints = operation.constraints if isinstance(operation, AddColumn) else (operation.constraint,)
            unique = [constraint for constraint in constraints if isinstance(constraint, (UniqueConstraint, PrimaryKey))]
            if unique and not few_rows(context, walked):
                for constraint in unique:
                    yield self._finding(context, walked, constraint)

    def _finding(self, context: AuditContext, walked, constraint) -> Finding:
        effect = EFFECTS["add-primary-key" if isinstance(constraint, PrimaryKey) else "add-unique"]
        table, columns = walked.table, ", ".join(constraint.columns)
        kind = "PRIMARY KEY" if isinstance(constraint, PrimaryKey) else "UNIQUE"
        name = constraint.name or f"{table}_{'_'.join(constraint.columns)}_key"
        scaffold = (scaffold_command(context, walked, "add-unique", table, columns=",".join(constraint.columns))
                    if kind == "UNIQUE" else "")
        if walked.partitioned:
            short_term = (_("%(table)s is partitioned: PostgreSQL builds no index CONCURRENTLY on it and takes no "
                          "`USING INDEX` there. Build each partition's unique index CONCURRENTLY in "
                          "`autocommit_block()`, make it that partition's %(kind)s with `ADD CONSTRAINT ... %(kind)s "
                          "USING INDEX`, then `ALTER TABLE %(table)s ADD CONSTRAINT %(name)s %(kind)s (%(columns)s)`, which "
                          "adopts the partitions' constraints without a build.", table=table, kind=kind, name=name, columns=columns) + scaffold)
        else:
            short_term = (_("`CREATE UNIQUE INDEX CONCURRENTLY %(name)s ON %(table)s (%(columns)s)` in "
                          "`autocommit_block()`, then `ALTER TABLE %(table)s ADD CONSTRAINT %(name)s %(kind)s "
                          "USING INDEX %(name)s`.", name=name, table=table, columns=columns, kind=kind) + scaffold)
        rewrite = _column_rewrite(walked)
        explanation = lock_sentence(effect)
        if rewrite is not None:
            column = walked.operation.column
            default = column.server_default or column.identity or column.type
            explanation += _(" The column's default (%(default)s) also rewrites %(table)s under the same lock "
                             "(reported here rather than by SL510: one statement, one finding).", default=default, table=table)
            short_term = (_("Add %(column)s with no default, `ALTER COLUMN %(column)s SET DEFAULT %(default)s` for "
                          "new rows, backfill old rows in batches, then ", column=column.name, default=default) + lowercased(short_term))
        return self.finding(
            walked.operation.location, _("%(kind)s (%(columns)s) is added to %(table)s directly", kind=kind, columns=columns, table=table),
            explanation,
            impact=_("Worst case: %(table)s is unreadable and unwritable for the whole index build. Most likely: "
                   "a deploy that blocks traffic for seconds to minutes, growing with the table.", table=table),
            root_cause=_("Alembic's create_unique_constraint/create_primary_key build the index inside the "
                       "ALTER TABLE."),
            fix=Fix(short_term=short_term,
                    medium_term=_("Check for duplicates first: a concurrent unique build fails on them and leaves "
                                "an INVALID index to drop."),
                    long_term=_("Declare unique keys when the table is created.")),
            verification=_("SELECT %(columns)s, count(*) FROM %(table)s GROUP BY %(columns)s HAVING count(*) > 1;  -- no "
                         "rows before the build; test: `schemalens verify` shows no ACCESS EXCLUSIVE during it", columns=columns, table=table),
            table=table, column=constraint.columns[0] if len(constraint.columns) == 1 else None,
            related=created_here(walked), severity=severity_by_size(context, table))


REWRITING_DEFAULTS = ("add-column-volatile-default", "add-column-generated-stored")


def _column_rewrite(walked):
    """The rewrite an ADD COLUMN's own default causes (a serial, a volatile default), or None."""
    if not isinstance(walked.operation, AddColumn):
        return None
    return next((e for e in walked.lock_effects if e.key in REWRITING_DEFAULTS), None)


def _concurrently_built(context: AuditContext):
    """This rule's way: a key added USING an index built CONCURRENTLY first."""
    built = {walked.operation.index.name for walked in context.walked(CreateIndex) if walked.operation.index.concurrently}
    return lambda walked: walked.operation.index in built
