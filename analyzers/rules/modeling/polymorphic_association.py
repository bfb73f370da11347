from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class PolymorphicAssociation(Rule):
    """## What it finds
    A `<x>_type` + `<x>_id` column pair (`target_type` / `target_id`, `owner_type` /
    `owner_id`) where `<x>_id` has no foreign key and `<x>_type` has no check or enum: a
    polymorphic reference the database cannot check.

    Off by default: whether a generic `object_type`/`object_id` pair needs a foreign key depends on
    whether its targets are ever hard-deleted and whether the id names a row in another system
    (a Slack channel, a Stripe object); on the real projects we read, audit logs, version
    histories and external ids made every finding false or of no consequence (0 of 6). Select
    it by code (`select = ["ALL", "SL102"]`) when reviewing a schema's generic references.

    ## Why it matters
    The database cannot know which table `target_id` points into, so nothing stops ids that
    do not exist, types that are misspelled, or rows that outlive their target. Every reader
    re-implements the dispatch, and joins need one query per type.

    ## Example
    ```python
    target_type = db.Column(db.String(50))
    target_id = db.Column(db.Integer)
    ```

    ## Use instead
    One nullable FK column per target with a check that exactly one is set:
    ```sql
    post_id bigint REFERENCES posts (id), photo_id bigint REFERENCES photos (id),
    CHECK (num_nonnulls(post_id, photo_id) = 1)
    ```
    or a supertable that every target references. If the pair stays, constrain `target_type`
    with an enum or CHECK and clean orphans in a scheduled job.

    ## How to verify
    `SELECT target_type, count(*) FROM comments c WHERE NOT EXISTS (...) GROUP BY 1;` per type
    finds no orphans; inserting an unknown type fails.
    """

    code = "SL102"
    default_enabled = False
    name = "polymorphic-association"
    dimension = 1
    severity = "P1"
    summary = _("polymorphic type + id pair without constraints")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE posts (id bigint PRIMARY KEY);\n"
        "CREATE TABLE comments (id bigint PRIMARY KEY, post_id bigint REFERENCES posts (id) ON DELETE CASCADE, body text);\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE comments (\n  id bigint PRIMARY KEY,\n  target_type varchar(50) NOT NULL,\n"
        "  target_id bigint NOT NULL  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            names = {column.name for column in table.columns}
            fk_columns = {column for fk in table.foreign_keys for column in fk.columns}
            for column in table.columns:
                if not column.name.endswith("_id") or column.name in fk_columns:
                    continue
                stem = column.name[:-3]
                type_column = next((f"{stem}_{suffix}" for suffix in ("type", "kind", "model", "class")
                                    if f"{stem}_{suffix}" in names), None)
                if type_column is None:
                    continue
                constrained = any(type_column in check.expression for check in table.check_constraints) or \
                    table.column(type_column).type in context.layer.enums
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, _("%(table)s.(%(type_column)s, %(column)s) is a polymorphic reference", table=table.name, type_column=type_column, column=column.name),
                    _("%(table)s.%(column)s points into a table named by %(type_column)s; no foreign key checks it", table=table.name, column=column.name, type_column=type_column)
                    + ("" if constrained else _(", and nothing limits the values of %(type_column)s", type_column=type_column)) + ".",
                    impact=_("Worst case: rows point at deleted or never-existing targets and are shown, billed or "
                           "notified wrongly. Most likely: orphans accumulate after target deletes and a misspelled "
                           "type value hides rows from every reader."),
                    root_cause=_("One column pair was used to reference several tables, which no FK can express."),
                    fix=Fix(short_term=_("Add a CHECK on %(type_column)s listing the allowed types and a nightly orphan report per type.", type_column=type_column),
                            medium_term=_("Replace (%(type_column)s, %(column)s) with one nullable FK per target table and "
                                        "CHECK (num_nonnulls(...) = 1); backfill from the pair, then drop it.", type_column=type_column, column=column.name),
                            long_term=_("ADR: no polymorphic references without a constraint strategy.")),
                    verification=_("SELECT %(type_column)s, count(*) FROM %(table)s GROUP BY 1;  -- then, per type, count rows "
                                 "whose %(column)s has no target (expect 0)", type_column=type_column, table=table.name, column=column.name),
                    table=table.name, column=column.name, related=related)
