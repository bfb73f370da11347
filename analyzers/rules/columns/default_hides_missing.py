from __future__ import annotations

import re
from typing import Iterator

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import TableView
from ...i18n import _
from ...lazy_pattern import LazyPattern

# Server defaults that stand in for "unknown": empty string, zero.
_PLACEHOLDER = LazyPattern(r"^\(?\s*('')?\s*(::[a-z ]+(\([0-9, ]+\))?)?\s*\)?$|^\(?\s*'?0(\.0+)?'?\s*(::[a-z ]+(\([0-9, ]+\))?)?\s*\)?$")
# Counters, tallies, positions and coordinates start at 0 (`completion_tokens`, `transient_bounces`,
# `num_times_observed`, `last_case_number`, `revision_padding`, `viewport_y`: letta, warehouse, onyx, tracecat, zou),
# and so do a histogram's buckets and aggregates, limits (`bucket_le_50ms`, `max_value`: privacyidea; `max_retries`).
_COUNTER_NAME = LazyPattern(r"(count|total|num|number|quantity|qty|stock|balance|score|points|attempts|retries|version|"
                           r"position|sort|order|rank|priority|level|amount|tokens?|bounces?|hits|views|clicks|"
                           r"downloads|votes|likes|failures|errors|runs|padding|offset|depth|bucket)s?$|^(is|has)_"
                           r"|^(num|n|nb|count|total|bucket|sum|min|max)_|(^|_)[xyz]$|zoom$")


# An integer state, status or kind is a code, and 0 one of its values (quay's repository.state:
# RepositoryState.NORMAL = 0), not a missing one.
_CODED_STATE = LazyPattern(r"(^|_)(state|status|kind|type|mode|role|category|visibility|tier|stage|phase)$")
_INTEGERS = ("smallint", "integer", "bigint")


def _keys(table: Table) -> list[tuple[str, ...]]:
    """The column lists of the table's primary key and unique constraints and indexes: a column in
    one is kept NOT NULL with '' on purpose, as NULLs would never collide (privacyidea's
    metric_aggregate: `node` in the unique key its upsert matches on)."""
    keys = [unique.columns for unique in table.unique_constraints]
    keys += [index.columns for index in table.indexes if index.unique]
    return keys + ([table.primary_key.columns] if table.primary_key else [])


def _snake_case(name: str) -> str:
    """`documentCount` as `document_count` (Prisma's columns), to be read by the patterns above."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class DefaultHidesMissing(Rule):
    """## What it finds
    NOT NULL text or number columns whose default is `''` or `0`, where the name is not a
    counter, quantity, coordinate or aggregate (counters legitimately start at 0, and a canvas at its
    origin) nor an integer state, status or kind (a code, whose 0 is one of its values), and the code does not add to the column as a running total
    (`.values(llm_cost=Block.llm_cost + amount)`: a total starts at 0) or raise it by one. A
    column of the primary key or of a unique key is left alone: there '' is kept on purpose,
    since NULLs never collide.

    ## Why it matters
    The default satisfies NOT NULL without a real value: a missing phone number becomes `''`,
    a missing weight becomes `0`. Code cannot tell "not provided" from a real value, validation
    bugs go unnoticed, and reports average in zeros.

    ## Example
    ```python
    phone = db.Column(db.String(20), nullable=False, server_default="")
    ```

    ## Use instead
    ```python
    phone = db.Column(db.String(20), nullable=True)  # NULL means "not provided"
    ```
    or keep NOT NULL with no default so that a write without a value fails loudly.

    ## How to verify
    `SELECT count(*) FROM users WHERE phone = '';` shows how many rows hide a missing value;
    after the change, a write without the value either stores NULL or fails.
    """

    code = "SL205"
    name = "default-hides-missing"
    dimension = 2
    severity = "P2"
    summary = _("NOT NULL column whose '' or 0 default hides missing values")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, phone varchar(20), login_count integer NOT NULL DEFAULT 0);\n")}),
             # letta, warehouse, onyx: tallies that start at zero
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE steps (id bigint PRIMARY KEY, completion_tokens integer NOT NULL DEFAULT 0,\n"
                 "  transient_bounces integer NOT NULL DEFAULT 0, num_times_observed integer NOT NULL DEFAULT 0);\n")}),
             # skyvern: a cost the code only ever adds to, a running total from zero
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE run_blocks (id bigint PRIMARY KEY, llm_cost numeric NOT NULL DEFAULT 0);\n"),
                      "app/blocks.py": ("def charge(session, block_id, amount):\n"
                                        "    session.execute(update(RunBlock).where(RunBlock.id == block_id)\n"
                                        "                    .values(llm_cost=RunBlock.llm_cost + amount))\n")}),
             # privacyidea: a histogram's buckets and aggregates
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE metric_aggregate (id bigint PRIMARY KEY, bucket_le_50ms bigint NOT NULL DEFAULT 0,\n"
                 "  max_value double precision NOT NULL DEFAULT 0);\n")}),
             # privacyidea: the same, the UPDATE's values written as a dict
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE metric_aggregate (id bigint PRIMARY KEY, sum_value double precision NOT NULL DEFAULT 0);\n"),
                      "app/metrics.py": ("def add(session, row_id, value):\n"
                                         "    increments = {'sum_value': MetricAggregate.sum_value + value}\n"
                                         "    session.execute(update(MetricAggregate).where(MetricAggregate.id == row_id)\n"
                                         "                    .values(**increments))\n")}),
             # privacyidea: '' in a column of the unique key an upsert matches on, where NULL would never match
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE metric (id bigint PRIMARY KEY, name text NOT NULL, node varchar(255) NOT NULL DEFAULT '',\n"
                 "  CONSTRAINT metric_uix UNIQUE (name, node));\n")}),
             # documenso (Prisma): the same words in camelCase
             Example({"migrations/V1__init.sql": (
                 'CREATE TABLE "Stats" (id bigint PRIMARY KEY, "documentCount" integer NOT NULL DEFAULT 0,\n'
                 '  "positionX" double precision NOT NULL DEFAULT 0);\n')}),
             # tracecat: a canvas's coordinates, whose origin is a real place
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE workflow (id bigint PRIMARY KEY, viewport_x double precision NOT NULL DEFAULT 0.0,\n"
                 "  viewport_y double precision NOT NULL DEFAULT 0.0);\n")}),
             # dstack: a count of retries the code raises by one, the new value stored through a dict of updates
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE fleets (id bigint PRIMARY KEY, consolidation_attempt integer NOT NULL DEFAULT 0);\n"),
                      "app/fleets.py": ("def retry(fleet, updates):\n"
                                        "    new_attempt = fleet.consolidation_attempt + 1\n"
                                        "    updates['consolidation_attempt'] = new_attempt\n")}),
             # quay: a repository's state code, RepositoryState.NORMAL = 0
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE repository (id bigint PRIMARY KEY, state integer NOT NULL DEFAULT 0);\n")}),
             # onyx: a count of finished batches raised by one from what may still be NULL
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE index_attempt (id bigint PRIMARY KEY, completed_batches integer NOT NULL DEFAULT 0);\n"),
                      "app/indexing.py": ("def finish_batch(attempt):\n"
                                          "    attempt.completed_batches = (attempt.completed_batches or 0) + 1\n")}))
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  phone varchar(20) NOT NULL DEFAULT ''  -- expect\n);\n")}),
               # a status written as text: '' is no status
               Example({"migrations/V1__init.sql": (
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  status varchar(20) NOT NULL DEFAULT ''  -- expect\n);\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_table(self.code, self._check_table)

    def _check_table(self, context: TableView, table: Table) -> Iterator[Finding]:
        if table.partition_of:
            return
        keyed = {name for key in _keys(table) for name in key}
        for column in table.columns:
            default = (column.server_default or "").strip()
            if column.nullable or not default or not _PLACEHOLDER.match(default.lower()):
                continue
            words = _snake_case(column.name)
            if column.name in keyed or _COUNTER_NAME.search(words) or column.type == "boolean" \
                    or context.code_accumulates(column.name) \
                    or column.type in _INTEGERS and _CODED_STATE.search(words):
                continue
            location, related = context.where_column(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s defaults to %(default)s", table=table.name, column=column.name, default=default),
                _("%(table)s.%(column)s is NOT NULL with DEFAULT %(default)s: a missing value is stored as a real-looking one.", table=table.name, column=column.name, default=default),
                impact=_("Worst case: rows without the value pass every check and are shipped, billed or contacted with "
                       "an empty or zero value. Most likely: reports and averages include placeholder values."),
                root_cause=_("NOT NULL was satisfied with a placeholder instead of a decision about missing values."),
                fix=Fix(short_term=_("SELECT count(*) FROM %(table)s WHERE %(column)s = %(default)s;  -- measure it", table=table.name, column=column.name, default=default),
                        medium_term=_("Either allow NULL (DROP NOT NULL, set the placeholders to NULL in batches) or DROP DEFAULT "
                                    "so writes must provide the value."),
                        long_term=_("Standard: NULL means unknown; defaults are real business defaults only.")),
                verification=_("INSERT INTO %(table)s DEFAULT VALUES;  -- expect a NOT NULL violation or a NULL %(column)s", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)
