from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ._column_types import base_type, columns_where, sql_table
from ...i18n import _
from ...lazy_pattern import LazyPattern

_LIMITED = LazyPattern(r"^character varying\((\d+)\)$")


class VarcharLength(Rule):
    """## What it finds
    Columns of type `varchar(n)` (`character varying(n)`, SQLAlchemy `String(n)`), arrays
    included. `varchar` without a length is `text` and is not reported.

    Opt-in (an opinion): select `SL212`, or `preset = "squawk"`.

    ## Why it matters
    In PostgreSQL `varchar(n)` stores exactly like `text`; the length is only a check. That
    check is hard to change: shortening it rewrites the table under ACCESS EXCLUSIVE, and the
    limit, once reached by real data (a long name, an email address), fails inserts in
    production. A `CHECK (length(col) <= n)` constraint expresses the same rule and can be
    replaced online (NOT VALID, then VALIDATE).

    P2.

    ## Example
    ```sql
    CREATE TABLE accounts (email varchar(100));
    ```

    ## Use instead
    ```sql
    CREATE TABLE accounts (email text CHECK (length(email) <= 320));
    ```
    (widening a varchar is instant since PostgreSQL 9.2; it is the other changes that cost.)

    ## How to verify
    `SELECT table_name, column_name, character_maximum_length FROM information_schema.columns
    WHERE data_type = 'character varying' AND character_maximum_length IS NOT NULL` is empty.
    """

    code = "SL212"
    name = "varchar-length"
    dimension = 2
    severity = "P2"
    default_enabled = False
    summary = _("varchar(n) column instead of text with a CHECK")
    peers = ("squawk:prefer-text-field", "pgls:preferTextField")

    valid = (Example(sql_table("email text CHECK (length(email) <= 320)"), config='select = ["SL212"]\n'),)
    invalid = (Example(sql_table("email varchar(100)", expect=True), config='select = ["SL212"]\n'),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table, column in columns_where(context, lambda c: bool(_LIMITED.match(base_type(c)))):
            length = _LIMITED.match(base_type(column)).group(1)
            location, related = context.where_column_type(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s is %(type)s", table=table.name, column=column.name, type=column.type),
                _("The %(length)s-character limit of %(table)s.%(column)s is a check that can only be changed by "
                "altering the column's type.", length=length, table=table.name, column=column.name),
                impact=_("Worst case: real data longer than the limit fails inserts, and changing the limit other than "
                       "upwards rewrites the table under ACCESS EXCLUSIVE. Most likely: a column resized once or twice."),
                root_cause=_("varchar(n) carries a habit from databases where the length changes storage."),
                fix=Fix(short_term=_("Use `text` with `CHECK (length(%(column)s) <= %(length)s)` for new columns.", column=column.name, length=length)),
                verification=_("SELECT data_type FROM information_schema.columns WHERE table_name = '%(table)s' AND "
                             "column_name = '%(column)s';  -- text", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)
