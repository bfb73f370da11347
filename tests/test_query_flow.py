"""Queries followed across functions, classes and modules (analyzers/query_flow.py): each
construct real repository and service code uses, as the smallest workspace that shows it, and
where each query runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

from schemalens.analyzers.query_paths import query_coverage, query_paths
from schemalens.analyzers.workspace.code_roles import is_application_code
from schemalens.analyzers.workspace.config import Config, TableHints
from schemalens.analyzers.workspace.index import WorkspaceIndex

MODELS = '''
from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class SoftDelete:
    deleted_at: Mapped[Optional[datetime]] = mapped_column(nullable=True)

    @hybrid_property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @is_deleted.inplace.expression
    @classmethod
    def _is_deleted_expression(cls):
        return cls.deleted_at.is_not(None)


class Customer(SoftDelete, Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str]
    name: Mapped[str]


class Order(SoftDelete, Base):
    __tablename__ = "orders"
    __table_args__ = (Index("orders_customer_id_idx", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str]
    reference: Mapped[str]
    note: Mapped[Optional[str]]
    created_at: Mapped[datetime]
    customer: Mapped[Customer] = relationship()
    items: Mapped[list["Item"]] = relationship(back_populates="order")


class Item(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    sku: Mapped[str]
    order: Mapped[Order] = relationship(back_populates="items")
'''


def _index(tmp_path: Path, files: dict[str, str], config: Config | None = None):
    for path, text in {"app/__init__.py": "", "app/models.py": MODELS, **files}.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return WorkspaceIndex(tmp_path, config=config).index_all()


def _application(model):
    return [facts for path, facts in sorted(model.code.items())
            if is_application_code(path, model.config.non_application_paths)]


def _paths(tmp_path: Path, files: dict[str, str], config: Config | None = None):
    model = _index(tmp_path, files, config)
    return [p for p in query_paths(model, model.orm, _application(model)) if p.table is not None]


def _predicates(path) -> list[tuple[str, str, str]]:
    return [(p.use.table, p.use.column, p.operator) for p in path.predicates]


def _one(paths, function: str):
    (found,) = [p for p in paths if p.shape.function == function]
    return found


def test_a_helper_of_the_module_refines_the_query(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from app.models import Order

        def _live(query):
            return query.filter(Order.deleted_at.is_(None))

        def f(session, status, customer_id):
            query = session.query(Order)
            if status:
                query = query.filter(Order.status == status)
            query = _live(query)
            query = query.filter_by(customer_id=customer_id)
            return query.order_by(Order.id).all()
    """})
    path = _one(paths, "f")
    assert _predicates(path) == [("orders", "status", "="), ("orders", "deleted_at", "is null"),
                                 ("orders", "customer_id", "=")]
    assert [use.column for use, _ in path.order_by] == ["id"]


def test_methods_of_a_class_refine_the_query_static_and_self(tmp_path):
    paths = _paths(tmp_path, {"app/repositories.py": """
        from typing import Any, cast

        from sqlalchemy import or_

        from app.models import Order


        class OrderRepository:
            def __init__(self, session):
                self.session = session

            def _base_query(self):
                return self.session.query(Order).filter(Order.deleted_at.is_(None))

            @staticmethod
            def _with_search(query, search):
                reference = cast("Any", Order.reference)
                return query.filter(or_(reference.contains(search), Order.note.ilike(f"%{search}%")))

            def list_orders(self, search, page):
                query = self._base_query()
                query = self._with_search(query, search)
                return query.order_by(Order.created_at.desc()).paginate(page=page, per_page=20)
    """})
    path = _one(paths, "OrderRepository.list_orders")
    assert _predicates(path) == [("orders", "deleted_at", "is null"), ("orders", "reference", "like"),
                                 ("orders", "note", "ilike")]
    assert [p.pattern for p in path.predicates[1:]] == ["contains", "contains"]
    assert path.shape.pagination == "paginate" and [(u.column, d) for u, d in path.order_by] == [("created_at", True)]
    # the helpers' queries are parts of that one, not queries of their own
    assert {p.shape.function for p in paths} == {"OrderRepository.list_orders"}


def test_classmethod_queries_read_cls_as_the_class(tmp_path):
    paths = _paths(tmp_path, {"app/models_ext.py": """
        from app.models import Order


        class Orders(Order):
            @classmethod
            def by_reference(cls, reference):
                return cls.query.filter(cls.reference == reference).first()
    """})
    path = _one(paths, "Orders.by_reference")
    assert path.table == "orders" and _predicates(path) == [("orders", "reference", "=")]


def test_a_generic_repository_base_is_read_as_each_class_that_calls_it(tmp_path):
    paths = _paths(tmp_path, {
        "app/kit.py": """
            from sqlalchemy import select


            class RepositoryBase:
                model: type

                def __init__(self, session):
                    self.session = session

                def get_base_statement(self):
                    return select(self.model)

                async def get_one_or_none(self, statement):
                    result = await self.session.execute(statement)
                    return result.scalars().one_or_none()

                async def get_by_id(self, id):
                    statement = self.get_base_statement().where(self.model.id == id)
                    return await self.get_one_or_none(statement)


            class SoftDeletionMixin:
                def get_base_statement(self):
                    statement = super().get_base_statement()
                    return statement.where(self.model.deleted_at.is_(None))
        """,
        "app/orders.py": """
            from app.kit import RepositoryBase, SoftDeletionMixin
            from app.models import Order


            class OrderRepository(SoftDeletionMixin, RepositoryBase):
                model = Order

                async def get_by_reference(self, reference):
                    statement = self.get_base_statement().where(Order.reference == reference)
                    return await self.get_one_or_none(statement)


            async def find(session, reference, id):
                repository = OrderRepository(session)
                await repository.get_by_id(id)
                return await repository.get_by_reference(reference)
        """})
    by_reference = _one(paths, "OrderRepository.get_by_reference")
    assert _predicates(by_reference) == [("orders", "deleted_at", "is null"), ("orders", "reference", "=")]
    # the base's own method, read as the repository class the caller holds
    by_id = [p for p in paths if p.source is not None and p.source[0] == "app/kit.py"]
    assert [(_predicates(p), p.shape.function) for p in by_id] == [
        ([("orders", "deleted_at", "is null"), ("orders", "id", "=")], "RepositoryBase.get_by_id")]


def test_a_function_of_another_module_returns_a_select_the_caller_refines(tmp_path):
    paths = _paths(tmp_path, {
        "app/queries/__init__.py": "from .base import live_orders\n",
        "app/queries/base.py": """
            from sqlalchemy import select

            from app.models import Order

            def live_orders():
                return select(Order).where(Order.deleted_at.is_(None))
        """,
        "app/services.py": """
            from app import queries
            from app.queries import live_orders

            async def by_status(session, status):
                statement = live_orders().where(Order.status == status)
                return (await session.scalars(statement)).all()

            async def by_reference(session, reference):
                result = await session.execute(queries.live_orders().where(Order.reference == reference))
                return result.scalar_one()
        """})
    assert _predicates(_one(paths, "by_status")) == [("orders", "deleted_at", "is null"), ("orders", "status", "=")]
    assert _predicates(_one(paths, "by_reference")) == [("orders", "deleted_at", "is null"), ("orders", "reference", "=")]


def test_type_checking_aliases_and_typing_cast(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from typing import TYPE_CHECKING, Any, cast

        if TYPE_CHECKING:
            from app.models import Order as OrderModel
        else:
            from app import models
            OrderModel = models.Order


        def pending(session):
            status = cast(Any, OrderModel.status)
            return session.query(OrderModel).filter(status == "pending").all()
    """})
    path = _one(paths, "pending")
    assert path.table == "orders" and _predicates(path) == [("orders", "status", "=")]


def test_condition_lists_and_and_or_over_them(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from sqlalchemy import and_, or_, select

        from app.models import Order


        def search(session, status, reference, terms):
            conditions = [Order.deleted_at.is_(None)]
            if status:
                conditions.append(Order.status == status)
            matches = []
            for term in terms:
                matches.append(Order.note.ilike(f"%{term}%"))
            statement = select(Order).where(*conditions).where(or_(*matches))
            return session.scalars(statement.where(and_(*[Order.reference == reference]))).all()
    """})
    path = _one(paths, "search")
    assert _predicates(path) == [("orders", "deleted_at", "is null"), ("orders", "status", "="),
                                 ("orders", "note", "ilike"), ("orders", "reference", "=")]
    assert path.predicates[2].alternative is not None


def test_a_parameter_wrapped_in_a_list_of_itself(tmp_path):
    # flaskbb: `clause = [clause]` lists the parameter it replaces; reading it must not recurse forever.
    paths = _paths(tmp_path, {"app/services.py": """
        from sqlalchemy import func, select

        from app.models import Order


        def count(session, clause=None):
            statement = select(func.count(Order.id))
            if clause is not None:
                if not isinstance(clause, list):
                    clause = [clause]
                statement = statement.where(*clause)
            return session.execute(statement.where(Order.status == "paid")).scalar_one()
    """})
    assert _predicates(_one(paths, "count")) == [("orders", "status", "=")]


def test_a_function_that_returns_a_call_of_itself_is_followed_once(tmp_path, monkeypatch):
    # mealie: a cleaner that returns `clean(...)` of its input from several branches was followed
    # again at every level (2 ** 12 compositions here; the real one, with more branches, ran for minutes)
    from schemalens.analyzers import query_flow

    composed = []
    compose = query_flow.CodeBase._compose
    monkeypatch.setattr(query_flow.CodeBase, "_compose", lambda self, *a, **k: composed.append(1) or compose(self, *a, **k))
    paths = _paths(tmp_path, {"app/services.py": """
        import json

        from app.models import Order


        def clean(steps):
            if isinstance(steps, str):
                return clean(json.loads(steps))
            if isinstance(steps, dict):
                return clean(list(steps.values()))
            return steps


        def open_orders(session):
            return session.query(Order).filter(Order.status == "open").all()
    """})
    assert _predicates(_one(paths, "open_orders")) == [("orders", "status", "=")]
    assert len(composed) < 100


def test_getattr_with_a_name_known_only_at_run_time_is_said_as_such(tmp_path):
    files = {"app/services.py": """
        from app.models import Order


        def listing(session, sort, field):
            return session.query(Order).filter(getattr(Order, "status") == "x").order_by(getattr(Order, sort)).all()
    """}
    path = _one(_paths(tmp_path, files), "listing")
    assert _predicates(path) == [("orders", "status", "=")]
    assert [(ref.model.rpartition(".")[2], ref.dynamic) for ref in path.unknown_columns] == [("Order", "sort")]
    model = _index(tmp_path, files)
    coverage = query_coverage(model, model.orm, _application(model))
    (unresolved,) = coverage.unresolved
    assert unresolved.call.method == "order_by" and "getattr(Order, sort): the column is chosen at run time" in unresolved.reason


def test_flask_sqlalchemy_paginate_and_a_pagination_helper(tmp_path):
    paths = _paths(tmp_path, {
        "app/pagination.py": """
            def paginate(query, page, per_page=20):
                return query.offset((page - 1) * per_page).limit(per_page).all()
        """,
        "app/services.py": """
            from sqlalchemy import select

            from app.extensions import db
            from app.models import Order
            from app.pagination import paginate


            def first_style(page):
                return Order.query.filter(Order.status == "new").paginate(page=page)


            def third_style(page):
                return db.paginate(select(Order).where(Order.reference == "r"), page=page)


            def by_helper(page):
                return paginate(Order.query.filter(Order.customer_id == 1), page)
        """,
        "app/extensions.py": "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n"})
    assert _one(paths, "first_style").shape.pagination == "paginate"
    assert _one(paths, "third_style").shape.pagination == "paginate"
    helper = _one(paths, "by_helper")
    assert helper.shape.pagination == "offset" and _predicates(helper) == [("orders", "customer_id", "=")]


def test_routes_services_and_repositories_give_each_query_where_it_runs(tmp_path):
    paths = _paths(tmp_path, {
        "app/repository.py": """
            from app.models import Order


            class OrderRepository:
                def __init__(self, session):
                    self.session = session

                def by_status(self, status):
                    return self.session.query(Order).filter(Order.status == status).all()
        """,
        "app/service.py": """
            from app.repository import OrderRepository


            class OrderService:
                def pending(self, session):
                    return OrderRepository(session).by_status("pending")


            order_service = OrderService()
        """,
        "app/routes.py": """
            from fastapi import APIRouter

            from app.service import order_service as orders

            router = APIRouter()


            @router.get("/orders")
            def pending_orders(session):
                return orders.pending(session)
        """,
        "app/tasks.py": """
            from app.models import Order


            def purge(session):
                session.query(Order).filter(Order.reference == "x").delete()
        """})
    assert _one(paths, "OrderRepository.by_status").context == "request"
    assert _one(paths, "purge").context == "task"


def test_functions_of_scheduled_and_scheduler_modules_are_tasks(tmp_path):
    # dispatch: `feedback/service/scheduled.py` holds the daily jobs
    job = """
        from app.models import Order


        def {name}(session):
            return session.query(Order).filter(Order.reference == "x").all()
    """
    paths = _paths(tmp_path, {"app/feedback/scheduled.py": job.format(name="daily"),
                              "app/scheduler.py": job.format(name="hourly"),
                              "app/schedules.py": job.format(name="listed")})
    assert [_one(paths, name).context for name in ("daily", "hourly", "listed")] == ["task", "task", "other"]


def test_view_class_methods_are_request_handlers(tmp_path):
    paths = _paths(tmp_path, {"app/api.py": """
        from flask_restx import Namespace, Resource

        from app.models import Order

        orders = Namespace("orders")


        class Base(Resource):
            pass


        class OrderList(Base):
            def get(self):
                return Order.query.filter(Order.status == "new").all()
    """})
    assert _one(paths, "OrderList.get").context == "request"


def test_code_under_tests_is_not_application_code_unless_configured(tmp_path):
    files = {"tests/test_orders.py": """
        from app.models import Order


        def test_status(session):
            assert session.query(Order).filter(Order.status == "x").all() == []
    """, "app/seeds.py": "", "scripts/backfill.py": """
        from app.models import Order


        def run(session):
            session.query(Order).filter(Order.note == "x").update({"note": None})
    """}
    assert _paths(tmp_path, files) == []
    everything = _paths(tmp_path, files, Config(non_application_paths=()))
    assert {p.shape.function for p in everything} == {"test_status", "run"}


def test_a_hybrid_property_is_read_as_the_condition_it_makes(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from app.models import Order


        def live(session):
            return session.query(Order).filter(~Order.is_deleted, Order.customer.has(Customer.email == "e")).all()
    """})
    assert _predicates(_one(paths, "live"))[0] == ("orders", "deleted_at", "is null")


def test_a_many_to_one_relationship_compared_is_its_foreign_key(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from app.models import Order


        def of_customer(session, customer):
            return session.query(Order).filter(Order.customer == customer).all()
    """})
    assert _predicates(_one(paths, "of_customer")) == [("orders", "customer_id", "=")]


def test_query_coverage_counts_calls_and_says_why_one_is_not_resolved(tmp_path):
    model = _index(tmp_path, {"app/services.py": """
        from app.models import Order


        def known(session):
            return session.query(Order).filter(Order.status == "x").join(Order.items).order_by(Order.id).all()


        def unknown(thing):
            return thing.filter(Order.status == "x").all()
    """})
    coverage = query_coverage(model, model.orm, _application(model))
    assert (coverage.calls, coverage.resolved) == (4, 3)
    (unresolved,) = coverage.unresolved
    assert unresolved.call.location.line == 10 and unresolved.kind == "not followed"
    assert "parameter `thing` of unknown" in unresolved.reason


_SIZED = Config(select=("ALL", "SL405"), tables={"orders": TableHints(rows=100_000), "customers": TableHints(rows=100_000)})


def test_query_rules_report_no_finding_on_code_under_tests(tmp_path):
    from schemalens.analyzers.audit import run_audit

    loop = """
        from app.models import Order


        def {name}(session):
            for order in session.query(Order).filter(Order.note.contains("x")).offset(500).all():
                print(order.customer.email)
    """
    model = _index(tmp_path, {"tests/test_orders.py": loop.format(name="test_notes"),
                              "app/views.py": loop.format(name="notes")}, _SIZED)
    query_codes = {f"SL{n}" for n in range(405, 414)}
    findings = [f for f in run_audit(model).findings if f.rule in query_codes]
    assert findings and {f.location.path for f in findings} == {"app/views.py"}


def test_queries_lacking_the_same_index_are_one_finding(tmp_path):
    from schemalens.analyzers.audit import run_audit

    model = _index(tmp_path, {"app/views.py": """
        from app.models import Order


        def pending(session):
            return session.query(Order).filter(Order.reference == "x").all()


        def first_pending(session):
            return session.query(Order).filter(Order.reference == "y").first()
    """}, _SIZED)
    (finding,) = [f for f in run_audit(model).findings if f.rule == "SL405"]
    assert (finding.table, finding.column) == ("orders", "reference")
    assert [r.location.line for r in finding.related if r.label.startswith("also")] == [10]


LEDGER = """
    from sqlalchemy import String, and_
    from sqlalchemy.ext.hybrid import hybrid_property
    from sqlalchemy.orm import Mapped, composite, mapped_column

    from app.models import Base, SoftDelete


    class Account(SoftDelete, Base):
        __tablename__ = "accounts"
        id: Mapped[int] = mapped_column(primary_key=True)
        active: Mapped[bool]
        _billing_name: Mapped[str] = mapped_column("billing_name", String)
        region_id: Mapped[int]
        zone_id: Mapped[int]
        place = composite("region_id", "zone_id")

        @hybrid_property
        def can_login(self) -> bool:
            return not self.is_deleted and self.active

        @can_login.inplace.expression
        @classmethod
        def _can_login_expression(cls):
            return and_(~cls.is_deleted, cls.active)
"""


def _coverage(tmp_path: Path, services: str):
    model = _index(tmp_path, {"app/ledger.py": LEDGER, "app/services.py": services})
    return query_coverage(model, model.orm, _application(model))


def test_a_column_named_apart_from_its_attribute_is_read_as_its_column(tmp_path):
    services = """
        from app.ledger import Account


        def named(session, name):
            return session.query(Account).filter(Account._billing_name == name).all()
    """
    paths = _paths(tmp_path, {"app/ledger.py": LEDGER, "app/services.py": services})
    (predicate,) = _one(paths, "named").predicates
    assert (predicate.use.table, predicate.use.column, predicate.operator, predicate.expression) == (
        "accounts", "billing_name", "=", False)
    assert _coverage(tmp_path, services).unresolved == ()


def test_a_hybrid_property_over_another_hybrid_property_is_resolved(tmp_path):
    coverage = _coverage(tmp_path, """
        from app.ledger import Account


        def can_login(session):
            return session.query(Account).filter(Account.can_login).all()
    """)
    assert (coverage.calls, coverage.resolved) == (1, 1)


def test_a_composite_is_resolved_to_its_columns(tmp_path):
    coverage = _coverage(tmp_path, """
        from app.ledger import Account


        def at(session, place):
            return session.query(Account).filter(Account.place == place).all()
    """)
    assert (coverage.calls, coverage.resolved) == (1, 1)


def test_select_through_the_sql_module_is_a_query(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from sqlalchemy import sql

        from app.models import Order


        async def by_status(session, status):
            statement = sql.select(Order).where(Order.status == status)
            return (await session.execute(statement)).scalars().all()
    """})
    assert _predicates(_one(paths, "by_status")) == [("orders", "status", "=")]


def test_a_tables_select_is_a_query_of_its_table(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from app.models import Order


        def by_reference(session, reference):
            return session.execute(Order.__table__.select().where(Order.reference == reference)).fetchone()
    """})
    assert _predicates(_one(paths, "by_reference")) == [("orders", "reference", "=")]


def test_an_aggregates_filter_is_not_a_query_call(tmp_path):
    coverage = _coverage(tmp_path, """
        from sqlalchemy import func, select

        from app.models import Order


        def counts(session):
            late = func.count().filter(Order.status == "late")
            return session.execute(select(late, func.sum(Order.id).filter(Order.note.is_(None)))).one()
    """)
    assert (coverage.calls, coverage.unresolved) == (0, ())


def test_filter_by_of_a_dict_of_known_keys_reads_them_as_columns(tmp_path):
    paths = _paths(tmp_path, {"app/views.py": """
        from app.models import Order
        from app.web import use_args


        class OrderList:
            @use_args({"status": str, "reference": str, "q": str}, location="query")
            def get(self, query_args):
                q = query_args.pop("q", None)
                args = query_args
                return Order.query.filter_by(**args).all()


        def late(note):
            filters_by = {"status": "late"}
            if note:
                filters_by["note"] = note
            return Order.query.filter_by(**filters_by).all()
    """})
    # request arguments: each key filters only when the request gives it, so no condition the query always makes
    assert _predicates(_one(paths, "OrderList.get")) == []
    assert sorted(_predicates(_one(paths, "late"))) == [("orders", "note", "="), ("orders", "status", "=")]


def test_filter_by_of_request_arguments_is_resolved_to_their_columns(tmp_path):
    coverage = _coverage(tmp_path, """
        from app.models import Order
        from app.web import use_args


        @use_args({"status": str, "reference": str, "q": str}, location="query")
        def orders(query_args):
            query_args.pop("q", None)
            return Order.query.filter_by(**query_args).all()


        @use_args({"status": str, "colour": str}, location="query")
        def coloured(query_args):
            return Order.query.filter_by(**query_args).all()
    """)
    (unresolved,) = coverage.unresolved
    assert unresolved.kind == "column" and "colour" in unresolved.reason


def test_filter_by_of_a_dict_a_caller_hands_in_is_not_read(tmp_path):
    coverage = _coverage(tmp_path, """
        from app.models import Order


        def matching(fields=None):
            if fields is None:
                fields = {}
            return Order.query.filter_by(**fields).all()
    """)
    (unresolved,) = coverage.unresolved
    assert unresolved.kind == "condition"


def test_an_ordering_chosen_at_run_time_reads_its_column(tmp_path):
    paths = _paths(tmp_path, {"app/views.py": """
        from sqlalchemy import asc, desc, select

        from app.models import Order


        def newest(session, is_desc):
            direction = desc if is_desc else asc
            return session.execute(select(Order).order_by(direction(Order.created_at))).scalars().all()


        def by_reference(session, is_desc):
            ordering = Order.reference.desc() if is_desc else Order.reference.asc()
            return session.execute(select(Order).order_by(ordering)).scalars().all()


        def draft_last(session):
            return session.execute(select(Order).order_by((Order.status == "draft").asc())).scalars().all()
    """})
    assert [o.column.column for o in _one(paths, "newest").shape.order_by] == ["created_at"]
    assert [o.column.column for o in _one(paths, "by_reference").shape.order_by] == ["reference"]
    assert [o.column.column for o in _one(paths, "draft_last").shape.order_by] == ["status"]


def test_a_statement_inside_a_condition_is_read_as_a_subquery(tmp_path):
    coverage = _coverage(tmp_path, """
        from sqlalchemy import exists, select

        from app.models import Customer, Order


        async def orphans(session):
            statement = select(Order).where(~exists(select(1).where(Customer.id == Order.customer_id)))
            return (await session.execute(statement)).scalars().all()
    """)
    assert (coverage.calls, coverage.resolved) == (2, 2)


def test_an_update_refined_after_its_values_is_a_query(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from sqlalchemy import update

        from app.models import Order


        async def close(session, reference):
            statement = update(Order).values(status="closed").where(Order.reference == reference)
            await session.execute(statement)
    """})
    path = _one(paths, "close")
    assert path.shape.kind == "update" and _predicates(path) == [("orders", "reference", "=")]


def test_a_dynamic_relationship_of_self_is_a_query_of_its_target(tmp_path):
    paths = _paths(tmp_path, {"app/accounts.py": """
        from sqlalchemy.orm import relationship

        from app.models import Base, Order


        class Shop(Base):
            __tablename__ = "shops"
            orders = relationship("Order", lazy="dynamic")

            def late_orders(self):
                return self.orders.filter(Order.status == "late").all()
    """})
    assert paths == []  # its foreign key condition is the relationship's, not known here: not reported alone
    model = _index(tmp_path, {})
    coverage = query_coverage(model, model.orm, _application(model))
    assert (coverage.calls, coverage.resolved) == (1, 1)


def test_an_ordering_function_of_an_aggregate_or_a_column_is_read(tmp_path):
    coverage = _coverage(tmp_path, """
        import sqlalchemy as sa
        from sqlalchemy import func

        from app.models import Order


        def busiest(session):
            return session.query(Order.status).group_by(Order.status).order_by(sa.desc(func.count(0))).all()


        def newest(session):
            return session.query(Order).order_by(sa.desc(Order.created_at)).all()
    """)
    assert (coverage.calls, coverage.resolved) == (3, 3)


def test_a_condition_kept_in_a_name_by_or_is_read(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from sqlalchemy import or_

        from app.models import Order


        def search(session, term):
            matching = or_(Order.reference.ilike(term), Order.note.ilike(term))
            return session.query(Order).filter(matching).all()
    """})
    assert sorted(p.use.column for p in _one(paths, "search").predicates) == ["note", "reference"]


def test_a_join_without_arguments_is_not_a_query_call(tmp_path):
    coverage = _coverage(tmp_path, """
        import threading


        def run(work):
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
    """)
    assert coverage.calls == 0


def test_a_condition_replaced_by_true_on_another_branch_keeps_its_column(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from sqlalchemy import true

        from app.models import Order


        def before(session, freeze):
            if freeze:
                frozen = Order.created_at < freeze
            else:
                frozen = true()
            return session.query(Order).filter(frozen).all()
    """})
    assert _predicates(_one(paths, "before")) == [("orders", "created_at", "<")]


def test_any_of_a_value_is_a_value_in_an_array_column(tmp_path):
    paths = _paths(tmp_path, {"app/services.py": """
        from app.models import Order


        def tagged(session, tag):
            return session.query(Order).filter(Order.note.any(tag)).all()


        def with_item(session, sku):
            return session.query(Order).filter(Order.items.any(Item.sku == sku)).all()
    """})
    assert _predicates(_one(paths, "tagged")) == [("orders", "note", "@>")]
    assert _predicates(_one(paths, "with_item")) == [("items", "sku", "=")]


# Code no application path runs

_ROUTES = """
    from app import orders

    @app.get("/orders/<reference>")
    def show(reference):
        return orders.by_reference(reference)
"""
_ORDERS = """
    from app.models import Order


    def by_reference(reference):
        return Order.query.filter(Order.reference == reference).first()


    def by_note(note):
        return Order.query.filter(Order.note == note).first()


    def by_note_or_fail(note):
        return by_note(note) or abort(404)
"""


def _reached(paths) -> dict[str, bool]:
    return {p.shape.function: p.reached for p in paths}


def test_a_function_only_tests_or_dead_code_call_is_not_reached(tmp_path):
    paths = _paths(tmp_path, {"app/routes.py": _ROUTES, "app/orders.py": _ORDERS,
                              "tests/test_orders.py": "from app.orders import by_note\n\n\ndef test_it():\n    by_note('x')\n"})
    assert _reached(paths) == {"by_reference": True, "by_note": False}


def test_a_function_named_other_than_by_a_call_is_reached(tmp_path):
    registered = _ROUTES + "\nhandlers = {'note': orders.by_note_or_fail}\n"
    assert _reached(_paths(tmp_path, {"app/routes.py": registered, "app/orders.py": _ORDERS})) == {
        "by_reference": True, "by_note": True}
    named = _ROUTES + "\n\ndef lookup(kind):\n    return getattr(orders, 'by_note')\n"
    assert _reached(_paths(tmp_path, {"app/routes.py": named, "app/orders.py": _ORDERS}))["by_note"]


def test_a_model_method_only_tests_call_is_not_reached(tmp_path):
    methods = ("\n    @classmethod\n    def by_sku(cls, sku):\n        return Item.query.filter(Item.sku == sku).first()\n"
               "\n    def siblings(self):\n        return Item.query.filter(Item.order_id == self.order_id).all()\n")
    routes = textwrap.dedent(_ROUTES) + "\n\n@app.get('/items/<item_id>')\ndef item(item_id):\n    return load(item_id).siblings()\n"
    paths = _paths(tmp_path, {"app/models.py": MODELS + methods, "app/routes.py": routes, "app/orders.py": _ORDERS,
                              "tests/test_items.py": "from app.models import Item\n\n\ndef test_it():\n    Item.by_sku('x')\n"})
    reached = _reached(paths)
    assert (reached["Item.by_sku"], reached["Item.siblings"]) == (False, True)


def test_without_an_entry_point_every_function_is_reached(tmp_path):
    paths = _paths(tmp_path, {"app/orders.py": _ORDERS})
    assert set(_reached(paths).values()) == {True}


def test_a_loop_over_what_a_function_returns_reads_that_module_s_function(tmp_path):
    from schemalens.analyzers.audit import run_audit
    from schemalens.analyzers.rules import rule_by_code

    model = _index(tmp_path, {
        "app/archive.py": ("from app.models import Order\n\n\n"
                           "def recent():\n    return Order.query.all()\n"),
        "app/orders.py": ("from sqlalchemy.orm import selectinload\n\nfrom app.models import Order\n\n\n"
                          "def recent():\n    return Order.query.options(selectinload(Order.items)).all()\n"),
        "app/report.py": ("from app import orders\n\n\n"
                          "def sizes():\n    return [len(order.items) for order in orders.recent()]\n"),
    }, Config(tables={"orders": TableHints(rows=50_000)}))
    assert [f for f in run_audit(model, rules=[rule_by_code("SL412")]).findings] == []


def test_code_no_application_path_runs_is_no_key_path(tmp_path):
    from schemalens.analyzers.report.key_paths import key_paths

    model = _index(tmp_path, {"app/routes.py": _ROUTES, "app/orders.py": _ORDERS})
    assert [k.path.shape.function for k in key_paths(model)] == ["by_reference"]


def test_a_job_s_loops_say_whose_rows_they_walk(tmp_path):
    from schemalens.analyzers.query_flow import code_base

    model = _index(tmp_path, {
        "app/orders.py": ("from app.models import Order\n\n\ndef open_orders():\n    return Order.query.all()\n\n\n"
                          "def by_reference(reference):\n    return Order.query.filter(Order.reference == reference).all()\n\n\n"
                          "def items_of(order):\n    return order.items\n"),
        "app/tasks.py": ("from app import orders\n\n\n@shared_task\ndef nightly(references):\n"
                         "    open_ones = orders.open_orders()\n    for order in open_ones:\n        orders.items_of(order)\n"
                         "        for reference in references:\n            orders.by_reference(reference)\n"
                         "    while references:\n        orders.by_reference(references.pop())\n"),
    })
    nests = code_base(model, [path for path in model.code if path.startswith("app/")]).per_row_in_jobs
    open_orders = ("app/orders.py", "open_orders")
    assert nests[("app/orders.py", "items_of")] == {(open_orders,)}
    assert nests[("app/orders.py", "by_reference")] == {(open_orders, None), (None,)}
    assert ("app/orders.py", "open_orders") not in nests


def test_a_method_called_on_an_instance_runs_as_any_subclass_override(tmp_path):
    # polar: a job builds the invariant it is given (`type[Invariant]`) and calls its check()
    paths = _paths(tmp_path, {
        "app/checks.py": ("from app.models import Order\n\n\nclass Check:\n    def run(self):\n        raise NotImplementedError\n\n\n"
                          "class LateOrders(Check):\n    def run(self):\n"
                          "        return Order.query.filter(Order.reference == 'late').all()\n\n\n"
                          "class Report:\n    def run(self):\n        return Order.query.filter(Order.reference == 'r').all()\n"),
        "app/tasks.py": ("from app.checks import Check\n\n\n@shared_task\ndef check(check_cls: type[Check]):\n"
                         "    found = check_cls()\n    found.run()\n"),
    })
    assert (_one(paths, "LateOrders.run").context, _one(paths, "Report.run").context) == ("task", "other")
