from __future__ import annotations

from typing import Iterator

from ...query_paths import entry_points, trigram_or_text_index
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import p0_on_a_big_request_path, query_example, size_evidence, in_size_scope, where_it_runs
from ...i18n import _

_SIZES = "[tool.schemalens.tables.orders]\nrows = 100_000\n[tool.schemalens.tables.customers]\nrows = 100_000\n"
_SEARCH = "def search(session, Customer, term):\n    return session.query(Customer).filter(Customer.name.ilike(f'%{term}%')).all()\n"


class ContainsSearchWithoutTrigram(Rule):
    """## What it finds
    A `%term%` (or `%term`) search, written as `.ilike(f"%{term}%")`, `.like("%" + term + "%")`,
    `.contains(term)`, `.endswith(term)` or `LIKE '%...%'` in SQL, on a column with no trigram
    index (GIN or GiST with `gin_trgm_ops` / `gist_trgm_ops`) and no full-text index over it,
    on a table the size hints (`[tool.schemalens.tables.<name>]`) give 10,000 rows or more (now
    or within a year). Not reported: a search over the rows another predicate of the query (or
    the join feeding the table) finds through an index (one customer's orders), and a query in a
    function no application path runs.

    Without a size hint the rule stays silent: a leading-wildcard search costs what the table
    holds, and on the judged corpus of real projects most such searches ran over one
    customer's handful of rows or small staff-only tables (about four findings in ten were
    worth a reviewer's time).

    ## Why it matters
    A btree index cannot serve a pattern with a leading wildcard: PostgreSQL reads and matches
    every row. Search boxes run this on every keystroke, so the cost multiplies with traffic
    as well as with rows.

    P1; P0 when it runs in a request handler on a table hinted at 1M rows (now or within a year).
    The finding names the hint that put the table in scope.

    ## Example
    ```python
    Product.query.filter(Product.name.ilike(f"%{term}%"))
    ```

    ## Use instead
    `CREATE EXTENSION IF NOT EXISTS pg_trgm;` then `CREATE INDEX CONCURRENTLY
    products_name_trgm_idx ON products USING gin (name gin_trgm_ops);` (serves LIKE and ILIKE
    with any wildcards), or a full-text column with a GIN index when users search words.

    ## How to verify
    `EXPLAIN SELECT * FROM products WHERE name ILIKE '%shoe%'`: a `Bitmap Index Scan` on the
    trigram index instead of a `Seq Scan`.
    """

    code = "SL407"
    grouped_by = "column"
    name = "contains-search-without-trigram"
    dimension = 4
    severity = "P1"
    summary = _("'%term%' search on a column without a trigram or full-text index")

    valid = (
        Example(query_example(_SEARCH) | {"db/V2__trgm.sql": "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n"
                                          "CREATE INDEX customers_name_trgm ON customers USING gin (name gin_trgm_ops);\n"},
                config=_SIZES),
        Example(query_example("def starting(session, Customer, term):\n"
                              "    return session.query(Customer).filter(Customer.name.startswith(term)).all()\n"), config=_SIZES),
        # polar: no size hint (a merchant's discounts, a staff page over a pruned table)
        Example(query_example(_SEARCH)),
        # polar: one customer's rows, found through an index, are searched; not the whole table
        Example(query_example("def notes(Order, customer_id, term):\n    return Order.query.filter("
                              "Order.customer_id == customer_id, Order.note.contains(term)).all()\n"), config=_SIZES),
    )
    invalid = (
        Example(query_example(_SEARCH.replace(".all()\n", ".all()  # expect\n")), config=_SIZES),
        Example(query_example("def notes(Order, term):\n    return Order.query.filter(Order.note.contains(term)).all()  # expect\n"),
                config=_SIZES),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in context.reached_query_paths:
            for predicate in path.predicates:
                if predicate.operator not in ("like", "ilike") or predicate.pattern not in ("contains", "suffix"):
                    continue
                use = predicate.use
                table = context.layer.tables.get(use.table)
                if table is None or trigram_or_text_index(table, use.column):
                    continue
                if any(entry.index and entry.kind != "search" for entry in entry_points(path, table, context.layer)):
                    continue  # another predicate (or the join feeding the table) narrows it through an index first
                if not in_size_scope(context, self.code, table):
                    continue
                yield self.finding(
                    use.location, _("%(upper)s '%%...%%' on %(table)s.%(column)s reads the whole table", upper=predicate.operator.upper(), table=table.name, column=use.column),
                    _("The query of %(where_it_runs)s searches %(table)s.%(column)s with a leading wildcard; "
                    "no trigram or full-text index covers the column, and a btree index cannot serve it.", where_it_runs=where_it_runs(path), table=table.name, column=use.column)
                    + " " + size_evidence(context, table),
                    impact=_("Worst case: each search reads all of %(table)s; at 10x-100x the rows a search takes "
                           "seconds and concurrent searches saturate the database. Most likely: a search box that gets "
                           "slower every month.", table=table.name),
                    root_cause=_("Substring search was written with LIKE/ILIKE and the index that serves it (pg_trgm) was "
                               "never added."),
                    fix=Fix(short_term=_("CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX CONCURRENTLY "
                                       "%(table)s_%(column)s_trgm_idx ON %(table)s USING gin (%(column)s gin_trgm_ops);", table=table.name, column=use.column),
                            medium_term=_("Cap the result count and require a minimum term length (3+ characters for trigrams)."),
                            long_term=_("Full-text search (tsvector + GIN) or a search service for word search over documents.")),
                    verification=_("EXPLAIN SELECT * FROM %(table)s WHERE %(column)s ILIKE '%%abc%%';  -- Bitmap Index "
                                 "Scan on the trigram index", table=table.name, column=use.column),
                    table=table.name, column=use.column, severity=p0_on_a_big_request_path(context, path, table))
