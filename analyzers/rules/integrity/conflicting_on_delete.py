from __future__ import annotations

from collections import defaultdict
from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _


class ConflictingOnDelete(Rule):
    """## What it finds
    Foreign keys to the same parent table with different ON DELETE policies (one child
    CASCADEs, another RESTRICTs or SETs NULL).

    Off by default: different children of one parent often need different policies (history
    kept with RESTRICT, details removed with CASCADE); on the real projects we read, the
    combination was nearly always intended. Select it by code to review delete paths.

    ## Why it matters
    Deleting a parent then either fails half-way through a cascade (a RESTRICT child blocks
    after the CASCADE children were planned) or removes some dependent data and keeps other
    data that only made sense with the parent. The mixture usually means nobody decided the
    parent's lifecycle.

    ## Example
    ```sql
    order_items.order_id REFERENCES orders ON DELETE CASCADE
    payments.order_id    REFERENCES orders ON DELETE RESTRICT
    ```

    ## Use instead
    Decide whether the parent can be deleted at all. If not, RESTRICT everywhere and
    soft-delete the parent; if yes, say for each child why it cascades or not, in the model,
    and test the delete.

    ## How to verify
    A test deletes a parent with every kind of child and asserts the outcome; `SELECT conrelid::regclass,
    confdeltype FROM pg_constraint WHERE confrelid = 'orders'::regclass;` matches the decision.
    """

    code = "SL303"
    default_enabled = False
    name = "conflicting-on-delete"
    dimension = 3
    severity = "P2"
    summary = _("foreign keys to one parent with conflicting ON DELETE policies")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id) ON DELETE CASCADE);\n"
        "CREATE TABLE notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id) ON DELETE CASCADE);\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id) ON DELETE CASCADE);\n"
        "CREATE TABLE payments (\n  id bigint PRIMARY KEY,\n  order_id bigint REFERENCES orders (id) ON DELETE RESTRICT  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        by_parent = defaultdict(list)
        for table in context.tables():
            if table.partition_of:
                continue
            for fk in table.foreign_keys:
                if fk.ref_table != table.name:
                    by_parent[fk.ref_table].append((table, fk))
        for parent, references in sorted(by_parent.items()):
            policies = {fk.on_delete or "NO ACTION" for _, fk in references}
            if "CASCADE" not in policies or len(policies) < 2:
                continue
            cascading = [(t, fk) for t, fk in references if fk.on_delete == "CASCADE"]
            for table, fk in references:
                if fk.on_delete == "CASCADE":
                    continue
                location, related = context.where_element(table, fk)
                related += tuple(Related(other_fk.location, _("%(other)s cascades", other=other.name)) for other, other_fk in cascading[:3])
                policy = fk.on_delete or "NO ACTION"
                yield self.finding(
                    location, _("%(table)s -> %(parent)s is %(policy)s while %(cascading)s cascades", table=table.name, parent=parent, policy=policy, cascading=cascading[0][0].name),
                    _("Deleting a %(parent)s row cascades to %(tables)s but is "
                    "blocked or handled differently by %(table)s (%(policy)s).", parent=parent, tables=", ".join(sorted({t.name for t, _ in cascading})), table=table.name, policy=policy),
                    impact=_("Worst case: a %(parent)s delete removes part of its dependent data and fails or leaves the "
                           "rest inconsistent. Most likely: deletes fail in production with a FK violation nobody expected.", parent=parent),
                    root_cause=_("The lifecycle of %(parent)s was decided child by child, not once.", parent=parent),
                    fix=Fix(short_term=_("Write down whether a %(parent)s row may be deleted; until then block deletes in the "
                                       "application and soft-delete instead.", parent=parent),
                            medium_term=_("Align the ON DELETE of every FK to %(parent)s with that decision (new FK NOT VALID, VALIDATE, drop old).", parent=parent),
                            long_term=_("ADR: entity lifecycles (hard delete vs soft delete) per aggregate.")),
                    verification=_("SELECT conrelid::regclass, confdeltype FROM pg_constraint WHERE confrelid = '%(parent)s'::regclass;", parent=parent),
                    table=table.name, column=fk.columns[0], related=related)
