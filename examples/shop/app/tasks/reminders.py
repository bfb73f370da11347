"""Payment reminders, run every 10 minutes by cron (`flask shell -c ...`) on two app servers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Notification, Order

log = logging.getLogger("shop.sms")


def send_payment_reminders(now: datetime | None = None) -> int:
    """Text every customer whose order has waited for payment for more than 30 minutes."""
    now = now or datetime.utcnow()
    pending = db.session.execute(
        select(Order)
        .where(Order.status == "pending", Order.created_at < now - timedelta(minutes=30))
        .order_by(Order.created_at)
    ).scalars()
    sent = 0
    for order in pending:
        # deliberate: 6 job can run twice (two servers, a retry): nothing in the database stops a second reminder
        already = Notification.query.filter_by(order_id=order.id, kind="payment_reminder").first()
        if already is None:
            _send_sms(order.user.phone, f"Order {order.order_no} is waiting for payment")
            db.session.add(Notification(user_id=order.user_id, order_id=order.id, kind="payment_reminder"))
            sent += 1
    db.session.commit()
    return sent


def _send_sms(phone: str | None, text: str) -> None:
    """Hand the message to the SMS gateway's outbox (a log stream the gateway tails)."""
    log.info("sms to=%s text=%s", phone, text)  # deliberate: 7 phone number written to the logs in clear
