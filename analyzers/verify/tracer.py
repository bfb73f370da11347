"""What each statement of a rehearsal did on PostgreSQL: its duration, the locks it took, the
tables it rewrote, and its error. Statements are seen through SQLAlchemy's engine events, so
the project's own env.py and revision code are traced without being changed.

Locks come from two places: after a statement that runs in a transaction, pg_locks of the
migrating backend shows what the transaction holds (a lock is kept until commit, so the new
ones are this statement's); statements outside a transaction (CREATE INDEX CONCURRENTLY)
release their locks before that, so a second connection samples pg_locks while they run.
A rewrite shows as a new relfilenode of the table.

Only the standard library and SQLAlchemy are used here (no driver-specific module): the runner
loads this file in the project's own interpreter, whatever its SQLAlchemy and driver are.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

# Strongest first: what each lock mode blocks grows down this list.
LOCK_STRENGTH = ("AccessExclusiveLock", "ExclusiveLock", "ShareRowExclusiveLock", "ShareLock",
                 "ShareUpdateExclusiveLock", "RowExclusiveLock", "RowShareLock", "AccessShareLock")

_RELATION_LOCKS = """
    SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.pid = {pid} AND l.locktype = 'relation' AND l.granted
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relkind IN ('r', 'p', 'm')
"""
_FILENODES = """
    SELECT c.relname, c.relfilenode FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
"""
_VERSION_TABLE = re.compile(r"\balembic_version\b", re.IGNORECASE)


def strongest(modes) -> Optional[str]:
    ranked = [mode for mode in LOCK_STRENGTH if mode in set(modes)]
    return ranked[0] if ranked else None


@dataclass
class TracedStatement:
    sql: str
    phase: str  # "upgrade", "downgrade", "upgrade again"
    revision: Optional[str] = None  # filled in when the revision's version row is written
    duration_ms: float = 0.0
    locks: dict[str, set[str]] = field(default_factory=dict)  # table -> lock modes
    rewritten: tuple[str, ...] = ()
    created: tuple[str, ...] = ()  # tables that did not exist before the statement
    in_transaction: bool = True
    error: Optional[str] = None
    traced: bool = True  # False when its locks and rewrites could not be read (timed only)

    def strongest_locks(self) -> dict[str, str]:
        return {table: strongest(modes) for table, modes in self.locks.items()}


class StatementTracer:
    """Records every statement SQLAlchemy sends to the rehearsal database; refuses any other."""

    def __init__(self, database: str, sample_connect: Callable[[], object],
                 on_revision: Callable[[str, str, list], None]) -> None:
        self.database = database
        self.sample_connect = sample_connect  # a new DBAPI connection in autocommit, for the lock sampler
        self.on_revision = on_revision  # (phase, revision, statements) when a revision is done
        self.phase = "upgrade"
        # Revisions end when Alembic writes their version row, unless the caller marks their ends itself.
        self.by_version_row = True
        self.statements: list[TracedStatement] = []
        self.pending: list[TracedStatement] = []  # statements of the revision now running
        self._current: Optional[TracedStatement] = None
        self._held: dict[int, set[tuple[str, str]]] = {}  # backend pid -> locks already held in its transaction
        self._started = 0.0
        self._filenodes: dict[str, int] = {}
        self._sampler: Optional[_LockSampler] = None

    # SQLAlchemy events

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        event.listen(Engine, "handle_error", self._error)
        event.listen(Engine, "commit", self._transaction_end)
        event.listen(Engine, "rollback", self._transaction_end)

    def remove(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        for name, handler in (("before_cursor_execute", self._before), ("after_cursor_execute", self._after),
                              ("handle_error", self._error), ("commit", self._transaction_end),
                              ("rollback", self._transaction_end)):
            if event.contains(Engine, name, handler):
                event.remove(Engine, name, handler)
        if self._sampler is not None:
            self._sampler.stop()

    def _before(self, connection, cursor, statement, parameters, context, executemany) -> None:
        url = connection.engine.url
        if url.get_backend_name() != "postgresql" or url.database != self.database:
            # env.py found another database (an environment variable, the app's config): never touch it.
            shown = url.render_as_string(hide_password=True) if hasattr(url, "render_as_string") else repr(url)
            raise RuntimeError(f"refusing to run migrations against {shown}: the rehearsal database is {self.database}")
        if self.by_version_row and _VERSION_TABLE.search(statement):
            self._version_row(statement, parameters)
            return
        traced = TracedStatement(" ".join(statement.split())[:500], self.phase,
                                 in_transaction=not _autocommit(connection))
        self._current = traced
        try:
            raw = cursor.connection
            pid = self._pid(raw)
            self._ensure_sampler()
            self._filenodes = self._query(raw, _FILENODES)
        except Exception:  # noqa: BLE001 - a driver without a plain DBAPI cursor (asyncpg's adapter): time only
            traced.traced = False
        else:
            if not traced.in_transaction:
                self._sampler.watch(pid, traced)  # its locks are gone by the time it returns
        self._started = time.perf_counter()

    def _after(self, connection, cursor, statement, parameters, context, executemany) -> None:
        traced, self._current = self._current, None
        if traced is None:
            return
        traced.duration_ms = (time.perf_counter() - self._started) * 1000
        self.pending.append(traced)
        if not traced.traced:
            return
        self._sampler.watch(None, None)
        raw = cursor.connection
        if traced.in_transaction:
            held = {(table, mode) for table, mode in self._query(raw, _RELATION_LOCKS.format(pid=self._pid(raw)), pairs=True)}
            before = self._held.setdefault(self._pid(raw), set())
            for table, mode in held - before:
                traced.locks.setdefault(table, set()).add(mode)
            before |= held
        after = self._query(raw, _FILENODES)
        traced.rewritten = tuple(sorted(t for t, node in after.items() if t in self._filenodes and self._filenodes[t] != node))
        traced.created = tuple(sorted(set(after) - set(self._filenodes)))

    def _error(self, context) -> None:
        traced, self._current = self._current, None
        if traced is not None:
            traced.duration_ms = (time.perf_counter() - self._started) * 1000
            original = context.original_exception
            diagnostic = getattr(original, "diag", None)  # psycopg: PostgreSQL's own message
            traced.error = (diagnostic.message_primary if diagnostic is not None and diagnostic.message_primary
                            else str(original)).strip()
            if self._sampler is not None:
                self._sampler.watch(None, None)
            self.pending.append(traced)

    def _transaction_end(self, connection) -> None:
        self._held.clear()

    # revisions

    def _version_row(self, statement: str, parameters) -> None:
        """Alembic writes the version row right after a revision's statements: upgrades name the
        revision applied (SET/VALUES), downgrades the one removed (WHERE)."""
        # Alembic writes the ids as literals; bound parameters are read in case another version binds them.
        values = re.findall(r"'([^']*)'", statement) or (
            list(parameters.values()) if isinstance(parameters, dict) else list(parameters or ()))
        verb = statement.lstrip().split(None, 1)[0].upper()
        # A merge writes several version rows: the first names the revision, the others its
        # parents (deleted on upgrade, inserted again on downgrade).
        skipped = "INSERT" if self.phase == "downgrade" else "DELETE"
        if verb not in ("INSERT", "UPDATE", "DELETE") or verb == skipped or not values:
            return
        # UPDATE ... SET new WHERE old; INSERT ... VALUES (new); DELETE ... WHERE old
        self.finish_revision(str(values[-1] if self.phase == "downgrade" else values[0]))

    def finish_revision(self, revision: str) -> None:
        for traced in self.pending:
            traced.revision = revision
        statements, self.pending = self.pending, []
        self.statements += statements
        self.on_revision(self.phase, revision, statements)

    # helpers

    @staticmethod
    def _pid(raw) -> int:
        info = getattr(raw, "info", None)
        return info.backend_pid if info is not None else raw.get_backend_pid()  # psycopg 3, else psycopg2

    def _ensure_sampler(self) -> None:
        if self._sampler is None:
            self._sampler = _LockSampler(self.sample_connect)
            self._sampler.start()

    @staticmethod
    def _query(raw, sql: str, pairs: bool = False):
        cursor = raw.cursor()  # not a context manager on every driver
        try:
            cursor.execute(sql)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return rows if pairs else dict(rows)


def _autocommit(connection) -> bool:
    try:
        return connection.get_isolation_level() == "AUTOCOMMIT"
    except Exception:  # a connection in an unusual state: assume a transaction
        return False


class _LockSampler(threading.Thread):
    """Polls pg_locks of the migrating backend from its own connection while a statement runs."""

    def __init__(self, connect: Callable[[], object]) -> None:
        super().__init__(daemon=True, name="schemalens-lock-sampler")
        self.connect = connect
        self._target: tuple[Optional[int], Optional[TracedStatement]] = (None, None)
        self._stopping = threading.Event()

    def watch(self, pid: Optional[int], traced: Optional[TracedStatement]) -> None:
        self._target = (pid, traced)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=5)

    def run(self) -> None:
        connection = self.connect()
        try:
            cursor = connection.cursor()
            while not self._stopping.is_set():
                pid, traced = self._target
                if pid is not None and traced is not None:
                    cursor.execute(_RELATION_LOCKS.format(pid=int(pid)))
                    for table, mode in cursor.fetchall():
                        traced.locks.setdefault(table, set()).add(mode)
                time.sleep(0.002)
        finally:
            connection.close()
