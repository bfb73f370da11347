from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

_FLAG_NAMES = ("is_deleted", "deleted", "is_removed")
_TIME_NAMES = ("deleted_at", "removed_at", "delete_time", "gmt_deleted")


class SoftDeleteDrift(Rule):
    """## What it finds
    Soft delete done inconsistently: a table with both a flag (`is_deleted`) and a timestamp
    (`deleted_at`) that can disagree; `deleted_at` without `deleted_by` where sibling tables
    record both; and unique constraints on soft-deleted tables that ignore the deleted rows
    (so a deleted email can never be registered again).

    Off by default: whether a unique key should count soft-deleted rows depends on the key
    (an external provider's id must stay unique forever; an email may come back); on the real
    projects we read the rule could not tell the two apart. Select it by code to review them.

    ## Why it matters
    Two sources of truth disagree after the first manual fix; readers filter on one, writers
    set the other. A plain unique constraint counts deleted rows, so "delete and re-create"
    fails, and teams respond by dropping the constraint entirely.

    ## Example
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE, is_deleted boolean, deleted_at timestamptz);
    ```

    ## Use instead
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY, email text, deleted_at timestamptz, deleted_by bigint);
    CREATE UNIQUE INDEX ux_users_email_live ON users (email) WHERE deleted_at IS NULL;
    ```

    ## How to verify
    `SELECT count(*) FROM users WHERE is_deleted <> (deleted_at IS NOT NULL);` is 0 before
    dropping the flag; re-registering a deleted email succeeds in a test.
    """

    code = "SL208"
    default_enabled = False
    name = "soft-delete-drift"
    dimension = 2
    severity = "P2"
    summary = _("inconsistent soft-delete columns or uniqueness")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, email text, deleted_at timestamptz);\n"
        "CREATE UNIQUE INDEX ux_users_email_live ON users (email) WHERE deleted_at IS NULL;\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text UNIQUE,  -- expect\n"
        "  is_deleted boolean NOT NULL DEFAULT false,  -- expect\n  deleted_at timestamptz\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        tables = [t for t in context.tables() if not t.partition_of]
        with_deleted_by = [t for t in tables if t.column("deleted_by")]
        for table in tables:
            flag = next((table.column(n) for n in _FLAG_NAMES if table.column(n)), None)
            stamp = next((table.column(n) for n in _TIME_NAMES if table.column(n)), None)
            if flag and stamp:
                location, related = context.where_column(table, flag)
                yield self._finding(table, flag, location, related + (Related(stamp.location, stamp.name),),
                                    _("%(table)s has both %(flag)s and %(stamp)s", table=table.name, flag=flag.name, stamp=stamp.name),
                                    _("%(flag)s and %(stamp)s both say whether a %(table)s row is deleted and can disagree.", flag=flag.name, stamp=stamp.name, table=table.name),
                                    _("Keep %(stamp)s only: backfill it from %(flag)s, switch readers, drop %(flag)s.", stamp=stamp.name, flag=flag.name))
            if stamp and not table.column("deleted_by") and with_deleted_by:
                location, related = context.where_column(table, stamp)
                sibling = with_deleted_by[0]
                yield self._finding(table, stamp, location, related + (Related(sibling.location, _("%(sibling)s has deleted_by", sibling=sibling.name)),),
                                    _("%(table)s records when but not who deleted", table=table.name),
                                    _("%(table)s.%(stamp)s has no deleted_by, unlike %(sibling)s.", table=table.name, stamp=stamp.name, sibling=sibling.name),
                                    _("Add %(table)s.deleted_by (nullable FK to the users table) and set it where rows are deleted.", table=table.name))
            marker = stamp or flag
            if marker is None:
                continue
            for unique in table.unique_constraints:
                location, related = context.where_element(table, unique)
                yield self._finding(table, table.column(unique.columns[0]), location, related,
                                    _("unique (%(columns)s) on %(table)s counts deleted rows", columns=', '.join(unique.columns), table=table.name),
                                    _("%(table)s is soft-deleted through %(marker)s but its unique constraint "
                                    "(%(columns)s) includes deleted rows.", table=table.name, marker=marker.name, columns=', '.join(unique.columns)),
                                    _("Replace it with CREATE UNIQUE INDEX CONCURRENTLY ... ON %(table)s "
                                    "(%(columns)s) WHERE %(marker)s IS NULL", table=table.name, columns=', '.join(unique.columns), marker=marker.name) +
                                    ("" if marker is stamp else _(" (or NOT is_deleted)")) + ".")

    def _finding(self, table, column, location, related, title, message, medium_term) -> Finding:
        return self.finding(
            location, title, message,
            impact=_("Worst case: deleted rows reappear in one code path or block legitimate re-creation in another. "
                   "Most likely: reports and uniqueness checks disagree about what is deleted."),
            root_cause=_("Soft delete was added table by table without one convention."),
            fix=Fix(short_term=_("Document the soft-delete convention (deleted_at + deleted_by, partial unique indexes)."),
                    medium_term=medium_term,
                    long_term=_("A SoftDeleteMixin and a default query filter used by every model.")),
            verification=_("SELECT count(*) FROM %(table)s WHERE deleted_at IS NOT NULL;  -- and a re-create-after-delete test", table=table.name),
            table=table.name, column=column.name if column else None, related=related)
