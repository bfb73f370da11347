"""Columns shared by most tables."""

from __future__ import annotations

from datetime import datetime

from ..extensions import db


class TimestampMixin:
    """created_at / updated_at, set by the application on insert and update."""

    created_at = db.Column(db.DateTime, nullable=False, default=datetime.utcnow)  # deliberate: 2 timestamp without time zone
    updated_at = db.Column(db.DateTime, nullable=False, default=datetime.utcnow, onupdate=datetime.utcnow)
