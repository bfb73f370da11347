"""Query extraction, one construct at a time: what each query filters, joins, sorts, groups and
pages on, resolved to tables through the models, and where it runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from schemalens.analyzers.extract.code_facts import collect_code_facts
from schemalens.analyzers.query_paths import query_paths
from schemalens.analyzers.report.key_paths import column_uses, key_paths
from schemalens.analyzers.report.table_card import table_card
from schemalens.analyzers.workspace.index import WorkspaceIndex


def _shapes(code: str, dialect: str = "postgresql"):
    facts = collect_code_facts(textwrap.dedent(code), "app/services/x.py", dialect)
    assert facts.errors == ()
    return facts


def _only(code: str):
    (shape,) = [q for q in _shapes(code).queries if not q.embedded]
    return shape


def _predicates(shape) -> list[tuple[str, str, str, object]]:
    return [(p.column.model, p.column.column, p.operator, p.pattern) for p in shape.predicates]


@pytest.mark.parametrize("code, entities", [
    ("Order.query.filter(Order.status == 'x').all()", ("Order",)),
    ("session.query(Order).filter(Order.status == 'x').all()", ("Order",)),
    ("db.session.query(Order, Customer).filter(Order.status == 'x').all()", ("Order", "Customer")),
    ("session.execute(select(Order).where(Order.status == 'x')).scalars().all()", ("Order",)),
    ("session.scalars(select(Order).where(Order.status == 'x')).all()", ("Order",)),
    ("sa.select(Order.id).where(Order.status == 'x')", ("Order",)),
])
def test_query_roots(code: str, entities: tuple):
    shape = _only(f"def f(session, db):\n    return {code}\n")
    assert (shape.kind, shape.entities) == ("select", entities)
    assert _predicates(shape) == [("Order", "status", "=", None)]
    assert shape.function == "f"


def test_predicates_and_their_operators():
    shape = _only("""
        def f(session, ids, since, term):
            return (session.query(Order)
                    .filter(Order.id.in_(ids), Order.placed_at >= since, Order.note.is_(None))
                    .filter(or_(Order.status != 'gone', Order.total.between(1, 5)))
                    .filter(Order.name.ilike(f"%{term}%"), Order.code.like(term + "%"), Order.tag.contains(term))
                    .filter(Order.city.startswith(term), Order.zip.endswith(term), tuple_(Order.a, Order.b).in_(ids))
                    .filter_by(customer_id=1)
                    .all())
    """)
    assert _predicates(shape) == [
        ("Order", "id", "in", None), ("Order", "placed_at", ">=", None), ("Order", "note", "is null", None),
        ("Order", "status", "!=", None), ("Order", "total", "between", None),
        ("Order", "name", "ilike", "contains"), ("Order", "code", "like", "prefix"), ("Order", "tag", "like", "contains"),
        ("Order", "city", "like", "prefix"), ("Order", "zip", "like", "suffix"),
        ("Order", "a", "in", None), ("Order", "b", "in", None), ("Order", "customer_id", "=", None)]


def test_conditions_added_under_a_branch_are_conditional():
    shape = _only("""
        def orders(session, customer_id, status, tags):
            query = session.query(Order).filter(Order.customer_id == customer_id)
            if status:
                query = query.filter(Order.status == status)
            for tag in tags:
                query = query.filter_by(tag=tag)
            return query.all()
    """)
    assert [(p.column.column, p.conditional) for p in shape.predicates] == [
        ("customer_id", False), ("status", True), ("tag", True)]


def test_a_query_begun_in_a_branch_is_not_conditional_there():
    shape = _only("""
        def orders(session, customer_id):
            if customer_id:
                query = session.query(Order).filter(Order.customer_id == customer_id)
                query = query.filter(Order.status == "paid")
                return query.all()
    """)
    assert [p.conditional for p in shape.predicates] == [False, False]


def test_like_pattern_shapes_as_written():
    shape = _only("""
        def f(session, term):
            return session.query(Order).filter(Order.a.like(f"{term}%"), Order.b.ilike(rf"%{term}"), Order.w.like(f"%"),
                                               Order.d.like("%" "gift"), Order.e.like("%" + term + "%")).all()
    """)
    assert [p.pattern for p in shape.predicates] == ["prefix", "suffix", "wildcard", "unknown", "contains"]


def test_joins_order_group_having_and_paging():
    shape = _only("""
        def f(session, page):
            return (session.query(Order)
                    .join(Customer, Customer.id == Order.customer_id)
                    .filter_by(email='x')
                    .outerjoin(Order.items)
                    .filter_by(sku='y')
                    .group_by(Order.status)
                    .having(func.count(Order.id) > 1)
                    .order_by(Order.created_at.desc(), asc(Order.id))
                    .offset(page * 20).limit(20).all())
    """)
    explicit, relationship = shape.joins
    assert (explicit.target, [(a.column, b.column) for a, b in explicit.on]) == ("Customer", [("id", "customer_id")])
    assert relationship.outer and (relationship.relationship.model, relationship.relationship.column) == ("Order", "items")
    # filter_by applies to the last joined entity
    assert _predicates(shape)[:2] == [("Customer", "email", "=", None), ("Order", "sku", "=", None)]
    assert [p.column.through for p in shape.predicates[:2]] == [None, "items"]
    assert [(o.column.column, o.descending) for o in shape.order_by] == [("created_at", True), ("id", False)]
    assert [g.column for g in shape.group_by] == ["status"] and shape.pagination == "offset"


def test_paginate_limit_and_eager_options():
    paginated = _only("def f():\n    return Order.query.options(selectinload(Order.items), joinedload(Order.customer))"
                      ".order_by(Order.id).paginate(page=2)\n")
    assert paginated.pagination == "paginate" and paginated.eager == ("items", "customer")
    limited = _only("def f():\n    return Order.query.order_by(Order.id).limit(5).all()\n")
    assert limited.pagination == "limit"


def test_subquery_joined_back_with_aggregates():
    shape = _only("""
        def f(session):
            latest = select(Payment.order_id, func.max(Payment.created_at).label("at")).group_by(Payment.order_id).subquery()
            return session.execute(select(Payment).join(latest, (Payment.order_id == latest.c.order_id)
                                                        & (Payment.created_at == latest.c.at))).scalars()
    """)
    (join,) = shape.joins
    assert join.subquery is not None and [g.column for g in join.subquery.group_by] == ["order_id"]
    assert [(name, c.column) for name, c in join.subquery.aggregates] == [("max", "created_at")]


@pytest.mark.parametrize("code, kind, entities", [
    ("session.execute(update(Order).where(Order.id == 1).values(status='x'))", "update", ("Order",)),
    ("session.execute(delete(Order).where(Order.id == 1))", "delete", ("Order",)),
    ("session.execute(insert(Order).values(status='x'))", "insert", ("Order",)),
    ("session.add(Order(status='x'))", "write", ("Order",)),
    ("session.merge(Order(id=1))", "write", ("Order",)),
    ("session.bulk_save_objects([Order(id=1), Order(id=2)])", "write", ("Order",)),
    ("session.execute(order_tags.insert().values(order_id=1))", "insert", ("order_tags",)),
])
def test_writes(code: str, kind: str, entities: tuple):
    shape = _only(f"def f(session):\n    {code}\n")
    assert (shape.kind, shape.entities) == (kind, entities)


def test_text_sql_is_read_with_pglast():
    shape = _only("""
        def f(session):
            return session.execute(text(
                "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE c.email = :email AND o.note ILIKE '%gift%' ORDER BY o.created_at DESC LIMIT 10 OFFSET 20"))
    """)
    assert shape.entities_are_tables and shape.entities == ("orders",)
    assert _predicates(shape) == [("customers", "email", "=", None), ("orders", "note", "ilike", "contains")]
    assert [(j.target, [(a.column, b.column) for a, b in j.on]) for j in shape.joins] == [("customers", [("id", "customer_id")])]
    assert [(o.column.column, o.descending) for o in shape.order_by] == [("created_at", True)] and shape.pagination == "offset"


def test_text_sql_of_other_dialects_is_read_with_sqlglot():
    facts = _shapes("def f(session):\n    return session.execute(text('SELECT id FROM orders WHERE status = ? LIMIT 5'))\n",
                    dialect="mysql")
    (shape,) = facts.queries
    assert shape.entities == ("orders",) and _predicates(shape) == [("orders", "status", "=", None)]


def test_loops_over_query_results_and_relationships():
    facts = _shapes("""
        def f(session):
            for order in session.query(Order).all():
                for item in order.items:
                    print(item.product.name, order.number)
    """)
    reads = {(r.variable, r.attribute, r.source, r.parent) for r in facts.loop_reads}
    assert ("order", "items", 0, None) in reads and ("order", "number", 0, None) in reads
    assert ("item", "product", None, (0, "items")) in reads


def test_contains_of_a_list_is_containment_not_a_substring_search():
    facts = _shapes("""
        def f(session, audience):
            return session.query(Message).filter(Message.audience.contains([audience]), Message.body.contains("x")).all()
    """)
    (shape,) = facts.queries
    assert [(p.column.column, p.operator, p.pattern) for p in shape.predicates] == [
        ("audience", "@>", None), ("body", "like", "contains")]


def test_setting_a_relationship_in_a_loop_is_not_a_read():
    facts = _shapes("""
        def f(session, result):
            for query in session.query(Query).all():
                query.latest_result = result
    """)
    assert facts.loop_reads == ()


SERVICE = '''
from flask import Blueprint

from .models import Order

bp = Blueprint("orders", __name__)


@bp.get("/orders")
def list_orders():
    return [o.id for o in recent()]


def recent():
    return Order.query.filter(Order.status == "new").order_by(Order.created_at.desc()).all()


@celery.task
def purge():
    Order.query.filter(Order.status == "gone").delete()
'''
MODELS = '''
from sqlalchemy import Index
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("orders_status_idx", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str]
    created_at: Mapped[str]
'''


@pytest.fixture
def service(tmp_path: Path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app/models.py").write_text(MODELS)
    (tmp_path / "app/orders.py").write_text(SERVICE)
    return WorkspaceIndex(tmp_path).index_all()


def test_where_a_query_runs_follows_callers(service):
    paths = query_paths(service, service.orm, service.code.values())
    by_function = {p.shape.function: p for p in paths}
    assert by_function["recent"].context == "request"  # called by a route
    assert by_function["purge"].context == "task" and by_function["purge"].shape.kind == "delete"
    assert by_function["recent"].table == "orders"
    assert [(p.use.table, p.use.column) for p in by_function["recent"].predicates] == [("orders", "status")]


def test_key_paths_and_the_hover_list_the_code_on_a_column(service):
    (first, second) = key_paths(service)
    assert first.path.shape.function == "recent" and first.indexes == ("orders_status_idx",)
    paths = query_paths(service, service.orm, service.code.values())
    uses = column_uses(paths, "orders", "status")
    assert [(location.line, how) for location, how, _ in uses] == [(15, "filter ="), (20, "filter =")]
    card = table_card(service, "orders", "status", paths)
    assert "Code paths on this column:" in card and "filter = in recent — `app/orders.py:15`" in card


def test_or_branches_are_marked():
    shape = _only("def f(session):\n    return session.query(Order).filter(Order.kind == 1, "
                  "or_(Order.a == 1, and_(Order.b == 2, Order.e == 3)) | (Order.d == 4)).all()\n")
    assert [(p.column.column, p.alternative) for p in shape.predicates] == [
        ("kind", None), ("a", (1, 0)), ("b", (1, 1)), ("e", (1, 1)), ("d", (1, 2))]


def test_rows_from_another_function_and_read_by_a_helper():
    facts = _shapes("""
        def _json(product):
            return {"name": product.name, "tags": [tag.name for tag in product.tags]}

        def search(term):
            return [_json(p) for p in catalog.search_products(term)]
    """)
    reads = {(r.variable, r.attribute, r.rows_from, r.location.line) for r in facts.loop_reads}
    assert ("p", "tags", "catalog.search_products", 3) in reads and ("p", "name", "catalog.search_products", 3) in reads
