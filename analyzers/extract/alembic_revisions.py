"""Alembic revisions, read with `ast`: identity (revision, down_revision, branch labels,
depends_on) and the `op.*` calls of `upgrade()` and `downgrade()` as schema operations.

SQL given to `op.execute()` (literals, implicit concatenation, module constants, `sa.text()`)
is parsed with the SQL extractor at its place in the file; SQL built at run time becomes an
`Opaque` operation. Nothing in the file is imported or executed.
"""

from __future__ import annotations

import ast
import configparser
import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Optional

from ..dataclass_copy import replace
from ..i18n import _, _n
from ..schema import operations as ops
from ..schema.replay import sqlalchemy_truncated
from ..schema.model import (
    CheckConstraint,
    Column,
    EnumType,
    ExtractionError,
    ForeignKey,
    Index,
    Location,
    PrimaryKey,
    UniqueConstraint,
    ordered_column,
)
from ..schema.drift import UNKNOWN
from ..schema.type_names import normalize_type
from . import sql_files
from .module_summary import Assignment, ModuleSummary
from .python_names import Expr, ExprBuilder, ImportedName, imports_of
from .migration_functions import FunctionSource, migration_functions
from .python_source import PythonFile, parse_python, walk_in_order
from .python_world import SQL_CONSTANTS, World, sa_member
from .sqlalchemy_types import Types
from .static_eval import Evaluator, Unknown
from ..lazy_pattern import LazyPattern


@dataclass(frozen=True, slots=True)
class Revision:
    id: str
    down_revisions: tuple[str, ...]
    path: str
    location: Location  # the `revision = ...` line
    message: Optional[str] = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    upgrade: tuple[ops.Operation, ...] = ()
    downgrade: tuple[ops.Operation, ...] = ()
    downgrade_location: Optional[Location] = None
    downgrade_is_empty: bool = False
    functions: tuple[tuple[str, FunctionSource], ...] = ()  # what upgrade() and downgrade() say beyond their operations
    # one entry per operation not read (a name computed at run time): the function holding it, "upgrade" or "downgrade"
    unread: tuple[str, ...] = ()
    # Where operations run only as the database is at run time (`if not pk["constrained_columns"]:`,
    # `try: ... except`): on an empty database they may fail where the migration skips them.
    conditional: tuple[Location, ...] = ()

    def function(self, name: str) -> Optional[FunctionSource]:
        """What `upgrade()` or `downgrade()` says beyond its operations; None without that function."""
        return next((source for function, source in self.functions if function == name), None)


@dataclass(frozen=True, slots=True)
class RevisionParse:
    """`revision` is None when the file is not a revision (no `revision =`) or cannot be parsed."""

    revision: Optional[Revision]
    errors: tuple[ExtractionError, ...] = ()


# where revisions live

# Alembic's default `file_template`.
DEFAULT_FILE_TEMPLATE = "%(rev)s_%(slug)s"


_CORE_VERBS = {"insert": "INSERT", "update": "UPDATE", "delete": "DELETE", "select": "SELECT"}


def _core_statement(expression: Expr, value_of: Callable[[Expr], Optional[Expr]]) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """The verb (INSERT, UPDATE, DELETE or SELECT) of a SQLAlchemy Core statement built on a table
    (`configs.insert().values(...)`, `pages.update().where(...)`, `sa.select(...)`), with the
    table's name and schema when the statement's table is one the file writes (`sa.table("pages",
    ...)` bound to a name of the function or the module: tracecat's backfills); else Nones."""
    node: Optional[Expr] = expression
    while node is not None and node.kind in ("call", "attribute"):
        if node.kind == "call":
            if node.name:
                head, _dot, method = node.name.rpartition(".")
                receiver = value_of(Expr("name", head, node.location, name=head)) if head else None
            else:  # a method of a table bound in the function (`_substituted`)
                method = node.func.value if node.func is not None and node.func.kind == "attribute" else ""
                receiver = node.func.func if method else None
            verb = _CORE_VERBS.get(method)
            if verb is not None:
                return (verb, *_table_written(receiver))
        node = node.func
    return None, None, None


def _table_written(expression: Optional[Expr]) -> tuple[Optional[str], Optional[str]]:
    """The name and schema of `sa.table("name", ..., schema="s")` or `sa.Table(...)`, else Nones."""
    if expression is None or expression.kind != "call" or not expression.name \
            or expression.name.rpartition(".")[2] not in ("table", "Table") or not expression.args:
        return None, None
    name, schema = expression.args[0], expression.kwarg("schema")
    if name.kind != "const" or not isinstance(name.value, str):
        return None, None
    written = schema.value if schema is not None and schema.kind == "const" and isinstance(schema.value, str) else None
    return name.value, None if written == "public" else written


_GUARDED_DROPS = (ops.DropTable, ops.DropIndex, ops.DropConstraint, ops.DropColumn)
_GUARDED_CREATES = (ops.CreateTable, ops.CreateIndex, ops.AddColumn)


def _guarded(operations: list, name: str, exists: bool) -> list:
    """The operations of a branch run only when the object `name` exists (`exists`) or does not:
    dropping it, or creating it, there is `IF EXISTS` / `IF NOT EXISTS` (an existence guard)."""
    guarded = []
    for operation in operations:
        if isinstance(operation, _GUARDED_DROPS if exists else _GUARDED_CREATES) and _object_name(operation) == name:
            operation = replace(operation, **{"if_exists" if exists else "if_not_exists": True})
        guarded.append(operation)
    return guarded


def _object_name(operation) -> Optional[str]:
    """The table, index, constraint or column an operation creates or drops."""
    if isinstance(operation, (ops.CreateTable, ops.DropTable)):
        return operation.table
    if isinstance(operation, ops.CreateIndex):
        return operation.index.name
    if isinstance(operation, ops.AddColumn):
        return operation.column.name
    if isinstance(operation, ops.DropColumn):
        return operation.column
    return operation.name  # DropIndex, DropConstraint


def _loop_names(target: ast.expr) -> Optional[tuple[str, ...]]:
    """The names a `for` binds (`name` or `key, value`), None for any other target."""
    if isinstance(target, ast.Name):
        return (target.id,)
    if isinstance(target, ast.Tuple) and all(isinstance(element, ast.Name) for element in target.elts):
        return tuple(element.id for element in target.elts)
    return None


def nearest_alembic_ini(folder: str, text_of) -> Optional[tuple[str, str]]:
    """(path, text) of the alembic.ini in `folder` or the nearest folder above it, read with
    `text_of(path)` (paths relative to the workspace root)."""
    parts = PurePosixPath(folder).parts
    for depth in range(len(parts), -1, -1):
        path = "/".join((*parts[:depth], "alembic.ini"))
        text = text_of(path)
        if text is not None:
            return path, text
    return None


def alembic_ini_options(text: Optional[str]) -> dict[str, str]:
    """The [alembic] section of an alembic.ini (empty when absent or unreadable); %% reads as %."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text or "")
        return {key: value.replace("%%", "%") for key, value in parser["alembic"].items()}
    except (configparser.Error, KeyError):
        return {}


def file_template_of(options: dict[str, str]) -> Optional[str]:
    """The `file_template` option when it names the revision id (the only use of one)."""
    template = options.get("file_template")
    return template if template and "%(rev)s" in template else None


def find_script_locations(root: str) -> list[str]:
    """Folders (relative to `root`) holding revision files: from every alembic.ini
    (`script_location`, with `%(here)s`, plus `version_locations`), Flask-Migrate's
    `migrations/versions`, `alembic/versions`, and any `versions/` beside an `env.py`."""
    base = Path(root)
    found: list[str] = []

    def add(folder: Path) -> None:
        try:
            relative = folder.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            return
        if folder.is_dir() and relative not in found:
            found.append(relative)

    for ini in sorted(base.rglob("alembic.ini")):
        if any(part in (".git", ".venv", "venv", "node_modules", "site-packages") for part in ini.parts):
            continue
        parser = configparser.ConfigParser(defaults={"here": str(ini.parent)})
        try:
            parser.read(ini, encoding="utf-8")
            section = parser["alembic"]
            script_location = section.get("script_location")
            version_locations = section.get("version_locations")
        except (configparser.Error, KeyError, UnicodeDecodeError):
            continue
        if script_location:
            location = Path(script_location) if os.path.isabs(script_location) else ini.parent / script_location
            add(location / "versions")
        for folder in (version_locations or "").replace(",", " ").split():
            add(Path(folder) if os.path.isabs(folder) else ini.parent / folder)
    for env in sorted(base.rglob("env.py")):
        if any(part in (".git", ".venv", "venv", "node_modules", "site-packages") for part in env.parts):
            continue
        add(env.parent / "versions")
    return found


# parsing one revision file

def parse_revision(text: str, path: str, dialect: str = "postgresql") -> RevisionParse:
    """Read one revision file, taking the branches of `dialect` where the code tests it. Never raises.
    Its nodes are not numbered (python_source.parse_python): the reader walks them once."""
    source, error = parse_python(text, path, numbered=False)
    if source is None:
        return RevisionParse(None, (error,))
    try:
        return _RevisionReader(source, dialect).read()
    except RecursionError as error:
        return RevisionParse(None, (ExtractionError(Location(path, 1), _("cannot analyse: %(error)s", error=str(error))),))


@dataclass(frozen=True, slots=True)
class MigrationFunction:
    """A function of a module that is no revision, read as Alembic operations."""

    name: str
    operations: tuple[ops.Operation, ...]
    unread: int  # operations not read (a name computed at run time, a parameter's)
    conditional: tuple[Location, ...] = ()  # as Revision.conditional
    errors: tuple[ExtractionError, ...] = ()  # of its reading: said where a revision calls it


@dataclass(frozen=True, slots=True)
class MigrationHelpers:
    """The functions of a module that calls Alembic's `op` without being a revision (neutron's
    `*_init_ops.py`, a project's `migrations/helpers.py`), which revisions call: each read with
    its parameters unbound, for the calls that pass nothing; a call that passes arguments reads
    it again (read_helper_call)."""

    path: str
    dialect: str
    functions: tuple[MigrationFunction, ...]


# A module that imports Alembic's `op`: its functions may be a revision's operations.
_IMPORTS_OP = LazyPattern(r"^[ \t]*from[ \t]+alembic[ \t]+import[ \t(][^\n]*\bop\b", re.MULTILINE)


def read_migration_helpers(source: PythonFile, dialect: str = "postgresql") -> Optional[MigrationHelpers]:
    """The functions of a module that imports Alembic's `op`, read as operations; None for any
    other module. Never raises."""
    if "alembic" not in source.text or _IMPORTS_OP.search(source.text) is None:
        return None
    reader = _RevisionReader(source, dialect)
    return MigrationHelpers(source.path, dialect, tuple(reader.read_call(name) for name in reader.functions))


def read_helper_call(source: PythonFile, dialect: str, name: str, arguments: tuple = (),
                     keywords: tuple = ()) -> MigrationFunction:
    """The function `name` of a module read as operations, its parameters bound to `arguments`
    and `keywords` (Exprs) as a call passes them. Never raises."""
    return _RevisionReader(source, dialect).read_call(name, arguments, keywords)


def _module_name(path: str) -> str:
    return ".".join(PurePosixPath(path).with_suffix("").parts)


class _RevisionReader:
    def __init__(self, source: PythonFile, dialect: str) -> None:
        self.source, self.path, self.dialect = source, source.path, dialect
        self.module = _module_name(self.path)
        self.locate = source.location
        self.errors: list[ExtractionError] = []
        self.final_names: set[str] = set()  # names given through op.f(): SQLAlchemy does not re-template them
        self.reading = ""  # the function whose operations are being read
        self.unread: list[str] = []  # Revision.unread
        self.conditional: list[Location] = []  # Revision.conditional
        # (call, the name it lacks) -> where: said once per file, with how many (fief builds every name at run time)
        self.not_replayed: dict[tuple[str, str], list[Location]] = {}
        imports: list[ImportedName] = []
        assignments: list[Assignment] = []
        bindings: dict[str, str] = {}
        package = self.module.rpartition(".")[0]
        self.functions: dict[str, ast.FunctionDef] = {}
        self.header: dict[str, Expr] = {}
        tree = source.tree
        self.docstring = ast.get_docstring(tree)
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef):
                self.functions[statement.name] = statement
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                for imported in imports_of(statement, package, self.locate(statement)):
                    imports.append(imported)
                    bindings[imported.local] = imported.target
        for statement in tree.body:
            target, _value = _assignment(statement)
            if target is not None:
                bindings.setdefault(target, f"{self.module}.{target}")
        self.builder = ExprBuilder(source, bindings)
        self.imported = {imported.local: imported.target for imported in imports}
        for statement in tree.body:
            target, value = _assignment(statement)
            if target is None:
                continue
            expr = self.builder.build(value)
            self.header[target] = expr
            assignments.append(Assignment(target, f"{self.module}.{target}", expr, self.locate(statement)))
        self.world = World([ModuleSummary(self.path, self.module, tuple(imports), (), tuple(assignments))])
        self.types = Types(self.world)

    def read(self) -> RevisionParse:
        revision_expr = self.header.get("revision")
        revision_id = self.world.const(revision_expr) if revision_expr is not None else None
        if not isinstance(revision_id, str):
            return RevisionParse(None, ())
        upgrade = self._body("upgrade")
        downgrade_node = self.functions.get("downgrade")
        downgrade = self._body("downgrade")
        message = (self.docstring or "").strip().splitlines()[0] if self.docstring else None
        revision = Revision(
            id=revision_id, down_revisions=self._ids("down_revision"), path=self.path,
            location=Location(self.path, revision_expr.location.line, 1),
            message=message, branch_labels=self._ids("branch_labels"), depends_on=self._ids("depends_on"),
            upgrade=tuple(upgrade), downgrade=tuple(downgrade),
            downgrade_location=self.locate(downgrade_node) if downgrade_node is not None else None,
            downgrade_is_empty=downgrade_node is None or _is_empty(downgrade_node),
            functions=migration_functions(self.source), unread=tuple(self.unread),
            conditional=tuple(dict.fromkeys(self.conditional)))
        return RevisionParse(revision, self._all_errors())

    def read_call(self, name: str, arguments: tuple = (), keywords: tuple = ()) -> MigrationFunction:
        """The operations of the top-level function `name` called with `arguments` and
        `keywords` (Exprs); a parameter given nothing is unbound (an operation on a name it gives
        is not replayed, and said so)."""
        self.errors, self.not_replayed, self.unread, self.conditional = [], {}, [], []
        function = self.functions.get(name)
        if function is None:
            return MigrationFunction(name, (), 0)
        self.reading = name
        operations: list[ops.Operation] = []
        try:
            scope = self._function_scope(function, self._bound_arguments(function, list(arguments), list(keywords)))
            self._statements(function.body, scope, operations)
        except RecursionError as error:
            return MigrationFunction(name, (), 0, errors=(ExtractionError(self.locate(function), _(
                "cannot analyse: %(error)s", error=str(error))),))
        return MigrationFunction(name, tuple(operations), len(self.unread), tuple(dict.fromkeys(self.conditional)),
                                 self._all_errors())

    def _all_errors(self) -> tuple[ExtractionError, ...]:
        """The errors of the reading, with one for each call whose operations were not replayed
        for want of a name."""
        for (call, name), locations in self.not_replayed.items():
            count = len(dict.fromkeys(locations))  # a loop reads its body once per item
            self.errors.append(ExtractionError(locations[0], _n(
                "%(call)s: the %(name)s is computed at run time; %(count)d operation of this file is not replayed",
                "%(call)s: the %(name)s is computed at run time; %(count)d such operations of this file are not "
                "replayed, the first here", count, call=call, name=name), kind="opaque"))
        return tuple(dict.fromkeys(self.errors))  # a loop reads its body once per item

    def _ids(self, name: str) -> tuple[str, ...]:
        expr = self.header.get(name)
        if expr is None:
            return ()
        value = self.world.const(expr)
        if isinstance(value, str):
            return (value,)
        if expr.kind == "seq":
            return tuple(v for v in (self.world.const(item) for item in expr.args) if isinstance(v, str))
        return ()

    # upgrade() / downgrade()

    def _body(self, name: str) -> list[ops.Operation]:
        function = self.functions.get(name)
        if function is None:
            return []
        self.reading = name
        operations: list[ops.Operation] = []
        self._statements(function.body, self._function_scope(function, {}), operations)
        return operations

    def _function_scope(self, function: ast.FunctionDef, arguments: dict[str, Expr], depth: int = 0) -> "_Scope":
        local_names = {node.id for node in walk_in_order(function) if node.__class__ is ast.Name and node.ctx.__class__ is ast.Store}
        local_names |= {a.arg for a in (*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs)}
        return _Scope(self.builder.scoped(local_names), dict(arguments), depth=depth)

    def _statements(self, statements, scope: "_Scope", out: list, once: bool = True) -> bool:
        """Read `statements` into `out`; True when they end the function for sure (a `return` or
        `raise` reached, a branch on the dialect that ends it taken: `if bind.dialect.name !=
        "mysql": return` leaves nothing after it for PostgreSQL). `once`: False when they may run
        any number of times, or not at all (a loop over items not known, a branch not decided, a
        `try` whose failure is caught): a list they change is then not known after them."""
        if not once:
            scope.uncertain += 1
            bound_before = len(scope.bound)
            try:
                return self._statements(statements, scope, out)
            finally:
                scope.uncertain -= 1
                for name in scope.bound[bound_before:]:  # bound here or not, to this or to something else
                    scope.forget(name)
                del scope.bound[bound_before:]
        for statement in statements:
            if isinstance(statement, (ast.Return, ast.Raise)):
                return True
            if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)):
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                        and isinstance(statement.targets[0], ast.Name):
                    scope.bind(statement.targets[0].id, statement.value)
                if isinstance(statement.value, ast.Call):
                    self._call(statement.value, scope, out)
                    _changed_in_place(statement.value, scope)
            elif isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
                scope.forget(statement.target.id)
            elif isinstance(statement, ast.With):
                inner = scope.child()
                for item in statement.items:
                    context = item.context_expr
                    if not isinstance(context, ast.Call):
                        continue
                    callee = inner.build(context.func)
                    method = (callee.name or callee.source).split(".")[-1]
                    if method == "batch_alter_table" and isinstance(item.optional_vars, ast.Name):
                        table_arg = inner.build(context.args[0]) if context.args else None
                        table = self.world.const(table_arg) if table_arg is not None else None
                        if isinstance(table, str):
                            inner.batches[item.optional_vars.id] = table
                    elif method == "autocommit_block":
                        inner.autocommit = True
                leaves_the_transaction = inner.autocommit and not scope.autocommit
                if leaves_the_transaction:
                    out.append(ops.TransactionControl("COMMIT", self.locate(statement)))
                returned = self._statements(statement.body, inner, out)
                if leaves_the_transaction:
                    out.append(ops.TransactionControl("BEGIN", self.locate(statement)))
                if returned:
                    return True
            elif isinstance(statement, ast.If):
                branch = self._dialect_branch(statement.test, scope)
                guard = self._existence_guard(statement.test, scope) if branch is None else None
                for body, taken in ((statement.body, branch is not False), (statement.orelse, branch is not True)):
                    if not taken:
                        continue
                    found: list = []
                    if self._statements(body, scope, found, once=branch is not None) and branch is not None:
                        out += found
                        return True
                    if branch is None and guard is None:
                        self._run_time_condition(found)
                    out += _guarded(found, *guard) if guard is not None else found
                    guard = (guard[0], not guard[1]) if guard is not None else None
            elif isinstance(statement, ast.For):
                items = self._literal_items(statement.iter, scope)
                targets = _loop_names(statement.target)
                if items is not None and targets is not None:
                    for item in items:  # a loop over a literal list or dict: once per item, the names bound
                        parts = (item,) if len(targets) == 1 else item.args if item.kind == "seq" else ()
                        if len(parts) != len(targets):
                            break
                        scope.locals.update(zip(targets, parts))
                        self._statements(statement.body, scope, out)
                    for name in targets:
                        scope.locals.pop(name, None)
                else:
                    self._statements(statement.body, scope, out, once=False)
                self._statements(statement.orelse, scope, out)
            elif isinstance(statement, ast.Try) and any(_swallows(handler) for handler in statement.handlers):
                found = []
                self._statements(statement.body, scope, found, once=False)
                self._run_time_condition(found)  # what fails is caught
                out += found
                self._statements(statement.orelse, scope, out)
            elif isinstance(statement, ast.Try):
                self._statements(statement.body, scope, out)
                self._statements(statement.orelse, scope, out)
            elif isinstance(statement, ast.While):
                self._statements(statement.body, scope, out, once=False)
                self._statements(statement.orelse, scope, out)
        return False

    def _run_time_condition(self, operations: list) -> None:
        """`operations` run only as the database is when the migration runs (a test SchemaLens
        does not decide, an exception caught): a failure of theirs on an empty database is no
        failure of the migration."""
        self.conditional += [operation.location for operation in operations]

    def _existence_guard(self, test: ast.expr, scope: "_Scope") -> Optional[tuple[str, bool]]:
        """(name, True) for a test that the object `name` exists, looked up at run time: `if
        "migrate_version" in inspector.get_table_names():`, `if inspector.has_table("x"):`;
        (name, False) for `not in` or `not ...`. None for any other test, and for a name looked
        up in a constant list."""
        exists = True
        while isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            test, exists = test.operand, not exists
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "has_table" \
                and test.args and isinstance(test.args[0], ast.Constant) and isinstance(test.args[0].value, str):
            return test.args[0].value, exists
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.In, ast.NotIn))
                and isinstance(test.left, ast.Constant) and isinstance(test.left.value, str)):
            return None
        looked_in = self.world.value_of(scope.build(test.comparators[0]))
        if looked_in is None or looked_in.kind in ("seq", "dict", "const"):
            return None
        return test.left.value, exists == isinstance(test.ops[0], ast.In)

    def _literal_items(self, node: ast.expr, scope: "_Scope") -> Optional[tuple[Expr, ...]]:
        """The items a loop goes through: a literal list, a dict's keys, or its `.keys()`,
        `.values()` or `.items()` (as (key, value) pairs), or lists of those added together."""
        view = None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            # phoenix: `for table, column in _LOG_TABLE_FK_INDEXES + _USER_ID_FK_INDEXES:`
            left, right = self._literal_items(node.left, scope), self._literal_items(node.right, scope)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.args \
                and node.func.attr in ("keys", "values", "items"):
            view, node = node.func.attr, node.func.value
        value = self.world.value_of(scope.build(node))
        if value is not None and value.kind == "seq" and view is None:
            return value.args
        if value is not None and value.kind == "dict":
            if view == "values":
                return tuple(item for _key, item in value.items)
            if view == "items":
                return tuple(Expr("seq", key.source, key.location, value="tuple", args=(key, item)) for key, item in value.items)
            return tuple(key for key, _item in value.items)
        return None

    def _dialect_branch(self, test: ast.expr, scope: "_Scope") -> Optional[bool]:
        """True or False when `test` compares the connection's dialect or URL with a dialect
        name (`url.startswith("mysql")`, `bind.dialect.name == "postgresql"`); None otherwise,
        and then both branches are read."""
        if isinstance(test, ast.BoolOp):
            values = [self._dialect_branch(value, scope) for value in test.values]
            if isinstance(test.op, ast.And):
                return False if False in values else None if None in values else True
            return True if True in values else None if None in values else False
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self._dialect_branch(test.operand, scope)
            return None if inner is None else not inner
        if isinstance(test, ast.Name) and test.id in scope.values:
            return self._dialect_branch(scope.values[test.id], scope)
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and not test.args and not test.keywords \
                and test.func.id in self.functions and scope.depth < HELPER_DEPTH:
            # a function of the file that returns such a test (mealie: `def is_postgres(): return
            # op.get_context().dialect.name == "postgresql"`)
            returned = _returned(self.functions[test.func.id])
            function_scope = self._function_scope(self.functions[test.func.id], {}, scope.depth + 1)
            return self._dialect_branch(returned, function_scope) if returned is not None else None
        if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr in ("startswith", "endswith") \
                and len(test.args) == 1:
            subject = self._dialect_text(test.func.value, scope)
            candidates = self._constant_strings(test.args[0], scope)
            if subject is None or candidates is None:
                return None
            check = str.startswith if test.func.attr == "startswith" else str.endswith
            return any(check(text, candidate) for text in subject for candidate in candidates)
        if isinstance(test, (ast.Name, ast.Attribute)) or isinstance(test, ast.Call) and not test.args \
                and not test.keywords and isinstance(test.func, (ast.Name, ast.Attribute)):
            engine = _flag_engine(test.func if isinstance(test, ast.Call) else test)
            return None if engine is None else engine == self.dialect
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, operator, right = test.left, test.ops[0], test.comparators[0]
            if isinstance(operator, (ast.Is, ast.IsNot)) and isinstance(right, ast.Constant) and isinstance(right.value, bool):
                inner = self._dialect_branch(left, scope)
                if inner is None:
                    return None
                return (inner is right.value) if isinstance(operator, ast.Is) else (inner is not right.value)
            subject = self._dialect_text(left, scope) or self._dialect_text(right, scope)
            other = right if self._dialect_text(left, scope) else left
            candidates = self._constant_strings(other, scope)
            if subject is None or candidates is None:
                return None
            matches = any(text == candidate for text in subject for candidate in candidates)
            if isinstance(operator, (ast.Eq, ast.In)):
                return matches
            if isinstance(operator, (ast.NotEq, ast.NotIn)):
                return not matches
        return None

    def _dialect_text(self, node: ast.expr, scope: "_Scope") -> Optional[tuple[str, ...]]:
        """What a dialect name or database URL expression reads as for the workspace's dialect."""
        if isinstance(node, ast.Name) and node.id in scope.values:
            return self._dialect_text(scope.values[node.id], scope)
        source = self.source.segment(node)
        if re.search(r"\bdialect\b|\bengine\.name$", source):  # Engine.name is its dialect's (keystone)
            return _DIALECT_NAMES.get(self.dialect, (self.dialect,))
        if re.search(r"\burl\b", source, re.IGNORECASE):
            return tuple(f"{name}://" for name in _DIALECT_NAMES.get(self.dialect, (self.dialect,)))
        return None

    def _constant_strings(self, node: ast.expr, scope: "_Scope") -> Optional[tuple[str, ...]]:
        if isinstance(node, ast.Name):
            # a name the function bound, or a constant of the module (manila: `MYSQL_ENGINE = 'mysql'`)
            if node.id in scope.values:
                return self._constant_strings(scope.values[node.id], scope)
            value = self.world.const(self.header[node.id]) if node.id in self.header else None
            return (value,) if isinstance(value, str) else None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return (node.value,)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            return tuple(e.value for e in node.elts)
        return None

    def _call(self, node: ast.Call, scope: "_Scope", out: list) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in self.functions and func.id not in ("upgrade", "downgrade") \
                and scope.depth < HELPER_DEPTH:
            self._helper(self.functions[func.id], node, scope, out)
            return
        if not isinstance(func, ast.Attribute):
            self._helper_elsewhere(scope.build(node), node, out)
            return
        owner = func.value
        # `connection.exec_driver_sql(text)` (SQLAlchemy 1.4+) runs its SQL as execute() does (letta)
        method = "execute" if func.attr == "exec_driver_sql" else func.attr
        expr = _unpacked(scope.build(node))
        batch_table = scope.batches.get(owner.id) if isinstance(owner, ast.Name) else None
        owner_name = scope.build(owner).name or ""
        if method in ("create", "drop") and (node.args or any(k.arg == "bind" for k in node.keywords)):
            out += self._type_ddl(method, scope.build(owner), expr, self.locate(node))
            return
        is_op = owner_name in ("alembic.op", "op") or owner_name.endswith(".op")
        is_connection_execute = method == "execute" and not is_op and batch_table is None
        if not (is_op or batch_table is not None or is_connection_execute):
            self._helper_elsewhere(expr, node, out)
            return
        location = self.locate(node)
        if is_connection_execute and not scope.autocommit and _autocommit_connection(owner, scope):
            # letta: `connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(...)`
            # runs outside the revision's transaction, as in an autocommit_block()
            out.append(ops.TransactionControl("COMMIT", location))
            self._call(node, scope.autocommitted(), out)
            out.append(ops.TransactionControl("BEGIN", location))
            return
        translate = getattr(self, f"_op_{_GEOSPATIAL.get(method, method)}", None)
        if translate is None:
            if (is_op or batch_table is not None) and method not in _NOT_OPERATIONS:
                out.append(ops.UnsupportedStatement(f"op.{method}", location))
            return
        try:
            translated = translate(expr, location, batch_table, scope.autocommit)
        except (IndexError, TypeError, AttributeError, ValueError) as error:
            self.errors.append(ExtractionError(location, _("cannot read %(call)s: %(error)s", call="op." + method + "()",
                                                           error=str(error)), kind="unsupported"))
            return
        for operation in translated:
            missing = _missing_name(operation, expr)
            if missing:
                self.unread.append(self.reading)
                self.not_replayed.setdefault(("op." + method + "()", missing), []).append(location)
                creates = _CREATES.get(type(operation).__name__)
                if creates is not None and (creates != "column" or getattr(operation, "new_name", True)):
                    out.append(ops.NotReplayed(location, creates))
                continue
            out.append(self._with_final_names(operation))

    def _type_ddl(self, method: str, owner: Expr, call: Expr, location: Location) -> list:
        """`sa.Enum(..., name="status").create(op.get_bind())` and `.drop(bind)`, on a type
        written there or bound to a name: SQLAlchemy's CREATE TYPE and DROP TYPE (`checkfirst=True`
        only when it does not exist, or does); the same of a `Table(...)` (manila's first revision
        creates its tables so): CREATE TABLE and DROP TABLE. Anything else called `create` is not
        DDL here."""
        checkfirst = self.world.const(call.kwarg("checkfirst")) is True
        if owner.kind == "call" and self._member(owner) == "Table":
            return self._table_ddl(method, owner, location, checkfirst)
        _normalized, _raw, enum = self._type(owner)
        if enum is None or not enum.name:
            return []
        if method == "create":
            return [ops.CreateEnum(enum, location, if_not_exists=checkfirst)]
        return [ops.DropType(enum.name, location, enum.schema, if_exists=checkfirst)]

    def _table_ddl(self, method: str, table: Expr, location: Location, checkfirst: bool) -> list:
        """`Table(name, metadata, *elements).create(bind)` or `.drop(bind)`: read as Alembic's
        `op.create_table(name, *elements)` and `op.drop_table(name)` are."""
        if len(table.args) < 2 or table.args[1].starred:
            return []
        as_written = replace(table, args=(table.args[0], *table.args[2:]))
        if method == "drop":
            return [replace(drop, if_exists=checkfirst) for drop in self._op_drop_table(as_written, location, None, False)
                    if drop.table is not None]
        created = self._op_create_table(as_written, table.location, None, False)  # where its columns are written
        return [replace(operation, if_not_exists=checkfirst) if isinstance(operation, ops.CreateTable) else operation
                for operation in created] if created and getattr(created[0], "table", None) is not None else []

    def _helper_elsewhere(self, call: Expr, node: ast.Call, out: list) -> None:
        """A call of a function another module may define, through this file's imports: the
        index puts that function's operations here if the workspace defines it."""
        root = node.func
        while isinstance(root, ast.Attribute):
            root = root.value
        name = call.name or ""
        if isinstance(root, ast.Name) and root.id in self.imported and name.startswith(self.imported[root.id]) \
                and _DOTTED_NAME.fullmatch(name) and not name.startswith(_LIBRARY_PACKAGES):
            arguments = tuple(self.world.value_of(argument) or argument for argument in call.args)
            keywords = tuple((keyword, self.world.value_of(value) or value) for keyword, value in call.kwargs)
            out.append(ops.HelperCall(name, self.locate(node), arguments, keywords))

    def _helper(self, function: ast.FunctionDef, call: ast.Call, scope: "_Scope", out: list) -> None:
        """A function of the revision file called from upgrade()/downgrade(): read in place,
        its parameters bound to the call's arguments."""
        arguments = self._bound_arguments(function, [scope.build(value) for value in call.args],
                                          [(k.arg, scope.build(k.value)) for k in call.keywords if k.arg is not None])
        inner = self._function_scope(function, arguments, scope.depth + 1)
        inner.batches, inner.autocommit = dict(scope.batches), scope.autocommit
        self._statements(function.body, inner, out)

    def _bound_arguments(self, function: ast.FunctionDef, arguments: list[Expr],
                         keywords: list[tuple[str, Expr]]) -> dict[str, Expr]:
        """Parameter name -> what a call passes it (`arguments`, `keywords`), else its default;
        `*args` takes the positional arguments left, as a tuple."""
        positional = [*function.args.posonlyargs, *function.args.args]
        parameters = [a.arg for a in (*positional, *function.args.kwonlyargs)]
        defaults = zip([a.arg for a in positional][len(positional) - len(function.args.defaults):], function.args.defaults)
        bound = {name: self.builder.build(value) for name, value in defaults}
        bound.update({a.arg: self.builder.build(d) for a, d in zip(function.args.kwonlyargs, function.args.kw_defaults)
                      if d is not None})
        given = [argument for argument in arguments if not argument.starred]
        bound.update(zip(parameters, given[:len(positional)]))
        bound.update({name: value for name, value in keywords if name in parameters})
        rest = given[len(positional):]
        if function.args.vararg is not None and rest and len(given) == len(arguments):
            bound[function.args.vararg.arg] = Expr("seq", ", ".join(item.source for item in rest), rest[0].location,
                                                   value="tuple", args=tuple(rest))
        return bound

    def _with_final_names(self, operation):
        """`operation` with those of its own constraints' and index's names given through op.f()
        so far: the only ones the replay asks about. The revision's every op.f() name so far, on
        each operation, grew with the file (polar's squashed revision: 460 indexes each with up to
        1,000 names, four fifths of its parse, made, pickled and loaded on the first look's path)."""
        if getattr(operation, "named_by_convention", False) and self.final_names:
            elements = (*getattr(operation, "constraints", ()), getattr(operation, "constraint", None),
                        getattr(operation, "index", None))
            own = {element.name for element in elements if element is not None}
            return replace(operation, final_names=frozenset(own & self.final_names))
        return operation

    # helpers for arguments

    def _arg(self, call: Expr, position: int, keyword: str) -> Optional[Expr]:
        value = call.kwarg(keyword)
        if value is None and len(call.args) > position and not call.args[position].starred:
            value = call.args[position]
        return value

    def _str(self, call: Expr, position: int, keyword: str) -> Optional[str]:
        value = self._arg(call, position, keyword)
        if value is not None and value.kind == "call" and _is_final_name(value):
            value = value.args[0] if value.args else None
            name = self.world.const(value) if value is not None else None
            if isinstance(name, str):
                # SQLAlchemy cuts a final name over 63 characters as it does a convention's (skyvern)
                name = sqlalchemy_truncated(name)
                self.final_names.add(name)
                return name
        constant = self.world.const(value) if value is not None else None
        return constant if isinstance(constant, str) else self._folded_string(value)

    def _folded_string(self, expr: Optional[Expr]) -> Optional[str]:
        """A string built from constants only: an f-string, `+`, `%` or `.format` of the file's
        constants, its loop variables and small functions of its own (tracecat: `for table, old,
        new in RENAMES: op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')`)."""
        if expr is None or expr.kind not in ("fstring", "binop", "call"):
            return None
        try:
            value = Evaluator(self.world).value(expr)
        except (Unknown, RecursionError, TypeError, ValueError, AttributeError, KeyError, IndexError):
            return None
        return value if isinstance(value, str) else None

    def _strings(self, value: Optional[Expr]) -> tuple[str, ...]:
        if value is None:
            return ()
        value = self.world.value_of(value) or value
        if value.kind == "seq":
            return tuple(self._column_name(item) for item in value.args)
        return (self._column_name(value),)

    def _column_name(self, item: Expr) -> str:
        constant = self.world.const(item)
        if isinstance(constant, str):
            return constant
        if item.kind == "call" and sa_member(self.world.resolve(item.name)) in ("text", "sql.text", "literal_column"):
            inner = self.world.const(item.args[0]) if item.args else None
            return inner if isinstance(inner, str) else item.source
        return item.source

    def _bool(self, call: Expr, keyword: str, default: bool = False) -> bool:
        value = call.kwarg(keyword)
        constant = self.world.const(value) if value is not None else None
        return constant if isinstance(constant, bool) else default

    def _text(self, value: Optional[Expr]) -> Optional[str]:
        """SQL text of a string, a module constant or `sa.text("...")`."""
        if value is None:
            return None
        constant = self.world.const(value)
        if isinstance(constant, str):
            return constant
        if value.kind == "call" and value.args and (sa_member(self.world.resolve(value.name)) or "").split(".")[-1] in ("text", "literal_column"):
            return self._text(value.args[0])
        return None

    def _member(self, expr: Expr) -> str:
        return (sa_member(self.world.resolve(expr.name)) or expr.name or "").split(".")[-1]

    def _type(self, expr: Optional[Expr]) -> tuple[str, str, Optional[EnumType]]:
        if expr is None:
            return "unknown", "", None
        if expr.kind == "subscript":  # an entry of a dict (jupyterhub: `item['type']` in a loop)
            expr = self.world.value_of(expr) or expr
        result = self.types.of_expr(expr)
        if result is None:
            # A type imported from the project or another library (prefect's own `JSON`, a
            # TypeDecorator over JSONB) goes by its module path, never by a PostgreSQL type of
            # the same name: the comparisons treat it as unread (drift.comparable_type).
            qualified = self.world.resolve(expr.name) if expr.kind in ("name", "call") and expr.name else None
            if qualified is None or "." not in qualified:
                return normalize_type(expr.source), expr.source, None
            arguments = expr.source[expr.source.index("("):] if expr.kind == "call" and "(" in expr.source else ""
            return normalize_type(qualified + arguments), expr.source, None
        return normalize_type(result.text), expr.source, result.enum

    def _creates_type(self, type_expr: Expr) -> bool:
        """A native enum type a CREATE TABLE creates: every one but the dialect's
        `postgresql.ENUM(..., create_type=False)` (SQLAlchemy's own `Enum` ignores the flag)."""
        written = self.world.value_of(type_expr) or type_expr if type_expr.kind == "name" else type_expr
        flag = written.kwarg("create_type") if written.kind == "call" and self._member(written) == "ENUM" else None
        return flag is None or self.world.const(flag) is not False

    # column definitions

    def _column(self, expr: Expr, table: str, out_constraints: list, out_enums: list,
                out_indexes: list, creating_table: bool = False) -> Optional[Column]:
        if expr.kind != "call" or self._member(expr) != "Column":
            return None
        args = list(expr.args)
        name = self.world.const(args[0]) if args else None
        if isinstance(name, str):
            args = args[1:]
        else:
            name = self._str(expr, 99, "name")
        if not isinstance(name, str):
            return None
        type_expr = None
        foreign_keys = []
        for argument in args:
            member = self._member(argument) if argument.kind in ("call", "name") else ""
            if member == "ForeignKey":
                foreign_keys.append(argument)
            elif member in ("Identity", "Sequence", "Computed", "CheckConstraint"):
                continue
            elif type_expr is None:
                type_expr = argument
        type_expr = expr.kwarg("type_") or type_expr
        normalized, raw, enum = self._type(type_expr)
        if enum is not None and self._creates_type(type_expr):
            out_enums.append(enum)
        location = expr.location
        primary = self._bool(expr, "primary_key")
        nullable_expr = expr.kwarg("nullable")
        nullable = self.world.const(nullable_expr) if nullable_expr is not None else not primary
        server_default = self._server_default(expr.kwarg("server_default"))
        identity = generated = None
        for argument in args:
            if argument.kind != "call":
                continue
            if self._member(argument) == "Identity":
                identity, nullable = ("always" if self._bool(argument, "always") else "by default"), False
            elif self._member(argument) == "Computed" and argument.args:
                # Computed(..., persisted=False) would be a virtual column (PostgreSQL 18); stored otherwise.
                persisted = argument.kwarg("persisted")
                if persisted is None or self.world.const(persisted) is not False:
                    generated = self._text(argument.args[0]) or self.world.const(argument.args[0]) or argument.args[0].source
        for fk in foreign_keys:
            if creating_table and _added_later(fk):
                continue
            target = self._str(fk, 0, "column")  # ckan: ForeignKey(column.replace('_', '.')) in a loop
            if isinstance(target, str) and "." in target:
                *schema, ref_table, ref_column = target.split(".")
                out_constraints.append(ForeignKey(
                    self._str(fk, 99, "name"), (name,), ref_table, (ref_column,), fk.location,
                    ref_schema=schema[-1] if schema else None, on_delete=_upper(self._str(fk, 99, "ondelete")),
                    on_update=_upper(self._str(fk, 99, "onupdate")), deferrable=self._bool(fk, "deferrable"),
                    initially=_upper(self._str(fk, 99, "initially"))))
        # `sa.Column("kind", sa.String, sa.CheckConstraint("kind IN (...)", name="valid_kind"))`
        # (phoenix): a CHECK of the table, named by the naming convention as any other
        out_constraints += [self._table_constraint(argument) for argument in args
                            if argument.kind == "call" and self._member(argument) == "CheckConstraint" and argument.args]
        # unique=True with index=True is a unique index, as SQLAlchemy builds it.
        if self._bool(expr, "unique") and not self._bool(expr, "index"):
            out_constraints.append(UniqueConstraint(None, (name,), location))
        if self._bool(expr, "index"):
            out_indexes.append(Index(None, (name,), location, unique=self._bool(expr, "unique")))
        if primary:
            out_constraints.append(PrimaryKey(None, (name,), location))
        return Column(name=name, type=normalized, raw_type=raw, nullable=bool(nullable), location=location,
                      server_default=server_default, identity=identity, primary_key=primary,
                      comment=self._str(expr, 99, "comment"), generated=generated)

    def _server_default(self, value: Optional[Expr]) -> Optional[str]:
        if value is None:
            return None
        constant = self.world.const(value)
        if isinstance(constant, str):
            return "'" + constant.replace("'", "''") + "'"
        text = self._text(value)
        if text is not None:
            return text
        if value.kind == "call" and self._member(value) in SQL_CONSTANTS:  # sa.true() compiles to true
            return SQL_CONSTANTS[self._member(value)]
        if value.kind == "call" and value.name and value.name.split(".")[-2:-1] == ["func"]:
            return f"{value.name.split('.')[-1]}()"
        if value.kind == "call" and sa_member(value.name) is None:
            # `server_default=get_node()`: a string computed when the migration runs, which
            # SQLAlchemy writes as a literal (privacyidea): a constant of unknown value
            return UNKNOWN
        return value.source

    def _table_constraint(self, expr: Expr) -> Optional[ops.Constraint]:
        member = self._member(expr)
        name = self._str(expr, 99, "name")
        if member == "PrimaryKeyConstraint":
            return PrimaryKey(name, tuple(self._column_name(a) for a in expr.args), expr.location)
        if member == "UniqueConstraint":
            return UniqueConstraint(name, tuple(self._column_name(a) for a in expr.args), expr.location,
                                    deferrable=self._bool(expr, "deferrable"))
        if member == "CheckConstraint":
            return CheckConstraint(name, self._text(expr.args[0]) or expr.args[0].source, expr.location)
        if member == "ForeignKeyConstraint":
            local = self._strings(self._arg(expr, 0, "columns"))
            remote = self._strings(self._arg(expr, 1, "refcolumns"))
            if not remote:
                return None
            *schema, ref_table, _column = remote[0].split(".") if remote[0].count(".") >= 1 else ("", remote[0], "")
            return ForeignKey(name, local, ref_table, tuple(r.split(".")[-1] for r in remote), expr.location,
                              ref_schema=schema[-1] if schema and schema[-1] else None,
                              on_delete=_upper(self._str(expr, 99, "ondelete")), on_update=_upper(self._str(expr, 99, "onupdate")),
                              deferrable=self._bool(expr, "deferrable"), initially=_upper(self._str(expr, 99, "initially")))
        return None

    # op.* translations: each returns a list of operations

    def _op_create_table(self, call: Expr, location: Location, batch: Optional[str], autocommit: bool):
        table = self._str(call, 0, "table_name")
        schema = self._str(call, 99, "schema")
        columns, constraints, enums, indexes = [], [], [], []
        keyed: list[PrimaryKey] = []  # columns written with primary_key=True
        table_indexes: list[ops.CreateIndex] = []
        unread = [argument for argument in call.args[1:] if argument.starred]
        if unread:
            self.errors.append(ExtractionError(location, _(
                "op.create_table(%(table)s, *%(columns)s): what is passed at run time is not read; "
                "the table is not compared with the models", table=table,
                columns=" ".join(unread[0].source.split())[:60]), kind="opaque"))
        for argument in call.args[1:]:
            if argument.starred:
                continue
            column_constraints: list = []
            column = self._column(argument, table, column_constraints, enums, indexes, creating_table=True)
            if column is not None:
                columns.append(column)
                keyed += [c for c in column_constraints if isinstance(c, PrimaryKey)]
                constraints += [c for c in column_constraints if not isinstance(c, PrimaryKey)]
                continue
            if argument.kind == "call" and self._member(argument) == "Index":
                # Alembic creates the table's indexes after it (ckan, indico: sa.Index(...) among the columns)
                table_indexes += self._op_create_index(_as_create_index(argument, table), argument.location, None, False)
                continue
            constraint = self._table_constraint(argument) if argument.kind == "call" else None
            if constraint is not None and not _added_later(argument):
                constraints.append(constraint)
            elif argument.kind != "const" and self._member(argument) not in _TABLE_ELEMENTS:
                # built by code of the project (privacyidea's `sequence_id_column(op, SEQUENCE_NAME)`)
                unread.append(argument)
                self.errors.append(ExtractionError(argument.location, _(
                    "op.create_table(%(table)s, ..., %(element)s): a column or constraint built by code that is "
                    "not read; the table is not compared with the models", table=table,
                    element=" ".join(argument.source.split())[:60]), kind="opaque"))
        # SQLAlchemy makes one primary key of every primary_key=True column (a composite key when
        # there are several), unless a PrimaryKeyConstraint of the table names it
        if keyed and not any(isinstance(c, PrimaryKey) for c in constraints):
            constraints.append(PrimaryKey(None, tuple(c for pk in keyed for c in pk.columns), keyed[0].location))
        partition_by = self._str(call, 99, "postgresql_partition_by")
        # SQLAlchemy creates each named type once per run, however many columns and tables use it
        created = {(enum.schema, enum.name): enum for enum in enums if enum.name}
        result = [ops.CreateEnum(enum, location, once_per_run=True) for enum in created.values()]
        result.append(ops.CreateTable(table, location, schema, tuple(columns), tuple(constraints), partition_by,
                                      named_by_convention=True, partly_read=bool(unread)))
        result += [ops.CreateIndex(index, table, location, schema, named_by_convention=True) for index in indexes]
        result += [replace(create, schema=schema) for create in table_indexes]
        comment = self._str(call, 99, "comment")
        if comment:
            result.append(ops.SetTableComment(table, comment, location, schema))
        return result

    def _op_drop_table(self, call, location, batch, autocommit):
        return [ops.DropTable(self._str(call, 0, "table_name"), location, self._str(call, 99, "schema"),
                              if_exists=self._bool(call, "if_exists"))]

    def _op_rename_table(self, call, location, batch, autocommit):
        return [ops.RenameTable(self._str(call, 0, "old_table_name"), self._str(call, 1, "new_table_name"), location,
                                self._str(call, 99, "schema"))]

    def _op_add_column(self, call, location, batch, autocommit):
        table = batch or self._str(call, 0, "table_name")
        column_expr = self._arg(call, 0 if batch else 1, "column")
        constraints, indexes = [], []
        # Alembic's add_column creates no type (a new enum type is created first, by `.create(bind)`)
        column = self._column(column_expr, table, constraints, [], indexes)
        # Alembic adds the column's constraints after it, all but a primary key: primary_key=True
        # on a column added to a table makes it NOT NULL, not the table's key (onyx)
        constraints = [c for c in constraints if not isinstance(c, PrimaryKey)]
        schema = self._str(call, 99, "schema")
        result = [ops.AddColumn(table, column, location, schema, constraints=tuple(constraints), named_by_convention=True)]
        result += [ops.CreateIndex(index, table, location, schema, named_by_convention=True) for index in indexes]
        return result

    def _op_drop_column(self, call, location, batch, autocommit):
        table = batch or self._str(call, 0, "table_name")
        position = 0 if batch else 1
        column = self._str(call, position, "column_name")
        given = self._arg(call, position, "column_name")
        if column is None and given is not None and given.kind == "call" and self._member(given) == "Column":
            column = self._str(given, 0, "name")  # jupyterhub: `op.drop_column('groups', sa.Column('properties'))`
        return [ops.DropColumn(table, column, location, self._str(call, 99, "schema"))]

    def _op_alter_column(self, call, location, batch, autocommit):
        table = batch or self._str(call, 0, "table_name")
        column = self._str(call, 0 if batch else 1, "column_name")
        type_expr = call.kwarg("type_")
        normalized = raw = None
        result = []
        if type_expr is not None:  # a type Alembic's alter_column does not create: `.create(bind)` does, before
            normalized, raw, _enum = self._type(type_expr)
        nullable_expr = call.kwarg("nullable")
        nullable = self.world.const(nullable_expr) if nullable_expr is not None else None
        default_expr = call.kwarg("server_default")
        server_default = None
        if default_expr is not None:
            server_default = ops.DROP_DEFAULT if self.world.const(default_expr) is None and default_expr.kind == "const" \
                else self._server_default(default_expr)
        using = self._str(call, 99, "postgresql_using")
        result.append(ops.AlterColumn(table, column, location, self._str(call, 99, "schema"), type=normalized, raw_type=raw,
                                      nullable=nullable if isinstance(nullable, bool) else None,
                                      server_default=server_default, new_name=self._str(call, 99, "new_column_name"),
                                      comment=self._str(call, 99, "comment"), using=using))
        return result

    def _op_create_index(self, call, location, batch, autocommit):
        name = self._str(call, 0, "index_name")
        table = batch or self._str(call, 1, "table_name")
        columns_expr = self._arg(call, 1 if batch else 2, "columns")
        items = (self.world.value_of(columns_expr) or columns_expr) if columns_expr is not None else None
        keys = items.args if items is not None and items.kind == "seq" else ((items,) if items is not None else ())
        columns, expressions = [], []
        for key in keys:
            constant = self.world.const(key)
            text = constant if isinstance(constant, str) else (self._text(key) or key.source)
            ordered = ordered_column(text) if not isinstance(constant, str) else None
            columns.append(ordered or text)
            expressions.append(not isinstance(constant, str) and ordered is None)
        where = self._text(call.kwarg("postgresql_where"))
        using = self._str(call, 99, "postgresql_using")
        ops_expr = call.kwarg("postgresql_ops")
        opclasses = ()
        if ops_expr is not None and ops_expr.kind == "dict":
            opclasses = tuple((self.world.const(k), self.world.const(v)) for k, v in ops_expr.items
                              if isinstance(self.world.const(k), str) and isinstance(self.world.const(v), str))
        include = self._strings(call.kwarg("postgresql_include"))
        index = Index(name, tuple(columns), location, unique=self._bool(call, "unique"), where=where,
                      using=None if (using or "btree").lower() == "btree" else using.lower(), opclasses=opclasses,
                      include=include, expressions=tuple(expressions), concurrently=self._bool(call, "postgresql_concurrently"))
        return [ops.CreateIndex(index, table, location, self._str(call, 99, "schema"), self._bool(call, "if_not_exists"),
                                named_by_convention=True)]

    def _op_drop_index(self, call, location, batch, autocommit):
        return [ops.DropIndex(self._str(call, 0, "index_name"), location, batch or self._str(call, 1, "table_name"),
                              self._str(call, 99, "schema"), self._bool(call, "if_exists"),
                              self._bool(call, "postgresql_concurrently"))]

    def _op_create_foreign_key(self, call, location, batch, autocommit):
        offset = 1 if batch else 0
        name = self._str(call, 0, "constraint_name")
        table = batch or self._str(call, 1, "source_table")
        referent = self._str(call, 2 - offset, "referent_table")
        local = self._strings(self._arg(call, 3 - offset, "local_cols"))
        remote = self._strings(self._arg(call, 4 - offset, "remote_cols"))
        fk = ForeignKey(name, local, referent, remote, location, ref_schema=self._str(call, 99, "referent_schema"),
                        on_delete=_upper(self._str(call, 99, "ondelete")), on_update=_upper(self._str(call, 99, "onupdate")),
                        deferrable=self._bool(call, "deferrable"), initially=_upper(self._str(call, 99, "initially")),
                        not_valid=self._bool(call, "postgresql_not_valid"))
        return [ops.AddConstraint(table, fk, location, self._str(call, 99, "source_schema"), named_by_convention=True)]

    def _op_create_unique_constraint(self, call, location, batch, autocommit):
        table = batch or self._str(call, 1, "table_name")
        columns = self._strings(self._arg(call, 1 if batch else 2, "columns"))
        return [ops.AddConstraint(table, UniqueConstraint(self._str(call, 0, "constraint_name"), columns, location),
                                  location, self._str(call, 99, "schema"), named_by_convention=True)]

    def _op_create_primary_key(self, call, location, batch, autocommit):
        table = batch or self._str(call, 1, "table_name")
        columns = self._strings(self._arg(call, 1 if batch else 2, "columns"))
        return [ops.AddConstraint(table, PrimaryKey(self._str(call, 0, "constraint_name"), columns, location),
                                  location, self._str(call, 99, "schema"), named_by_convention=True)]

    def _op_create_check_constraint(self, call, location, batch, autocommit):
        table = batch or self._str(call, 1, "table_name")
        condition = self._arg(call, 1 if batch else 2, "condition")
        expression = self._text(condition) or (condition.source if condition is not None else "")
        check = CheckConstraint(self._str(call, 0, "constraint_name"), expression, location,
                                not_valid=self._bool(call, "postgresql_not_valid"))
        return [ops.AddConstraint(table, check, location, self._str(call, 99, "schema"), named_by_convention=True)]

    def _op_drop_constraint(self, call, location, batch, autocommit):
        table = batch or self._str(call, 1, "table_name")
        return [ops.DropConstraint(table, self._str(call, 0, "constraint_name"), location, self._str(call, 99, "schema"),
                                   self._bool(call, "if_exists"), self._str(call, 2, "type_"))]

    def _op_execute(self, call, location, batch, autocommit):
        statement = self._arg(call, 0, "sqltext")
        if statement is None:
            return []
        source = self.world.value_of(statement) if statement.kind == "name" else statement
        while source is not None and source.kind == "call" and source.func is not None \
                and source.func.kind == "attribute" and source.func.value in _SAME_STATEMENT:
            source = source.func.func  # `text("...").bindparams(...)`
        if source is not None and source.kind == "call" and source.args and self._member(source) in ("text", "literal_column"):
            source = self.world.value_of(source.args[0]) if source.args[0].kind == "name" else source.args[0]
        text = self.world.const(source) if source is not None else None
        folded = None if isinstance(text, str) else self._folded_string(source)
        if folded is not None:  # built from the file's constants and loop variables: placed at the call
            extraction = sql_files.parse_sql(folded, self.path, embedded=True)
            self.errors.extend(dataclasses.replace(error, location=location) for error in extraction.errors)
            return [sql_files.relocated(operation, location) for operation in extraction.operations]
        if not isinstance(text, str):
            verb, table, schema = _core_statement(source if source is not None else statement, self.world.value_of)
            verb = verb or _written_verb(source)
            if verb == "SELECT":
                return []  # a read (a backfill's lookup): no schema or rows change
            if verb is not None:  # `table.insert().values(...)`: rows change, the schema does not
                return [ops.DataChange(verb, location, table, schema=schema)]
            reason = _("SQL built at run time is not analysed: %(source)s", source=" ".join(statement.source.split())[:80])
            self.errors.append(ExtractionError(location, reason, kind="opaque"))
            return [ops.Opaque(location, reason)]
        start = _string_content_start(source)
        if len(call.args) > 1 or any(keyword not in ("sqltext", "execution_options") for keyword, _value in call.kwargs):
            # `conn.execute("UPDATE t SET config=%s WHERE id=%s", config, id)` (quay): the driver puts
            # the values in, a tuple as a parenthesized list (indico: `WHERE id IN %s`); a NULL in
            # parentheses stands wherever a value may
            text = _DRIVER_PLACEHOLDER.sub(lambda match: "(NULL)".ljust(len(match.group(0))), text)
        extraction = sql_files.parse_sql(text, self.path, line_offset=start.line - 1, column_offset=start.column - 1,
                                         embedded=True)
        self.errors.extend(extraction.errors)
        return list(extraction.operations)

    def _op_rename_column(self, call, location, batch, autocommit):
        return self._op_alter_column(call, location, batch, autocommit)

    # alembic_utils entities: op.create_entity(PGFunction(...)) and friends, as the SQL they run

    def _op_create_entity(self, call, location, batch, autocommit):
        return self._entity_sql(call, location, replace=False)

    def _op_replace_entity(self, call, location, batch, autocommit):
        return self._entity_sql(call, location, replace=True)

    def _op_drop_entity(self, call, location, batch, autocommit):
        return self._entity_sql(call, location, drop=True)

    def _entity_sql(self, call: Expr, location: Location, replace: bool = False, drop: bool = False) -> list:
        entity = self.world.value_of(self._arg(call, 0, "target"))
        kind = (entity.name or "").rpartition(".")[2] if entity is not None and entity.kind == "call" else ""
        fields = {key: self.world.const(value) for key, value in entity.kwargs} if kind else {}
        sql = _entity_statement(kind, fields, replace, drop)
        if sql is None:
            reason = _("alembic_utils entity not analysed: %(source)s",
                       source=" ".join((entity.source if entity else call.source).split())[:80])

            self.errors.append(ExtractionError(location, reason, kind="opaque"))
            return [ops.Opaque(location, reason)]
        extraction = sql_files.parse_sql(sql, self.path, embedded=True)
        self.errors.extend(dataclasses.replace(error, location=location) for error in extraction.errors)
        return [sql_files.relocated(operation, location) for operation in extraction.operations]


def _entity_statement(kind: str, fields: dict, replace: bool, drop: bool) -> Optional[str]:
    """The SQL alembic_utils runs for an entity (its `to_sql_statement_create`/`_drop`), or None."""
    schema, signature, definition = fields.get("schema") or "public", fields.get("signature"), fields.get("definition")
    if not isinstance(signature, str):
        return None
    if kind == "PGExtension":
        return f'DROP EXTENSION "{signature}"' if drop else f'CREATE EXTENSION IF NOT EXISTS "{signature}" WITH SCHEMA {schema}'
    if not isinstance(definition, str) and not drop:
        return None
    if kind == "PGFunction":
        if drop:
            return f"DROP FUNCTION {schema}.{signature}"
        return f"CREATE {'OR REPLACE ' if replace else ''}FUNCTION {schema}.{signature} {definition}"
    if kind == "PGTrigger":
        table = fields.get("on_entity")
        if drop:
            return f"DROP TRIGGER {signature} ON {table}" if isinstance(table, str) else None
        constraint = "CONSTRAINT " if fields.get("is_constraint") else ""
        create = f"CREATE {constraint}TRIGGER {signature} {definition}"
        return f"DROP TRIGGER IF EXISTS {signature} ON {table}; {create}" if replace and isinstance(table, str) else create
    if kind in ("PGView", "PGMaterializedView"):
        materialized = "MATERIALIZED " if kind == "PGMaterializedView" else ""
        if drop:
            return f"DROP {materialized}VIEW {schema}.{signature}"
        return f"CREATE {'OR REPLACE ' if replace and not materialized else ''}{materialized}VIEW {schema}.{signature} AS {definition}"
    return None


def _is_final_name(call: Expr) -> bool:
    """`op.f("name")` / `conv("name")`: a name SQLAlchemy's naming convention leaves alone."""
    return (call.name or "").split(".")[-1] in ("f", "conv") and len(call.args) == 1


def _string_content_start(expr: Expr) -> Location:
    """Where the characters of a string literal start: after its prefix and opening quotes."""
    source = expr.source
    prefix_length = len(source) - len(source.lstrip("rRbBuUfF"))
    quote = source[prefix_length:prefix_length + 3]
    opening = 3 if quote in ('"""', "'''") else 1
    return Location(expr.location.path, expr.location.line, expr.location.column + prefix_length + opening)


HELPER_DEPTH = 4
# What an operation makes that a later one may need (an AlterColumn: when it renames the column).
_CREATES = {"CreateTable": "relation", "RenameTable": "relation", "AddColumn": "column", "AlterColumn": "column",
            "CreateIndex": "index", "AddConstraint": "constraint"}
# What a call of another module's function names: a dotted path through the imports.
_DOTTED_NAME = LazyPattern(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_LIBRARY_PACKAGES = ("alembic.", "sqlalchemy.", "sqlmodel.")
# `op` methods that give access to the migration context rather than change the schema.
_NOT_OPERATIONS = {"get_bind", "get_context", "f", "inline_literal", "implementation_for", "run_async"}
# geoalchemy2's alembic_helpers: the operations they extend to tables with geometry columns, whose
# spatial indexes they also manage (FitTrackee's `batch_op.add_geospatial_column`)
_GEOSPATIAL = {"add_geospatial_column": "add_column", "drop_geospatial_column": "drop_column",
               "create_geospatial_table": "create_table", "drop_geospatial_table": "drop_table",
               "create_geospatial_index": "create_index", "drop_geospatial_index": "drop_index"}
# How each dialect names itself in `dialect.name` and database URLs.
_DIALECT_NAMES = {"postgresql": ("postgresql", "postgres"), "mysql": ("mysql", "mariadb"), "sqlite": ("sqlite",)}


# A DBAPI driver's placeholders (psycopg2's and pymysql's format and pyformat paramstyles).
_DRIVER_PLACEHOLDER = LazyPattern(r"%\(\w+\)s|%s")


def _autocommit_connection(node: ast.expr, scope: "_Scope") -> bool:
    """`node` is a connection set to autocommit: `<bind>.execution_options(isolation_level=
    "AUTOCOMMIT")`, or a name bound to one."""
    if isinstance(node, ast.Name) and node.id in scope.values:
        node = scope.values[node.id]
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "execution_options" \
        and any(keyword.arg == "isolation_level" and isinstance(keyword.value, ast.Constant)
                and str(keyword.value.value).upper() == "AUTOCOMMIT" for keyword in node.keywords)


def _flag_engine(node: ast.expr) -> Optional[str]:
    """The engine a flag's name says the connection is (`settings.letta_pg_uri_no_default`,
    `is_postgres`, `USE_SQLITE`): one engine's word with a word of a connection (uri, url, engine,
    database...) or of a choice (is, use, using) beside it, no negation before the engine's word.
    None for any other name (`pg_trgm_installed` says nothing of the connection)."""
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""
    words = [word for word in re.split(r"[^a-z0-9]+", name.lower()) if word]
    engines = {position: _ENGINE_WORDS[word] for position, word in enumerate(words) if word in _ENGINE_WORDS}
    if len(set(engines.values())) != 1 or not _CONNECTION_WORDS & set(words):
        return None
    first = min(engines)
    if first and words[first - 1] in ("not", "no", "non", "without"):
        return None
    return next(iter(engines.values()))


_ENGINE_WORDS = {word: dialect for dialect, words in _DIALECT_NAMES.items() for word in words} | {"pg": "postgresql"}
_CONNECTION_WORDS = {"uri", "url", "dsn", "engine", "database", "db", "dialect", "backend", "driver", "connection",
                     "is", "use", "uses", "using"}


class _Scope:
    """What a function body has bound so far: local names (as expressions, substituted into the
    calls that use them), open batch_alter_table contexts, and whether an autocommit block is open."""

    def __init__(self, builder: ExprBuilder, local_values: dict[str, Expr], depth: int = 0) -> None:
        self.builder = builder
        self.locals: dict[str, Expr] = local_values
        self.values: dict[str, ast.expr] = {}  # the same names as written, for dialect tests
        self.batches: dict[str, str] = {}
        self.autocommit = False
        self.depth = depth
        self.uncertain = 0  # how many of the statements being read may run other than once (_statements)
        self.bound: list[str] = []  # the names `bind` bound, in order

    def child(self) -> "_Scope":
        inner = _Scope(self.builder, self.locals, self.depth)
        inner.values, inner.batches, inner.autocommit = self.values, dict(self.batches), self.autocommit
        inner.uncertain, inner.bound = self.uncertain, self.bound
        return inner

    def autocommitted(self) -> "_Scope":
        """This scope, inside an autocommit block."""
        inner = self.child()
        inner.autocommit = True
        return inner

    def bind(self, name: str, node: ast.expr) -> None:
        self.values[name] = node
        self.locals[name] = self.build(node)
        self.bound.append(name)

    def forget(self, name: str) -> None:
        """`name` no longer holds what it was bound to (`names.append(...)`, `names += ...`)."""
        self.values.pop(name, None)
        self.locals.pop(name, None)

    def build(self, node: ast.expr) -> Expr:
        expr = self.builder.build(node)
        if not self.locals or (expr.source.isascii() and self.locals.keys().isdisjoint(_IDENTIFIER.findall(expr.source))):
            return expr  # names no local: `_substituted` would give it back as it is (a squash's 2,000 calls)
        return _substituted(expr, self.locals)


# Methods that change a list, dict or set in place.
_CHANGING_METHODS = frozenset(("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
                               "update", "setdefault", "add", "discard", "popitem"))


def _changed_in_place(call: ast.Call, scope: _Scope) -> None:
    """A call that changes a local list, dict or set in place: a list written in the function
    grows by what `append` and `extend` add to it where they run once (glance builds the tables
    its loop drops with `table_names.append("artifacts")` after `table_names = []`); after any
    other change, what the name holds is not known."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr in _CHANGING_METHODS
            and isinstance(call.func.value, ast.Name)):
        return
    name, method = call.func.value.id, call.func.attr
    bound = scope.locals.get(name)
    if not scope.uncertain and bound is not None and bound.kind == "seq" and bound.value == "list" and method in ("append", "extend") \
            and len(call.args) == 1 and not call.keywords:
        added = scope.build(call.args[0])
        items = (added,) if method == "append" else added.args if added.kind == "seq" else None
        if items is not None:
            scope.values.pop(name, None)
            scope.locals[name] = replace(bound, args=(*bound.args, *items))
            return
    scope.forget(name)


# A name as written in ASCII text: an expression whose words are none of the local names names
# none (only a non-ASCII name is written otherwise than Python reads it: NFKC-normalized).
_IDENTIFIER = LazyPattern(r"[A-Za-z_][A-Za-z0-9_]*")


# Methods of a SQL statement that return it with parameters or options set: the same SQL runs.
_SAME_STATEMENT = ("bindparams", "columns", "execution_options")


def _substituted(expr: Expr, local_values: dict[str, Expr]) -> Expr:
    """`expr` with every name bound in the function replaced by what it was bound to."""
    if expr.kind == "name" and expr.name in local_values:
        value = local_values[expr.name]
        return replace(value, starred=True) if expr.starred else value  # `*columns` stays unpacked
    receiver, _, method = (expr.name or "").rpartition(".")
    if expr.kind == "call" and method in _SAME_STATEMENT and receiver in local_values:
        return local_values[receiver]  # `stmt = stmt.bindparams(id=id)`: stmt's SQL, parameters bound (lemur)
    if expr.kind == "call" and receiver in local_values and (local_values[receiver].kind == "const" or method in _CORE_VERBS):
        # `column.replace("_", ".")` on a loop's constant (ckan): a method of that value, for the
        # evaluator; `tbl.update()` on a table the function wrote: a statement on that table
        method_of = Expr("attribute", expr.func.source, expr.func.location, value=method, func=local_values[receiver])
        expr = replace(expr, name=None, func=method_of)
    if not (expr.args or expr.kwargs or expr.items or expr.func):
        return expr
    args = tuple(_substituted(a, local_values) for a in expr.args)
    kwargs = tuple((k, _substituted(v, local_values)) for k, v in expr.kwargs)
    items = tuple((_substituted(k, local_values), _substituted(v, local_values)) for k, v in expr.items)
    func = _substituted(expr.func, local_values) if expr.func is not None else None
    if func is expr.func and _same(args, expr.args) and _same((v for _, v in kwargs), (v for _, v in expr.kwargs)) \
            and _same((e for pair in items for e in pair), (e for pair in expr.items for e in pair)):
        return expr  # nothing bound inside it (most of a migration's calls)
    return replace(expr, args=args, kwargs=kwargs, items=items, func=func)


def _unpacked(call: Expr) -> Expr:
    """`call` with the items of a sequence it unpacks (`*columns`, bound to a tuple or list
    written in the file) passed one by one, as Python passes them."""
    if not any(argument.starred and argument.kind == "seq" for argument in call.args):
        return call
    return replace(call, args=tuple(item for argument in call.args
                                    for item in (argument.args if argument.starred and argument.kind == "seq" else (argument,))))


def _same(these: Iterable[Expr], those: Iterable[Expr]) -> bool:
    """Whether two sequences of expressions are the same objects, one for one."""
    return all(this is that for this, that in zip(these, those))


def _written_verb(source: Optional[Expr]) -> Optional[str]:
    """"SELECT" for an f-string whose written text starts a query (`f"SELECT ... WHERE id={kpi_id}"`,
    chaos_genius): whatever the values, it reads."""
    first = source.args[0] if source is not None and source.kind == "fstring" and source.args else None
    words = first.value.split() if first is not None and first.is_str else []
    if not words or words[0].upper() not in ("SELECT", "WITH"):
        return None
    written = " ".join(part.value for part in source.args if part.is_str).upper()
    return None if re.search(r"\b(INSERT|UPDATE|DELETE|MERGE|INTO)\b", written) else "SELECT"


def _as_create_index(index: Expr, table: Optional[str]) -> Expr:
    """`sa.Index(name, *columns, **options)` given to op.create_table, as the op.create_index(name,
    table, [columns], **options) that Alembic runs for it."""
    name = index.args[0] if index.args else Expr("const", "None", index.location)
    keys = Expr("seq", index.source, index.location, value="list", args=index.args[1:])
    return Expr("call", index.source, index.location, name="op.create_index",
                args=(name, Expr("const", repr(table), index.location, value=table), keys), kwargs=index.kwargs)


def _none_written(call: Expr) -> bool:
    """The object's name is given as the constant `None` (first argument, or by keyword)."""
    given = call.args[0] if call.args else next(
        (value for keyword, value in call.kwargs if keyword in ("constraint_name", "index_name", "name")), None)
    return given is not None and given.kind == "const" and given.value is None


# What op.create_table reads among its elements besides columns.
_TABLE_ELEMENTS = frozenset({"Index", "PrimaryKeyConstraint", "UniqueConstraint", "CheckConstraint", "ForeignKeyConstraint"})


def _added_later(foreign_key: Expr) -> bool:
    """`ForeignKey(..., use_alter=True)` or such a ForeignKeyConstraint: SQLAlchemy leaves it out of
    CREATE TABLE on PostgreSQL (for metadata.create_all to add with ALTER TABLE once every table
    exists), and op.create_table adds it nowhere: the database built by the revisions lacks it."""
    value = foreign_key.kwarg("use_alter")
    return value is not None and value.kind == "const" and value.value is True


# Operations on an object that exists already, by its name: without the name there is nothing to act on.
_BY_NAME = (ops.DropConstraint, ops.DropIndex, ops.RenameConstraint, ops.RenameIndex, ops.ValidateConstraint)


def _missing_name(operation, call: Expr) -> Optional[str]:
    """The name an operation needs but could not be read ("table name", "column", "name": onyx
    drops a constraint whose name it asks the inspector for), or None. A name written as `None`
    (autogenerate's `op.drop_constraint(None, ...)`) is read: it is what the revision says. So is a
    primary key's: a table has one (neutron asks the inspector for its name)."""
    if isinstance(operation, _BY_NAME) and operation.name is None and not _none_written(call) \
            and not (isinstance(operation, ops.DropConstraint) and operation.kind == "primary"):
        return _("name")
    for field in dataclasses.fields(operation):
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if required and field.name in ("table", "column") and getattr(operation, field.name) is None:
            return _("table name") if field.name == "table" else _("column")
    return None


def _assignment(statement: ast.stmt) -> tuple[Optional[str], Optional[ast.expr]]:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
        return statement.target.id, statement.value
    return None, None


def _swallows(handler: ast.ExceptHandler) -> bool:
    """An `except` that goes on after the failure: one that does not end by raising (logs, then
    `raise`, is no such handler)."""
    return not (handler.body and isinstance(handler.body[-1], ast.Raise))


def _returned(function: ast.FunctionDef) -> Optional[ast.expr]:
    """What a function of one `return` statement (after its docstring) returns, else None."""
    body = [statement for statement in function.body
            if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
    return body[0].value if len(body) == 1 and isinstance(body[0], ast.Return) else None


def _is_empty(function: ast.FunctionDef) -> bool:
    """Only `pass`, `...` or a docstring."""
    for statement in function.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
                and (isinstance(statement.value.value, str) or statement.value.value is Ellipsis):
            continue
        return False
    return True


def _upper(value: Optional[str]) -> Optional[str]:
    return value.upper() if isinstance(value, str) else None
