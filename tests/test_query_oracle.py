"""Oracle for the index-coverage rules: PostgreSQL's planner, on tables filled with rows and
ANALYZEd, reads a whole table (Seq Scan) exactly where SL405/SL407 report a missing index, and
stops once the index the finding suggests exists.

The fixture's queries are static input to SchemaLens; the test itself imports them (test code,
not the analyzer) to get the SQL SQLAlchemy sends, and EXPLAINs it.
"""

from __future__ import annotations

import ast
import datetime
import importlib
import json
import re
import sys

import psycopg
import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules import rule_by_code
from schemalens.analyzers.rules.base import occurrences
from schemalens.analyzers.workspace.index import WorkspaceIndex

from conftest import FIXTURES

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy.dialects import postgresql  # noqa: E402

ROOT = FIXTURES / "query_oracle"
QUERIES = ROOT / "oracle_app" / "queries.py"
PLACED = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
CUSTOMERS, ORDERS = 20_000, 100_000

# function -> (arguments, the table whose access is in question)
CALLS = {
    "order_by_id": ((4242,), "orders"),
    "orders_of_customer": ((42,), "orders"),
    "recent_orders_of": ((42, PLACED + datetime.timedelta(seconds=ORDERS - 60)), "orders"),
    "order_by_reference": (("R4242",), "orders"),
    "orders_placed_at": ((PLACED + datetime.timedelta(seconds=4242),), "orders"),
    "customer_by_email": (("c4242@example.com",), "customers"),
    "orders_of_email": (("c4242@example.com",), "customers"),
    "reference_sql": (("R4242",), "orders"),
    "customers_named": (("me 424",), "customers"),
    "order_by_id_or_customer": ((4242, 42), "orders"),  # both branches indexed: a BitmapOr
    "order_by_customer_or_reference": ((42, "R4242"), "orders"),  # one branch unindexed: a Seq Scan
    "customer_by_email_of_class": (("c4242@example.com",), "customers"),  # a class method's statement, refined
    "order_by_reference_of_module": (("R4242",), "orders"),  # another module's statement, refined
}


def _functions() -> dict[str, tuple[int, int]]:
    tree = ast.parse(QUERIES.read_text())
    return {node.name: (node.lineno, node.end_lineno) for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.fixture(scope="module")
def database(postgres):
    sys.path.insert(0, str(ROOT))
    try:
        models = importlib.import_module("oracle_app.models")
        queries = importlib.import_module("oracle_app.queries")
    finally:
        sys.path.remove(str(ROOT))
    dsn = postgres.fresh_database("query_oracle")
    engine = sqlalchemy.create_engine(postgres.url(dsn))
    models.Base.metadata.create_all(engine)
    engine.dispose()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'name ' || g "
                           f"FROM generate_series(1, {CUSTOMERS}) g")
        connection.execute(f"INSERT INTO orders SELECT g, 1 + mod(g, {CUSTOMERS}), 'R' || g, "
                           f"%s + g * interval '1 second' FROM generate_series(1, {ORDERS}) g", (PLACED,))
        connection.execute("ANALYZE")
        trigram = connection.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone()[0]
    return dsn, queries, bool(trigram)


def _scans(dsn: str, statement) -> dict[str, set[str]]:
    """table -> the scan node types PostgreSQL plans on it."""
    compiled = statement.compile(dialect=postgresql.psycopg.dialect())
    sql = re.sub(r"%\((\w+)\)s", r"%(\1)s", str(compiled))
    with psycopg.connect(dsn, autocommit=True) as connection:
        plan = connection.execute("EXPLAIN (FORMAT JSON) " + sql, compiled.params).fetchone()[0]
    found: dict[str, set[str]] = {}
    nodes = [plan[0]["Plan"]] if isinstance(plan, list) else [json.loads(plan)[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if "Relation Name" in node:
            found.setdefault(node["Relation Name"], set()).add(node["Node Type"])
        nodes += node.get("Plans", [])
    return found


def _suggested_index(finding) -> str:
    """The CREATE INDEX of a finding's fix, run directly (CONCURRENTLY needs no transaction here)."""
    match = re.search(r"(CREATE EXTENSION IF NOT EXISTS pg_trgm; )?CREATE INDEX CONCURRENTLY (\w+) ON (\w+) ((?:USING \w+ )?\([^)]*\))",
                      finding.fix.short_term)
    assert match, finding.fix.short_term
    return f"CREATE INDEX {match.group(2)} ON {match.group(3)} {match.group(4)}"


def test_findings_match_the_planner(database):
    dsn, queries, trigram = database
    model = WorkspaceIndex(ROOT).index_all()
    rules = [rule_by_code("SL405"), rule_by_code("SL407")]
    # each place a finding stands for (queries lacking the same index are one finding)
    findings = [o for f in run_audit(model, rules=rules).findings for o in occurrences(f)
                if o.location.path == "oracle_app/queries.py"]
    functions = _functions()
    reported = {name: [f for f in findings if start <= f.location.line <= end] for name, (start, end) in functions.items()}
    assert set(CALLS) == set(functions)
    for name, (arguments, table) in CALLS.items():
        if name == "customers_named" and not trigram:
            continue
        statement = getattr(queries, name)(*arguments)
        scans = _scans(dsn, statement)
        sequential = "Seq Scan" in scans.get(table, set())
        assert bool(reported[name]) == sequential, f"{name}: findings {[f.title for f in reported[name]]}, plan {scans}"
        for finding in reported[name]:
            assert finding.table == table
            ddl = _suggested_index(finding)
            with psycopg.connect(dsn, autocommit=True) as connection:
                if "gin_trgm_ops" in ddl:
                    connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                connection.execute(ddl)
                connection.execute(f"ANALYZE {table}")
                try:
                    after = _scans(dsn, statement)
                    assert "Seq Scan" not in after.get(table, set()), f"{name}: still {after} after {ddl}"
                finally:
                    connection.execute(f"DROP INDEX {ddl.split()[2]}")
    assert {name for name, found in reported.items() if found} >= {
        "order_by_reference", "orders_placed_at", "customer_by_email", "orders_of_email", "reference_sql",
        "order_by_customer_or_reference", "customer_by_email_of_class", "order_by_reference_of_module"}
