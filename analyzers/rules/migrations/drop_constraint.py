from __future__ import annotations

import re
from typing import Iterator, Optional

from ...schema.migration_walk import dropped_constraint_kind
from ...schema.model import CheckConstraint, ForeignKey, PrimaryKey, UniqueConstraint, table_key
from ...schema.operations import (
    AddColumn,
    AddConstraint,
    AddConstraintUsingIndex,
    AlterColumn,
    CreateIndex,
    DropColumn,
    DropConstraint,
    DropTable,
    RenameTable,
)
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, lock_sentence, new_in_this_step, sql_example
from ...i18n import _
from ...lazy_pattern import LazyPattern

_NOT_NULL_CHECK = LazyPattern(r'^\(*\s*"?(\w+)"?\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)


class DropConstraintRule(Rule):
    """## What it finds
    `ALTER TABLE ... DROP CONSTRAINT` (`op.drop_constraint`) on a table an earlier migration
    created, when something may rely on it: code that names the constraint, an upsert (`ON
    CONFLICT`, `on_conflict_do_update`) on the table for a UNIQUE or PRIMARY KEY, a foreign key
    whose ON DELETE action stops (CASCADE, SET NULL), or no code in the workspace to tell
    (a SQL-only repository).

    Not reported when the same migration puts an equivalent constraint back (a drop and re-add
    under the same name, one of the same kind on the same columns as when a foreign key's ON
    DELETE changes, or a unique index in place of a UNIQUE; on the table and columns as the
    migration renames them meanwhile), when the constraint is a `CHECK
    (column IS NOT NULL)` that a NOT NULL on the column has replaced (the last step of SL508's
    recipe), or when the same migration drops the constraint's column or table (SL513/SL544's).

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
    summary = _("constraint dropped from an existing table (the guarantee lapses)")
    peers = ("squawk:ban-drop-constraint", "atlas:CD101")

    valid = (
        Example(sql_example(
            "ALTER TABLE orders ADD CONSTRAINT orders_status_not_null CHECK (status IS NOT NULL) NOT VALID;\n"
            "ALTER TABLE orders VALIDATE CONSTRAINT orders_status_not_null;\n"
            "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"
            "ALTER TABLE orders DROP CONSTRAINT orders_status_not_null;\n")),
        Example(sql_example("ALTER TABLE orders DROP CONSTRAINT orders_total_check;\n"
                            "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n")),
        # An Alembic project whose code neither names the constraint nor upserts into the table.
        Example(alembic_example("    op.drop_constraint('uq_orders_status', 'orders', type_='unique')")),
        # skyvern: the file that reads orders upserts into another table
        Example({**alembic_example("    op.drop_constraint('uq_orders_status', 'orders', type_='unique')"),
                 "app/repository.py": ("def orders_of(session, customer):\n"
                                       "    return session.query(orders).filter_by(customer=customer).all()\n\n\n"
                                       "def save_block(session, row):\n"
                                       "    statement = insert(ScriptBlock).values(row)\n"
                                       "    session.execute(statement.on_conflict_do_update(constraint='uc_label', set_=row))\n")}),
        # rallly: dropped, the table and column renamed, added again under the new names
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) "
                            "REFERENCES customers (id);\n")
                | {"db/V3__naming.sql": ('ALTER TABLE "orders" DROP CONSTRAINT "orders_customer_id_fkey";\n'
                                         'ALTER TABLE "orders" RENAME TO "purchases";\n'
                                         'ALTER TABLE "purchases" RENAME COLUMN "customer_id" TO "buyer_id";\n'
                                         'ALTER TABLE "purchases" ADD CONSTRAINT "purchases_buyer_id_fkey" '
                                         'FOREIGN KEY ("buyer_id") REFERENCES "customers" ("id") NOT VALID;\n')}),
        # A foreign key's ON DELETE changes: dropped and added again on the same columns.
        Example(sql_example("ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey;\n"
                            "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) "
                            "REFERENCES customers (id) ON DELETE CASCADE NOT VALID;\n")),
    )
    invalid = (
        Example({**alembic_example("    op.drop_constraint('uq_orders_status', 'orders', type_='unique')  # expect"),
                 "app/orders.py": "def upsert(session, orders, row):\n"
                                  "    session.execute(insert(orders).values(row).on_conflict_do_nothing())\n"}),
        Example(sql_example("ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_customer_fk;  -- expect\n")),
        # A raw SQL upsert, its ON CONFLICT written in lower case.
        Example({**alembic_example("    op.drop_constraint('uq_orders_status', 'orders', type_='unique')  # expect"),
                 "app/orders.py": "def upsert(session, row):\n"
                                  "    session.execute(text('insert into orders (status) values (:status) '\n"
                                  "                         'on conflict (status) do nothing'), row)\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.walked(DropConstraint):
            operation = walked.operation
            if new_in_this_step(walked) or _put_back(walked) or _replaced_by_not_null(walked) \
                    or _goes_with_its_column(walked):
                continue
            kind = {"foreignkey": "FOREIGN KEY", "unique": "UNIQUE", "check": "CHECK",
                    "primary": "PRIMARY KEY"}.get(dropped_constraint_kind(walked) or "")
            evidence = _reliance(context, walked, kind)
            if evidence is None:
                continue
            effect = walked.lock_effects[0] if walked.lock_effects else None
            guarantee = {"UNIQUE": _("duplicates can be written and ON CONFLICT on these columns fails"),
                         "PRIMARY KEY": _("duplicates can be written and ON CONFLICT on the key fails"),
                         "FOREIGN KEY": _("rows pointing at nothing can be written"),
                         "CHECK": _("rows breaking the check can be written")}.get(kind, _("what it guaranteed no longer holds"))
            yield self.finding(
                operation.location, _("constraint %(operation)s is dropped from %(table)s", operation=operation.name, table=walked.table),
                _("%(value)s constraint %(operation)s goes: %(guarantee)s. %(evidence)s ", value=kind or _('The'), operation=operation.name, guarantee=guarantee, evidence=evidence[0])
                + (lock_sentence(effect) if effect else ""),
                impact=_("Worst case: the running release relies on %(operation)s (an upsert, a lookup by key, data it "
                       "trusts) and fails or stores bad rows. Most likely: data that breaks the old rule appears "
                       "and surprises a report or a job later.", operation=operation.name),
                root_cause=_("Constraints are dropped as schema cleanup, while code written against them still runs."),
                fix=Fix(short_term=_("Drop it in a release after no code relies on it; to replace it, add the new "
                                   "constraint first (NOT VALID, then VALIDATE) and drop the old one afterwards."),
                        medium_term=_("Record which code depends on each constraint (upserts, lookups) in review."),
                        long_term=_("Name constraints by convention so that replacements are visible in review.")),
                verification=_("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                             "'%(table)s'::regclass;  -- test: the previous release's tests pass on the migrated schema", table=walked.table),
                table=walked.table, related=(*evidence[1], *created_here(walked)))


_KINDS = {"foreignkey": ForeignKey, "unique": UniqueConstraint, "check": CheckConstraint, "primary": PrimaryKey}


def _put_back(walked) -> bool:
    """The same step adds the constraint again: under the same name, or (the usual way to change a
    foreign key's ON DELETE) a constraint of the same kind on the same columns, or, when the
    dropped one's columns are unknown, of the same kind on the same table."""
    operations = walked.step.operations
    name, table = walked.operation.name, walked.operation.table
    dropped = walked.constraint_before
    kind = _KINDS.get(dropped_constraint_kind(walked) or "")
    if kind in (UniqueConstraint, PrimaryKey) and any(isinstance(other, CreateIndex) and other.table == table
                                                       and other.index.unique for other in operations):
        return True
    columns = getattr(dropped, "columns", None)
    for other in walked.later_in_step:
        # renamed meanwhile (rallly's naming convention: "Comment"."pollId" -> comments.poll_id)
        if isinstance(other, RenameTable) and other.table == table:
            table = other.new_name
            continue
        if isinstance(other, AlterColumn) and other.table == table and other.new_name and columns:
            columns = tuple(other.new_name if column == other.column else column for column in columns)
            continue
        if isinstance(other, AddColumn) and other.table == table and kind is not None \
                and any(isinstance(c, kind) for c in other.constraints):
            return True
        if isinstance(other, AddConstraintUsingIndex) and (other.name == name or other.table == table
                                                           and kind in (UniqueConstraint, PrimaryKey)):
            return True
        if not isinstance(other, AddConstraint):
            continue
        if other.constraint.name == name:
            return True
        if other.table != table or kind is None or not isinstance(other.constraint, kind):
            continue
        if columns is None or getattr(other.constraint, "columns", None) == columns:
            return True
    return False


def _replaced_by_not_null(walked) -> bool:
    """A CHECK (column IS NOT NULL) dropped once the column itself is NOT NULL."""
    constraint = walked.constraint_before
    if not isinstance(constraint, CheckConstraint):
        return False
    match = _NOT_NULL_CHECK.match(constraint.expression.strip())
    if match is None:
        return False
    return any(isinstance(other, AlterColumn) and other.column == match.group(1) and other.nullable is False
               for other in walked.earlier_in_step)


def _goes_with_its_column(walked) -> bool:
    """The same step drops the table, or a column of the constraint (known from the migrations,
    else read from PostgreSQL's default name `<table>_<columns>_<suffix>`)."""
    operation = walked.operation
    columns = set(getattr(walked.constraint_before, "columns", ()) or ())
    remainder = operation.name.removeprefix(f"{operation.table}_") if operation.name else ""
    for other in walked.later_in_step:
        if isinstance(other, DropTable) and other.table == operation.table:
            return True
        if isinstance(other, DropColumn) and other.table == operation.table and (
                other.column in columns or not columns and re.search(rf"(^|_){re.escape(other.column)}(_|$)", remainder)):
            return True
    return False


_ACTIONS = ("CASCADE", "SET NULL", "SET DEFAULT")


def _reliance(context: AuditContext, walked, kind: Optional[str]) -> Optional[tuple[str, tuple]]:
    """(why the constraint may be relied on, related locations), or None when nothing shows it."""
    operation = walked.operation
    if not context.has_application_code:
        return _("SchemaLens sees no Python code that reads this database (it does not read code in other languages), "
                 "so it cannot tell what relies on it."), ()
    mention = context.code_mention(operation.name) if operation.name else None
    if mention is not None:
        return _("%(path)s:%(line)s names it.", path=mention.path, line=mention.line), (Related(mention, _("named here")),)
    if kind in ("UNIQUE", "PRIMARY KEY"):
        orm = context.model.orm.tables.get(table_key(operation.table, operation.schema))
        upsert = context.upsert_into((operation.table, orm.class_name if orm is not None else None))
        if upsert is not None:
            return (_("%(path)s:%(line)s upserts into %(table)s; ON CONFLICT needs a unique index "
                    "on its target columns.", path=upsert.path, line=upsert.line, table=operation.table), (Related(upsert, _("upsert here")),))
    constraint = walked.constraint_before
    if isinstance(constraint, ForeignKey) and constraint.on_delete in _ACTIONS:
        return (_("Deleting a %(ref_table)s row no longer does ON DELETE %(on_delete)s on "
                "%(table)s.", ref_table=constraint.ref_table, on_delete=constraint.on_delete, table=operation.table), ())
    return None
