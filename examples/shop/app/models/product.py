"""The catalogue: categories, products and free-form tags."""

from __future__ import annotations

from ..extensions import db
from .mixins import TimestampMixin

product_tags = db.Table(  # deliberate: 1 association table without a primary key or unique (product_id, tag_id)
    "product_tags",
    db.Column("product_id", db.BigInteger, db.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
    db.Column("tag_id", db.Integer, db.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
)


class Category(db.Model):
    __tablename__ = "categories"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(80), nullable=False, unique=True)
    parent_id = db.Column(db.Integer, db.ForeignKey("categories.id", ondelete="SET NULL"), index=True)

    children = db.relationship("Category")


class Tag(db.Model):
    __tablename__ = "tags"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), nullable=False, unique=True)


class Product(TimestampMixin, db.Model):
    __tablename__ = "products"
    __table_args__ = (
        # The storefront only ever lists products that are not deleted.
        db.Index("ix_products_active_name", "name", postgresql_where=db.text("is_deleted = false")),
    )

    id = db.Column(db.BigInteger, primary_key=True)
    sku = db.Column(db.String(64), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text)
    category_id = db.Column(db.Integer)  # deliberate: 3 category_id has no foreign key to categories
    price = db.Column(db.Float, nullable=False)  # deliberate: 2 money stored as float
    stock = db.Column(db.Integer, nullable=False, default=0)  # deliberate: 3 no CHECK (stock >= 0)
    attributes = db.Column(db.JSON, nullable=False, default=dict)  # deliberate: 1 JSON bag of attributes, filtered by key in services/catalog.py
    is_deleted = db.Column(db.Boolean, nullable=False, server_default=db.false())

    tags = db.relationship("Tag", secondary=product_tags, backref="products")
