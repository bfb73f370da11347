"""The lock knowledge base, measured: every entry's example runs on a real PostgreSQL; the locks
its backend holds (pg_locks) and whether each table got a new relfilenode must match the entry.

Statements that PostgreSQL refuses inside a transaction run on their own connection while a
second one holds ROW EXCLUSIVE on the tables, so that they wait; a third reads what they hold.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from schemalens.analyzers.pg.locks import EFFECTS, EXAMPLE_SCHEMA, REFERENCING, LockEffect, strength
from schemalens.analyzers.report.lock_table import locks_markdown

ROOT = Path(__file__).resolve().parents[1]

# Every table of the example schema: a lock on any of them must be one the entry names.
_TABLES = ("parent", "child", "linked", "events", "events_2026", "events_2027", "parent_totals", "stock")


@pytest.fixture(scope="module")
def example_dsn(postgres) -> str:
    dsn = postgres.fresh_database("locks")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(EXAMPLE_SCHEMA)
    return dsn


def _oids_and_filenodes(connection) -> dict[str, tuple[int, int]]:
    rows = connection.execute("SELECT relname, oid::int8, relfilenode::int8 FROM pg_class WHERE relname = ANY(%s)",
                              [list(_TABLES)]).fetchall()
    return {name: (oid, filenode) for name, oid, filenode in rows}


def _strongest(rows, oids: dict[str, tuple[int, int]]) -> dict[str, str]:
    """Table name -> the strongest mode held (or waited for) on it."""
    by_oid = {oid: name for name, (oid, _) in oids.items()}
    held: dict[str, str] = {}
    for relation, mode in rows:
        name = by_oid.get(relation)
        if name is not None and (name not in held or strength(mode) > strength(held[name])):
            held[name] = mode
    return held


def _run_in_transaction(dsn: str, effect: LockEffect):
    with psycopg.connect(dsn) as connection:
        before = _oids_and_filenodes(connection)
        connection.execute(effect.example)
        rows = connection.execute("SELECT relation::int8, mode FROM pg_locks WHERE pid = pg_backend_pid() "
                                  "AND locktype = 'relation'").fetchall()
        after = _oids_and_filenodes(connection)
        connection.rollback()
    return before, rows, after


# The blocker of a statement that takes its table locks in a first transaction and then waits for
# other transactions without them (DETACH ... CONCURRENTLY): a lock that conflicts with its own, so
# that it waits while taking them.
_BLOCKERS = {"detach-partition-concurrently": ("SHARE UPDATE EXCLUSIVE", ("events_2026",))}


def _run_outside_a_transaction(dsn: str, effect: LockEffect):
    mode, names = _BLOCKERS.get(effect.key, ("ROW EXCLUSIVE", [table for _, table in effect.tables]))
    with psycopg.connect(dsn) as blocker, psycopg.connect(dsn, autocommit=True) as runner, \
            psycopg.connect(dsn, autocommit=True) as observer:
        before = _oids_and_filenodes(observer)
        for name in names:
            blocker.execute(f"LOCK TABLE {name} IN {mode} MODE")
        runner_pid = runner.execute("SELECT pg_backend_pid()").fetchone()[0]
        failure: list[BaseException] = []

        def run():
            try:
                runner.execute(effect.example)
            except BaseException as error:  # reported by the test below
                failure.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        deadline, rows = time.monotonic() + 20, []
        while time.monotonic() < deadline:
            locks = observer.execute("SELECT locktype, relation::int8, mode, granted FROM pg_locks WHERE pid = %s",
                                     [runner_pid]).fetchall()
            if any(not granted for *_, granted in locks):
                rows = [(relation, mode) for locktype, relation, mode, _ in locks if locktype == "relation"]
                break
            time.sleep(0.02)
        blocker.rollback()
        thread.join(timeout=60)
        assert not failure, failure
        assert rows, f"{effect.key} never waited behind the blocking transaction"
        after = _oids_and_filenodes(observer)
    return before, rows, after


@pytest.mark.parametrize("key", sorted(EFFECTS))
def test_the_knowledge_base_matches_postgresql(example_dsn, postgres, key):
    effect = EFFECTS[key]
    # Statements that change the schema for good get a database of their own.
    dsn = example_dsn
    if not effect.transactional:
        dsn = postgres.fresh_database("locks")
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(EXAMPLE_SCHEMA)
    run = _run_in_transaction if effect.transactional else _run_outside_a_transaction
    before, rows, after = run(dsn, effect)

    expected = {table: dict(effect.locks)[role] for role, table in effect.tables if role in dict(effect.locks)}
    assert _strongest(rows, before) == expected

    # The statement's own table is rewritten, and so are the tables a TRUNCATE ... CASCADE empties.
    main_tables = [table for role, table in effect.tables if role in (effect.tables[0][0], REFERENCING)] if effect.tables else []
    for table in _TABLES:
        if table not in after:
            continue  # dropped or renamed by the statement
        rewritten = after[table][1] != before[table][1]
        assert rewritten == (effect.rewrites and table in main_tables), f"{table}: rewritten={rewritten}"


def test_transactional_flag_matches_postgresql(example_dsn):
    """An entry marked non-transactional is one PostgreSQL refuses inside a transaction block."""
    for effect in EFFECTS.values():
        if effect.transactional:
            continue
        with psycopg.connect(example_dsn) as connection:
            with pytest.raises(psycopg.errors.ActiveSqlTransaction):
                connection.execute(effect.example)


def test_docs_locks_file_is_in_sync_with_the_knowledge_base():
    assert (ROOT / "docs" / "locks.md").read_text(encoding="utf-8") == locks_markdown(), \
        "regenerate with: schemalens locks > docs/locks.md"


@pytest.mark.parametrize("statement, scans", [
    # SL507's exception: every value of the new column is NULL, and PostgreSQL checks no row
    ("ALTER TABLE orders ADD COLUMN buyer_id bigint REFERENCES customers (id)", False),
    ("ALTER TABLE orders ADD COLUMN buyer_id bigint DEFAULT 1 REFERENCES customers (id)", True),
    ("ALTER TABLE orders ADD COLUMN buyer_id bigint; "
     "ALTER TABLE orders ADD CONSTRAINT orders_buyer_fkey FOREIGN KEY (buyer_id) REFERENCES customers (id)", True),
    ("ALTER TABLE orders ADD COLUMN discount int CHECK (discount >= 0)", True),
])
def test_which_constraints_added_with_a_column_scan_the_table(postgres, statement, scans):
    dsn = postgres.fresh_database("scans")
    with psycopg.connect(dsn, autocommit=True) as connection:
        if connection.info.server_version < 150000:
            pytest.skip("pg_stat_force_next_flush() is PostgreSQL 15's")
        connection.execute("CREATE TABLE customers (id bigint PRIMARY KEY); INSERT INTO customers VALUES (1);"
                           "CREATE TABLE orders (id bigint PRIMARY KEY);"
                           "INSERT INTO orders SELECT generate_series(1, 1000)")

        def sequential_scans() -> int:
            connection.execute("SELECT pg_stat_force_next_flush()")
            connection.execute("SELECT pg_stat_clear_snapshot()")
            return connection.execute("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'orders'").fetchone()[0]

        before = sequential_scans()
        connection.execute(statement)
        assert (sequential_scans() > before) == scans
