from __future__ import annotations

from typing import Iterator, Optional

from ...schema.drift import comparable_type
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext, named_append_only
from ...i18n import _


def referenced_table(layer, stem: str) -> Optional[str]:
    """The table a `<stem>_id` column most likely points at: `stem`, `stems`, `stemes`, `stemies`."""
    candidates = [stem, f"{stem}s", f"{stem}es"]
    if stem.endswith("y"):
        candidates.append(f"{stem[:-1]}ies")
    for name in candidates:
        if name in layer.tables:
            return name
    return None


_TYPE_FAMILIES = (("smallint", "integer", "bigint", "numeric"), ("uuid",), ("character", "text"))


def _family(type_name: str) -> str:
    return next((family[0] for family in _TYPE_FAMILIES if type_name.startswith(family)), type_name)


def _can_hold_key_of(column, target) -> bool:
    """Whether `column`'s type can hold the target table's single-column primary key (True
    when either type is unknown)."""
    if target is None or target.primary_key is None or len(target.primary_key.columns) != 1:
        return True
    key = next((c for c in target.columns if c.name == target.primary_key.columns[0]), None)
    if key is None or not comparable_type(key.type) or not comparable_type(column.type):
        return True
    return _family(key.type) == _family(column.type)


class MissingForeignKey(Rule):
    """## What it finds
    A column named `<x>_id` whose table `<x>` (or its plural) exists in the schema, with no
    foreign key on it. Columns of tables named as records of occurrences (logs, events,
    history, audit, metrics) are left out: those keep their references without a foreign key
    on purpose, so that writing a record never fails and the history outlives its parents.

    ## Why it matters
    The database accepts ids that never existed and keeps rows whose parent was deleted.
    Orphans break joins (rows silently vanish from inner joins), and cleanup scripts have to
    guess which rows are garbage.

    ## Example
    ```python
    user_id = db.Column(db.Integer, nullable=False, index=True)
    ```

    ## Use instead
    ```python
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True)
    ```
    On a big table add it as `NOT VALID`, clean orphans, then `VALIDATE CONSTRAINT`.

    ## How to verify
    `SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id);`
    is 0, and inserting an unknown id fails.
    """

    code = "SL301"
    name = "missing-foreign-key"
    dimension = 3
    severity = "P1"
    summary = _("*_id column without a foreign key")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) ON DELETE RESTRICT,"
        " external_id varchar(64));\n")}),
        # polar, dispatch: the payment processor's customer id, the Slack canvas's own id
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE customers (id uuid PRIMARY KEY);\n"
            "CREATE TABLE transactions (id uuid PRIMARY KEY, customer_id varchar(64));\n"
            "CREATE TABLE canvas (id integer PRIMARY KEY, canvas_id varchar(32));\n")}),
        # polar: the organization an email log or a usage event belongs to, kept without a foreign key
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE organizations (id uuid PRIMARY KEY);\n"
            "CREATE TABLE email_logs (id uuid PRIMARY KEY, organization_id uuid, created_at timestamptz);\n")}),
    )
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  user_id bigint NOT NULL  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of or named_append_only(table.name):
                continue
            fk_columns = {column for fk in table.foreign_keys for column in fk.columns}
            for column in table.columns:
                if not column.name.endswith("_id") or column.name in fk_columns:
                    continue
                target = referenced_table(context.layer, column.name[:-3])
                if target is None or target == table.name:
                    continue  # `canvas.canvas_id` names the row in another system; a parent is `parent_id`
                if not _can_hold_key_of(column, context.layer.tables.get(target)):
                    continue  # a string id next to an integer or uuid key: another system's identifier
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, _("%(table)s.%(column)s has no foreign key to %(target)s", table=table.name, column=column.name, target=target),
                    _("%(table)s.%(column)s looks like a reference to %(target)s but no foreign key enforces it.", table=table.name, column=column.name, target=target),
                    impact=_("Worst case: %(table)s rows point at %(target)s rows that do not exist and are processed "
                           "for the wrong owner. Most likely: deleting parents leaves orphans that inner joins silently drop.", table=table.name, target=target),
                    root_cause=_("The relation exists only in application code."),
                    fix=Fix(short_term=_("Count orphans: SELECT count(*) FROM %(table)s t WHERE %(column)s IS NOT NULL AND "
                                       "NOT EXISTS (SELECT 1 FROM %(target)s p WHERE p.id = t.%(column)s);", table=table.name, column=column.name, target=target),
                            medium_term=_("ALTER TABLE %(table)s ADD CONSTRAINT fk_%(table)s_%(column)s FOREIGN KEY "
                                        "(%(column)s) REFERENCES %(target)s (id) ON DELETE RESTRICT NOT VALID; clean orphans; "
                                        "then VALIDATE CONSTRAINT in the next migration.", table=table.name, column=column.name, target=target),
                            long_term=_("Standard: every *_id column has a foreign key or a documented reason not to.")),
                    verification=_("INSERT INTO %(table)s (%(column)s) VALUES (-1);  -- expect a foreign key violation", table=table.name, column=column.name),
                    table=table.name, column=column.name, related=related)
