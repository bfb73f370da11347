from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Iterator

from ...schema.operations import DataChange
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

# `v2` names a redo; `v1.10` (a release a combined migration covers) does not.
_REDO = re.compile(r"(^|[_\-\s])(v\d+(?![.]\d)|fix|fixed|fixup|hotfix|again|redo|retry|correct|repair|take\d+|re_?apply)($|[_\-\s.])", re.IGNORECASE)


_VERSION_PREFIX = re.compile(r"^(?:[VUR]?\d+(?:[._]\d+)*_{1,2}|[0-9a-f]{8,}_)", re.IGNORECASE)


def _tables(step) -> set[str]:
    """Tables whose schema the step changes (a data repair redoes no migration)."""
    return {table for operation in step.operations
            if not isinstance(operation, DataChange) and (table := getattr(operation, "table", None))}


class RedoMigration(Rule):
    """## What it finds
    Migrations whose file name or message says they redo or fix an earlier one (`_v2`,
    `_fix`, `hotfix`, `again`, `redo`) and that change the schema of a table an earlier
    migration changed. A migration that only repairs rows (`fix_ended_subscriptions`: an
    UPDATE) is not one.

    ## Why it matters
    A fix-up migration means the first one shipped broken: environments that ran the original
    differ from those that will only ever run both, and rolling back one without the other
    leaves a half state. Often the original is edited too, so databases that already ran it
    never see the change.

    ## Example
    ```
    migrations/versions/a1_add_status.py
    migrations/versions/b2_add_status_fix.py   # alters the column a1 just added
    ```

    ## Use instead
    Rehearse migrations before merge (`schemalens verify`) so they are right the first time.
    When a fix is needed, never edit the shipped migration; write a forward migration that
    says in its docstring which environments need it and why.

    ## How to verify
    A rehearsal from an empty database and from a production snapshot ends in the same schema
    (`schemalens verify`); `pg_dump --schema-only` of both compares equal.
    """

    code = "SL503"
    name = "redo-migration"
    dimension = 5
    severity = "P2"
    summary = _("a _v2/_fix migration redoing an earlier one")

    valid = (Example({"db/V1__add_status.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                      "db/V2__add_index.sql": "CREATE INDEX ix_orders_status ON orders (status);\n"}),
             # polar: a data repair after an application bug
             Example({"db/V1__add_status.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text, ended_at timestamptz);\n",
                      "db/V2__fix_ended_orders.sql": "UPDATE orders SET status = 'canceled' WHERE ended_at IS NOT NULL;\n"}))
    invalid = (Example({"db/V1__add_status.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                        "db/V2__add_status_fix.sql": "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;  -- expect\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        from .sql_history import checked_databases, repeats

        # A migration that only repeats an earlier one is SL572's (superseded-migration).
        repeated = {repeat.later.path for database in checked_databases(context.model) for repeat in repeats(database)}
        earlier: list = []
        for step in context.model.steps:
            if step.path in repeated:
                earlier.append(step)
                continue
            revision = context.model.revision_files.get(step.path)
            # The version prefix (V2__, 0003_, a revision id) is not part of the name.
            stem = _VERSION_PREFIX.sub("", PurePosixPath(step.path).stem)
            label = " ".join(filter(None, (stem, getattr(revision, "message", None))))
            touched = _tables(step)
            if _REDO.search(label) and touched:
                previous = next((s for s in reversed(earlier) if _tables(s) & touched), None)
                if previous is not None:
                    shared = ", ".join(sorted(_tables(previous) & touched))
                    location = revision.location if revision else step.operations[0].location
                    first_location = next(op.location for op in previous.operations if getattr(op, "table", None) in touched)
                    yield self.finding(
                        location, _("%(name)s redoes %(name_2)s", name=PurePosixPath(step.path).name, name_2=PurePosixPath(previous.path).name),
                        _("%(path)s is named as a fix or new version and changes %(shared)s again after %(path_2)s.", path=step.path, shared=shared, path_2=previous.path),
                        impact=_("Worst case: environments that ran the original and those that ran both end with different "
                               "schemas, and a rollback of one half breaks the other. Most likely: the original was "
                               "edited after shipping and some databases never got the change."),
                        root_cause=_("The first migration was not rehearsed against a realistic database before merge."),
                        fix=Fix(short_term=_("Check that %(path)s is unchanged since it shipped (git log) and that "
                                           "every environment ran both.", path=previous.path),
                                medium_term=_("Rehearse every migration on a production-like snapshot in CI (schemalens verify)."),
                                long_term=_("Standard: shipped migrations are immutable; fixes are forward migrations with a reason.")),
                        verification=_("schemalens verify on an empty database and on a snapshot; compare the resulting schemas."),
                        table=sorted(_tables(previous) & touched)[0],
                        related=(Related(first_location, _("earlier migration")),))
            earlier.append(step)
