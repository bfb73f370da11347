from __future__ import annotations

from typing import Iterator

from ...schema.operations import (AlterColumn, CreateEnum, CreateTable, DropColumn, RenameConstraint, RenameIndex,
                                  RenameTable, UnsupportedStatement)
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, new_in_this_step, on_existing_tables, scaffold_command, sql_example
from ...i18n import _

# Objects that queries name (a rename or a move to another schema breaks them), and objects only
# code that names them explicitly depends on (ON CONFLICT ON CONSTRAINT, index hints, error
# handling by constraint name): those are reported only when code names them.
_QUERIED = ("VIEW", "MATERIALIZED VIEW", "FUNCTION", "PROCEDURE", "ROUTINE", "TYPE", "DOMAIN", "SCHEMA", "SEQUENCE",
            "TABLE", "FOREIGN TABLE", "AGGREGATE")
_NAMED_ONLY = ("INDEX", "CONSTRAINT", "TRIGGER", "POLICY", "RULE", "DOMAIN CONSTRAINT")


_ENUM_STATE = sql_example("CREATE TYPE order_state AS ENUM ('new', 'paid');\n"
                          "ALTER TABLE orders ADD COLUMN state order_state;\n")


class RenameBreaksRunningCode(Rule):
    """## What it finds
    A column or table renamed in place (`op.alter_column(..., new_column_name=...)`,
    `op.rename_table`, `RENAME COLUMN`, `RENAME TO`) when an earlier migration created it.

    Also, for objects that existed before the migration: renames of views, materialized views,
    functions, procedures, types, domains, sequences and schemas, renamed enum values
    (`ALTER TYPE ... RENAME VALUE`: stored rows read the new value, code literals keep the old one), and
    moves to another schema (`SET SCHEMA`), unless the workspace holds code that reads the
    database and none of it names the object; renames of indexes, constraints, triggers and
    policies only when code names them (`ON CONFLICT ON CONSTRAINT ...`, error handling by
    constraint name), since nothing else refers to them by name.
    Not reported when the same migration keeps the old name working: a view with the old table
    name, a table created again under it in the same transaction, a staging column renamed into
    the place of the column it just dropped (the last step of a type change, as `schemalens
    scaffold change-type` writes it), or a new enum type renamed into the place of the one it
    replaces (as Prisma changes an enum). The renames of one migration are one finding.

    ## Why it matters
    During a rolling deploy the old release keeps running until the new one has replaced it,
    and the old release still names the old column or table: every query it sends fails from
    the moment the migration commits until the last old process is gone. A rollback of the
    application alone fails the same way.

    P1.

    ## Example
    ```python
    op.alter_column("orders", "note", new_column_name="customer_note")
    ```

    ## Use instead
    Expand and contract: add the new column, keep both in sync with a trigger, backfill, deploy
    code that reads and writes the new name, then drop the old column in a later release. For a
    table: rename it and create a view with the old name (simple views are updatable) until no
    code uses the old name. `schemalens scaffold rename-column` / `rename-table` writes these
    revisions.

    ## How to verify
    Run the old release's test suite against the migrated schema; it must pass. `schemalens
    verify` rehearses upgrade and downgrade.
    """

    code = "SL512"
    name = "rename-breaks-running-code"
    dimension = 5
    severity = "P1"
    grouped_by = "path"  # rallly: one migration renames 38 tables and columns to a new naming convention
    summary = _("column or table renamed in place (the running release breaks)")
    peers = ("squawk:renaming-column", "squawk:renaming-table", "squawk:renaming-object", "squawk:ban-set-schema",
             "pgls:renamingColumn", "pgls:renamingTable", "strong_migrations:rename_column",
             "strong_migrations:rename_table", "strong_migrations:rename_enum_value", "strong_migrations:rename_schema",
             "atlas:BC101", "atlas:BC102", "django-migration-linter:RENAME_COLUMN", "django-migration-linter:RENAME_TABLE")

    valid = (
        Example(alembic_example("    op.add_column('orders', sa.Column('customer_note', sa.Text()))")),
        Example(sql_example("CREATE TABLE invoices (id int PRIMARY KEY, memo text);\n"
                            "ALTER TABLE invoices RENAME COLUMN memo TO note;\n")),
        # the old name stays: a view in its place, or a staging column swapped in for a dropped one
        Example(sql_example("ALTER TABLE orders RENAME TO purchases;\nCREATE VIEW orders AS SELECT * FROM purchases;\n")),
        # authelia: the table renamed aside as a backup, a new one created under its name, the rows copied over
        Example(sql_example("ALTER TABLE orders RENAME TO _bkp_orders;\n"
                            "CREATE TABLE orders (id int PRIMARY KEY, status varchar(20), customer_id bigint, total int, "
                            "note text);\nINSERT INTO orders SELECT * FROM _bkp_orders;\n")),
        Example(sql_example("ALTER TABLE orders ADD COLUMN total_new bigint;\nALTER TABLE orders DROP COLUMN total;\n"
                            "ALTER TABLE orders RENAME COLUMN total_new TO total;\n")),
        # rallly (Prisma): the new enum created aside and renamed into the place of the old one
        Example(_ENUM_STATE | {"db/V4__shipped.sql": (
            "CREATE TYPE order_state_new AS ENUM ('new', 'paid', 'shipped');\n"
            "ALTER TABLE orders ALTER COLUMN state TYPE order_state_new USING (state::text::order_state_new);\n"
            "ALTER TYPE order_state RENAME TO order_state_old;\n"
            "ALTER TYPE order_state_new RENAME TO order_state;\n"
            "DROP TYPE order_state_old;\n")}),
        # fides: an enum renamed aside and created again with one more value, in one transaction
        Example(_ENUM_STATE | {"db/V4__shipped.sql": (
            "ALTER TYPE order_state RENAME TO order_state_old;\n"
            "CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped');\n"
            "ALTER TABLE orders ALTER COLUMN state TYPE order_state USING state::text::order_state;\n"
            "DROP TYPE order_state_old;\n")}),
    )
    invalid = (
        Example(alembic_example("    op.alter_column('orders', 'note', new_column_name='customer_note')  # expect")),
        Example(sql_example("ALTER TABLE orders RENAME TO purchases;  -- expect\n")),
        Example(_ENUM_STATE | {"db/V4__rename.sql": "ALTER TYPE order_state RENAME TO order_status;  -- expect\n"}),
        Example(sql_example("CREATE VIEW open_orders AS SELECT * FROM orders;\n")
                | {"db/V3__rename.sql": "ALTER VIEW open_orders RENAME TO pending_orders;  -- expect\n"
                                        "ALTER TYPE order_state RENAME VALUE 'paid' TO 'settled';  -- expect\n"}),
    )

    def _other_objects(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.migration_walk:
            renamed = _renamed_object(walked.operation)
            if renamed is None or new_in_this_step(walked):
                continue
            kind, old, new, how = renamed
            if kind == "TABLE" and walked.operation.kind.startswith("SET SCHEMA") and not walked.existing:
                continue
            if _created_in_step(walked, old) and kind != "ENUM VALUE":
                continue
            mention = context.code_mention(old.strip("'"))
            if kind in _NAMED_ONLY and mention is None:
                continue
            if kind in _QUERIED and mention is None and context.has_application_code:
                continue
            evidence = (_(" %(path)s:%(line)s names it.", path=mention.path, line=mention.line) if mention else
                        _(" SchemaLens sees no Python code that reads this database (it does not read code in other "
                          "languages), so it cannot tell whether a deployed release uses it.") if kind != "ENUM VALUE"
                        else _(" Stored rows read the new value at once; code that writes or compares the old one fails."))
            operation = walked.operation
            yield self.finding(
                operation.location, _("%(lower)s %(old)s is %(how)s to %(new)s", lower=kind.lower(), old=old, how=how, new=new),
                _("Code of the running release that uses %(old)s fails from the commit of this migration until every old "
                "process is replaced.%(evidence)s", old=old, evidence=evidence),
                impact=_("Worst case: errors on every request that uses %(old)s during the deploy. Most likely: a burst of "
                       "errors for the length of the rollout.", old=old),
                root_cause=_("A rename is one statement in SQL but two releases in a system that deploys gradually."),
                fix=Fix(short_term=_("Keep %(old)s working while both releases run: create the new object beside the old "
                                   "one (a view or function under the new name, a new enum value written alongside the "
                                   "old one), move the code, then drop the old name in a later release.", old=old),
                        long_term=_("Review renames as two-release changes; `schemalens check` in CI flags them.")),
                verification=_("grep the application for %(old)s: no use left when the old name goes; test: the previous "
                             "release's tests pass against the migrated schema", old=old),
                table=walked.table, related=created_here(walked), severity="P2" if mention is None else None)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        yield from self._other_objects(context)
        for walked in on_existing_tables(context, AlterColumn, RenameTable):
            operation, table = walked.operation, walked.table
            if _old_name_kept(context, walked):
                continue
            if isinstance(operation, RenameTable):
                old, new, what = table, operation.new_name, "table"
                column = None
                transition = (_("rename it and `CREATE VIEW %(table)s AS SELECT * FROM %(new)s` in the same revision; "
                              "drop the view once no code uses the old name", table=table, new=new))
            elif operation.new_name is not None:
                old, new, what = f"{table}.{operation.column}", f"{table}.{operation.new_name}", "column"
                column = operation.column
                transition = (_("add %(new_name)s, sync it from %(column)s with a trigger, backfill, "
                              "switch the code, and drop %(column)s in a later release", new_name=operation.new_name, column=operation.column))
            else:
                continue
            yield self.finding(
                operation.location, _("%(what)s %(old)s is renamed to %(new)s in place", what=what, old=old, new=new),
                _("Code of the running release still uses %(old)s; its queries fail from the commit of this migration "
                "until every old process is replaced.", old=old),
                impact=_("Worst case: errors on every request that touches %(old)s during the deploy, and an "
                       "application rollback that cannot work without a schema rollback. Most likely: a burst of "
                       "500s for the length of the rollout.", old=old),
                root_cause=_("Renames are one statement in SQL but two releases in a system that deploys gradually."),
                fix=Fix(short_term=_("Expand and contract: %(transition)s.", transition=transition) + (
                    scaffold_command(context, walked, "rename-column", table, column=column, new_name=operation.new_name) if column
                    else scaffold_command(context, walked, "rename-table", table, new_name=new)),
                        medium_term=_("Keep the old name in the model (`Column('old_name', key='new_name')`) when only "
                                    "the Python attribute needs the new name."),
                        long_term=_("Review renames as two-release changes; `schemalens check` in CI flags them.")),
                verification=_("Run the previous release's tests against the migrated schema; test: `schemalens "
                             "verify` rehearses upgrade, downgrade and upgrade"),
                table=table, column=column, related=created_here(walked))


def _renamed_object(operation) -> tuple:
    """(kind, old name, new name or new schema, how) of a rename or schema move of an object other
    than a table or column, or None."""
    if isinstance(operation, RenameIndex):
        return "INDEX", operation.name, operation.new_name, _("renamed")
    if isinstance(operation, RenameConstraint):
        return "CONSTRAINT", operation.name, operation.new_name, _("renamed")
    if not isinstance(operation, UnsupportedStatement) or not operation.name:
        return None
    if operation.kind == "RENAME VALUE":
        return "ENUM VALUE", operation.detail.split(" -> ")[0], operation.detail.split(" -> ")[-1], \
            _("renamed in enum %(name)s", name=operation.name)
    if operation.kind.startswith("RENAME ") and operation.kind != "RENAME COLUMN":
        return operation.kind.removeprefix("RENAME "), operation.name, operation.detail, _("renamed")
    if operation.kind.startswith("SET SCHEMA "):
        return operation.kind.removeprefix("SET SCHEMA "), operation.name, f"{operation.detail}.{operation.name}", _("moved")
    return None


def _created_in_step(walked, name: str) -> bool:
    """A view or domain of the old name in the same step, or, in the same transaction, an enum type
    of the old name created, or another type renamed to it, after the rename (fides, FitTrackee:
    the type renamed aside, created again with one more value, the column converted, the old type
    dropped; rallly: Prisma's way, below): no session sees the name go. Or the type was created
    earlier in the step: no release used it yet."""
    return any(getattr(other, "name", None) == name and isinstance(other, UnsupportedStatement)
               and other.kind in ("View", "CREATE DOMAIN") for other in walked.step.operations) \
        or walked.in_transaction and any(isinstance(other, CreateEnum) and _same_name(other.enum.name, name)
                                         or _renamed_to(other, name) for other in walked.later_in_step) \
        or any(isinstance(other, CreateEnum) and _same_name(other.enum.name, name) for other in walked.earlier_in_step)


def _renamed_to(operation, name: str) -> bool:
    """Another object renamed to `name` (Prisma's enum change: the new type is created as
    `x_new`, the columns converted, `x` renamed to `x_old` and `x_new` to `x`, `x_old` dropped)."""
    renamed = _renamed_object(operation)
    return renamed is not None and renamed[0] != "ENUM VALUE" and _same_name(renamed[2], name)


def _same_name(created: str, renamed: str) -> bool:
    return created.strip('"').lower().rpartition(".")[2] == renamed.strip('"').lower().rpartition(".")[2]


def _old_name_kept(context: AuditContext, walked) -> bool:
    """Running code keeps working when the same migration step keeps the name it uses: a table
    renamed and replaced by a view of the old name, or a staging column renamed into the place
    of the column just dropped (the swap at the end of a type change)."""
    operation = walked.operation
    if isinstance(operation, RenameTable):
        # or a table created again under the old name in the same transaction (authelia renames a
        # table aside as a backup, creates the new one, copies the rows over)
        return any(isinstance(other, UnsupportedStatement) and other.kind == "View"
                   and (context.relation_created_by(other) or "").replace('"', "").split(".")[-1] == walked.table
                   or walked.in_transaction and isinstance(other, CreateTable) and other.table == operation.table
                   and other.schema == operation.schema for other in walked.later_in_step)
    return any(isinstance(other, DropColumn) and other.table == operation.table and other.column == operation.new_name
               for other in walked.earlier_in_step)
