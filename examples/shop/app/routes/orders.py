"""/api/orders"""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from ..services import orders as order_service

bp = Blueprint("orders", __name__)


def _order_json(order) -> dict:
    return {
        "order_no": order.order_no,
        "status": order.status,
        "total_amount": str(order.total_amount),
        "created_at": order.created_at.isoformat(),
    }


@bp.post("")
def create_order():
    try:
        order = order_service.place_order(g.user_id, request.get_json())
    except order_service.OrderConflict:
        abort(409)
    return jsonify(_order_json(order)), 201


@bp.get("")
def list_orders():
    page = request.args.get("page", 1, type=int)
    return jsonify([_order_json(order) for order in order_service.list_orders(g.user_id, page)])


@bp.get("/summary")
def summary():
    return jsonify(order_service.order_summaries(g.user_id))


@bp.post("/<order_no>/paid")
def payment_callback(order_no: str):
    body = request.get_json()
    order = order_service.mark_paid(order_no, body["provider"], body["txn_id"], body["amount"])
    return jsonify(_order_json(order))
