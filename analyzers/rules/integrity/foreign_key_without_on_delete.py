from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class ForeignKeyWithoutOnDelete(Rule):
    """## What it finds
    Foreign keys that do not say what happens to the child rows when the parent is deleted
    (no `ondelete=` / `ON DELETE`).

    Off by default: PostgreSQL's implicit NO ACTION refuses to orphan child rows, which is the
    safe answer; on the real projects we read, flagging every such foreign key buried the few
    that mattered. Select it by code where the team wants every delete policy written down.

    ## Why it matters
    The default, `NO ACTION`, makes every delete of a parent fail while children exist. Teams
    then delete children in application code, in an order that differs between code paths, or
    switch the ORM to `cascade="all, delete"`, which loads and deletes rows one by one and
    never runs for deletes issued in SQL. The policy is a business decision; leaving it
    implicit means nobody made it.

    ## Example
    ```python
    user_id = db.Column(db.Integer, db.ForeignKey("users.id"), nullable=False)
    ```

    ## Use instead
    ```python
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    ```
    `CASCADE` for rows that belong to the parent (order lines), `SET NULL` for optional
    references, `RESTRICT` for records that must survive (payments, audit).

    ## How to verify
    `SELECT conname, confdeltype FROM pg_constraint WHERE contype = 'f';` shows no `a`
    (NO ACTION) left unintended; a test deletes a parent and asserts the chosen behaviour.
    """

    code = "SL302"
    default_enabled = False
    name = "foreign-key-without-on-delete"
    dimension = 3
    severity = "P2"
    summary = _("foreign key without an explicit ON DELETE policy")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT);\n")}),)
    invalid = (
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE users (id bigint PRIMARY KEY);\n"
            "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  user_id bigint NOT NULL REFERENCES users (id)  -- expect\n);\n")}),
        Example({"app/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
            "class User(Base):\n    __tablename__ = 'users'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
            "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    user_id = sa.Column(sa.ForeignKey('users.id'))  # expect\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            for fk in table.foreign_keys:
                if fk.on_delete:
                    continue
                location, related = context.where_element(table, fk)
                columns = ", ".join(fk.columns)
                yield self.finding(
                    location, _("%(table)s(%(columns)s) -> %(ref_table)s has no ON DELETE policy", table=table.name, columns=columns, ref_table=fk.ref_table),
                    _("Foreign key %(name)s%(table)s(%(columns)s) -> %(ref_table)s(%(ref_columns)s) uses the implicit NO ACTION.",
                      name=fk.name + " " if fk.name else "", table=table.name, columns=columns, ref_table=fk.ref_table,
                      ref_columns=", ".join(fk.ref_columns)),
                    impact=_("Worst case: deleting a %(ref_table)s row fails in production, or application code "
                           "deletes %(table)s rows it should have kept. Most likely: each code path handles "
                           "child rows differently and orphans appear after a manual fix in SQL.", ref_table=fk.ref_table, table=table.name),
                    root_cause=_("The delete policy was never decided; the ORM default leaves it to the database default."),
                    fix=Fix(short_term=_("Decide the policy for %(table)s when a %(ref_table)s row goes away and "
                                       "write it: `ForeignKey(\"%(ref_table)s.%(value)s\", ondelete=\"RESTRICT\")` "
                                       "(or CASCADE / SET NULL).", table=table.name, ref_table=fk.ref_table, value=fk.ref_columns[0] if fk.ref_columns else 'id'),
                            medium_term=_("Re-create the constraint with the policy: add the new FK NOT VALID, VALIDATE it, "
                                        "drop the old one, in one migration per table."),
                            long_term=_("Standard: every FK states ON DELETE; reviewers reject FKs without it.")),
                    verification=_("SELECT confdeltype FROM pg_constraint WHERE conname = '%(value)s';  "
                                 "-- expect r, c or n, not a; and a test that deletes a parent row.", value=fk.name or '<fk name>'),
                    table=table.name, column=fk.columns[0] if len(fk.columns) == 1 else None, related=related)
