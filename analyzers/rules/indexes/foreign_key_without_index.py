from __future__ import annotations

import re
from typing import Iterator

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import TableView
from ...i18n import _
from ...lazy_pattern import LazyPattern


def leading_columns_served(table) -> list[tuple[str, ...]]:
    """The column lists whose leading columns an index, PK or unique constraint can serve: a
    partial index too when its predicate only says that some of them are not NULL, which an
    equality on them implies (lemmy: `... WHERE community_id IS NOT NULL` serves the key's lookups)."""
    keys = [index.columns for index in table.indexes
            if (not index.where or _only_not_null(index.where, index.columns)) and not any(index.expressions)]
    keys += [unique.columns for unique in table.unique_constraints]
    if table.primary_key:
        keys.append(table.primary_key.columns)
    return keys


_NOT_NULL_TERM = LazyPattern(r'^\(*\s*"?(\w+)"?\s+IS\s+NOT\s+NULL\s*\)*$', re.IGNORECASE)


def _only_not_null(predicate: str, columns: tuple[str, ...]) -> bool:
    """Whether `predicate` is `c IS NOT NULL` (or several, joined by AND) for columns among `columns`."""
    terms = re.split(r"\s+AND\s+", predicate.strip(), flags=re.IGNORECASE)
    named = [match.group(1) for term in terms if (match := _NOT_NULL_TERM.match(term.strip()))]
    return len(named) == len(terms) and set(named) <= set(columns)


def is_served(columns: tuple[str, ...], keys: list[tuple[str, ...]]) -> bool:
    """True when some key starts with `columns` (in any order of those leading columns)."""
    width = len(columns)
    return any(len(key) >= width and set(key[:width]) == set(columns) for key in keys)


def _unindexed(requirements: str, *, expect: bool) -> dict[str, str]:
    """An unindexed foreign key in a project with these requirements."""
    return {"requirements.txt": requirements, "migrations/V1__init.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));"
        + ("  -- expect" if expect else "") + "\n")}


class ForeignKeyWithoutIndex(Rule):
    """## What it finds
    Foreign keys whose columns are not the leading columns of any index, primary key or
    unique constraint. A composite primary key `(a, b)` serves lookups on `a`, not on `b`. A
    partial index serves them when its predicate only says that its key columns are not NULL,
    which the lookup's equality implies.

    ## Why it matters
    PostgreSQL does not index the referencing side of a foreign key. Every delete or key
    update of a parent row scans the child table to check for references, under a lock, and
    joins from parent to children scan too. It grows with the child table: fine at 10k rows,
    an outage at 10M.

    ## Example
    ```sql
    CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY ix_order_items_order_id ON order_items (order_id);
    ```
    (or `index=True` on the model column, created concurrently in the migration).

    ## How to verify
    `EXPLAIN DELETE FROM orders WHERE id = 1;` shows no sequential scan of `order_items`
    once the index exists.

    Held back when the project deploys MySQL: its dependency files (requirements, pyproject,
    setup.cfg, Pipfile) name MySQL drivers and no PostgreSQL driver, and InnoDB indexes every
    foreign key itself. The report says so under coverage.

    ## Severity
    P1; P0 when the size hints give the child table 1M rows or more, now or within a year.
    """

    code = "SL401"
    moot_on_mysql = True
    grouped_by = "workspace"
    name = "foreign-key-without-index"
    dimension = 4
    severity = "P1"
    summary = _("foreign key column without a leading index")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id) ON DELETE CASCADE);\n"
        "CREATE INDEX ix_order_items_order_id ON order_items (order_id, id);\n")}),
        # CTFd: deployed on MySQL (pymysql the only driver), where InnoDB indexes the foreign key
        Example(_unindexed("flask==3.0.3\npymysql==1.1.1\n    # via ctfd\n", expect=False)),
        # lemmy: a partial index on the key's column WHERE it IS NOT NULL, which the lookup `= $1` implies
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
            "CREATE TABLE notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n"
            "CREATE INDEX idx_notes_order ON notes (order_id) WHERE order_id IS NOT NULL;\n")}),
    )
    invalid = (
        # both engines' drivers: the PostgreSQL deployments lack the index
        Example(_unindexed("pymysql==1.1.1\npsycopg2-binary==2.9.9\n", expect=True)),
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
            "CREATE TABLE order_items (\n  id bigint PRIMARY KEY,\n"
            "  order_id bigint REFERENCES orders (id) ON DELETE CASCADE  -- expect\n);\n")}),
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE tags (id bigint PRIMARY KEY);\nCREATE TABLE posts (id bigint PRIMARY KEY);\n"
            "CREATE TABLE post_tags (\n  post_id bigint REFERENCES posts (id) ON DELETE CASCADE,\n"
            "  tag_id bigint REFERENCES tags (id) ON DELETE CASCADE,  -- expect\n  PRIMARY KEY (post_id, tag_id)\n);\n")}),
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
            "CREATE TABLE notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id),  -- expect\n"
            "  deleted_at timestamptz);\n"
            "CREATE INDEX idx_notes_order ON notes (order_id) WHERE deleted_at IS NULL;\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_table(self.code, self._check_table)

    def _check_table(self, context: TableView, table: Table) -> Iterator[Finding]:
        if table.partition_of:
            return
        keys = leading_columns_served(table)
        for fk in table.foreign_keys:
            if is_served(fk.columns, keys):
                continue
            location, related = context.where_element(table, fk)
            columns = ", ".join(fk.columns)
            index_name = f"ix_{table.name}_{'_'.join(fk.columns)}"
            yield self.finding(
                location, _("%(table)s(%(columns)s) references %(ref_table)s with no index on (%(columns)s)", table=table.name, columns=columns, ref_table=fk.ref_table),
                _("No index, primary key or unique constraint of %(table)s starts with (%(columns)s).", table=table.name, columns=columns),
                impact=_("Worst case: deleting or re-keying a %(ref_table)s row scans all of %(table)s while "
                       "holding locks, and parent-to-children joins scan too. Most likely: these queries slow "
                       "down steadily as %(table)s grows until they time out.", ref_table=fk.ref_table, table=table.name),
                root_cause=_("PostgreSQL indexes the referenced key, never the referencing columns; the model did not ask for one."),
                fix=Fix(short_term=_("CREATE INDEX CONCURRENTLY %(index_name)s ON %(table)s (%(columns)s); "
                                   "in a migration with `autocommit_block()`.", index_name=index_name, table=table.name, columns=columns),
                        medium_term=_("Declare it on the model (`index=True` or `Index(\"%(index_name)s\", ...)`) so ORM and "
                                    "database stay in step.", index_name=index_name),
                        long_term=_("Standard: every FK column leads an index; a CI check runs this rule.")),
                verification=_("EXPLAIN SELECT * FROM %(table)s WHERE %(columns)s = 1;  -- expect an Index Scan "
                             "using %(index_name)s", table=table.name, columns=fk.columns[0], index_name=index_name),
                table=table.name, column=fk.columns[0] if len(fk.columns) == 1 else None, related=related,
                severity="P0" if context.is_big(table) else None)
