"""The shop service: catalogue, checkout, payments and fulfilment behind a JSON API."""

from __future__ import annotations

import os

from flask import Flask

from .extensions import db


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask app; `config` overrides the settings read from the environment."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "postgresql+psycopg://shop@localhost/shop")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    app.config.update(config or {})

    db.init_app(app)

    # Imported here so that `import app.models` (tests, scripts) does not need Flask-Migrate.
    from flask_migrate import Migrate

    Migrate(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))

    from .routes import orders, products, users

    app.register_blueprint(users.bp, url_prefix="/api/users")
    app.register_blueprint(products.bp, url_prefix="/api/products")
    app.register_blueprint(orders.bp, url_prefix="/api/orders")
    return app
