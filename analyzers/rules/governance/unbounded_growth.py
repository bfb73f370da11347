from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext, named_append_only
from ...schema.model import Column
from ...i18n import _


def _records_time(column: Column) -> bool:
    """A date or time column, also behind a custom type whose name says so (`UtcDateTime`)."""
    return column.type.startswith(("date", "time")) or any(word in column.raw_type.lower() for word in ("date", "time"))


class UnboundedGrowth(Rule):
    """## What it finds
    Append-only tables (log, event, history, audit, outbox, change_log, activity, metrics)
    that are not partitioned and that no code or SQL ever deletes from or archives (no
    `DELETE FROM`, `.delete()`, `TRUNCATE`, `DROP`/`DETACH PARTITION`, or an UPDATE clearing
    a column of old rows to NULL mentioning the table). A table with no date or time column is not taken
    for a log: a log records when each row happened, so a table without one is a registry
    (event types, a link table) whose size follows its configuration, not its traffic.

    ## Why it matters
    They grow forever: vacuum, backups and restores get slower every month, indexes stop
    fitting in memory, and deleting old rows later means a long, lock-heavy batch job on the
    biggest table in the database. Retention is also a legal requirement for personal data.

    ## Example
    ```sql
    CREATE TABLE audit_logs (id bigserial PRIMARY KEY, created_at timestamptz, payload jsonb);
    ```

    ## Use instead
    ```sql
    CREATE TABLE audit_logs (id bigserial, created_at timestamptz NOT NULL, payload jsonb,
      PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
    -- a monthly job creates the next partition and detaches/archives the oldest
    ```
    or at least a scheduled batched delete by `created_at` with an index on it.

    ## How to verify
    `SELECT pg_size_pretty(pg_total_relation_size('audit_logs'));` month over month stays
    flat; the retention job is in the code and has a test.

    ## Severity
    P2; P1 when the size hints give the table 10M rows or more within a year.
    """

    code = "SL703"
    name = "unbounded-growth"
    dimension = 7
    severity = "P2"
    summary = _("append-only table with no partitioning or retention")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE audit_logs (id bigint, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at))"
        " PARTITION BY RANGE (created_at);\n")}),
        Example({"migrations/V1__init.sql": "CREATE TABLE audit_logs (id bigint PRIMARY KEY, created_at timestamptz);\n",
                 "app/tasks/retention.py": "def purge(session):\n    session.execute(\"DELETE FROM audit_logs WHERE created_at < now() - interval '90 days'\")\n"}),
        # polar: a daily prune job deletes handled rows with SQLAlchemy's delete(Model)
        Example({"app/models.py": ("from sqlalchemy import Column, DateTime, Integer\nfrom sqlalchemy.orm import declarative_base\n"
                                   "Base = declarative_base()\n\nclass ExternalEvent(Base):\n    __tablename__ = 'external_events'\n"
                                   "    id = Column(Integer, primary_key=True)\n    handled_at = Column(DateTime(timezone=True))\n"),
                 "app/tasks.py": ("from sqlalchemy import delete\n\ndef prune(session, before):\n"
                                  "    session.execute(delete(ExternalEvent).where(ExternalEvent.handled_at < before))\n")}),
        # prefect: delete() of a model reached through an object, and a batch helper given the model
        Example({"app/models.py": ("from sqlalchemy import Column, DateTime, Integer\nfrom sqlalchemy.orm import declarative_base\n"
                                   "Base = declarative_base()\n\nclass Log(Base):\n    __tablename__ = 'log'\n"
                                   "    id = Column(Integer, primary_key=True)\n    created = Column(DateTime(timezone=True))\n"),
                 "app/vacuum.py": ("import sqlalchemy as sa\n\nasync def vacuum(db, cutoff):\n"
                                   "    await _batch_delete(db, db.Log, db.Log.created < cutoff, 500)\n")}),
        # dispatch: a registry of plugin event types and a link table, no time column
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE plugin_event (id int PRIMARY KEY, slug text UNIQUE, name text);\n"
            "CREATE TABLE assoc_model_activities (model_id int, activity_id int, PRIMARY KEY (model_id, activity_id));\n")}),
        # polar: a nightly job archives old rows by clearing their payload in batches
        Example({"app/models.py": ("from sqlalchemy import Column, DateTime, Integer, JSON\nfrom sqlalchemy.orm import declarative_base\n"
                                   "Base = declarative_base()\n\nclass WebhookEvent(Base):\n    __tablename__ = 'webhook_events'\n"
                                   "    id = Column(Integer, primary_key=True)\n    created_at = Column(DateTime(timezone=True))\n"
                                   "    payload = Column(JSON)\n"),
                 "app/tasks.py": ("from sqlalchemy import select, update\n\ndef archive(session, older_than):\n"
                                  "    batch = select(WebhookEvent.id).where(WebhookEvent.created_at < older_than).limit(5000)\n"
                                  "    session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(batch)).values(payload=None))\n")}),
    )
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE audit_logs (  -- expect\n  id bigint PRIMARY KEY,\n  created_at timestamptz\n);\n")}),
        # polar: clearing a pending reference on the rows just inserted is no retention
        Example({"app/models.py": ("from sqlalchemy import Column, DateTime, Integer, String\nfrom sqlalchemy.orm import declarative_base\n"
                                   "Base = declarative_base()\n\nclass Event(Base):  # expect\n    __tablename__ = 'events'\n"
                                   "    id = Column(Integer, primary_key=True)\n    timestamp = Column(DateTime(timezone=True))\n"
                                   "    pending_ref = Column(String)\n"),
                 "app/repository.py": ("from sqlalchemy import update\n\ndef link(session, ids):\n"
                                       "    session.execute(update(Event).where(Event.id.in_(ids)).values(pending_ref=None))\n")}),
        # skyvern: a helper that records a tag's deletion inserts a row of the event table
        Example({"app/models.py": ("from sqlalchemy import Column, DateTime, Integer\nfrom sqlalchemy.orm import declarative_base\n"
                                   "Base = declarative_base()\n\nclass TagEvent(Base):  # expect\n    __tablename__ = 'tag_events'\n"
                                   "    id = Column(Integer, primary_key=True)\n    created_at = Column(DateTime(timezone=True))\n"),
                 "app/tags.py": ("async def remove_tag(session, tag):\n"
                                 "    await _insert_delete_event(session, event_model=TagEvent, tag=tag)\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of or table.partition_by or not named_append_only(table.name):
                continue
            if not any(_records_time(column) for column in table.columns):
                continue
            if context.code_mentions_deletion(table):
                continue
            location, related = context.where_table(table)
            hints = context.hints(table)
            yield self.finding(
                location, _("%(table)s grows forever", table=table.name),
                _("%(table)s looks append-only, is not partitioned, and nothing in the workspace deletes or archives its rows.", table=table.name),
                impact=_("Worst case: the table becomes the largest in the database, vacuum and backups fall behind and a "
                       "late cleanup locks it for hours. Most likely: steadily slower queries and storage costs."),
                root_cause=_("Writes were designed; the data's lifetime was not."),
                fix=Fix(short_term=_("Decide the retention of %(table)s (e.g. 90 days) and add an index on its time column.", table=table.name),
                        medium_term=_("A scheduled job deletes expired rows in batches (DELETE ... WHERE ctid IN (SELECT ctid ... LIMIT 10000))."),
                        long_term=_("Partition %(table)s by time and drop or detach old partitions; archive to object storage.", table=table.name)),
                verification=_("SELECT min(created_at) FROM %(table)s;  -- expect within the retention period", table=table.name),
                table=table.name, related=related,
                severity="P1" if (hints.rows_in_a_year or 0) >= 10_000_000 else None)
