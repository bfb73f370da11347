"""Opt-in compatibility rules: statements that change, for code already running, who may read
or write what (SL560), how the database behaves (SL561), and the shape of what it returns or
accepts (SL562). Each is safe for the database itself; whether it is safe for the running
release is a review question, which these rules put on the migration's line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from ...schema import operations as ops
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import created_here, new_in_this_step, sql_example
from ...i18n import _, capitalized


@dataclass(frozen=True)
class Change:
    peer: str  # the squawk rule it answers
    what: str  # what the statement does, for the title
    breaks: str  # what running code may see


def _classify_access(walked) -> Optional[Change]:
    operation = walked.operation
    if not isinstance(operation, ops.UnsupportedStatement):
        return None
    kind = operation.kind
    if kind == "REVOKE":
        return Change("ban-revoke", _("privileges on a %(lower)s are revoked", lower=(operation.detail or 'object').lower()),
                      _("queries of roles that lose the privilege fail with permission denied"))
    if kind == "DROP POLICY":
        return Change("ban-drop-policy", _("row-level security policy %(operation)s is dropped", operation=operation.name),
                      _("rows it made visible or writable disappear for some roles, or others become visible"))
    if kind == "CREATE POLICY":
        return Change("ban-create-policy", _("row-level security policy %(operation)s is created", operation=operation.name),
                      _("with row-level security on, the rows each role sees and may write change"))
    if kind == "ALTER POLICY":
        detail = operation.detail or ""
        peer = "ban-alter-policy-roles" if detail == "TO" else "ban-alter-policy-condition"
        return Change(peer, _("row-level security policy %(operation)s changes (%(value)s)", operation=operation.name, value=detail or 'definition'),
                      _("the rows each role sees and may write change"))
    if kind.endswith("ROW LEVEL SECURITY"):
        return Change("ban-alter-row-level-security", kind.removeprefix("ALTER TABLE ").lower(),
                      _("queries of roles without a matching policy return no rows, or all of them"))
    if kind in ("AlterRole", "AlterRoleSet"):
        return Change("ban-alter-role-options", _("role options change"), _("sessions of that role behave differently "
                      "(login, connection limit, settings)"))
    return None


def _classify_behaviour(walked) -> Optional[Change]:
    operation = walked.operation
    if isinstance(operation, ops.AlterColumn) and operation.server_default not in (None, ops.DROP_DEFAULT) \
            and walked.existing and not new_in_this_step(walked):
        return Change("ban-set-default", _("the default of %(table)s.%(column)s is set", table=walked.table, column=operation.column),
                      _("inserts that leave the column out store the new value instead of the old default"))
    if isinstance(operation, ops.CreateFunction) and operation.or_replace:
        return Change("ban-replace-view-function", _("function %(function)s is replaced", function=operation.function.name),
                      _("every caller, trigger and default runs the new body at once"))
    if isinstance(operation, ops.DropTrigger) and walked.existing:
        return Change("ban-drop-trigger", _("trigger %(operation)s is dropped", operation=operation.name),
                      _("writes stop doing what the trigger did (audit rows, counters, checks)"))
    if not isinstance(operation, ops.UnsupportedStatement):
        return None
    kind = operation.kind
    simple = {
        "ALTER TABLE REPLICA IDENTITY": ("ban-replica-identity", _("the replica identity changes"),
                                         _("logical replication and change-data capture send other columns for updates and deletes")),
        "AlterFunction": ("ban-alter-function-options", _("function options change (volatility, security, settings)"),
                          _("callers get other plans, privileges or settings")),
        "ALTER VIEW": ("ban-alter-view-options", _("view options change"), _("queries through the view may see other rows "
                       "(security_barrier, check_option, security_invoker)")),
        "AlterDatabase": ("ban-alter-database-options", _("database options change"), _("new sessions behave differently")),
        "AlterDatabaseSet": ("ban-alter-database-options", _("a database setting changes"), _("new sessions behave differently")),
        "AlterSystem": ("ban-alter-system-options", _("server configuration changes"), _("every database on the server "
                        "behaves differently after a reload")),
        "AlterExtension": ("ban-alter-extension", _("an extension is updated"), _("its functions, types and operators may "
                           "change or disappear")),
        "ALTER SEQUENCE": ("ban-alter-sequence-values", _("sequence options change"), _("new keys may collide with, or "
                           "jump past, existing ones")),
        "ALTER TABLE DISABLE RULE": ("ban-disable-trigger", _("a rewrite rule is disabled"), _("statements stop being "
                                     "rewritten by it")),
    }
    if kind in simple:
        peer, what, breaks = simple[kind]
        return Change(peer, what, breaks)
    if kind == "View" and operation.detail == "OR REPLACE":
        return Change("ban-replace-view-function", _("view %(operation)s is replaced", operation=operation.name),
                      _("every query through it returns the new definition's rows at once"))
    return None


def _classify_shape(walked) -> Optional[Change]:
    operation = walked.operation
    if new_in_this_step(walked):
        return None
    if isinstance(operation, ops.AddColumn) and walked.existing:
        return Change("ban-add-column", _("column %(table)s.%(column)s is added", table=walked.table, column=operation.column.name),
                      _("`SELECT *` returns another column and `INSERT` without a column list breaks"))
    if isinstance(operation, ops.AddEnumValue):
        return Change("ban-add-enum-value", _("value '%(operation)s' is added to enum %(operation_2)s", operation=operation.value, operation_2=operation.name),
                      _("readers receive a value they do not know"))
    if isinstance(operation, ops.DropIndex):
        return Change("ban-drop-index", _("index %(operation)s is dropped", operation=operation.name),
                      _("a uniqueness it enforced lapses, and queries that used it change plans"))
    if isinstance(operation, (ops.AddConstraint,)) and walked.existing:
        return Change("ban-new-write-restriction", _("constraint %(name)s is added to %(table)s", name=operation.constraint.name, table=walked.table)
                      if operation.constraint.name else _("a constraint is added to %(table)s", table=walked.table), _("writes that break it are rejected, even when it is NOT VALID"))
    if isinstance(operation, ops.AlterColumn) and operation.nullable is False and walked.existing:
        return Change("ban-new-write-restriction", _("%(table)s.%(column)s becomes NOT NULL", table=walked.table, column=operation.column),
                      _("inserts and updates that write NULL are rejected"))
    if isinstance(operation, ops.CreateIndex) and operation.index.unique and walked.existing:
        return Change("ban-new-write-restriction", _("unique index %(name)s is created on %(table)s", name=operation.index.name, table=walked.table)
                      if operation.index.name else _("a unique index is created on %(table)s", table=walked.table), _("writes of duplicates are rejected"))
    if not isinstance(operation, ops.UnsupportedStatement):
        return None
    if operation.kind == "ADD ATTRIBUTE":
        return Change("ban-add-composite-attribute", _("an attribute is added to composite type %(operation)s", operation=operation.name),
                      _("values of the type gain a field that readers do not expect"))
    if operation.kind == "ALTER TABLE NO INHERIT":
        return Change("ban-detach-inheritance", _("%(table)s no longer inherits from %(operation)s", table=operation.table, operation=operation.name),
                      _("queries of the parent stop returning its rows"))
    if operation.kind == "ALTER DOMAIN SET NOT NULL":
        return Change("ban-new-write-restriction", _("domain %(operation)s becomes NOT NULL", operation=operation.name),
                      _("writes of NULL to any column of the domain are rejected"))
    return None


class _CompatibilityRule(Rule):
    classify: Callable
    area: str

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.migration_walk:
            change = type(self).classify(walked)
            if change is None:
                continue
            yield self.finding(
                walked.operation.location, capitalized(change.what),
                _("For code already running: %(breaks)s.", breaks=change.breaks),
                impact=_("Worst case: the running release, reports or other services misbehave without an error "
                       "(%(area)s). Most likely: nothing, when the change was planned with its readers.", area=self.area),
                root_cause=_("A change that is safe for the database but changes the contract with its clients."),
                fix=Fix(short_term=_("Check with the code that uses it (and release that code first) before this "
                                   "migration runs; suppress the finding on the line once reviewed."),
                        medium_term=_("Record such contract changes in the release notes of the database.")),
                verification=_("The previous release's tests pass against the migrated schema"),
                table=walked.table, related=created_here(walked))


class AccessChange(_CompatibilityRule):
    """## What it finds
    Statements that change who may read or write what: `REVOKE`, `CREATE POLICY`, `ALTER
    POLICY` (condition or roles), `DROP POLICY`, `ALTER TABLE ... ENABLE/DISABLE/FORCE ROW LEVEL
    SECURITY`, `ALTER ROLE`.

    Opt-in (a review prompt, as in squawk where these rules are opt-in too): select `SL560`, or
    `preset = "squawk-all"`.

    ## Why it matters
    They succeed at once and break nothing in the migration, but the running application's
    queries start failing with `permission denied` or, worse, silently see fewer (or more) rows
    than before.

    P2.

    ## Example
    ```sql
    REVOKE SELECT ON orders FROM reporting;
    ```

    ## Use instead
    Grant before code needs it; revoke after no code needs it. Test policies with each role
    (`SET ROLE ...; SELECT count(*) ...`) before the migration ships.

    ## How to verify
    For each role the application uses: `SET ROLE app; SELECT count(*) FROM orders;` returns
    what it did before.
    """

    code = "SL560"
    name = "access-change"
    dimension = 5
    severity = "P2"
    default_enabled = False
    area = "access"
    classify = staticmethod(_classify_access)
    summary = _("privileges, row-level security or roles change (opt-in review prompt)")
    peers = ("squawk:ban-revoke", "squawk:ban-drop-policy", "squawk:ban-create-policy",
             "squawk:ban-alter-policy-condition", "squawk:ban-alter-policy-roles", "squawk:ban-alter-row-level-security",
             "squawk:ban-alter-role-options")

    valid = (Example(sql_example("GRANT SELECT ON orders TO reporting;\n"), config='select = ["SL560"]\n'),)
    invalid = (Example(sql_example("REVOKE SELECT ON orders FROM reporting;  -- expect\n"
                                   "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;  -- expect\n"),
                       config='select = ["SL560"]\n'),)


class BehaviourChange(_CompatibilityRule):
    """## What it finds
    Statements that change how the database behaves for code already running: a new default on
    an existing column (`SET DEFAULT`), `CREATE OR REPLACE` of a view or function, `DROP
    TRIGGER`, `ALTER TABLE ... REPLICA IDENTITY`, `ALTER FUNCTION` options, `ALTER VIEW ...
    SET (...)`, `ALTER DATABASE`, `ALTER SYSTEM`, `ALTER EXTENSION ... UPDATE`, `ALTER SEQUENCE`
    values, disabling a rewrite rule.

    Opt-in (a review prompt, as in squawk): select `SL561`, or `preset = "squawk-all"`.

    ## Why it matters
    Each applies to every session at once: inserts start storing another default, every caller
    runs the new function body, change-data capture receives other columns, keys jump.
    Nothing fails, so nothing tells the running release that the contract changed.

    P2.

    ## Example
    ```sql
    CREATE OR REPLACE FUNCTION order_total(bigint) RETURNS numeric ...;
    ```

    ## Use instead
    Version what callers depend on (`order_total_v2`), move the callers, then drop the old one;
    change defaults in the release whose code expects them.

    ## How to verify
    The previous release's tests pass against the migrated schema.
    """

    code = "SL561"
    name = "behaviour-change"
    dimension = 5
    severity = "P2"
    default_enabled = False
    area = "behaviour"
    classify = staticmethod(_classify_behaviour)
    summary = _("default, function, view, trigger or server behaviour changes (opt-in review prompt)")
    peers = ("squawk:ban-set-default", "squawk:ban-replace-view-function", "squawk:ban-drop-trigger",
             "squawk:ban-replica-identity", "squawk:ban-alter-function-options", "squawk:ban-alter-view-options",
             "squawk:ban-alter-database-options", "squawk:ban-alter-system-options", "squawk:ban-alter-extension",
             "squawk:ban-alter-sequence-values")

    valid = (Example(sql_example("CREATE FUNCTION order_total(bigint) RETURNS numeric LANGUAGE sql AS 'SELECT 0';\n"),
                     config='select = ["SL561"]\n'),)
    invalid = (Example(sql_example("ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'new';  -- expect\n"
                                   "CREATE OR REPLACE VIEW open_orders AS SELECT * FROM orders;  -- expect\n"),
                       config='select = ["SL561"]\n'),)


class ShapeChange(_CompatibilityRule):
    """## What it finds
    Statements that change the shape of what existing tables return or accept: a column added
    to an existing table, an enum value or composite attribute added, `NO INHERIT`, a new write
    restriction (a constraint, `SET NOT NULL`, a unique index, a NOT NULL domain), a dropped
    index.

    Opt-in (a review prompt, as in squawk): select `SL562`, or `preset = "squawk-all"`.

    ## Why it matters
    Additive changes are how safe migrations are made, and are harmless for code that names its
    columns and handles unknown values; they break code that does `SELECT *` into a fixed
    structure, `INSERT` without a column list, or a `match` over enum values with no default,
    and a new restriction rejects writes the running release still makes.

    P2.

    ## Example
    ```sql
    ALTER TABLE orders ADD COLUMN channel text;
    ```

    ## Use instead
    Keep it, knowing the readers: name columns in queries and inserts, handle unknown enum
    values, and release writers that satisfy a new restriction before adding it.

    ## How to verify
    The previous release's tests pass against the migrated schema.
    """

    code = "SL562"
    name = "shape-change"
    dimension = 5
    severity = "P2"
    default_enabled = False
    area = "shape"
    classify = staticmethod(_classify_shape)
    summary = _("columns, enum values or write restrictions added to existing objects (opt-in review prompt)")
    peers = ("squawk:ban-add-column", "squawk:ban-add-enum-value", "squawk:ban-add-composite-attribute",
             "squawk:ban-detach-inheritance", "squawk:ban-new-write-restriction", "squawk:ban-drop-index")

    valid = (Example(sql_example("CREATE TABLE refunds (id int PRIMARY KEY);\nALTER TABLE refunds ADD COLUMN reason text;\n"),
                     config='select = ["SL562"]\n'),)
    invalid = (Example(sql_example("ALTER TABLE orders ADD COLUMN channel text;  -- expect\n"),
                       config='select = ["SL562"]\n'),)
