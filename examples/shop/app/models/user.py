"""Customers and their delivery addresses."""

from __future__ import annotations

from ..extensions import db
from .mixins import TimestampMixin


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.BigInteger, primary_key=True)
    email = db.Column(db.String(255), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    display_name = db.Column(db.String(80), nullable=False, server_default="")  # deliberate: 2 default '' hides a missing name
    phone = db.Column(db.String(32))  # deliberate: 7 phone number stored in plain text
    id_card_no = db.Column(db.String(18))  # deliberate: 7 national id card number stored in plain text
    api_key = db.Column(db.String(64), unique=True)  # deliberate: 7 API secret stored in plain text, not hashed
    status = db.Column(db.String(20), nullable=False, default="active")
    # The old mobile app still signs in with a username; email is the login everywhere else.
    legacy_username = db.Column(db.String(80))  # deliberate: 8 legacy_* column kept for compatibility with no removal plan
    deleted_at = db.Column(db.DateTime)  # deliberate: 2 soft delete is deleted_at here but is_deleted on products

    addresses = db.relationship("Address", back_populates="user", cascade="all, delete-orphan")
    orders = db.relationship("Order", back_populates="user")

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class Address(TimestampMixin, db.Model):
    __tablename__ = "addresses"

    id = db.Column(db.BigInteger, primary_key=True)
    user_id = db.Column(db.BigInteger, db.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    recipient = db.Column(db.String(80), nullable=False)
    phone = db.Column(db.String(32), nullable=False)
    line1 = db.Column(db.String(200), nullable=False)
    line2 = db.Column(db.String(200))
    city = db.Column(db.String(80), nullable=False)
    postcode = db.Column(db.String(16))
    country = db.Column(db.String(2), nullable=False, default="CN")
    is_default = db.Column(db.Boolean, nullable=False, default=False)

    user = db.relationship("User", back_populates="addresses")
