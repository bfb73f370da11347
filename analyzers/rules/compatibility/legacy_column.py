from __future__ import annotations

import re
from typing import Iterator

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import TableView
from ...i18n import _
from ...lazy_pattern import LazyPattern

_LEGACY_NAME = LazyPattern(r"(^|_)(legacy|deprecated|old|obsolete|compat|bak|backup|tmp|unused)(_|$)|_v1$")
# The marker as what the row says of itself (`deprecated`, `is_legacy`, `deprecated_at`): data
# about the thing the row stands for, not a column kept for compatibility (tracecat).
_STATE_OF_THE_ROW = LazyPattern(r"^(is_|has_|was_)?(legacy|deprecated|obsolete|old|unused)(_(at|on|by|since|reason|message|note))?$")
_LEGACY_COMMENT = LazyPattern(r"legacy|deprecated|obsolete|compat|backward|兼容|废弃|弃用|旧", re.IGNORECASE)
# A comment's first sentence says what the column is; later ones explain (warehouse's caveats: "...
# Older Macaroons may be missing caveats as previously only the legacy permissions caveats were stored.")
_SENTENCE_END = LazyPattern(r"[.!?](\s|$)|[。！？；\n]")


class LegacyColumn(Rule):
    """## What it finds
    Columns kept only for compatibility: names with legacy, deprecated, old, obsolete, compat,
    bak, tmp or a `_v1` suffix, or a comment whose first sentence says so (including 兼容/废弃/弃用), still present
    at head with no migration removing them. Not the identifier of a record in a retired or
    outside system (`legacy_stripe_subscription_id`, `legacy_id`: provenance, kept on purpose),
    unless it references a table of the schema (`legacy_user_id` -> `users`). Nor a column that
    says the row's own state (`deprecated`, `is_legacy`, `deprecated_at`, any boolean such as
    heat's `backup`, whether the stack is a backup): tracecat's actions keep a deprecation
    message there.

    ## Why it matters
    Compatibility columns are written by some code paths and read by others; without a plan
    they live forever, drift out of sync with their replacement, leak into exports and confuse
    every new reader about which column is true.

    ## Example
    ```python
    legacy_status = db.Column(db.String(20))  # kept for the old mobile app
    ```

    ## Use instead
    A removal plan next to the column: who still reads it (measure with logging or
    `pg_stat_statements`), the date the last client is gone, and the contract migration that
    drops it.

    ## How to verify
    `SELECT query FROM pg_stat_statements WHERE query ILIKE '%legacy_status%';` shows no
    traffic before the drop; the contract migration runs in a rehearsal.
    """

    code = "SL804"
    name = "legacy-column"
    dimension = 8
    severity = "P2"
    summary = _("compatibility-only column with no removal plan")

    valid = (Example({"migrations/V1__init.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, status text, old_price_note text);\n"
                                                 "ALTER TABLE orders DROP COLUMN old_price_note;\n"}),
             # polar, indico: where a row came from in the billing system or the site it was migrated from
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE subscriptions (id bigint PRIMARY KEY, legacy_stripe_subscription_id text);\n"
                 "CREATE TABLE legacy_category_id_map (legacy_category_id text PRIMARY KEY, category_id bigint);\n")}),
             # tracecat: whether, since when and why a registry action is deprecated
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE actions (id bigint PRIMARY KEY, deprecated text, is_deprecated boolean,\n"
                 "  deprecated_at timestamptz);\n")}),
             # heat: whether the stack is a backup stack
             Example({"migrations/V1__init.sql": "CREATE TABLE stack (id bigint PRIMARY KEY, backup boolean);\n"}),
             # warehouse: the current column, whose comment explains what older rows lack
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE macaroons (id bigint PRIMARY KEY, caveats jsonb);\n"
                 "COMMENT ON COLUMN macaroons.caveats IS 'The caveats attached when it was generated. Older macaroons may "
                 "lack them, as only the legacy permissions caveats were stored.';\n")}))
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  legacy_status varchar(20)  -- expect\n);\n")}),
               Example({"migrations/V1__init.sql": (
                   "CREATE TABLE orders (id bigint PRIMARY KEY, note text);  -- expect\n"
                   "COMMENT ON COLUMN orders.note IS 'Deprecated: kept for the old mobile app. Use notes.';\n")}),
               # polar: customers.legacy_user_id still links each customer to the user it was
               Example({"migrations/V1__init.sql": (
                   "CREATE TABLE users (id bigint PRIMARY KEY);\n"
                   "CREATE TABLE customers (\n  id bigint PRIMARY KEY,\n"
                   "  legacy_user_id bigint REFERENCES users (id)  -- expect\n);\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_table(self.code, self._check_table)

    def _check_table(self, context: TableView, table: Table) -> Iterator[Finding]:
        if table.partition_of:
            return
        for column in table.columns:
            if not (_LEGACY_NAME.search(column.name) or (column.comment and _LEGACY_COMMENT.search(_first_sentence(column.comment)))) \
                    or _STATE_OF_THE_ROW.match(column.name) or column.type == "boolean":
                continue
            if _provenance_id(table, column.name):
                continue
            location, related = context.where_column(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s is kept for compatibility", table=table.name, column=column.name),
                _("%(table)s.%(column)s is marked legacy/deprecated and no migration removes it.", table=table.name, column=column.name),
                impact=_("Worst case: old and new columns disagree and a client reads the stale one for money or "
                       "state decisions. Most likely: the column lives forever and keeps being written."),
                root_cause=_("A rename or redesign stopped after the expand step; the contract step was never planned."),
                fix=Fix(short_term=_("Log or count reads and writes of %(column)s; name an owner and a removal date.", column=column.name),
                        medium_term=_("Backfill the replacement, remove the last readers, then ALTER TABLE %(table)s "
                                    "DROP COLUMN %(column)s in a contract migration.", table=table.name, column=column.name),
                        long_term=_("Standard: every compatibility shim has an owner, a metric and a removal migration.")),
                verification=_("SELECT count(*) FROM %(table)s WHERE %(column)s IS NOT NULL;  -- and no traffic in pg_stat_statements", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)


def _provenance_id(table, column: str) -> bool:
    """An identifier of the record in a retired or outside system (`legacy_stripe_subscription_id`,
    indico's `legacy_category_id`): kept on purpose to trace where a row came from, not a column
    the code reads instead of a newer one. A legacy column that references a table of the schema
    (`legacy_user_id` -> users) is a compatibility link the code still follows."""
    referencing = {name for key in table.foreign_keys for name in key.columns}
    return (column == "legacy_id" or column.endswith("_id")) and column not in referencing


def _first_sentence(comment: str) -> str:
    end = _SENTENCE_END.search(comment)
    return comment[:end.start()] if end else comment
