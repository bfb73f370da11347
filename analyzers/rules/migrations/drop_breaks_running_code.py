from __future__ import annotations

from typing import Iterator, Optional

from ...schema.model import table_key
from ...schema.operations import (
    CreateEnum,
    CreateFunction,
    CreateSequence,
    DropColumn,
    DropFunction,
    DropSequence,
    DropTable,
    DropTrigger,
    DropType,
    RenameTable,
    UnsupportedStatement,
)
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, new_in_this_step, sql_example
from ...i18n import _

# Statements that drop an object other code may use, by kind: what to call it.
_OBJECT_DROPS = {"DROP VIEW": "view", "DROP MATERIALIZED VIEW": "materialized view", "DROP SCHEMA": "schema",
                 "DROP EXTENSION": "extension", "DROP DOMAIN": "domain", "DROP PROCEDURE": "procedure",
                 "DROP ROUTINE": "routine", "DROP AGGREGATE": "aggregate"}
# Kinds of object that SQL names where it names a table.
_RELATIONS = ("view", "materialized view")
# What a drop of each kind takes with it under CASCADE.
_CASCADES = {"type": _("every column of the type"), "domain": _("every column of the domain"),
             "extension": _("every object that uses its functions, types and operators"),
             "schema": _("everything in the schema"), "sequence": _("every default that calls nextval() on it"),
             "function": _("every trigger, default and view that calls it"), "view": _("every view built on it"),
             "materialized view": _("every view built on it")}
_MODEL = ("from sqlalchemy import Column, Integer, String\nfrom sqlalchemy.orm import declarative_base\n"
          "Base = declarative_base()\n\nclass Order(Base):\n    __tablename__ = 'orders'\n"
          "    id = Column(Integer, primary_key=True)\n    status = Column(String(20))\n")


class DropBreaksRunningCode(Rule):
    """## What it finds
    A migration drops a column, table, view, function, type, domain, sequence, schema or
    extension that already existed, when SchemaLens cannot show that no deployed code still
    uses it:

    - the application runs SQL that names it (`text("...")`, `execute("...")`; for a column:
      SQL that names both the table and the column), P1. A word in a docstring, a comment, a
      dict key or a variable is no evidence (letta, ckan);
    - the workspace holds no code that reads the database (a SQL-only repository), so nothing
      can be shown either way, P2;
    - any drop with CASCADE of a type, domain, sequence, function, view, schema or extension,
      which also drops what depends on it (columns of the type!), P1.

    A view or function dropped without CASCADE and created again later in the same transaction is
    not reported: no session sees it missing.

    Columns and tables the models still declare are SL513's (P0). A drop of something that the
    models no longer declare and no code names is the last step of a two-release removal: safe.
    A table named like a model class that maps another table (the old `MachineToken` replaced by
    `machinetoken`, still mapped by the class `MachineToken`) is not reported either: code that
    names it names the class.

    ## Why it matters
    During a rolling deploy the old release runs until the new one has replaced it, and it still
    reads what the migration drops: every query it sends that names the column, table or view
    fails from the commit of the migration. The data is gone, so a rollback cannot bring it
    back, and CASCADE silently drops more than the statement names.

    ## Example
    ```sql
    ALTER TABLE orders DROP COLUMN note;
    DROP VIEW order_totals;
    ```

    ## Use instead
    Two releases: first deploy code that no longer uses it (models without the attribute, queries
    without the column, the view replaced), then drop it in a later migration, after a backup or
    a copy of the data if it may be needed. Without CASCADE, PostgreSQL refuses to drop what
    other objects still use, which is the check you want.

    ## How to verify
    `grep -rn note` over the application finds no use; the previous release's tests pass against
    the migrated schema; `schemalens verify` rehearses upgrade and downgrade.
    """

    code = "SL544"
    name = "drop-breaks-running-code"
    dimension = 5
    severity = "P2"
    summary = _("drop of a column, table or other object that running code may still use")
    peers = ("squawk:ban-drop-column", "squawk:ban-drop-table", "squawk:ban-drop-view", "squawk:ban-drop-function",
             "squawk:ban-drop-type", "squawk:ban-drop-schema", "squawk:ban-drop-sequence", "squawk:ban-drop-domain",
             "squawk:ban-drop-extension", "pgls:banDropColumn", "pgls:banDropTable", "pgls:banDropSchema",
             "strong_migrations:remove_column", "atlas:DS101", "atlas:DS102", "atlas:DS103",
             "django-migration-linter:DROP_COLUMN", "django-migration-linter:DROP_TABLE")

    valid = (
        # the model no longer maps the column: the code was released without it
        Example({**alembic_example("    op.drop_column('orders', 'note')"), "app/models.py": _MODEL}),
        Example({**sql_example("DROP VIEW IF EXISTS order_totals;\n"),
                 "app/service.py": "def totals(session):\n    return session.execute('SELECT * FROM orders')\n"}),
        # letta, ckan: the dropped table's and column's names as a docstring's word, a variable
        # and a dict key, not in any SQL the application runs
        Example({**alembic_example("    op.drop_column('orders', 'note')\n    op.drop_table('customers')"),
                 "app/agents.py": ('def recall(store, orders):\n'
                                   '    """Recall from customers what the agent stored."""\n'
                                   '    customers = store.search()\n'
                                   '    return [{"note": order.id} for order in orders], customers\n')}),
        # lemmy: views and functions dropped and created again in one transaction, around a table change
        Example(sql_example("CREATE VIEW order_totals AS SELECT id, total FROM orders;\n"
                            "CREATE MATERIALIZED VIEW order_stats AS SELECT count(*) FROM orders;\n")
                | {"db/V3__change.sql": ("DROP VIEW order_totals;\nDROP MATERIALIZED VIEW order_stats;\n"
                                         "ALTER TABLE orders ALTER COLUMN total TYPE bigint;\n"
                                         "CREATE VIEW order_totals AS SELECT id, total FROM orders;\n"
                                         "CREATE MATERIALIZED VIEW order_stats AS SELECT count(*) FROM orders;\n")}),
        # rallly (Prisma): the old enum type renamed aside in the migration that drops it
        Example(sql_example("CREATE TYPE order_state AS ENUM ('new', 'paid');\n")
                | {"db/V3__swap.sql": ("CREATE TYPE order_state_new AS ENUM ('new', 'paid', 'shipped');\n"
                                       "ALTER TYPE order_state RENAME TO order_state_old;\n"
                                       "ALTER TYPE order_state_new RENAME TO order_state;\n"
                                       "DROP TYPE order_state_old;\n")}),
        # privacyidea: the old table "MachineToken" gave way to machinetoken, which the class
        # MachineToken maps; the code names the class
        Example({"db/V1__base.sql": 'CREATE TABLE "MachineToken" (id integer PRIMARY KEY);\n',
                 "db/V2__change.sql": 'CREATE TABLE machinetoken (id integer PRIMARY KEY);\nDROP TABLE "MachineToken";\n',
                 "app/models.py": _MODEL.replace("class Order(Base):\n    __tablename__ = 'orders'",
                                                 "class MachineToken(Base):\n    __tablename__ = 'machinetoken'")
                                         .replace("    status = Column(String(20))\n", ""),
                 "app/machines.py": "from app.models import MachineToken\n\n\n"
                                    "def tokens(session):\n    return session.query(MachineToken).all()\n"}),
    )
    invalid = (
        Example(sql_example("ALTER TABLE orders DROP COLUMN note;  -- expect\n")),
        Example({**sql_example("DROP VIEW order_totals;  -- expect\n"),
                 "app/service.py": "def totals(session):\n    return session.execute('SELECT * FROM order_totals')\n"}),
        Example(sql_example("CREATE TYPE mood AS ENUM ('ok');\nALTER TABLE orders ADD COLUMN mood mood;\n")
                | {"db/V3__drop.sql": "DROP TYPE mood CASCADE;  -- expect\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.migration_walk:
            operation = walked.operation
            what = _dropped(operation)
            if what is None or walked.column_absent or new_in_this_step(walked) or _created_in_step(walked, what[1]) \
                    or what[0] == "function" and _trigger_dropped_first(walked):
                continue
            kind, name = what
            cascade = getattr(operation, "cascade", False) or getattr(operation, "detail", None) == "CASCADE"
            if not cascade and kind in _DEFINITIONS and walked.in_transaction and _created_again(walked, name):
                continue
            if kind in ("column", "table"):
                found = self._table_or_column(context, walked, kind, name)
            else:
                found = self._object(context, kind, name, cascade)
            if found is None:
                continue
            severity, evidence, related = found
            yield self._finding(walked, kind, name, cascade, severity, evidence, related)

    def _table_or_column(self, context: AuditContext, walked, kind: str, name: str):
        operation = walked.operation
        key = table_key(operation.table, operation.schema)
        model = context.model.orm.tables.get(key)
        if model is not None:
            return None  # the models decide: SL513 when they still use it, safe when they do not
        if _names_a_model_class(context, operation.table):
            return None  # code that names it names the model class, which maps another table now
        if kind == "table":
            mention = context.sql_mention(relation=operation.table)
        else:
            mention = context.sql_mention(operation.column, relation=operation.table)
        if mention is not None:
            return "P1", _("%(path)s:%(line)s still names it.", path=mention.path, line=mention.line), (Related(mention, _("named here")),)
        if not context.has_application_code:
            return "P2", _("SchemaLens sees no Python code that reads this database (it does not read code in other "
                           "languages), so it cannot tell whether a deployed release still uses it."), ()
        return None

    def _object(self, context: AuditContext, kind: str, name: str, cascade: bool):
        mention = context.sql_mention(relation=name) if kind in _RELATIONS else context.sql_mention(name)
        if cascade and kind in _CASCADES:
            related = (Related(mention, _("named here")),) if mention else ()
            return "P1", _("CASCADE also drops %(cascades)s.", cascades=_CASCADES[kind]), related
        if mention is not None:
            return "P1", _("%(path)s:%(line)s still names it.", path=mention.path, line=mention.line), (Related(mention, _("named here")),)
        if not context.has_application_code:
            return "P2", _("SchemaLens sees no Python code that reads this database (it does not read code in other "
                           "languages), so it cannot tell whether a deployed release still uses it."), ()
        return None

    def _finding(self, walked, kind: str, name: str, cascade: bool, severity: str, evidence: str,
                 related: tuple) -> Finding:
        operation = walked.operation
        label = f"{operation.table}.{name}" if kind == "column" else name
        return self.finding(
            operation.location, _("%(kind)s %(label)s is dropped", kind=kind, label=label) + (_(" with CASCADE") if cascade else "")
            + _(" while running code may still use it"),
            _("The release running during the deploy may still use %(kind)s %(label)s; its queries fail from the commit of "
            "this migration. %(evidence)s", kind=kind, label=label, evidence=evidence),
            impact=_("Worst case: errors on every request that touches %(label)s during the rollout, data that a rollback "
                   "cannot bring back", label=label) + (_(", and dependent objects dropped without being named") if cascade else "")
                   + _(". Most likely: a burst of errors until the last old process is gone."),
            root_cause=_("The drop ships in the same release as the code change that stops using it (or before it)."),
            fix=Fix(short_term=_("Release the code that stops using %(label)s first; drop it in a later migration", label=label)
                               + (_(", without CASCADE, naming each dependent object you mean to drop") if cascade else "")
                               + ".",
                    medium_term=_("Copy the data aside (or keep a backup) before dropping."),
                    long_term=_("Two-release removals as a team rule; `schemalens check` in CI.")),
            verification=_("grep the application for %(name)s: no use left; test: the previous release's tests pass "
                         "against the migrated schema", name=name),
            table=getattr(operation, "table", None), column=name if kind == "column" else None,
            related=(*related, *created_here(walked)), severity=severity)


def _dropped(operation) -> Optional[tuple[str, str]]:
    """(kind, name) of what `operation` drops, or None."""
    if isinstance(operation, DropColumn):
        return "column", operation.column
    if isinstance(operation, DropTable):
        return "table", operation.table
    if isinstance(operation, DropType):
        return "type", operation.name
    if isinstance(operation, DropFunction):
        return "function", operation.name
    if isinstance(operation, DropSequence):
        return "sequence", operation.name
    if isinstance(operation, UnsupportedStatement) and operation.kind in _OBJECT_DROPS and operation.name:
        return _OBJECT_DROPS[operation.kind], operation.name
    return None


def _created_in_step(walked, name: str) -> bool:
    """The object was created, or given its name by a rename, earlier in the same migration step:
    no running code names it (Prisma's `x_old` enum, authelia's `_bkp_` tables)."""
    for other in walked.step.operations:
        if other is walked.operation:
            return False
        created = (other.enum.name if isinstance(other, CreateEnum) else other.function.name if isinstance(other, CreateFunction)
                   else other.sequence.name if isinstance(other, CreateSequence)
                   else other.name if isinstance(other, UnsupportedStatement) and other.kind in ("View", "CREATE DOMAIN")
                   else other.new_name if isinstance(other, RenameTable)
                   else other.detail if isinstance(other, UnsupportedStatement) and other.kind.startswith("RENAME ")
                   and other.kind not in ("RENAME COLUMN", "RENAME VALUE")
                   else None)
        if created is not None and _bare(created) == _bare(name):
            return True
    return False


def _bare(name: str) -> str:
    """A name as PostgreSQL compares it, without schema and quotes (case as written otherwise)."""
    return name.rpartition(".")[2].strip('"')


# What holds no data of its own: dropped and created again in one transaction, no session sees it go.
_DEFINITIONS = ("view", "materialized view", "function")


def _created_again(walked, name: str) -> bool:
    """A view or function of the same name created later in the step (lemmy drops and creates its
    views again in each migration that changes a table under them)."""
    return any(isinstance(other, CreateFunction) and other.function.name == name
               or isinstance(other, UnsupportedStatement) and other.kind in ("View", "CreateTableAs")
               and other.name == name for other in walked.later_in_step)


def _trigger_dropped_first(walked) -> bool:
    """A trigger function dropped after its trigger, in the same step: nothing else calls it."""
    return any(isinstance(other, DropTrigger) for other in walked.earlier_in_step)


def _names_a_model_class(context: AuditContext, table: str) -> bool:
    """The dropped table's name is, case aside, that of a model class mapping another table
    (privacyidea replaced its table `MachineToken` with `machinetoken`, mapped by the class
    `MachineToken`): a file naming it names the class, which is no evidence about the old table."""
    return any(orm.class_name and orm.class_name.lower() == table.lower() for orm in context.model.orm.tables.values())
