"""The `orm` layer: SQLAlchemy models read statically from every file's `ModuleSummary`
(`module_summary.py`).

`build_orm_layer` reads every summary together, so bases, mixins, `db = SQLAlchemy()` objects,
naming conventions and enum classes may live in other modules, and builds Tables the way
SQLAlchemy's declarative machinery would (column copies from mixins, single-table inheritance,
Flask-SQLAlchemy's automatic table names, naming conventions, PostgreSQL type spellings).
Nothing is imported or executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, Optional

from ..i18n import _, _n
from ..schema.model import (
    CheckConstraint,
    Column,
    EnumType,
    ExtractionError,
    ForeignKey,
    Index,
    Location,
    PrimaryKey,
    SchemaLayer,
    Table,
    UniqueConstraint,
    ordered_column,
    table_key,
)
from ..schema.replay import sqlalchemy_truncated
from ..schema.type_names import normalize_type
from .module_summary import ClassAttribute, ClassSummary, ModuleSummary
from .orm_build import KeptOutTable, OrmBuild, UnrecognizedModel
from .python_names import Expr, walk
from .python_world import SQL_CONSTANTS, Changing, NameReaders, World, _typing_member, sa_member
from .sqlalchemy_types import PYTHON_TYPES, TypeResult, Types
from .static_eval import ClassRef, Evaluator, Namespace, Unknown

_SHOWN_NAMES = 5  # table names an error lists before '...'


@dataclass(frozen=True, slots=True)
class Relationship:
    """A `relationship()` on a mapped class, kept for issues about relationships."""

    table: str  # the key of the table of the class that declares it
    class_name: str
    attribute: str
    target: Optional[str]  # the target class's qualified name when resolved, else as written
    target_table: Optional[str]
    location: Location
    secondary: Optional[str] = None  # the association table's key
    foreign_keys: Optional[str] = None  # source text
    uselist: Optional[bool] = None
    backref: Optional[str] = None
    back_populates: Optional[str] = None
    lazy: Optional[str] = None  # the loader strategy when written: "select", "selectin", "joined", "dynamic", ...
    backref_lazy: Optional[str] = None  # the loader strategy of the backref, when written: backref("order", lazy=...)


@dataclass
class _Root:
    """A declarative base: its naming convention and default schema, and whether it is
    Flask-SQLAlchemy's `db.Model` (automatic table names)."""

    key: str
    flask: bool = False
    convention: dict[str, str] = field(default_factory=lambda: dict(_DEFAULT_CONVENTION))
    schema: Optional[str] = None
    type_map: dict[str, Expr] = field(default_factory=dict)
    automatic_names: bool = False  # a class without __tablename__ maps the snake_case of its name
    # Columns the base's library declares on every mapped class: (name, type, NOT NULL, primary key)
    library_columns: tuple[tuple[str, str, bool, bool], ...] = ()
    # SQLModel: a class maps a table when it says `table=True`, named as its class in lower case,
    # with a column for each annotated field
    sqlmodel: bool = False


_DEFAULT_CONVENTION = {"ix": "ix_%(column_0_label)s"}

# advanced_alchemy (the Litestar ecosystem's SQLAlchemy bases, advanced_alchemy/base.py): the
# naming convention of its registry, table names from the class name (CommonTableAttributes, in
# every base but SQLQuery and AdvancedDeclarativeBase), and the columns of the primary key and
# audit mixins each base includes.
_ADVANCED_ALCHEMY = "advanced_alchemy.base."
_ADVANCED_ALCHEMY_CONVENTION = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
                                "ck": "ck_%(table_name)s_%(constraint_name)s",
                                "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
                                "pk": "pk_%(table_name)s"}
# Declarative bases of other libraries, by the names a model imports them by, with their naming
# convention: sqlalchemy-helpers (Fedora's: anitya, fmn), `class Base(DeclarativeBase)` in
# sqlalchemy_helpers/manager.py, re-exported by the package.
_LIBRARY_BASES = {"sqlalchemy_helpers.Base": _ADVANCED_ALCHEMY_CONVENTION,
                  "sqlalchemy_helpers.manager.Base": _ADVANCED_ALCHEMY_CONVENTION}
_ADVANCED_ALCHEMY_KEYS = {"UUID": "UUID", "UUIDv6": "UUID", "UUIDv7": "UUID", "BigInt": "BIGINT", "NanoID": "VARCHAR"}
_AUDIT_COLUMNS = (("created_at", "TIMESTAMP WITH TIME ZONE", True, False),
                  ("updated_at", "TIMESTAMP WITH TIME ZONE", True, False))
# Its registry's type_annotation_map: `Mapped[datetime]` is a DateTimeUTC column, and so on.
_ADVANCED_ALCHEMY_ANNOTATIONS = {
    python: Expr("name", library, Location("", 1), name=f"advanced_alchemy.types.{library}")
    for python, library in (("datetime.datetime", "DateTimeUTC"), ("uuid.UUID", "GUID"), ("dict", "JsonB"))}


def _advanced_alchemy_root(base: str) -> Optional[_Root]:
    """The root an advanced_alchemy base class stands for, or None for another name."""
    name = base.removeprefix(_ADVANCED_ALCHEMY)
    if not base.startswith(_ADVANCED_ALCHEMY) or "." in name:
        return None
    if name in ("SQLQuery", "AdvancedDeclarativeBase", "DefaultBase"):
        automatic_names, columns = name == "DefaultBase", ()
    else:
        audit = name.endswith("AuditBase")
        key = name.removesuffix("AuditBase") if audit else name.removesuffix("Base")
        if key not in _ADVANCED_ALCHEMY_KEYS or not name.endswith("Base"):
            return None
        automatic_names, columns = True, (("id", _ADVANCED_ALCHEMY_KEYS[key], True, True), *(_AUDIT_COLUMNS if audit else ()))
    return _Root(base, convention=dict(_ADVANCED_ALCHEMY_CONVENTION), automatic_names=automatic_names,
                 library_columns=columns, type_map=dict(_ADVANCED_ALCHEMY_ANNOTATIONS))


_CONVENTION_KEYS = {"Index": "ix", "UniqueConstraint": "uq", "CheckConstraint": "ck", "ForeignKeyConstraint": "fk",
                    "PrimaryKeyConstraint": "pk"}


# --------------------------------------------------------------------------------------------
# Building the layer


@dataclass
class _ColumnBuild:
    key: str
    name: str
    location: Location
    type_text: Optional[str]  # SQLAlchemy's DDL spelling; None until an FK target lends its type
    raw_type: str
    nullable: bool
    primary_key: bool = False
    default: Optional[str] = None
    server_default: Optional[str] = None
    identity: Optional[str] = None
    sequence: Optional[str] = None
    comment: Optional[str] = None
    autoincrement: Optional[object] = None
    foreign_keys: list = field(default_factory=list)  # (Expr ForeignKey call)
    index: bool = False
    unique: bool = False
    checks: list = field(default_factory=list)  # CheckConstraint call Exprs
    transformed: bool = False  # written through code that changes the value (a TypeDecorator, @validates, a setter)
    spatial_index: bool = False  # geoalchemy2's Geometry/Geography with `spatial_index` (its default): a GiST index
    annotated_type: Optional[str] = None  # a foreign key column's Mapped[] type: its type when its target is not read


@dataclass
class _TableBuild:
    name: str
    schema: Optional[str]
    location: Location
    module: Optional[str]
    class_name: Optional[str]
    root: _Root
    columns: list[_ColumnBuild] = field(default_factory=list)
    items: list[Expr] = field(default_factory=list)  # constraint / index calls (table args, Table(...) items)
    module_indexes: list[Expr] = field(default_factory=list)
    comment: Optional[str] = None
    partition_by: Optional[str] = None
    partly_read: bool = False  # its __table_args__ are built by a helper of the project, not read
    # The mapping of a class that maps this table, which another build can take back (KeptMappings)
    mapping: Optional["_Mapping"] = field(default=None, compare=False, repr=False)
    shares_columns: bool = field(default=False, compare=False, repr=False)  # with its mapping's: copied before a change

    @property
    def key(self) -> str:
        return table_key(self.name, self.schema)

    def column_by_key(self, key: str) -> Optional[_ColumnBuild]:
        for column in self.columns:
            if column.key == key:
                return column
        for column in self.columns:
            if column.name == key:
                return column
        return None


@dataclass
class _ClassInfo:
    summary: ClassSummary
    lineage: list[str]
    root: Optional[_Root]
    is_root: bool
    abstract: bool

    @property
    def mapped(self) -> bool:
        return self.root is not None and not self.is_root and not self.abstract


def _sql_literal(value) -> str:
    """A Python constant as the SQL literal SQLAlchemy renders for it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def camel_to_snake_case(name: str) -> str:
    """Flask-SQLAlchemy's automatic table name (flask_sqlalchemy.model.camel_to_snake_case)."""
    name = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
    return name.lower().lstrip("_")


@dataclass(frozen=True)
class _Mapping:
    """What mapping one class added to a build: its table as mapped (before subclasses, module
    indexes and the finish change it) or the ancestor whose table it maps, errors, relationships,
    names left to a library, the enums its columns declared (in order: the first of a name wins)
    and the functions it evaluated."""

    summary: ClassSummary
    table: Optional[_TableBuild]
    errors: tuple[ExtractionError, ...]
    relationships: tuple[tuple[str, ClassAttribute, Expr], ...]
    library_named: tuple[tuple[str, str], ...]
    enums: dict[str, EnumType]
    functions_evaluated: frozenset[str]
    shares: Optional[str] = None  # the mapped parent whose table it maps, adding nothing to it


@dataclass(frozen=True)
class _Finish:
    """A table finished from what a mapping made alone (no other table read, nothing added to
    it since), with the naming convention it was finished under and the errors it gave."""

    mapping: _Mapping
    convention: dict[str, str]
    search_indexes: Optional[tuple[str, ...]]  # the names of its search vectors' indexes (`_search_index_names`)
    table: Optional[Table]
    errors: tuple[ExtractionError, ...]
    functions_evaluated: frozenset[str]  # `f"{Other.__tablename__}.id"` foreign keys


def _size(table: _TableBuild) -> tuple[int, int, int]:
    """How much a table holds: a class that maps it and leaves this unchanged added nothing to it."""
    return len(table.columns), len(table.items), len(table.module_indexes)


def _copied_table(table: _TableBuild, columns: bool = True) -> _TableBuild:
    """A copy the build may change (its lists, and its columns unless `columns` is False: then
    they are shared until `_own_columns`) without changing `table`."""
    copy = object.__new__(_TableBuild)
    copy.__dict__.update(table.__dict__)
    copy.columns, copy.items, copy.module_indexes = list(table.columns), list(table.items), list(table.module_indexes)
    if columns:
        _own_columns(copy)
    else:
        copy.shares_columns = True
    return copy


def _own_columns(table: _TableBuild) -> None:
    copied = []
    for column in table.columns:
        copy = object.__new__(_ColumnBuild)
        copy.__dict__.update(column.__dict__)
        copy.foreign_keys, copy.checks = list(column.foreign_keys), list(column.checks)
        copied.append(copy)
    table.columns, table.shares_columns = copied, False


class _ModuleStatements(NamedTuple):
    """What the models' build may read of one module's top level besides its classes, and which of
    its classes declare a table."""

    tables: tuple[tuple[Location, Optional[str], Expr], ...]  # `Table(...)` calls: (where, the name assigned, the call)
    mappings: tuple[Expr, ...]  # `registry.map_imperatively(Class, table)` calls
    indexes: tuple[Expr, ...]  # `Index(...)` calls, and calls of `.ddl_if()` on a call
    declaring: tuple[str, ...]  # the classes that declare `__tablename__` or `__table__`, qualified


def _ddl_if(item: Expr) -> Optional[Expr]:
    """The call `item` calls `.ddl_if()` on (`Index(...).ddl_if(dialect=...)`), else None."""
    if item.kind != "call" or item.name is not None or item.func is None or item.func.kind != "attribute" \
            or item.func.value != "ddl_if" or item.func.func is None or item.func.func.kind != "call":
        return None
    return item.func.func


class KeptMappings:
    """What each class's mapping added to the last build of the models' layer, for the next
    (WorkspaceIndex keeps one across edits). A class maps from its summary and the names it
    reads, and what those read in turn; while none of them changed (NameReaders), the next
    build takes back what it added, and maps only the classes an edit can touch."""

    def __init__(self) -> None:
        self.readers = NameReaders()
        self.mappings: dict[str, _Mapping] = {}  # by qualified class name
        self.finished: dict[str, _Finish] = {}  # by qualified class name
        self.world: Optional[World] = None  # the last build's, for World.after
        # the infos of the classes that map nothing, with the modules each was read from (_LayerBuilder.info_reads)
        self.infos: dict[str, tuple[_ClassInfo, frozenset[str]]] = {}
        self.module_statements: dict[str, tuple[ModuleSummary, _ModuleStatements]] = {}  # by path
        self.built = False

    def changing(self, summaries: list[ModuleSummary], classes: Iterable[tuple[str, str]]) -> Optional[Changing]:
        """The names that may mean something else since the last build (NameReaders.changing),
        as far as `classes` ((module, name) pairs) read them: the classes among them map again.
        None (all of them) on a first build, or when a change reaches too far to follow."""
        changed, appeared = self.readers.take(summaries)
        return self.readers.changing(changed, appeared, classes) if self.built else None

    def prepare_for_edits(self) -> None:
        """Do now what the first build after an edit would do first (NameReaders.index_all)."""
        self.readers.index_all()

    def keep(self, mappings: dict[str, _Mapping], finished: dict[str, _Finish], world: World,
             infos: dict[str, tuple[_ClassInfo, frozenset[str]]],
             module_statements: dict[str, tuple[ModuleSummary, _ModuleStatements]]) -> None:
        self.mappings, self.finished, self.world, self.infos = mappings, finished, world, infos
        self.module_statements = module_statements
        self.built = True


class _LayerBuilder:
    def __init__(self, summaries: Iterable[ModuleSummary], is_application: Callable[[str], bool],
                 kept: Optional[KeptMappings] = None, versions: Optional[Mapping[str, tuple[int, ...]]] = None) -> None:
        self.sqlmodel_version = (versions or {}).get("sqlmodel")
        self.pydantic_version = (versions or {}).get("pydantic")
        self.world = World.after(kept.world if kept is not None else None, summaries)
        self.kept = kept
        self.mappings: dict[str, _Mapping] = {}
        self.finished: dict[str, _Finish] = {}
        self._other_tables_read = 0  # lookups of tables by name: a finish that made none read only its own
        self.is_application = is_application
        self.kept_out: list[KeptOutTable] = []
        self.library_named: list[tuple[str, str]] = []  # (class, library base): its __tablename__ is the library's
        self.types = Types(self.world)
        self.evaluator = Evaluator(self.world)
        self.errors: list[ExtractionError] = []
        # The modules each info of a class that maps nothing was read from (the class's, its bases'
        # and their infos'), for the next build; that build takes such an info back while its class
        # is the same summary and none of those modules changed, when its world took the last one's
        # answers of names (polar: 3,740 of its 3,900 classes taken back, an edit of a model), all
        # at once (asked for one by one, they cost 5 ms an edit).
        changed, classes = self.world.changed_since_last, self.world.classes
        kept_infos = kept.infos if kept is not None and changed is not None else {}
        self.infos: dict[str, _ClassInfo] = {qualified: info for qualified, (info, reads) in kept_infos.items()
                                             if info.summary is classes.get(qualified) and reads.isdisjoint(changed)}
        self.info_reads: dict[str, frozenset[str]] = {qualified: kept_infos[qualified][1] for qualified in self.infos}
        self._kept_statements: dict[str, tuple[ModuleSummary, _ModuleStatements]] = \
            kept.module_statements if kept is not None and changed is not None else {}
        self.module_statements: dict[str, tuple[ModuleSummary, _ModuleStatements]] = {}
        self.mapped_infos: list[_ClassInfo] = []  # in the order the classes map (`run`)
        self.roots: dict[str, _Root] = {}
        self.class_tables: dict[str, _TableBuild] = {}
        self.var_tables: dict[str, _TableBuild] = {}
        self.tables: list[_TableBuild] = []
        self.enums: dict[str, EnumType] = {}
        self.relationships: list[tuple[str, ClassAttribute, Expr]] = []

    # classes and their bases

    def info(self, qualified: str, visiting: tuple[str, ...] = ()) -> Optional[_ClassInfo]:
        if qualified in self.infos:
            return self.infos[qualified]
        cls = self.world.classes.get(qualified)
        if cls is None or qualified in visiting:
            return None
        visiting = (*visiting, qualified)
        root: Optional[_Root] = None
        is_root = False
        base_mros: list[list[str]] = []
        concrete_base = False  # SQLAlchemy's AbstractConcreteBase maps no table of its own: each concrete subclass has one
        # the modules this info was read from, while it stays one a later build can take (see info_reads);
        # a decorator is read as a name, which resolves as it did whenever an info is taken back
        reads: Optional[set[str]] = {self.world.class_module[qualified].module}
        for decorator in cls.decorators:
            decorated = self.world.resolve(decorator.name) if decorator.kind == "name" else None
            if decorated and decorated.rpartition(".")[2] in ("mapped", "mapped_as_dataclass"):
                root = self._root_of_assignment(decorated.rpartition(".")[0])
        for base in cls.bases:
            resolved = self.world.resolve(base.name) if base.kind == "name" else None
            if resolved is None:
                continue
            member = sa_member(resolved)
            concrete_base = concrete_base or member == "AbstractConcreteBase"
            if member in ("DeclarativeBase", "DeclarativeBaseNoMeta"):
                is_root = True
                root = root or self._root_of_class(cls)
            elif resolved.endswith(".Model") and self.world.is_flask_db(resolved[: -len(".Model")]):
                root = root or self._flask_root(resolved[: -len(".Model")])
            elif resolved in self.world.classes and not self._rebound(resolved):
                base_info = self.info(resolved, visiting)
                reads = self._reads_with(reads, resolved, self.world.class_module[resolved])
                if base_info is not None:
                    base_mros.append(base_info.lineage)
                    root = root or base_info.root
            elif resolved in self.world.assignments:
                root = root or self._root_of_assignment(resolved)
                # `Base = declarative_base(cls=BaseModel)`: Base subclasses BaseModel, whose
                # columns (and the library mixins it inherits) every mapped class takes
                declared = self._declared_with_class(resolved)
                base_info = self.info(declared, visiting) if declared is not None else None
                reads = self._reads_with(reads, declared, self.world.assignment_module[resolved])
                if base_info is not None:
                    base_mros.append(base_info.lineage)
            elif (library := _advanced_alchemy_root(resolved)) is not None:
                root = root or self._library_root(cls, library)
            elif resolved in _LIBRARY_BASES:
                root = root or self._library_root(cls, _Root(resolved, convention=dict(_LIBRARY_BASES[resolved])))
            elif resolved in _SQLMODEL_BASES:
                root = root or self.roots.setdefault(_SQLMODEL_BASES[0], _Root(_SQLMODEL_BASES[0], sqlmodel=True))
        declared_abstract = cls.attribute("__abstract__")
        abstract = declared_abstract is not None and self.world.const(declared_abstract.value) is True or concrete_base \
            or root is not None and root.sqlmodel and self.world.const(cls.keyword("table")) is not True
        info = _ClassInfo(cls, [qualified, *_merge_mros(base_mros)], root, is_root, abstract)
        self.infos[qualified] = info
        if reads is not None and root is None and not is_root and not abstract and declared_abstract is None:
            self.info_reads[qualified] = frozenset(reads)
        return info

    def _reads_with(self, reads: Optional[set[str]], base: Optional[str], module: ModuleSummary) -> Optional[set[str]]:
        """`reads` with the module of a base and what that base's info was read from (None: an
        info a later build cannot take, as that of a base it cannot take)."""
        if reads is None or base is not None and base not in self.info_reads:
            return None
        reads.add(module.module)
        if base is not None:
            reads |= self.info_reads[base]
        return reads

    def _library_root(self, cls: ClassSummary, library: _Root) -> _Root:
        """The root of a class that inherits a library's declarative base: the library's, or
        the class's own when it sets `metadata` or `registry` (bitcart's `Model(SQLQuery)`)."""
        if cls.attribute("metadata") is None and cls.attribute("registry") is None:
            return self.roots.setdefault(library.key, library)
        own = self._root_of_class(cls)
        return replace(own, automatic_names=library.automatic_names, library_columns=library.library_columns,
                       type_map={**library.type_map, **own.type_map})

    def _rebound(self, qualified: str) -> bool:
        """A class name the module binds again further down (mindsdb: `class Base: ...`, then
        `Base = declarative_base(cls=Base)`): classes defined after that see the assignment."""
        cls, assignment = self.world.classes.get(qualified), self.world.assignments.get(qualified)
        return cls is not None and assignment is not None and assignment.location.path == cls.location.path \
            and assignment.location.line > cls.location.line

    def _convention(self, metadata: Optional[Expr]) -> tuple[dict[str, str], Optional[str]]:
        metadata = self.world.value_of(metadata)
        if metadata is None or metadata.kind != "call" or self.world.member(metadata) != "MetaData":
            return dict(_DEFAULT_CONVENTION), None
        schema = self.world.const(metadata.kwarg("schema"))
        convention = self.world.value_of(metadata.kwarg("naming_convention"))
        if convention is None or convention.kind != "dict":
            return dict(_DEFAULT_CONVENTION), schema
        result = {}
        for key, value in convention.items:
            key_text = self.world.const(key)
            if key_text is None:
                key_text = _CONVENTION_KEYS.get(self.world.member(key) or "")
            template = self.world.const(value)
            if isinstance(key_text, str) and isinstance(template, str):
                result[key_text] = template
        return result or dict(_DEFAULT_CONVENTION), schema

    def _root_of_class(self, cls: ClassSummary) -> _Root:
        if cls.qualified not in self.roots:
            metadata = cls.attribute("metadata")
            registry = cls.attribute("registry")
            metadata_expr = metadata.value if metadata is not None else None
            registry_call = self.world.value_of(registry.value) if registry is not None and registry.value is not None else None
            if registry_call is not None and registry_call.kind != "call":
                registry_call = None
            if metadata_expr is None and registry_call is not None:
                metadata_expr = registry_call.kwarg("metadata")
            convention, schema = self._convention(metadata_expr)
            root = _Root(cls.qualified, convention=convention, schema=schema)
            type_map = cls.attribute("type_annotation_map")
            # on the class, or given to its registry (prefect: `registry = registry(type_annotation_map={...})`)
            mapping = self.world.value_of(type_map.value if type_map is not None else
                                          registry_call.kwarg("type_annotation_map") if registry_call is not None else None)
            if mapping is not None and mapping.kind == "dict":
                for key, value in mapping.items:
                    written = self._annotation_key(key)
                    if written is not None:
                        root.type_map[written] = value
            self.roots[cls.qualified] = root
        return self.roots[cls.qualified]

    def _root_of_assignment(self, qualified: str) -> Optional[_Root]:
        """`Base = declarative_base(...)`, `reg = registry(...)`, `Base = reg.generate_base()`."""
        if qualified in self.roots:
            return self.roots[qualified]
        assignment = self.world.assignments.get(qualified)
        if assignment is None or assignment.value.kind != "call":
            return None
        call = assignment.value
        member = self.world.member(call)
        callee = call.func
        if member in ("declarative_base", "registry"):
            convention, schema = self._convention(call.kwarg("metadata"))
        elif callee is not None and callee.kind == "name" and callee.name.endswith(".generate_base"):
            owner = self.world.resolve(callee.name[: -len(".generate_base")])
            owner_root = self._root_of_assignment(owner) if owner else None
            if owner_root is None:
                return None
            convention, schema = owner_root.convention, owner_root.schema
        elif callee is not None and callee.kind == "call" and self.world.member(callee) == "registry":
            convention, schema = self._convention(callee.kwarg("metadata"))
        else:
            return None
        root = _Root(qualified, convention=convention, schema=schema)
        self.roots[qualified] = root
        return root

    def _declared_with_class(self, qualified: str) -> Optional[str]:
        """The workspace class a declarative base assignment is made from: `cls=` of
        `declarative_base()` or of a registry's `generate_base()`."""
        assignment = self.world.assignments.get(qualified)
        call = assignment.value if assignment is not None else None
        if call is None or call.kind != "call" or not (self.world.member(call) == "declarative_base"
                                                       or (call.name or "").endswith(".generate_base")):
            return None
        cls = call.kwarg("cls")
        resolved = self.world.resolve(cls.name) if cls is not None and cls.kind == "name" else None
        return resolved if resolved in self.world.classes else None

    def _flask_root(self, db: str) -> _Root:
        key = f"{db}.Model"
        if key not in self.roots:
            call = self.world.assignments[db].value
            convention, schema = self._convention(call.kwarg("metadata"))
            model_class = call.kwarg("model_class")
            resolved = self.world.resolve(model_class.name) if model_class is not None and model_class.kind == "name" else None
            if resolved in self.world.classes:
                base_info = self.info(resolved)
                if base_info is not None and base_info.root is not None:
                    convention, schema = base_info.root.convention, base_info.root.schema
            self.roots[key] = _Root(key, flask=True, convention=convention, schema=schema)
        return self.roots[key]

    # the build

    def run(self) -> None:
        self.searchable = self._searchable_index_name()
        infos = self.infos
        for qualified in self.world.classes:
            if qualified not in infos:
                self.info(qualified)
        mapped = self.mapped_infos = [info for info in self.infos.values() if info.mapped]
        mapped.sort(key=lambda info: (len(info.lineage), self.world.path_of(info.summary.qualified), info.summary.location.line))
        changing = self.kept.changing(self.world.summaries, [(self.world.class_module[info.summary.qualified].module,
                                                              info.summary.name) for info in mapped]) \
            if self.kept is not None else None
        mappings: dict[str, _Mapping] = {}
        for info in mapped:
            kept = self.kept.mappings.get(info.summary.qualified) if changing is not None else None
            if kept is not None and kept.summary is info.summary and info.summary.qualified not in changing \
                    and (kept.shares is None or kept.shares in self.class_tables):
                self._replay(info, kept)
                mappings[info.summary.qualified] = kept
            else:
                mapping = self._map_recorded(info)
                if mapping is not None:
                    mappings[info.summary.qualified] = mapping
        self.mappings = mappings
        modules = [(summary, self._module_statements(summary)) for summary in self.world.summaries]
        for summary, statements in modules:
            for location, qualified, value in statements.tables:
                if self._is_table_call(value):
                    self._guarded(location, self._table_call, value, summary, qualified)
                else:
                    self._say_unnamed_table(value, summary)
        for _summary, statements in modules:
            for call in statements.mappings:
                self._guarded(call.location, self._imperative_mapping, call)
        for _summary, statements in modules:
            for expr in statements.indexes:
                expr = self._created_on_postgresql(expr)
                if expr is not None and expr.kind == "call" and self.world.member(expr) == "Index":
                    self._guarded(expr.location, self._module_index, expr)

    def _module_statements(self, summary: ModuleSummary) -> "_ModuleStatements":
        """The module-level statements of `summary` that may declare a table, map a class
        imperatively or declare an index, and its classes that declare a table: taken from the
        last build while the summary is the same object and names resolve as they did (each
        module's were looked over at every edit: polar's 1,774 modules, 2,700 statements)."""
        kept = self._kept_statements.get(summary.path)
        if kept is not None and kept[0] is summary:
            found = kept[1]
        else:
            values = [*((a.location, a.qualified, a.value) for a in summary.assignments),
                      *((call.location, None, call) for call in summary.calls)]
            found = _ModuleStatements(
                tuple(item for item in values if item[2].kind == "call" and self.world.member(item[2]) == "Table"),
                # a registry of the project's (`meta.registry.map_imperatively`): the class and the table say what it maps
                tuple(call for call in summary.calls if call.kind == "call" and len(call.args) >= 2
                      and (call.name or "").rpartition(".")[2] in ("map_imperatively", "mapper")),
                tuple(value for _location, _qualified, value in values if _ddl_if(value) is not None
                      or value.kind == "call" and self.world.member(value) == "Index"),
                tuple(cls.qualified for cls in summary.classes
                      if cls.attribute("__tablename__") is not None or cls.attribute("__table__") is not None))
        self.module_statements[summary.path] = (summary, found)
        return found

    def _searchable_index_name(self) -> Optional[Callable[[str, str], str]]:
        """How make_searchable() names the GIN index of a search vector, when the models call it:
        sqlalchemy_searchable's `ix_<table>_<column>`, or what a vendored copy's `append_index` builds."""
        calls = [call for summary in self.world.summaries for call in summary.calls
                 if call.kind == "call" and (call.name or "").rpartition(".")[2] == "make_searchable"]
        if not calls:
            return None
        library = lambda table, column: f"ix_{table}_{column}"  # noqa: E731
        module = (self.world.resolve(calls[0].name) or "").rpartition(".")[0]
        if not any(summary.module == module for summary in self.world.summaries):
            return library
        methods = [m for qualified, cls in self.world.classes.items() if qualified.startswith(module + ".")
                   for m in cls.methods if m.name == "append_index"]
        index_calls = [step.value for m in methods for step in m.steps
                       if step.value.kind == "call" and self.world.member(step.value) == "Index" and step.value.args]
        if not index_calls:
            return library

        def vendored_name(table: str, column: str) -> str:
            names = {"column": Namespace((("name", column), ("table", Namespace((("name", table),)))))}
            try:
                name = self.evaluator.value(index_calls[0].args[0], names)
            except (Unknown, RecursionError):
                return library(table, column)
            return name if isinstance(name, str) else library(table, column)

        return vendored_name

    def _guarded(self, location: Location, function, *args) -> None:
        # The boundary of one class or table: a construct this extractor did not expect must not
        # hide the rest of the workspace.
        try:
            function(*args)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError, RecursionError) as error:
            self.errors.append(ExtractionError(location, _("SchemaLens could not read this model: %(error)s", error=repr(error))))

    def _map_recorded(self, info: _ClassInfo) -> Optional[_Mapping]:
        """Map the class, and return what it added to the build when another build can take it
        back (KeptMappings): a class that maps a table of its own, or none, from its summary, or
        one that maps an ancestor's table and adds nothing to it (a single-table subclass that
        only names its polymorphic identity)."""
        qualified = info.summary.qualified
        tables, errors, relationships, named, roots = (len(self.tables), len(self.errors), len(self.relationships),
                                                       len(self.library_named), len(self.roots))
        parent = self._mapped_parent(info)
        parent_table = self.class_tables.get(parent.summary.qualified) if parent is not None else None
        parent_size = _size(parent_table) if parent_table is not None else None
        enums, self.enums = self.enums, {}
        evaluated, self.world.functions_evaluated = self.world.functions_evaluated, set()
        try:
            self._guarded(info.summary.location, self._map_class, info)
        finally:
            class_enums, self.enums = self.enums, enums
            for key, enum in class_enums.items():
                enums.setdefault(key, enum)
            class_evaluated, self.world.functions_evaluated = self.world.functions_evaluated, evaluated
            evaluated |= class_evaluated
        added = self.tables[tables:]
        own = self.class_tables.get(qualified)
        shares = parent.summary.qualified if own is not None and own is parent_table and added == [] \
            and _size(own) == parent_size and self._adds_nothing_to(info, parent, own) else None
        # Single-table inheritance that adds to the parent's table, `__table__` reads a Table()
        # whose metadata may make a root: what they did depends on more than the class; they map again.
        if len(self.roots) != roots or info.summary.attribute("__table__") is not None \
                or not (added == [] and (own is None or shares is not None) or len(added) == 1 and own is added[0]):
            return None
        mapping = _Mapping(info.summary, _copied_table(added[0]) if added else None, tuple(self.errors[errors:]),
                           tuple(self.relationships[relationships:]), tuple(self.library_named[named:]), class_enums,
                           frozenset(class_evaluated), shares)
        if added:
            added[0].mapping = mapping
        return mapping

    def _replay(self, info: _ClassInfo, mapping: _Mapping) -> None:
        """What mapping the class added to the last build, added to this one."""
        if mapping.table is not None:
            # its columns change only when it is finished again (a kept finish reads none)
            table = _copied_table(mapping.table, columns=False)
            table.root, table.mapping = info.root, mapping
            self.tables.append(table)
            self.class_tables[info.summary.qualified] = table
        elif mapping.shares is not None:
            self.class_tables[info.summary.qualified] = self.class_tables[mapping.shares]
        self.errors += mapping.errors
        self.relationships += mapping.relationships
        self.library_named += mapping.library_named
        for key, enum in mapping.enums.items():
            self.enums.setdefault(key, enum)
        self.world.functions_evaluated |= mapping.functions_evaluated

    def _adds_nothing_to(self, info: _ClassInfo, parent: _ClassInfo, table: _TableBuild) -> bool:
        """Whether a class that maps its parent's table adds nothing to it whatever else does: each
        attribute of the class and of the mixins it takes columns from names a column the
        table's own mapping made (a single-table subclass that names its polymorphic identity or
        narrows the type of a parent's column), not one a sibling added."""
        made = table.mapping.table if table.mapping is not None else None
        return made is not None and all(made.column_by_key(attribute.name) is not None
                                        for cls in self._own_classes(info, parent) for attribute in cls.attributes
                                        if not attribute.name.startswith("__"))

    def _mapped_parent(self, info: _ClassInfo) -> Optional[_ClassInfo]:
        for qualified in info.lineage[1:]:
            parent = self.infos.get(qualified)
            if parent is not None and parent.mapped:
                return parent
        return None

    def _own_classes(self, info: _ClassInfo, parent: Optional[_ClassInfo]) -> list[ClassSummary]:
        """The class and the unmapped classes (mixins, abstract bases) it takes columns from."""
        inherited = set(parent.lineage) if parent is not None else set()
        found = [info.summary]
        for qualified in info.lineage[1:]:
            other = self.infos.get(qualified)
            if other is not None and not other.mapped and qualified not in inherited:
                found.append(other.summary)
        return found

    def _lookup(self, classes: list[ClassSummary], name: str) -> Optional[ClassAttribute]:
        for cls in classes:
            attribute = cls.attribute(name)
            if attribute is not None:
                return attribute
        return None

    def _table_name(self, info: _ClassInfo, parent: Optional[_ClassInfo], classes: list[ClassSummary],
                    attributes: list[ClassAttribute]) -> Optional[str]:
        """The class's own table name, or None for single-table inheritance."""
        # Flask-SQLAlchemy maps a subclass without a primary key of its own onto its parent's
        # table (single-table inheritance), even when the subclass names a table.
        if info.root.flask and parent is not None and not self._declares_primary_key(info, attributes):
            return None
        own = info.summary.attribute("__tablename__")
        found = own or self._lookup(classes[1:], "__tablename__")
        if found is not None and found.value is not None:
            return self._evaluate_name(found, info.summary)
        if info.root.sqlmodel:
            return info.summary.name.lower()  # SQLModel's own `__tablename__`
        if info.root.flask or info.root.automatic_names:
            return camel_to_snake_case(info.summary.name)
        if parent is not None:
            return None
        library = next(self._library_bases(info.summary), None)
        if library is not None:  # fastapi-users' SQLAlchemyBaseUserTableUUID declares `__tablename__ = "user"`
            self.library_named.append((info.summary.name, library))
            return None
        self.errors.append(ExtractionError(info.summary.location, _("class %(name)s has no __tablename__", name=info.summary.name)))
        return None

    def _library_bases(self, cls: ClassSummary) -> Iterator[str]:
        """The bases of `cls` that resolve to a class of a library other than SQLAlchemy (or
        Flask-SQLAlchemy's `db.Model`): names outside the workspace, which are not read."""
        for base in cls.bases:
            resolved = self.world.resolve(base.name) if base.kind == "name" else None
            flask_model = bool(resolved) and resolved.endswith(".Model") and self.world.is_flask_db(resolved[:-6])
            if resolved and resolved not in self.world.classes and "." in resolved and not flask_model \
                    and resolved.rpartition(".")[0] not in self._workspace_modules \
                    and resolved.split(".")[0] not in _NOT_LIBRARIES and sa_member(resolved) is None \
                    and resolved not in _LIBRARY_BASES:  # known: they declare no column
                yield resolved

    @cached_property
    def _workspace_modules(self) -> frozenset[str]:
        return frozenset(summary.module for summary in self.world.summaries)

    def _declares_primary_key(self, info: _ClassInfo, attributes: list[ClassAttribute]) -> bool:
        for attribute in attributes:
            call = self._column_call(attribute)
            if call is not None and self.world.const(call.kwarg("primary_key")) is True:
                return True
        table_args = info.summary.attribute("__table_args__")
        return table_args is not None and table_args.value is not None and any(
            self.world.member(item) == "PrimaryKeyConstraint" for item in walk(table_args.value) if item.kind == "call")

    def _evaluate_name(self, attribute: ClassAttribute, cls: ClassSummary) -> Optional[str]:
        """`__tablename__` as written, or computed from the class name by code the evaluator reads."""
        value = self.world.value_of(attribute.value)
        if value.is_str:
            return value.value
        names = {"cls": ClassRef(cls.name), "self": ClassRef(cls.name)}
        try:
            if attribute.function is not None:
                name = self.evaluator.call_result(attribute.function, names)
            else:
                name = self.evaluator.value(value, names)
        except (Unknown, RecursionError) as error:
            name, reason = None, str(error)
        else:
            reason = _("it gives %(type)s", type=type(name).__name__)
        if isinstance(name, str) and name:
            return name
        self.errors.append(ExtractionError(attribute.location, _("__tablename__ of %(name)s is computed at run time in a "
                                                                 "way SchemaLens does not follow (%(reason)s)",
                                                                 name=cls.name, reason=reason), kind="opaque"))
        return None

    def _map_class(self, info: _ClassInfo) -> None:
        parent = self._mapped_parent(info)
        classes = self._own_classes(info, parent)
        names: list[str] = []
        for cls in classes:
            names += [a.name for a in cls.attributes if a.name not in names]
        attributes = [self._lookup(classes, name) for name in names]
        declared_table = info.summary.attribute("__table__")
        if declared_table is not None and declared_table.value is not None:  # not `__table__: ClassVar[Table]` (ckan)
            self._declared_table(info, declared_table)
            return
        table_name = self._table_name(info, parent, classes, attributes)
        if table_name is None:
            table = self.class_tables.get(parent.summary.qualified) if parent is not None else None
            if table is None:
                return
        else:
            table_args = self._lookup(classes, "__table_args__")
            args_items, options = self._table_args(table_args.value if table_args is not None else None)
            built = self.world.value_of(table_args.value) if table_args is not None else None
            schema = self.world.const(options.get("schema")) or info.root.schema
            module = self.world.class_module[info.summary.qualified].module
            table = _TableBuild(table_name, schema, info.summary.location, module, info.summary.name, info.root)
            table.comment = self.world.const(options.get("comment"))
            table.partition_by = self.world.const(options.get("postgresql_partition_by"))
            table.items += args_items
            table.partly_read = built is not None and built.kind == "call" and self.world.member(built) is None
            table.columns += [_ColumnBuild(name, name, info.summary.location, type_text, type_text, not not_null,
                                           primary_key=primary_key)
                              for name, type_text, not_null, primary_key in info.root.library_columns
                              if name not in names]
            self.tables.append(table)
        self.class_tables[info.summary.qualified] = table
        transformed = {name for cls in classes for name in cls.transformed}
        for attribute in attributes:
            if attribute.name.startswith("__"):
                continue
            column = (self._sqlmodel_column if info.root.sqlmodel else self._class_column)(attribute, info.root, table)
            if column is not None and table.column_by_key(column.key) is None:
                column.transformed = column.transformed or column.key in transformed
                table.columns.append(column)
            value = self.world.value_of(attribute.value)
            if value is not None and value.kind == "call" and self.world.member(value) == "relationship":
                self.relationships.append((info.summary.qualified, attribute, value))
            elif info.root.sqlmodel and value is not None and value.kind == "call" \
                    and _sqlmodel_name(self.world.resolve(value.name)) == "Relationship":
                self.relationships.append((info.summary.qualified, attribute, self._sqlmodel_relationship(value)))

    def _declared_table(self, info: _ClassInfo, attribute: ClassAttribute) -> None:
        """`__table__ = Table("activity", metadata, Column(...), ...)` (ckan): the class maps that
        table, read as the Table() object it is. One that names a module's Table() is read with
        the module."""
        value = attribute.value
        if value is None or not self._is_table_call(value):
            return
        self._table_call(value, self.world.class_module[info.summary.qualified], None)
        table = self.tables[-1]
        table.class_name = info.summary.name
        self.class_tables[info.summary.qualified] = table

    def _table_args(self, value: Optional[Expr]) -> tuple[list[Expr], dict[str, Expr]]:
        value = self.world.value_of(value)
        if value is None:
            return [], {}
        if value.kind == "call" and self.world.member(value) is None:
            # `auto_table_args(cls, schema="events")`, a helper of the project (indico): what it
            # builds is not read (the table is partly read), the options it is given are
            return [], {key: option for key, option in value.kwargs if key in ("schema", "comment")}
        entries = [value] if value.kind == "dict" else list(value.args) if value.kind == "seq" else []
        items, options = [], {}
        for entry in entries:
            entry = self._created_on_postgresql(self.world.value_of(entry))
            if entry is None:
                continue
            if entry.kind == "dict":
                for key, option in entry.items:
                    if key.is_str:
                        options[key.value] = option
            elif entry.kind == "call":
                items.append(entry)
        return items, options

    def _imperative_mapping(self, call: Expr) -> None:
        """`registry.map_imperatively(User, user_table, ...)` (`mapper(...)` before SQLAlchemy 2.0;
        ckan maps every class so): the class maps the table, and the columns its setters or
        validators transform are written through them."""
        class_name = self.world.resolve(call.args[0].name) if call.args[0].kind == "name" else None
        table_name = self.world.resolve(call.args[1].name) if call.args[1].kind == "name" else None
        cls = self.world.classes.get(class_name or "")
        table = self.var_tables.get(table_name or "")
        if cls is None or table is None:
            return
        table.class_name = table.class_name or cls.name
        for column in table.columns:
            column.transformed = column.transformed or column.key in cls.transformed

    def _created_on_postgresql(self, item: Expr) -> Optional[Expr]:
        """`Index(...).ddl_if(dialect="postgresql")` (SQLAlchemy 2.0) as the index itself, and None
        when `ddl_if` names other dialects only: PostgreSQL never gets it. A condition not read (a
        `callable_`) keeps the item."""
        inner = _ddl_if(item)
        if inner is None:
            return item
        dialect = self.world.value_of(item.kwarg("dialect"))
        names = [self.world.const(name) for name in (dialect.args if dialect is not None and dialect.kind == "seq" else [dialect])]
        if dialect is None or not all(isinstance(name, str) for name in names) or "postgresql" in names:
            return inner
        return None

    # columns

    def _column_call(self, attribute: ClassAttribute) -> Optional[Expr]:
        value = self._expanded(attribute.value)
        if value is not None and value.kind == "call":
            member = self.world.member(value)
            if member in ("Column", "mapped_column"):
                return value
            if member in ("column_property", "deferred") and value.args and self.world.member(value.args[0]) in ("Column", "mapped_column"):
                return value.args[0]
        return None

    def _expanded(self, value: Optional[Expr]) -> Optional[Expr]:
        """A call through the project's helpers (`Column = partial(db.Column, ...)`, a primary-key
        factory, `Column(key_type("User"))`) as the SQLAlchemy call it builds; else `value`."""
        if value is None or value.kind != "call":
            return value
        needs = self.world.member(value) is None or any(
            argument.kind == "call" and self.world.member(argument) is None for argument in (*value.args, *(v for _name, v in value.kwargs)))
        if not needs:
            return value
        return self.evaluator.expanded_call(value) or value

    def _class_column(self, attribute: ClassAttribute, root: _Root, table: _TableBuild) -> Optional[_ColumnBuild]:
        call = self._column_call(attribute)
        if call is not None and self.world.const(call.kwarg("use_existing_column")) is True \
                and table.column_by_key(attribute.name) is not None:
            return None  # single-table inheritance: the subclass only re-declares its parent's column
        annotation = self._mapped_inner(attribute.annotation)
        if call is None and (attribute.value is not None or annotation is None):
            return None
        annotated_call = None
        if annotation is not None:
            _type, annotated_call = self._unwrap_annotated(self._strip_optional(annotation)[0])
        if call is None:
            if annotated_call is None and self._annotation_type(self._strip_optional(annotation)[0], root) is None:
                return None  # `Mapped["Other"]` without relationship(): not a column
            call = annotated_call or Expr("call", attribute.name, attribute.location, name="sqlalchemy.orm.mapped_column")
        elif annotated_call is not None:
            call = _merge_calls(annotated_call, call)
        return self._column(call, attribute.name, attribute.location, annotation, root, table)

    def _sqlmodel_column(self, attribute: ClassAttribute, root: _Root, table: _TableBuild) -> Optional[_ColumnBuild]:
        """A field of a SQLModel table class as the Column SQLModel makes of it (sqlmodel/main.py,
        get_column_from_field): `sa_column=` as written; else a Column of the type `sa_type=` or the
        annotation gives, NOT NULL unless the annotation admits None (a primary key never) or
        `nullable=` says (or, under a pinned pydantic 1, its default is None), with Field()'s primary_key, foreign_key, ondelete, index, unique, default
        and sa_column_args / sa_column_kwargs. Not a field: a private name, a ClassVar, a
        Relationship()."""
        annotation, value, world = attribute.annotation, attribute.value, self.world
        called = _sqlmodel_name(world.resolve(value.name)) if value is not None and value.kind == "call" else None
        if annotation is None or attribute.name.startswith("_") or called == "Relationship" or self._class_var(annotation):
            return None
        field = value if called == "Field" else None
        keyword = field.kwarg if field is not None else (lambda _name: None)
        location = attribute.location
        sa_column = self._expanded(keyword("sa_column"))
        if sa_column is not None:
            return self._column(sa_column, attribute.name, location, None, root, table) \
                if sa_column.kind == "call" and world.member(sa_column) == "Column" else None
        inner, optional = self._strip_optional(annotation)
        inner = self._unwrap_annotated(inner)[0]
        primary_key = world.const(keyword("primary_key")) is True
        nullable = world.const(keyword("nullable"))
        default = (keyword("default_factory") or keyword("default") or next(iter(field.args), None)) if field is not None else value
        if self.pydantic_version is not None and self.pydantic_version < (2,) and default is not None \
                and default.kind == "const" and default.value is None:
            optional = True  # pydantic 1 makes a field whose default is None admit None (keep: `last_used: str = Field(default=None)`)
        kwargs: list[tuple[str, Expr]] = [
            ("primary_key", _constant(primary_key, location)),
            ("nullable", _constant(nullable if isinstance(nullable, bool) else optional and not primary_key, location))]
        kwargs += [(name, keyword(name)) for name in ("index", "unique") if keyword(name) is not None]
        if default is not None and not (default.kind == "const" and default.value in (None, Ellipsis)):
            kwargs.append(("default", default))
        args: list[Expr] = []
        target = keyword("foreign_key")
        if target is not None:
            ondelete = keyword("ondelete")
            args.append(_call("sqlalchemy.ForeignKey", target.source, location, (target,),
                              (("ondelete", ondelete),) if ondelete is not None else ()))
        extra_args, extra_kwargs = world.value_of(keyword("sa_column_args")), world.value_of(keyword("sa_column_kwargs"))
        args += list(extra_args.args) if extra_args is not None and extra_args.kind == "seq" else []
        type_expr = keyword("sa_type") or self._sqlmodel_type(inner, keyword, location)
        if type_expr is not None:
            kwargs.append(("type_", type_expr))
        kwargs += [(key.value, item) for key, item in (extra_kwargs.items if extra_kwargs is not None and extra_kwargs.kind == "dict" else ())
                   if key.is_str]
        column = self._column(_call("sqlalchemy.Column", (field or annotation).source, location, tuple(args), tuple(kwargs)),
                              attribute.name, location, None, root, table)
        column.raw_type = column.raw_type or inner.source
        if type_expr is None and world.resolve(inner.name if inner.kind == "name" else None) not in _SQLMODEL_VERSIONED_TYPES:
            self.errors.append(ExtractionError(location, _("no column type SQLModel gives annotation %(annotation)s "
                                                           "that SchemaLens knows", annotation=inner.source)))
        return column

    def _sqlmodel_type(self, annotation: Expr, keyword: Callable[[str], Optional[Expr]], location: Location) -> Optional[Expr]:
        """The SQLAlchemy type SQLModel gives a field of this annotation (get_sqlalchemy_type), as
        a call: `String(max_length)`, `Numeric(max_digits, decimal_places)`, `Enum(TheEnum)`."""
        resolved = self.world.resolve(annotation.name) if annotation.kind == "name" else None
        if resolved is None:
            return None
        if self.types.python_enum(resolved) is not None:
            return _call("sqlalchemy.Enum", annotation.source, location, (annotation,))
        if resolved in _SQLMODEL_VERSIONED_TYPES and self.sqlmodel_version is not None:
            since = self.sqlmodel_version >= _SQLMODEL_AWARE_DATETIMES
            if resolved != "datetime.datetime" and not since:
                return None  # pydantic's datetime types: no column type before SQLModel 0.0.45
            aware = since and not resolved.endswith("NaiveDatetime")
            return _call("sqlalchemy.DateTime", annotation.source, location, (), (("timezone", _constant(aware, location)),))
        name = _SQLMODEL_TYPES.get(resolved)
        if name is None:
            return None
        modifiers = {"String": ("max_length",), "Numeric": ("max_digits", "decimal_places")}.get(name, ())
        return _call(f"sqlalchemy.{name}", annotation.source, location,
                     tuple(keyword(modifier) or _constant(None, location) for modifier in modifiers))

    def _sqlmodel_relationship(self, call: Expr) -> Expr:
        """SQLModel's Relationship() as the relationship() it makes (sqlmodel/main.py,
        get_relationship_to): `sa_relationship=` as written; else its target from the annotation,
        `link_model=` the secondary table, `sa_relationship_kwargs` on top."""
        written = self.world.value_of(call.kwarg("sa_relationship"))
        if written is not None and written.kind == "call" and self.world.member(written) == "relationship":
            return written
        kwargs = [(key, value) for key, value in call.kwargs if key == "back_populates"]
        kwargs += [("secondary", call.kwarg("link_model"))] if call.kwarg("link_model") is not None else []
        extra = self.world.value_of(call.kwarg("sa_relationship_kwargs"))
        kwargs += [(key.value, value) for key, value in (extra.items if extra is not None and extra.kind == "dict" else ())
                   if key.is_str]
        return _call("sqlalchemy.orm.relationship", call.source, call.location, (), tuple(kwargs))

    def _class_var(self, annotation: Expr) -> bool:
        head = annotation.func if annotation.kind == "subscript" else annotation
        return head is not None and head.kind == "name" and _typing_member(self.world.resolve(head.name)) == "ClassVar"

    def _mapped_inner(self, annotation: Optional[Expr]) -> Optional[Expr]:
        """X from `Mapped[X]` (also WriteOnlyMapped / DynamicMapped are not columns)."""
        if annotation is None or annotation.kind != "subscript" or annotation.func is None or not annotation.args:
            return None
        if self.world.member(annotation.func) != "Mapped":
            return None
        return annotation.args[0]

    def _unwrap_annotated(self, annotation: Expr) -> tuple[Expr, Optional[Expr]]:
        """`Annotated[str, mapped_column(String(30))]` (possibly through an alias) -> (str, the call)."""
        resolved = self.world.value_of(annotation)
        if resolved.kind == "subscript" and _typing_member(self.world.resolve(resolved.func.name) if resolved.func.kind == "name" else None) == "Annotated":
            calls = [a for a in resolved.args[1:] if a.kind == "call" and self.world.member(a) == "mapped_column"]
            return resolved.args[0], (calls[0] if calls else None)
        return annotation, None

    def _strip_optional(self, annotation: Expr) -> tuple[Expr, bool]:
        """(X, True) for Optional[X], X | None, Union[X, None]; (annotation, False) otherwise."""
        if annotation.kind == "binop" and annotation.value == "|":
            parts = _union_parts(annotation)
            rest = [p for p in parts if not _is_none(p)]
            if len(rest) < len(parts) and rest:
                return rest[0], True
            return annotation, False
        if annotation.kind == "subscript" and annotation.func is not None and annotation.func.kind == "name":
            member = _typing_member(self.world.resolve(annotation.func.name))
            if member == "Optional" and annotation.args:
                return annotation.args[0], True
            if member == "Union":
                items = annotation.args[0].args if len(annotation.args) == 1 and annotation.args[0].kind == "seq" else annotation.args
                rest = [p for p in items if not _is_none(p)]
                if len(rest) < len(items) and rest:
                    return rest[0], True
        return annotation, False

    def _annotation_key(self, annotation: Expr) -> Optional[str]:
        """An annotation as a type_annotation_map key: its qualified name, or for a generic
        (phoenix: `dict[str, Any]: JsonDict`) the qualified names of it and its arguments."""
        if annotation.kind == "name":
            return self.world.resolve(annotation.name)
        if annotation.kind == "subscript" and annotation.func is not None and annotation.func.kind == "name":
            arguments = annotation.args[0].args if len(annotation.args) == 1 and annotation.args[0].kind == "seq" \
                else annotation.args
            keys = [self._annotation_key(argument) for argument in arguments]
            if None not in keys:
                return f"{self.world.resolve(annotation.func.name)}[{', '.join(keys)}]"
        return None

    def _annotation_type(self, annotation: Expr, root: _Root) -> Optional[TypeResult]:
        annotation, _metadata = self._unwrap_annotated(annotation)
        if annotation.kind == "subscript" and root.type_map and (key := self._annotation_key(annotation)) in root.type_map:
            return self.types.of_expr(root.type_map[key])
        if annotation.kind == "subscript" and annotation.func is not None and annotation.func.kind == "name":
            if _typing_member(self.world.resolve(annotation.func.name)) == "Literal":
                values = [a.value for a in (annotation.args[0].args if annotation.args[0].kind == "seq" else annotation.args) if a.is_str]
                return TypeResult(f"VARCHAR({max((len(v) for v in values), default=0)})")
            return None
        if annotation.kind != "name":
            return None
        resolved = self.world.resolve(annotation.name)
        if resolved in root.type_map:
            return self.types.of_expr(root.type_map[resolved])
        alias = self.world.assignments.get(resolved)
        if alias is not None and alias.value.kind in ("subscript", "name"):
            return self._annotation_type(alias.value, root)
        if resolved in PYTHON_TYPES:
            return TypeResult(PYTHON_TYPES[resolved])
        enum_class = self.types.python_enum(resolved)
        if enum_class is not None:
            name = enum_class.name.lower()
            return TypeResult(name, EnumType(name, tuple(self.types.enum_values(enum_class, None)), annotation.location))
        return None

    def _column(self, call: Expr, key: str, location: Location, annotation: Optional[Expr], root: _Root,
                table: _TableBuild) -> _ColumnBuild:
        world = self.world
        keywords = dict(call.kwargs)  # looked up a dozen times: once into a dict
        positional = list(call.args)
        name = key
        if positional and world.value_of(positional[0]).is_str:
            name = world.value_of(positional.pop(0)).value
        name = world.const(keywords.get("name")) or name
        type_result, raw_type = None, ""
        foreign_keys, checks = [], []
        identity = sequence = None
        positional_default: Optional[Expr] = None  # `Column(ArrowType, DefaultClause(func.now()))` (lemur)
        decorated = False  # the type is a workspace class (a TypeDecorator): it may transform what is stored
        spatial_index = False
        for argument in [*positional, *((keywords["type_"],) if "type_" in keywords else ())]:
            member = world.member(argument)
            if member == "ForeignKey":
                foreign_keys.append(argument)
            elif member == "Identity":
                always = world.const(argument.kwarg("always")) is True
                identity = "always" if always else "by default"
            elif member == "Sequence":
                sequence = world.const(argument.args[0]) if argument.args else None
            elif member == "CheckConstraint":
                checks.append(argument)
            elif member == "DefaultClause":
                positional_default = argument
            elif member in ("Computed", "FetchedValue"):
                continue
            elif type_result is None and not raw_type:
                type_result = self.types.of_expr(argument)
                raw_type = argument.source
                type_class = world.resolve(argument.name) if argument.name else None
                # a TypeDecorator of the project, or a library's encrypting type (sqlalchemy_utils'
                # EncryptedType, advanced_alchemy's EncryptedText): what is stored is not what is written
                decorated = type_class in world.classes or "Encrypted" in (type_class or "").rpartition(".")[2]
                spatial_index = type_result is not None and type_result.text in ("GEOMETRY", "GEOGRAPHY") \
                    and argument.kind == "call" and world.const(argument.kwarg("spatial_index")) is not False
        optional = False
        annotated = None
        if annotation is not None:
            inner, optional = self._strip_optional(annotation)
            if type_result is None and not raw_type and foreign_keys:
                # SQLAlchemy types a foreign key column without a type of its own as the column it
                # references, whatever its annotation (warehouse's `Mapped[str]` of a uuid key)
                annotated = self._annotation_type(inner, root)
            elif type_result is None and not raw_type:  # a type written in the call wins, read or not (fief's GUID)
                type_result = self._annotation_type(inner, root)
                raw_type = inner.source
                if type_result is None:
                    self.errors.append(ExtractionError(location, _("no SQLAlchemy type for annotation %(annotation)s",
                                                                   annotation=inner.source)))
        primary_key = world.const(keywords.get("primary_key")) is True
        explicit_nullable = world.const(keywords.get("nullable"))
        if isinstance(explicit_nullable, bool):
            nullable = explicit_nullable
        elif primary_key or identity is not None:
            nullable = False
        elif world.member(call) == "mapped_column" and annotation is not None:
            nullable = optional
        else:
            nullable = True
        if type_result is not None and type_result.enum is not None:
            self.enums.setdefault(table_key(type_result.enum.name, type_result.enum.schema), type_result.enum)
        column = _ColumnBuild(
            transformed=decorated,
            key=key, name=name, location=location, type_text=type_result.text if type_result else None,
            annotated_type=annotated.text if annotated else None,
            raw_type=raw_type, nullable=nullable, primary_key=primary_key,
            # `default_factory=`: the dataclass form of a client default (MappedAsDataclass; ckan)
            default=_source(keywords.get("default") or keywords.get("insert_default") or keywords.get("default_factory")),
            server_default=self._server_default(keywords.get("server_default") or positional_default),
            identity=identity, sequence=sequence, comment=world.const(keywords.get("comment")),
            autoincrement=world.const(keywords.get("autoincrement")), foreign_keys=foreign_keys,
            index=world.const(keywords.get("index")) is True, unique=world.const(keywords.get("unique")) is True,
            checks=checks, spatial_index=spatial_index,
        )
        return column

    def _server_default(self, expr: Optional[Expr]) -> Optional[str]:
        """The DEFAULT clause SQLAlchemy would emit: a quoted literal, text(...) as written, func.x()."""
        expr = self.world.value_of(expr)
        if expr is None or (expr.kind == "const" and expr.value is None):  # `server_default=None`: none
            return None
        if expr.is_str:
            return _sql_literal(expr.value)
        if expr.kind == "call":
            member = self.world.member(expr) or ""
            if member in ("text", "literal_column") and expr.args and self.world.value_of(expr.args[0]).is_str:
                return self.world.value_of(expr.args[0]).value
            if member == "DefaultClause" and expr.args:  # what it holds: a string is a literal, as `server_default="x"`
                return self._server_default(expr.args[0])
            if member in SQL_CONSTANTS:
                return SQL_CONSTANTS[member]
            if member == "literal" and expr.args and self.world.value_of(expr.args[0]).kind == "const":
                return _sql_literal(self.world.value_of(expr.args[0]).value)  # `literal(True)` (chaos_genius)
            if member.startswith("func."):
                function = member[len("func."):]
                if function in ("current_timestamp", "current_date", "current_time", "localtimestamp", "localtime") and not expr.args:
                    return function.upper()
                return f"{function}({', '.join(self._server_default(a) or a.source for a in expr.args)})"
        return expr.source

    # Table(...) objects

    def _say_unnamed_table(self, expr: Expr, summary: ModuleSummary) -> None:
        """`Table(get_prefixed_tablename("roles"), metadata, ...)` in application code: a table
        whose name is computed at run time is not read, and the errors say so (fief)."""
        if expr.kind == "call" and expr.args and self.world.member(expr) == "Table" \
                and self.is_application(summary.path) and not self.world.value_of(expr.args[0]).is_str:
            self.errors.append(ExtractionError(expr.location, _(
                "Table(%(name)s, ...): the table name is computed at run time; this table is not read",
                name=expr.args[0].source), kind="opaque"))

    def _is_table_call(self, expr: Expr) -> bool:
        return expr.kind == "call" and self.world.member(expr) == "Table" and bool(expr.args) and self.world.value_of(expr.args[0]).is_str

    def _metadata_root(self, expr: Optional[Expr]) -> Optional[_Root]:
        """The root whose metadata `expr` names: `Base.metadata`, `db.metadata`, `metadata_obj`."""
        if expr is None or expr.kind != "name":
            return None
        resolved = self.world.resolve(expr.name)
        if resolved in self.world.assignments:
            assignment = self.world.assignments[resolved]
            if self.world.member(assignment.value) == "MetaData":
                if resolved not in self.roots:
                    convention, schema = self._convention(assignment.value)
                    self.roots[resolved] = _Root(resolved, convention=convention, schema=schema)
                return self.roots[resolved]
            return None
        if not resolved.endswith(".metadata"):
            return None
        owner = resolved.rpartition(".")[0]
        if owner in self.world.classes:
            info = self.info(owner)
            return info.root if info is not None else None
        if self.world.is_flask_db(owner):
            return self._flask_root(owner)
        if owner in self.world.assignments:
            return self._root_of_assignment(owner)
        return None

    def _table_call(self, call: Expr, summary: ModuleSummary, qualified: Optional[str]) -> None:
        world = self.world
        name = world.value_of(call.args[0]).value
        rest = list(call.args[1:])
        root = None
        if rest and world.member(rest[0]) not in ("Column", "Index", "UniqueConstraint", "CheckConstraint",
                                                   "ForeignKeyConstraint", "PrimaryKeyConstraint"):
            root = self._metadata_root(rest.pop(0))
        if root is None:
            db_name = self._flask_db_of_call(call)
            root = self._flask_root(db_name) if db_name else _Root("Table")
        schema = world.const(call.kwarg("schema")) or root.schema
        table = _TableBuild(name, schema, call.location, summary.module, None, root)
        table.comment = world.const(call.kwarg("comment"))
        table.partition_by = world.const(call.kwarg("postgresql_partition_by"))
        for item in rest:
            item = self._expanded(self._created_on_postgresql(item))
            if item is None:
                continue
            if world.member(item) == "Column":
                table.columns.append(self._column(item, "", item.location, None, root, table))
                column = table.columns[-1]
                column.key = world.const(item.kwarg("key")) or column.name
            elif item.kind == "call":
                table.items.append(item)
        self.tables.append(table)
        if qualified is not None:
            self.var_tables[qualified] = table

    def _flask_db_of_call(self, call: Expr) -> Optional[str]:
        """`db.Table(...)`: the `db` the call goes through, or None."""
        if call.func is None or call.func.kind != "name":
            return None
        name = call.func.name
        for _attempt in range(5):
            owner = name.rpartition(".")[0]
            if not owner:
                return None
            resolved_owner = self.world.resolve(owner)
            if self.world.is_flask_db(resolved_owner):
                return resolved_owner
            alias = self.world.aliases.get(owner)
            if alias is None:
                return None
            name = f"{alias}.{name.rpartition('.')[2]}"
        return None

    # column references

    def _column_ref(self, expr: Expr, table: Optional[_TableBuild]) -> Optional[tuple[_TableBuild, _ColumnBuild]]:
        """`"col"` (in `table`), `Model.attr`, `Model.__table__.c.col`, `some_table.c.col`."""
        expr = self.world.value_of(expr) if expr.kind == "name" and not self._looks_like_attribute(expr) else expr
        if expr.is_str:
            if table is None:
                return None
            column = table.column_by_key(expr.value)
            return (table, column) if column is not None else None
        if expr.kind != "name":
            return None
        self._other_tables_read += 1
        resolved = self.world.resolve(expr.name)
        parts = resolved.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            owner, rest = ".".join(parts[:cut]), parts[cut:]
            owner_table = self.class_tables.get(owner) or self.var_tables.get(owner)
            if owner_table is None:
                continue
            if rest[:2] in (["__table__", "c"], ["__table__", "columns"]):
                rest = rest[2:]
            elif rest[:1] in (["c"], ["columns"]):
                rest = rest[1:]
            if len(rest) != 1:
                return None
            if owner in self.class_tables:
                column = self._class_attribute_column(owner, rest[0])
            else:
                column = owner_table.column_by_key(rest[0])
            return (owner_table, column) if column is not None else None
        return None

    def _looks_like_attribute(self, expr: Expr) -> bool:
        self._other_tables_read += 1
        resolved = self.world.resolve(expr.name)
        return resolved.rpartition(".")[0] in self.class_tables or resolved.rpartition(".")[0] in self.var_tables

    def _class_attribute_column(self, qualified: str, key: str) -> Optional[_ColumnBuild]:
        info = self.infos.get(qualified)
        table = self.class_tables.get(qualified)
        column = table.column_by_key(key) if table is not None else None
        if column is None and info is not None:
            parent = self._mapped_parent(info)
            if parent is not None:
                return self._class_attribute_column(parent.summary.qualified, key)
        return column

    def _module_index(self, call: Expr) -> None:
        for argument in call.args[1:]:
            for inner in walk(argument):
                found = self._column_ref(inner, None) if inner.kind == "name" else None
                if found is not None:
                    found[0].module_indexes.append(call)
                    return
        self.errors.append(ExtractionError(call.location, _("Index(...) whose table could not be found")))

    # what was recognized

    def library_tables(self, relationships: tuple[Relationship, ...]) -> tuple[tuple[str, str], ...]:
        """(table key, library) for the tables a library maps at run time from the models:
        SQLAlchemy-Continuum's `<table>_version` for every class with `__versioned__` (its own or
        a base's) and for the association tables of their relationships, and its `transaction`
        table; then (table key, declared_attr) for the classes mixins build (`_built_at_run_time`)."""
        versioned = {table.key for qualified, table in self.class_tables.items()
                     if self._lookup([self.world.classes[q] for q in self.infos[qualified].lineage if q in self.world.classes],
                                     "__versioned__") is not None}
        versioned |= {record.secondary for record in relationships if record.table in versioned and record.secondary}
        found = [(f"{key}_version", "SQLAlchemy-Continuum") for key in sorted(versioned)]
        if found:
            found += [(table_key(name), "SQLAlchemy-Continuum") for name in ("transaction", "transaction_changes")]
        return tuple(found) + self._built_at_run_time()

    def say_renamed_at_run_time(self) -> None:
        """One error per base whose `__init_subclass__` rewrites `__tablename__`: the names its
        model classes write are read as written, which is not what the database holds."""
        renamed: dict[str, list[str]] = {}
        for qualified, table in self.class_tables.items():
            renamer = next((q for q in self.infos[qualified].lineage
                            if q in self.world.classes and self.world.classes[q].renames_tables), None)
            if renamer is not None:
                renamed.setdefault(renamer, []).append(table.name)
        for renamer, names in sorted(renamed.items()):
            cls = self.world.classes[renamer]
            shown = ", ".join(sorted(names)[:_SHOWN_NAMES]) + (", ..." if len(names) > _SHOWN_NAMES else "")
            self.errors.append(ExtractionError(cls.location, _n(
                "%(name)s.__init_subclass__ sets __tablename__ at run time: %(count)d table is read under the name "
                "its class writes (%(names)s)",
                "%(name)s.__init_subclass__ sets __tablename__ at run time: %(count)d tables are read under the names "
                "their classes write (%(names)s)", len(names), name=cls.name, names=shown), kind="opaque"))

    def _built_at_run_time(self) -> tuple[tuple[str, str], ...]:
        """(table key, the declared_attr that builds it) for the classes a mixin's declared_attr
        maps at run time for each model that inherits it (`type(f"{cls.__name__}Event", (Event,
        db.Model), {"__tablename__": f"{cls.__name__.lower()}_events", ...})`), named with `cls`
        bound to that model. Their columns are not read."""
        found: dict[str, str] = {}
        for qualified in self.class_tables:
            model = self.world.classes[qualified]
            for owner in (self.world.classes[q] for q in self.infos[qualified].lineage if q in self.world.classes):
                for attribute in owner.attributes:
                    for written in attribute.built_tablenames:
                        try:
                            name = self.evaluator.value(written, {"cls": ClassRef(model.name)})
                        except (Unknown, RecursionError):
                            continue
                        if isinstance(name, str) and name:
                            found.setdefault(table_key(name), f"{owner.name}.{attribute.name}")
        return tuple(sorted(found.items()))

    def library_bases(self) -> tuple[tuple[str, str], ...]:
        """(library class, table) for every mapped class that inherits from a class of a library
        other than SQLAlchemy, itself or through a class of the workspace it inherits from (its
        declarative base's `cls=` too): columns such a base declares (authlib's OAuth2 mixins,
        oslo.db's TimestampMixin) are not read."""
        found = []
        for table in self.tables:
            info = self.infos.get(self._class_declaring(table) or "")
            lineage = [self.world.classes[name] for name in info.lineage if name in self.world.classes] if info else []
            bases = dict.fromkeys(base for cls in lineage for base in self._library_bases(cls))
            found += [(base, table.key) for base in bases]
        return tuple(found)

    def _class_declaring(self, table: _TableBuild) -> Optional[str]:
        """The qualified name of the class of the table's name declared in the table's file, if
        any (not a search of every class: polar has 3,900)."""
        if not table.class_name:
            return None
        qualified = f"{table.module}.{table.class_name}" if table.module else table.class_name
        return qualified if qualified in self.world.classes and self.world.path_of(qualified) == table.location.path \
            else None

    def recognition(self) -> tuple[int, tuple[UnrecognizedModel, ...]]:
        """(application model classes, those that gave no table with why). A model class declares
        `__tablename__` or `__table__`, or maps through a declarative base."""
        tables = {table.class_name for table in self.tables if table.class_name}
        found, unrecognized = 0, []
        # the classes that declare a table or map through a base (not all of them: polar has 3,900)
        candidates = {qualified for _summary, statements in self.module_statements.values() for qualified in statements.declaring}
        candidates.update(info.summary.qualified for info in self.mapped_infos)
        for qualified in sorted(candidates):
            cls = self.world.classes.get(qualified)
            if cls is None:
                continue
            info = self.infos.get(qualified)
            declares = cls.attribute("__tablename__") is not None or cls.attribute("__table__") is not None
            # the path's roles last: most classes of a workspace are no model, and matching costs
            if not (declares or (info is not None and info.mapped)) or not self.is_application(self.world.path_of(qualified)):
                continue
            if info is not None and (info.is_root or info.abstract):
                continue
            found += 1
            if info is not None and info.mapped:
                continue
            if cls.name in tables:
                continue
            unresolved = [base.source for base in cls.bases if base.kind == "name"
                          and self.world.resolve(base.name) not in self.world.classes]
            reason = (_("its bases (%(bases)s) do not lead to a declarative base SchemaLens found",
                        bases=", ".join(unresolved)) if unresolved else _("none of its bases is a declarative base"))

            unrecognized.append(UnrecognizedModel(cls.name, cls.location, reason))
        unrecognized.sort(key=lambda u: (u.location.path, u.location.line))
        return found, tuple(unrecognized)

    # final tables

    def finish(self) -> SchemaLayer:
        by_key: dict[str, Table] = {}
        # the engine of each module that declares a table (not of every module: a build follows each edit)
        summaries = {summary.path: summary for summary in self.world.summaries}
        engines = {path: _other_engine(summaries[path]) for path in {table.location.path for table in self.tables}
                   if path in summaries}
        for table in sorted(self.tables, key=lambda t: (t.location.path, t.location.line)):
            engine = engines.get(table.location.path)
            if engine is not None or not self.is_application(table.location.path):
                self.kept_out.append(KeptOutTable(table.key, table.location, engine or "not application code"))
                continue
            if table.key in by_key:
                self.errors.append(ExtractionError(table.location, _("table %(table)s is declared twice", table=table.key)))
                continue
            built = self._guarded_table(table)
            if built is not None:
                by_key[table.key] = built
        return SchemaLayer("orm", tables=by_key, enums=dict(sorted(self.enums.items())))

    def _guarded_table(self, table: _TableBuild) -> Optional[Table]:
        mapping = table.mapping
        # as the mapping made it: no subclass added columns, no module-level Index() names it
        alone = mapping is not None and len(table.columns) == len(mapping.table.columns) and not table.module_indexes
        search_indexes = self._search_index_names(table) if alone else None
        kept = self.kept.finished.get(mapping.summary.qualified) if alone and self.kept is not None else None
        if kept is not None and kept.mapping is mapping and kept.convention == table.root.convention \
                and kept.search_indexes == search_indexes:
            self.errors += kept.errors
            self.world.functions_evaluated |= kept.functions_evaluated
            self.finished[mapping.summary.qualified] = kept
            return kept.table
        if table.shares_columns:
            _own_columns(table)
        errors, reads = len(self.errors), self._other_tables_read
        evaluated, self.world.functions_evaluated = self.world.functions_evaluated, set()
        try:
            finished = self._finish_table(table)
        except (AttributeError, TypeError, ValueError, KeyError, IndexError, RecursionError) as error:
            self.errors.append(ExtractionError(table.location, _("SchemaLens could not read this table: %(error)s",
                                                                 error=repr(error))))
            finished = None
        finally:
            table_evaluated, self.world.functions_evaluated = self.world.functions_evaluated, evaluated
            evaluated |= table_evaluated
        if alone and self._other_tables_read == reads:
            self.finished[mapping.summary.qualified] = _Finish(mapping, dict(table.root.convention), search_indexes, finished,
                                                               tuple(self.errors[errors:]), frozenset(table_evaluated))
        return finished

    def _search_index_names(self, table: _TableBuild) -> Optional[tuple[str, ...]]:
        """The names make_searchable() gives the GIN indexes of the table's search vectors (None:
        the models do not call it): all a table's finish reads of how they are named, which a
        project's copy of sqlalchemy_searchable may compute from its own code (dispatch)."""
        if self.searchable is None:
            return None
        return tuple(self.searchable(table.name, column.name) for column in table.columns if column.type_text == "TSVECTOR")

    def _finish_table(self, table: _TableBuild) -> Table:
        world = self.world
        primary_key: Optional[PrimaryKey] = None
        foreign_keys: list[ForeignKey] = []
        uniques: list[UniqueConstraint] = []
        checks: list[CheckConstraint] = []
        indexes: list[Index] = []
        for column in table.columns:
            for fk_call in column.foreign_keys:
                fk = self._foreign_key(table, [column.name], _referenced(fk_call), fk_call)
                if fk is not None:
                    foreign_keys.append(fk)
            for check in column.checks:
                checks.append(self._check(table, check))
            if column.index:
                indexes.append(self._named(table, Index(None, (column.name,), column.location, unique=column.unique,
                                                        expressions=(False,)), "ix"))
            elif column.unique:
                uniques.append(self._named(table, UniqueConstraint(None, (column.name,), column.location), "uq"))
            if self.searchable is not None and column.type_text == "TSVECTOR":
                # sqlalchemy_searchable's make_searchable() indexes every search vector with GIN.
                indexes.append(Index(self.searchable(table.name, column.name), (column.name,), column.location,
                                     using="gin", expressions=(False,)))
        for item in [*table.items, *table.module_indexes]:
            member = world.member(item)
            if member == "PrimaryKeyConstraint":
                columns = tuple(self._names(table, item.args))
                for column in table.columns:
                    column.primary_key = column.primary_key or column.name in columns
                    if column.name in columns and world.const(item.kwarg("nullable")) is None:
                        column.nullable = False
                primary_key = self._named(table, PrimaryKey(self._explicit_name(item), columns, item.location), "pk")
            elif member == "UniqueConstraint":
                uniques.append(self._named(table, UniqueConstraint(self._explicit_name(item), tuple(self._names(table, item.args)),
                                                                   item.location), "uq"))
            elif member == "CheckConstraint":
                checks.append(self._check(table, item))
            elif member == "ForeignKeyConstraint" and len(item.args) >= 2:
                local = world.value_of(item.args[0])
                remote = world.value_of(item.args[1])
                local_names = self._names(table, local.args if local.kind == "seq" else [local])
                fk = self._foreign_key(table, local_names, remote.args if remote.kind == "seq" else [remote], item)
                if fk is not None:
                    foreign_keys.append(fk)
            elif member == "Index":
                indexes.append(self._index(table, item))
        # geoalchemy2 gives a spatial column not in any index of its table a GiST index of its own
        indexes += [Index(f"idx_{table.name}_{column.name}", (column.name,), column.location, using="gist", expressions=(False,))
                    for column in table.columns if column.spatial_index
                    and not any(column.name in index.columns for index in indexes)]
        if primary_key is None:
            pk_columns = tuple(c.name for c in table.columns if c.primary_key)
            if pk_columns:
                first = next(c for c in table.columns if c.primary_key)
                primary_key = self._named(table, PrimaryKey(None, pk_columns, first.location), "pk")
        columns = tuple(self._final_column(table, column, primary_key) for column in table.columns)
        return Table(
            name=table.name, location=table.location, schema=table.schema, columns=columns, primary_key=primary_key,
            foreign_keys=tuple(foreign_keys), unique_constraints=tuple(uniques), check_constraints=tuple(checks),
            indexes=tuple(indexes), partition_by=table.partition_by, comment=table.comment, module=table.module,
            class_name=table.class_name, partly_read=table.partly_read,
        )

    def _final_column(self, table: _TableBuild, column: _ColumnBuild, primary_key: Optional[PrimaryKey]) -> Column:
        type_text = (column.type_text or self._referenced_type(table, column, same_base=column.annotated_type is not None)
                     or column.annotated_type or "NULL")
        normalized = normalize_type(type_text)
        identity = column.identity
        # SQLAlchemy emits SERIAL / BIGSERIAL for the single integer primary key column, unless told not to.
        if (identity is None and column.sequence is None and primary_key is not None and primary_key.columns == (column.name,)
                and normalized in ("integer", "bigint", "smallint") and not column.foreign_keys
                and column.autoincrement is not False and column.server_default is None and column.default is None):
            identity = "serial"
        return Column(
            name=column.name, type=normalized, raw_type=column.raw_type or type_text, nullable=column.nullable,
            location=column.location, default=column.default, server_default=column.server_default, identity=identity,
            sequence=column.sequence, comment=column.comment, primary_key=column.primary_key,
        )

    def _referenced_type(self, table: _TableBuild, column: _ColumnBuild, depth: int = 0, same_base: bool = False) -> Optional[str]:
        """A column declared with only a ForeignKey takes the type of the column it references.
        `same_base`: only from a table of the same declarative base; one of another base's
        MetaData is not found by SQLAlchemy, and the column's annotation says its type instead."""
        if depth > 5 or not column.foreign_keys:
            return None
        target = self._fk_target(table, _referenced(column.foreign_keys[0]))
        if target is None or same_base and target[0].root.key != table.root.key:
            return None
        target_table, target_column = target
        return target_column.type_text or self._referenced_type(target_table, target_column, depth + 1)

    def _names(self, table: _TableBuild, exprs: Iterable[Expr]) -> list[str]:
        names = []
        for expr in exprs:
            found = self._column_ref(expr, table)
            if found is not None:
                names.append(found[1].name)
            else:
                value = self.world.value_of(expr)
                if value.is_str:
                    names.append(value.value)
        return names

    def _explicit_name(self, call: Expr) -> Optional[str]:
        name = self.world.const(call.kwarg("name"))
        return name if isinstance(name, str) else None

    def _target_value(self, target: Expr) -> Expr:
        """A foreign key's target as written: a module constant's value, an f-string evaluated
        (`f"{ObserverAssociation.__tablename__}.id"`), else the expression itself."""
        if target.kind == "name":
            if not self._looks_like_attribute(target):
                return self.world.value_of(target)
            return self._declared_path(target) or target
        if target.kind == "fstring":
            try:
                text = self.evaluator.value(target)
            except (Unknown, RecursionError):
                return target
            if isinstance(text, str):
                return Expr("const", target.source, target.location, value=text)
        return target

    def _declared_path(self, target: Expr) -> Optional[Expr]:
        """`Model.id_field_path` (fides): not a column, but a declared_attr of the class or a base
        that makes a text of the class's table name (`f"{self.__tablename__}.id"`), evaluated for
        that class; None otherwise."""
        owner, _dot, attribute = self.world.resolve(target.name).rpartition(".")
        table, info = self.class_tables.get(owner), self.infos.get(owner)
        if table is None or info is None or table.column_by_key(attribute) is not None:
            return None
        member = self._lookup([self.world.classes[q] for q in info.lineage if q in self.world.classes], attribute)
        if member is None or not member.declared_attr or member.value is None:
            return None
        this = Namespace((("__tablename__", table.name), ("__name__", info.summary.name)))
        try:
            text = (self.evaluator.call_result(member.function, {"cls": this, "self": this}) if member.function is not None
                    else self.evaluator.value(member.value, {"cls": this, "self": this}))
        except (Unknown, RecursionError):
            return None
        return Expr("const", target.source, target.location, value=text) if isinstance(text, str) else None

    def _fk_target(self, table: _TableBuild, targets: Iterable[Expr]) -> Optional[tuple[_TableBuild, _ColumnBuild]]:
        for target in targets:
            value = self._target_value(target)
            if value.is_str:
                table_part, _dot, column_name = value.value.rpartition(".")
                schema, _dot, table_name = table_part.rpartition(".")
                self._other_tables_read += 1
                for candidate in self.tables:
                    if candidate.name == table_name and (candidate.schema or None) == (schema or None):
                        column = candidate.column_by_key(column_name)
                        return (candidate, column) if column is not None else None
                return None
            return self._target_column(table, value)
        return None

    def _target_column(self, table: _TableBuild, value: Expr) -> Optional[tuple[_TableBuild, _ColumnBuild]]:
        """A foreign key's target written as a column: `Model.attr`, `some_table.c.col`, or a
        column of the class body the key is declared in (`ForeignKey(id)`: cinder)."""
        if value.kind == "name" and "." not in value.name:
            column = table.column_by_key(value.name)
            if column is not None:
                return table, column
        return self._column_ref(value, None)

    def _foreign_key(self, table: _TableBuild, columns: list[str], targets: list[Expr], call: Expr) -> Optional[ForeignKey]:
        ref_schema, ref_table, ref_columns = None, None, []
        for target in targets:
            value = self._target_value(target)
            if value.is_str:
                table_part, _dot, column_name = value.value.rpartition(".")
                schema, _dot, name = table_part.rpartition(".")
                ref_schema, ref_table = schema or None, name
                ref_columns.append(column_name)
            else:
                found = self._target_column(table, value)
                if found is None:
                    self.errors.append(ExtractionError(call.location, _("foreign key target %(target)s not found",
                                                                        target=value.source)))
                    return None
                ref_schema, ref_table = found[0].schema, found[0].name
                ref_columns.append(found[1].name)
        if ref_table is None:
            return None
        world = self.world
        fk = ForeignKey(
            name=self._explicit_name(call), columns=tuple(columns), ref_table=ref_table, ref_columns=tuple(ref_columns),
            location=call.location, ref_schema=ref_schema,
            on_delete=_upper(world.const(call.kwarg("ondelete"))), on_update=_upper(world.const(call.kwarg("onupdate"))),
            deferrable=world.const(call.kwarg("deferrable")) is True, initially=_upper(world.const(call.kwarg("initially"))),
        )
        return self._named(table, fk, "fk")

    def _check(self, table: _TableBuild, call: Expr) -> CheckConstraint:
        expression = call.kwarg("sqltext") or (call.args[0] if call.args else None)
        value = self.world.value_of(expression)
        text = value.value if value is not None and value.is_str else (value.source if value is not None else "")
        return self._named(table, CheckConstraint(self._explicit_name(call), text, call.location), "ck")

    def _own_column(self, expr: Expr, table: _TableBuild) -> Optional[tuple[_TableBuild, _ColumnBuild]]:
        """`cls.code` in a declared_attr of the table's class (indico): the column of that attribute."""
        owner, _, attribute = (expr.name or "").partition(".") if expr.kind == "name" else ("", "", "")
        column = table.column_by_key(attribute) if owner == "cls" and "." not in attribute else None
        return (table, column) if column is not None else None

    def _sql_of(self, expr: Expr, table: _TableBuild) -> Optional[str]:
        """An index expression as the SQL SQLAlchemy compiles: `func.lower(cls.code)` is
        `lower(code)`; None when it is more than functions of columns and constants."""
        if expr.kind == "const":  # a string in a SQL function is a value, not a column
            return _sql_literal(expr.value)
        found = self._column_ref(expr, table) or self._own_column(expr, table)
        if found is not None:
            return found[1].name
        member = self.world.member(expr) or ""
        if expr.kind == "call" and member.startswith("func.") and not expr.kwargs:
            arguments = [self._sql_of(self.world.value_of(argument), table) for argument in expr.args]
            if all(argument is not None for argument in arguments):
                return f"{member.removeprefix('func.')}({', '.join(arguments)})"
        return None

    def _index(self, table: _TableBuild, call: Expr) -> Index:
        world = self.world
        arguments = list(call.args)
        name = None
        if arguments and (world.value_of(arguments[0]).is_str or _is_none(arguments[0])):
            name = world.value_of(arguments.pop(0)).value
        keys, expressions = [], []
        for argument in arguments:
            found = self._column_ref(_unordered(argument, world), table) or self._own_column(_unordered(argument, world), table)
            if found is not None:
                keys.append(found[1].name)
                expressions.append(False)
                continue
            value = world.value_of(argument)
            if world.member(value) in ("text", "literal_column") and value.args and world.value_of(value.args[0]).is_str:
                text = world.value_of(value.args[0]).value
            else:
                text = value.value if value.is_str else self._sql_of(value, table) or value.source
            ordered = ordered_column(text) if not value.is_str else None
            keys.append(ordered or text)
            expressions.append(ordered is None)
        where = call.kwarg("postgresql_where")
        where_text = None
        if where is not None:
            where_value = world.value_of(where)
            if where_value.is_str:
                where_text = where_value.value
            elif world.member(where_value) == "text" and where_value.args and world.value_of(where_value.args[0]).is_str:
                where_text = world.value_of(where_value.args[0]).value
            else:
                where_text = where_value.source
        using = world.const(call.kwarg("postgresql_using"))
        ops = world.value_of(call.kwarg("postgresql_ops"))
        opclasses = tuple((world.const(k), world.const(v)) for k, v in (ops.items if ops is not None and ops.kind == "dict" else ())
                          if isinstance(world.const(k), str) and isinstance(world.const(v), str))
        include = world.value_of(call.kwarg("postgresql_include"))
        include_names = tuple(self._names(table, include.args if include is not None and include.kind == "seq" else []))
        index = Index(name, tuple(keys), call.location, unique=world.const(call.kwarg("unique")) is True,
                      where=where_text, using=using if isinstance(using, str) and using.lower() != "btree" else None,
                      opclasses=opclasses, include=include_names, expressions=tuple(expressions))
        return self._named(table, index, "ix")

    # naming conventions

    def _named(self, table: _TableBuild, element, kind: str):
        """Apply the metadata's naming convention the way sqlalchemy.sql.naming does."""
        template = table.root.convention.get(kind)
        if template is None:
            return element
        if element.name is not None and "%(constraint_name)s" not in template:
            return element
        if element.name is None and "%(constraint_name)s" in template:
            return element
        columns = [c for c, is_expression in zip(element.columns, getattr(element, "expressions", ()) or (False,) * len(element.columns))
                   if not is_expression] if hasattr(element, "columns") else []
        by_name = {c.name: c for c in table.columns}

        def token(key: str) -> str:
            if key == "table_name":
                return table.name
            if key == "constraint_name":
                return element.name
            if key == "referred_table_name":
                return element.ref_table
            match = re.match(r"^(referred_)?column_(\d+)(_?N)?_(name|key|label)$", key)
            if not match:
                raise KeyError(key)
            referred, index, multiple, attribute = match.groups()
            names = list(element.ref_columns) if referred else columns

            def one(column_name: str) -> str:
                if attribute == "name" or referred:
                    return column_name
                if attribute == "key":
                    column = by_name.get(column_name)
                    return column.key if column is not None else column_name
                prefix = f"{table.schema.replace('.', '_')}_" if table.schema else ""
                return f"{prefix}{table.name}_{column_name}"

            if multiple:
                return ("_" if multiple.startswith("_") else "").join(one(n) for n in names)
            position = int(index)
            return one(names[position]) if position < len(names) else ""

        try:
            name = re.sub(r"%\((\w+)\)s", lambda m: token(m.group(1)), template)
        except KeyError as error:
            self.errors.append(ExtractionError(element.location, _("unknown naming convention token %(token)s",
                                                                   token=str(error))))

            return element
        return replace(element, name=sqlalchemy_truncated(name))

    # relationships

    def relationship_records(self) -> tuple[Relationship, ...]:
        records = []
        for qualified, attribute, call in self.relationships:
            table = self.class_tables.get(qualified)
            if table is None:
                continue
            target_expr = call.args[0] if call.args else call.kwarg("argument")
            target, target_table = None, None
            if target_expr is not None:
                value = target_expr
                if value.kind == "lambda":
                    value = value.args[0]
                if value.is_str:
                    target = self._class_by_name(value.value) or value.value
                elif value.kind == "name":
                    target = self.world.resolve(value.name)
                if target in self.class_tables:
                    target_table = self.class_tables[target].key
            elif attribute.annotation is not None:  # `items: Mapped[list["Item"]] = relationship()`
                target = next((t for t in self._annotated_classes(attribute.annotation) if t in self.class_tables), None)
                target_table = self.class_tables[target].key if target else None
            secondary = call.kwarg("secondary")
            secondary_key = None
            if secondary is not None:
                if secondary.is_str:
                    secondary_key = secondary.value
                elif secondary.kind == "name":
                    resolved = self.world.resolve(secondary.name)
                    # a Table() object, or a mapped class (SQLModel's `link_model=`)
                    tables = self.var_tables if resolved in self.var_tables else self.class_tables
                    secondary_key = tables[resolved].key if resolved in tables else secondary.source
            backref = call.kwarg("backref")
            backref_name = backref_lazy = None
            if backref is not None:
                backref_name = backref.value if backref.is_str else self.world.const(backref.args[0]) if backref.kind == "call" and backref.args else None
                if backref.kind == "call":  # backref("order", lazy="joined")
                    backref_lazy = _loader_strategy(self.world.const(backref.kwarg("lazy")))
            uselist = self.world.const(call.kwarg("uselist"))
            records.append(Relationship(
                table=table.key, class_name=qualified.rpartition(".")[2], attribute=attribute.name, target=target,
                target_table=target_table, location=attribute.location, secondary=secondary_key,
                foreign_keys=_source(call.kwarg("foreign_keys")), uselist=uselist if isinstance(uselist, bool) else None,
                backref=backref_name, back_populates=self.world.const(call.kwarg("back_populates")),
                lazy=_loader_strategy(self.world.const(call.kwarg("lazy"))), backref_lazy=backref_lazy,
            ))
        return tuple(records)

    def _annotated_classes(self, annotation) -> list[str]:
        """The classes an annotation names inside `Mapped[...]`, `list[...]`, `Optional[...]`, `X | None`."""
        if annotation.kind == "name" and annotation.name:
            return [self.world.resolve(annotation.name)]
        if annotation.is_str:
            return [found for found in [self._class_by_name(annotation.value)] if found]
        if annotation.kind in ("subscript", "binop"):
            return [found for argument in annotation.args for found in self._annotated_classes(argument)]
        return []

    def _class_by_name(self, name: str) -> Optional[str]:
        """The mapped class a relationship string names (its class name, or a dotted path)."""
        matches = self._classes_by_last_name.get(name.rpartition(".")[2], [])
        return matches[0] if len(matches) == 1 else None

    @cached_property
    def _classes_by_last_name(self) -> dict[str, list[str]]:
        """Mapped classes by their last name; read once every class is mapped (relationship_records)."""
        found: dict[str, list[str]] = {}
        for qualified in self.class_tables:
            found.setdefault(qualified.rpartition(".")[2], []).append(qualified)
        return found


def _unordered(expr: Expr, world: World) -> Expr:
    """`Model.col.desc()`, `desc(Model.col)`, `col.asc().nulls_last()` -> the column expression:
    PostgreSQL stores the sort order as an option of a plain column key."""
    while expr.kind == "call":
        if expr.func is not None and expr.func.kind == "name" and (expr.func.name or "").rpartition(".")[2] in _ORDERINGS \
                and world.member(expr) not in _ORDERINGS:
            expr = Expr("name", expr.source, expr.location, name=expr.func.name.rpartition(".")[0])
        elif expr.func is not None and expr.func.kind == "attribute" and expr.func.value in _ORDERINGS:
            expr = expr.func.func
        elif world.member(expr) in _ORDERINGS and expr.args:
            expr = expr.args[0]
        else:
            break
    return expr


_ORDERINGS = {"desc", "asc", "nulls_first", "nulls_last", "nullsfirst", "nullslast"}


def _merge_mros(mros: list[list[str]]) -> list[str]:
    """C3 linearization of the bases' MROs (workspace classes only); depth-first if it fails."""
    if len(mros) < 2:  # most classes: one base's MRO, as it is
        return list(mros[0]) if mros else []
    sequences = [list(m) for m in mros if m] + [[m[0] for m in mros if m]]
    result: list[str] = []
    while True:
        sequences = [s for s in sequences if s]
        if not sequences:
            return result
        for sequence in sequences:
            head = sequence[0]
            if not any(head in other[1:] for other in sequences):
                break
        else:
            for m in mros:
                result += [q for q in m if q not in result]
            return result
        result.append(head)
        for sequence in sequences:
            if sequence and sequence[0] == head:
                sequence.pop(0)


def _merge_calls(base: Expr, override: Expr) -> Expr:
    """An `Annotated[..., mapped_column(...)]` call with the attribute's own mapped_column on top."""
    keywords = dict(base.kwargs)
    keywords.update(dict(override.kwargs))
    args = override.args if override.args else base.args
    return Expr("call", override.source, override.location, name=override.name, args=args,
                kwargs=tuple(keywords.items()), func=override.func)


# SQLModel (sqlmodel/main.py): its base class, and the SQLAlchemy type get_sqlalchemy_type gives
# each annotation (an Enum subclass gives Enum(it)). A `datetime` gives DateTime until SQLModel
# 0.0.45 and a timezone-aware UTCDateTime since, as does pydantic's AwareDatetime (a NaiveDatetime,
# DateTime): read only when the project pins its version.
_SQLMODEL_BASES = ("sqlmodel.SQLModel", "sqlmodel.main.SQLModel")
_SQLMODEL_TYPES = {
    **dict.fromkeys(("str", "pydantic.EmailStr", "pydantic.networks.EmailStr", "pathlib.Path", "ipaddress.IPv4Address",
                     "ipaddress.IPv4Network", "ipaddress.IPv6Address", "ipaddress.IPv6Network"), "String"),
    "float": "Float", "bool": "Boolean", "int": "Integer", "datetime.date": "Date", "datetime.timedelta": "Interval",
    "datetime.time": "Time", "bytes": "LargeBinary", "decimal.Decimal": "Numeric", "uuid.UUID": "Uuid"}
_SQLMODEL_VERSIONED_TYPES = ("datetime.datetime", "pydantic.AwareDatetime", "pydantic.types.AwareDatetime",
                             "pydantic.NaiveDatetime", "pydantic.types.NaiveDatetime")
_SQLMODEL_AWARE_DATETIMES = (0, 0, 45)


def _sqlmodel_name(qualified: Optional[str]) -> Optional[str]:
    """"Field" for `sqlmodel.Field` (also through `sqlmodel.main`), None for a name not SQLModel's."""
    if not qualified or not qualified.startswith("sqlmodel."):
        return None
    return qualified.rpartition(".")[2]


def _constant(value, location: Location) -> Expr:
    return Expr("const", repr(value), location, value=value)


def _call(callee: str, source: str, location: Location, args: tuple[Expr, ...], kwargs: tuple[tuple[str, Expr], ...] = ()) -> Expr:
    """A call the extractor writes for what a library builds (SQLModel's Column of a field)."""
    return Expr("call", source, location, name=callee, args=args, kwargs=kwargs,
                func=Expr("name", callee.rpartition(".")[2], location, name=callee))


def _union_parts(expr: Expr) -> list[Expr]:
    if expr.kind == "binop" and expr.value == "|":
        return [part for operand in expr.args for part in _union_parts(operand)]
    return [expr]


def _is_none(expr: Expr) -> bool:
    return expr.kind == "const" and expr.value is None and expr.source == "None"


def _upper(value) -> Optional[str]:
    return value.upper() if isinstance(value, str) else None


def _source(expr: Optional[Expr]) -> Optional[str]:
    return expr.source if expr is not None else None


def build_orm_layer(summaries: Iterable[ModuleSummary]) -> tuple[SchemaLayer, tuple[ExtractionError, ...]]:
    """Resolve every module summary together into the `orm` SchemaLayer and the problems found."""
    built = build_orm(summaries)
    return built.layer, built.errors


def build_orm(summaries: Iterable[ModuleSummary], is_application: Callable[[str], bool] = lambda path: True,
              kept: Optional[KeptMappings] = None, versions: Optional[Mapping[str, tuple[int, ...]]] = None) -> OrmBuild:
    """The `orm` layer of every module summary read together, with its naming convention, the
    relationships, and what was (not) recognized. Tables declared where `is_application` is
    False (tests, scripts) or in modules of another database engine are kept out of the layer.
    `kept`: what the classes' mappings added to the last build, taken back where nothing they
    read changed; it is given this build's, and must come from a build with the same `versions`
    (the libraries' pinned versions: workspace/dependency_pins.py)."""
    builder = _LayerBuilder(summaries, is_application, kept, versions)
    builder.run()
    layer = builder.finish()
    builder.say_renamed_at_run_time()
    model_classes, unrecognized = builder.recognition()
    transformed = frozenset((table.key, column.name) for table in builder.tables for column in table.columns
                            if column.transformed)
    relationships = builder.relationship_records()
    built = OrmBuild(layer, tuple(builder.errors), _main_convention(builder), relationships,
                     model_classes, unrecognized, tuple(builder.kept_out), builder.library_bases(),
                     builder.library_tables(relationships), transformed, tuple(builder.library_named),
                     frozenset(builder.world.functions_evaluated))
    if kept is not None:
        kept.keep(builder.mappings, builder.finished, builder.world,
                  {qualified: (builder.infos[qualified], reads) for qualified, reads in builder.info_reads.items()},
                  builder.module_statements)
    return built


# Packages whose classes a model may inherit from without declaring columns that way.
_NOT_LIBRARIES = {"typing", "typing_extensions", "abc", "enum", "builtins", "collections", "dataclasses", "sqlalchemy",
                  "flask_sqlalchemy", "sqlmodel"}


# Packages whose import marks a module's tables as another engine's (analytics stores, warehouses).
_OTHER_ENGINES = {"clickhouse_connect": "ClickHouse", "clickhouse_sqlalchemy": "ClickHouse",
                  "clickhouse_driver": "ClickHouse", "sqlalchemy_bigquery": "BigQuery", "pybigquery": "BigQuery",
                  "snowflake": "Snowflake", "databricks": "Databricks", "pyathena": "Athena", "trino": "Trino",
                  "sqlalchemy_redshift": "Redshift", "duckdb_engine": "DuckDB", "duckdb": "DuckDB",
                  "pymssql": "SQL Server", "cx_Oracle": "Oracle", "oracledb": "Oracle", "sqlalchemy_hana": "SAP HANA",
                  "cassandra": "Cassandra", "sqlalchemy_cockroachdb": "CockroachDB"}


def _other_engine(summary: ModuleSummary) -> Optional[str]:
    for imported in summary.imports:
        engine = _OTHER_ENGINES.get(imported.target.split(".")[0])
        if engine is not None:
            return engine
    return None


def _main_convention(builder: "_LayerBuilder") -> Optional[dict[str, str]]:
    """The naming convention of the declarative bases (the most common one), None without one:
    Alembic's op.* name unnamed constraints with the target metadata's convention."""
    counts: dict[str, int] = {}
    conventions: dict[str, dict[str, str]] = {}
    for root in builder.roots.values():
        if root.convention != _DEFAULT_CONVENTION:
            key = repr(sorted(root.convention.items()))
            conventions[key] = root.convention
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    return dict(conventions[max(counts, key=counts.get)])


def relationships(summaries: Iterable[ModuleSummary]) -> tuple[Relationship, ...]:
    """Every `relationship()` on a mapped class, with its target class and table when resolved."""
    return build_orm(summaries).relationships


def _loader_strategy(value) -> Optional[str]:
    """`lazy=` as SQLAlchemy reads it: a strategy's name, or its legacy booleans (True is "select",
    False is "joined")."""
    if isinstance(value, bool):
        return "select" if value else "joined"
    return value if isinstance(value, str) else None


def _referenced(foreign_key: Expr) -> tuple[Expr, ...]:
    """The column a `ForeignKey(...)` call references, written first or as `column=` (heat:
    `ForeignKey(column='resource.id', name='fk_resource_id', ondelete='CASCADE')`)."""
    column = foreign_key.kwarg("column")
    return foreign_key.args[:1] or ((column,) if column is not None else ())
