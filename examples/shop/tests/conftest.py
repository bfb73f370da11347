"""Test fixtures. Production runs on PostgreSQL; the tests use an in-memory SQLite database."""

from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db


@pytest.fixture()
def app():
    # deliberate: 8 tests run on SQLite while production is PostgreSQL (JSON, ILIKE, partial indexes, time zones differ)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:", "TESTING": True})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()


@pytest.fixture()
def client(app):
    return app.test_client()
