"""select/ignore, severity overrides, per-path ignores and ignore comments (ruff's model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.report.audit_json import audit_json
from schemalens.analyzers.report.audit_markdown import render_audit_markdown
from schemalens.analyzers.report.held_back import held_back_lines
from schemalens.analyzers.rules import context
from schemalens.analyzers.workspace.index import WorkspaceIndex

_TABLE = "CREATE TABLE events (\n  id bigint PRIMARY KEY,\n  seen_at timestamp{comment}\n);\n"


def _audit(tmp_path: Path, comment: str = "", config: str = "", header: str = ""):
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "migrations" / "V1__events.sql").write_text(header + _TABLE.format(comment=comment))
    if config:
        (tmp_path / "pyproject.toml").write_text("[tool.schemalens]\n" + config)
    return run_audit(WorkspaceIndex(tmp_path).index_all())


def _codes(result) -> set[str]:
    return {finding.rule for finding in result.findings}


def test_a_finding_is_reported_without_suppression(tmp_path: Path):
    assert "SL201" in _codes(_audit(tmp_path))


def test_a_line_comment_suppresses_the_named_rule_only(tmp_path: Path):
    codes = _codes(_audit(tmp_path, "  -- schemalens: ignore[SL201]"))
    assert "SL201" not in codes and "SL703" in codes


def test_a_bare_line_comment_suppresses_every_rule_on_the_line(tmp_path: Path):
    result = _audit(tmp_path, "  -- schemalens: ignore")
    assert all(finding.location.line != 3 for finding in result.findings)


def test_a_file_level_comment_suppresses_the_rule_in_the_whole_file(tmp_path: Path):
    codes = _codes(_audit(tmp_path, header="-- schemalens: ignore-file[SL2]\n"))
    assert not any(code.startswith("SL2") for code in codes)


def test_ignore_and_select_prefixes_with_the_more_specific_winning(tmp_path: Path):
    codes = _codes(_audit(tmp_path, config='select = ["SL2"]\nignore = ["SL20"]\n'))
    assert codes == set()
    codes = _codes(_audit(tmp_path, config='select = ["SL201"]\nignore = ["SL2"]\n'))
    assert codes == {"SL201"}


def test_severity_override(tmp_path: Path):
    result = _audit(tmp_path, config='severity = {SL201 = "P0"}\n')
    assert {f.severity for f in result.findings if f.rule == "SL201"} == {"P0"}


def test_per_path_ignores(tmp_path: Path):
    result = _audit(tmp_path, config='per_path_ignores = {"migrations/*" = ["SL201"]}\n')
    assert "SL201" not in _codes(result)


def test_migrations_of_a_workspace_inside_another_repositorys_ignored_folder_are_not_ignored_files(tmp_path):
    import subprocess

    from schemalens.analyzers.rules.migrations.ignored_migration_files import ignored_by_git

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("vendor/\n")
    workspace = tmp_path / "vendor" / "project"
    (workspace / "db").mkdir(parents=True)
    (workspace / "db" / "V1__init.sql").write_text("CREATE TABLE a (id int);\n")
    (workspace / ".gitignore").write_text("db/V2__*.sql\n")
    (workspace / "db" / "V2__local.sql").write_text("CREATE TABLE b (id int);\n")
    assert ignored_by_git(workspace, ["db/V1__init.sql", "db/V2__local.sql"]) == ["db/V2__local.sql"]


def test_lock_rules_are_held_back_when_the_application_migrates_itself_as_it_starts(tmp_path: Path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n")
    (tmp_path / "migrations" / "V2__index.sql").write_text("CREATE INDEX ix_orders_note ON orders (note);\n")
    assert "SL505" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text(
        "from flask_migrate import upgrade\n\ndef create_app():\n    app = object()\n    upgrade()\n    return app\n")
    held = run_audit(WorkspaceIndex(tmp_path).index_all())
    assert "SL505" not in _codes(held)
    assert any(entry.reason == "migrates at startup" and "SL505" in entry.rules for entry in held.held_back)
    (tmp_path / "app" / "__init__.py").write_text("def create_app():\n    return object()\n")
    (tmp_path / "app" / "cli.py").write_text("from alembic import command\n\ndef upgrade(config):\n    command.upgrade(config, 'head')\n")
    assert "SL505" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))  # a deploy step runs them


def test_lock_rules_are_held_back_when_the_containers_start_command_migrates_first(tmp_path: Path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n")
    (tmp_path / "migrations" / "V2__index.sql").write_text("CREATE INDEX ix_orders_note ON orders (note);\n")
    (tmp_path / "Dockerfile").write_text('FROM python:3.12\nCMD ["./start.sh"]\n')
    (tmp_path / "start.sh").write_text("#!/bin/sh\nalembic upgrade head\nexec gunicorn app:app\n")
    held = run_audit(WorkspaceIndex(tmp_path).index_all())
    assert "SL505" not in _codes(held)
    (entry,) = held.held_back
    assert (entry.reason, entry.source) == ("migrates at startup", "start.sh:2")
    assert "the start command applies the migrations before the server starts (start.sh:2)" in held_back_lines(held.held_back)[0]
    # letta: a history that builds indexes concurrently is written to run beside live traffic
    (tmp_path / "migrations" / "V3__search.sql").write_text("CREATE INDEX CONCURRENTLY ix_orders_id_note ON orders (id, note);\n")
    assert "SL505" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))


def test_lock_rules_are_held_back_when_the_configuration_says_migrations_run_offline(tmp_path: Path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n")
    (tmp_path / "migrations" / "V2__index.sql").write_text("CREATE INDEX ix_orders_note ON orders (note);\n")
    (tmp_path / "schemalens.toml").write_text('migrations_run = "offline"\n')
    held = run_audit(WorkspaceIndex(tmp_path).index_all())
    assert "SL505" not in _codes(held)
    (entry,) = held.held_back
    assert entry.reason == "declared" and "SL505" in entry.rules and "SL533" not in entry.rules
    assert 'migrations_run = "offline"' in held_back_lines(held.held_back)[0]
    # "online" wins over the application applying its migrations as it starts
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("from flask_migrate import upgrade\n\ndef create_app():\n    upgrade()\n")
    (tmp_path / "schemalens.toml").write_text('migrations_run = "online"\n')
    assert "SL505" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))
    (tmp_path / "schemalens.toml").write_text('migrations_run = "sometimes"\n')
    model = WorkspaceIndex(tmp_path).index_all()
    assert model.config.migrations_run is None and "migrations_run 'sometimes'" in model.config.problems[0].message


@pytest.mark.parametrize("text, spares", [
    ("op.create_index('ix', 'orders', ['note'], postgresql_concurrently=True)\n", True),
    ("op.execute('CREATE INDEX Concurrently ix ON orders (note)')\n", True),
    ("op.execute('ALTER TABLE orders ADD CONSTRAINT c CHECK (total > 0) not\n  VALID')\n", True),
    ("with op.get_context().autocommit_block():\n    pass\n", True),
    ("op.execute(\"SET LOCK_TIMEOUT = '2s'\")\n", True),
    ("op.execute('UPDATE orders SET valid = true')\n", False),  # the word, not the clause
    ("op.add_column('orders', sa.Column('note', sa.Text()))\n", False)])
def test_a_migration_spares_live_traffic_when_it_says_so(text: str, spares: bool):
    assert context._spares_live_traffic(text) is spares


@pytest.mark.parametrize("text, other", [
    ("from sqlalchemy.dialects import mysql\n", True),
    ("if op.get_bind().dialect.name == 'sqlite':\n    pass\n", True),
    ("if url.startswith( 'mariadb'):\n    pass\n", True),
    ("# runs on Oracle too\n", False),  # a comment, not a branch or a type
    ("op.add_column('t', sa.Column('mysql_id', sa.Integer()))\n", False)])
def test_a_migration_names_another_engine_when_it_branches_on_one_or_imports_its_types(text: str, other: bool):
    assert context._names_other_engines(text) is other


def test_an_opinion_rule_is_off_under_all_and_on_by_name_or_preset(tmp_path: Path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__counts.sql").write_text("CREATE TABLE counts (id int PRIMARY KEY);\n")
    (tmp_path / "pyproject.toml").write_text('[tool.schemalens]\nselect = ["ALL"]\n')
    assert "SL210" not in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))
    (tmp_path / "pyproject.toml").write_text('[tool.schemalens]\nselect = ["ALL"]\npreset = "squawk"\n')
    assert "SL210" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))
    (tmp_path / "pyproject.toml").write_text('[tool.schemalens]\nselect = ["ALL", "SL210"]\n')
    assert "SL210" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))


def test_query_findings_waiting_for_table_sizes_are_said_and_found_once_hinted(tmp_path: Path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "V1__init.sql").write_text("CREATE TABLE customers (id bigint PRIMARY KEY, email text);\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "routes.py").write_text(
        "from flask import Blueprint\n\nbp = Blueprint('c', __name__)\n\n@bp.route('/customers')\n"
        "def find(Customer, email):\n    return Customer.query.filter(Customer.email == email).first()\n")
    off_by_default = run_audit(WorkspaceIndex(tmp_path).index_all())
    assert "SL405" not in _codes(off_by_default) and not off_by_default.held_back
    selected = '[tool.schemalens]\nselect = ["ALL", "SL405"]\n'
    (tmp_path / "pyproject.toml").write_text(selected)
    result = run_audit(WorkspaceIndex(tmp_path).index_all())
    assert "SL405" not in _codes(result)
    [size] = [entry for entry in result.held_back if entry.reason == "size"]
    assert size.rules == ("SL405",) and size.candidates == 1 and size.tables == ("customers",)
    model = WorkspaceIndex(tmp_path).index_all()
    assert "held back: 1 candidate finding of SL405 waits for table sizes" in render_audit_markdown(model, (), "en", (), result.held_back)
    assert audit_json(model, (), (), held_back=result.held_back)["summary"]["held_back"][0]["tables"] == ["customers"]
    (tmp_path / "pyproject.toml").write_text(selected + "[tool.schemalens.tables.customers]\nrows = 2_000_000\n")
    hinted = run_audit(WorkspaceIndex(tmp_path).index_all())
    assert "SL405" in _codes(hinted) and not hinted.held_back


def test_foreign_key_indexes_are_held_back_and_said_when_the_project_deploys_mysql(tmp_path: Path):
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__orders.sql").write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n")
    (tmp_path / "requirements.txt").write_text("pymysql==1.1.1\n")
    model = WorkspaceIndex(tmp_path).index_all()
    held = run_audit(model)
    assert "SL401" not in _codes(held)
    report = render_audit_markdown(model, held.findings, held_back=held.held_back)
    assert "held back: SL401, SL538: the project deploys MySQL (requirements.txt: pymysql)" in report
    (tmp_path / "requirements.txt").write_text("pymysql==1.1.1\npsycopg[binary]==3.2\n")
    assert "SL401" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))


def test_lock_rules_are_held_back_and_said_when_the_project_deploys_mysql(tmp_path: Path):
    """octavia (`oslo.db[mysql]`): PostgreSQL's locks and remedies (CONCURRENTLY, NOT VALID) are not MySQL's."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, status text);\n")
    (tmp_path / "migrations" / "V2__status.sql").write_text("CREATE INDEX orders_status ON orders (status);\n")
    (tmp_path / "requirements.txt").write_text("oslo.db[mysql]>=8.4.0\n")
    model = WorkspaceIndex(tmp_path).index_all()
    held = run_audit(model)
    assert "SL505" not in _codes(held)
    report = render_audit_markdown(model, held.findings, held_back=held.held_back)
    assert "SL505" in next(line for line in report.splitlines() if "the project deploys MySQL (requirements.txt: mysql): "
                           "these rules describe PostgreSQL's locks" in line)
    (tmp_path / "requirements.txt").write_text("psycopg[binary]==3.2\n")
    assert "SL505" in _codes(run_audit(WorkspaceIndex(tmp_path).index_all()))


def test_git_is_asked_again_once_an_ignore_file_changes(tmp_path: Path):
    from schemalens.analyzers.rules.migrations.ignored_migration_files import ignored_by_git

    (tmp_path / "db").mkdir()
    paths = ["db/V1__init.sql", "db/V2__local.sql"]
    for path in paths:
        (tmp_path / path).write_text("CREATE TABLE a (id int);\n")
    (tmp_path / ".gitignore").write_text("db/V2__*.sql\n")
    assert ignored_by_git(tmp_path, paths) == ["db/V2__local.sql"]
    assert ignored_by_git(tmp_path, paths) == ["db/V2__local.sql"]  # remembered
    (tmp_path / "db" / ".gitignore").write_text("V1__*.sql\n")
    assert ignored_by_git(tmp_path, paths) == paths
    (tmp_path / ".gitignore").write_text("")
    (tmp_path / "db" / ".gitignore").unlink()
    assert ignored_by_git(tmp_path, paths) == []


def test_git_is_asked_as_the_audit_starts_on_a_thread_and_once_while_nothing_changes(tmp_path: Path, monkeypatch):
    """SL501's subprocesses run while the other rules check (Rule.ask_ahead); the audit takes
    their answer, and asks again only when the question changes."""
    import threading

    from schemalens.analyzers.rules.migrations import ignored_migration_files

    ask_git = ignored_migration_files._ask_git
    asked_on: list[str] = []
    monkeypatch.setattr(ignored_migration_files, "_ask_git",
                        lambda root, paths: asked_on.append(threading.current_thread().name) or ask_git(root, paths))
    (tmp_path / "db").mkdir()
    for path in ("db/V1__init.sql", "db/V2__local.sql"):
        (tmp_path / path).write_text("CREATE TABLE a (id int PRIMARY KEY);\n")
    (tmp_path / ".gitignore").write_text("db/V2__*.sql\n")
    index = WorkspaceIndex(tmp_path)
    assert "SL501" in _codes(run_audit(index.index_all()))
    assert "SL501" in _codes(run_audit(index.model))
    assert asked_on == ["schemalens-git"]
    (tmp_path / ".gitignore").write_text("")
    assert "SL501" not in _codes(run_audit(index.model))
    assert asked_on == ["schemalens-git", "schemalens-git"]
    # the server's audits keep SL501's outcome while the model and the ignore files are the same:
    # an edit of .gitignore is seen, and git asked once, not at each audit
    kept = KeptRules()
    run_audit(index.model, kept=kept)
    assert len(asked_on) == 2
    (tmp_path / ".gitignore").write_text("db/V1__*.sql\n")
    for _edit in range(3):
        found = [finding for finding in run_audit(index.model, kept=kept).findings if finding.rule == "SL501"]
        assert [finding.location.path for finding in found] == ["db/V1__init.sql"]
    assert len(asked_on) == 3


def test_a_hints_file_given_to_the_cli_sizes_tables_and_a_bad_one_is_reported(tmp_path: Path, capsys):
    import json

    from schemalens.commands import main

    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "V1__orders.sql").write_text(
        "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
        "CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n")
    (tmp_path / "hints.toml").write_text("[tables.order_items]\nrows = 5_000_000\n")

    def severity_of_sl401(*options: str) -> str:
        assert main(["audit", str(tmp_path), "--no-cache", "--format", "json", *options]) == 0
        report = json.loads(capsys.readouterr().out)
        return next(f["severity"] for f in report["findings"] if f["rule"] == "SL401"), report

    assert severity_of_sl401()[0] == "P1"
    assert severity_of_sl401("--hints", str(tmp_path / "hints.toml"))[0] == "P0"
    _, report = severity_of_sl401("--hints", str(tmp_path / "missing.toml"))
    assert any("cannot read the hints file" in problem["message"] for problem in report["summary"]["errors"])
