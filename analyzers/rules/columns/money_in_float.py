from __future__ import annotations

from typing import Iterator

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import TableView
from ...i18n import _
from ...lazy_pattern import LazyPattern

_MONEY_NAME = LazyPattern(r"(^|_)(amount|price|balance|cost|fee|total|money|salary|subtotal|tax|discount|refund|payment)(_|s?$)")
# A last word that counts or measures something else: phoenix's `total_tokens`, a `fee_percent`.
_NOT_MONEY = LazyPattern(r"_(tokens?|counts?|items|bytes|size|gb|mb|kb|seconds|secs|ms|millis|duration|hours|minutes|days|requests|calls|"
                         r"rows|percent|pct|ratio|rate|score|points|weight)$")
_FLOAT_TYPES = ("double precision", "real")


class MoneyInFloat(Rule):
    """## What it finds
    Columns whose names say money (amount, price, balance, cost, fee, total, ...) stored as
    `double precision` or `real` (SQLAlchemy `Float`); not one whose last word counts or measures
    something else (`total_tokens`, `fee_percent`).

    ## Why it matters
    Binary floating point cannot represent most decimal fractions: `0.1 + 0.2` is
    `0.30000000000000004`. Sums drift, equality checks fail, and reconciliations against a
    ledger or a payment provider are off by cents.

    ## Example
    ```python
    total = db.Column(db.Float, nullable=False)
    ```

    ## Use instead
    ```python
    total = db.Column(db.Numeric(12, 2), nullable=False)
    ```
    or integer minor units (`total_cents BIGINT`).

    ## How to verify
    `SELECT column_name, data_type FROM information_schema.columns WHERE data_type IN ('double precision', 'real');`
    lists no money column; a test sums 0.1 ten times and expects exactly 1.00.
    """

    code = "SL202"
    name = "money-in-float"
    dimension = 2
    severity = "P1"
    summary = _("money stored in a floating-point column")

    valid = (Example({"migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL, weight real);\n"}),
             # phoenix: a count of tokens, beside the cost in money
             Example({"migrations/V1__costs.sql": ("CREATE TABLE span_costs (id bigint PRIMARY KEY, total_cost numeric(12,6),\n"
                                                   "  total_tokens double precision, cost_per_token_ratio real, ram_total_size real);\n")}))
    invalid = (
        Example({"migrations/V1__orders.sql": "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  total double precision NOT NULL  -- expect\n);\n"}),
        Example({"app/models.py": (
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
            "class Payment(Base):\n    __tablename__ = 'payments'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
            "    refund_amount = sa.Column(sa.Float)  # expect\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_table(self.code, self._check_table)

    def _check_table(self, context: TableView, table: Table) -> Iterator[Finding]:
        if table.partition_of:
            return
        for column in table.columns:
            if column.type.removesuffix("[]") not in _FLOAT_TYPES or not _MONEY_NAME.search(column.name) \
                    or _NOT_MONEY.search(column.name):
                continue
            location, related = context.where_column(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s holds money in %(type)s", table=table.name, column=column.name, type=column.type),
                _("%(table)s.%(column)s is %(type)s; money needs exact decimal arithmetic.", table=table.name, column=column.name, type=column.type),
                impact=_("Worst case: balances and refunds drift by fractions of a cent that add up across "
                       "millions of rows and fail reconciliation. Most likely: a total computed in SQL differs "
                       "from the one computed in Python and an equality check rejects a valid payment."),
                root_cause=_("`Float` was chosen as the default numeric type."),
                fix=Fix(short_term=_("Round on every write and compare with a tolerance until `%(column)s` is migrated.", column=column.name),
                        medium_term=_("Add `%(column)s_new numeric(12,2)`, backfill with `round(%(column)s::numeric, 2)`, "
                                    "switch reads and writes, then drop the float column (expand, backfill, contract).", column=column.name),
                        long_term=_("Standard: money is numeric(p, s) or integer minor units, never float.")),
                verification=_("SELECT data_type FROM information_schema.columns WHERE table_name = '%(table)s' "
                             "AND column_name = '%(column)s';  -- expect 'numeric'", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)
