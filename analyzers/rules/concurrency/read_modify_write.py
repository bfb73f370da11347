from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _

_NUMERIC = ("integer", "bigint", "smallint", "numeric", "double precision", "real")


class ReadModifyWrite(Rule):
    """## What it finds
    Counters and balances updated in Python (`product.stock -= quantity`,
    `account.balance = account.balance + amount`) on an attribute that is a numeric column,
    instead of in one SQL statement. A tally of events raised by a constant (`file.downloads
    += 1`) is left out unless the function compares the attribute before raising it (`if
    coupon.used < coupon.limit: coupon.used += 1`): a lost increment undercounts a statistic
    by one, while a limit checked on a stale value lets concurrent requests past it. Nor an
    object the function says is an instance of a class no table maps (`usage = Usage()`, a
    parameter `usage: Usage`): letta sums token counts on pydantic objects that hold no row.
    Nor an object read under a row lock: in a function that locks what it reads
    (`with_for_update()`, `FOR UPDATE`), or returned by a function of the module that does, or
    that upserts it `ON CONFLICT DO UPDATE ... RETURNING` (which locks the row until the commit).

    ## Why it matters
    Two requests load the same row, both compute from the old value and both write: one update
    is lost. Stock oversells, balances drift, counters undercount, and nothing fails loudly.

    ## Example
    ```python
    product = Product.query.get(product_id)
    product.stock -= quantity
    db.session.commit()
    ```

    ## Use instead
    ```python
    db.session.execute(update(Product).where(Product.id == product_id, Product.stock >= quantity)
                       .values(stock=Product.stock - quantity))
    ```
    (check the row count), or `SELECT ... FOR UPDATE` (`with_for_update()`) around the
    read, or a version column for optimistic locking.

    ## How to verify
    A test runs two decrements concurrently against PostgreSQL and checks the final value;
    a CHECK (stock >= 0) turns an oversell into an error.
    """

    code = "SL602"
    name = "read-modify-write"
    dimension = 6
    severity = "P1"
    summary = _("counter or balance updated by read-modify-write in Python")

    valid = (Example({
        "migrations/V1__products.sql": "CREATE TABLE products (id bigint PRIMARY KEY, stock integer NOT NULL);\n",
        "app/services/stock.py": ("from sqlalchemy import update\n\ndef take(session, Product, pid, n):\n"
                                  "    session.execute(update(Product).where(Product.id == pid).values(stock=Product.stock - n))\n")}),
        # polar: `amount` is a column of several tables; the object is one of them, which cannot be told
        Example({
            "migrations/V1__ledger.sql": ("CREATE TABLE credits (id bigint PRIMARY KEY, amount integer NOT NULL);\n"
                                          "CREATE TABLE meters (id bigint PRIMARY KEY, amount integer NOT NULL);\n"),
            "app/services/meters.py": "def add(line, n):\n    line.amount += n\n"}),
        # dispatch, polar: message and download tallies; a lost increment only undercounts
        Example({
            "migrations/V1__files.sql": "CREATE TABLE files (id bigint PRIMARY KEY, downloads integer NOT NULL);\n",
            "app/services/files.py": ("def download(session, File, file_id):\n    file = session.get(File, file_id)\n"
                                      "    file.downloads += 1\n    if file.downloads >= 3:\n        notify(file)\n")}),
        # letta: token counts summed on pydantic objects; `steps.completion_tokens` is a column
        Example({
            "migrations/V1__steps.sql": "CREATE TABLE steps (id bigint PRIMARY KEY, completion_tokens integer);\n",
            "app/agents.py": ("def total(responses, usage: UsageStatistics):\n    for response in responses:\n"
                              "        usage.completion_tokens += response.completion_tokens\n"
                              "    run_usage = UsageStatistics()\n"
                              "    run_usage.completion_tokens = run_usage.completion_tokens + usage.completion_tokens\n"
                              "    return run_usage\n")}),
        # onyx: the row upserted ON CONFLICT DO UPDATE ... RETURNING, locked until the commit;
        # and an object read FOR UPDATE in the same function
        Example({
            "migrations/V1__usage.sql": ("CREATE TABLE tenant_usage (window_start date PRIMARY KEY, llm_cost numeric NOT NULL);\n"
                                         "CREATE TABLE wallets (id bigint PRIMARY KEY, balance numeric NOT NULL);\n"),
            "app/usage.py": ("def get_or_create_usage(session, window):\n"
                             "    stmt = (pg_insert(TenantUsage).values(window_start=window, llm_cost=0)\n"
                             "            .on_conflict_do_update(index_elements=['window_start'],\n"
                             "                                   set_={'llm_cost': TenantUsage.llm_cost}).returning(TenantUsage))\n"
                             "    return session.execute(stmt).scalar_one()\n\n"
                             "def increment(session, window, amount):\n    usage = get_or_create_usage(session, window)\n"
                             "    usage.llm_cost += amount\n\n"
                             "def pay(session, wallet_id, amount):\n"
                             "    wallet = session.query(Wallet).filter_by(id=wallet_id).with_for_update().one()\n"
                             "    wallet.balance -= amount\n")}),
    )
    invalid = (Example({
        "migrations/V1__products.sql": "CREATE TABLE products (id bigint PRIMARY KEY, stock integer NOT NULL);\n",
        "app/services/stock.py": ("def take(session, Product, pid, n):\n    product = session.get(Product, pid)\n"
                                  "    product.stock -= n  # expect\n    session.commit()\n")}),
        Example({
            "migrations/V1__coupons.sql": "CREATE TABLE coupons (id bigint PRIMARY KEY, used integer NOT NULL, max_uses integer);\n",
            "app/services/coupons.py": ("def redeem(session, Coupon, cid):\n    coupon = session.get(Coupon, cid)\n"
                                        "    if coupon.used < coupon.max_uses:\n        coupon.used += 1  # expect\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for facts in context.code_facts():
            for found in facts.read_modify_writes:
                if found.counts_events or found.locked or found.receiver_class is not None \
                        and context.orm_table_of_class(found.receiver_class) is None:
                    continue
                tables = [t for t in context.tables_with_columns((found.attribute,))
                          if t.column(found.attribute).type.startswith(_NUMERIC)]
                if len(tables) != 1 or context.run_by_operators(found.location):
                    continue  # the column of several tables: which one the object maps cannot be told
                table = tables[0]
                location, _related = context.where_column(table, table.column(found.attribute))
                yield self.finding(
                    found.location, _("%(table)s.%(attribute)s is updated by read-modify-write", table=table.name, attribute=found.attribute),
                    _("%(attribute)s is computed in Python from a loaded value and written back; concurrent updates "
                    "overwrite each other.", attribute=found.attribute),
                    impact=_("Worst case: lost updates make %(table)s.%(attribute)s wrong (oversold stock, wrong "
                           "balance) with no error. Most likely: under concurrent requests a few updates silently vanish.", table=table.name, attribute=found.attribute),
                    root_cause=_("The arithmetic happens in the application between a read and a write that are not atomic."),
                    fix=Fix(short_term=_("Lock the row while updating: query(...).with_for_update() before changing %(attribute)s.", attribute=found.attribute),
                            medium_term=_("Make it one statement: UPDATE %(table)s SET %(attribute)s = %(attribute)s - :n "
                                        "WHERE id = :id AND %(attribute)s >= :n, and check the row count.", table=table.name, attribute=found.attribute),
                            long_term=_("Standard: counters and balances change only through atomic SQL or a ledger table.")),
                    verification=_("A test with two concurrent sessions decrementing the same row ends with the correct value."),
                    table=table.name, column=found.attribute, related=(Related(location, _("column %(table)s.%(attribute)s", table=table.name, attribute=found.attribute)),))
