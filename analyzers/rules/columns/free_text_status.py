from __future__ import annotations

import re
from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_pattern import LazyPattern

_STATUS_NAME = LazyPattern(r"(^|_)(status|state|type|kind|stage|phase)$")
_TEXT_TYPES = ("character varying", "text", "character")


class FreeTextStatus(Rule):
    """## What it finds
    Status-like columns (`status`, `state`, `*_type`, `kind`, `stage`, `phase`) stored as
    free `varchar`/`text` with no CHECK constraint naming the allowed values and no enum type.

    Off by default: a CHECK or an enum type guards status values written outside the application;
    on the real projects we read every such column was written only through the application's
    own enum classes, or was a registry that plugins extend at run time, or a polymorphic
    discriminator (0 of 4 worth a reviewer's time). Select it by code (`select = ["ALL",
    "SL203"]`) where other services or SQL scripts write these columns.

    ## Why it matters
    Any string is accepted: `"canceled"` and `"cancelled"`, `"Paid"` and `"paid"`. Code that
    branches on the value silently skips rows with a variant spelling, and state-machine
    transitions cannot be enforced.

    ## Example
    ```python
    status = db.Column(db.String(20), default="pending")
    ```

    ## Use instead
    ```python
    status = db.Column(db.String(20), nullable=False, server_default="pending")
    __table_args__ = (db.CheckConstraint("status IN ('pending', 'paid', 'shipped', 'cancelled')",
                                         name="ck_orders_status"),)
    ```
    (a CHECK is easier to extend online than a PostgreSQL enum), or a lookup table with an FK.

    ## How to verify
    `SELECT status, count(*) FROM orders GROUP BY 1;` shows only the allowed values; inserting
    an unknown value fails.
    """

    code = "SL203"
    default_enabled = False
    grouped_by = "workspace"
    name = "free-text-status"
    dimension = 2
    severity = "P2"
    summary = _("status column as free text without enum or check")

    valid = (Example({"migrations/V1__orders.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, status varchar(20) NOT NULL,"
        " CONSTRAINT ck_orders_status CHECK (status IN ('pending', 'paid')));\n")}),)
    invalid = (Example({"migrations/V1__orders.sql": (
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  status varchar(20) NOT NULL  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            for column in table.columns:
                if not _STATUS_NAME.search(column.name) or not column.type.startswith(_TEXT_TYPES) \
                        or context.writes_are_transformed(table, column):
                    continue  # an enum type of the application (a TypeDecorator) checks the value on every write
                if any(re.search(rf"\b{re.escape(column.name)}\b", check.expression) for check in table.check_constraints):
                    continue
                if table.foreign_keys and any(column.name in fk.columns for fk in table.foreign_keys):
                    continue
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, _("%(table)s.%(column)s accepts any text", table=table.name, column=column.name),
                    _("%(table)s.%(column)s is %(type)s with no CHECK, enum or lookup table limiting its values.", table=table.name, column=column.name, type=column.type),
                    impact=_("Worst case: a misspelled or unknown state makes rows invisible to the code that processes "
                           "them (orders never shipped, refunds never paid). Most likely: variants like 'cancelled' and "
                           "'canceled' split reports."),
                    root_cause=_("The set of states lives only in application code."),
                    fix=Fix(short_term=_("Query the distinct values and fix the stray ones: SELECT %(column)s, count(*) FROM %(table)s GROUP BY 1;", column=column.name, table=table.name),
                            medium_term=_("Add CHECK (%(column)s IN (...)) NOT VALID, then VALIDATE CONSTRAINT in a later migration.", column=column.name),
                            long_term=_("Standard: states are constrained in the database (CHECK or lookup table) and "
                                      "transitions are tested.")),
                    verification=_("INSERT INTO %(table)s (%(column)s) VALUES ('no-such-state');  -- expect a check violation", table=table.name, column=column.name),
                    table=table.name, column=column.name, related=related)
