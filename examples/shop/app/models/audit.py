"""Who did what (audit trail) and what we told customers (notifications).

Newer models use SQLAlchemy 2.0 typed mappings; the rest of the app still uses db.Column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"  # deliberate: 7 grows forever: no retention, partitioning or archive
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    actor_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    target_type: Mapped[str] = mapped_column(String(50))  # deliberate: 1 polymorphic target_type + target_id with nothing checking the target exists
    target_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schema_version: Mapped[int] = mapped_column(Integer, server_default="1")  # deliberate: 8 schema_version switch in services/audit.py
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)


class Notification(db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[Optional[int]] = mapped_column(BigInteger, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # deliberate: 6 no unique (order_id, kind): a re-run of the reminder job sends again
    channel: Mapped[str] = mapped_column(String(20), default="sms")
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
