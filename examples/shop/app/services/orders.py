"""Checkout and order history."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from ..extensions import db
from ..models import Order, OrderItem, Payment, Product
from . import audit


class OrderConflict(Exception):
    """The client sent an order number that is already taken."""


def place_order(user_id: int, data: dict) -> Order:
    """Create an order from a checkout payload: order_no, channel, items [{sku, quantity}]."""
    order_no = data["order_no"]
    # deliberate: 6 check-then-insert race: two checkouts with the same order_no both pass this check
    if Order.query.filter_by(order_no=order_no).first() is not None:
        raise OrderConflict(order_no)

    order = Order(
        order_no=order_no,
        user_id=user_id,
        channel=data.get("channel") or data.get("source") or "web",  # deliberate: 8 new key "channel" falls back to the old "source"
        shipping_address_id=data.get("address_id"),
        customer_note=data.get("note"),
        coupon_code=data.get("coupon"),
    )
    total = Decimal("0")
    for line in data["items"]:
        product = db.session.execute(select(Product).where(Product.sku == line["sku"])).scalar_one()
        product.stock -= line["quantity"]
        unit_price = Decimal(str(product.price))
        order.items.append(OrderItem(product_id=product.id, quantity=line["quantity"], unit_price=unit_price))
        total += unit_price * line["quantity"]
    order.total_amount = total
    db.session.add(order)
    db.session.flush()
    audit.record(user_id, "order.placed", "order", order.id, {"order_no": order_no, "total": str(total)})
    db.session.commit()
    return order


def list_orders(user_id: int, page: int, per_page: int = 20) -> list[Order]:
    """One page of a customer's orders, newest first."""
    return (
        Order.query.filter(Order.user_id == user_id)
        .order_by(Order.created_at.desc())
        .offset((page - 1) * per_page)  # deliberate: 4 OFFSET pagination on orders
        .limit(per_page)
        .all()
    )


def order_summaries(user_id: int) -> list[dict]:
    """Every order of a customer with its lines, for the account page."""
    summaries = []
    for order in db.session.query(Order).filter(Order.user_id == user_id).all():
        lines = []
        for item in order.items:  # deliberate: 4 N+1: one query for the items of every order, one per product
            lines.append({"sku": item.product.sku, "name": item.product.name, "quantity": item.quantity})
        summaries.append({"order_no": order.order_no, "status": order.status, "lines": lines})
    return summaries


def latest_payments() -> list[Payment]:
    """The latest payment attempt of every order, for the reconciliation screen."""
    latest = (
        select(Payment.order_id, func.max(Payment.create_time).label("latest"))
        .group_by(Payment.order_id)
        .subquery()
    )
    # deliberate: 4 latest-per-group via GROUP BY + max and a join back
    statement = select(Payment).join(
        latest, (Payment.order_id == latest.c.order_id) & (Payment.create_time == latest.c.latest)
    )
    return list(db.session.execute(statement).scalars())


def mark_paid(order_no: str, provider: str, provider_txn_id: str, amount: Decimal) -> Order:
    """Record a successful payment callback."""
    order = db.session.execute(select(Order).where(Order.order_no == order_no)).scalar_one()
    db.session.add(Payment(order_id=order.id, provider=provider, provider_txn_id=provider_txn_id,
                           amount=amount, status="succeeded"))
    order.status = "paid"
    order.paid_at = func.now()
    db.session.commit()
    return order
