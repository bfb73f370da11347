from __future__ import annotations

from typing import Iterator

from ...schema.operations import UnsupportedStatement
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import LOCK_TIMEOUT_ADVICE, created_here, lock_sentence, new_in_this_step, severity_by_size, sql_example
from ...i18n import _


class ExclusionConstraint(Rule):
    """## What it finds
    `ALTER TABLE ... ADD CONSTRAINT ... EXCLUDE` on a table an earlier migration created.

    ## Why it matters
    The index behind an exclusion constraint is built, and every row checked, under ACCESS
    EXCLUSIVE: no reads and no writes for the whole build. Unlike UNIQUE there is no `USING
    INDEX` form to attach an index built concurrently, and no `NOT VALID`: PostgreSQL offers no
    online way to add one to a table with rows.

    P1; P0 when the size hints give the table 1M rows or more, now or within a year.

    ## Example
    ```sql
    ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room_id WITH =, during WITH &&);
    ```

    ## Use instead
    Declare exclusion constraints when the table is created. On a table with rows: add it in a
    maintenance window (after `lock_timeout`, knowing the build time from a copy), or build a new
    table with the constraint, copy the rows over in batches while a trigger keeps it in sync,
    and swap the tables in one short transaction.

    ## How to verify
    Time the statement on a production-sized copy (`schemalens verify` reports locks and
    duration); that duration is the outage.
    """

    code = "SL556"
    contends_with_live_traffic = True
    name = "exclusion-constraint"
    dimension = 5
    severity = "P1"
    summary = _("exclusion constraint added to an existing table (no online way)")
    peers = ("pgls:avoidAddingExclusionConstraint", "strong_migrations:add_exclusion_constraint", "eugene:E8")

    valid = (Example(sql_example("CREATE TABLE bookings (room_id int, during tstzrange);\n"
                                 "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);\n")),)
    invalid = (Example(sql_example("ALTER TABLE orders ADD CONSTRAINT one_status EXCLUDE USING btree (status WITH =);  -- expect\n")),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.walked(UnsupportedStatement):
            operation = walked.operation
            if operation.kind != "ADD EXCLUSION CONSTRAINT" or new_in_this_step(walked):
                continue
            (effect,) = walked.lock_effects
            table = walked.table
            yield self.finding(
                operation.location, (_("exclusion constraint %(name)s is added to %(table)s", name=operation.name, table=table) if operation.name
                                    else _("an exclusion constraint is added to %(table)s", table=table)),
                lock_sentence(effect),
                impact=_("Worst case: %(table)s is unreadable and unwritable for the whole index build. Most likely: an "
                       "outage of the table for as long as the build takes.", table=table),
                root_cause=_("Exclusion constraints have neither NOT VALID nor USING INDEX."),
                fix=Fix(short_term=_("Add it in a maintenance window after timing it on a copy, or move to a new table "
                                   "created with the constraint and swap."),
                        medium_term=LOCK_TIMEOUT_ADVICE,
                        long_term=_("Declare exclusion constraints when tables are created.")),
                verification=_("`schemalens verify` reports the lock and the duration of the statement on a copy"),
                table=table, related=created_here(walked), severity=severity_by_size(context, table))
