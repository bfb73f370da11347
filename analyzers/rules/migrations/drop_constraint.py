from __future__ import annotations

import re
from typing import Iterator, Optional

from ...schema.model import CheckConstraint, ForeignKey, PrimaryKey, UniqueConstraint
from ...schema.operations import AddConstraint, AddConstraintUsingIndex, AlterColumn, DropConstraint
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, lock_sentence, new_in_this_step, sql_example

_NOT_NULL_CHECK = re.compile(r'^\(*\s*"?(\w+)"?\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)


class DropConstraintRule(Rule):
    """## What it finds
    `ALTER TABLE ... DROP CONSTRAINT` (`op.drop_constraint`) on a table an earlier migration
    created, unless the same migration puts an equivalent constraint back (a drop and re-add
    under the same name, the step of a safe migration), or the constraint is a `CHECK (column
    IS NOT NULL)` that a NOT NULL on the column has replaced (the last step of SL508's recipe).

    ## Why it matters
    A constraint is a guarantee other code relies on: once a UNIQUE constraint or primary key is
    gone, `INSERT ... ON CONFLICT (...)` in the running release fails (there is no unique index
    to infer) and duplicates can be written; without a foreign key or a CHECK, rows that break
    the rule are accepted and code that assumed it reads them later. Dropping a foreign key also
    takes ACCESS EXCLUSIVE on the referenced table, not only on the table altered.

    P2.

    ## Example
    ```python
    op.drop_constraint("uq_orders_order_no", "orders", type_="unique")
    ```

    ## Use instead
    Drop a constraint in the release after the code stopped relying on it; when it is replaced
    (a wider unique key, a changed CHECK), add the new one first (NOT VALID, then VALIDATE) and
    drop the old one afterwards, so that the guarantee never lapses.

    ## How to verify
    `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid =
    'orders'::regclass` shows the guarantee the code needs at every step of the deploy.
    """

    code = "SL545"
    name = "drop-constraint"
    dimension = 5
    severity = "P2"
    summary = "constraint dropped from an existing table (the guarantee lapses)"
    summary_zh = "删除已有表上的约束（保证失效）"
    peers = ("squawk:ban-drop-constraint", "atlas:CD101")

    valid = (
        Example(sql_example(
            "ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;\n"
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"
            "ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;\n")),
        Example(sql_example("ALTER TABLE orders DROP CONSTRAINT orders_total_check;\n"
                            "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n")),
    )
    invalid = (
        Example(alembic_example("    op.drop_constraint('uq_orders_status', 'orders', type_='unique')  # expect")),
        Example(sql_example("ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_customer_fk;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.migration_walk:
            operation = walked.operation
            if not isinstance(operation, DropConstraint) or new_in_this_step(walked) or _put_back(walked) \
                    or _replaced_by_not_null(walked):
                continue
            constraint = walked.constraint_before
            kind = _kind(constraint)
            effect = walked.lock_effects[0] if walked.lock_effects else None
            guarantee = {"UNIQUE": "duplicates can be written and ON CONFLICT on these columns fails",
                         "PRIMARY KEY": "duplicates can be written and ON CONFLICT on the key fails",
                         "FOREIGN KEY": "rows pointing at nothing can be written",
                         "CHECK": "rows breaking the check can be written"}.get(kind, "what it guaranteed no longer holds")
            yield self.finding(
                operation.location, f"constraint {operation.name} is dropped from {walked.table}",
                f"{kind or 'The'} constraint {operation.name} goes: {guarantee}. "
                + (lock_sentence(effect) if effect else ""),
                impact=f"Worst case: the running release relies on {operation.name} (an upsert, a lookup by key, data it "
                       "trusts) and fails or stores bad rows. Most likely: data that breaks the old rule appears "
                       "and surprises a report or a job later.",
                root_cause="Constraints are dropped as schema cleanup, while code written against them still runs.",
                fix=Fix(short_term="Drop it in a release after no code relies on it; to replace it, add the new "
                                   "constraint first (NOT VALID, then VALIDATE) and drop the old one afterwards.",
                        medium_term="Record which code depends on each constraint (upserts, lookups) in review.",
                        long_term="Name constraints by convention so that replacements are visible in review."),
                verification=f"SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                             f"'{walked.table}'::regclass;  -- test: the previous release's tests pass on the migrated schema",
                table=walked.table, related=created_here(walked))


def _kind(constraint) -> Optional[str]:
    return {ForeignKey: "FOREIGN KEY", CheckConstraint: "CHECK", UniqueConstraint: "UNIQUE",
            PrimaryKey: "PRIMARY KEY"}.get(type(constraint))


def _put_back(walked) -> bool:
    """The same step adds a constraint of that name again (drop and re-add)."""
    operations = walked.step.operations
    later = operations[operations.index(walked.operation) + 1:] if walked.operation in operations else ()
    name = walked.operation.name
    return any(isinstance(other, AddConstraint) and other.constraint.name == name
               or isinstance(other, AddConstraintUsingIndex) and other.name == name for other in later)


def _replaced_by_not_null(walked) -> bool:
    """A CHECK (column IS NOT NULL) dropped once the column itself is NOT NULL."""
    constraint = walked.constraint_before
    if not isinstance(constraint, CheckConstraint):
        return False
    match = _NOT_NULL_CHECK.match(constraint.expression.strip())
    if match is None:
        return False
    operations = walked.step.operations
    earlier = operations[:operations.index(walked.operation)] if walked.operation in operations else ()
    return any(isinstance(other, AlterColumn) and other.column == match.group(1) and other.nullable is False
               for other in earlier)
