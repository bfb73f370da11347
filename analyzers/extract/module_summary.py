"""One Python file as plain data: its imports, classes with their attributes, module-level
assignments, calls and small functions, every expression an `Expr` whose names are qualified
through the file's imports. The index caches it by content; nothing keeps a syntax tree.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterable, NamedTuple, Optional, Union

from ..lazy_pattern import LazyPattern
from ..schema.model import ExtractionError, Location
from .python_names import (
    Expr,
    ExprBuilder,
    ImportedName,
    dotted,
    imports_of,
    package_of,
)
from .other_orms import LIBRARY_PACKAGES
from .python_source import PythonFile, first_line, parse_python
from .text_searches import may_run_migrations

if TYPE_CHECKING:
    from .alembic_revisions import MigrationHelpers


@dataclass(frozen=True, slots=True)
class ClassAttribute:
    """A name bound in a class body: `x = ...`, `x: A = ...`, `x: A`, or a declared_attr function
    (then `value` is what it returns and `annotation` its return annotation)."""

    name: str
    location: Location
    value: Optional[Expr] = None
    annotation: Optional[Expr] = None
    declared_attr: bool = False
    function: Optional["FunctionSummary"] = None  # a declared_attr's body, for the static evaluator
    # A declared_attr that maps a class at run time, `type(name, bases, {"__tablename__": ...})`
    # (SQLAlchemy's table-per-related pattern): the `__tablename__` of each class it builds.
    built_tablenames: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class ClassSummary:
    name: str
    qualified: str  # "<module>.<name>"
    location: Location
    bases: tuple[Expr, ...] = ()
    decorators: tuple[Expr, ...] = ()
    attributes: tuple[ClassAttribute, ...] = ()
    methods: tuple["FunctionSummary", ...] = ()  # the small straight-line ones, for the static evaluator
    transformed: tuple[str, ...] = ()  # attributes whose written value code transforms: @validates("x"), @x.setter
    # `__init_subclass__` assigns `cls.__tablename__` (fief prefixes every name with a setting):
    # the names its subclasses write are not the names their tables get
    renames_tables: bool = False
    keywords: tuple[tuple[str, Expr], ...] = ()  # of the class statement: SQLModel's `table=True`
    defines_init: bool = False  # the class body defines `__init__`
    # How many leading positional arguments that `__init__` keeps before it hands the rest to
    # `super().__init__(*args)` (dstack's `EnumAsString(RunStatus, 100)`: 1, its String gets 100);
    # None when it hands none on.
    init_keeps: Optional[int] = None
    # the first attribute of each name, made when first asked (the models' build asks ~13,000 times an edit on polar)
    _attribute_by_name: Optional[dict[str, ClassAttribute]] = field(default=None, init=False, repr=False, compare=False)

    def keyword(self, name: str) -> Optional[Expr]:
        return next((value for keyword, value in self.keywords if keyword == name), None)

    def __reduce__(self):
        """The class and its fields, without the index of attributes: a pickle (the parse cache, the
        comparison of summaries without positions) holds what was parsed, not what was asked since.
        Not `__getstate__`: Python 3.10's dataclasses put their own in its place on a frozen
        slotted class (an edit of a service then built the models again)."""
        return ClassSummary, tuple(getattr(self, name) for name in self.__slots__ if name != "_attribute_by_name")

    def attribute(self, name: str) -> Optional[ClassAttribute]:
        by_name = self._attribute_by_name
        if by_name is None:
            by_name = {}
            for attribute in self.attributes:
                by_name.setdefault(attribute.name, attribute)
            object.__setattr__(self, "_attribute_by_name", by_name)
        return by_name.get(name)


@dataclass(frozen=True, slots=True)
class Assignment:
    """A module-level `name = value`: constants, `Table(...)`, `MetaData(...)`, `db = SQLAlchemy()`,
    `Base = declarative_base()`, `mapper_registry = registry()`."""

    name: str
    qualified: str
    value: Expr
    location: Location


@dataclass(frozen=True, slots=True)
class FunctionStep:
    """One statement of a small function: `targets = value` (several targets: tuple unpacking),
    a call statement (`definitions.update(...)`, no targets), or `return value` (`returns`)."""

    value: Expr
    targets: tuple[str, ...] = ()
    returns: bool = False


@dataclass(frozen=True, slots=True)
class FunctionSummary:
    """A small function whose body is straight-line code (assignments, calls, one return): the
    column helpers, primary-key factories and table-name functions models call. Names bound
    inside the function stay unqualified in its steps."""

    name: str
    qualified: str
    location: Location
    parameters: tuple[str, ...]
    defaults: tuple[tuple[str, Expr], ...] = ()
    steps: tuple[FunctionStep, ...] = ()
    star_parameter: Optional[str] = None  # `*args`
    keywords_parameter: Optional[str] = None  # `**options`


@dataclass(frozen=True, slots=True)
class ModuleSummary:
    """Everything the ORM layer needs from one file, without syntax tree nodes."""

    path: str
    module: str
    imports: tuple[ImportedName, ...] = ()  # re-exports are the imports of an `__init__.py`
    classes: tuple[ClassSummary, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    calls: tuple[Expr, ...] = ()  # module-level call statements: `Index("ix", Model.col)`, `Table(...)`
    errors: tuple[ExtractionError, ...] = ()
    functions: tuple[FunctionSummary, ...] = ()
    # The file calls Alembic's or Flask-Migrate's upgrade(): the code applies migrations itself
    # (read with the models: the schema-first look of WorkspaceIndex.index_all has the lock checks).
    runs_migrations: bool = False
    imports_other_orm: bool = False  # it imports peewee, Django or Tortoise (other_orms.py)
    migration_helpers: Optional[MigrationHelpers] = None  # its functions as Alembic operations, when it imports `op`


def summarize_module(text: str, path: str, module: str) -> ModuleSummary:
    """Parse one Python file into a ModuleSummary. Never raises: a syntax error gives a summary
    holding only the error."""
    source, error = parse_python(text, path)
    if source is None:
        return ModuleSummary(path, module, errors=(error,))
    return summarize_source(source, module)


def summarize_source(source: PythonFile, module: str, earlier: Optional[EarlierStatements] = None) -> ModuleSummary:
    """The ModuleSummary of a file already parsed; `earlier`: what the statements of the file's
    last text gave, taken where it holds and replaced with this text's."""
    return _Summarizer(source, module).summary(earlier)


class EarlierStatements:
    """What each module-level statement of the last text of a file gave its summary, kept for
    the next text while an editor changes the file. A statement gives the same while its lines
    and their place are unchanged, and so are the names bound before it and at the end of the
    module (which its expressions read): a keystroke in one class of tracecat's 5,500-line
    models module summarizes that class, not its 101 classes; the others keep their objects,
    which the models' build then recognizes as unchanged."""

    def __init__(self) -> None:
        # a statement's key (_Summarizer._keys) -> what it gave
        self.given: dict[tuple, _Given] = {}


class _Given(NamedTuple):
    classes: tuple[ClassSummary, ...]
    assignments: tuple[Assignment, ...]
    calls: tuple[Expr, ...]
    functions: tuple[FunctionSummary, ...]


_NOTHING = _Given((), (), (), ())


def _top_level(body: Iterable[ast.stmt]) -> Iterable[ast.stmt]:
    """Module statements, including those inside top-level if/try/with blocks."""
    for statement in body:
        if isinstance(statement, (ast.If, ast.With)):
            yield from _top_level(statement.body)
            if isinstance(statement, ast.If):
                yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            yield from _top_level(statement.body)
            for handler in statement.handlers:
                yield from _top_level(handler.body)
        else:
            yield statement


def module_bindings(source: PythonFile, module: str) -> tuple[dict[str, str], list[ImportedName]]:
    """(local name -> qualified name, the imports) of a module's top level once it has run."""
    bindings: dict[str, str] = {}
    imports: list[ImportedName] = []
    for _statement, bound in _bindings_by_statement(source, module, imports):
        bindings.update(bound)
    return bindings, imports


def _bindings_by_statement(source: PythonFile, module: str, imports: list[ImportedName]) -> list[tuple[ast.stmt, dict[str, str]]]:
    """Each top-level statement and the names it binds (local name -> qualified name); the
    imports it makes are added to `imports`."""
    found = []
    for statement in _top_level(source.tree.body):
        bound: dict[str, str] = {}
        imports += _bind(statement, bound, source, module)
        found.append((statement, bound))
    return found


def _bind(statement: ast.stmt, bindings: dict[str, str], source: PythonFile, module: str) -> list[ImportedName]:
    """Add the names a top-level statement binds to `bindings`; the imports it makes."""
    for name in _bound_names(statement):
        bindings[name] = f"{module}.{name}" if module else name
    if not isinstance(statement, (ast.Import, ast.ImportFrom)):
        return []
    imported = imports_of(statement, package_of(module, source.path), source.location(statement))
    bindings.update({name.local: name.target for name in imported if name.local != "*"})
    return imported


class _Summarizer:
    """Module-level code and class bodies run in order, so each statement reads the names bound
    before it (a class defined later may reuse an imported name); function bodies run later
    and read the module's final names."""

    def __init__(self, source: PythonFile, module: str) -> None:
        self.source, self.path, self.module = source, source.path, module
        self.imports: list[ImportedName] = []
        self.statements = _bindings_by_statement(source, module, self.imports)
        final: dict[str, str] = {}
        for _statement, bound in self.statements:
            final.update(bound)
        self.final_exprs = ExprBuilder(source, final)
        self.bound: dict[str, str] = {}
        self.exprs = ExprBuilder(source, self.bound)  # reads `bound` as it grows

    def summary(self, earlier: Optional[EarlierStatements] = None) -> ModuleSummary:
        classes, assignments, calls, functions = [], [], [], []
        keys = self._keys() if earlier is not None else [None] * len(self.statements)
        given: dict[tuple, _Given] = {}
        for (statement, bound), key in zip(self.statements, keys):
            found = earlier.given.get(key) if earlier is not None else None
            if found is None:
                found = self._summarize(statement)
            if key is not None:
                given[key] = found
            classes += found.classes
            assignments += found.assignments
            calls += found.calls
            functions += found.functions
            self.bound.update(bound)
        if earlier is not None:
            earlier.given = given
        return ModuleSummary(self.path, self.module, tuple(self.imports), tuple(classes), tuple(assignments), tuple(calls),
                             functions=tuple(functions),
                             runs_migrations=may_run_migrations(self.source.text) and runs_migrations(self.source.tree),
                             imports_other_orm=any(imported.target.startswith(LIBRARY_PACKAGES) for imported in self.imports))

    def _keys(self) -> list[tuple]:
        """Each statement's key in EarlierStatements: where it is and the text of its lines (its
        parse and places), the names bound before it and at the end of the module (what its
        expressions read), and how the file was read (all ASCII: columns; rewritten)."""
        bound_by_each = [repr(tuple(bound.items())).encode() for _statement, bound in self.statements]
        at_end = hashlib.blake2b(b"".join(bound_by_each), digest_size=16).digest()
        before = hashlib.blake2b(digest_size=16)
        keys = []
        for (statement, _bound), bound in zip(self.statements, bound_by_each):
            keys.append((first_line(statement), statement.col_offset, statement.end_lineno, statement.end_col_offset,
                         self.source.statement_text(statement), before.digest(), at_end, self.source.ascii,
                         self.source.rewritten))
            before.update(bound)
        return keys

    def _summarize(self, statement: ast.stmt) -> _Given:
        """What one top-level statement gives the summary."""
        if isinstance(statement, ast.ClassDef):
            return _Given((self._class(statement),), (), (), ())
        if isinstance(statement, ast.FunctionDef):
            function = self._function(statement, self._qualified(statement.name))
            return _Given((), (), (), (function,) if function is not None else ())
        if isinstance(statement, ast.Assign):
            value = self.exprs.build(statement.value)
            return _Given((), tuple(Assignment(target.id, self._qualified(target.id), value, self.source.location(statement))
                                    for target in statement.targets if isinstance(target, ast.Name)), (), ())
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                and statement.value is not None:
            name = statement.target.id
            return _Given((), (Assignment(name, self._qualified(name), self.exprs.build(statement.value),
                                          self.source.location(statement)),), (), ())
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            return _Given((), (), (self.exprs.build(statement.value),), ())
        return _NOTHING

    def _function(self, node: ast.FunctionDef, qualified: str) -> Optional[FunctionSummary]:
        """A small function of straight-line code, else None (nothing else can be evaluated)."""
        body = node.body[1:] if _is_docstring(node.body[0]) else node.body
        if not body or len(body) > _FUNCTION_STEPS or not all(isinstance(s, _STEP_STATEMENTS) for s in body):
            return None
        if any((dotted(d) or "").rpartition(".")[2] not in _TRANSPARENT_DECORATORS for d in node.decorator_list):
            return None
        arguments = node.args
        parameters = [a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
        local_names = set(parameters) | {name for s in body for name in _assigned(s)}
        for extra in (arguments.vararg, arguments.kwarg):
            if extra is not None:
                local_names.add(extra.arg)
        exprs = self.final_exprs.scoped(local_names)
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults = [(a.arg, exprs.build(d)) for a, d in zip(positional[len(positional) - len(arguments.defaults):],
                                                           arguments.defaults)]
        defaults += [(a.arg, exprs.build(d)) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
        steps = []
        for statement in body:
            if isinstance(statement, ast.Return):
                steps.append(FunctionStep(exprs.build(statement.value) if statement.value is not None else
                                          Expr("const", "None", self.source.location(statement)), returns=True))
                break
            if isinstance(statement, ast.Expr):
                if not _is_docstring(statement):
                    steps.append(FunctionStep(exprs.build(statement.value)))
                continue
            targets = _assigned(statement)
            if not targets or statement.value is None:
                return None
            steps.append(FunctionStep(exprs.build(statement.value), tuple(targets)))
        return FunctionSummary(node.name, qualified, self.source.name_location(node), tuple(parameters),
                               tuple(defaults), tuple(steps), arguments.vararg.arg if arguments.vararg else None,
                               arguments.kwarg.arg if arguments.kwarg else None)

    def _qualified(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    def _class(self, node: ast.ClassDef) -> ClassSummary:
        bases = tuple(self.exprs.build(base) for base in node.bases)
        decorators = tuple(self.exprs.build(decorator) for decorator in node.decorator_list)
        attributes: list[ClassAttribute] = []
        methods: list[FunctionSummary] = []
        transformed: list[str] = []
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                transformed += _transformed_attributes(statement)
                attribute = self._declared_attr(statement)
                if attribute is not None:
                    attributes.append(attribute)
                elif isinstance(statement, ast.FunctionDef):
                    method = self._function(statement, f"{self._qualified(node.name)}.{statement.name}")
                    if method is not None:
                        methods.append(method)
            else:
                attributes += self._class_assignment(statement)
                transformed += _property_with_setter(statement)
        helpers = {statement.name: statement for statement in node.body if isinstance(statement, ast.FunctionDef)}
        attributes = [self._through_helper(attribute, helpers) for attribute in attributes]
        renames_tables = any(isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
                             and statement.name == "__init_subclass__" and _assigns_tablename(statement)
                             for statement in node.body)
        keywords = tuple((keyword.arg, self.exprs.build(keyword.value)) for keyword in node.keywords if keyword.arg)
        init = next((statement for statement in node.body if isinstance(statement, ast.FunctionDef) and statement.name == "__init__"),
                    None)
        return ClassSummary(node.name, self._qualified(node.name), self.source.name_location(node), bases, decorators,
                            tuple(attributes), tuple(methods), tuple(transformed), renames_tables, keywords,
                            init is not None, _positionals_kept(init) if init is not None else None)

    def _through_helper(self, attribute: ClassAttribute, helpers: dict[str, ast.FunctionDef]) -> ClassAttribute:
        """A declared_attr that returns what a method of its class returns (`return
        cls._user_by_id()`, whose body is `return mapped_column(String, nullable=True)`: letta)
        takes that method's returned expression as its value."""
        value = attribute.value
        if not (attribute.declared_attr and value is not None and value.kind == "call" and not value.args
                and not value.kwargs and value.name and value.name.count(".") == 1):
            return attribute
        helper = helpers.get(value.name.partition(".")[2])
        returned = next((statement.value for statement in helper.body if isinstance(statement, ast.Return)), None) \
            if helper is not None else None
        return replace(attribute, value=self.final_exprs.build(returned)) if returned is not None else attribute

    def _class_assignment(self, statement: ast.stmt) -> list[ClassAttribute]:
        if isinstance(statement, ast.If):
            # letta: `if settings.database_engine is DatabaseChoice.POSTGRES: embedding = ...(Vector)
            # else: embedding = ...(CommonVector)`: the branch for PostgreSQL first, then what only
            # the other one declares
            first, second = (statement.orelse, statement.body) if _tests_another_engine(self.source.segment(statement.test)) \
                else (statement.body, statement.orelse)
            taken = [attribute for inner in first for attribute in self._class_assignment(inner)]
            names = {attribute.name for attribute in taken}
            return taken + [attribute for inner in second for attribute in self._class_assignment(inner)
                            if attribute.name not in names]
        location = self.source.location(statement)
        if isinstance(statement, ast.Assign):
            value = self.exprs.build(statement.value)
            return [ClassAttribute(target.id, location, value) for target in statement.targets
                    if isinstance(target, ast.Name)]
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            value = self.exprs.build(statement.value) if statement.value is not None else None
            annotation = self.final_exprs.build_annotation(statement.annotation)  # resolved once the module has run
            return [ClassAttribute(statement.target.id, location, value, annotation)]
        return []

    def _declared_attr(self, node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> Optional[ClassAttribute]:
        names = [dotted(decorator) or "" for decorator in node.decorator_list]
        if not any("declared_attr" in self.exprs.qualify(name).split(".") for name in names):
            return None
        value = None
        for statement in node.body:
            if isinstance(statement, ast.Return) and statement.value is not None:
                value = self.final_exprs.build(statement.value)
                break
        annotation = self.final_exprs.build_annotation(node.returns) if node.returns is not None else None
        function = self._function(node, f"{self._qualified(node.name)}") if isinstance(node, ast.FunctionDef) else None
        built = tuple(self.final_exprs.build(value) for call in ast.walk(node) if _builds_a_class(call)
                      for key, value in zip(call.args[2].keys, call.args[2].values)
                      if isinstance(key, ast.Constant) and key.value == "__tablename__")
        return ClassAttribute(node.name, self.source.name_location(node), value, annotation, declared_attr=True,
                              function=function, built_tablenames=built)


_ENGINE_WORDS = LazyPattern(r"(postgres|\bpg\b|\bPG_|_PG\b)|(sqlite|mysql|mariadb|mssql|oracle)", re.IGNORECASE)
_NEGATION = LazyPattern(r"\bnot\b|!=")


def _tests_another_engine(test: str) -> bool:
    """A class-body test whose true branch is for an engine other than PostgreSQL: it names
    only another engine (`if settings.engine == "sqlite":`), or names PostgreSQL negated."""
    named = {"postgresql" if match.group(1) else "other" for match in _ENGINE_WORDS.finditer(test)}
    if named == {"postgresql"}:
        return _NEGATION.search(test) is not None
    return named == {"other"} and _NEGATION.search(test) is None


def _bound_names(statement: ast.stmt) -> list[str]:
    if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return [statement.name]
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []




_FUNCTION_STEPS = 20
_STEP_STATEMENTS = (ast.Assign, ast.AnnAssign, ast.Expr, ast.Return)
# Decorators that leave what a function returns alone (caches, declared_attr on a class).
_TRANSPARENT_DECORATORS = {"cache", "lru_cache", "cached_property", "declared_attr", "directive", "classproperty"}


def _transformed_attributes(method: ast.AST) -> list[str]:
    """The attributes a method stands between the caller and the stored value for:
    `@validates("password")` and property setters (`@password.setter`)."""
    found = []
    for decorator in method.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        name = dotted(call.func if call else decorator) or ""
        if call is not None and name.rpartition(".")[2] == "validates":
            found += [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        elif name.endswith(".setter") or name.endswith(".inplace.setter"):
            found.append(name.split(".")[0])
    return found


def _positionals_kept(init: ast.FunctionDef) -> Optional[int]:
    """The positional parameters (after `self`) an `__init__` keeps when it hands its `*args` on to
    `super().__init__(*args, ...)`; None when it hands none on."""
    star = init.args.vararg
    hands_on = star is not None and any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
        and any(isinstance(argument, ast.Starred) and isinstance(argument.value, ast.Name) and argument.value.id == star.arg
                for argument in node.args)
        for node in ast.walk(init))
    return len(init.args.posonlyargs) + len(init.args.args) - 1 if hands_on else None


def _property_with_setter(statement: ast.stmt) -> list[str]:
    """`password = property(_get_password, _set_password)` (ckan): the attribute a setter stands
    between the caller and the stored value for, as `@password.setter` does."""
    if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
            and dotted(statement.value.func) == "property"):
        return []
    call = statement.value
    if len(call.args) < 2 and not any(keyword.arg == "fset" for keyword in call.keywords):
        return []
    return [target.id for target in statement.targets if isinstance(target, ast.Name)]


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


def _assigned(statement: ast.stmt) -> list[str]:
    """The names an assignment binds (flattening `a, b = ...`); [] for other statements."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return []
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in target.elts):
        return [e.id for e in target.elts]
    return []


def _builds_a_class(node: ast.AST) -> bool:
    """`type(name, bases, {...})`: a class made at run time from a namespace written there."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" \
        and len(node.args) == 3 and isinstance(node.args[2], ast.Dict)


def _assigns_tablename(function: ast.AST) -> bool:
    return any(isinstance(node, (ast.Assign, ast.AugAssign)) and any(
        isinstance(target, ast.Attribute) and target.attr == "__tablename__"
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target]))
        for node in ast.walk(function))


_UPGRADE_FUNCTIONS = {("flask_migrate", "upgrade"), ("alembic.command", "upgrade")}


def runs_migrations(tree: ast.AST) -> bool:
    """Whether the module calls `flask_migrate.upgrade` or `alembic.command.upgrade` (under any
    name it imports them as)."""
    callable_names: set[str] = set()
    calls: list[ast.Call] = []  # found in the same walk as the imports (a walk of a large file costs)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.append(node)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (node.module, alias.name) in _UPGRADE_FUNCTIONS:
                    callable_names.add(alias.asname or alias.name)
                elif (node.module, alias.name) == ("alembic", "command"):
                    callable_names.add(f"{alias.asname or alias.name}.upgrade")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("flask_migrate", "alembic.command"):
                    callable_names.add(f"{alias.asname or alias.name}.upgrade")
    return bool(callable_names) and any(dotted(call.func) in callable_names for call in calls)
