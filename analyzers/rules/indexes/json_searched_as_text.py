from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .query_support import p0_on_a_big_request_path, query_example, where_it_runs
from ...i18n import _

_SCHEMA = "CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb NOT NULL, kind text);\n"


class JsonSearchedAsText(Rule):
    """## What it finds
    A JSON/JSONB column cast to text to be searched or compared: `cast(Event.payload, Text).like(...)`,
    `Event.payload.astext.contains(...)`. A key read as text (`Event.payload["order_no"].astext`,
    `.as_string()`) is the way to query JSON, not this.

    ## Why it matters
    The cast serializes every document of the table for every query: no index can serve it, a
    match can come from any key (or from a key's name instead of its value), and formatting
    differences (spacing, key order) change the result.

    P1; P0 when it runs in a request handler on a table hinted at 1M rows.

    ## Example
    ```python
    Event.query.filter(cast(Event.payload, Text).ilike(f"%{order_no}%"))
    ```

    ## Use instead
    Query the key: `Event.payload["order_no"].astext == order_no` with an expression index
    `((payload->>'order_no'))`, or containment `Event.payload.contains({"order_no": order_no})`
    with a GIN `jsonb_path_ops` index; promote keys that are searched often to columns.

    ## How to verify
    `EXPLAIN` shows an index scan on the expression or GIN index instead of a `Seq Scan` with a
    `::text` filter.
    """

    code = "SL411"
    grouped_by = "column"
    name = "json-searched-as-text"
    dimension = 4
    severity = "P1"
    summary = _("JSON column cast to text to search it")

    valid = (Example(query_example("def by_order(Event, order_no):\n"
                                   "    return Event.query.filter(Event.kind == order_no).all()\n", _SCHEMA)),
             # a key of the document, read as text: what the fix recommends
             Example(query_example("def by_order(Event, order_no):\n"
                                   "    return Event.query.filter(Event.payload['order_no'].as_string() == order_no).all()\n",
                                   _SCHEMA)))
    invalid = (Example(query_example("from sqlalchemy import Text, cast\n\n\ndef by_order(Event, order_no):\n"
                                     "    return Event.query.filter(cast(Event.payload, Text).ilike(f'%{order_no}%')).all()  # expect\n",
                                     _SCHEMA)),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in context.reached_query_paths:
            for predicate in path.predicates:
                use = predicate.use
                table = context.layer.tables.get(use.table)
                column = table.column(use.column) if table else None
                if not predicate.json_as_text or predicate.json_key or column is None or column.type not in ("json", "jsonb"):
                    continue
                yield self.finding(
                    use.location, _("%(table)s.%(column)s (%(type)s) is searched as text", table=table.name, column=use.column, type=column.type),
                    _("The query of %(where_it_runs)s casts %(table)s.%(column)s to text and matches it with "
                    "%(upper)s.", where_it_runs=where_it_runs(path), table=table.name, column=use.column, upper=predicate.operator.upper()),
                    impact=_("Worst case: every document of %(table)s is serialized on every call, and a value under "
                           "the wrong key (or a key name) matches. Most likely: a slow, imprecise lookup.", table=table.name),
                    root_cause=_("A value stored inside JSON is looked up as if the document were a string."),
                    fix=Fix(short_term=_("Match the key: `%(column)s['key'].astext == value` with an index on "
                                       "((%(column)s->>'key')), or `.contains({...})` with a GIN jsonb_path_ops index.", column=use.column),
                            medium_term=_("Promote keys that queries search to real columns with their own index."),
                            long_term=_("Write down which JSON keys are queried; review new ones like schema changes.")),
                    verification=_("EXPLAIN the query: an index scan, no `%(column)s::text` filter over a Seq Scan", column=use.column),
                    table=table.name, column=use.column, severity=p0_on_a_big_request_path(context, path, table))
