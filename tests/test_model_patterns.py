"""Model code written the way real projects write it (the corpus taught each case): package
roots below the workspace root, re-exports, `db` objects of a project subclass, column helpers
and partials, primary-key factories, table names computed from the class name."""

from __future__ import annotations

import textwrap

from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.sqlalchemy_models import build_orm_layer
from schemalens.analyzers.workspace.package_roots import PackageRoots


def layer_of(files: dict[str, str]):
    roots = PackageRoots(files)
    summaries = [summarize_module(textwrap.dedent(text), path, roots.module_name(path))
                 for path, text in files.items() if path.endswith(".py")]
    return build_orm_layer(summaries)


def column(layer, table: str, name: str):
    found = layer.tables[table].column(name)
    assert found is not None, f"{table}.{name} not read"
    return found


def test_a_project_folder_that_is_also_a_package_is_where_its_packages_are_imported_from():
    """codecarbon: carbonserver/ holds pyproject.toml and an `__init__.py`; its package
    carbonserver/carbonserver/ is imported as `carbonserver` (`from carbonserver.database.database
    import Base`)."""
    layer, errors = layer_of({
        "carbonserver/__init__.py": "",
        "carbonserver/pyproject.toml": "",
        "carbonserver/carbonserver/__init__.py": "",
        "carbonserver/carbonserver/database/__init__.py": "",
        "carbonserver/carbonserver/database/database.py": (
            "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"),
        "carbonserver/carbonserver/api/__init__.py": "",
        "carbonserver/carbonserver/api/sql_models.py": (
            "from sqlalchemy import Column, Integer\nfrom carbonserver.database.database import Base\n\n"
            "class Run(Base):\n    __tablename__ = 'runs'\n    id = Column(Integer, primary_key=True)\n"),
    })
    assert list(layer.tables) == ["runs"] and errors == ()


def test_package_root_below_the_workspace_root_and_a_base_re_exported_through_init():
    layer, errors = layer_of({
        "server/pyproject.toml": "",
        "server/shop/__init__.py": "",
        "server/shop/db/__init__.py": "from .base import Model, RecordModel\n",
        "server/shop/db/base.py": """
            from sqlalchemy import Integer
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            class Model(DeclarativeBase):
                __abstract__ = True
            class RecordModel(Model):
                __abstract__ = True
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
        """,
        "server/shop/models/__init__.py": "from .user import User\n",
        "server/shop/models/user.py": """
            from sqlalchemy.orm import Mapped
            from shop.db import RecordModel
            class User(RecordModel):
                __tablename__ = "users"
                email: Mapped[str]
        """,
    })
    assert errors == ()
    assert set(layer.tables) == {"users"}
    assert column(layer, "users", "id").primary_key and column(layer, "users", "email").type == "character varying"


def test_db_is_an_instance_of_a_project_subclass_of_flask_sqlalchemy():
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/db.py": """
            from flask_sqlalchemy import SQLAlchemy
            class AppSQLAlchemy(SQLAlchemy):
                def apply_driver_hacks(self, app, info, options):
                    return options
            db = AppSQLAlchemy(session_options={"expire_on_commit": False})
        """,
        "app/models.py": """
            from .db import db
            class Widget(db.Model):
                id = db.Column(db.Integer, primary_key=True)
                name = db.Column(db.String(40))
        """,
    })
    assert errors == ()
    assert column(layer, "widget", "name").type == "character varying(40)"


KEY_FACTORY = {
    "app/__init__.py": "",
    "app/settings.py": """
        from collections import defaultdict

        def key_definitions(default):
            \"\"\"Per-model key types; every model takes the default unless listed.\"\"\"
            definitions = defaultdict(lambda: default)
            definitions.update({
                # "Report": (db.String(36), {"default": new_key}),
            })
            return definitions
    """,
    "app/base.py": """
        import functools
        from flask_sqlalchemy import SQLAlchemy
        from app import settings

        db = SQLAlchemy()
        Column = functools.partial(db.Column, nullable=False)
        keys = settings.key_definitions((db.Integer, {}))

        def key_type(name):
            return keys[name][0]

        def primary_key(name):
            key_type, kwargs = keys[name]
            return Column(key_type, primary_key=True, **kwargs)
    """,
    "app/models.py": """
        from .base import Column, db, key_type, primary_key
        class Org(db.Model):
            __tablename__ = "orgs"
            id = primary_key("Org")
            name = Column(db.String(255))
            note = Column(db.Text, nullable=True)
        class Team(db.Model):
            __tablename__ = "teams"
            id = primary_key("Team")
            org_id = Column(key_type("Org"), db.ForeignKey("orgs.id"))
    """,
}


def test_a_partial_of_db_column_gives_its_keyword_defaults_and_a_call_overrides_them():
    layer, errors = layer_of(KEY_FACTORY)
    assert errors == ()
    assert column(layer, "orgs", "name").nullable is False
    assert column(layer, "orgs", "note").nullable is True


def test_primary_key_factory_and_key_type_helper_read_through_a_defaultdict_of_key_definitions():
    layer, _ = layer_of(KEY_FACTORY)
    key = column(layer, "orgs", "id")
    assert key.primary_key and key.type == "integer" and key.identity == "serial"
    foreign = column(layer, "teams", "org_id")
    assert foreign.type == "integer" and foreign.nullable is False
    assert [(fk.columns, fk.ref_table) for fk in layer.tables["teams"].foreign_keys] == [(("org_id",), "orgs")]


def test_a_function_returning_mapped_column_is_a_column_helper():
    layer, errors = layer_of({"app/models.py": """
        import uuid
        from sqlalchemy import String, Uuid
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        def uuid_pk():
            return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)

        def short_text(length=30, **options):
            return mapped_column(String(length), **options)

        class Base(DeclarativeBase):
            pass
        class Tag(Base):
            __tablename__ = "tags"
            id: Mapped[uuid.UUID] = uuid_pk()
            label: Mapped[str] = short_text(12, unique=True)
    """})
    assert errors == ()
    assert column(layer, "tags", "id").primary_key and column(layer, "tags", "id").type == "uuid"
    assert column(layer, "tags", "label").type == "character varying(12)"
    assert [u.columns for u in layer.tables["tags"].unique_constraints] == [("label",)]


def test_table_name_computed_on_the_base_class_from_the_class_name():
    layer, errors = layer_of({"app/models.py": """
        import re
        from sqlalchemy import Integer
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

        def table_name_of(name):
            words = re.split("(?=[A-Z])", name)
            return "_".join([word.lower() for word in words if word])

        class Base(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls):
                return table_name_of(cls.__name__)

        class IncidentCostType(Base):
            id: Mapped[int] = mapped_column(Integer, primary_key=True)

        class Plain(Base):
            __tablename__ = "plain_things"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """})
    assert errors == ()
    assert set(layer.tables) == {"incident_cost_type", "plain_things"}


def test_table_name_from_a_pattern_compiled_in_another_module():
    # prefect: `CAMEL_TO_SNAKE = re.compile(...)` in a utilities module, `.sub()` on the base class
    layer, errors = layer_of({
        "app/naming.py": """
            import re

            CAMEL_TO_SNAKE: re.Pattern[str] = re.compile(r"(?<!^)(?=[A-Z])")
        """,
        "app/models.py": """
            from sqlalchemy import Integer
            from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

            from app.naming import CAMEL_TO_SNAKE

            class Base(DeclarativeBase):
                @declared_attr.directive
                def __tablename__(cls) -> str:
                    return CAMEL_TO_SNAKE.sub("_", cls.__name__).lower()

            class FlowRunState(Base):
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
        """})
    assert errors == ()
    assert set(layer.tables) == {"flow_run_state"}


def test_annotation_types_from_the_type_map_of_the_base_class_or_of_its_registry():
    # prefect: `registry = registry(type_annotation_map={DateTime: Timestamp})` on the base class
    layer, errors = layer_of({"app/models.py": """
        from typing import ClassVar, Optional
        from sqlalchemy import BigInteger, DateTime as SqlDateTime, Integer
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
        from pendulum import DateTime

        class Base(DeclarativeBase):
            registry: ClassVar = registry(type_annotation_map={DateTime: SqlDateTime(timezone=True)})

        class Run(Base):
            __tablename__ = "runs"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            started: Mapped[Optional[DateTime]]

        class Other(DeclarativeBase):
            type_annotation_map = {int: BigInteger}

        class Count(Other):
            __tablename__ = "counts"
            id: Mapped[int] = mapped_column(primary_key=True)
    """})
    assert errors == ()
    assert column(layer, "runs", "started").type == "timestamp with time zone"
    assert column(layer, "counts", "id").type == "bigint"


def test_a_base_class_rebound_to_the_declarative_base_built_from_it():
    # mindsdb: `class Base: ...` then `Base = declarative_base(cls=Base)`; the models see the second
    layer, errors = layer_of({"app/models.py": """
        from sqlalchemy import Column, Integer
        from sqlalchemy.orm import declarative_base

        class Base:
            __allow_unmapped__ = True

        Base = declarative_base(cls=Base)

        class Project(Base):
            __tablename__ = "project"
            id = Column(Integer, primary_key=True)
    """})
    assert errors == ()
    assert set(layer.tables) == {"project"}


def test_table_name_from_an_f_string_and_percent_formatting():
    layer, errors = layer_of({"app/models.py": """
        from sqlalchemy import Integer
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
        class Base(DeclarativeBase):
            @declared_attr
            def __tablename__(cls):
                return f"app_{cls.__name__.lower()}s"
        class Note(Base):
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
        class Other(Base):
            __tablename__ = "legacy_%s" % "other"
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """})
    assert errors == ()
    assert set(layer.tables) == {"app_notes", "legacy_other"}


def test_a_table_name_that_cannot_be_computed_is_one_error_naming_the_class():
    layer, errors = layer_of({"app/models.py": """
        from sqlalchemy import Integer
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
        from app.registry import lookup_name
        class Base(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls):
                return lookup_name(cls)
        class Thing(Base):
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """})
    assert layer.tables == {}
    assert len(errors) == 1 and "Thing" in errors[0].message and errors[0].location.line == 7


def test_a_helper_that_calls_itself_ends_as_an_error_not_a_crash():
    layer, errors = layer_of({"app/models.py": """
        from sqlalchemy import Integer
        from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
        def name_of(name):
            return name_of(name)
        class Base(DeclarativeBase):
            @declared_attr.directive
            def __tablename__(cls):
                return name_of(cls.__name__)
        class Loop(Base):
            id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """})
    assert layer.tables == {} and "Loop" in errors[0].message


def test_a_flask_subclass_naming_a_table_without_a_primary_key_of_its_own_is_single_table_inheritance():
    layer, errors = layer_of({"app/models.py": """
        from flask_sqlalchemy import SQLAlchemy
        db = SQLAlchemy()
        class Users(db.Model):
            __tablename__ = "users"
            id = db.Column(db.Integer, primary_key=True)
            type = db.Column(db.String(80))
            __mapper_args__ = {"polymorphic_identity": "user", "polymorphic_on": type}
        class Admins(Users):
            __tablename__ = "admins"
            __mapper_args__ = {"polymorphic_identity": "admin"}
    """})
    assert errors == () and set(layer.tables) == {"users"}


def test_tables_of_another_engine_and_of_test_code_are_kept_out_of_the_layer_and_said():
    from schemalens.analyzers.extract.sqlalchemy_models import build_orm
    from schemalens.analyzers.workspace.code_roles import is_application_code

    files = {
        "app/models.py": """
            from sqlalchemy import Column, Integer
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            class Order(Base):
                __tablename__ = "orders"
                id = Column(Integer, primary_key=True)
        """,
        "app/analytics.py": """
            from clickhouse_connect.cc_sqlalchemy.dialect import ClickHouseDialect
            from sqlalchemy import Column, MetaData, String, Table
            metadata = MetaData()
            events = Table("events_by_day", metadata, Column("name", String))
        """,
        "tests/test_orders.py": """
            from sqlalchemy import Column, Integer
            from app.models import Base
            class Scratch(Base):
                __tablename__ = "scratch"
                id = Column(Integer, primary_key=True)
        """,
    }
    roots = PackageRoots(files)
    built = build_orm([summarize_module(textwrap.dedent(t), p, roots.module_name(p)) for p, t in files.items()],
                      is_application_code)
    assert set(built.layer.tables) == {"orders"}
    assert {(kept.key, kept.reason) for kept in built.kept_out} == {("events_by_day", "ClickHouse"),
                                                                    ("scratch", "not application code")}
    assert built.model_classes == 1 and built.unrecognized == ()


def test_a_model_class_whose_base_cannot_be_followed_is_said_with_its_base():
    from schemalens.analyzers.extract.sqlalchemy_models import build_orm

    files = {"app/models.py": """
        from sqlalchemy import Column, Integer
        from vendored.orm import Base
        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
    """}
    built = build_orm([summarize_module(textwrap.dedent(t), p, p) for p, t in files.items()])
    assert built.layer.tables == {}
    assert [(u.class_name, "Base" in u.reason) for u in built.unrecognized] == [("Order", True)]


def test_a_table_named_by_a_library_base_is_said_as_not_read():
    # onyx: fastapi-users' base classes declare `__tablename__` ("oauth_account"), and the library is not read.
    from schemalens.analyzers.extract.sqlalchemy_models import build_orm

    files = {"app/models.py": """
        from fastapi_users_db_sqlalchemy import SQLAlchemyBaseOAuthAccountTableUUID
        from sqlalchemy import Column, Text
        from sqlalchemy.orm import DeclarativeBase
        class Base(DeclarativeBase):
            pass
        class OAuthAccount(SQLAlchemyBaseOAuthAccountTableUUID, Base):
            access_token = Column(Text, nullable=False)
    """}
    built = build_orm([summarize_module(textwrap.dedent(t), p, "app.models") for p, t in files.items()])
    assert built.library_named == (("OAuthAccount", "fastapi_users_db_sqlalchemy.SQLAlchemyBaseOAuthAccountTableUUID"),)
    assert built.errors == () and built.layer.tables == {}


def test_a_table_whose_name_is_computed_at_run_time_is_said_as_not_read():
    # fief: the name gets a prefix from the settings.
    layer, errors = layer_of({"app/models.py": """
        from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table
        from app.settings import settings
        metadata = MetaData()
        def prefixed(name):
            return f"{settings.prefix}{name}"
        RolePermission = Table(prefixed("roles_permissions"), metadata, Column("role_id", Integer))
        Plain = Table("plain", metadata, Column("id", Integer))
    """})
    assert set(layer.tables) == {"plain"}
    assert [(e.location.line, e.message) for e in errors] == [
        (7, 'Table(prefixed("roles_permissions"), ...): the table name is computed at run time; this table is not read')]


def test_library_column_types_and_the_search_indexes_make_searchable_adds():
    layer, errors = layer_of({"app/models.py": """
        from sqlalchemy import Column, Integer, MetaData, String
        from sqlalchemy.orm import declarative_base
        from sqlalchemy_searchable import make_searchable
        from sqlalchemy_utils import JSONType, TSVectorType
        Base = declarative_base()
        make_searchable(Base.metadata)
        class Doc(Base):
            __tablename__ = "docs"
            id = Column(Integer, primary_key=True)
            body = Column(String)
            details = Column(JSONType)
            search_vector = Column(TSVectorType("body", regconfig="pg_catalog.simple"))
    """})
    assert errors == ()
    assert column(layer, "docs", "details").type == "json" and column(layer, "docs", "search_vector").type == "tsvector"
    assert [(i.name, i.columns, i.using) for i in layer.tables["docs"].indexes] == [("ix_docs_search_vector", ("search_vector",), "gin")]


def test_a_vendored_make_searchable_names_its_indexes_its_own_way():
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/fulltext.py": """
            import sqlalchemy as sa
            class SearchManager:
                def append_index(self, cls, column):
                    sa.Index("_".join((column.table.name, column.name, "idx")), column, postgresql_using="gin")
            def make_searchable(metadata, options=None):
                if options:
                    manager.options.update(options)
        """,
        "app/models.py": """
            from sqlalchemy import Column, Integer, String
            from sqlalchemy.orm import declarative_base
            from sqlalchemy_utils import TSVectorType
            from app.fulltext import make_searchable
            Base = declarative_base()
            make_searchable(Base.metadata)
            class Doc(Base):
                __tablename__ = "docs"
                id = Column(Integer, primary_key=True)
                search_vector = Column(TSVectorType("id"))
        """,
    })
    assert errors == ()
    assert [i.name for i in layer.tables["docs"].indexes] == ["docs_search_vector_idx"]


def test_a_class_body_reads_the_names_bound_before_it_not_a_later_class_of_the_same_name():
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/base.py": "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n",
        "app/service.py": """
            from sqlalchemy import Column, Integer
            from app.base import Base
            class Service(Base):
                __tablename__ = "service"
                id = Column(Integer, primary_key=True)
        """,
        "app/signal.py": """
            from pydantic import BaseModel
            from sqlalchemy import Column, ForeignKey, Integer
            from app.base import Base
            from app.service import Service
            class SignalInstance(Base):
                __tablename__ = "signal_instance"
                id = Column(Integer, primary_key=True)
                oncall_service_id = Column(Integer, ForeignKey(Service.id))
            class Service(BaseModel):  # the API schema, defined after the model that used the import
                name: str
        """,
    })
    assert errors == ()
    assert [(fk.columns, fk.ref_table) for fk in layer.tables["signal_instance"].foreign_keys] == [(("oncall_service_id",), "service")]


def test_an_f_string_foreign_key_target_and_an_abstract_concrete_base():
    # warehouse: a mixin names its target through the other class's __tablename__; the base of
    # the concrete observation classes maps no table of its own
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import ForeignKey, Integer
            from sqlalchemy.ext.declarative import AbstractConcreteBase
            from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
            class Base(DeclarativeBase):
                pass
            class ObserverAssociation(Base):
                __tablename__ = "observer_association"
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
            class HasObservers:
                @declared_attr
                def observer_association_id(cls):
                    return mapped_column(ForeignKey(f"{ObserverAssociation.__tablename__}.id"))
            class Project(HasObservers, Base):
                __tablename__ = "projects"
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
            class Observation(AbstractConcreteBase, Base):
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
        """,
    })
    assert errors == ()
    assert [(fk.columns, fk.ref_table) for fk in layer.tables["projects"].foreign_keys] == \
        [(("observer_association_id",), "observer_association")]


def test_a_type_written_in_the_call_wins_over_an_annotation_sqlalchemy_cannot_map():
    # fief: `Mapped[UUID4]` (pydantic's) with the project's own GUID type given to mapped_column
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/models.py": """
            from pydantic import UUID4
            from sqlalchemy import CHAR, TypeDecorator
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            class GUID(TypeDecorator):
                class UUIDChar(CHAR):
                    python_type = UUID4
                impl = UUIDChar
            class Base(DeclarativeBase):
                pass
            class AuditLog(Base):
                __tablename__ = "audit_logs"
                id: Mapped[UUID4] = mapped_column(GUID, primary_key=True)
                subject_user_id: Mapped[UUID4 | None] = mapped_column(GUID, nullable=True)
        """,
    })
    assert errors == ()
    assert column(layer, "audit_logs", "subject_user_id").nullable


def test_a_geometry_column_has_the_spatial_index_geoalchemy2_gives_it():
    # FitTrackee: `Geometry(..., spatial_index=True)` (geoalchemy2's default) makes idx_<table>_<column>
    # USING gist at create_all, unless an index of the table holds the column already
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/models.py": """
            from geoalchemy2 import Geography, Geometry
            from sqlalchemy import Index, Integer
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            class Base(DeclarativeBase):
                pass
            class Segment(Base):
                __tablename__ = "segments"
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
                geom = mapped_column(Geometry(geometry_type="LINESTRING", srid=4326))
                start = mapped_column(Geography("POINT"), nullable=True)
                end = mapped_column(Geometry("POINT", spatial_index=False))
                area = mapped_column(Geometry("POLYGON"))
                __table_args__ = (Index("segments_area_id", "area", "id"),)
        """,
    })
    assert errors == ()
    indexes = {index.name: (index.columns, index.using) for index in layer.tables["segments"].indexes}
    assert indexes == {"idx_segments_geom": (("geom",), "gist"), "idx_segments_start": (("start",), "gist"),
                       "segments_area_id": (("area", "id"), None)}


def test_a_base_that_renames_its_tables_at_run_time_is_said():
    # fief: Base.__init_subclass__ prefixes every __tablename__ with a setting
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import Integer
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from app.settings import settings
            class Base(DeclarativeBase):
                def __init_subclass__(cls) -> None:
                    cls.__tablename__ = f"{settings.table_prefix}{cls.__tablename__}"
                    super().__init_subclass__()
            class AuditLog(Base):
                __tablename__ = "audit_logs"
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
        """,
    })
    assert [(e.kind, e.message) for e in errors] == [(
        "opaque", "Base.__init_subclass__ sets __tablename__ at run time: 1 table is read under the name its class "
                  "writes (audit_logs)")]


def test_a_declared_attr_returning_a_helper_method_of_its_mixin_reads_the_helpers_column():
    # letta: `_created_by_id` returns `cls._user_by_id()`, a classmethod returning mapped_column
    layer, errors = layer_of({
        "app/models.py": """
            from sqlalchemy import Integer, String
            from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
            class Base(DeclarativeBase):
                pass
            class AuditMixin:
                @declared_attr
                def _created_by_id(cls):
                    return cls._user_by_id()
                @classmethod
                def _user_by_id(cls):
                    return mapped_column(String, nullable=True)
            class Agent(AuditMixin, Base):
                __tablename__ = "agents"
                id: Mapped[int] = mapped_column(Integer, primary_key=True)
        """,
    })
    assert (column(layer, "agents", "_created_by_id").type, errors) == ("character varying", ())


def test_a_class_that_maps_a_table_it_declares_as_its___table__():
    # ckan: `__table__ = Table("activity", BaseModel.metadata, Column(...))` in the class body
    layer, errors = layer_of({
        "app/models.py": """
            from typing import ClassVar
            from sqlalchemy import Column, Index, Integer, Table, UnicodeText
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            tracking_table = Table("tracking", Base.metadata, Column("id", Integer, primary_key=True))
            class Activity(Base):
                __table__ = Table(
                    "activity", Base.metadata,
                    Column("id", UnicodeText, primary_key=True),
                    Column("user_id", UnicodeText),
                )
            class Tracking(Base):
                __table__ = tracking_table
            class File(Base):
                __tablename__ = "file"
                __table__: ClassVar[Table]
                id = Column(Integer, primary_key=True)
            Index("idx_activity_user_id", Activity.__table__.c.user_id)
        """,
    })
    assert [c.name for c in layer.tables["activity"].columns] == ["id", "user_id"] and "tracking" in layer.tables
    assert [c.name for c in layer.tables["file"].columns] == ["id"]  # an annotation declares no table
    assert [i.name for i in layer.tables["activity"].indexes] == ["idx_activity_user_id"]
    assert errors == ()


def test_table_args_built_by_a_helper_of_the_project_keep_the_schema_it_is_given():
    # indico: `return auto_table_args(cls, schema='events')` in a declared_attr
    layer, errors = layer_of({
        "app/models.py": """
            from sqlalchemy import Column, ForeignKey, Integer
            from sqlalchemy.orm import declarative_base, declared_attr
            from app.util import auto_table_args
            Base = declarative_base()
            class Event(Base):
                __tablename__ = "events"
                __table_args__ = {"schema": "events"}
                id = Column(Integer, primary_key=True)
            class Track(Base):
                __tablename__ = "tracks"
                @declared_attr
                def __table_args__(cls):
                    return auto_table_args(cls, schema="events")
                id = Column(Integer, primary_key=True)
                event_id = Column(Integer, ForeignKey("events.events.id"))
        """,
        "app/util.py": "def auto_table_args(cls, **kwargs):\n    return (kwargs,)\n",
    })
    track = layer.tables["events.tracks"]
    assert [(fk.ref_schema, fk.ref_table) for fk in track.foreign_keys] == [("events", "events")] and errors == ()
    assert track.partly_read and not layer.tables["events.events"].partly_read  # what the helper builds is not read


def test_advanced_alchemy_bases_map_their_classes_with_the_librarys_names_keys_and_types():
    # litestar-fullstack: `class User(UUIDAuditBase)`; bitcart: `class Model(SQLQuery)` with its own metadata
    layer, errors = layer_of({
        "app/models.py": """
            from datetime import datetime
            from uuid import UUID
            from advanced_alchemy.base import SQLQuery, UUIDAuditBase
            from sqlalchemy import ForeignKey, MetaData, String
            from sqlalchemy.orm import Mapped, mapped_column
            class TeamMember(UUIDAuditBase):
                name: Mapped[str] = mapped_column(String(100))
                joined_at: Mapped[datetime]
                user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
            class Model(SQLQuery):
                __abstract__ = True
                metadata = MetaData(naming_convention={"fk": "%(table_name)s_%(column_0_name)s_%(referred_table_name)s_fkey"})
            class User(Model):
                __tablename__ = "users"
                id: Mapped[str] = mapped_column(String(20), primary_key=True)
        """,
    })
    members = layer.tables["team_member"]
    assert [(c.name, c.type, c.nullable) for c in members.columns] == [
        ("id", "uuid", False), ("created_at", "timestamp with time zone", False),
        ("updated_at", "timestamp with time zone", False), ("name", "character varying(100)", False),
        ("joined_at", "timestamp with time zone", False), ("user_id", "uuid", False)]
    assert members.primary_key.columns == ("id",) and members.primary_key.name == "pk_team_member"
    assert [c.name for c in layer.tables["users"].columns] == ["id"] and errors == ()


def test_sqlalchemy_helpers_base_maps_its_classes_with_the_librarys_naming_convention():
    # anitya: `from sqlalchemy_helpers import Base`, a DeclarativeBase of the library's
    layer, errors = layer_of({
        "app/models.py": """
            import sqlalchemy as sa
            from sqlalchemy_helpers import Base
            class Project(Base):
                __tablename__ = "projects"
                id = sa.Column(sa.Integer, primary_key=True)
                name = sa.Column(sa.String(200), nullable=False, unique=True)
            class Package(Base):
                __tablename__ = "packages"
                id = sa.Column(sa.Integer, primary_key=True)
                project_id = sa.Column(sa.Integer, sa.ForeignKey("projects.id"))
        """,
    })
    assert errors == () and sorted(layer.tables) == ["packages", "projects"]
    assert layer.tables["projects"].primary_key.name == "pk_projects"
    assert [u.name for u in layer.tables["projects"].unique_constraints] == ["uq_projects_name"]
    assert [fk.name for fk in layer.tables["packages"].foreign_keys] == ["fk_packages_project_id_projects"]


def test_a_class_mapped_imperatively_maps_its_table():
    """ckan: `meta.registry.map_imperatively(User, user_table, ...)` through the project's own registry."""
    layer, errors = layer_of({
        "app/__init__.py": "",
        "app/meta.py": "from sqlalchemy.orm import registry\nregistry = registry()\nmetadata = registry.metadata\n",
        "app/user.py": """
            import sqlalchemy as sa
            from app import meta
            user_table = sa.Table("user", meta.metadata, sa.Column("id", sa.Integer, primary_key=True),
                                  sa.Column("password", sa.UnicodeText))
            class User:
                def _set_password(self, password):
                    self._password = hash_password(password)
                password = property(lambda self: self._password, _set_password)
            meta.registry.map_imperatively(User, user_table)
        """,
    })
    assert errors == ()
    assert layer.tables["user"].class_name == "User"


def test_a_server_default_given_as_a_positional_default_clause():
    """lemur: `Column(ArrowType, DefaultClause(func.now()), nullable=False)`."""
    layer, errors = layer_of({
        "app/models.py": """
            from sqlalchemy import Column, DefaultClause, Integer, String, func
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            class PendingCertificate(Base):
                __tablename__ = "pending_certs"
                id = Column(Integer, primary_key=True)
                date_created = Column(String, DefaultClause(func.now()), nullable=False)
                status = Column(String, DefaultClause("new"))
        """,
    })
    assert errors == ()
    assert column(layer, "pending_certs", "date_created").server_default == "now()"
    assert column(layer, "pending_certs", "status").server_default == "'new'"
