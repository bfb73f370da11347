"""Catalogue search and tagging."""

from __future__ import annotations

from sqlalchemy import text

from ..extensions import db
from ..models import Product, Tag, product_tags


def search_products(term: str, limit: int = 50) -> list[Product]:
    """Products whose name contains `term`, case-insensitively."""
    return (
        db.session.query(Product)
        .filter(Product.is_deleted.is_(False))
        .filter(Product.name.ilike(f"%{term}%"))  # deliberate: 4 %term% search without a trigram or full-text index
        .order_by(Product.name)
        .limit(limit)
        .all()
    )


def products_with_attribute(key: str, value: str) -> list[Product]:
    """Products whose free-form attribute `key` equals `value` (e.g. colour = red)."""
    return Product.query.filter(Product.attributes[key].as_string() == value).all()


def tag_product(product_id: int, tag_name: str) -> None:
    """Attach a tag, creating the tag on first use."""
    tag = Tag.query.filter_by(name=tag_name).first()
    if tag is None:
        tag = Tag(name=tag_name)
        db.session.add(tag)
        db.session.flush()
    db.session.execute(product_tags.insert().values(product_id=product_id, tag_id=tag.id))
    db.session.commit()


def category_counts() -> dict[int, int]:
    """How many live products each category has (the sidebar)."""
    rows = db.session.execute(text(
        "SELECT category_id, count(*) FROM products WHERE is_deleted = false GROUP BY category_id"
    ))
    return {category_id: count for category_id, count in rows}
