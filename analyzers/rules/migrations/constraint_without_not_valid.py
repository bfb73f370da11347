from __future__ import annotations

from typing import Iterator

from ...pg.locks import EFFECTS
from ...schema.model import CheckConstraint, ForeignKey
from ...schema.operations import AddColumn, AddConstraint, TransactionControl, ValidateConstraint
from ...schema.replay import postgres_constraint_name
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .history_practice import said_once_per_history
from .safety import (
    alembic_example,
    backfilled_under_the_add,
    created_here,
    few_rows,
    lock_sentence,
    scaffold_command,
    severity_by_size,
    sql_example,
    young_table_example,
)
from ...i18n import _


class ConstraintWithoutNotValid(Rule):
    """## What it finds
    A foreign key or CHECK constraint added to a table that an earlier migration created,
    without `NOT VALID`, including one written inside `ADD COLUMN` (`ADD COLUMN discount int
    CHECK (discount >= 0)`), which has no NOT VALID form. A constraint added in the same
    migration as its table is fine, and so is a foreign key written in SQL on a column added
    without a default (`ADD COLUMN customer_id bigint REFERENCES customers`): every value is
    NULL and PostgreSQL checks no row. Alembic's `add_column` adds the column's foreign key
    after it, with an ADD CONSTRAINT that is checked.

    A foreign key on a column added and backfilled (UPDATE) earlier in the same transaction is
    left to SL516, as SL508 leaves SET NOT NULL: the ADD COLUMN's ACCESS EXCLUSIVE lock is held
    through the backfill and the validation scan alike, one problem, reported at the backfill.

    Also a `VALIDATE CONSTRAINT` in the same transaction as the `ADD ... NOT VALID` it
    validates: the ADD's lock (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables
    for a foreign key) is held until the commit, so through the whole scan, as if NOT VALID had
    not been written. Alembic runs a revision in one transaction; SQL tools that wrap each file
    (Flyway, sqlx, dbmate, ...) do the same for a file.

    A young table is left alone: one created at most 30 days before the migration (dates from
    Alembic's `Create Date:` line or a date that starts the file name; never a table of the
    first migration of a history, which is often a squash of older ones), unless the size hints
    make it big by then (they give today's rows, of which a month-old table held a month's
    share). Its validation scan stalls traffic noticeably only at millions of rows, which a
    table gains within a month only at over 100,000 rows a day: a volume to declare in the size
    hints. A table the size hints keep under 100,000 rows, now and in a year, is left alone too:
    its lock lasts milliseconds. So is an older table whose hinted rows, spread over its life,
    came to under 10,000 when the migration ran.

    In a history none of whose migrations adds a constraint `NOT VALID` and validates it in a
    later transaction, three or more findings are one, at the newest migration, with the others
    as related places: the fix is the team's practice for the migrations to come, not one per
    migration that ran long ago. In a history that takes the practice up, the migrations before
    the first that follows it are one finding at P2 (they ran before it: nothing is left to
    change in them), and each later one that goes without it is a finding of its own.

    ## Why it matters
    Adding a foreign key takes SHARE ROW EXCLUSIVE on both tables and a CHECK takes ACCESS
    EXCLUSIVE, and PostgreSQL then reads every row to prove the constraint while holding the
    lock: writes (for a CHECK, reads too) wait for the whole scan. With `NOT VALID` the
    constraint is added at once and enforced for new rows; `VALIDATE CONSTRAINT` later checks
    the old rows under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```python
    op.create_foreign_key("fk_orders_customer", "orders", "customers", ["customer_id"], ["id"])
    ```

    ## Use instead
    ```python
    # revision 1
    op.execute("ALTER TABLE orders ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) "
               "REFERENCES customers (id) NOT VALID")
    # revision 2 (after the first is deployed)
    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer")
    ```
    Alembic's `create_check_constraint` and `create_foreign_key` accept `postgresql_not_valid=True`.
    For a new column with a foreign key: add the column, then the constraint NOT VALID.

    ## How to verify
    `SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'orders'::regclass;`
    shows the constraint validated after the second step; `schemalens verify` shows only
    SHARE UPDATE EXCLUSIVE taken by the VALIDATE.
    """

    code = "SL507"
    contends_with_live_traffic = True
    name = "constraint-without-not-valid"
    dimension = 5
    severity = "P1"
    summary = _("foreign key or check added to an existing table without NOT VALID")
    peers = ("squawk:constraint-missing-not-valid", "squawk:adding-foreign-key-constraint",
             "pgls:constraintMissingNotValid", "pgls:addingForeignKeyConstraint",
             "pgls:requireSeparateConstraintValidation", "strong_migrations:add_foreign_key",
             "strong_migrations:add_check_constraint", "eugene:E1", "atlas:PG305", "atlas:PG306")

    valid = (
        Example(alembic_example(
            "    op.create_foreign_key('fk_orders_customer', 'orders', 'customers', ['customer_id'], ['id'],\n"
            "                          postgresql_not_valid=True)")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n")
                | {"db/V3__validate.sql": "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;\n"}),
        # onyx: a column added, backfilled, then given its foreign key in one revision: SL516
        # reports the backfill, under whose lock the validation scan runs too
        Example(alembic_example("    op.add_column('orders', sa.Column('buyer_id', sa.BigInteger()))\n"
                                "    op.execute('UPDATE orders SET buyer_id = customer_id')\n"
                                "    op.create_foreign_key('fk_orders_buyer', 'orders', 'customers', ['buyer_id'], ['id'])")),
        # A foreign key on a column added without a default: PostgreSQL checks no row (all are NULL)
        Example(sql_example("ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES customers (id);\n")),
        # A table created days before, in the same release: few rows (real code: a feature's new table).
        Example(young_table_example("    op.add_column('orders', sa.Column('buyer_id', sa.BigInteger()))\n"
                                    "    op.create_foreign_key(None, 'orders', 'customers', ['buyer_id'], ['id'])")),
        # dispatch: the hints give today's million rows; the table was days old when this ran, years ago
        Example(young_table_example("    op.create_foreign_key(None, 'orders', 'customers', ['customer_id'], ['id'])",
                                    newest="2026-11-20 10:00"),
                config="[tool.schemalens.tables.orders]\nrows = 1_000_000\n"),
        # dispatch: a configuration table the team keeps at a few dozen rows
        Example(alembic_example(
            "    op.create_foreign_key('fk_orders_customer', 'orders', 'customers', ['customer_id'], ['id'])"),
                config="[tool.schemalens.tables.orders]\nrows = 50\n"),
    )
    invalid = (
        Example(alembic_example(
            "    op.create_foreign_key('fk_orders_customer', 'orders', 'customers', ['customer_id'], ['id'])  # expect")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0);  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN buyer_id bigint DEFAULT 1 REFERENCES customers (id);  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN discount int CHECK (discount >= 0);  -- expect\n")),
        # privacyidea: Alembic adds the column's foreign key after it, with ADD CONSTRAINT
        Example(alembic_example("    op.add_column('orders', sa.Column('buyer_id', sa.BigInteger(),  # expect\n"
                                "                  sa.ForeignKey('customers.id', name='fk_orders_buyer')))")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n"
                            "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;  -- expect\n")),
        # a young table the hints already give a million rows: the migration is the newest
        Example(young_table_example(
            "    op.create_foreign_key(None, 'orders', 'customers', ['customer_id'], ['id'])  # expect"),
                config="[tool.schemalens.tables.orders]\nrows = 1_000_000\n"),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        validated_at_once: list[Finding] = []  # a slip of the practice's own: never said with the others
        without = self._findings(context, validated_at_once)
        return iter([*said_once_per_history(
            context, without, (AddConstraint,), _added_not_valid_and_validated_later,
            lambda history: _("no migration of %(history)s adds a constraint NOT VALID", history=history)),
            *validated_at_once])

    def _findings(self, context: AuditContext, validated_at_once: list[Finding]) -> Iterator[Finding]:
        """The constraints added without NOT VALID; those validated in the transaction that added
        them NOT VALID go to `validated_at_once`."""
        pending: dict[int, dict[str, object]] = {}  # step -> constraints added NOT VALID in the open transaction
        for walked in context.migration_walk:
            operation, number = walked.operation, walked.step_number
            if not walked.in_transaction or isinstance(operation, TransactionControl):
                pending.pop(number, None)
            if isinstance(operation, ValidateConstraint) and operation.name in pending.get(number, {}):
                validated_at_once.append(self._validated_at_once(context, walked, pending[number][operation.name]))
            if isinstance(operation, AddConstraint) and getattr(operation.constraint, "not_valid", False) \
                    and walked.in_transaction:
                pending.setdefault(number, {})[operation.constraint.name] = walked
            if not walked.existing:
                continue
            if isinstance(operation, AddConstraint):
                constraints = [operation.constraint]
            elif isinstance(operation, AddColumn):
                constraints = [c for c in operation.constraints if not _unvalidated_inline(operation, c)]
            else:
                continue
            validated = [c for c in constraints if isinstance(c, (ForeignKey, CheckConstraint)) and not c.not_valid
                         and not (isinstance(c, ForeignKey) and backfilled_under_the_add(context, walked, c.columns))]
            if validated and not few_rows(context, walked):
                for constraint in validated:
                    yield self._finding(context, walked, constraint)

    def _validated_at_once(self, context: AuditContext, walked, added) -> Finding:
        operation, table = walked.operation, walked.table
        constraint = added.operation.constraint
        effect = added.lock_effects[0]
        kind = "FOREIGN KEY" if isinstance(constraint, ForeignKey) else "CHECK"
        return self.finding(
            operation.location, _("%(operation)s is validated in the transaction that added it NOT VALID", operation=operation.name),
            _("%(title)s on %(table)s holds its lock until the commit, so the VALIDATE scans %(table)s under it: "
            "%(lock_sentence)s NOT VALID only helps when VALIDATE runs in a later transaction.", title=effect.title, table=table, lock_sentence=lock_sentence(effect)),
            impact=_("Worst case: writes to %(table)s", table=table) + (_(" and %(ref_table)s", ref_table=constraint.ref_table) if kind == "FOREIGN KEY" else "")
                   + _(" stall for the whole scan, exactly what NOT VALID was meant to avoid. Most likely: a write stall "
                     "that grows with the table."),
            root_cause=_("Alembic runs a revision in one transaction (and SQL tools a file), so both statements share "
                       "its locks."),
            fix=Fix(short_term=_("Move `ALTER TABLE %(table)s VALIDATE CONSTRAINT %(operation)s` to the next revision (or "
                               "file), or commit between the two.", table=table, operation=operation.name),
                    medium_term=_("Set `lock_timeout` in every revision; run `schemalens check` on new revisions in CI.")),
            verification=_("`schemalens verify` shows only SHARE UPDATE EXCLUSIVE held during the VALIDATE scan"),
            table=table, related=(*created_here(walked),), severity=severity_by_size(context, table))

    def _finding(self, context: AuditContext, walked, constraint) -> Finding:
        inline = isinstance(walked.operation, AddColumn) and not walked.operation.named_by_convention
        effect = EFFECTS["add-foreign-key" if isinstance(constraint, ForeignKey) else "add-check"]
        table = walked.table
        # unnamed (`op.create_foreign_key(None, ...)` without a naming convention): the name PostgreSQL gives it
        name = constraint.name or postgres_constraint_name(table.rpartition(".")[2], constraint, lambda _name: False)
        is_fk = isinstance(constraint, ForeignKey)
        kind = "FOREIGN KEY" if is_fk else "CHECK"
        definition = (f"FOREIGN KEY ({', '.join(constraint.columns)}) REFERENCES {constraint.ref_table} "
                      f"({', '.join(constraint.ref_columns)})" if is_fk else f"CHECK ({constraint.expression})")
        return self.finding(
            walked.operation.location, _("%(kind)s %(name)s is added to %(table)s without NOT VALID", kind=kind, name=name, table=table)
            + (_(" (inside ADD COLUMN)") if inline else ""),
            _("%(lock_sentence)s Every existing row of %(table)s is checked before the lock is released.", lock_sentence=lock_sentence(effect), table=table)
            + (_(" Written inside ADD COLUMN, the constraint has no NOT VALID form.") if inline else ""),
            impact=_("Worst case: writes to %(table)s", table=table) + (_(" and %(ref_table)s", ref_table=constraint.ref_table) if is_fk else "")
                   + _(" stall for the whole scan and the deploy times out. Most likely: a write stall that "
                     "grows with the table."),
            root_cause=_("Adding and validating a constraint in one statement is the default; splitting them "
                       "needs NOT VALID, which Alembic only writes when asked."),
            fix=Fix(short_term=(_("Add the column without the constraint first, then ") if inline else "")
                    + _("add it with NOT VALID (`ALTER TABLE %(table)s ADD CONSTRAINT %(name)s %(definition)s "
                               "NOT VALID`), then in a later revision `ALTER TABLE %(table)s VALIDATE CONSTRAINT "
                               "%(name)s`.", table=table, name=name, definition=definition) + (scaffold_command(context, walked, "add-foreign-key", table, columns=",".join(constraint.columns),
                                                               ref=f"{constraint.ref_table}.{','.join(constraint.ref_columns)}")
                                              if is_fk else scaffold_command(context, walked, "add-check", table, check=constraint.expression)),
                    medium_term=_("Set `lock_timeout` in every revision; run `schemalens check` on new revisions in CI."),
                    long_term=_("A migration helper that always adds constraints NOT VALID and validates separately.")),
            verification=_("SELECT conname, convalidated FROM pg_constraint WHERE conrelid = '%(table)s'::regclass;"
                         "  -- convalidated is true after VALIDATE; test: `schemalens verify` shows SHARE UPDATE "
                         "EXCLUSIVE for the VALIDATE step", table=table),
            table=table, column=constraint.columns[0] if is_fk and len(constraint.columns) == 1 else None,
            related=created_here(walked), severity=severity_by_size(context, table))


def _unvalidated_inline(operation: AddColumn, constraint) -> bool:
    """A foreign key written in SQL on a column added without a default: every value is NULL,
    and PostgreSQL adds it valid without checking a row (measured: no scan of the table). Alembic's
    add_column adds the column's constraints after it, each an ADD CONSTRAINT that is checked."""
    return isinstance(constraint, ForeignKey) and not operation.named_by_convention \
        and operation.column.server_default is None and operation.column.identity is None


def _added_not_valid_and_validated_later(walked) -> bool:
    """This rule's way: a constraint added NOT VALID and not validated before its transaction
    commits (a VALIDATE in the same transaction holds the ADD's lock through the scan)."""
    constraint = walked.operation.constraint
    if not getattr(constraint, "not_valid", False):
        return False
    for later in walked.later_in_step:
        if isinstance(later, TransactionControl):
            return True
        if isinstance(later, ValidateConstraint) and later.name == constraint.name:
            return not walked.in_transaction
    return True
