"""The audit trail: one row per business event, read back by the admin console."""

from __future__ import annotations

from ..extensions import db
from ..models import AuditEvent

CURRENT_SCHEMA_VERSION = 2


def record(actor_id: int | None, action: str, target_type: str, target_id: int, changes: dict) -> AuditEvent:
    """Append an event (the caller commits)."""
    event = AuditEvent(actor_id=actor_id, action=action, target_type=target_type, target_id=target_id,
                       payload={"changes": changes}, schema_version=CURRENT_SCHEMA_VERSION)
    db.session.add(event)
    return event


def changes_of(event: AuditEvent) -> dict:
    """The changed fields of an event, whichever payload layout it was written with."""
    if event.schema_version == 1:  # deliberate: 8 schema_version switch: version 1 payloads are the changes themselves
        return dict(event.payload)
    return dict(event.payload.get("changes", {}))


def history(target_type: str, target_id: int) -> list[AuditEvent]:
    return (
        AuditEvent.query.filter_by(target_type=target_type, target_id=target_id)
        .order_by(AuditEvent.created_at.desc())
        .all()
    )
