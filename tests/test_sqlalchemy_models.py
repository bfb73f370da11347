"""Focused tests of the static SQLAlchemy model extractor: one behaviour each, smallest source."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.orm_build import no_models
from schemalens.analyzers.extract.sqlalchemy_models import build_orm, build_orm_layer, camel_to_snake_case, relationships
from schemalens.analyzers.workspace.package_roots import PackageRoots

MODELS = Path(__file__).resolve().parent / "fixtures" / "models"

BASE_20 = """
from typing import Optional, Union
from sqlalchemy import ForeignKey, String, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
class Base(DeclarativeBase):
    pass
"""
CLASSIC = """
import sqlalchemy as sa
from sqlalchemy.orm import declarative_base
Base = declarative_base()
"""


def summaries(files: dict[str, str]):
    roots = PackageRoots(files)
    return [summarize_module(textwrap.dedent(text), path, roots.module_name(path)) for path, text in files.items()]


def layer_of(files: dict[str, str]):
    return build_orm_layer(summaries(files))


def one_file(text: str):
    layer, errors = layer_of({"app/models.py": text})
    assert errors == ()
    return layer


def test_syntax_error_gives_an_error_and_nothing_else():
    summary = summarize_module("class User(Base:\n    id = 1\n", "m.py", "m")
    assert summary.classes == () and summary.assignments == ()
    assert len(summary.errors) == 1 and summary.errors[0].location.path == "m.py"
    assert summary.errors[0].location.line >= 1


def test_a_broken_file_does_not_hide_the_others():
    layer, errors = layer_of({
        "app/base.py": CLASSIC,
        "app/user.py": "from .base import Base\nimport sqlalchemy as sa\nclass User(Base):\n"
                       "    __tablename__ = 'users'\n    id = sa.Column(sa.Integer, primary_key=True)\n",
        "app/order.py": "from .base import Base\nclass Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.Int",
    })
    assert "users" in layer.tables and "orders" not in layer.tables
    assert errors == ()  # the syntax error lives on the file's summary
    assert summaries({"app/order.py": "class Order(Base):\n    id = sa.Column(sa.Int"})[0].errors


def test_summary_is_plain_picklable_hashable_data():
    summary = summaries({"app/models.py": BASE_20 + "class U(Base):\n    __tablename__ = 'u'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"})[0]
    assert pickle.loads(pickle.dumps(summary)) == summary
    hash(summary)


def test_import_aliases_are_followed():
    layer = one_file("""
        import sqlalchemy as sa
        from sqlalchemy import Column as C
        from sqlalchemy.dialects import postgresql as pg
        from sqlalchemy.orm import declarative_base
        Base = declarative_base()
        class T(Base):
            __tablename__ = "t"
            id = C(sa.Integer, primary_key=True)
            data = C(pg.JSONB)
    """)
    assert [(c.name, c.type, c.raw_type) for c in layer.tables["t"].columns] == [
        ("id", "integer", "sa.Integer"), ("data", "jsonb", "pg.JSONB")]


def test_mapped_optional_forms_are_nullable():
    layer = one_file(BASE_20 + """
class T(Base):
    __tablename__ = "t"
    id: Mapped[int] = mapped_column(primary_key=True)
    a: Mapped[Optional[str]]
    b: Mapped[str | None]
    c: Mapped[Union[str, None]]
    d: Mapped[str]
    e: Mapped[str] = mapped_column(nullable=True)
""")
    assert {c.name: c.nullable for c in layer.tables["t"].columns} == {
        "id": False, "a": True, "b": True, "c": True, "d": False, "e": True}


def test_mapped_column_takes_its_type_from_the_annotation():
    layer = one_file(BASE_20 + """
import uuid, datetime
from decimal import Decimal
class T(Base):
    __tablename__ = "t"
    id: Mapped[int] = mapped_column(primary_key=True)
    a: Mapped[str]
    b: Mapped[datetime.datetime]
    c: Mapped[Decimal]
    d: Mapped[uuid.UUID]
    e: Mapped[float]
    f: Mapped[bool]
    g: Mapped[datetime.date]
""")
    assert {c.name: c.type for c in layer.tables["t"].columns} == {
        "id": "integer", "a": "character varying", "b": "timestamp without time zone", "c": "numeric",
        "d": "uuid", "e": "double precision", "f": "boolean", "g": "date"}


def test_column_nullability_follows_primary_key_and_identity():
    layer = one_file(CLASSIC + """
class T(Base):
    __tablename__ = "t"
    id = sa.Column(sa.Integer, primary_key=True)
    n = sa.Column(sa.Integer, sa.Identity(always=True))
    plain = sa.Column(sa.Integer)
""")
    columns = {c.name: c for c in layer.tables["t"].columns}
    assert (columns["id"].nullable, columns["n"].nullable, columns["plain"].nullable) == (False, False, True)
    assert (columns["id"].identity, columns["n"].identity, columns["plain"].identity) == ("serial", "always", None)


def test_flask_sqlalchemy_names_tables_like_camel_to_snake_case():
    assert camel_to_snake_case("HTTPRequestLog") == "http_request_log"
    assert camel_to_snake_case("UserAccount") == "user_account"
    assert camel_to_snake_case("ABTest2Result") == "ab_test2_result"
    layer, errors = layer_of({
        "app/ext.py": "from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n",
        "app/models.py": "from .ext import db\nclass APIKey(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n",
    })
    assert list(layer.tables) == ["api_key"] and errors == ()


def test_default_index_name_and_unnamed_unique():
    layer = one_file(CLASSIC + """
class T(Base):
    __tablename__ = "t"
    id = sa.Column(sa.Integer, primary_key=True)
    code = sa.Column(sa.String(5), index=True)
    email = sa.Column(sa.String(50), unique=True)
""")
    table = layer.tables["t"]
    assert [(i.name, i.columns) for i in table.indexes] == [("ix_t_code", ("code",))]
    assert [(u.name, u.columns) for u in table.unique_constraints] == [(None, ("email",))]


def test_naming_convention_tokens():
    layer = one_file("""
        import sqlalchemy as sa
        from sqlalchemy.orm import declarative_base
        CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_N_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
                      "ck": "ck_%(table_name)s_%(constraint_name)s", "ix": "ix_%(column_0_label)s", "pk": "pk_%(table_name)s"}
        Base = declarative_base(metadata=sa.MetaData(naming_convention=CONVENTION))
        class T(Base):
            __tablename__ = "t"
            __table_args__ = (sa.UniqueConstraint("a", "b"), sa.CheckConstraint("a > 0", name="a_positive"), {"schema": "s"})
            id = sa.Column(sa.Integer, primary_key=True)
            a = sa.Column(sa.Integer, sa.ForeignKey("s.t.id"), index=True)
            b = sa.Column(sa.Integer)
    """)
    table = layer.tables["s.t"]
    assert table.primary_key.name == "pk_t"
    assert [u.name for u in table.unique_constraints] == ["uq_t_a_b"]
    assert [c.name for c in table.check_constraints] == ["ck_t_a_positive"]
    assert [f.name for f in table.foreign_keys] == ["fk_t_a_t"]
    assert [i.name for i in table.indexes] == ["ix_s_t_a"]


def test_foreign_keys_by_string_model_attribute_and_table_column():
    layer = one_file(CLASSIC + """
parents = sa.Table("parents", Base.metadata, sa.Column("id", sa.BigInteger, primary_key=True))
class Owner(Base):
    __tablename__ = "owners"
    id = sa.Column(sa.Integer, primary_key=True)
class Child(Base):
    __tablename__ = "children"
    id = sa.Column(sa.Integer, primary_key=True)
    owner_id = sa.Column(sa.ForeignKey(Owner.id, ondelete="set null"))
    parent_id = sa.Column(sa.ForeignKey(parents.c.id, onupdate="cascade"), nullable=False)
    other_id = sa.Column(sa.Integer, sa.ForeignKey("owners.id", name="child_other"))
""")
    table = layer.tables["children"]
    assert {(f.name, f.columns, f.ref_table, f.ref_columns, f.on_delete, f.on_update) for f in table.foreign_keys} == {
        (None, ("owner_id",), "owners", ("id",), "SET NULL", None),
        (None, ("parent_id",), "parents", ("id",), None, "CASCADE"),
        ("child_other", ("other_id",), "owners", ("id",), None, None)}
    # A column declared with only a ForeignKey takes the referenced column's type.
    assert table.column("owner_id").type == "integer" and table.column("parent_id").type == "bigint"


def test_table_args_dict_and_tuple_options():
    layer = one_file(CLASSIC + """
class A(Base):
    __tablename__ = "a"
    __table_args__ = {"schema": "audit", "comment": "events", "postgresql_partition_by": "RANGE (at)"}
    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(sa.Date, primary_key=True)
""")
    table = layer.tables["audit.a"]
    assert (table.schema, table.comment, table.partition_by) == ("audit", "events", "RANGE (at)")
    assert table.primary_key.columns == ("id", "at")


def test_index_postgresql_options():
    layer = one_file(CLASSIC + """
class T(Base):
    __tablename__ = "t"
    __table_args__ = (
        sa.Index("ix_t_doc", "doc", postgresql_using="gin", postgresql_ops={"doc": "jsonb_path_ops"}),
        sa.Index("ix_t_live", "name", unique=True, postgresql_where=sa.text("deleted_at IS NULL"), postgresql_include=["id"]),
    )
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.Text)
    doc = sa.Column(sa.JSON)
    deleted_at = sa.Column(sa.DateTime)
""")
    gin, live = layer.tables["t"].indexes
    assert (gin.using, gin.opclasses, gin.unique) == ("gin", (("doc", "jsonb_path_ops"),), False)
    assert (live.where, live.include, live.unique, live.using) == ("deleted_at IS NULL", ("id",), True, None)


def test_index_after_the_class_and_expression_keys():
    layer = one_file(CLASSIC + """
class T(Base):
    __tablename__ = "t"
    id = sa.Column(sa.Integer, primary_key=True)
    email = sa.Column(sa.String(80))
sa.Index("ix_t_email_lower", sa.func.lower(T.email), unique=True)
""")
    (index,) = layer.tables["t"].indexes
    assert (index.name, index.columns, index.expressions, index.unique) == (
        "ix_t_email_lower", ("lower(email)",), (True,), True)  # as SQLAlchemy compiles it


def test_python_enum_from_another_module():
    layer, errors = layer_of({
        "app/enums.py": "import enum\nclass OrderStatus(enum.Enum):\n    NEW = 'new'\n    PAID = 'paid'\n",
        "app/models.py": CLASSIC + "from .enums import OrderStatus\nclass O(Base):\n    __tablename__ = 'o'\n"
                         "    id = sa.Column(sa.Integer, primary_key=True)\n    status = sa.Column(sa.Enum(OrderStatus))\n"
                         "    kind = sa.Column(sa.Enum('a', 'b', name='o_kind'))\n",
    })
    assert layer.tables["o"].column("status").type == "orderstatus"
    assert {k: e.values for k, e in layer.enums.items()} == {"orderstatus": ("NEW", "PAID"), "o_kind": ("a", "b")}


def test_unnamed_string_enum_is_a_varchar():
    layer = one_file(CLASSIC + "class T(Base):\n    __tablename__ = 't'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
                               "    size = sa.Column(sa.Enum('s', 'xl'))\n")
    assert layer.tables["t"].column("size").type == "character varying(2)" and layer.enums == {}


def test_mixins_abstract_bases_and_declared_attr():
    layer = one_file(BASE_20 + """
from sqlalchemy.orm import declared_attr
class Stamped:
    created: Mapped[int]
    @declared_attr
    def owner_id(cls) -> Mapped[Optional[int]]:
        return mapped_column(ForeignKey("owners.id"))
class Named:
    @declared_attr.directive
    def __tablename__(cls) -> str:
        return cls.__name__.lower()
class Entity(Base):
    __abstract__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
class Owner(Base):
    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(primary_key=True)
class Gadget(Named, Stamped, Entity):
    label: Mapped[str] = mapped_column(String(9))
""")
    assert sorted(layer.tables) == ["gadget", "owners"]
    assert {c.name: (c.type, c.nullable) for c in layer.tables["gadget"].columns} == {
        "label": ("character varying(9)", False), "created": ("integer", False), "owner_id": ("integer", True),
        "id": ("integer", False)}


def test_single_table_inheritance_adds_columns_to_the_parent():
    layer = one_file(CLASSIC + """
class Vehicle(Base):
    __tablename__ = "vehicles"
    id = sa.Column(sa.Integer, primary_key=True)
class Truck(Vehicle):
    payload = sa.Column(sa.Integer)
""")
    assert list(layer.tables) == ["vehicles"]
    assert [c.name for c in layer.tables["vehicles"].columns] == ["id", "payload"]


def test_bases_through_package_reexports():
    layer, errors = layer_of({
        "app/db/__init__.py": "from .base import Base as ModelBase\n",
        "app/db/base.py": BASE_20,
        "app/models/user.py": "from app.db import ModelBase\nfrom sqlalchemy.orm import Mapped, mapped_column\n"
                              "class User(ModelBase):\n    __tablename__ = 'users'\n    id: Mapped[int] = mapped_column(primary_key=True)\n",
    })
    assert list(layer.tables) == ["users"] and layer.tables["users"].module == "app.models.user"


def test_server_defaults_and_client_defaults():
    layer = one_file(CLASSIC + """
class T(Base):
    __tablename__ = "t"
    id = sa.Column(sa.Integer, primary_key=True)
    a = sa.Column(sa.String, server_default="it's")
    b = sa.Column(sa.DateTime, server_default=sa.func.now())
    c = sa.Column(sa.DateTime, server_default=sa.text("now() at time zone 'utc'"))
    d = sa.Column(sa.Boolean, server_default=sa.false(), default=False)
""")
    columns = {c.name: (c.server_default, c.default) for c in layer.tables["t"].columns}
    assert columns["a"] == ("'it''s'", None) and columns["b"] == ("now()", None)
    assert columns["c"] == ("now() at time zone 'utc'", None) and columns["d"] == ("false", "False")


def test_locations_point_at_the_class_and_the_column_lines():
    layer = one_file("import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
                     "class T(Base):\n    __tablename__ = 't'\n    id = sa.Column(sa.Integer, primary_key=True)\n")
    table = layer.tables["t"]
    assert (table.location.path, table.location.line, table.class_name) == ("app/models.py", 4, "T")
    assert table.columns[0].location.line == 6


def test_registry_mapped_decorator_and_generate_base():
    layer = one_file("""
        import sqlalchemy as sa
        from sqlalchemy.orm import registry
        reg = registry()
        Base = reg.generate_base()
        @reg.mapped
        class A:
            __tablename__ = "a"
            id = sa.Column(sa.Integer, primary_key=True)
        class B(Base):
            __tablename__ = "b"
            id = sa.Column(sa.Integer, primary_key=True)
    """)
    assert sorted(layer.tables) == ["a", "b"]


def test_relationships_are_recorded_on_the_side():
    found = relationships(summaries({"app/models.py": CLASSIC + """
from sqlalchemy.orm import relationship, backref
tags = sa.Table("post_tags", Base.metadata, sa.Column("post_id", sa.Integer))
class Author(Base):
    __tablename__ = "authors"
    id = sa.Column(sa.Integer, primary_key=True)
class Post(Base):
    __tablename__ = "posts"
    id = sa.Column(sa.Integer, primary_key=True)
    author = relationship("Author", backref=backref("posts", lazy="dynamic"), uselist=False)
    labels = relationship("Label", secondary=tags)
"""}))
    by_attribute = {r.attribute: r for r in found}
    assert by_attribute["author"].target_table == "authors" and by_attribute["author"].backref == "posts"
    assert by_attribute["author"].uselist is False and by_attribute["labels"].secondary == "post_tags"
    assert by_attribute["labels"].target_table is None and by_attribute["labels"].table == "posts"


def _fixture_files() -> list[tuple[str, str]]:
    return [(p.relative_to(MODELS).as_posix(), p.read_text(encoding="utf-8")) for p in sorted(MODELS.rglob("*.py"))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_fixture_files_never_raise(data):
    files = _fixture_files()
    target = data.draw(st.integers(0, len(files) - 1))
    path, text = files[target]
    lines = text.splitlines(keepends=True)
    if data.draw(st.booleans()):
        damaged = text[: data.draw(st.integers(0, len(text)))]
    else:
        removed = set(data.draw(st.lists(st.integers(0, max(len(lines) - 1, 0)), max_size=6)))
        damaged = "".join(line for number, line in enumerate(lines) if number not in removed)
    package = path.split("/")[0]
    inputs = [(p, damaged if p == path else t) for p, t in files if p.split("/")[0] == package]
    roots = PackageRoots(p for p, _ in inputs)
    layer, errors = build_orm_layer(summarize_module(t, p, roots.module_name(p)) for p, t in inputs)
    assert layer.name == "orm"


SQLMODEL_FIELDS = """
import datetime
from typing import Optional
from sqlmodel import Field, SQLModel

class HeroBase(SQLModel):
    name: str = Field(index=True)
    seen_at: datetime.datetime
    powers: list[str] = Field(default_factory=list)

class Hero(HeroBase, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)

class HeroPublic(HeroBase):
    id: int
"""


def test_sqlmodel_maps_only_table_classes_and_reads_their_fields_as_columns():
    layer, errors = layer_of({"app/models.py": SQLMODEL_FIELDS})
    assert list(layer.tables) == ["hero"]  # not HeroBase nor HeroPublic: no `table=True`
    hero = layer.tables["hero"]
    assert [column.name for column in hero.columns] == ["id", "name", "seen_at", "powers"]
    assert hero.primary_key.columns == ("id",) and hero.column("id").identity == "serial"
    assert [index.name for index in hero.indexes] == ["ix_hero_name"]
    # a bare datetime is timestamp or timestamptz by SQLModel's version: not claimed, not an error
    assert hero.column("seen_at").type == "null" and hero.column("seen_at").raw_type == "datetime.datetime"
    # SQLModel refuses a list[str] field without sa_type / sa_column: said, with its place
    assert [(error.location.line, "list[str]" in error.message) for error in errors] == [(9, True)]


def test_sqlmodel_model_modules_are_found_by_their_table_keyword():
    from schemalens.analyzers.workspace.discovery import looks_like_model_module

    assert looks_like_model_module(SQLMODEL_FIELDS)
    assert not looks_like_model_module("from sqlmodel import SQLModel\n\nclass HeroPublic(SQLModel):\n    id: int\n")


def test_sqlmodel_relationships_are_the_ones_sqlalchemy_maps():
    """The ORACLE: the fixture's classes imported, their mappers' relationships."""
    import sqlalchemy as sa

    from model_oracle_helpers import MODELS, import_fixture

    package = import_fixture("sqlmodel_app")
    expected = set()
    for cls in (package.shop.Account, package.shop.Order, package.shop.Tag):
        for relationship in sa.inspect(cls).relationships:
            expected.add((cls.__tablename__, relationship.key, relationship.mapper.local_table.name,
                          relationship.secondary.name if relationship.secondary is not None else None))
    files = {f"sqlmodel_app/{path.name}": path.read_text(encoding="utf-8") for path in (MODELS / "sqlmodel_app").glob("*.py")}
    found = {(record.table, record.attribute, record.target_table, record.secondary)
             for record in relationships(summaries(files))}
    assert found == expected and len(expected) == 3


def test_library_classes_inherited_through_workspace_classes_are_said_not_read():
    """nova: `NovaBase(models.TimestampMixin, models.ModelBase)` under its models, and
    `declarative_base(cls=_NovaAPIBase)` with oslo.db's mixins: their columns are not read."""
    built = build_orm(summaries({"app/models.py": """
        import sqlalchemy as sa
        from oslo_db.sqlalchemy import models
        from sqlalchemy.orm import declarative_base

        class _APIBase(models.ModelBase, models.TimestampMixin):
            pass

        API_BASE = declarative_base(cls=_APIBase)
        BASE = declarative_base()

        class NovaBase(models.TimestampMixin):
            pass

        class CellMapping(API_BASE):
            __tablename__ = "cell_mappings"
            id = sa.Column(sa.Integer, primary_key=True)

        class ConsoleAuthToken(BASE, NovaBase):
            __tablename__ = "console_auth_tokens"
            id = sa.Column(sa.Integer, primary_key=True)
        """}))
    assert sorted(built.library_bases) == [
        ("oslo_db.sqlalchemy.models.ModelBase", "cell_mappings"), ("oslo_db.sqlalchemy.models.TimestampMixin", "cell_mappings"),
        ("oslo_db.sqlalchemy.models.TimestampMixin", "console_auth_tokens")]


def test_sqlmodel_datetime_types_follow_the_pinned_sqlmodel_version():
    """SQLModel 0.0.45 made `datetime` timezone-aware and took pydantic's datetime types (before,
    SQLModel gives them no column type): the oracle checks the installed version, this the one before."""
    files = {"app/models.py": """
        import datetime
        from typing import Optional
        from pydantic import NaiveDatetime
        from sqlmodel import Field, SQLModel

        class Event(SQLModel, table=True):
            id: Optional[int] = Field(default=None, primary_key=True)
            happened_at: datetime.datetime
            promised_for: NaiveDatetime
        """}
    types = {version: {column.name: column.type for column in build_orm(summaries(files), versions={"sqlmodel": version})
                       .layer.tables["event"].columns} for version in ((0, 0, 44), (0, 0, 45))}
    assert types[(0, 0, 44)]["happened_at"] == "timestamp without time zone" and types[(0, 0, 44)]["promised_for"] == "null"
    assert types[(0, 0, 45)]["happened_at"] == "timestamp with time zone"
    assert types[(0, 0, 45)]["promised_for"] == "timestamp without time zone"


def test_the_build_of_no_module_is_what_a_workspace_without_python_is_given():
    """The index gives a workspace without Python modules `no_models()`, without the model reader."""
    assert build_orm([]) == no_models()
