"""Alembic environment of the shop service.

Under Flask-Migrate (`flask db upgrade`) it uses the app's engine and metadata. Without the app
(a migration rehearsal in CI, a DBA's shell) it never imports the app: the database URL comes
from `alembic -x url=...`, else the DATABASE_URL environment variable.
"""

import logging
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
logger = logging.getLogger("alembic.env")


def flask_database():
    """The running Flask app's Flask-SQLAlchemy object, or None outside `flask db ...`."""
    try:
        from flask import current_app

        return current_app.extensions["migrate"].db
    except (ImportError, RuntimeError, KeyError):
        # ImportError: no Flask; RuntimeError: no app context; KeyError: Migrate not set up.
        return None


def database_url():
    """The URL to migrate when there is no Flask app."""
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("DATABASE_URL")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: run under `flask db`, or pass `-x url=...`, or set DATABASE_URL")
    return url


flask_db = flask_database()
# Autogenerate needs the models; upgrades and downgrades do not.
target_metadata = flask_db.metadata if flask_db is not None else None


def run_migrations_offline():
    """Emit SQL to stdout instead of running it (`--sql`)."""
    url = flask_db.engine.url.render_as_string(hide_password=False) if flask_db is not None else database_url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        # An autogenerate run that finds no change should not write an empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    if flask_db is not None:
        connectable = flask_db.engine
        configure_args = current_app_configure_args()
    else:
        connectable = create_engine(database_url(), poolclass=pool.NullPool)
        configure_args = {}
    configure_args.setdefault("process_revision_directives", process_revision_directives)

    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **configure_args)
        with context.begin_transaction():
            context.run_migrations()


def current_app_configure_args():
    """Extra `context.configure` arguments the app passed to `Migrate(...)`."""
    from flask import current_app

    return dict(current_app.extensions["migrate"].configure_args)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
