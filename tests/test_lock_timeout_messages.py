"""SL515 says what queues behind the lock: every query when it blocks reads, only writes when
it is the SHARE ROW EXCLUSIVE a foreign key takes on the table it references. SL507 names the
constraint it locks for, an unnamed one as PostgreSQL will name it."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules import rule_by_code
from schemalens.analyzers.rules.migrations.safety import alembic_example, young_table_example
from schemalens.analyzers.workspace.index import WorkspaceIndex


def _message(tmp_path: Path, files: dict[str, str]) -> str:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    (finding,) = run_audit(WorkspaceIndex(tmp_path).index_all(), rules=[rule_by_code("SL515")]).findings
    return finding.message


def test_a_lock_on_the_table_queues_every_query(tmp_path):
    message = _message(tmp_path, alembic_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))",
                                                 lock_timeout=False))
    assert "every later query on orders queues" in message


def test_a_lock_on_a_referenced_table_queues_its_writes_only(tmp_path):
    # `orders` came with this change; its new foreign key locks `customers`, which is in use
    message = _message(tmp_path, young_table_example(
        "    op.add_column('orders', sa.Column('buyer_id', sa.BigInteger()))\n"
        "    op.create_foreign_key(None, 'orders', 'customers', ['buyer_id'], ['id'])",
        written="2024-03-05 15:00", lock_timeout=False))
    assert "every later write to customers queues behind it (reads go on)" in message


def test_an_index_the_migrations_did_not_create_is_said_by_its_name(tmp_path):
    # kinto: the index comes from a schema file the migrations do not hold; its table is unknown
    message = _message(tmp_path, {"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                                  "db/V2__drop.sql": "DROP INDEX idx_records_last_modified_epoch;\n"})
    assert "the table of index idx_records_last_modified_epoch" in message and "None" not in message


def test_an_unnamed_foreign_key_is_said_by_the_name_postgresql_gives_it(tmp_path):
    # lemur, skyvern: `op.create_foreign_key(None, ...)` without a naming convention (SL507)
    for path, text in alembic_example("    op.create_foreign_key(None, 'orders', 'customers', ['customer_id'], ['id'])",
                                      lock_timeout=False).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    (finding,) = run_audit(WorkspaceIndex(tmp_path).index_all(), rules=[rule_by_code("SL507")]).findings
    assert finding.title == "FOREIGN KEY orders_customer_id_fkey is added to orders without NOT VALID"
    assert "ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id)" in finding.fix.short_term
