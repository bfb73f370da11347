from __future__ import annotations

import re
from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

_TOKEN_PAIRS = (("start", "end"), ("starts", "ends"), ("begin", "end"), ("from", "to"), ("opened", "closed"))


def _pairs(names: set[str]) -> Iterator[tuple[str, str]]:
    """(start, end) column pairs: names that differ only in a start token and its end token."""
    for name in sorted(names):
        parts = name.split("_")
        for first, second in _TOKEN_PAIRS:
            if first in parts:
                other = "_".join(second if part == first else part for part in parts)
                if other in names:
                    yield name, other


class MissingDateOrderCheck(Rule):
    """## What it finds
    Pairs of date or time columns that bound an interval (`start_at`/`end_at`,
    `starts_on`/`ends_on`, `valid_from`/`valid_to`) with no CHECK that the start is not after
    the end.

    Off by default: whether an inverted pair can arise, and what it breaks, depends on where the
    values come from, which the schema does not say. On the real projects we read, 2 of 7
    findings were worth a reviewer's time (user-entered schedules, billing periods computed
    in-house); the others held times mirrored from another system (on-call shifts from
    PagerDuty, telemetry spans), windows the code computes in order, or planning dates nothing
    reads back. Select it by code (`select = ["ALL", "SL306"]`) where intervals are entered by
    users or drive availability and overlap queries.

    ## Why it matters
    An inverted interval is accepted silently and then matches nothing, or everything, in
    overlap and "is active" queries: a promotion that never shows, a booking that blocks a
    room forever.

    ## Example
    ```sql
    CREATE TABLE promotions (id bigint PRIMARY KEY, starts_at timestamptz, ends_at timestamptz);
    ```

    ## Use instead
    ```sql
    CHECK (ends_at IS NULL OR starts_at <= ends_at)
    ```

    ## How to verify
    `SELECT count(*) FROM promotions WHERE starts_at > ends_at;` is 0; an inverted insert fails.
    """

    code = "SL306"
    default_enabled = False
    grouped_by = "workspace"
    name = "missing-date-order-check"
    dimension = 3
    severity = "P2"
    summary = _("start/end column pair without an order check")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE promotions (id bigint PRIMARY KEY, starts_at timestamptz, ends_at timestamptz,"
        " CHECK (starts_at <= ends_at));\n")}),)
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE promotions (\n  id bigint PRIMARY KEY,\n  starts_at timestamptz NOT NULL,  -- expect\n"
        "  ends_at timestamptz\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            temporal = {c.name for c in table.columns if c.type.startswith(("date", "timestamp", "time"))}
            for start, end in _pairs(temporal):
                if any(re.search(rf"\b{start}\b", c.expression) and re.search(rf"\b{end}\b", c.expression)
                       for c in table.check_constraints):
                    continue
                location, related = context.where_column(table, table.column(start))
                related += (Related(table.column(end).location, _("end column %(end)s", end=end)),)
                yield self.finding(
                    location, _("%(table)s.(%(start)s, %(end)s) may be inverted", table=table.name, start=start, end=end),
                    _("Nothing checks %(start)s <= %(end)s on %(table)s.", start=start, end=end, table=table.name),
                    impact=_("Worst case: an inverted interval makes a record active forever or never in overlap and "
                           "availability queries. Most likely: a timezone or form bug writes end before start unnoticed."),
                    root_cause=_("The interval's invariant lives only in form validation."),
                    fix=Fix(short_term=_("SELECT count(*) FROM %(table)s WHERE %(start)s > %(end)s;  -- repair the rows found", table=table.name, start=start, end=end),
                            medium_term=_("ALTER TABLE %(table)s ADD CONSTRAINT ck_%(table)s_%(start)s_before_%(end)s "
                                        "CHECK (%(end)s IS NULL OR %(start)s <= %(end)s) NOT VALID; then VALIDATE.", table=table.name, start=start, end=end),
                            long_term=_("Consider a range type (tstzrange) with an exclusion constraint where overlaps matter.")),
                    verification=_("INSERT INTO %(table)s (%(start)s, %(end)s) VALUES (now(), now() - interval '1 day');  -- expect a check violation", table=table.name, start=start, end=end),
                    table=table.name, column=start, related=related)
