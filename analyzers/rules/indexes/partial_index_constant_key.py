from __future__ import annotations

from typing import Iterator, Optional

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_module import LazyModule

# Imported when a statement is first read (lazy_module.py)
pglast = LazyModule("pglast", globals(), "pglast")
ast = LazyModule("pglast.ast", globals(), "ast")
enums = LazyModule("pglast.enums", globals(), "enums")


def fixed_columns(predicate: str) -> dict[str, str]:
    """Column -> what an index predicate fixes it to ("NULL", or a constant as written), for the
    conditions every row of the index meets (`col IS NULL`, `col = 'x'`, `col`, `NOT col`,
    `col IS TRUE`, `col IN (1)`, joined by AND). {} when the predicate does not parse."""
    try:
        statement = pglast.parse_sql(f"SELECT 1 WHERE {predicate}")[0].stmt
    except Exception:  # a predicate of another engine, or one the models spell in Python
        return {}
    fixed: dict[str, str] = {}
    for condition in _conjuncts(statement.whereClause):
        column, value = _fixed(condition)
        if column is not None:
            fixed[column] = value
    return fixed


def _conjuncts(node) -> list:
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        return [part for arg in node.args for part in _conjuncts(arg)]
    return [node]


def _column(node) -> Optional[str]:
    if isinstance(node, ast.ColumnRef) and node.fields and isinstance(node.fields[-1], ast.String):
        return node.fields[-1].sval
    return None


def _constant(node) -> Optional[str]:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const):
        value = node.val
        if node.isnull:
            return None
        text = getattr(value, "sval", None)
        if text is not None:
            return f"'{text}'"
        for attribute in ("ival", "fval", "boolval"):
            if getattr(value, attribute, None) is not None:
                return str(getattr(value, attribute)).lower()
    return None


def _fixed(condition) -> tuple[Optional[str], str]:
    if isinstance(condition, ast.NullTest) and condition.nulltesttype == enums.NullTestType.IS_NULL:
        return _column(condition.arg), "NULL"
    if isinstance(condition, ast.BooleanTest):
        value = {enums.BoolTestType.IS_TRUE: "true", enums.BoolTestType.IS_FALSE: "false"}.get(condition.booltesttype)
        return (_column(condition.arg), value) if value else (None, "")
    if _column(condition) is not None:
        return _column(condition), "true"
    if isinstance(condition, ast.BoolExpr) and condition.boolop == enums.BoolExprType.NOT_EXPR and len(condition.args) == 1:
        return _column(condition.args[0]), "false"
    if isinstance(condition, ast.A_Expr) and condition.name and getattr(condition.name[-1], "sval", None) == "=":
        if condition.kind == enums.A_Expr_Kind.AEXPR_OP:
            for column, value in ((condition.lexpr, condition.rexpr), (condition.rexpr, condition.lexpr)):
                if _column(column) is not None and _constant(value) is not None:
                    return _column(column), _constant(value)
        if condition.kind == enums.A_Expr_Kind.AEXPR_IN and isinstance(condition.rexpr, tuple) and len(condition.rexpr) == 1:
            constant = _constant(condition.rexpr[0])
            if _column(condition.lexpr) is not None and constant is not None:
                return _column(condition.lexpr), constant
    return None, ""


class PartialIndexConstantKey(Rule):
    """## What it finds
    A partial index whose `WHERE` fixes every column of its key: `ON orders (cancelled_at)
    WHERE cancelled_at IS NULL` (every key is NULL), `ON jobs (status) WHERE status = 'queued'`
    (every key is 'queued'). A unique partial index whose key is a constant is left alone: it
    allows at most one such row, on purpose (`ON accounts (is_default) WHERE is_default`).

    ## Why it matters
    Every entry of the index has the same key, so the index cannot narrow a lookup, serve a
    range or an ORDER BY: it is a list of the rows that match the predicate, in no useful
    order, and it is still written on every insert and update of those rows. A unique one whose
    key is always NULL enforces nothing (NULLs are distinct). The same predicate on an index
    keyed by the column the queries filter or sort by would serve them.

    ## Example
    ```sql
    CREATE INDEX orders_open_idx ON orders (cancelled_at) WHERE cancelled_at IS NULL;
    ```

    ## Use instead
    ```sql
    -- the open orders of a customer, newest first
    CREATE INDEX CONCURRENTLY orders_customer_open_idx ON orders (customer_id, created_at DESC)
        WHERE cancelled_at IS NULL;
    DROP INDEX CONCURRENTLY orders_open_idx;
    ```

    ## How to verify
    `EXPLAIN` of the queries that filter on the predicate uses the new index with an Index Cond
    on its key; `pg_stat_user_indexes.idx_scan` of the old one stays flat before the drop.
    """

    code = "SL414"
    name = "partial-index-constant-key"
    dimension = 4
    severity = "P2"
    summary = _("partial index whose predicate makes every key NULL or constant")

    valid = (Example({"db/V1__orders.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, created_at timestamptz, cancelled_at timestamptz);\n"
        "CREATE INDEX orders_customer_open_idx ON orders (customer_id, created_at) WHERE cancelled_at IS NULL;\n")}),
             Example({"db/V1__accounts.sql": (
                 "CREATE TABLE accounts (id bigint PRIMARY KEY, is_default boolean NOT NULL);\n"
                 "CREATE UNIQUE INDEX accounts_one_default ON accounts (is_default) WHERE is_default;\n")}))
    invalid = (Example({"db/V1__orders.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, status text, cancelled_at timestamptz);\n"
        "CREATE INDEX orders_open_idx ON orders (cancelled_at) WHERE cancelled_at IS NULL;  -- expect\n"
        "CREATE INDEX orders_queued_idx ON orders (status) WHERE status = 'queued';  -- expect\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for label, layer in context.layers():
            main = layer is context.layer
            for _key, table in sorted(layer.tables.items()):
                for index in table.indexes:
                    if not index.where or any(index.expressions) or not index.columns:
                        continue
                    fixed = fixed_columns(index.where)
                    if not all(column in fixed for column in index.columns):
                        continue
                    values = [fixed[column] for column in index.columns]
                    if index.unique and "NULL" not in values:
                        continue  # at most one row with that key: a deliberate singleton
                    location, related = context.where_element(table, index) if main else (index.location, ())
                    yield self._finding(label, table, index, values, location, related)

    def _finding(self, label: str, table, index, values: list[str], location, related) -> Finding:
        keys = ", ".join(f"{column} = {value}" if value != "NULL" else f"{column} IS NULL"
                         for column, value in zip(index.columns, values))
        if index.unique and "NULL" in values:
            what = _("enforces nothing: NULL keys never collide")
        else:
            what = _("serves no lookup, range or sort: it only lists the rows that match its predicate")
        return self.finding(
            location, _("%(index)s on %(table)s: every key is %(value)s", index=index.name, table=table.name, value='NULL' if set(values) == {'NULL'} else _('constant')),
            _("%(index)s (%(columns)s) WHERE %(where)s: every entry has the key (%(keys)s), so it %(what)s", index=index.name, columns=', '.join(index.columns), where=index.where, keys=keys, what=what)
            + (_(" (%(label)s).", label=label) if label != "models" else "."),
            impact=_("Worst case: queries on %(table)s that this index was meant for scan the table or every entry of "
                   "the index while each write still maintains it. Most likely: a few percent of write cost and buffer "
                   "space for an index the planner rarely prefers.", table=table.name),
            root_cause=_("The predicate's column was indexed instead of the column the queries look up or sort by."),
            fix=Fix(short_term=_("Key the index by the column the queries filter or sort on, keeping the predicate: "
                               "CREATE INDEX CONCURRENTLY ... ON %(table)s (<lookup column>) WHERE %(where)s; "
                               "then DROP INDEX CONCURRENTLY %(index)s.", table=table.name, where=index.where, index=index.name),
                    medium_term=_("Review partial indexes against the queries that use them (EXPLAIN in CI for the key paths)."),
                    long_term=_("Standard: a partial index's key is what the query filters or sorts by; its WHERE is what "
                              "the query always adds.")),
            verification=_("EXPLAIN the queries on %(table)s that add WHERE %(where)s: an Index Cond on the new key", table=table.name, where=index.where),
            table=table.name, column=index.columns[0] if len(index.columns) == 1 else None, related=related)
