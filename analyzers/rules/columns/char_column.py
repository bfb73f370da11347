from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ._column_types import base_type, columns_where, sql_table
from ...i18n import _
from ...lazy_pattern import LazyPattern

_CHAR = LazyPattern(r"^character(\(\d+\))?$")


class CharColumn(Rule):
    """## What it finds
    Columns of type `char(n)` / `character(n)` / `bpchar` (blank-padded), SQLAlchemy `CHAR`,
    arrays included. PostgreSQL's internal one-byte `"char"` is not reported.

    Opt-in (an opinion): select `SL213`, or `preset = "squawk"`.

    ## Why it matters
    `char(n)` pads values with spaces to n characters and ignores trailing spaces when
    comparing: `'ab'` is stored as `'ab   '`, `length()` says 2, concatenation and clients see
    the padding, and LIKE treats it differently from `=`. It is no faster or smaller than `text`
    in PostgreSQL; what it buys is surprises. Without a length it is `char(1)`.

    P2.

    ## Example
    ```sql
    CREATE TABLE accounts (country char(2));
    ```

    ## Use instead
    ```sql
    CREATE TABLE accounts (country text CHECK (length(country) = 2));
    ```

    ## How to verify
    `SELECT table_name, column_name FROM information_schema.columns WHERE data_type =
    'character'` is empty.
    """

    code = "SL213"
    name = "char-column"
    dimension = 2
    severity = "P2"
    default_enabled = False
    summary = _("blank-padded char(n) column")
    peers = ("squawk:ban-char-field", "pgls:banCharField")

    valid = (Example(sql_table("country text CHECK (length(country) = 2)"), config='select = ["SL213"]\n'),)
    invalid = (Example(sql_table("country char(2)", expect=True), config='select = ["SL213"]\n'),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table, column in columns_where(context, lambda c: bool(_CHAR.match(base_type(c)))
                                           and '"char"' not in c.raw_type):
            location, related = context.where_column_type(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s is %(type)s", table=table.name, column=column.name, type=column.type),
                _("%(table)s.%(column)s pads every value with spaces to its length.", table=table.name, column=column.name),
                impact=_("Worst case: comparisons and joins with text columns disagree about trailing spaces and "
                       "lookups miss rows. Most likely: values arriving padded in the application."),
                root_cause=_("char(n) reads as a fixed-width field from other databases."),
                fix=Fix(short_term=_("Use `text` (with a length CHECK if the width is a rule) for %(column)s.", column=column.name)),
                verification=_("SELECT data_type FROM information_schema.columns WHERE table_name = '%(table)s' AND "
                             "column_name = '%(column)s';  -- text", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)
