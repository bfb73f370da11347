"""/api/users"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, request
from werkzeug.security import check_password_hash

from ..models import User
from ..services import users as user_service

bp = Blueprint("users", __name__)


@bp.post("")
def signup():
    user = user_service.register(request.get_json())
    return jsonify({"id": user.id, "email": user.email}), 201


@bp.post("/login")
def login():
    payload = request.get_json()
    user = user_service.find_for_login(payload["login"])
    if user is None or not check_password_hash(user.password_hash, payload["password"]):
        return jsonify({"error": "invalid credentials"}), 401
    return jsonify({"id": user.id})


@bp.get("/export.csv")
def export_users():
    """Customer list for the operations team's spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "email", "phone", "id_card_no", "created_at"])
    for user in User.query.order_by(User.id).yield_per(1000):
        writer.writerow([user.id, user.email, user.phone, user.id_card_no, user.created_at])  # deliberate: 7 export leaks phone and id_card_no in clear
    return Response(buffer.getvalue(), mimetype="text/csv")
