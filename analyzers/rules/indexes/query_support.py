"""Shared by the query-path rules: where a query runs in words, severity from where it runs and
the size hints, association tables, and the small workspaces their examples are built on."""

from __future__ import annotations

from typing import Optional

from ...query_paths import QueryPath
from ...schema.model import Table, table_key
from ..context import AuditContext
from .foreign_key_without_index import is_served, leading_columns_served
from .low_selectivity_index import is_low_cardinality
from ...i18n import _

CHEAP_SCAN_ROWS = 10_000  # a table hinted smaller than this is read whole cheaply


def where_it_runs(path: QueryPath) -> str:
    function = f"{path.shape.function}()" if path.shape.function else _("module level")
    where = {"request": _("in a request handler"), "task": _("in a background task")}.get(path.context, "")
    return (_("%(function)s at %(path)s:%(line)s", function=function, path=path.location.path, line=path.location.line)
            + (", " + where if where else ""))


def severity_for(context: AuditContext, path: QueryPath, table: Optional[Table]) -> Optional[str]:
    """P0 for a request path on a table hinted at 1M rows or more (now or within a year), P1 for a
    request path, else the rule's default."""
    if path.context != "request":
        return None
    return "P0" if table is not None and context.is_big(table) else "P1"


def p0_on_a_big_request_path(context: AuditContext, path: QueryPath, table: Optional[Table]) -> Optional[str]:
    """P0 for a request path on a table hinted at 1M rows (now or within a year), else the rule's default."""
    return "P0" if severity_for(context, path, table) == "P0" else None


def rows_are_few(context: AuditContext, path: QueryPath, table: Table) -> bool:
    """Whether what the query sorts or pages of `table` is a few rows, whatever the table's size:
    groups (GROUP BY, aggregates), the one row a primary or unique key matched by equality
    selects, or one parent's rows when the size hints give a handful per parent (see
    `few_per_parent`). Only conditions every call makes count (not one added under an `if`,
    unless every arm of an if/elif chain every call takes adds one: `QueryPath.every_call`)."""
    return bool(path.group_by or path.aggregates) or one_row(path, table) or few_per_parent(context, path, table)


def one_row(path: QueryPath, table: Table) -> bool:
    """Every call matches a primary or unique key of `table` by equality: one row."""
    unique_keys = [table.primary_key.columns] if table.primary_key else []
    unique_keys += [u.columns for u in table.unique_constraints]
    unique_keys += [i.columns for i in table.indexes if i.unique and not i.where and not any(i.expressions)]
    return path.every_call(table.key, lambda equal: any(key and set(key) <= equal for key in unique_keys))


# One parent's rows are few when the size hints give the child table at most this many rows per
# parent row on average (a customer's subscriptions, not an organization's orders).
FEW_PER_PARENT = 5


def few_per_parent(context: AuditContext, path: QueryPath, table: Table) -> bool:
    """Every call matches a foreign key of `table` by equality, an index serves that key, and
    the size hints give `table` at most FEW_PER_PARENT rows per row of the table it references.
    (Without the index the query reads the whole table, and an index on the key and the sort
    column is the fix.)"""
    few = [foreign_key for foreign_key in table.foreign_keys
           if (ratio := rows_per_parent(context, table, foreign_key)) is not None and ratio <= FEW_PER_PARENT
           and is_served(foreign_key.columns, leading_columns_served(table))]
    return path.every_call(table.key, lambda equal: any(set(foreign_key.columns) <= equal for foreign_key in few))


def rows_per_parent(context: AuditContext, table: Table, foreign_key) -> Optional[float]:
    """The rows of `table` per row of the table `foreign_key` references, by the size hints;
    None unless both are hinted."""
    parent = context.layer.tables.get(table_key(foreign_key.ref_table, foreign_key.ref_schema))
    rows, parent_rows = hinted_rows(context, table), hinted_rows(context, parent) if parent is not None else 0
    return rows / parent_rows if rows and parent_rows else None


# A foreign key narrows a sort to few rows unless the size hints give the table this many rows
# or more per referenced row (an organization's orders on a multi-tenant ledger).
MANY_PER_PARENT = 10_000


def narrowed_by_an_index(context: AuditContext, path: QueryPath, table: Table) -> bool:
    """Every call matches by equality a selective column of `table` that an index, primary key
    or unique constraint leads with: the planner reads that key's rows only, and sorts them in
    memory. Not selective: `IS NULL` (the rows not deleted yet), a status, type or flag
    (`is_low_cardinality`), or a foreign key the size hints give MANY_PER_PARENT rows or more
    per referenced row."""
    selective = {name for key in leading_columns_served(table) if key for name in key[:1]
                 if table.column(name) is not None and not is_low_cardinality(context, table, table.column(name))
                 and not _many_per_parent(context, table, name)}
    return path.every_call(table.key, lambda equal: bool(equal & selective), null=False)


def _many_per_parent(context: AuditContext, table: Table, column: str) -> bool:
    return any(foreign_key.columns[:1] == (column,) and (ratio := rows_per_parent(context, table, foreign_key)) is not None
               and ratio >= MANY_PER_PARENT for foreign_key in table.foreign_keys)


def ordered_scan_cannot_drive(context: AuditContext, path: QueryPath, table: Table) -> bool:
    """The query matches by equality a column of another table it joins `table` to, and no
    index serves that table's side of the join: walking `table` in index order would scan the
    other table once per row, so an index in the sort order serves no plan. The rows to sort
    are what the other table's filter finds; the cost is that filter or the unindexed join key
    (SL405, SL401)."""
    for join in path.joins:
        for other_key, other_columns, sorted_key in ((join.table, join.columns, join.other_table),
                                                     (join.other_table, join.other_columns, join.table)):
            other = context.layer.tables.get(other_key or "")
            if sorted_key != table.key or other is None or other.key == table.key or not other_columns:
                continue
            if path.equal_columns(other.key, always=True) and not is_served(other_columns, leading_columns_served(other)):
                return True
    return False


def entered_from_one_row(context: AuditContext, path: QueryPath, table: Table) -> bool:
    """Another table of the query is matched by a primary or unique key on every call: the
    planner starts from that row and reaches `table`'s rows through the joins, so what it reads
    and sorts of `table` is what joins to one row, not the whole table."""
    return any(other != table.key and (found := context.layer.tables.get(other)) is not None and one_row(path, found)
               for other in path.tables)


def in_a_job_on_a_modest_table(context: AuditContext, path: QueryPath, table: Table) -> bool:
    """Only background jobs run the query, once per run or once per row of loops over a few
    rows (CodeBase.per_row_in_jobs: every loop around the call walks rows of tables the size
    hints call small, such as a job's services), and the size hints give `table` under a million
    rows (now and within a year): a scan or sort there delays the job by a fraction of a second
    and keeps no user waiting. (On the judged corpus, daily and hourly jobs over 50,000-500,000
    rows were worth no reviewer's time, also when run for each of a handful of on-call
    services; the hourly job that read 100,000 rows once per open case was.)"""
    if path.context != "task" or context.is_big(table):
        return False
    nests = context.code_base.per_row_in_jobs.get((path.location.path, path.shape.function), ())
    return all(nest and all(source is not None and _gives_few_rows(context, source) for source in nest)
               for nest in nests)


def _gives_few_rows(context: AuditContext, function: tuple) -> bool:
    """The queries `function` (a code base key) runs all read tables the size hints call small:
    a loop over its result has few rows."""
    tables = [table for path in context.query_paths_by_function.get(function, ()) for table in path.tables]
    return bool(tables) and all((found := context.layer.tables.get(table)) is not None and context.is_small(found)
                                for table in tables)


def hinted_rows(context: AuditContext, table: Table) -> int:
    """The most rows the size hints give `table`, now or within a year (0 without hints)."""
    hints = context.hints(table)
    return max(hints.rows or 0, hints.rows_in_a_year or 0)


def sized(context: AuditContext, table: Optional[Table]) -> bool:
    """Whether the size hints give `table` CHEAP_SCAN_ROWS rows or more, now or within a year.
    The rules whose findings are only true of big tables (a scan, a search, a query per row)
    report such tables only: on the judged corpus most of the queries they flag run on tables
    of a few hundred rows, where the finding costs nothing."""
    return table is not None and hinted_rows(context, table) >= CHEAP_SCAN_ROWS


def in_size_scope(context: AuditContext, rule: str, table: Optional[Table], rows: int = CHEAP_SCAN_ROWS) -> bool:
    """Whether the size hints give `table` `rows` rows or more (now or within a year); a
    candidate out of scope is counted as held back (`hold_back_for_size`), so that the report
    can say which tables' sizes would decide it."""
    if table is not None and context.is_big(table, rows):
        return True
    if table is not None:
        context.hold_back_for_size(rule, table.key)
    return False


def size_evidence(context: AuditContext, table: Table) -> str:
    """The sentence a finding of a size-dependent rule ends with: the hint that put it in scope
    (and raised its severity, when it did)."""
    return _("Reported because the size hints give %(table)s %(rows)s rows, now or within a year "
             "([tool.schemalens.tables.%(table)s]).", table=table.name, rows=format(hinted_rows(context, table), ","))


def is_association(table: Table) -> bool:
    """Two foreign keys whose columns make the primary key or a unique constraint, little else."""
    key_columns = [c for fk in table.foreign_keys for c in fk.columns]
    if len(table.foreign_keys) != 2 or len(key_columns) != 2 or len(table.columns) > 4:
        return False
    pair = set(key_columns)
    keys = [table.primary_key.columns] if table.primary_key else []
    keys += [u.columns for u in table.unique_constraints] + [i.columns for i in table.indexes if i.unique]
    return any(set(k) == pair for k in keys)


SCHEMA = ("CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text);\n"
          "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers (id) "
          "ON DELETE RESTRICT, status text NOT NULL, note text, created_at timestamptz NOT NULL, deleted_at timestamptz);\n"
          "CREATE INDEX orders_customer_id_idx ON orders (customer_id);\n")


def query_example(code: str, schema: str = SCHEMA) -> dict:
    """A SQL folder building the schema, and `app/services/orders.py` holding `code`."""
    return {"db/V1__init.sql": schema, "app/services/orders.py": code}
