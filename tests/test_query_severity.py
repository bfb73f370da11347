"""Severity of the query-path rules follows the evidence: P0 (an outage on a request path) only
when a request reads or sorts rows in proportion to a table hinted at a million rows."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules.indexes.n_plus_one import NPlusOne
from schemalens.analyzers.rules.indexes.order_by_without_index import OrderByWithoutIndex
from schemalens.analyzers.rules.indexes.query_support import query_example
from schemalens.analyzers.workspace.index import WorkspaceIndex

_BIG_ORDERS = "[tool.schemalens.tables.orders]\nrows = 3_000_000\n"


def _severities(tmp_path: Path, files: dict[str, str], config: str, rule) -> list[str]:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text("[tool.schemalens]\n" + config, encoding="utf-8")
    result = run_audit(WorkspaceIndex(tmp_path).index_all(), rules=[rule])
    return [finding.severity for finding in result.findings if finding.rule == rule.code]


def _sorted_page(condition: str) -> dict[str, str]:
    return query_example("@app.route('/orders')\n"
                         f"def newest(Order, customer_id, status):\n    return Order.query{condition}"
                         ".order_by(Order.created_at.desc()).limit(50).all()\n")


def test_a_sort_of_the_whole_big_table_on_a_request_is_p0(tmp_path):
    assert _severities(tmp_path, _sorted_page(""), _BIG_ORDERS, OrderByWithoutIndex) == ["P0"]


def test_a_sort_of_the_rows_an_index_narrowed_to_is_not_reported(tmp_path):
    # redash: results filtered on an indexed hash, then sorted by time: one key's rows, sorted in memory
    files = _sorted_page(".filter(Order.customer_id == customer_id)")
    assert _severities(tmp_path, files, _BIG_ORDERS, OrderByWithoutIndex) == []


def test_a_filter_no_index_serves_keeps_p0(tmp_path):
    files = _sorted_page(".filter(Order.status == status)")
    assert _severities(tmp_path, files, _BIG_ORDERS, OrderByWithoutIndex) == ["P0"]


_MODELS = ("from sqlalchemy import ForeignKey\nfrom sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship\n\n\n"
           "class Base(DeclarativeBase):\n    pass\n\n\n"
           "class Order(Base):\n    __tablename__ = 'orders'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
           "    items: Mapped[list['OrderItem']] = relationship(back_populates='order')\n\n\n"
           "class OrderItem(Base):\n    __tablename__ = 'order_items'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
           "    order_id: Mapped[int] = mapped_column(ForeignKey('orders.id'), index=True)\n"
           "    order: Mapped[Order] = relationship(back_populates='items')\n")


def _loop(bound: str) -> dict[str, str]:
    return {"app/models.py": _MODELS, "app/views.py": (
        "from app.models import Order\n\n\n@app.route('/totals')\ndef totals(session, limit):\n"
        f"    query = session.query(Order)\n{bound}    return [len(order.items) for order in query.all()]\n")}


def test_an_n_plus_one_over_every_row_of_a_big_table_on_a_request_is_p0(tmp_path):
    assert _severities(tmp_path, _loop(""), _BIG_ORDERS, NPlusOne) == ["P0"]


def test_an_n_plus_one_over_a_page_of_rows_is_p1(tmp_path):
    # dispatch: a loop over `.limit(100)` of one case's signal instances
    assert _severities(tmp_path, _loop("    query = query.limit(100)\n"), _BIG_ORDERS, NPlusOne) == ["P1"]


def test_a_limit_only_some_calls_apply_bounds_nothing(tmp_path):
    files = _loop("    if limit:\n        query = query.limit(limit)\n")
    assert _severities(tmp_path, files, _BIG_ORDERS, NPlusOne) == ["P0"]
