from __future__ import annotations

from typing import Iterator

from ...report.relations import is_association_table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class AssociationTableWithoutKey(Rule):
    """## What it finds
    Association (link) tables of an N-N relation, two foreign keys and little else, with
    neither a primary key nor a unique constraint or unique index on the pair.

    ## Why it matters
    Nothing stops the same pair from being inserted twice: a retried request, a double click
    or two workers tagging the same post. Duplicates double-count in joins and aggregates, and
    deleting "the" link leaves its twin behind. Lookups by the second column also have no index.

    ## Example
    ```python
    post_tags = db.Table("post_tags",
        db.Column("post_id", db.ForeignKey("posts.id")),
        db.Column("tag_id", db.ForeignKey("tags.id")))
    ```

    ## Use instead
    ```python
    post_tags = db.Table("post_tags",
        db.Column("post_id", db.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
        db.Column("tag_id", db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
        db.Index("ix_post_tags_tag_id", "tag_id"))
    ```

    ## How to verify
    `SELECT post_id, tag_id, count(*) FROM post_tags GROUP BY 1, 2 HAVING count(*) > 1;`
    returns no rows before the key is added, and an insert of a duplicate pair fails after.
    """

    code = "SL101"
    name = "association-table-without-key"
    dimension = 1
    severity = "P1"
    summary = _("association table without a primary key or unique pair")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE posts (id bigint PRIMARY KEY);\nCREATE TABLE tags (id bigint PRIMARY KEY);\n"
        "CREATE TABLE post_tags (post_id bigint REFERENCES posts (id) ON DELETE CASCADE,"
        " tag_id bigint REFERENCES tags (id) ON DELETE CASCADE, PRIMARY KEY (post_id, tag_id));\n")}),
             # neutron's qos_port_policy_bindings: a port has one policy at most, so no pair comes twice
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE qos_policies (id varchar(36) PRIMARY KEY);\nCREATE TABLE ports (id varchar(36) PRIMARY KEY);\n"
                 "CREATE TABLE qos_port_policy_bindings (policy_id varchar(36) NOT NULL REFERENCES qos_policies (id),"
                 " port_id varchar(36) NOT NULL UNIQUE REFERENCES ports (id));\n")}))
    invalid = (Example({"app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Post(Base):\n    __tablename__ = 'posts'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "class Tag(Base):\n    __tablename__ = 'tags'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "post_tags = sa.Table(  # expect\n    'post_tags', Base.metadata,\n"
        "    sa.Column('post_id', sa.ForeignKey('posts.id')),\n    sa.Column('tag_id', sa.ForeignKey('tags.id')),\n)\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if not is_association_table(table):
                continue
            pair = {column for fk in table.foreign_keys for column in fk.columns}
            keys = [set(u.columns) for u in table.unique_constraints]
            keys += [set(i.columns) for i in table.indexes if i.unique and not i.where]
            if table.primary_key:
                keys.append(set(table.primary_key.columns))
            if any(key and key <= pair for key in keys):  # a key on one of the two: no pair twice either
                continue
            location, related = context.where_table(table)
            columns = ", ".join(sorted(pair))
            left, right = (fk.ref_table for fk in table.foreign_keys)
            yield self.finding(
                location, _("%(table)s links %(left)s and %(right)s with no key on (%(columns)s)", table=table.name, left=left, right=right, columns=columns),
                _("Association table %(table)s has no primary key or unique constraint on (%(columns)s).", table=table.name, columns=columns),
                impact=_("Worst case: duplicate links double-count %(right)s per %(left)s in joins, reports and "
                       "billing. Most likely: a retried request inserts the same pair twice.", right=right, left=left),
                root_cause=_("The link table was declared as two plain foreign-key columns."),
                fix=Fix(short_term=_("Find and delete duplicates, then `ALTER TABLE %(table)s ADD PRIMARY KEY (%(columns)s)` "
                                   "(build a unique index CONCURRENTLY first and add the key USING INDEX on a big table).", table=table.name, columns=columns),
                        medium_term=_("Declare both columns `primary_key=True` in the model, and index the second column for reverse lookups."),
                        long_term=_("ADR: every association table is keyed on its pair.")),
                verification=_("SELECT %(columns)s, count(*) FROM %(table)s GROUP BY %(columns)s HAVING count(*) > 1;  -- expect no rows", columns=columns, table=table.name),
                table=table.name, related=related)
