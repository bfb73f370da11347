from __future__ import annotations

from typing import Iterator, Optional

from ...pg.locks import EFFECTS
from ...schema.operations import UnsupportedStatement
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import LOCK_TIMEOUT_ADVICE, lock_sentence, sql_example
from ...i18n import _


class DomainConstraint(Rule):
    """## What it finds
    - `ALTER DOMAIN ... ADD CONSTRAINT` without `NOT VALID`, `ALTER DOMAIN ... VALIDATE
      CONSTRAINT` and `ALTER DOMAIN ... SET NOT NULL` (P1): each scans every column of the
      domain in every table while writes to those tables wait;
    - `CREATE DOMAIN` with a CHECK or NOT NULL constraint (P2): every later change of that rule
      has to go through the statements above.

    ## Why it matters
    A domain constraint is checked against every column that uses the domain, in every table,
    at once: PostgreSQL takes SHARE on each of those tables (writes wait) and scans them all.
    Unlike a table constraint, there is no online way to validate one: `NOT VALID` avoids the
    scan when adding it, but the later `VALIDATE CONSTRAINT` takes the same SHARE lock for the
    whole scan (measured: docs/locks.md). A rule kept in a domain can therefore never be
    tightened online on a big table.

    ## Example
    ```sql
    CREATE DOMAIN positive_amount AS numeric(12, 2) CHECK (VALUE > 0);
    ALTER DOMAIN positive_amount ADD CONSTRAINT below_limit CHECK (VALUE < 1000000);
    ```

    ## Use instead
    A plain type with table CHECK constraints, which can be added `NOT VALID` and validated
    under SHARE UPDATE EXCLUSIVE per table: `amount numeric(12, 2) CHECK (amount > 0)`. A
    domain without constraints (a name for a type) is fine.

    ## How to verify
    `schemalens verify` shows the locks each statement takes; `SELECT conrelid::regclass,
    conname FROM pg_constraint WHERE contype = 'c'` lists the table CHECKs that replace it.
    """

    code = "SL548"
    contends_with_live_traffic = True
    name = "domain-constraint"
    dimension = 5
    severity = "P1"
    summary = _("domain constraint (checked across every table using the domain under a write lock)")
    peers = ("squawk:ban-create-domain-with-constraint", "squawk:ban-alter-domain-with-add-constraint")

    valid = (
        Example(sql_example("CREATE DOMAIN order_status AS text;\n"
                            "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0) NOT VALID;\n")),
        Example(sql_example("ALTER DOMAIN positive_amount ADD CONSTRAINT below_limit CHECK (VALUE < 1000000) NOT VALID;\n")),
    )
    invalid = (
        Example(sql_example("CREATE DOMAIN positive_amount AS numeric(12, 2) CHECK (VALUE > 0);  -- expect\n")),
        Example(sql_example("ALTER DOMAIN positive_amount ADD CONSTRAINT below_limit CHECK (VALUE < 1000000);  -- expect\n"
                            "ALTER DOMAIN positive_amount VALIDATE CONSTRAINT positive_check;  -- expect\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.walked(UnsupportedStatement):
            operation = walked.operation
            if operation.kind == "CREATE DOMAIN" and operation.detail:
                yield self._created(operation)
                continue
            effect = next((e for e in walked.lock_effects if e.scans), None)
            if effect is None or not operation.kind.startswith("ALTER DOMAIN"):
                continue
            tables = _tables_using(context, operation.name)
            yield self.finding(
                operation.location, _("%(replace)s on domain %(operation)s scans "
                                    "every table using it", replace=operation.kind.replace('ALTER DOMAIN ', ''), operation=operation.name),
                lock_sentence(effect) + (_(" Tables using the domain: %(tables)s.", tables=", ".join(tables)) if tables else ""),
                impact=_("Worst case: writes to every table with a column of the domain wait for the whole scan, and the "
                       "deploy times out. Most likely: a stall of those tables during the deploy."),
                root_cause=_("Domain constraints have no online validation: PostgreSQL checks all their columns at once "
                           "under a write lock."),
                fix=Fix(short_term=_("Put the rule in table CHECK constraints instead (ADD ... NOT VALID, then VALIDATE "
                                   "per table under SHARE UPDATE EXCLUSIVE), and keep the domain without constraints."),
                        medium_term=LOCK_TIMEOUT_ADVICE,
                        long_term=_("No constraints on domains in this schema: table CHECKs only.")),
                verification=_("`schemalens verify` shows SHARE on the tables using the domain for this statement; "
                             "test: run it while a writer inserts and check that inserts wait"),
                severity=None)

    def _created(self, operation: UnsupportedStatement) -> Finding:
        return self.finding(
            operation.location, _("domain %(operation)s is created with constraints (%(detail)s)", operation=operation.name, detail=operation.detail),
            _("Each later change of %(detail)s has to check every column of %(operation)s in every table "
            "under SHARE locks: ", detail=operation.detail, operation=operation.name) + EFFECTS["alter-domain-validate-constraint"].describe(),
            impact=_("Worst case: a later, tighter rule cannot be rolled out without blocking writes to every table "
                   "using the domain for a full scan. Most likely: the rule is never changed, or changed during an "
                   "outage window."),
            root_cause=_("Domains look like reusable types; their constraints are enforced as one unit across tables."),
            fix=Fix(short_term=_("Create %(operation)s without constraints and add the CHECK to each table column "
                               "that uses it.", operation=operation.name),
                    medium_term=_("Table CHECK constraints, named by convention, for rules that may change.")),
            verification=_("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contypid = '%(operation)s'::regtype;"
                         "  -- empty; test: the table CHECKs reject bad rows", operation=operation.name),
            severity="P2")


def _tables_using(context: AuditContext, domain: Optional[str]) -> list[str]:
    if not domain:
        return []
    return sorted(key for key, table in context.model.database.tables.items()
                  if any(column.type.split(".")[-1] == domain for column in table.columns))
