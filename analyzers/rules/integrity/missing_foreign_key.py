from __future__ import annotations

from typing import Iterator, Optional

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext


def referenced_table(layer, stem: str) -> Optional[str]:
    """The table a `<stem>_id` column most likely points at: `stem`, `stems`, `stemes`, `stemies`."""
    candidates = [stem, f"{stem}s", f"{stem}es"]
    if stem.endswith("y"):
        candidates.append(f"{stem[:-1]}ies")
    for name in candidates:
        if name in layer.tables:
            return name
    return None


class MissingForeignKey(Rule):
    """## What it finds
    A column named `<x>_id` whose table `<x>` (or its plural) exists in the schema, with no
    foreign key on it.

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
    summary = "*_id column without a foreign key"
    summary_zh = "*_id 字段缺少外键约束"

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) ON DELETE RESTRICT,"
        " external_id varchar(64));\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  user_id bigint NOT NULL  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            fk_columns = {column for fk in table.foreign_keys for column in fk.columns}
            for column in table.columns:
                if not column.name.endswith("_id") or column.name in fk_columns:
                    continue
                target = referenced_table(context.layer, column.name[:-3])
                if target is None or target == table.name and column.name == "id":
                    continue
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, f"{table.name}.{column.name} has no foreign key to {target}",
                    f"{table.name}.{column.name} looks like a reference to {target} but no foreign key enforces it.",
                    impact=f"Worst case: {table.name} rows point at {target} rows that do not exist and are processed "
                           "for the wrong owner. Most likely: deleting parents leaves orphans that inner joins silently drop.",
                    root_cause="The relation exists only in application code.",
                    fix=Fix(short_term=f"Count orphans: SELECT count(*) FROM {table.name} t WHERE {column.name} IS NOT NULL AND "
                                       f"NOT EXISTS (SELECT 1 FROM {target} p WHERE p.id = t.{column.name});",
                            medium_term=f"ALTER TABLE {table.name} ADD CONSTRAINT fk_{table.name}_{column.name} FOREIGN KEY "
                                        f"({column.name}) REFERENCES {target} (id) ON DELETE RESTRICT NOT VALID; clean orphans; "
                                        f"then VALIDATE CONSTRAINT in the next migration.",
                            long_term="Standard: every *_id column has a foreign key or a documented reason not to."),
                    verification=f"INSERT INTO {table.name} ({column.name}) VALUES (-1);  -- expect a foreign key violation",
                    table=table.name, column=column.name, related=related)
