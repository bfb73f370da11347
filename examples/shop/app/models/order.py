"""Orders, their lines, payments and shipments."""

from __future__ import annotations

from datetime import datetime

from ..extensions import db
from .mixins import TimestampMixin


class Order(TimestampMixin, db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        db.CheckConstraint("total_amount >= 0", name="total_amount_non_negative"),
        db.Index("ix_orders_created_at", "created_at"),
        # The payment-reminder job scans pending orders by age.
        db.Index("ix_orders_status_pending", "created_at", postgresql_where=db.text("status = 'pending'")),
    )

    id = db.Column(db.BigInteger, primary_key=True)
    order_no = db.Column(db.String(32), nullable=False, index=True)  # deliberate: 3 order_no is the business key but is not unique
    user_id = db.Column(db.BigInteger, db.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)  # deliberate: 4 FK column without an index
    shipping_address_id = db.Column(db.BigInteger, db.ForeignKey("addresses.id", ondelete="SET NULL"), index=True)
    status = db.Column(db.String(32), nullable=False, default="pending")  # deliberate: 2 status as free text, no enum or CHECK
    channel = db.Column(db.String(20), nullable=False)
    currency = db.Column(db.String(3), nullable=False, default="CNY")
    total_amount = db.Column(db.Numeric(12, 2), nullable=False, server_default="0")  # deliberate: 2 default 0 hides an order whose total was never computed
    coupon_code = db.Column(db.String(32))
    customer_note = db.Column(db.Text)
    gift_message = db.Column(db.Text)  # deliberate: 5 drift: the model has gift_message but no migration creates it
    paid_at = db.Column(db.DateTime)

    user = db.relationship("User", back_populates="orders")
    items = db.relationship("OrderItem", back_populates="order", cascade="all, delete-orphan")
    payments = db.relationship("Payment", back_populates="order")
    shipments = db.relationship("Shipment", back_populates="order")


class OrderItem(db.Model):
    __tablename__ = "order_items"
    __table_args__ = (
        db.UniqueConstraint("order_id", "product_id", name="uq_order_items_order_product"),
        db.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id = db.Column(db.BigInteger, primary_key=True)
    order_id = db.Column(db.BigInteger, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False)
    product_id = db.Column(db.BigInteger, db.ForeignKey("products.id"), nullable=False, index=True)  # deliberate: 3 FK without ON DELETE
    quantity = db.Column(db.Integer, nullable=False)
    unit_price = db.Column(db.Numeric(12, 2), nullable=False)

    order = db.relationship("Order", back_populates="items")
    product = db.relationship("Product")


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (db.UniqueConstraint("provider", "provider_txn_id", name="uq_payments_provider_txn"),)

    id = db.Column(db.BigInteger, primary_key=True)
    order_id = db.Column(db.BigInteger, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    provider = db.Column(db.String(20), nullable=False)
    provider_txn_id = db.Column(db.String(64), nullable=False)
    amount = db.Column(db.Numeric(12, 2), nullable=False)
    status = db.Column(db.String(20), nullable=False, default="initiated")
    card_token_ciphertext = db.Column(db.String(255))  # deliberate: 2 ciphertext in varchar(255)
    create_time = db.Column(db.DateTime, nullable=False, default=datetime.utcnow)  # deliberate: 2 create_time where every other table says created_at

    order = db.relationship("Order", back_populates="payments")


class Shipment(TimestampMixin, db.Model):
    __tablename__ = "shipments"
    __table_args__ = (
        db.CheckConstraint("delivered_at IS NULL OR delivered_at >= shipped_at", name="delivered_after_shipped"),
        db.UniqueConstraint("carrier", "tracking_no", name="uq_shipments_carrier_tracking"),
    )

    id = db.Column(db.BigInteger, primary_key=True)
    order_id = db.Column(db.BigInteger, db.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True)
    carrier = db.Column(db.String(32), nullable=False)
    tracking_no = db.Column(db.String(64), nullable=False)
    shipped_at = db.Column(db.DateTime(timezone=True), nullable=False)
    delivered_at = db.Column(db.DateTime(timezone=True))

    order = db.relationship("Order", back_populates="shipments")
