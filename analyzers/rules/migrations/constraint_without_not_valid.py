from __future__ import annotations

from typing import Iterator

from ...schema.model import CheckConstraint, ForeignKey
from ...schema.operations import AddConstraint
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import (
    alembic_example,
    created_here,
    lock_sentence,
    on_existing_tables,
    scaffold_command,
    severity_by_size,
    sql_example,
)


class ConstraintWithoutNotValid(Rule):
    """## What it finds
    A foreign key or CHECK constraint added to a table that an earlier migration created,
    without `NOT VALID`. A constraint added in the same migration as its table is fine.

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
    summary = "foreign key or check added to an existing table without NOT VALID"
    summary_zh = "在已有表上添加外键/检查约束未使用 NOT VALID（锁表全表扫描）"

    valid = (
        Example(alembic_example(
            "    op.create_foreign_key('fk_orders_customer', 'orders', 'customers', ['customer_id'], ['id'],\n"
            "                          postgresql_not_valid=True)")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n"
                            "ALTER TABLE orders VALIDATE CONSTRAINT orders_total_check;\n")),
    )
    invalid = (
        Example(alembic_example(
            "    op.create_foreign_key('fk_orders_customer', 'orders', 'customers', ['customer_id'], ['id'])  # expect")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0);  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in on_existing_tables(context, AddConstraint):
            constraint = walked.operation.constraint
            if not isinstance(constraint, (ForeignKey, CheckConstraint)) or constraint.not_valid:
                continue
            (effect,) = walked.lock_effects
            table, name = walked.table, constraint.name or "the constraint"
            is_fk = isinstance(constraint, ForeignKey)
            kind = "FOREIGN KEY" if is_fk else "CHECK"
            definition = (f"FOREIGN KEY ({', '.join(constraint.columns)}) REFERENCES {constraint.ref_table} "
                          f"({', '.join(constraint.ref_columns)})" if is_fk else f"CHECK ({constraint.expression})")
            yield self.finding(
                walked.operation.location, f"{kind} {name} is added to {table} without NOT VALID",
                f"{lock_sentence(effect)} Every existing row of {table} is checked before the lock is released.",
                impact=f"Worst case: writes to {table}" + (f" and {constraint.ref_table}" if is_fk else "")
                       + " stall for the whole scan and the deploy times out. Most likely: a write stall that "
                         "grows with the table.",
                root_cause="Adding and validating a constraint in one statement is the default; splitting them "
                           "needs NOT VALID, which Alembic only writes when asked.",
                fix=Fix(short_term=f"Add it with NOT VALID (`ALTER TABLE {table} ADD CONSTRAINT {name} {definition} "
                                   f"NOT VALID`), then in a later revision `ALTER TABLE {table} VALIDATE CONSTRAINT "
                                   f"{name}`." + (scaffold_command(context, walked, "add-foreign-key", table, columns=",".join(constraint.columns),
                                                                   ref=f"{constraint.ref_table}.{','.join(constraint.ref_columns)}")
                                                  if is_fk else scaffold_command(context, walked, "add-check", table, check=constraint.expression)),
                        medium_term="Set `lock_timeout` in every revision; run `schemalens check` on new revisions in CI.",
                        long_term="A migration helper that always adds constraints NOT VALID and validates separately."),
                verification=f"SELECT conname, convalidated FROM pg_constraint WHERE conrelid = '{table}'::regclass;"
                             "  -- convalidated is true after VALIDATE; test: `schemalens verify` shows SHARE UPDATE "
                             "EXCLUSIVE for the VALIDATE step",
                table=table, column=constraint.columns[0] if is_fk and len(constraint.columns) == 1 else None,
                related=created_here(walked), severity=severity_by_size(context, table))
