"""SL516 names the lock that holds up the table a backfill changes (rules/migrations/backfill_in_ddl_transaction.py)."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules import rule_by_code
from schemalens.analyzers.rules.migrations.safety import sql_example
from schemalens.analyzers.workspace.index import WorkspaceIndex


def test_a_backfill_of_a_table_its_transaction_locked_names_that_tables_lock(tmp_path: Path):
    """indico: a RENAME of another table came first; the UPDATE waits on nothing of it, it holds
    its own table's ADD COLUMN lock."""
    files = sql_example("BEGIN;\nALTER TABLE customers RENAME TO clients;\nALTER TABLE orders ADD COLUMN channel text;\n"
                        "UPDATE orders SET channel = 'web';\nCOMMIT;\n")
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    [finding] = [f for f in run_audit(WorkspaceIndex(tmp_path).index_all(), rules=[rule_by_code("SL516")]).findings
                 if f.rule == "SL516"]
    assert finding.title.startswith("UPDATE on orders runs while orders is locked by ADD COLUMN")
