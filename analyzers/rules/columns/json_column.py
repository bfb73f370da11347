from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ._column_types import base_type, columns_where, sql_table
from ...i18n import _


class JsonColumn(Rule):
    """## What it finds
    Columns of type `json` (SQLAlchemy `JSON` on PostgreSQL, SQL `json`) rather than `jsonb`.

    ## Why it matters
    `json` stores the text as written and re-parses it on every access; it has no equality
    operator, so `SELECT DISTINCT`, `UNION`, `GROUP BY` and `IN` over a row holding it fail
    (`could not identify an equality operator for type json`), and it cannot have a GIN index
    for containment queries (`@>`). `jsonb` has all of these. Keep `json` only when the exact
    text (key order, duplicate keys, whitespace) must be preserved.

    P2. Off by default (an opinion): on real projects most `json` columns are blobs the code
    writes and reads whole (plugin settings, event details), where neither the missing equality
    operator nor GIN indexes matter (dispatch: 16 such columns, none queried inside). Select
    `SL214` where the columns are searched or compared.

    ## Example
    ```python
    settings = sa.Column(sa.JSON)
    ```

    ## Use instead
    ```python
    from sqlalchemy.dialects.postgresql import JSONB
    settings = sa.Column(JSONB)
    ```
    Converting an existing column rewrites the table (`ALTER COLUMN ... TYPE jsonb`): stage it
    on big tables.

    ## How to verify
    `SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'json'`
    lists only columns that must keep their text.
    """

    code = "SL214"
    name = "json-column"
    dimension = 2
    severity = "P2"
    summary = _("json column instead of jsonb")
    default_enabled = False
    peers = ("pgls:preferJsonb", "strong_migrations:add_column_json", "eugene:E3")

    valid = (Example(sql_table("settings jsonb")),)
    invalid = (Example(sql_table("settings json", expect=True)),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        if context.model.config.dialect != "postgresql":
            return
        for table, column in columns_where(context, lambda c: base_type(c) == "json"):
            location, related = context.where_column_type(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s is json, not jsonb", table=table.name, column=column.name),
                _("%(table)s.%(column)s is re-parsed on every access and has no equality operator or GIN index.", table=table.name, column=column.name),
                impact=_("Worst case: a query with DISTINCT, UNION or GROUP BY over %(table)s fails, and containment "
                       "searches scan the table. Most likely: slower reads of the column.", table=table.name),
                root_cause=_("`JSON` is SQLAlchemy's generic type; PostgreSQL's better one is `JSONB`."),
                fix=Fix(short_term=_("Declare %(column)s as JSONB for new columns.", column=column.name),
                        medium_term=_("Convert: `ALTER TABLE %(table)s ALTER COLUMN %(column)s TYPE jsonb` (a "
                                    "rewrite: `schemalens scaffold change-type` stages it).", table=table.name, column=column.name)),
                verification=_("SELECT data_type FROM information_schema.columns WHERE table_name = '%(table)s' AND "
                             "column_name = '%(column)s';  -- jsonb", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)
