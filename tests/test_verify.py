"""`schemalens verify` on fixture projects: a rewrite and an ACCESS EXCLUSIVE lock on a populated
table, a downgrade that fails, a revision PostgreSQL rejects, ORM drift, an env.py that needs the
application; SQL migration sets each in a database of their own, up sections only, failing where
SL570 says; each is reported as such. The bundled example runs end to end on its own embedded
server through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from schemalens.analyzers.verify import TargetError, verify
from schemalens.analyzers.verify.report import render_verify_markdown, verify_json
from schemalens.analyzers.verify.target import from_dsn
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.commands import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
ENV = '''from alembic import context
from sqlalchemy import create_engine, pool

url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
'''
APP_ENV = "from flask import current_app\n\nDB = current_app.extensions['migrate'].db  # needs the running app\n" + ENV
HEADER = "from alembic import op\nimport sqlalchemy as sa\n\nrevision = {rid!r}\ndown_revision = {down!r}\n\n"
ITEMS = HEADER.format(rid="a1", down=None) + (
    "def upgrade():\n"
    "    op.create_table('items', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('qty', sa.Integer()))\n"
    "    op.execute('INSERT INTO items (id, qty) SELECT g, g FROM generate_series(1, 1000) g')\n\n"
    "def downgrade():\n    op.drop_table('items')\n")
WIDEN = HEADER.format(rid="b2", down="a1") + (
    "def upgrade():\n    op.alter_column('items', 'qty', type_=sa.BigInteger())\n\n"
    "def downgrade():\n    op.alter_column('items', 'qty', type_=sa.Integer())\n")
BAD_DOWNGRADE = HEADER.format(rid="b2", down="a1") + (
    "def upgrade():\n    op.add_column('items', sa.Column('note', sa.Text()))\n\n"
    "def downgrade():\n    op.drop_column('items', 'remark')\n")
REJECTED = HEADER.format(rid="b2", down="a1") + (
    "def upgrade():\n    op.execute('ALTER TABLE missing_table ADD COLUMN x integer')\n\n"
    "def downgrade():\n    pass\n")
MODELS = ("from sqlalchemy import BigInteger, Column, Integer, Text\nfrom sqlalchemy.orm import declarative_base\n\n"
          "Base = declarative_base()\n\n\nclass Item(Base):\n    __tablename__ = 'items'\n"
          "    id = Column(Integer, primary_key=True)\n    qty = Column(BigInteger)\n    label = Column(Text)\n")


def _project(root: Path, second: str, env: str = ENV, models: bool = False) -> Path:
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n")
    (root / "migrations" / "env.py").write_text(env)
    (root / "migrations" / "versions" / "a1_items.py").write_text(ITEMS)
    (root / "migrations" / "versions" / "b2_change.py").write_text(second)
    if models:
        (root / "app").mkdir()
        (root / "app" / "models.py").write_text(MODELS)
    return root


def _verify(postgres, root: Path):
    dsn = postgres.url(postgres.fresh_database("verify"))
    return verify(WorkspaceIndex(root).index_all(), dsn=dsn)


def _step(report, phase: str, revision: str):
    return next(s for s in report.rehearsal.steps if (s.phase, s.revision) == (phase, revision))


def test_a_rewrite_under_access_exclusive_on_a_populated_table_and_orm_drift(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, WIDEN, models=True))
    assert not report.failed and report.rehearsal.way.startswith("the project's env.py")
    assert [(s.phase, s.revision) for s in report.rehearsal.steps] == [
        ("upgrade", "a1"), ("upgrade", "b2"), ("downgrade", "b2"), ("downgrade", "a1"),
        ("upgrade again", "a1"), ("upgrade again", "b2")]
    widen = verify_json(report)["steps"][1]
    assert widen["locks"] == {"items": "AccessExclusiveLock"} and widen["rewrites"] == ["items"]
    assert widen["rows"] == {"items": 1000}
    assert report.drift == ["table items.columns label: database 'missing', models ('text', True)"]
    assert report.limitations == []
    assert "| `migrations/versions/b2_change.py` | ok" in render_verify_markdown(report)


def test_a_downgrade_that_fails_is_reported_with_its_statement(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, BAD_DOWNGRADE))
    failed = _step(report, "downgrade", "b2")
    assert report.failed and not failed.ok
    assert 'column "remark" of relation "items" does not exist' in failed.error.error
    assert "DROP COLUMN remark" in failed.error.sql
    # the failed downgrade rolled back: the database stays at b2, and upgrading again finds nothing to do
    assert report.rehearsal.notes == ["migrations: the downgrade stopped; upgrading again from where it stopped"]
    assert [s.phase for s in report.rehearsal.steps] == ["upgrade", "upgrade", "downgrade"]


def test_a_revision_postgresql_rejects_stops_the_rehearsal(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, REJECTED))
    rejected = _step(report, "upgrade", "b2")
    assert report.failed and 'relation "missing_table" does not exist' in rejected.error.error
    assert {s.phase for s in report.rehearsal.steps} == {"upgrade"}
    assert "- upgrade of migrations/versions/b2_change.py: PostgreSQL refused `ALTER TABLE missing_table" in render_verify_markdown(report)


def test_an_env_that_needs_the_application_falls_back_to_the_schemalens_env(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, WIDEN, env=APP_ENV))
    assert report.rehearsal.way.startswith("a SchemaLens env") and not report.failed
    assert "its env.py needs the running Flask application (current_app)" in report.rehearsal.notes[0]
    assert "script_location" not in report.rehearsal.notes[0]


def test_a_dsn_must_name_a_disposable_database():
    with pytest.raises(TargetError, match="does not look disposable"):
        from_dsn("postgresql://app@db.internal/shop", confirmed=False)
    assert from_dsn("postgresql://app@db.internal/shop", confirmed=True).name == "shop"
    assert from_dsn("postgresql://app@db/shop_test", confirmed=False).url == "postgresql+psycopg://app@db/shop_test"
    with pytest.raises(TargetError, match="postgresql://"):
        from_dsn("mysql://app@db/shop_test", confirmed=False)


def test_the_bundled_example_end_to_end_on_an_embedded_server(tmp_path, capsys):
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root)
    assert main(["verify", str(root), "--format", "json", "--no-cache"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["alembic"].startswith("the project's env.py")
    phases = {(s["phase"], s["revision"]) for s in report["steps"]}
    assert ("downgrade", "3f2a9c1d4b7e") in phases and ("upgrade", "sql/migrations/V3__daily_sales_touch_trigger.sql") in phases
    assert report["drift"] == ["table orders.columns gift_message: database 'missing', models ('text', True)"]
    assert report["schemalens_limitations"] == []


def test_audit_with_verify_adds_the_rehearsal(tmp_path, capsys):
    root = _project(tmp_path / "project", REJECTED)
    assert main(["audit", str(root), "--verify", "--no-cache"]) == 1  # the rejected revision fails the run
    report = capsys.readouterr().out
    assert report.startswith("# Database design audit") and "## Migration rehearsal (schemalens verify)" in report
    assert 'relation "missing_table" does not exist' in report


def test_an_env_that_connects_elsewhere_is_refused_before_any_statement(postgres, tmp_path):
    elsewhere = ENV.replace("engine = create_engine(url,", "engine = create_engine(make_url(url).set(database='postgres'),")
    elsewhere = "from sqlalchemy.engine import make_url\n" + elsewhere
    report = _verify(postgres, _project(tmp_path, WIDEN, env=elsewhere))
    assert "refusing to run migrations against" in report.rehearsal.notes[0]
    assert report.rehearsal.way.startswith("a SchemaLens env") and not report.failed


# Every way a rehearsal could say OK while nothing (or not everything) ran: one test each.

PYTHON_ERROR = HEADER.format(rid="b2", down="a1") + (
    "def upgrade():\n    op.add_column('items', sa.Column('note', sa.Text()))\n"
    "    raise ValueError('the revision broke after its DDL')\n\n"
    "def downgrade():\n    op.drop_column('items', 'note')\n")
MISSING_IMPORT = HEADER.format(rid="b2", down="a1").replace(
    "import sqlalchemy as sa\n", "import sqlalchemy as sa\nfrom shopapp.models import STATUSES\n") + (
    "def upgrade():\n    op.add_column('items', sa.Column('status', sa.Text(), server_default=STATUSES[0]))\n\n"
    "def downgrade():\n    op.drop_column('items', 'status')\n")
RUNS_NOTHING = HEADER.format(rid="b2", down="a1").replace("import sqlalchemy as sa\n", "import os\nimport sqlalchemy as sa\n") + (
    "def upgrade():\n    if os.environ.get('SHOP_FEATURE_NEVER_SET'):\n"
    "        op.add_column('items', sa.Column('note', sa.Text()))\n\n"
    "def downgrade():\n    pass\n")


def test_a_python_error_after_the_ddl_fails_the_revision_and_the_run(postgres, tmp_path, capsys):
    report = _verify(postgres, _project(tmp_path, PYTHON_ERROR))
    failed = _step(report, "upgrade", "b2")
    assert report.failed and not failed.ok and failed.exception["type"] == "ValueError"
    assert "b2_change.py" in failed.failure() and "the revision broke after its DDL" in failed.failure()
    assert "b2_change.py:9" in failed.exception["where"]
    assert "**failed**" in render_verify_markdown(report)
    assert main(["verify", str(tmp_path), "--dsn", postgres.url(postgres.fresh_database("verify")), "--no-cache"]) == 1
    assert "ValueError: the revision broke after its DDL" in capsys.readouterr().out


def test_a_missing_import_names_the_module_and_the_interpreter_to_use(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, MISSING_IMPORT))
    failed = _step(report, "upgrade", "b2")
    assert report.failed and failed.exception["missing_module"] == "shopapp"
    assert "No module named 'shopapp'" in failed.failure() and "--python" in failed.failure()


def test_python_runs_the_rehearsal_in_the_projects_interpreter(postgres, tmp_path):
    """The project's interpreter is where its application imports: a wrapper that adds the
    application's folder stands for a virtualenv with the project installed."""
    root = _project(tmp_path / "project", MISSING_IMPORT)
    application = tmp_path / "site"
    (application / "shopapp").mkdir(parents=True)
    (application / "shopapp" / "__init__.py").write_text("")
    (application / "shopapp" / "models.py").write_text("STATUSES = ('new', 'paid')\n")
    interpreter = tmp_path / "project-python"
    interpreter.write_text(f"#!/bin/sh\nPYTHONPATH={application} exec {sys.executable} \"$@\"\n")
    interpreter.chmod(0o755)
    dsn = postgres.url(postgres.fresh_database("verify"))
    report = verify(WorkspaceIndex(root).index_all(), dsn=dsn, python=str(interpreter))
    assert not report.failed, verify_json(report)["failures"]
    assert report.rehearsal.python.startswith(str(interpreter))
    assert _step(report, "upgrade again", "b2").ok


def test_a_revision_that_runs_no_statement_while_its_source_has_operations_is_not_ok(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, RUNS_NOTHING))
    silent = _step(report, "upgrade", "b2")
    assert silent.ran_nothing and not silent.ok and report.failed
    assert "**ran nothing**" in render_verify_markdown(report)


def test_every_alembic_environment_is_rehearsed(postgres, tmp_path):
    root = _project(tmp_path, WIDEN)
    plugin = root / "plugins" / "reviews" / "migrations"
    plugin.mkdir(parents=True)
    (plugin / "p1_reviews.py").write_text(HEADER.format(rid="p1", down=None) + (
        "def upgrade():\n    op.create_table('reviews', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                    sa.Column('item_id', sa.Integer(), sa.ForeignKey('items.id')))\n\n"
        "def downgrade():\n    op.drop_table('reviews')\n"))
    report = _verify(postgres, root)
    assert not report.failed, verify_json(report)["failures"]
    assert report.rehearsal.environments == ["migrations", "plugins/reviews/migrations"]
    assert {(s.environment, s.phase, s.revision) for s in report.rehearsal.steps} >= {
        ("plugins/reviews/migrations", "upgrade", "p1"), ("plugins/reviews/migrations", "upgrade again", "p1")}
    assert verify_json(report)["environments"]["plugins/reviews/migrations"]["revisions_run"] == 1


BOOTSTRAPPED_MODELS = ("from sqlalchemy import Column, Integer, Text\nfrom sqlalchemy.orm import declarative_base\n\n"
                       "Base = declarative_base()\n\n\nclass Item(Base):\n    __tablename__ = 'items'\n"
                       "    id = Column(Integer, primary_key=True)\n    qty = Column(Integer)\n    note = Column(Text)\n")
ADD_NOTE = HEADER.format(rid="c3", down=None) + (
    "def upgrade():\n    op.add_column('items', sa.Column('note', sa.Text()))\n\n"
    "def downgrade():\n    op.drop_column('items', 'note')\n")


def test_a_history_that_starts_from_create_all_is_bootstrapped_from_the_models(postgres, tmp_path):
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n")
    (tmp_path / "migrations" / "env.py").write_text(ENV)
    (tmp_path / "migrations" / "versions" / "c3_note.py").write_text(ADD_NOTE)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "models.py").write_text(BOOTSTRAPPED_MODELS)
    report = _verify(postgres, tmp_path)
    assert not report.failed, verify_json(report)["failures"]
    assert report.rehearsal.bootstrapped == ["migrations"]
    assert any("create_all() of the models' 1 table(s), then alembic stamp heads" in n for n in report.rehearsal.notes)
    assert [(s.phase, s.revision) for s in report.rehearsal.steps] == [
        ("bootstrap", "create_all()"), ("downgrade", "c3"), ("upgrade again", "c3")]
    assert report.drift_compared and report.drift == []


def test_no_models_read_is_not_called_a_match(postgres, tmp_path):
    report = _verify(postgres, _project(tmp_path, WIDEN))
    assert not report.drift_compared and "read no model" in report.drift_skipped
    markdown = render_verify_markdown(report)
    assert "The models match" not in markdown and "Not compared: SchemaLens read no model" in markdown


def test_timestamp_precision_and_quoted_names_are_not_drift(postgres, tmp_path):
    created = HEADER.format(rid="b2", down="a1").replace("import sqlalchemy as sa\n", (
        "import sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n")) + (
        "def upgrade():\n    op.create_table('events', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                    sa.Column('timestamp', postgresql.TIMESTAMP(precision=6)))\n"
        "    op.create_index('events_timestamp_idx', 'events', ['timestamp'])\n\n"
        "def downgrade():\n    op.drop_table('events')\n")
    models = ("from sqlalchemy import Column, DateTime, Index, Integer\nfrom sqlalchemy.orm import declarative_base\n\n"
              "Base = declarative_base()\n\n\nclass Event(Base):\n    __tablename__ = 'events'\n"
              "    __table_args__ = (Index('events_timestamp_idx', 'timestamp'),)\n"
              "    id = Column(Integer, primary_key=True)\n    timestamp = Column(DateTime)\n")
    root = _project(tmp_path, created)
    (root / "app").mkdir()
    (root / "app" / "models.py").write_text(models)
    report = _verify(postgres, root)
    assert not report.failed and report.drift_compared, verify_json(report)["failures"]
    assert not [line for line in report.drift if line.startswith("table events")], report.drift


def test_the_stop_command_of_a_kept_server_works_for_the_user_who_ran_verify(tmp_path):
    from schemalens.analyzers.pg.embedded import start_postgres
    from schemalens.analyzers.verify.target import stop_command

    server = start_postgres()
    try:
        completed = subprocess.run(stop_command(server), shell=True, capture_output=True, text=True)
        assert completed.returncode == 0, completed.stderr
        assert "server stopped" in completed.stdout
    finally:
        server.stop()


# SQL migration folders: one fresh database per migration set, the up part of each file

def _write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _tables(postgres, database: str) -> set[str]:
    import psycopg

    with psycopg.connect(postgres.server.dsn(database)) as connection:
        return {name for (name,) in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()}


DBMATE_USERS = ("-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n\n"
                "-- migrate:down\nDROP TABLE users;\n")
DBMATE_EMAIL = ("-- migrate:up\nALTER TABLE users ADD COLUMN email text;\nCREATE TABLE sessions (id bigint PRIMARY KEY);\n\n"
                "-- migrate:down\nALTER TABLE users DROP COLUMN email;\nDROP TABLE sessions;\n")


def test_a_dbmate_folder_runs_only_its_up_sections(postgres, tmp_path):
    root = _write(tmp_path, {"db/migrations/20240101000000_users.sql": DBMATE_USERS,
                             "db/migrations/20240102000000_email.sql": DBMATE_EMAIL})
    dsn = postgres.url(postgres.fresh_database("verify"))
    report = verify(WorkspaceIndex(root).index_all(), dsn=dsn, keep=True)
    (result,) = report.rehearsal.sql_sets
    assert (result.name, result.ran, len(result.files), result.failed, result.ok) == ("db/migrations", 2, 2, None, True)
    assert "dbmate: a transaction per file" in result.transactions
    assert report.verdict == "OK" and not report.failed
    # The down sections would have dropped both tables again.
    assert _tables(postgres, result.database) == {"users", "sessions"}
    assert [s.sql for s in _step(report, "upgrade", "db/migrations/20240102000000_email.sql").statements] == [
        "ALTER TABLE users ADD COLUMN email text", "CREATE TABLE sessions (id bigint PRIMARY KEY)"]


def test_two_services_are_rehearsed_in_two_databases(postgres, tmp_path):
    # Both create `accounts`: in one database the second would fail.
    root = _write(tmp_path, {
        "services/billing/migrations/000001_accounts.up.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric);\n",
        "services/billing/migrations/000001_accounts.down.sql": "DROP TABLE accounts;\n",
        "services/users/migrations/V1__accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY, email text);\n",
        "services/users/migrations/V2__names.sql": "ALTER TABLE accounts ADD COLUMN name text;\n"})
    dsn = postgres.url(postgres.fresh_database("verify"))
    report = verify(WorkspaceIndex(root).index_all(), dsn=dsn, keep=True)
    by_name = {result.name: result for result in report.rehearsal.sql_sets}
    assert sorted(by_name) == ["services/billing/migrations", "services/users/migrations"]
    billing, users = by_name["services/billing/migrations"], by_name["services/users/migrations"]
    assert (billing.ran, users.ran) == (1, 2) and billing.ok and users.ok, report.rehearsal.steps
    assert billing.database != users.database
    assert "golang-migrate: no transaction" in billing.transactions and "flyway: a transaction per file" in users.transactions
    assert _tables(postgres, billing.database) == _tables(postgres, users.database) == {"accounts"}
    assert report.verdict == "OK"
    assert [s["name"] for s in verify_json(report)["sql_sets"]] == [billing.name, users.name]


def test_a_set_that_alters_a_table_a_later_migration_creates_fails_where_sl570_says(postgres, tmp_path):
    from schemalens.analyzers.audit import run_audit

    root = _write(tmp_path, {
        "notifications/migrations/001_notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY);\n",
        "notifications/migrations/002_locale.sql": ("-- the templates' locale\n"
                                                    "ALTER TABLE notifications ADD COLUMN sent_at timestamptz;\n\n"
                                                    "ALTER TABLE templates\n  ADD COLUMN locale text;\n"),
        "notifications/migrations/003_templates.sql": "CREATE TABLE templates (id bigint PRIMARY KEY);\n",
        "orders/migrations/001_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n"})
    model = WorkspaceIndex(root).index_all()
    static = [(f.location.path, f.location.line) for f in run_audit(model).findings if f.rule in ("SL570", "SL571")]
    assert static == [("notifications/migrations/002_locale.sql", 4)]
    report = verify(model, dsn=postgres.url(postgres.fresh_database("verify")))
    by_name = {result.name: result for result in report.rehearsal.sql_sets}
    notifications = by_name["notifications/migrations"]
    assert notifications.failed == "notifications/migrations/002_locale.sql:4"
    assert (notifications.ran, notifications.ok) == (1, False)
    step = _step(report, "upgrade", "notifications/migrations/002_locale.sql")
    assert (step.path, step.line) == static[0]
    assert step.error.error == 'relation "templates" does not exist'
    assert "notifications/migrations/002_locale.sql:4" in step.failure() and 'relation "templates"' in step.failure()
    assert not any(s.revision.endswith("003_templates.sql") for s in report.rehearsal.steps)  # the set stopped there
    assert by_name["orders/migrations"].ok  # the next set still ran
    assert report.verdict == "FAILED" and report.failed
    markdown = render_verify_markdown(report)
    assert "FAILED at notifications/migrations/002_locale.sql:4, 1 later file(s) not run" in markdown
    assert verify_json(report)["ok"] is False


def test_a_set_with_no_postgresql_files_says_so_and_is_not_ok(postgres, tmp_path):
    root = _write(tmp_path, {
        "legacy/mysql/001_users.sql": "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB;\n",
        "legacy/mysql/002_email.sql": "ALTER TABLE users ADD COLUMN email VARCHAR(255);\n"})
    report = verify(WorkspaceIndex(root).index_all(), dsn=postgres.url(postgres.fresh_database("verify")))
    (result,) = report.rehearsal.sql_sets
    assert result.ran == 0 and not result.ok and "MySQL" in result.not_run and "PostgreSQL only" in result.not_run
    assert not report.rehearsal.steps
    assert report.failed and report.verdict != "OK"
    markdown = render_verify_markdown(report)
    assert not markdown.splitlines()[2].startswith("OK") and "legacy/mysql (2 file(s), MySQL): not run" in markdown
    assert verify_json(report)["sql_sets"][0]["not_run"]


def test_drafts_are_not_run(postgres, tmp_path):
    root = _write(tmp_path, {"db/migrations/V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
                             "db/migrations_old/V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, x int);\n",
                             "db/migrations_old/V2__broken.sql": "ALTER TABLE nowhere ADD COLUMN y int;\n"})
    report = verify(WorkspaceIndex(root).index_all(), dsn=postgres.url(postgres.fresh_database("verify")))
    assert [result.name for result in report.rehearsal.sql_sets] == ["db/migrations"]
    assert report.verdict == "OK"
    assert any(note.startswith("db/migrations_old: not run") for note in report.rehearsal.notes)


def test_nothing_to_rehearse_is_not_ok(postgres, tmp_path):
    (tmp_path / "README.md").write_text("no migrations here\n")
    report = verify(WorkspaceIndex(tmp_path).index_all(), dsn=postgres.url(postgres.fresh_database("verify")))
    assert report.failed and any(failure.startswith("nothing ran") for failure in report.rehearsal.failures)


def test_a_chinese_rehearsal_reports_its_steps_failures_and_drift_in_chinese(postgres, tmp_path, capsys):
    """The report's per-revision lines, the failure, the runner's note, the drift and the progress
    lines follow --lang; SQL, PostgreSQL's own messages (quoted as code) and names stay as they are."""
    from prose import english_prose

    root = _project(tmp_path, BAD_DOWNGRADE, models=True)
    dsn = postgres.url(postgres.fresh_database("verify_zh"))
    assert main(["verify", str(root), "--dsn", dsn, "--yes", "--lang", "zh", "--no-cache"]) == 1
    out, err = capsys.readouterr()
    assert english_prose(out) == [] and english_prose(err) == []
    assert "PostgreSQL 拒绝了" in out and "downgrade 中途停止" in out and "数据库 '缺失'" in out and "**失败**" in out
    assert "schemalens verify 会针对" in err


def test_a_migration_with_an_unterminated_string_fails_at_its_statement(postgres, tmp_path):
    """PostgreSQL's scanner rejects the file whole: the statements before the string run, and the
    one holding it is sent as it is, for PostgreSQL to refuse (verify failed on its own split)."""
    root = _write(tmp_path, {"db/migrations/V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
                             "db/migrations/V2__note.sql": "ALTER TABLE users ADD COLUMN note text;\nSELECT 'unterminated\n"})
    report = verify(WorkspaceIndex(root).index_all(), dsn=postgres.url(postgres.fresh_database("verify")), keep=True)
    (result,) = report.rehearsal.sql_sets
    assert result.failed == "db/migrations/V2__note.sql:2" and result.ran == 1
    step = _step(report, "upgrade", "db/migrations/V2__note.sql")
    assert "unterminated quoted string" in step.error.error
    assert report.verdict == "FAILED"
