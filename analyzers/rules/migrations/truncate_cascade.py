from __future__ import annotations

from typing import Iterator

from ...schema.model import table_key
from ...schema.operations import DataChange
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, lock_sentence, sql_example
from ...i18n import _


class TruncateCascade(Rule):
    """## What it finds
    `TRUNCATE ... CASCADE` in a migration. The finding names the tables the migrated schema
    says it also empties: those with a foreign key to a truncated table, and so on.

    ## Why it matters
    CASCADE empties every table that has a foreign key to the truncated one, and every table
    with a foreign key to those, with no WHERE and no undo once committed: `TRUNCATE orders
    CASCADE` can take `invoices`, `payments` and `refunds` with it. It also takes ACCESS
    EXCLUSIVE on all of them and rewrites them.

    P0 when the migrated schema shows other tables with a foreign key to it; P1 otherwise (the
    foreign keys may be created outside the migrations SchemaLens reads).

    ## Example
    ```sql
    TRUNCATE orders CASCADE;
    ```

    ## Use instead
    Name every table to empty, without CASCADE: `TRUNCATE orders, order_items;` fails if
    another table still references them, which is the point. To empty a table that others
    reference, delete its rows in batches, or drop the foreign keys you mean to give up first.

    ## How to verify
    `SELECT conrelid::regclass FROM pg_constraint WHERE confrelid = 'orders'::regclass AND
    contype = 'f'` lists the tables CASCADE would empty; after the change the migration names
    each table it truncates.
    """

    code = "SL542"
    name = "truncate-cascade"
    dimension = 5
    severity = "P1"
    summary = _("TRUNCATE ... CASCADE empties every table with a foreign key to it")
    peers = ("squawk:ban-truncate-cascade", "pgls:banTruncateCascade")

    valid = (
        Example(sql_example("TRUNCATE orders;\n")),
        Example(alembic_example("    op.execute('TRUNCATE orders RESTART IDENTITY')")),
    )
    invalid = (
        Example(sql_example("TRUNCATE orders CASCADE;  -- expect\n")),
        Example(sql_example("ALTER TABLE orders ADD CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id);\n"
                            "TRUNCATE customers CASCADE;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        reported: set = set()
        for walked in context.walked(DataChange):
            operation = walked.operation
            if operation.kind != "TRUNCATE" or not operation.cascade:
                continue
            if operation.location in reported:  # one statement truncating several tables: one finding
                continue
            reported.add(operation.location)
            truncated = [o.table for o in walked.step.operations if isinstance(o, DataChange) and o.location == operation.location]
            emptied = _referencing(context, truncated)
            (effect,) = walked.lock_effects
            also = _(" It also empties %(emptied)s.", emptied=', '.join(emptied)) if emptied else (
                _(" The migrated schema shows no table referencing it, but any foreign key created elsewhere counts."))
            yield self.finding(
                operation.location, _("TRUNCATE %(value)s CASCADE", value=', '.join(t for t in truncated if t)),
                _("CASCADE empties every table with a foreign key to %(value)s, recursively.", value=', '.join(t for t in truncated if t))
                + also + " " + lock_sentence(effect),
                impact=_("Worst case: production data in referencing tables is deleted with no way back but a restore. "
                       "Most likely: a migration written for a development database that empties more than intended."),
                root_cause=_("CASCADE is added to make TRUNCATE stop complaining about foreign keys, which are the "
                           "warning."),
                fix=Fix(short_term=_("Remove CASCADE and name each table to empty; if others still reference them, decide "
                                   "per table (delete in batches, or drop the foreign key first)."),
                        medium_term=_("Keep data deletion out of schema migrations; run it as a reviewed job."),
                        long_term=_("Take a backup (or a snapshot) before any migration that deletes data.")),
                verification=_("SELECT conrelid::regclass FROM pg_constraint WHERE contype = 'f' AND confrelid = "
                             "'%(truncated)s'::regclass;  -- the tables CASCADE would empty", truncated=truncated[0]),
                table=walked.table, severity="P0" if emptied else None)


def _referencing(context: AuditContext, truncated: list) -> list[str]:
    """Tables that CASCADE reaches from `truncated` through foreign keys, in the migrated schema."""
    targets = {table_key(t) for t in truncated if t}
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for key, table in sorted(context.model.database.tables.items()):
            if key in targets:
                continue
            if any(table_key(fk.ref_table, fk.ref_schema) in targets for fk in table.foreign_keys):
                targets.add(key)
                found.append(key)
                changed = True
    return found
