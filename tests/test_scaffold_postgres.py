"""Every scaffolded change on a real PostgreSQL through Alembic's command API, with 10,000 rows
in the table and a writer that keeps inserting and updating while each revision runs.

For each change: apply the revisions one at a time, switching the writer from the old to the
new application where the docstrings say; after each step the queries of every application
version that the docstrings promise work do work and see the seeded rows unchanged; at the end
every constraint and index is valid; then downgrade step by step to the start and check again.
A sampler reads pg_locks throughout: no ACCESS EXCLUSIVE lock on the table may be held 1 s.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from schemalens.analyzers.scaffold import ChangeRequest, scaffold, write_files
from schemalens.analyzers.workspace.index import WorkspaceIndex

from conftest import FIXTURES

alembic_command = pytest.importorskip("alembic.command")
from alembic.config import Config  # noqa: E402

SEEDED = 10_000
BASE = "0a1b2c3d4e5f"
MAX_ACCESS_EXCLUSIVE_SECONDS = 1.0

SEED_SQL = f"""
INSERT INTO customers (email, region) SELECT 'c' || g || '@example.com', 'r' || (g % 7) FROM generate_series(1, {SEEDED}) g;
INSERT INTO orders (customer_id, referrer_id, status, qty, amount, legacy_code, note)
  SELECT 1 + (g % {SEEDED}), CASE WHEN g % 3 = 0 THEN NULL ELSE 1 + (g * 7 % {SEEDED}) END, 's' || (g % 5), 1 + g % 9,
         CASE WHEN g % 4 = 0 THEN NULL ELSE g END, 'L' || g, 'n' || g
  FROM generate_series(1, {SEEDED}) g;
INSERT INTO events (kind) SELECT 'k' || (g % 7) FROM generate_series(1, {SEEDED}) g;
INSERT INTO event_notes (event_id, note) SELECT g, 'n' || g FROM generate_series(1, {SEEDED}) g;
INSERT INTO order_lines (order_id, customer_id, sku)
  SELECT o.id, CASE WHEN o.id % 10 = 0 THEN 1 + (o.customer_id % {SEEDED}) ELSE o.customer_id END, 'sku' || o.id
  FROM orders o;
"""

_ORDER = "INSERT INTO orders (customer_id, status, qty, amount, legacy_code) VALUES (1 + %(k)s, 's1', 2, 5, 'w')"
_TOUCH_ORDER = "UPDATE orders SET qty = qty, status = status WHERE id = %(k)s"
# The serial key is taken by inserts that rely on its default, and referenced by event_notes.
_EVENT_APP = ("INSERT INTO events (kind) VALUES ('w')", "UPDATE events SET kind = kind WHERE id = %(k)s + 1",
              "INSERT INTO event_notes (event_id, note) VALUES (%(k)s + 1, 'w')")
_ORDERS_DIGEST = "SELECT md5(string_agg(concat_ws(':', id, customer_id, {columns}), ',' ORDER BY id)) FROM orders WHERE id <= {n}"


@dataclass
class Case:
    request: ChangeRequest
    table: str
    old_app: tuple[str, ...]  # statements the application before the change runs
    new_app: tuple[str, ...]
    new_from: int  # the new application is deployed before this phase (0-based; len(phases): after the last)
    old_through: int  # the old application works while at most this many phases are applied
    old_digest: str  # a digest of the seeded rows, as the old application can read it
    new_digest: str
    phases: int
    finished: tuple[str, ...] = ()  # queries that must return true once every phase ran

    @property
    def id(self) -> str:
        if self.request.change == "add-column" and self.phases == 1:
            return "add-column-default"
        return self.request.change + ("-primary-key" if self.table == "events" else "")


def _orders_digest(columns: str) -> str:
    return _ORDERS_DIGEST.format(columns=columns, n=SEEDED)


CASES = [
    Case(ChangeRequest("add-column", "orders", column="channel", type="text", default="'web'"), "orders",
         (_ORDER, _TOUCH_ORDER),
         ("INSERT INTO orders (customer_id, status, qty, legacy_code, channel) VALUES (1 + %(k)s, 's2', 3, 'w', 'app')",
          "UPDATE orders SET channel = channel WHERE id = %(k)s"),
         1, 1, _orders_digest("status, qty"), _orders_digest("status, qty"), 1,
         ("SELECT bool_and(channel = 'web') FROM orders WHERE id <= 10000",)),
    Case(ChangeRequest("add-column", "orders", column="source", type="text", backfill="'legacy'"), "orders",
         (_ORDER, _TOUCH_ORDER),
         ("INSERT INTO orders (customer_id, status, qty, legacy_code, source) VALUES (1 + %(k)s, 's2', 3, 'w', 'app')",
          "UPDATE orders SET source = source WHERE id = %(k)s"),
         1, 1, _orders_digest("status, qty"), _orders_digest("status, qty"), 3,
         ("SELECT count(*) = 0 FROM orders WHERE source IS NULL",
          "SELECT NOT attnotnull IS FALSE FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'source'")),
    # The new application (which writes amount) goes first, before the backfill; its updates of
    # other columns of rows still NULL must work in every step.
    Case(ChangeRequest("set-not-null", "orders", column="amount", backfill="0"), "orders",
         ("INSERT INTO orders (customer_id, status, qty, legacy_code) VALUES (1 + %(k)s, 's1', 2, 'w')",),
         (_ORDER, _TOUCH_ORDER),
         0, 0, _orders_digest("status, qty"), _orders_digest("status, qty"), 2,
         ("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'amount'",)),
    Case(ChangeRequest("rename-column", "orders", column="status", new_name="state"), "orders",
         (_ORDER, _TOUCH_ORDER),
         ("INSERT INTO orders (customer_id, state, qty, amount, legacy_code) VALUES (1 + %(k)s, 's3', 2, 5, 'w')",
          "INSERT INTO orders (customer_id, qty, amount, legacy_code) VALUES (1 + %(k)s, 2, 5, 'w')",
          "UPDATE orders SET state = state WHERE id = %(k)s"),
         2, 2, _orders_digest("status, qty"), _orders_digest("state, qty"), 3,
         ("SELECT count(*) = 1 FROM pg_indexes WHERE indexname = 'orders_state_idx' AND indexdef LIKE '%(state)'",
          "SELECT pg_get_expr(adbin, adrelid) LIKE '''s0''%' FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid "
          "AND a.attnum = d.adnum WHERE d.adrelid = 'orders'::regclass AND a.attname = 'state'")),
    Case(ChangeRequest("rename-table", "customers", new_name="clients"), "customers",
         ("INSERT INTO customers (email) VALUES ('w' || %(u)s)", "UPDATE customers SET email = email WHERE id = %(k)s",
          "SELECT count(*) FROM customers WHERE id = %(k)s"),
         ("INSERT INTO clients (email) VALUES ('w' || %(u)s)", "UPDATE clients SET email = email WHERE id = %(k)s"),
         1, 1, f"SELECT md5(string_agg(concat_ws(':', id, email, region), ',' ORDER BY id)) FROM customers WHERE id <= {SEEDED}",
         f"SELECT md5(string_agg(concat_ws(':', id, email, region), ',' ORDER BY id)) FROM clients WHERE id <= {SEEDED}", 2,
         ("SELECT to_regclass('customers') IS NULL",)),
    Case(ChangeRequest("change-type", "orders", column="qty", type="bigint"), "orders",
         (_ORDER, _TOUCH_ORDER), (_ORDER, _TOUCH_ORDER),
         0, 3, _orders_digest("status, qty"), _orders_digest("status, qty"), 3,
         ("SELECT format_type(atttypid, atttypmod) = 'bigint' AND attnotnull FROM pg_attribute "
          "WHERE attrelid = 'orders'::regclass AND attname = 'qty'",
          "SELECT count(*) = 1 FROM pg_indexes WHERE indexname = 'orders_qty_idx' AND indexdef LIKE '%(qty)'",
          # bigint values fit now; the row goes again so that the downgrade to integer can run
          "WITH i AS (INSERT INTO orders (customer_id, status, qty, legacy_code) VALUES (1, 's1', 3000000000, 'w') "
          "RETURNING qty) SELECT bool_and(qty = 3000000000) FROM i",
          "WITH d AS (DELETE FROM orders WHERE qty = 3000000000 RETURNING 1) SELECT count(*) = 1 FROM d")),
    Case(ChangeRequest("change-type", "events", column="id", type="bigint"), "events",
         _EVENT_APP, _EVENT_APP, 0, 3,
         f"SELECT md5(string_agg(concat_ws(':', id, kind), ',' ORDER BY id)) FROM events WHERE id <= {SEEDED}",
         f"SELECT md5(string_agg(concat_ws(':', id, kind), ',' ORDER BY id)) FROM events WHERE id <= {SEEDED}", 3,
         ("SELECT format_type(atttypid, atttypmod) = 'bigint' AND attnotnull FROM pg_attribute "
          "WHERE attrelid = 'events'::regclass AND attname = 'id'",
          "SELECT count(*) = 1 FROM pg_constraint WHERE conname = 'events_pkey' AND contype = 'p'",
          "SELECT convalidated FROM pg_constraint WHERE conname = 'event_notes_event_id_fkey'",
          "SELECT pg_get_serial_sequence('events', 'id') IS NOT NULL",
          "SELECT data_type = 'bigint' FROM information_schema.sequences WHERE sequence_name = 'events_id_seq'")),
    Case(ChangeRequest("add-foreign-key", "orders", column="referrer_id", ref="customers.id", on_delete="set null"), "orders",
         (_ORDER,), (_ORDER, "UPDATE orders SET referrer_id = 1 + %(k)s WHERE id = %(k)s + 1"),
         0, 0, _orders_digest("status, qty"), _orders_digest("status, qty"), 2,
         ("SELECT convalidated FROM pg_constraint WHERE conname = 'orders_referrer_id_fkey'",)),
    Case(ChangeRequest("add-unique", "customers", column="email"), "customers",
         ("INSERT INTO customers (email) VALUES ('w' || %(u)s)",), ("INSERT INTO customers (email) VALUES ('w' || %(u)s)",),
         0, 2, f"SELECT md5(string_agg(concat_ws(':', id, email), ',' ORDER BY id)) FROM customers WHERE id <= {SEEDED}",
         f"SELECT md5(string_agg(concat_ws(':', id, email), ',' ORDER BY id)) FROM customers WHERE id <= {SEEDED}", 2,
         ("SELECT contype = 'u' FROM pg_constraint WHERE conname = 'customers_email_key'",)),
    Case(ChangeRequest("add-check", "orders", column="qty", check="qty > 0"), "orders",
         (_ORDER, _TOUCH_ORDER), (_ORDER, _TOUCH_ORDER),
         0, 2, _orders_digest("status, qty"), _orders_digest("status, qty"), 2,
         ("SELECT convalidated FROM pg_constraint WHERE conname = 'orders_qty_check'",)),
    Case(ChangeRequest("add-index", "orders", columns=("customer_id", "status")), "orders",
         (_ORDER, _TOUCH_ORDER), (_ORDER, _TOUCH_ORDER),
         0, 1, _orders_digest("status, qty"), _orders_digest("status, qty"), 1,
         ("SELECT count(*) = 1 FROM pg_indexes WHERE indexname = 'orders_customer_id_status_idx'",)),
    Case(ChangeRequest("drop-column", "orders", column="legacy_code", default="'gone'"), "orders",
         (_ORDER, _TOUCH_ORDER),
         ("INSERT INTO orders (customer_id, status, qty, amount) VALUES (1 + %(k)s, 's1', 2, 5)", _TOUCH_ORDER),
         1, 1, _orders_digest("status, qty"), _orders_digest("status, qty"), 2,
         ("SELECT count(*) = 0 FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'legacy_code' AND NOT attisdropped",)),
    Case(ChangeRequest("add-composite-fk", "order_lines", columns=("order_id", "customer_id"), ref="orders.id,customer_id"),
         "order_lines",
         ("INSERT INTO order_lines (order_id, customer_id, sku) SELECT id, customer_id, 'w' FROM orders WHERE id = 1 + %(k)s",),
         ("INSERT INTO order_lines (order_id, customer_id, sku) SELECT id, customer_id, 'w' FROM orders WHERE id = 1 + %(k)s",),
         0, 3, f"SELECT md5(string_agg(concat_ws(':', id, order_id, sku), ',' ORDER BY id)) FROM order_lines WHERE id <= {SEEDED}",
         f"SELECT md5(string_agg(concat_ws(':', id, order_id, sku), ',' ORDER BY id)) FROM order_lines WHERE id <= {SEEDED}", 3,
         ("SELECT convalidated FROM pg_constraint WHERE conname = 'order_lines_order_id_customer_id_fkey'",
          "SELECT count(*) = 0 FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.customer_id <> l.customer_id")),
]


class Writer(threading.Thread):
    """The running application: one statement after another, each in its own transaction."""

    def __init__(self, dsn: str, statements: tuple[str, ...]) -> None:
        super().__init__(daemon=True)
        self.dsn, self.statements = dsn, statements
        self.stop_event = threading.Event()
        self.errors: list[str] = []
        self.writes = 0
        self._lock = threading.Lock()

    def deploy(self, statements: tuple[str, ...]) -> None:
        with self._lock:
            self.statements = statements

    def run(self) -> None:
        rng = random.Random(7)
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute("SET statement_timeout = '10s'")
            while not self.stop_event.is_set():
                with self._lock:
                    statement = rng.choice(self.statements)
                parameters = {"k": rng.randrange(SEEDED), "u": uuid.uuid4().hex}
                try:
                    connection.execute(statement, {k: v for k, v in parameters.items() if f"%({k})s" in statement})
                    self.writes += 1
                except psycopg.Error as error:
                    self.errors.append(f"{statement}: {error}")
                time.sleep(0.002)


class LockSampler(threading.Thread):
    """Samples pg_locks: how long each transaction held ACCESS EXCLUSIVE on the table."""

    def __init__(self, dsn: str, table_oid: int) -> None:
        super().__init__(daemon=True)
        self.dsn, self.table_oid = dsn, table_oid
        self.stop_event = threading.Event()
        self.held: dict[tuple, list[float]] = {}  # (pid, transaction start) -> [first seen, last seen]

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while not self.stop_event.is_set():
                rows = connection.execute(
                    "SELECT l.pid, a.xact_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'relation' AND l.relation = %s AND l.mode = 'AccessExclusiveLock' AND l.granted",
                    (self.table_oid,)).fetchall()
                now = time.monotonic()
                for pid, started in rows:
                    self.held.setdefault((pid, started), [now, now])[1] = now
                time.sleep(0.005)

    @property
    def longest(self) -> float:
        return max((last - first for first, last in self.held.values()), default=0.0)


@dataclass
class Project:
    root: Path
    dsn: str
    config: Config
    log: list[str] = field(default_factory=list)

    def query(self, sql: str):
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            return connection.execute(sql).fetchone()[0]


@pytest.fixture
def project(postgres, tmp_path) -> Project:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "scaffold_project", root)
    dsn = postgres.fresh_database("scaffold")
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", postgres.url(dsn).replace("%", "%%"))
    alembic_command.upgrade(config, BASE)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(SEED_SQL)
        connection.execute("ANALYZE")
    return Project(root, dsn, config)


def _all_valid(project: Project) -> None:
    invalid = project.query("SELECT string_agg(conname, ', ') FROM pg_constraint WHERE NOT convalidated")
    assert invalid is None, f"constraints left NOT VALID: {invalid}"
    assert project.query("SELECT string_agg(indexrelid::regclass::text, ', ') FROM pg_index WHERE NOT indisvalid") is None


def _state(project: Project, case: Case, app_versions: list[str], expected_digest: str) -> None:
    for version in app_versions:
        digest = project.query(case.old_digest if version == "old" else case.new_digest)
        assert digest == expected_digest, f"{version} application sees changed seeded rows"
        with psycopg.connect(project.dsn, autocommit=True) as connection:
            for statement in case.old_app if version == "old" else case.new_app:
                connection.execute(statement, {"k": 5, "u": uuid.uuid4().hex})


def _app_versions(case: Case, applied: int) -> list[str]:
    """The application versions that must work with `applied` phases in the database."""
    return (["old"] if applied <= case.old_through else []) + (["new"] if applied >= case.new_from else [])


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_scaffolded_change_keeps_rows_and_locks_short(project: Project, case: Case):
    model = WorkspaceIndex(project.root).index_all()
    files, _ = scaffold(model, case.request)
    assert len(files) == case.phases
    write_files(project.root, files, "migrations/versions")
    seeded_digest = project.query(case.old_digest)
    table_oid = project.query(f"SELECT '{case.table}'::regclass::oid")
    writer = Writer(project.dsn, case.new_app if case.new_from == 0 else case.old_app)
    sampler = LockSampler(project.dsn, table_oid)
    writer.start()
    sampler.start()
    try:
        for position, revision_file in enumerate(files):
            if position == case.new_from:
                writer.deploy(case.new_app)
            alembic_command.upgrade(project.config, revision_file.revision)
            _state(project, case, _app_versions(case, position + 1), seeded_digest)
        if case.new_from == len(files):
            writer.deploy(case.new_app)
        time.sleep(0.2)
        _all_valid(project)
        for check in case.finished:
            assert project.query(check) is True, check
        for position in reversed(range(len(files))):
            if position < case.new_from:  # the application goes back before the schema it needs does
                writer.deploy(case.old_app)
            alembic_command.downgrade(project.config, files[position - 1].revision if position else BASE)
            _state(project, case, _app_versions(case, position), seeded_digest)
        assert project.query("SELECT version_num FROM alembic_version") == BASE
        _all_valid(project)
    finally:
        writer.stop_event.set()
        sampler.stop_event.set()
        writer.join()
        sampler.join()
    assert not writer.errors, writer.errors[:5]
    assert writer.writes > 50
    print(f"{case.id}: {writer.writes} writes, ACCESS EXCLUSIVE held {len(sampler.held)} times, longest {sampler.longest * 1000:.0f} ms")
    assert sampler.longest < MAX_ACCESS_EXCLUSIVE_SECONDS, f"ACCESS EXCLUSIVE held {sampler.longest:.2f} s"


def test_the_lock_sampler_sees_a_long_access_exclusive_lock(project: Project):
    """The 1 s bound above means something: a lock held that long is seen."""
    sampler = LockSampler(project.dsn, project.query("SELECT 'orders'::regclass::oid"))
    sampler.start()
    with psycopg.connect(project.dsn) as connection:
        connection.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
        time.sleep(1.2)
    sampler.stop_event.set()
    sampler.join()
    assert sampler.longest >= MAX_ACCESS_EXCLUSIVE_SECONDS
