"""All models, re-exported so that `from app.models import Order` works everywhere."""

from .audit import AuditEvent, Notification
from .mixins import TimestampMixin
from .order import Order, OrderItem, Payment, Shipment
from .product import Category, Product, Tag, product_tags
from .user import Address, User

__all__ = [
    "Address",
    "AuditEvent",
    "Category",
    "Notification",
    "Order",
    "OrderItem",
    "Payment",
    "Product",
    "Shipment",
    "Tag",
    "TimestampMixin",
    "User",
    "product_tags",
]
