from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _


class UnconstrainedRedundantKey(Rule):
    """## What it finds
    A child table that references both a parent and the parent's own parent (an `order_items`
    row with `order_id` and `user_id`, where `orders` already has `user_id`) with no composite
    foreign key tying the two together.

    Off by default: copying a parent's key into a child (a tenant or organization id on every
    table) is usually deliberate, for scoping queries and row-level security, and on the real
    projects we read it was almost never a defect a reviewer would act on. Select it by code
    (`select = ["ALL", "SL105"]`) in a schema where such copies must be kept consistent.

    ## Why it matters
    The copied key is a denormalisation: fast filters without a join. But nothing keeps it
    equal to the parent's value. After a transfer, a merge or a bug in one insert path, the
    child says "user 7" while its order says "user 9", and which one is right depends on the
    query you happened to write.

    ## Example
    ```sql
    CREATE TABLE order_items (id bigint PRIMARY KEY,
      order_id bigint REFERENCES orders (id), user_id bigint REFERENCES users (id));
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD CONSTRAINT uq_orders_id_user_id UNIQUE (id, user_id);
    ALTER TABLE order_items ADD CONSTRAINT fk_order_items_order_user
      FOREIGN KEY (order_id, user_id) REFERENCES orders (id, user_id) NOT VALID;
    ```
    (then VALIDATE), or drop the copy and join through the parent.

    ## How to verify
    `SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.user_id <> i.user_id;`
    is 0, and an inconsistent insert fails after the composite key exists.
    """

    code = "SL105"
    default_enabled = False
    name = "unconstrained-redundant-key"
    dimension = 1
    severity = "P2"
    summary = _("copied grandparent key with no composite foreign key")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id), UNIQUE (id, user_id));\n"
        "CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint NOT NULL, user_id bigint NOT NULL,"
        " FOREIGN KEY (order_id, user_id) REFERENCES orders (id, user_id));\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id));\n"
        "CREATE TABLE order_items (\n  id bigint PRIMARY KEY,\n  order_id bigint NOT NULL REFERENCES orders (id),\n"
        "  user_id bigint NOT NULL REFERENCES users (id)  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for child in context.tables():
            if child.partition_of:
                continue
            for to_parent in child.foreign_keys:
                parent = context.layer.tables.get(to_parent.ref_table)
                if parent is None or parent.key == child.key or len(to_parent.columns) != 1:
                    continue
                for parent_to_grand in parent.foreign_keys:
                    grand_key = parent_to_grand.columns
                    copied = next((fk for fk in child.foreign_keys if fk.ref_table == parent_to_grand.ref_table
                                   and fk is not to_parent and len(fk.columns) == len(grand_key)), None)
                    if copied is None:
                        continue
                    both = set(to_parent.columns) | set(copied.columns)
                    if any(fk.ref_table == parent.name and both <= set(fk.columns) for fk in child.foreign_keys):
                        continue
                    column = child.column(copied.columns[0])
                    location, related = context.where_column(child, column)
                    related += (Related(parent_to_grand.location, _("%(parent)s.%(grand_key)s already says it", parent=parent.name, grand_key=', '.join(grand_key))),)
                    pair = f"{to_parent.columns[0]}, {copied.columns[0]}"
                    yield self.finding(
                        location, _("%(child)s.%(columns)s copies %(parent)s.%(grand_key)s unchecked", child=child.name, columns=copied.columns[0], parent=parent.name, grand_key=grand_key[0]),
                        _("%(child)s stores %(columns)s and %(columns_2)s; %(parent)s already relates to "
                        "%(ref_table)s, and no composite foreign key keeps the two consistent.", child=child.name, columns=copied.columns[0], columns_2=to_parent.columns[0], parent=parent.name, ref_table=parent_to_grand.ref_table),
                        impact=_("Worst case: %(child)s rows attributed to one %(ref_table)s belong to a "
                               "%(parent)s of another, and reports or access checks use the wrong one. Most likely: "
                               "one insert path forgets to copy the key correctly.", child=child.name, ref_table=parent_to_grand.ref_table, parent=parent.name),
                        root_cause=_("A key was denormalised for query speed without a constraint to keep the copy true."),
                        fix=Fix(short_term=_("SELECT count(*) FROM %(child)s c JOIN %(parent)s p ON p.id = c.%(columns)s "
                                           "WHERE p.%(grand_key)s <> c.%(columns_2)s;  -- repair mismatches", child=child.name, parent=parent.name, columns=to_parent.columns[0], grand_key=grand_key[0], columns_2=copied.columns[0]),
                                medium_term=_("ALTER TABLE %(parent)s ADD UNIQUE (id, %(grand_key)s); ALTER TABLE %(child)s ADD "
                                            "FOREIGN KEY (%(pair)s) REFERENCES %(parent)s (id, %(grand_key)s) NOT VALID; then VALIDATE.", parent=parent.name, grand_key=grand_key[0], child=child.name, pair=pair),
                                long_term=_("ADR: every denormalised key is either constrained or derived (view, generated column).")),
                        verification=_("The mismatch query above returns 0; an inconsistent insert into %(child)s fails.", child=child.name),
                        table=child.name, column=copied.columns[0], related=related)
