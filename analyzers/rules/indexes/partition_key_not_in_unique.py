from __future__ import annotations

import re
from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


def partition_columns(partition_by: str) -> set[str]:
    """Column names in a partition key such as "RANGE (collected_date)" or "LIST (lower(region))"."""
    inner = partition_by[partition_by.find("(") + 1: partition_by.rfind(")")]
    return {token.lower() for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", inner)}


class PartitionKeyNotInUnique(Rule):
    """## What it finds
    A partitioned table whose primary key or a unique constraint does not include every
    column of the partition key.

    ## Why it matters
    PostgreSQL enforces uniqueness per partition only, so it rejects such a key on the
    partitioned parent ("unique constraint on partitioned table must include all partitioning
    columns"): the migration fails. When the key is instead declared on each partition, the
    same id can exist in two partitions.

    ## Example
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, created_on date NOT NULL) PARTITION BY RANGE (created_on);
    ```

    ## Use instead
    ```sql
    CREATE TABLE events (id bigint, created_on date NOT NULL, PRIMARY KEY (id, created_on))
      PARTITION BY RANGE (created_on);
    ```
    and look rows up by both, or keep a global id registry table if id alone must be unique.

    ## How to verify
    The migration runs on PostgreSQL; `SELECT id, count(*) FROM events GROUP BY id HAVING count(*) > 1;` is empty.
    """

    code = "SL404"
    name = "partition-key-not-in-unique"
    dimension = 4
    severity = "P1"
    summary = _("unique key of a partitioned table without the partition key")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE events (id bigint, created_on date NOT NULL, PRIMARY KEY (id, created_on))"
        " PARTITION BY RANGE (created_on);\n")}),)
    invalid = (Example({"app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Event(Base):  # expect\n    __tablename__ = 'events'\n"
        "    __table_args__ = {'postgresql_partition_by': 'RANGE (created_on)'}\n"
        "    id = sa.Column(sa.BigInteger, primary_key=True)\n    created_on = sa.Column(sa.Date, nullable=False)\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if not table.partition_by:
                continue
            needed = partition_columns(table.partition_by)
            keys = [(_("primary key"), table.primary_key)] if table.primary_key else []
            keys += [(_("unique constraint %(name)s", name=u.name) if u.name else _("unique constraint"), u)
                     for u in table.unique_constraints]
            for label, key in keys:
                missing = needed - set(key.columns)
                if not missing:
                    continue
                location, related = context.where_table(table)
                yield self.finding(
                    location, _("%(table)s is partitioned by %(partition_by)s but its %(label)s lacks %(missing)s", table=table.name, partition_by=table.partition_by, label=label, missing=', '.join(sorted(missing))),
                    _("The %(label)s (%(columns)s) of %(table)s does not include the partition key column(s) "
                    "%(missing)s.", label=label, columns=', '.join(key.columns), table=table.name, missing=', '.join(sorted(missing))),
                    impact=_("Worst case: the migration that creates the key fails on PostgreSQL, or, with per-partition "
                           "keys, duplicate ids exist across partitions. Most likely: the deploy fails at this migration."),
                    root_cause=_("Uniqueness in a partitioned table is enforced per partition."),
                    fix=Fix(short_term=_("Make the key (%(value)s).", value=', '.join((*key.columns, *sorted(missing)))),
                            medium_term=_("Update lookups and foreign keys that reference the table to carry the partition key too."),
                            long_term=_("ADR: partitioning keys are part of every unique key of partitioned tables.")),
                    verification=_("Run the migration on a rehearsal database; then SELECT %(columns)s, count(*) FROM "
                                 "%(table)s GROUP BY %(columns)s HAVING count(*) > 1;  -- expect no rows", columns=', '.join(key.columns), table=table.name),
                    table=table.name, related=related)
