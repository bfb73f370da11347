from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import (in_size_scope, p0_on_a_big_request_path, query_example, rows_are_few,
                            where_it_runs)
from ...i18n import _

_PAGE = ("def page(Order, customer_id, page):\n"
         "    return Order.query.filter(Order.customer_id == customer_id).order_by(Order.id.desc())"
         ".offset((page - 1) * 20).limit(20).all()\n")


class OffsetPagination(Rule):
    """## What it finds
    OFFSET pagination (`.offset(...)`, `.paginate(...)`, `.slice(...)`, `OFFSET` in SQL) on a
    table the size hints (`[tool.schemalens.tables.<name>]`) give 100,000 rows or more, now or
    within a year. Without hints the rule stays silent. Not reported: pages of groups, of the
    one row a unique key matches, or of one parent's rows when the size hints give a handful per
    parent (a customer's subscriptions: at most 5 rows per row of the table its foreign key
    references), matched on every call (not under an `if`).

    ## Why it matters
    `OFFSET n` makes PostgreSQL produce and throw away n rows before the page: page 5,000 of a
    big table costs 5,000 pages of work, and crawlers and exports walk exactly those pages.
    Rows inserted between two page loads also shift the pages (duplicates and gaps).

    P1; P0 when the query runs in a request handler on a table hinted at 1M rows.

    ## Example
    ```python
    Order.query.order_by(Order.id.desc()).offset((page - 1) * 20).limit(20)
    ```

    ## Use instead
    Keyset pagination: `.filter(Order.id < last_seen_id).order_by(Order.id.desc()).limit(20)`,
    with an index on the ordering columns (after the filter columns), and a cursor (the last
    row's key) in the API instead of a page number.

    ## How to verify
    `EXPLAIN ANALYZE` a deep page (OFFSET 100000) before and after: the keyset query reads 20
    rows from the index whatever the page.
    """

    code = "SL408"
    name = "offset-pagination"
    dimension = 4
    severity = "P1"
    summary = _("OFFSET pagination on a big table")

    valid = (Example(query_example(_PAGE), config="[tool.schemalens.tables.orders]\nrows = 5000\n"),
             # polar: the pages are of groups (one row per status), not of the table's rows
             Example(query_example("from sqlalchemy import func\n\n\ndef page(session, Order, page):\n"
                                   "    return session.query(Order.status, func.count(Order.id)).group_by(Order.status)"
                                   ".offset((page - 1) * 20).limit(20).all()\n"),
                     config="[tool.schemalens.tables.orders]\nrows = 2_000_000\n"),
             # polar: the pages of one customer's orders, two per customer by the size hints
             Example(query_example("def page(Order, customer_id, page):\n"
                                   "    return (Order.query.filter(Order.customer_id == customer_id).order_by(Order.id)\n"
                                   "            .offset((page - 1) * 20).limit(20).all())\n"),
                     config="[tool.schemalens.tables.orders]\nrows = 2_000_000\n"
                            "[tool.schemalens.tables.customers]\nrows = 1_000_000\n"))
    invalid = (Example(query_example(_PAGE.replace(".all()\n", ".all()  # expect\n")),
                       config="[tool.schemalens.tables.orders]\nrows = 2_000_000\n"),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in context.reached_query_paths:
            table = context.layer.tables.get(path.table or "")
            if path.shape.pagination not in ("offset", "paginate") or (table is not None and rows_are_few(context, path, table)) \
                    or not in_size_scope(context, self.code, table, 100_000):
                continue
            order = ", ".join(f"{use.column}{' DESC' if descending else ''}" for use, descending in path.order_by) or "id"
            yield self.finding(
                path.location, _("OFFSET pagination over %(table)s", table=table.name),
                _("The query of %(where_it_runs)s pages through %(table)s with OFFSET; the size hints give "
                "%(table)s %(max)s rows.", where_it_runs=where_it_runs(path), table=table.name, max=format(max(context.hints(table).rows or 0, context.hints(table).rows_in_a_year or 0), ',')),
                impact=_("Worst case: deep pages (crawlers, exports) read and discard most of %(table)s on every "
                       "request and the endpoint times out. Most likely: page N costs N times page 1, and rows shift "
                       "between pages.", table=table.name),
                root_cause=_("Page-number pagination is the framework default (`paginate`, `offset`)."),
                fix=Fix(short_term=_("Keyset pagination: filter on the last seen (%(order)s) and `limit`, with an index on "
                                   "the filter columns followed by %(order)s.", order=order),
                        medium_term=_("Expose a cursor (the last row's key) in the API instead of a page number; cap "
                                    "page depth meanwhile."),
                        long_term=_("Standard: list endpoints over big tables are cursor-paginated.")),
                verification=_("EXPLAIN ANALYZE the query with OFFSET 100000: rows removed by the offset; the keyset "
                             "version reads only the page"),
                table=table.name, severity=p0_on_a_big_request_path(context, path, table))
