from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _


def _unique_keys(table):
    """(name, columns, element) of the primary key, unique constraints and full unique indexes."""
    keys = []
    if table.primary_key is not None:
        keys.append((table.primary_key.name or f"{table.name}_pkey", table.primary_key.columns, table.primary_key))
    keys += [(u.name or "(unique)", u.columns, u) for u in table.unique_constraints]
    keys += [(i.name or "(unique index)", i.columns, i) for i in table.indexes
             if i.unique and not i.where and not any(i.expressions)]
    return keys


class PartialIndexOnUniqueKey(Rule):
    """## What it finds
    A partial index on exactly the columns of the table's primary key or of a unique constraint
    (or full unique index): `CREATE INDEX ... ON orders (order_number) WHERE deleted_at IS NULL`
    when `order_number` is already UNIQUE. A plain index on those columns is SL402's.

    ## Why it matters
    An equality lookup on those columns finds at most one row through the unique key already;
    the partial index is written on every insert and update of its rows for no gain there. A
    unique partial index on a key that is unique everywhere adds no guarantee either. The
    partial index still pays off only for range scans or ORDER BY over the key restricted to
    its predicate (a small subset read in key order), or for index-only scans of that subset.

    ## Example
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, order_number text UNIQUE, deleted_at timestamptz);
    CREATE INDEX orders_live_number_idx ON orders (order_number) WHERE deleted_at IS NULL;
    ```

    ## Use instead
    Drop it (`DROP INDEX CONCURRENTLY orders_live_number_idx;`) unless a query reads the live
    rows in `order_number` order or by range; then keep it and say so in a comment. If the goal
    was uniqueness among live rows only, replace the full UNIQUE constraint by the partial
    unique index instead of keeping both.

    ## How to verify
    `pg_stat_user_indexes.idx_scan` of the partial index stays flat on production, and after
    the drop `EXPLAIN SELECT ... WHERE order_number = $1` uses the unique key.
    """

    code = "SL415"
    name = "partial-index-on-unique-key"
    dimension = 4
    severity = "P2"
    summary = _("partial index on exactly the columns of a unique key")

    valid = (Example({"db/V1__orders.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, order_number text UNIQUE, customer_id bigint, deleted_at timestamptz);\n"
        "CREATE INDEX orders_live_customer_idx ON orders (customer_id) WHERE deleted_at IS NULL;\n")}),)
    invalid = (Example({"db/V1__orders.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, order_number text UNIQUE, deleted_at timestamptz);\n"
        "CREATE INDEX orders_live_number_idx ON orders (order_number) WHERE deleted_at IS NULL;  -- expect\n"
        "CREATE UNIQUE INDEX orders_live_id ON orders (id) WHERE deleted_at IS NULL;  -- expect\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for label, layer in context.layers():
            main = layer is context.layer
            for _key, table in sorted(layer.tables.items()):
                keys = _unique_keys(table)
                for index in table.indexes:
                    if not index.where or any(index.expressions) or index.using not in (None, "btree"):
                        continue
                    key = next((k for k in keys if tuple(k[1]) == tuple(index.columns) and k[2] is not index), None)
                    if key is None:
                        continue
                    location, related = context.where_element(table, index) if main else (index.location, ())
                    yield self._finding(label, table, index, key, location, related)

    def _finding(self, label: str, table, index, key, location, related) -> Finding:
        key_name, columns, element = key
        listed = ", ".join(columns)
        if index.unique:
            what = _("adds no guarantee: %(key_name)s already makes (%(listed)s) unique on every row", key_name=key_name, listed=listed)
            keep = _("Drop it")
        else:
            what = (_("does nothing for equality lookups, which find at most one row through %(key_name)s; it pays off only "
                    "for range scans or ORDER BY %(listed)s over the rows WHERE %(where)s, or index-only scans of them", key_name=key_name, listed=listed, where=index.where))
            keep = _("Drop it unless a query reads that subset by range or in key order (then keep it with a comment)")
        return self.finding(
            location, _("%(index)s on %(table)s repeats the unique key %(key_name)s", index=index.name, table=table.name, key_name=key_name),
            _("%(index)s (%(listed)s) WHERE %(where)s %(what)s", index=index.name, listed=listed, where=index.where, what=what) + (_(" (%(label)s).", label=label) if label != "models" else "."),
            impact=_("Worst case: every write to %(table)s maintains an index no query needs. Most likely: a few "
                   "percent of write cost, vacuum time and buffer space.", table=table.name),
            root_cause=_("A soft-delete or status filter was added to an index on a key that is already unique."),
            fix=Fix(short_term=_("%(keep)s: DROP INDEX CONCURRENTLY %(index)s;", keep=keep, index=index.name),
                    medium_term=_("If uniqueness among the filtered rows only was the intent, replace the full unique key by "
                                "the partial unique index instead of keeping both."),
                    long_term=_("Standard: index review lists each index with the query it serves.")),
            verification=_("pg_stat_user_indexes.idx_scan for %(index)s on production; EXPLAIN of the lookups on "
                         "(%(listed)s) uses %(key_name)s", index=index.name, listed=listed, key_name=key_name),
            table=table.name, column=columns[0] if len(columns) == 1 else None,
            related=(*related, Related(element.location, _("the unique key %(key_name)s", key_name=key_name))))
