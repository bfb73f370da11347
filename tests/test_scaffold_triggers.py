"""Row triggers of the table in a rename, drop or type change: a trigger function the migrations
create is read with its body; one that reads the renamed column only as NEW.column / OLD.column
is rewritten by the contract and restored by its downgrade; what cannot be rewritten is refused
with the trigger and the column named. On PostgreSQL: the rename keeps the trigger working through
upgrade, downgrade and upgrade again. (Triggers the migrations do not create, read from the
catalog with --dsn or stopped at run time: test_scaffold_corpus.py, on redash's real one.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from schemalens.analyzers.scaffold import ChangeRequest, ScaffoldError, scaffold, write_files
from schemalens.analyzers.scaffold.triggers import reads, renamed
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.commands import main

from conftest import FIXTURES

VERSIONS = "migrations/versions"

TRIGGER_REVISION = '''"""order search text

Revision ID: 5c6d7e8f9a0b
Revises: 0a1b2c3d4e5f
"""
from alembic import op
import sqlalchemy as sa

revision = "5c6d7e8f9a0b"
down_revision = "0a1b2c3d4e5f"


def upgrade():
    op.add_column("orders", sa.Column("search_text", sa.Text()))
    op.execute("""
CREATE FUNCTION orders_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_text := coalesce(NEW.status, '') || ' ' || coalesce(NEW.note, '');{extra}
    RETURN NEW;
END
$$""")
    op.execute("CREATE TRIGGER orders_search_text BEFORE INSERT OR UPDATE ON orders FOR EACH ROW "
               "EXECUTE FUNCTION orders_search_text()")


def downgrade():
    op.execute("DROP TRIGGER orders_search_text ON orders")
    op.execute("DROP FUNCTION orders_search_text()")
    op.drop_column("orders", "search_text")
'''


def _project(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "scaffold_project", root)
    (root / VERSIONS / "20260102_5c6d7e8f9a0b_order_search_text.py").write_text(TRIGGER_REVISION.replace("{extra}", extra))
    return root


def _model(root: Path):
    return WorkspaceIndex(root).index_all()


def test_the_migrations_give_a_trigger_function_its_body(tmp_path: Path):
    function = _model(_project(tmp_path)).database.functions["orders_search_text"]
    assert "NEW.search_text := coalesce(NEW.status, '')" in function.body and function.language == "plpgsql"


def test_only_row_fields_are_rewritten():
    body = "NEW.v := coalesce(NEW.status, '') || OLD . \"status\" || NEW.Status || NEW.statuses;"
    assert renamed(body, "status", "state") == "NEW.v := coalesce(NEW.state, '') || OLD . state || NEW.state || NEW.statuses;"
    assert renamed(body + " -- status", "status", "state") is None
    assert not reads("NEW.order_status", "status") and reads("SELECT status FROM orders", "status")


def test_a_rename_rewrites_the_trigger_function_in_the_contract_and_restores_it_in_the_downgrade(tmp_path: Path):
    files, _ = scaffold(_model(_project(tmp_path)), ChangeRequest("rename-column", "orders", column="status", new_name="state"))
    expand, _, contract = (f.text for f in files)
    assert "RAISE EXCEPTION 'trigger % on orders runs %, which reads status" in expand
    upgrade, downgrade = contract.split("def downgrade")
    assert "'CREATE OR REPLACE FUNCTION orders_search_text() RETURNS trigger LANGUAGE plpgsql AS $body$\\n'" in upgrade
    assert "coalesce(NEW.state, '')" in upgrade and "coalesce(NEW.status, '')" in downgrade
    assert upgrade.index("orders_search_text() RETURNS trigger") < upgrade.index("DROP COLUMN IF EXISTS status")
    assert "Note: trigger orders_search_text (function orders_search_text) reads status: it reads state from this step on" in contract


@pytest.mark.parametrize("extra, message", [
    ("\n    PERFORM 1 FROM orders WHERE status = 'x';", "reads it other than as NEW.status or OLD.status"),
    ("\n    -- keeps status in the search text", "reads it other than as NEW.status or OLD.status"),
])
def test_a_trigger_function_that_cannot_be_rewritten_is_refused_with_its_name(tmp_path: Path, extra: str, message: str):
    with pytest.raises(ScaffoldError, match=f"cannot rename orders.status: trigger orders_search_text .function orders_search_text. {message}"):
        scaffold(_model(_project(tmp_path, extra)), ChangeRequest("rename-column", "orders", column="status", new_name="state"))


def test_a_function_other_tables_run_is_not_rewritten_for_one(tmp_path: Path):
    root = _project(tmp_path)
    (root / VERSIONS / "20260103_6d7e8f9a0b1c_shared.py").write_text(
        'from alembic import op\nimport sqlalchemy as sa\nrevision = "6d7e8f9a0b1c"\ndown_revision = "5c6d7e8f9a0b"\n\n\n'
        'def upgrade():\n    op.add_column("customers", sa.Column("status", sa.Text()))\n'
        '    op.add_column("customers", sa.Column("search_text", sa.Text()))\n'
        '    op.add_column("customers", sa.Column("note", sa.Text()))\n'
        '    op.execute("CREATE TRIGGER customers_search_text BEFORE INSERT OR UPDATE ON customers FOR EACH ROW '
        'EXECUTE FUNCTION orders_search_text()")\n\n\ndef downgrade():\n    pass\n')
    with pytest.raises(ScaffoldError, match="triggers of customers run the same function"):
        scaffold(_model(root), ChangeRequest("rename-column", "orders", column="status", new_name="state"))


def test_a_column_a_trigger_reads_is_not_dropped(tmp_path: Path):
    with pytest.raises(ScaffoldError, match="cannot drop orders.note: trigger orders_search_text .function orders_search_text. reads it"):
        scaffold(_model(_project(tmp_path)), ChangeRequest("drop-column", "orders", column="note"))


def test_a_type_change_compiles_the_tables_trigger_functions_again(tmp_path: Path):
    files, _ = scaffold(_model(_project(tmp_path)), ChangeRequest("change-type", "orders", column="qty", type="bigint"))
    assert files[-1].text.split("def downgrade")[0].count("EXECUTE pg_get_functiondef(function_oid)") == 1
    (widen,) = scaffold(_model(_project(tmp_path / "b")), ChangeRequest("change-type", "orders", column="status", type="text"))[0]
    assert widen.text.count("EXECUTE pg_get_functiondef(function_oid)") == 2  # the upgrade and the downgrade


def test_the_rename_keeps_the_trigger_working_on_postgresql(tmp_path: Path, postgres):
    alembic_command = pytest.importorskip("alembic.command")
    from alembic.config import Config

    root = _project(tmp_path)
    dsn = postgres.fresh_database("triggers")
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", postgres.url(dsn).replace("%", "%%"))
    alembic_command.upgrade(config, "heads")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("INSERT INTO customers (email) VALUES ('c')")
        connection.execute("INSERT INTO orders (customer_id, status, qty, legacy_code, note) "
                           "SELECT 1, 's' || g, 1, 'l', 'n' || g FROM generate_series(1, 300) g")
    files, _ = scaffold(_model(root), ChangeRequest("rename-column", "orders", column="status", new_name="state"))
    write_files(root, files, VERSIONS)

    def insert(column: str) -> str:
        with psycopg.connect(dsn, autocommit=True) as connection:
            return connection.execute(f"INSERT INTO orders (customer_id, {column}, qty, legacy_code, note) "
                                      "VALUES (1, 'fresh', 1, 'l', 'x') RETURNING search_text").fetchone()[0]

    for revision_file in files:
        alembic_command.upgrade(config, revision_file.revision)
    assert insert("state") == "fresh x"
    alembic_command.downgrade(config, "5c6d7e8f9a0b")
    assert insert("status") == "fresh x"
    alembic_command.upgrade(config, "heads")
    assert insert("state") == "fresh x"


HAND_MADE_TRIGGER = """
CREATE FUNCTION orders_code_from_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.legacy_code := upper(NEW.status); RETURN NEW; END $$;
CREATE TRIGGER orders_code_from_status BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION orders_code_from_status();
"""


def test_scaffold_dsn_reads_a_trigger_the_migrations_do_not_create(tmp_path: Path, postgres, capsys):
    """`--dsn` takes the SQLAlchemy URL of alembic.ini too; a trigger made by hand is rewritten like one the migrations make."""
    alembic_command = pytest.importorskip("alembic.command")
    from alembic.config import Config

    root = _project(tmp_path)
    dsn = postgres.fresh_database("catalog")
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", postgres.url(dsn).replace("%", "%%"))
    alembic_command.upgrade(config, "heads")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(HAND_MADE_TRIGGER)
    arguments = ["scaffold", "rename-column", "--table", "orders", "--column", "status", "--new-name", "state",
                 "--path", str(root), "--no-cache", "--dry-run"]
    assert main([*arguments, "--dsn", postgres.url(dsn)]) == 0
    contract = capsys.readouterr().out.rsplit("_contract", 1)[1]
    upgrade, downgrade = contract.split("def downgrade")
    assert "upper(NEW.state)" in upgrade and "coalesce(NEW.state, '')" in upgrade
    assert "upper(NEW.status)" in downgrade and "coalesce(NEW.status, '')" in downgrade
    assert main([*arguments, "--dsn", "postgresql://nobody@/nowhere?host=" + str(tmp_path / "no-socket")]) == 2
    assert "--dsn: could not read the triggers of orders" in capsys.readouterr().err
