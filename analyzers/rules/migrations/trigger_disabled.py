from __future__ import annotations

from typing import Iterator

from ...schema.operations import UnsupportedStatement
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import created_here, lock_sentence, new_in_this_step, sql_example
from ...i18n import _, capitalized

_TRIGGER = ("CREATE FUNCTION orders_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n"
            "CREATE TRIGGER orders_audit AFTER UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_audit();\n")


class TriggerDisabled(Rule):
    """## What it finds
    `ALTER TABLE ... DISABLE TRIGGER` in a migration on a table an earlier migration created:

    - not enabled again later in the same migration: it stays off for every session (P1);
    - enabled again, but not inside one transaction with the disable: writes by the running
      application in between skip it (P1);
    - disabled and enabled inside one transaction: the lock taken blocks the table's writes
      until the commit (P2).

    `DISABLE TRIGGER ALL` also switches off the table's foreign-key checks (P1 in every case).

    ## Why it matters
    A disabled trigger does not fire for anyone: audit rows, denormalized counters, cache
    invalidations and, with ALL, foreign-key enforcement silently stop for the application's
    writes too, not just for the migration's. Inside a single transaction the change is
    invisible to other sessions, but the SHARE ROW EXCLUSIVE lock it takes blocks every write to
    the table until the commit.

    ## Example
    ```sql
    ALTER TABLE orders DISABLE TRIGGER orders_audit;
    UPDATE orders SET channel = 'web' WHERE channel IS NULL;
    ALTER TABLE orders ENABLE TRIGGER orders_audit;
    ```

    ## Use instead
    Keep the trigger on and make the backfill acceptable to it, or let the trigger skip the
    migration's session only: `SET LOCAL session_replication_role = replica` (skips ordinary
    triggers for this transaction, not for other sessions; needs superuser or a role allowed to
    set it), or a condition in the trigger function on a custom setting (`current_setting(
    'app.backfill', true)`).

    ## How to verify
    `SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'orders'::regclass` shows `O`
    (enabled) after the migration; writes made during the migration have their audit rows.
    """

    code = "SL555"
    name = "trigger-disabled"
    dimension = 5
    severity = "P1"
    summary = _("trigger disabled in a migration (stops firing for the application's writes too)")
    peers = ("squawk:ban-disable-trigger", "pgls:avoidEnableDisableTrigger")

    valid = (
        Example(sql_example(_TRIGGER + "ALTER TABLE orders ENABLE TRIGGER orders_audit;\n")),
        Example(sql_example("CREATE TABLE refunds (id int PRIMARY KEY);\nALTER TABLE refunds DISABLE TRIGGER ALL;\n")),
    )
    invalid = (
        Example(sql_example(_TRIGGER) | {"db/V3__backfill.sql": (
            "ALTER TABLE orders DISABLE TRIGGER orders_audit;  -- expect\n"
            "UPDATE orders SET status = 'new' WHERE status IS NULL;\n")}),
        Example(sql_example(_TRIGGER) | {"db/V3__backfill.sql": (
            "BEGIN;\nALTER TABLE orders DISABLE TRIGGER orders_audit;  -- expect\n"
            "UPDATE orders SET status = 'new' WHERE status IS NULL;\nALTER TABLE orders ENABLE TRIGGER orders_audit;\n"
            "COMMIT;\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        walk = context.migration_walk
        for position, walked in enumerate(walk):
            operation = walked.operation
            if not isinstance(operation, UnsupportedStatement) or operation.kind != "ALTER TABLE DISABLE TRIGGER" \
                    or new_in_this_step(walked):
                continue
            enabled = next((later for later in walk[position + 1:] if later.step_number == walked.step_number
                            and isinstance(later.operation, UnsupportedStatement)
                            and later.operation.kind == "ALTER TABLE ENABLE TRIGGER" and later.table == walked.table
                            and later.operation.name in (operation.name, "ALL")), None)
            one_transaction = enabled is not None and walked.in_transaction and all(
                w.in_transaction for w in walk[position:walk.index(enabled) + 1])
            everything = operation.name == "ALL"
            if enabled is None:
                problem, severity = _("it is not enabled again in this migration: it stays off for every session"), "P1"
            elif not one_transaction:
                problem, severity = _("it is enabled again, but not in the same transaction: the application's writes "
                                       "in between skip it"), "P1"
            else:
                problem, severity = _("disable and enable share one transaction, so other sessions never see it off, "
                                       "but their writes to the table wait until the commit"), "P2"
            if everything:
                severity = "P1"
                problem += _("; ALL includes the foreign-key triggers, so references are not checked meanwhile")
            (effect,) = walked.lock_effects
            trigger = _("every trigger") if everything else _("trigger %(operation)s", operation=operation.name)
            yield self.finding(
                operation.location, _("%(trigger)s on %(table)s is disabled by a migration", trigger=trigger, table=walked.table),
                _("%(trigger)s stops firing for every session: %(problem)s. %(lock_sentence)s", trigger=capitalized(trigger), problem=problem, lock_sentence=lock_sentence(effect)),
                impact=_("Worst case: writes by the running application skip the trigger (no audit row, a wrong "
                       "counter, an unchecked reference) and nothing reports it. Most likely: a gap in whatever the "
                       "trigger maintains, found weeks later."),
                root_cause=_("Triggers are disabled to speed up or allow a backfill, which also disables them for the "
                           "application."),
                fix=Fix(short_term=_("Keep the trigger on; to skip it for the migration's own writes only, `SET LOCAL "
                                   "session_replication_role = replica` inside the migration's transaction, or a check "
                                   "on a custom setting in the trigger function."),
                        medium_term=_("Backfills that the triggers accept, in batches.")),
                verification=_("SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = '%(table)s'::regclass;  "
                             "-- 'O' for every trigger after the migration", table=walked.table),
                table=walked.table, related=created_here(walked), severity=severity)
