from __future__ import annotations

from typing import Iterator

from ...schema import operations as ops
from ...schema.model import Location
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .sql_history import checked_databases, display_name, repeats
from ...i18n import _


class SupersededMigration(Rule):
    """## What it finds
    A SQL migration that does again what an earlier migration of the same folder already did:
    the same tables, columns, indexes or constraints, changed the same way, with nothing in
    between that undid them. Usually a `_v2`, `_fix` or `_final` copy written when the first
    one failed somewhere, after which both stayed in the folder. A `_v2`/`_fix` migration that
    also changes something the earlier one did not is SL503's (redo-migration).

    ## Why it matters
    Both run on every new database: the repeat fails there (`already exists`), or, guarded with
    `IF NOT EXISTS`, silently does nothing while reviewers believe it changed something. The
    databases that ran only one of them, or the first one in an edited form, differ from the
    ones that ran both, and nobody can tell from the folder which is the real definition.

    ## Example
    ```
    000004_add_customer_ref.up.sql      ALTER TABLE invoices ADD COLUMN customer_ref text;
    000005_add_customer_ref_v2.up.sql   ALTER TABLE invoices ADD COLUMN IF NOT EXISTS customer_ref text;
    ```

    ## Use instead
    Keep one definition. Delete the superseded migration before it reaches a new environment;
    where both already ran, squash them in a baseline (Flyway `baselineVersion`, a new initial
    migration for new databases) and leave a comment naming what the removed file did.

    ## How to verify
    The folder applied to an empty database runs each change once (no `already exists`, no
    no-op `IF NOT EXISTS`), and `pg_dump --schema-only` of a fresh and a production database
    compare equal.
    """

    code = "SL572"
    name = "superseded-migration"
    dimension = 5
    severity = "P1"
    summary = _("SQL migration that repeats an earlier one (_v2, _fix, duplicate)")

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n",
                      "db/V2__drop_note.sql": "ALTER TABLE orders DROP COLUMN note;\n",
                      "db/V3__note_again.sql": "ALTER TABLE orders ADD COLUMN note text;\n"}),
             # documenso (Prisma): a foreign key dropped and added back with another ON DELETE
             Example({"prisma/migrations/20230404095503_init/migration.sql": (
                          'CREATE TABLE "User" ("id" SERIAL PRIMARY KEY);\n'
                          'CREATE TABLE "Token" ("id" SERIAL PRIMARY KEY, "userId" INTEGER NOT NULL);\n'
                          'ALTER TABLE "Token" ADD CONSTRAINT "Token_userId_fkey" FOREIGN KEY ("userId") '
                          'REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;\n'),
                      "prisma/migrations/20231205000309_add_cascade_delete/migration.sql": (
                          'ALTER TABLE "Token" DROP CONSTRAINT "Token_userId_fkey";\n'
                          'ALTER TABLE "Token" ADD CONSTRAINT "Token_userId_fkey" FOREIGN KEY ("userId") '
                          'REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;\n')}))
    invalid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                        "db/V2__customer_ref.sql": "ALTER TABLE orders ADD COLUMN customer_ref text;\n",
                        "db/V3__customer_ref_v2.sql": "ALTER TABLE orders ADD COLUMN IF NOT EXISTS customer_ref text;  -- expect\n"}),
               Example({"db/V1__users.sql": "CREATE TABLE users (id uuid PRIMARY KEY);\n",
                        "db/V2__email.sql": ("ALTER TABLE users ADD COLUMN email text;\n"
                                             "CREATE UNIQUE INDEX users_email_key ON users (email);\n"),
                        "db/V3__email_fix.sql": ("ALTER TABLE users ADD COLUMN email text;  -- expect\n"
                                                 "CREATE UNIQUE INDEX users_email_key ON users (email);\n")}),
               Example({"db/V1__users.sql": "CREATE TABLE users (id uuid PRIMARY KEY, legacy text);\n",
                        "db/V2__drop_legacy.sql": "ALTER TABLE users DROP COLUMN legacy;\n",
                        "db/V3__drop_legacy_again.sql": "ALTER TABLE users DROP COLUMN legacy;  -- expect\n"}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for database in checked_databases(context.model):
            for repeat in repeats(database):
                yield self._finding(database, repeat)

    def _finding(self, database, repeat) -> Finding:
        earlier, later = repeat.earlier, repeat.later
        first, second = display_name(earlier.path), display_name(later.path)
        location = next((op.location for op in later.operations if _schema_change(op)), Location(later.path, 1))
        earlier_location = next((op.location for op in earlier.operations if _schema_change(op)), Location(earlier.path, 1))
        guarded = all(getattr(op, "if_not_exists", False) or getattr(op, "if_exists", False)
                      for op in later.operations if _schema_change(op))
        outcome = (_("every one of them is guarded, so on a fresh database it does nothing") if guarded else
                   _("on a fresh database it fails with `already exists`"))
        how = (_("repeats %(count)s schema change(s) of it", count=repeat.shared)
               + (_(" (its name says it is a redo)") if repeat.named_as_redo else ""))
        return self.finding(
            location, _("%(second)s repeats %(first)s", second=second, first=first),
            _("In %(label)s, %(second)s %(how)s: %(outcome)s. Both files stay in the history of every new database.", label=database.label, second=second, how=how, outcome=outcome),
            impact=_("Worst case: databases built from the folder and the ones that ran only one version differ, and a "
                   "fix made in one file is missing from the other. Most likely: a fresh database fails or carries a "
                   "no-op migration that reviewers read as a change."),
            root_cause=_("The first migration failed or was wrong somewhere, a corrected copy was added, and the original "
                       "was never removed."),
            fix=Fix(short_term=(_("Delete %(second)s before it reaches a new environment if %(first)s is right; otherwise "
                                "fix %(first)s only where it has not run yet. Where both ran, squash them into one "
                                "baseline for new databases and note the removed file in its header.", second=second, first=first)),
                    medium_term=_("Review rule: a migration that corrects another says which databases need it; copies "
                                "named _v2/_fix are squashed before merge."),
                    long_term=_("Rehearse migrations on a production-like database before merge (schemalens verify), so "
                              "that they are right the first time.")),
            verification=_("apply the folder to an empty database: %(second)s no longer fails or does nothing", second=second),
            related=(Related(earlier_location, _("first done in %(first)s", first=first)),))


def _schema_change(operation) -> bool:
    return not isinstance(operation, (ops.DataChange, ops.UnsupportedStatement, ops.TransactionControl, ops.SetParameter,
                                      ops.Opaque, ops.Maintenance, ops.ExistingTables))
