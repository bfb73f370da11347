from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import SCHEMA, query_example, severity_for, where_it_runs
from ...i18n import _

_LATEST = ("from sqlalchemy import func, select\n\n\ndef latest(session, Order):\n"
           "    newest = select(Order.customer_id, func.max(Order.created_at).label('at')).group_by(Order.customer_id).subquery()\n"
           "    statement = select(Order).join(newest, (Order.customer_id == newest.c.customer_id) & (Order.created_at == newest.c.at))\n"
           "    return session.execute(statement).scalars().all()\n")


class LatestPerGroupJoin(Rule):
    """## What it finds
    "The latest row of every group" written as a GROUP BY + max() (or min()) subquery joined
    back to the same table on the group column and the aggregate.

    ## Why it matters
    The database aggregates the whole table, then joins it to itself; ties on the timestamp
    return several rows per group. PostgreSQL has a direct form that reads each group's newest
    row from an index.

    P2; P1 when it runs in a request handler; P0 there on a table hinted at 1M rows.

    ## Example
    ```python
    latest = select(Payment.order_id, func.max(Payment.created_at).label("at")).group_by(Payment.order_id).subquery()
    select(Payment).join(latest, (Payment.order_id == latest.c.order_id) & (Payment.created_at == latest.c.at))
    ```

    ## Use instead
    `select(Payment).distinct(Payment.order_id).order_by(Payment.order_id, Payment.created_at.desc())`
    (DISTINCT ON), or `row_number() OVER (PARTITION BY order_id ORDER BY created_at DESC) = 1`,
    with `CREATE INDEX ... ON payments (order_id, created_at DESC)`.

    ## How to verify
    `EXPLAIN ANALYZE` both forms on seeded data: one index scan instead of an aggregate and a
    hash join; the result has exactly one row per group.
    """

    code = "SL409"
    name = "latest-per-group-join"
    dimension = 4
    severity = "P2"
    summary = _("latest-per-group done with GROUP BY + max() joined back")

    valid = (Example(query_example("def latest(session, Order):\n"
                                   "    return session.query(Order).distinct(Order.customer_id)"
                                   ".order_by(Order.customer_id, Order.created_at.desc()).all()\n")),)
    invalid = (Example(query_example(_LATEST.replace("newest.c.at))\n", "newest.c.at))  # expect\n"), SCHEMA)),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in context.reached_query_paths:
            for join in path.joins:
                sub = join.subquery
                if sub is None or not sub.group_by or not any(name in ("max", "min") for name, _ in sub.aggregates):
                    continue
                group = ", ".join(use.column for use in sub.group_by)
                name, measured = next((name, use) for name, use in sub.aggregates if name in ("max", "min"))
                table = sub.table or measured.table
                order = "DESC" if name == "max" else "ASC"
                yield self.finding(
                    join.location, _("latest %(table)s per %(group)s via GROUP BY + %(name)s() joined back", table=table, group=group, name=name),
                    _("The query of %(where_it_runs)s aggregates %(table)s by %(group)s and joins the result back on "
                    "%(name)s(%(column)s).", where_it_runs=where_it_runs(path), table=table, group=group, name=name, column=measured.column),
                    impact=_("Worst case: the whole of %(table)s is aggregated and self-joined on every call, and ties on "
                           "%(column)s return duplicates. Most likely: a report that slows down with the table.", table=table, column=measured.column),
                    root_cause=_("The portable SQL idiom was used where PostgreSQL has DISTINCT ON and window functions."),
                    fix=Fix(short_term=_("SELECT DISTINCT ON (%(group)s) ... ORDER BY %(group)s, %(column)s %(order)s "
                                       "(`.distinct(...)` in SQLAlchemy), with an index on (%(group)s, %(column)s %(order)s).", group=group, column=measured.column, order=order),
                            medium_term=_("Or row_number() OVER (PARTITION BY ...) = 1 when more columns decide the winner."),
                            long_term=_("Keep a pointer to the latest row on the parent (updated in the same transaction) "
                                      "when the screen is hot.")),
                    verification=_("EXPLAIN ANALYZE both forms: an index scan instead of HashAggregate + Hash Join; one row "
                                 "per group in a test with ties"),
                    table=table, column=measured.column,
                    severity=severity_for(context, path, context.layer.tables.get(table)))
