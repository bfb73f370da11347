from __future__ import annotations

import re
from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_pattern import LazyPattern

_QUANTITY_NAME = LazyPattern(r"(^|_)(quantity|qty|amount|price|stock|inventory|balance|total|cost|fee|weight|duration|age)s?$")
_NUMERIC = ("integer", "bigint", "smallint", "numeric", "double precision", "real")


def constrained(table, column: str) -> bool:
    return any(re.search(rf"\b{re.escape(column)}\b", check.expression) for check in table.check_constraints)


class MissingRangeCheck(Rule):
    """## What it finds
    Quantities that cannot be negative (quantity, stock, price, amount, balance, cost, ...)
    in numeric columns with no CHECK constraint on them, which the code decrements, negates or
    subtracts (`product.stock -= n`, `Award(value=-hint.cost)`, `total - order.discount`): there
    a negative value oversells, or turns a charge into a credit. Left out: quantities the code
    only stores and shows (a negative one is a wrong figure in a report; on the judged corpus
    such findings were worth no reviewer's time), a decrement clamped at zero
    (`x.credit -= min(n, x.credit)`), names the code writes negated values into (`amount=-fee`:
    ledger amounts and balances are signed by design) or compares with a negative constant
    (`if product.quantity == -1:`, a sentinel a CHECK would forbid) or tests for a value below
    zero (`if ref.quantity <= 0: delete(ref)`: the code decides what a negative value means),
    counts of other rows (`post_count`, `event_count`: a cache of `COUNT(*)`, a negative one a
    wrong figure the rows correct), and names an input schema bounds at zero or more
    (pydantic `Field(ge=0)`, `PositiveInt`, marshmallow `Range(min=0)`), whose values are
    validated where they come in.

    Off by default: whether a negative value can arrive depends on where the values come from,
    which the schema does not say. On the judged corpus 1 of 2 findings was worth a reviewer's
    time, and none of 3 more on the projects we read beyond it (fees mirrored from a payment
    provider, ledger amounts negated by convention). Select it by code
    (`select = ["ALL", "SL305"]`) where users or your own code change stock, prices or balances.

    ## Why it matters
    A race between two decrements, a refund applied twice or a sign error in an import writes
    a negative stock or price, and the database accepts it. Negative values then flow into
    totals, invoices and reorder logic.

    ## Example
    ```python
    stock = db.Column(db.Integer, nullable=False, default=0)
    ...
    product.stock -= line.quantity
    ```

    ## Use instead
    ```python
    stock = db.Column(db.Integer, nullable=False, server_default="0")
    __table_args__ = (db.CheckConstraint("stock >= 0", name="ck_products_stock_non_negative"),)
    ```

    ## How to verify
    `SELECT count(*) FROM products WHERE stock < 0;` is 0 before adding the constraint
    (NOT VALID, then VALIDATE); `UPDATE products SET stock = -1` fails after.
    """

    code = "SL305"
    default_enabled = False
    grouped_by = "workspace"
    name = "missing-non-negative-check"
    dimension = 3
    severity = "P2"
    summary = _("non-negative quantity without a CHECK constraint")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE products (id bigint PRIMARY KEY, stock integer NOT NULL CHECK (stock >= 0));\n")}),
        # polar: ledger amounts written negative on refunds; a trial length validated by the API schema
        Example({"migrations/V1__init.sql": ("CREATE TABLE transactions (id bigint PRIMARY KEY, amount integer NOT NULL);\n"
                                             "CREATE TABLE products (id bigint PRIMARY KEY, trial_interval_count integer);\n"),
                 "app/services/ledger.py": ("def refund(session, Transaction, paid):\n"
                                            "    session.add(Transaction(amount=-paid.amount))\n"),
                 "app/schemas.py": ("from pydantic import BaseModel, Field\n\nclass ProductCreate(BaseModel):\n"
                                    "    trial_interval_count: int | None = Field(default=None, ge=1, le=1000)\n")}),
        # dispatch: costs the code computes, stores and reports, never subtracts; polar: a clamped decrement
        Example({"migrations/V1__init.sql": ("CREATE TABLE case_cost (id bigint PRIMARY KEY, amount numeric(10,2));\n"
                                             "CREATE TABLE accounts (id bigint PRIMARY KEY, credit_balance bigint NOT NULL);\n"),
                 "app/services/costs.py": ("def update(case_cost, hours, rate):\n"
                                           "    case_cost.amount = hours * rate\n\n\n"
                                           "def spend(account, amount):\n"
                                           "    account.credit_balance -= min(amount, account.credit_balance)\n")}),
        # bitcart: -1 means an unlimited quantity, which a CHECK (quantity >= 0) would forbid
        Example({"migrations/V1__init.sql": "CREATE TABLE products (id bigint PRIMARY KEY, quantity integer NOT NULL);\n",
                 "app/services/products.py": ("def take(product, n):\n    if product.quantity == -1:\n        return\n"
                                              "    product.quantity -= n\n")}),
        # mealie: a decremented quantity whose row is deleted once it reaches zero or below;
        # flaskbb: a post count decremented when a topic moves
        Example({"migrations/V1__init.sql": ("CREATE TABLE recipe_refs (id bigint PRIMARY KEY, recipe_quantity double precision);\n"
                                             "CREATE TABLE forums (id bigint PRIMARY KEY, post_count integer NOT NULL);\n"),
                 "app/services/lists.py": ("def remove(repo, ref, forum, n):\n    ref.recipe_quantity -= n\n"
                                           "    if ref.recipe_quantity <= 0.0:\n        repo.delete(ref.id)\n"
                                           "    forum.post_count -= n\n")}),
    )
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE products (\n  id bigint PRIMARY KEY,\n  stock integer NOT NULL  -- expect\n);\n"),
        "app/services/orders.py": "def sell(product, quantity):\n    product.stock -= quantity\n"}),
        # CTFd: a cost no schema validates; unlocking writes an award of `-cost`, a sentinel stays a sentinel
        Example({"migrations/V1__init.sql": "CREATE TABLE hints (\n  id bigint PRIMARY KEY,\n  cost integer  -- expect\n);\n",
                 "app/unlocks.py": "def unlock(hint, Award):\n    return Award(value=-hint.cost, cost=-1)\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            for column in table.columns:
                if not _QUANTITY_NAME.search(column.name) or not column.type.startswith(_NUMERIC):
                    continue
                if not context.sign_matters(column.name) or constrained(table, column.name) \
                        or context.written_negative(column.name) or context.validated_non_negative(column.name):
                    continue  # only stored and shown, checked, signed by design, or validated where it comes in
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, _("%(table)s.%(column)s accepts negative values", table=table.name, column=column.name),
                    _("%(table)s.%(column)s (%(type)s) has no CHECK (%(column)s >= 0).", table=table.name, column=column.name, type=column.type),
                    impact=_("Worst case: a lost-update race or a double refund stores a negative stock or amount that "
                           "is sold, invoiced or paid out. Most likely: an import with a sign error goes unnoticed until reconciliation."),
                    root_cause=_("The range is enforced only in application code, if at all."),
                    fix=Fix(short_term=_("SELECT count(*) FROM %(table)s WHERE %(column)s < 0;  -- fix what it finds", table=table.name, column=column.name),
                            medium_term=_("ALTER TABLE %(table)s ADD CONSTRAINT ck_%(table)s_%(column)s_non_negative "
                                        "CHECK (%(column)s >= 0) NOT VALID; then VALIDATE CONSTRAINT in the next migration.", table=table.name, column=column.name),
                            long_term=_("Standard: every bounded quantity has its bounds as CHECK constraints.")),
                    verification=_("UPDATE %(table)s SET %(column)s = -1 WHERE false;  -- and a test that a negative "
                                 "write raises IntegrityError", table=table.name, column=column.name),
                    table=table.name, column=column.name, related=related)
