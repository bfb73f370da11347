"""/api/products"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..extensions import db
from ..models import Product
from ..services import catalog

bp = Blueprint("products", __name__)


def _product_json(product: Product) -> dict:
    return {"sku": product.sku, "name": product.name, "price": product.price, "stock": product.stock,
            "tags": [tag.name for tag in product.tags]}  # deliberate: 4 N+1: one tags query per product in a search page


@bp.get("")
def search():
    term = request.args.get("q", "")
    return jsonify([_product_json(product) for product in catalog.search_products(term)])


@bp.get("/by-attribute")
def by_attribute():
    return jsonify([_product_json(p) for p in catalog.products_with_attribute(request.args["key"], request.args["value"])])


@bp.get("/<sku>")
def detail(sku: str):
    product = db.session.execute(db.select(Product).filter_by(sku=sku, is_deleted=False)).scalar_one_or_none()
    if product is None:
        return jsonify({"error": "not found"}), 404
    return jsonify(_product_json(product))


@bp.post("/<int:product_id>/tags")
def add_tag(product_id: int):
    catalog.tag_product(product_id, request.get_json()["tag"])
    return "", 204
