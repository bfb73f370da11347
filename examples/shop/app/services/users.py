"""Registration and profile changes."""

from __future__ import annotations

from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import User


def register(data: dict) -> User:
    """Create a user from the signup form (web) or the old mobile app's payload."""
    user = User(
        email=data["email"].strip().lower(),
        password_hash=generate_password_hash(data["password"]),
        display_name=data.get("display_name", ""),
        phone=data.get("mobile") or data.get("phone"),  # deliberate: 8 data.get("new") or data.get("old") fallback
        id_card_no=data.get("id_card_no"),
        legacy_username=data.get("username"),
    )
    db.session.add(user)
    db.session.commit()
    return user


def find_for_login(login: str) -> User | None:
    """The old mobile app signs in with a username, everything else with an email."""
    return User.query.filter((User.email == login.lower()) | (User.legacy_username == login)).first()
