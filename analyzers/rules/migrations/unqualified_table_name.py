from __future__ import annotations

from functools import lru_cache
from typing import Iterator, Optional

from ...extract import pg_tree
from ...extract.sql_files import _Positions
from ...schema.model import Location
from ...schema.operations import AddColumn, AlterColumn, CreateTable, DropColumn, DropTable
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...lazy_module import LazyModule
from .revision_examples import ALEMBIC_SETUP, revision_file
from ...i18n import _

# Imported when a statement is first read (lazy_module.py)
pglast = LazyModule("pglast", globals(), "pglast")
ast = LazyModule("pglast.ast", globals(), "ast")
enums = LazyModule("pglast.enums", globals(), "enums")


@lru_cache(maxsize=256)
def _unqualified(text: str, path: str) -> tuple[tuple[Location, str, str], ...]:
    """(location, statement, table) of CREATE / ALTER / DROP TABLE statements whose table has
    no schema, in a SQL file (temporary tables excepted: they live in their own schema)."""
    try:
        statements = pg_tree.parse_sql(text)
    except pglast.parser.ParseError:
        return ()
    positions = _Positions(text, path, 0, 0)
    found = []
    for raw in statements:
        node = raw.stmt
        relations: list[tuple[str, ast.RangeVar]] = []
        if isinstance(node, ast.CreateStmt):
            relations.append(("CREATE TABLE", node.relation))
        elif isinstance(node, ast.CreateTableAsStmt) and node.objtype == enums.ObjectType.OBJECT_TABLE:
            relations.append(("CREATE TABLE AS", node.into.rel))
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == enums.ObjectType.OBJECT_TABLE:
            relations.append(("ALTER TABLE", node.relation))
        elif isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
            for names in node.objects or ():
                if len(names) == 1:
                    found.append((positions.at(raw.stmt_location), "DROP TABLE", names[0].sval))
        for statement, relation in relations:
            if relation.schemaname is None and relation.relpersistence != "t":
                found.append((positions.at(raw.stmt_location), statement, relation.relname))
    return tuple(found)


class UnqualifiedTableName(Rule):
    """## What it finds
    CREATE TABLE, ALTER TABLE and DROP TABLE in migrations whose table is not qualified with a
    schema (`orders` rather than `public.orders`), in SQL files and in Alembic `op.*` calls
    without `schema=`. Temporary tables are left alone.

    Opt-in (an opinion; squawk's `require-table-schema` is opt-in too): select `SL554`.

    ## Why it matters
    An unqualified name resolves through the session's `search_path`, which the migration does
    not set: run by another role, from another tool, or with a tenant schema first in the path,
    the same migration creates or drops a table in another schema. Projects with several
    schemas qualify every name so that a migration means one thing.

    P2.

    ## Example
    ```sql
    ALTER TABLE orders ADD COLUMN channel text;
    ```

    ## Use instead
    ```sql
    ALTER TABLE public.orders ADD COLUMN channel text;
    ```
    In Alembic: `op.add_column("orders", ..., schema="public")`; or set `search_path` at the
    start of every migration when qualifying every name is not wanted.

    ## How to verify
    Run the migration with `SET search_path = other, public` on a scratch database: it still
    changes `public.orders`.
    """

    code = "SL554"
    name = "unqualified-table-name"
    dimension = 5
    severity = "P2"
    default_enabled = False
    summary = _("table named without a schema in a migration (depends on search_path)")
    peers = ("squawk:require-table-schema",)

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE public.orders (id bigint PRIMARY KEY);\n"
                                           "CREATE TEMP TABLE scratch (id int);\n"}, config='select = ["SL554"]\n'),)
    invalid = (
        Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);  -- expect\n"},
                config='select = ["SL554"]\n'),
        Example({**ALEMBIC_SETUP, "migrations/versions/a1_orders.py": revision_file(
            "a1", None, "    op.add_column('orders', sa.Column('channel', sa.String(20)))  # expect")},
                config='select = ["SL554"]\n'),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for step in context.model.steps:
            if step.path.endswith(".py"):
                yield from self._alembic(context, step)
                continue
            text: Optional[str] = context.text_of(step.path)
            for location, statement, table in _unqualified(text or "", step.path):
                yield self._finding(location, statement, table, f"{statement} public.{table} ...")

    def _alembic(self, context: AuditContext, step) -> Iterator[Finding]:
        if step.schema is not None:
            return  # the environment sets the schema for every revision
        for operation in step.operations:
            if isinstance(operation, (CreateTable, DropTable, AddColumn, DropColumn, AlterColumn)) \
                    and operation.schema is None and operation.location.path == step.path:
                yield self._finding(operation.location, type(operation).__name__, operation.table,
                                    _('schema="public" on the op.* call'))

    def _finding(self, location: Location, statement: str, table: str, qualified: str) -> Finding:
        return self.finding(
            location, _("%(table)s is named without a schema", table=table),
            _("%(statement)s %(table)s resolves %(table)s through search_path, which the migration does not set.", statement=statement, table=table),
            impact=_("Worst case: run with another search_path (another role, a tenant schema first), the migration "
                   "changes or drops a table in the wrong schema. Most likely: nothing in a single-schema project."),
            root_cause=_("Names are written the way they are typed in psql."),
            fix=Fix(short_term=_("Qualify it: %(qualified)s; or set search_path at the start of the migration.", qualified=qualified)),
            verification=_("Run the migration with SET search_path = other, public on a scratch database: it changes "
                         "public.%(table)s", table=table),
            table=table)
