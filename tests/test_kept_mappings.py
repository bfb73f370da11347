"""The models' layer built again after edits, taking back what unchanged classes mapped
(sqlalchemy_models.KeptMappings): after any sequence of edits, each build equals a build from
scratch of the same files; and a class whose module and imports did not change is not mapped again."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemalens.analyzers.extract.module_summary import EarlierStatements, summarize_module, summarize_source
from schemalens.analyzers.extract.python_names import Expr
from schemalens.analyzers.extract.python_source import Reparser
from schemalens.analyzers.extract.python_world import NameReaders, World
from schemalens.analyzers.extract.sqlalchemy_models import KeptMappings, build_orm
from schemalens.analyzers.extract.static_eval import Evaluator, Symbol, Unknown
from schemalens.analyzers.schema.model import Location
from schemalens.analyzers.workspace.package_roots import PackageRoots

FILES = {
    "app/__init__.py": '"""The application."""',
    "app/db.py": """
        from sqlalchemy import MetaData
        from sqlalchemy.orm import DeclarativeBase
        class Base(DeclarativeBase):
            metadata = MetaData(naming_convention={"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s"})
    """,
    "app/settings.py": """
        CODE_LENGTH = 20
        TAGS_TABLE = "tags"
    """,
    # module-level statements the build reads besides classes: a Table() named by another module's
    # constant, an index PostgreSQL gets, a class mapped imperatively (EDITS "tags table name")
    "app/tables.py": """
        from sqlalchemy import Column, Index, Integer, Table
        from app.bases import reg
        from app.db import Base
        from app.settings import TAGS_TABLE
        tags = Table(TAGS_TABLE, Base.metadata, Column("id", Integer, primary_key=True), Column("code", Integer))
        Index("ix_tags_code", tags.c.code).ddl_if(dialect="postgresql")
        class Tag:
            pass
        reg.map_imperatively(Tag, tags)
    """,
    "app/constants.py": """
        from app.settings import *
    """,
    # a helper that reads a constant that reads a setting, through a star import
    "app/types.py": """
        import enum
        from sqlalchemy import Column, String
        from app.constants import CODE_LENGTH
        DEFAULT_LENGTH = CODE_LENGTH
        def code_column(length=DEFAULT_LENGTH):
            return Column(String(length), nullable=False)
        class Status(enum.Enum):
            active = "active"
            closed = "closed"
    """,
    "app/mixins.py": """
        from sqlalchemy import Column, DateTime
        class Timestamped:
            created_at = Column(DateTime, nullable=False)
    """,
    "app/models/__init__.py": """
        from app.types import code_column
        from .users import User
        from .orders import Order, RushOrder
    """,
    "app/models/users.py": """
        from sqlalchemy import Column, Enum, Integer
        from app.db import Base
        from app.mixins import Timestamped
        from app.types import Status, code_column
        class User(Timestamped, Base):
            __tablename__ = "users"
            id = Column(Integer, primary_key=True)
            code = code_column(12)
            status = Column(Enum(Status), nullable=False)
    """,
    "app/models/orders.py": """
        from sqlalchemy import Column, Enum, ForeignKey, Index, Integer, String
        from app.db import Base
        from app.types import Status
        from app.models.users import User
        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
            kind = Column(String(10))
            user_id = Column(Integer, ForeignKey(User.id), index=True)
            status = Column(Enum(Status, name="order_status"))
            __mapper_args__ = {"polymorphic_on": kind}
        class RushOrder(Order):
            fee = Column(Integer)
        class ExpressOrder(Order):
            __mapper_args__ = {"polymorphic_identity": "express"}
        Index("ix_orders_kind_status", Order.kind, Order.status)
    """,
    # imports a model through the package's re-export
    "app/reports.py": """
        from sqlalchemy import Column, ForeignKey, Integer
        from app.db import Base
        from app.models import RushOrder, code_column
        class Report(Base):
            __tablename__ = "reports"
            id = Column(Integer, primary_key=True)
            fee = Column(Integer, ForeignKey(RushOrder.fee))
            code = code_column()
    """,
    # reads the models only through a relationship: its foreign key names the table, and takes its column's type
    "app/audit.py": """
        from sqlalchemy import Column, Enum, ForeignKey, Integer, Text
        from sqlalchemy.orm import relationship
        from app.db import Base
        from app.types import Status
        from app.models.orders import Order
        class AuditEntry(Base):
            __tablename__ = "audit_entries"
            id = Column(Integer, primary_key=True)
            order_id = Column(ForeignKey("orders.id"))
            order = relationship(Order, backref="audit_entries")
            note = Column(Text, unique=True)
            status = Column(Enum(Status))
        from app.models.orders import ExpressOrder
        # reads a subclass that maps its parent's table
        class ExpressAudit(Base):
            __tablename__ = "express_audits"
            id = Column(Integer, primary_key=True)
            express_order_id = Column(Integer, ForeignKey(ExpressOrder.id))
    """,
    # reads a model through a module that imports the models' module under a name of its own
    "app/registry.py": """
        from app.models import orders as order_module
    """,
    "app/ledger.py": """
        from sqlalchemy import Column, ForeignKey, Integer
        from app.db import Base
        from app.registry import order_module
        class Ledger(Base):
            __tablename__ = "ledger"
            id = Column(Integer, primary_key=True)
            order_id = Column(ForeignKey(order_module.Order.id))
    """,
    # reads a package whole, one module of which imports the models' module and reads nothing through it
    "app/views/__init__.py": '"""The views."""',
    "app/views/core.py": """
        from app.models import orders
        LENGTH = 10
    """,
    # a search vector, which make_searchable() indexes (EDITS "searchable")
    "app/search.py": """
        from sqlalchemy import Column, Integer
        from sqlalchemy_utils import TSVectorType
        from app.db import Base
        class Article(Base):
            __tablename__ = "articles"
            id = Column(Integer, primary_key=True)
            search_vector = Column(TSVectorType("id"))
    """,
    # a class that maps nothing (yet: EDITS "entity mapped"), and a subclass of it in another module
    "app/bases.py": """
        from sqlalchemy.orm import registry
        reg = registry()
        class Entity:
            pass
    """,
    "app/entities.py": """
        from sqlalchemy import Column, Integer
        from app.bases import Entity
        class Account(Entity):
            __tablename__ = "accounts"
            id = Column(Integer, primary_key=True)
    """,
    # a decorated class that maps nothing, and one whose decorator maps it once its name means so
    # (EDITS "register maps")
    "app/decorators.py": """
        from dataclasses import dataclass
        from app.bases import reg
        register = dataclass
    """,
    "app/schemas.py": """
        from dataclasses import dataclass
        from sqlalchemy import Column, Integer
        from app.bases import Entity
        from app.decorators import register
        @dataclass
        class Payload(Entity):
            name: str
        @register
        class Receipt:
            __tablename__ = "receipts"
            id = Column(Integer, primary_key=True)
    """,
    "app/labels.py": """
        import app.views.core
        from sqlalchemy import Column, Integer, String
        from app.db import Base
        class Label(Base):
            __tablename__ = "labels"
            id = Column(Integer, primary_key=True)
            text = Column(String(app.views.core.LENGTH))
    """,
}

# Each edit changes one file's text (to None: the file is gone); a test makes and unmakes them.
EDITS = {
    "users column": ("app/models/users.py", lambda text: text + "    email = Column(Integer)\n"),
    "users table name": ("app/models/users.py", lambda text: text.replace('"users"', '"members"')),
    "helper length": ("app/types.py", lambda text: text.replace("String(length)", "String(length + 1)")),
    "setting": ("app/settings.py", lambda text: text.replace("20", "24")),
    "enum value": ("app/types.py", lambda text: text.replace('closed = "closed"', 'closed = "closed"\n    held = "held"')),
    "mixin nullable": ("app/mixins.py", lambda text: text.replace("nullable=False", "nullable=True")),
    "naming convention": ("app/db.py", lambda text: text.replace('"ix": "ix_', '"ix": "idx_')),
    "order key type": ("app/models/orders.py", lambda text: text.replace("id = Column(Integer, primary_key=True)",
                                                                        "id = Column(String(8), primary_key=True)")),
    "subclass nullable": ("app/models/orders.py", lambda text: text.replace("fee = Column(Integer)",
                                                                           "fee = Column(Integer, nullable=False)")),
    "subclass column": ("app/models/orders.py", lambda text: text.replace("fee = Column(Integer)", "fee = Column(Integer)\n    rush = Column(Integer)")),
    "re-export": ("app/models/__init__.py", lambda text: text.replace(", RushOrder", "\nfrom .users import User as RushOrder")),
    "order class name": ("app/models/orders.py", lambda text: text.replace("Order(Base)", "Purchase(Base)")
                         .replace("(Order)", "(Purchase)").replace("Order.", "Purchase.")),
    "audit status": ("app/audit.py", lambda text: text.replace("    status = Column(Enum(Status))\n", "")),
    "audit gone": ("app/audit.py", lambda text: None),
    # the base class of another module's class maps through a registry: that class maps too, its
    # module unchanged, its names resolved as before
    "entity mapped": ("app/bases.py", lambda text: text.replace("class Entity:", "@reg.mapped\nclass Entity:")),
    "tags table name": ("app/settings.py", lambda text: text.replace('"tags"', '"tag_rows"')),
    "register maps": ("app/decorators.py", lambda text: text.replace("register = dataclass", "register = reg.mapped")),
    # in a module of its own: no class reads it, and the search vector's index changes
    "searchable": ("app/searching.py", lambda text: "from sqlalchemy_searchable import make_searchable\n"
                                                    "from app.db import Base\nmake_searchable(Base.metadata)\n"),
    "new module": ("app/extra.py", lambda text: textwrap.dedent("""
        from sqlalchemy import Column, Integer
        from app.db import Base
        class Extra(Base):
            __tablename__ = "extras"
            id = Column(Integer, primary_key=True)
    """)),
}


class _Workspace:
    """The files with some of the edits made, one summary object per file text: an unchanged file
    keeps its summary, as the index keeps the parse of an unchanged file. `as_edited`: a file's
    new text is summarized as the language server summarizes an edit, taking back what each of its
    statements gave the last text (module_summary.EarlierStatements)."""

    def __init__(self, as_edited: bool = False) -> None:
        self.edited: set[str] = set()
        self._summaries: dict[tuple[str, str], object] = {}
        self._editors: dict[str, tuple[Reparser, EarlierStatements]] = {} if as_edited else None
        self._last: dict[str, tuple[str, object]] = {}

    def toggle(self, edit: str) -> None:
        self.edited ^= {edit}

    def _text(self, path: str) -> str | None:
        text = textwrap.dedent(FILES.get(path, ""))
        for edit in sorted(self.edited):
            edit_path, change = EDITS[edit]
            if edit_path == path and text is not None:
                text = change(text)
        return text or None

    def summaries(self) -> list:
        files = {path: text for path in sorted({*FILES, *(path for path, _change in EDITS.values())})
                 if (text := self._text(path)) is not None}
        roots = PackageRoots(files)
        found = []
        for path, text in files.items():
            if self._editors is not None:
                if self._last.get(path, ("",))[0] != text:
                    reparser, earlier = self._editors.setdefault(path, (Reparser(), EarlierStatements()))
                    source, _ = reparser.parse(text, path)
                    self._last[path] = (text, summarize_source(source, roots.module_name(path), earlier))
                found.append(self._last[path][1])
                continue
            if (path, text) not in self._summaries:
                self._summaries[path, text] = summarize_module(text, path, roots.module_name(path))
            found.append(self._summaries[path, text])
        return found


def _index_of(readers: NameReaders) -> tuple:
    """What a NameReaders knows of which names read which, without the entries left empty."""
    def kept(by_path: dict) -> dict:
        return {path: names for path, names in by_path.items() if names}

    return (readers._reads, {name: kept(by_path) for name, by_path in readers._exact.items() if kept(by_path)},
            {module: {first: kept(by_path) for first, by_path in below.items() if kept(by_path)}
             for module, below in readers._below.items() if any(kept(by_path) for by_path in below.values())})


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=8))
@example(edits=["order key type", "audit status", "enum value", "audit gone", "audit gone", "naming convention"])
@example(edits=["new module", "users table name", "re-export", "subclass column", "mixin nullable", "helper length"])
@example(edits=["users column", "entity mapped", "users column", "entity mapped"])
def test_each_build_after_edits_equals_a_build_from_scratch(edits):
    for summaries, build, _kept in _builds_after(_Workspace(), edits):
        assert build == build_orm(summaries)


def _builds_after(workspace: _Workspace, edits: list[str]):
    """(the summaries, the build with the mappings kept, the kept mappings) after each edit."""
    kept = KeptMappings()
    build_orm(workspace.summaries(), kept=kept)
    for edit in edits:
        workspace.toggle(edit)
        summaries = workspace.summaries()
        yield summaries, build_orm(summaries, kept=kept), kept


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=8))
@example(edits=["users column", "users table name", "subclass column", "order class name", "audit status"])
def test_each_build_after_edits_summarized_as_an_editor_changes_files_equals_a_build_from_scratch(edits):
    """The definitions an edit leaves unchanged are the same objects: only the names an edit
    redefines, and what reads them, map again; what the kept index of names read says is what
    a fresh one says."""
    for summaries, build, kept in _builds_after(_Workspace(as_edited=True), edits):
        assert build == build_orm(summaries)
        fresh = NameReaders()
        fresh.take(summaries)
        fresh.index_all()
        assert _index_of(kept.readers) == _index_of(fresh)


def _mappings_before_and_after(edit: str, as_edited: bool = False) -> tuple[dict, dict]:
    """The kept mappings of a build of the files, and of the build after `edit` (which equals a
    build from scratch)."""
    workspace = _Workspace(as_edited=as_edited)
    kept = KeptMappings()
    build_orm(workspace.summaries(), kept=kept)
    before = dict(kept.mappings)
    workspace.toggle(edit)
    summaries = workspace.summaries()
    assert build_orm(summaries, kept=kept) == build_orm(summaries)
    return before, kept.mappings


def test_an_edit_keeps_the_infos_of_classes_that_map_nothing_and_read_nothing_it_changed():
    workspace = _Workspace()
    kept = KeptMappings()
    build_orm(workspace.summaries(), kept=kept)
    before = dict(kept.infos)
    for edit, mixin_kept in (("users column", True), ("mixin nullable", False)):
        workspace.toggle(edit)
        build_orm(workspace.summaries(), kept=kept)
        assert (kept.infos["app.mixins.Timestamped"][0] is before["app.mixins.Timestamped"][0]) == mixin_kept
    assert kept.infos["app.entities.Account"][0] is before["app.entities.Account"][0]
    # a decorator is read as a name, which resolves as it did (polar: 1,148 classes decorated as
    # dataclasses or GraphQL types were mapped again at every edit)
    assert kept.infos["app.schemas.Payload"][0] is before["app.schemas.Payload"][0]


def test_an_edit_looks_again_only_at_the_top_level_statements_of_the_modules_it_changed():
    workspace = _Workspace()
    kept = KeptMappings()
    build_orm(workspace.summaries(), kept=kept)
    before = dict(kept.module_statements)
    workspace.toggle("users column")
    build_orm(workspace.summaries(), kept=kept)
    assert kept.module_statements["app/tables.py"][1] is before["app/tables.py"][1]
    assert kept.module_statements["app/models/users.py"][0] is not before["app/models/users.py"][0]


def test_an_edit_of_one_class_maps_again_that_class_and_what_reads_it():
    before, after = _mappings_before_and_after("subclass nullable", as_edited=True)
    mapped_again = sorted(name for name, mapping in after.items() if before.get(name) is not mapping)
    # RushOrder changed (a subclass sharing its parent's table maps in every build) and Report reads
    # its column; Order, in the same module, and the module-level Index() below them are unchanged.
    # Ledger reads the module through a name of another module's (`order_module.Order`): any change of
    # the module reaches it
    assert mapped_again == ["app.ledger.Ledger", "app.reports.Report"]
    assert after["app.models.orders.Order"] is before["app.models.orders.Order"]


def test_each_edit_changes_the_build():
    """Each edit above changes what the models build, so that the equality above compares
    builds that differ from the first."""
    first = build_orm(_Workspace().summaries())
    for edit in EDITS:
        workspace = _Workspace()
        workspace.toggle(edit)
        assert build_orm(workspace.summaries()) != first, edit


def test_a_class_that_reads_nothing_that_changed_is_taken_back():
    workspace = _Workspace()
    kept = KeptMappings()
    build_orm(workspace.summaries(), kept=kept)
    before = dict(kept.mappings)
    workspace.toggle("users column")
    build_orm(workspace.summaries(), kept=kept)
    # AuditEntry reads nothing of users.py; Order reads User (its foreign key)
    assert kept.mappings["app.audit.AuditEntry"] is before["app.audit.AuditEntry"]
    workspace.toggle("subclass column")
    build_orm(workspace.summaries(), kept=kept)
    # AuditEntry's relationship to Order is recorded anew in every build: it does not map again with Order
    assert kept.mappings["app.audit.AuditEntry"] is before["app.audit.AuditEntry"]
    assert kept.mappings["app.models.orders.Order"] is not before["app.models.orders.Order"]
    assert kept.mappings["app.models.users.User"] is not before["app.models.users.User"]


def test_a_change_reaches_through_a_module_imported_under_a_name_only_where_a_name_is_read_through_it():
    """A module that imports the models' module under a name of its own carries a change of a
    model to what reads through that name (Ledger's foreign key: `order_module.Order.id`), not to
    what reads the module's other names (Label reads `app.views.core.LENGTH`)."""
    before, after = _mappings_before_and_after("order key type", as_edited=True)
    assert after["app.ledger.Ledger"] is not before["app.ledger.Ledger"]
    assert after["app.labels.Label"] is before["app.labels.Label"]


def test_tables_are_taken_back_finished_where_make_searchable_names_the_search_indexes():
    """Of make_searchable(), a table's finish reads only the names it gives the GIN indexes of the
    table's search vectors: the tables an edit leaves are taken back finished while those names
    are the same, as in a project without make_searchable() (dispatch, whose own copy of
    sqlalchemy_searchable names them: 57 of its 106 tables at each edit, finished again before)."""
    workspace = _Workspace()
    workspace.toggle("searchable")
    kept = KeptMappings()
    build_orm(workspace.summaries(), kept=kept)
    before = dict(kept.finished)
    workspace.toggle("audit status")
    summaries = workspace.summaries()
    assert build_orm(summaries, kept=kept) == build_orm(summaries)
    assert kept.finished["app.search.Article"] is before["app.search.Article"]
    assert kept.finished["app.models.users.User"] is before["app.models.users.User"]


def test_a_subclass_that_adds_nothing_to_its_parent_s_table_is_taken_back():
    """A single-table subclass that only names its polymorphic identity maps its parent's table
    and adds nothing to it: taken back while nothing it reads changed (polar: 54 such classes
    mapped again in every build)."""
    before, after = _mappings_before_and_after("audit status")
    assert after["app.models.orders.ExpressOrder"] is before["app.models.orders.ExpressOrder"]
    assert "app.models.orders.RushOrder" not in after  # it adds a column to the parent's table


def test_a_subclass_that_declares_a_column_a_sibling_added_maps_again_when_the_sibling_changes():
    """Two single-table subclasses declare the same column: the first one mapped adds it, the
    other finds it there. That one is not kept as adding nothing: once the first no longer
    declares the column, the other adds it."""
    texts = {"app/db.py": FILES["app/db.py"],
             "app/parent.py": """
                 from sqlalchemy import Column, Integer, String
                 from app.db import Base
                 class Parent(Base):
                     __tablename__ = "parents"
                     id = Column(Integer, primary_key=True)
                     kind = Column(String(10))
                     __mapper_args__ = {"polymorphic_on": kind}
             """,
             "app/first.py": """
                 from sqlalchemy import Column, Integer
                 from app.parent import Parent
                 class First(Parent):
                     extra = Column(Integer)
             """,
             "app/second.py": """
                 from sqlalchemy import Column, Integer
                 from app.parent import Parent
                 class Second(Parent):
                     extra = Column(Integer, use_existing_column=True)
             """}
    summaries = {path: summarize_module(textwrap.dedent(text), path, path[:-3].replace("/", ".")) for path, text in texts.items()}
    kept = KeptMappings()
    build_orm(list(summaries.values()), kept=kept)
    summaries["app/first.py"] = summarize_module(textwrap.dedent(texts["app/first.py"]).replace("    extra = Column(Integer)\n", "    pass\n"),
                                                 "app/first.py", "app.first")
    assert build_orm(list(summaries.values()), kept=kept) == build_orm(list(summaries.values()))


def test_a_name_whose_evaluation_ran_out_of_steps_is_not_remembered():
    """An evaluation that runs out of steps while it reads a constant leaves the constant unknown
    only to itself: another evaluation, with its own steps, reads it."""
    zeros = ", ".join(["0"] * 3000)
    summary = summarize_module(f"A = [{zeros}]\nB = [{zeros}]\nPAIR = (B, A)\n", "m.py", "m")
    evaluator = Evaluator(World([summary]))
    name = lambda qualified: Expr("name", qualified, Location("m.py", 1), name=qualified)  # noqa: E731
    with pytest.raises(Unknown):
        evaluator.value(name("m.PAIR"))
    assert not isinstance(evaluator.value(name("m.A")), Symbol)


def test_after_a_cold_index_in_two_passes_an_edit_maps_again_only_its_classes(tmp_path):
    """The models are built in the first, schema-only pass of a cold index (`schema_first`); the
    second pass parses the same texts again, with their code: the summaries it keeps are the first
    pass's objects, which the kept mappings know, so the first edit does not map every class again."""
    from schemalens.analyzers.workspace.index import WorkspaceIndex
    from workspace_files import bench_generator

    workspace = bench_generator().generate_workspace(tmp_path / "generated", models=210, revisions=300, sql=2)
    index = WorkspaceIndex(workspace.root, workers=1, cache_dir=tmp_path / "cache")
    looked_first = []
    index.index_all(schema_first=looked_first.append)
    assert looked_first  # two passes
    index.prepare_for_edits()
    before = dict(index._kept_mappings.mappings)
    edited = workspace.model_files[0]
    text = (workspace.root / edited).read_text(encoding="utf-8")
    index.update_file(edited, text.replace("primary_key=True)\n", "primary_key=True)\n    edit = db.Column(db.Text)\n", 1))
    mapped_again = [name for name, mapping in index._kept_mappings.mappings.items() if before.get(name) is not mapping]
    assert mapped_again and all(name.startswith(_module_of(edited)) for name in mapped_again)


def _module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")
