"""Shared fixtures. Tests that need PostgreSQL get a real server started once per session."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from lsprotocol import types

from schemalens.analyzers.pg.embedded import EmbeddedPostgres, start_postgres

FIXTURES = Path(__file__).parent / "fixtures"
async def diagnostics_for(client, uri: str, predicate, timeout: float = 60) -> list:
    """`uri`'s diagnostics once the server has published them and `predicate` holds for them."""
    async def wait():
        while uri not in client.diagnostics or not predicate(client.diagnostics[uri]):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return client.diagnostics[uri]
    return await asyncio.wait_for(wait(), timeout)


def publications_of(client, uri: str) -> list:
    """Every publication of `uri`'s diagnostics from now on, in order (pytest-lsp's client keeps
    the last one only)."""
    published: list = []
    _on_each_publication(client, lambda params: published.append(params.diagnostics) if params.uri == uri else None)
    return published


def publication_order(client) -> list[str]:
    """The file of every publication of diagnostics from now on, in order."""
    order: list[str] = []
    _on_each_publication(client, lambda params: order.append(params.uri))
    return order


def _on_each_publication(client, record) -> None:
    """Have `record(params)` see every publishDiagnostics the client receives, after the client."""
    features = client.protocol.fm.features
    keep_diagnostics = features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def both(params: types.PublishDiagnosticsParams) -> None:
        keep_diagnostics(params)
        record(params)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = both


# A client that applies workspace edits creating files (the scaffold's code action writes revisions).
FILE_CREATING_CAPABILITIES = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
    workspace_edit=types.WorkspaceEditClientCapabilities(
        document_changes=True, resource_operations=[types.ResourceOperationKind.Create])))


@pytest.fixture
def unsafe_project(tmp_path: Path) -> Path:
    """The scaffold fixture project with a head revision that makes unsafe changes."""
    from test_scaffold import UNSAFE_HEAD

    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "scaffold_project", root)
    (root / "migrations/versions/20261129_1f2e3d4c5b6a_unsafe.py").write_text(UNSAFE_HEAD)
    return root


@dataclass
class PostgresForTests:
    server: EmbeddedPostgres
    _counter = itertools.count()

    @property
    def dsn(self) -> str:
        return self.server.dsn()

    def fresh_database(self, name: str = "t") -> str:
        """Create an empty database with a unique name and return its conninfo string."""
        import psycopg

        database = f"{name}_{next(self._counter)}"
        with psycopg.connect(self.server.dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        return self.server.dsn(database)

    def url(self, dsn: str) -> str:
        """A SQLAlchemy URL (psycopg 3 driver) for a conninfo string made by fresh_database."""
        database = dict(part.split("=", 1) for part in dsn.split())["dbname"]
        return self.server.url(database)


@pytest.fixture(autouse=True, scope="session")
def _private_parse_cache(tmp_path_factory):
    """The CLI's parse cache goes to a temp dir, not the user's ~/.cache."""
    os.environ["SCHEMALENS_CACHE_DIR"] = str(tmp_path_factory.mktemp("parse-cache"))


@pytest.fixture(scope="session")
def postgres():
    # SCHEMALENS_TEST_PG_BIN=/usr/lib/postgresql/15/bin runs the suite against another version.
    bin_dir = os.environ.get("SCHEMALENS_TEST_PG_BIN")
    server = start_postgres(Path(bin_dir) if bin_dir else None)
    try:
        yield PostgresForTests(server)
    finally:
        server.stop()


def pytest_sessionfinish(session, exitstatus):
    # An empty run means the suite was not found or everything was deselected: fail loudly
    # instead of reporting success (pytest's exit code 5).
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.config.get_terminal_writer().line("schemalens: no tests were collected; treating it as a failure", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
