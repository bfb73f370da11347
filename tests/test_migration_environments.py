"""Migrations as real projects run them: several Alembic environments, each its own history and
search path; a history that starts on a schema built by create_all() and stamped."""

from __future__ import annotations

import textwrap
from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.workspace.index import WorkspaceIndex

REVISION = """\
from alembic import op
import sqlalchemy as sa
revision = {rid!r}
down_revision = {down!r}


def upgrade():
{body}


def downgrade():
    pass
"""


def write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))


def revision(rid: str, down, body: str) -> str:
    return REVISION.format(rid=rid, down=down, body=textwrap.indent(textwrap.dedent(body).strip(), "    "))


TWO_ENVIRONMENTS = {
    "pyproject.toml": "",
    "src/app/__init__.py": "",
    "src/app/alembic.ini": "[alembic]\n\n[core]\nscript_location = app:db/core\n\n[tenant]\nscript_location = app:db/tenant\n",
    "src/app/db/core/env.py": """
        from sqlalchemy import text
        CORE = "app_core"
        def run(connection):
            connection.execute(text(f'set search_path to "{CORE}"'))
    """,
    "src/app/db/tenant/env.py": """
        from sqlalchemy import text
        def run(connection, schemas):
            for schema in schemas:
                connection.execute(text(f'set search_path to "{schema}"'))
    """,
    "src/app/db/core/versions/c1.py": revision("c1", None, "op.create_table('organization', sa.Column('id', sa.Integer(), primary_key=True))"),
    "src/app/db/tenant/versions/t1.py": revision("t1", None, """
        op.create_table('incident', sa.Column('id', sa.Integer(), primary_key=True),
                        sa.Column('organization_id', sa.Integer(), sa.ForeignKey('app_core.organization.id')))
    """),
}


def test_each_alembic_environment_is_its_own_history_with_its_search_path(tmp_path):
    write(tmp_path, TWO_ENVIRONMENTS)
    model = WorkspaceIndex(tmp_path).index_all()
    environments = {h.environment.name: h for h in model.histories}
    assert set(environments) == {"core", "tenant"}
    assert environments["core"].environment.default_schema == "app_core"
    assert environments["tenant"].environment.per_run_schema
    assert [h.environment.name for h in model.histories] == ["core", "tenant"]  # tenant uses core's table
    assert set(model.database.tables) == {"app_core.organization", "incident"}
    assert model.errors == ()
    assert not [f for f in run_audit(model).findings if f.rule == "SL530"]  # one head per environment


def test_a_script_location_of_the_default_section_is_the_alembic_sections_alone(tmp_path):
    """onyx: [DEFAULT] names the script location, which configparser hands to every section:
    [post_write_hooks] and [loggers] are no environments."""
    write(tmp_path, {
        "backend/alembic.ini": ("[DEFAULT]\nscript_location = alembic\n\n[post_write_hooks]\nhooks = black\n\n"
                                "[loggers]\nkeys = root\n\n[alembic]\nscript_location = alembic\n\n"
                                "[schema_private]\nscript_location = alembic_tenants\n"),
        "backend/alembic/env.py": "",
        "backend/alembic/versions/a1.py": revision("a1", None, "op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True))"),
        "backend/alembic_tenants/env.py": "",
        "backend/alembic_tenants/versions/b1.py": revision("b1", None, "op.create_table('u', sa.Column('id', sa.Integer(), primary_key=True))"),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert sorted(h.environment.name for h in model.histories) == ["backend/alembic", "schema_private"]


def test_a_plugin_folder_of_revisions_is_an_environment_of_its_own(tmp_path):
    write(tmp_path, {
        "migrations/env.py": "",
        "migrations/versions/a1.py": revision("a1", None, "op.create_table('challenges', sa.Column('id', sa.Integer(), primary_key=True))"),
        "app/plugins/dynamic/migrations/p1.py": revision("p1", None, "op.create_table('dynamic_challenge', sa.Column('id', sa.Integer(), sa.ForeignKey('challenges.id'), primary_key=True))"),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert [h.environment.name for h in model.histories] == ["migrations", "app/plugins/dynamic/migrations"]
    assert set(model.database.tables) == {"challenges", "dynamic_challenge"} and model.errors == ()


def test_environments_that_create_the_same_table_build_two_databases(tmp_path):
    """nova: `nova/db/main` and `nova/db/api` are two databases, each with its own `quotas`;
    replayed into one, the second CREATE of `quotas` met the first's columns."""
    write(tmp_path, {
        "app/__init__.py": "",
        "app/models.py": """
            import sqlalchemy as sa
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            class Instance(Base):
                __tablename__ = 'instances'
                id = sa.Column(sa.Integer, primary_key=True)
            class Service(Base):
                __tablename__ = 'services'
                id = sa.Column(sa.Integer, primary_key=True)
            class CellMapping(Base):
                __tablename__ = 'cell_mappings'
                id = sa.Column(sa.Integer, primary_key=True)
            class Quota(Base):  # the API database's
                __tablename__ = 'quotas'
                id = sa.Column(sa.Integer, primary_key=True)
        """,
        "app/db/main/alembic.ini": "[alembic]\nscript_location = %(here)s/migrations\n",
        "app/db/main/migrations/env.py": "",
        "app/db/main/migrations/versions/m1.py": revision("m1", None, """
            op.create_table('instances', sa.Column('id', sa.Integer(), primary_key=True))
            op.create_table('services', sa.Column('id', sa.Integer(), primary_key=True))
            op.create_table('quotas', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('deleted', sa.Integer()))
            op.create_index('ix_quotas_deleted', 'quotas', ['deleted'])
        """),
        "app/db/api/alembic.ini": "[alembic]\nscript_location = %(here)s/migrations\n",
        "app/db/api/migrations/env.py": "",
        "app/db/api/migrations/versions/a1.py": revision("a1", None, """
            op.create_table('quotas', sa.Column('id', sa.Integer(), primary_key=True))
            op.create_table('cell_mappings', sa.Column('id', sa.Integer(), primary_key=True))
        """),
        # a plugin's revisions on the API database's tables: that database
        "app/plugins/audit/migrations/p1.py": revision("p1", None, """
            op.create_table('cell_audit', sa.Column('id', sa.Integer(), primary_key=True),
                            sa.Column('cell_id', sa.Integer(), sa.ForeignKey('cell_mappings.id')))
        """),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert model.errors == ()
    tables = {database.name: set(database.layer.tables) for database in model.databases}
    assert tables == {"alembic": {"instances", "services", "quotas"},
                      "alembic:app/db/api/migrations/versions": {"quotas", "cell_mappings", "cell_audit"}}
    assert [database.main for database in model.databases] == [True, False]  # the first holds more modelled tables
    findings = run_audit(model).findings
    # cell_mappings is created, in the API database; quotas, in both, is compared with neither
    assert [f.title for f in findings if f.rule in ("SL520", "SL521", "SL524")] == \
        ["cell_audit is created by migrations but no model maps it"]


def test_a_version_folder_per_engine_reads_the_postgresql_history_and_says_the_others(tmp_path):
    # prefect: env.py picks versions/postgresql or versions/sqlite by the dialect it connects to
    write(tmp_path, {
        "migrations/env.py": "",
        "migrations/versions/postgresql/p1.py": revision("p1", None, "op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))"),
        "migrations/versions/sqlite/s1.py": revision("s1", None, """
            op.execute("PRAGMA foreign_keys=OFF")
            op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))
        """),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert [h.environment.versions for h in model.histories] == [("migrations/versions/postgresql",)]
    assert set(model.database.tables) == {"flow"} and model.errors == ()
    assert model.coverage.revisions_skipped == (("the history kept for SQLite", 1, ("migrations/versions/sqlite/s1.py",)),)
    # no P0 "PostgreSQL rejects PRAGMA", no second head
    assert not [f for f in run_audit(model).findings if f.rule in ("SL538", "SL530")]


def test_a_history_that_starts_on_a_create_all_schema_takes_the_model_tables_as_there(tmp_path):
    write(tmp_path, {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import Column, Integer, String
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            class Query(Base):
                __tablename__ = "queries"
                id = Column(Integer, primary_key=True)
                is_draft = Column(String(10))
            class Dashboard(Base):
                __tablename__ = "dashboards"
                id = Column(Integer, primary_key=True)
        """,
        "manage.py": "from app.models import Base\ndef create_tables(engine):\n    Base.metadata.create_all(engine)\n",
        "migrations/env.py": "",
        "migrations/versions/a1.py": revision("a1", None, """
            op.add_column('queries', sa.Column('is_draft', sa.String(10)))
            op.drop_table('query_snippets_old')
        """),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert model.errors == ()
    assert set(model.database.tables) == {"queries", "dashboards"}
    assert model.histories[0].existing_tables == ("queries", "dashboards")
    assert model.histories[0].unknown_tables == ("query_snippets_old",)
    assert any("starts on an existing schema" in note for note in model.coverage.notes)


def test_a_table_the_history_renames_into_place_is_not_taken_as_there(tmp_path):
    # onyx: search_settings is embedding_model renamed; its index names were taken by the model's copy
    write(tmp_path, {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import Column, Index, Integer, String
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            class User(Base):
                __tablename__ = "users"
                id = Column(Integer, primary_key=True)
                name = Column(String(10))
            class SearchSettings(Base):
                __tablename__ = "search_settings"
                id = Column(Integer, primary_key=True)
                status = Column(String(10))
                __table_args__ = (Index("ix_present", "status"),)
        """,
        "migrations/env.py": "",
        "migrations/versions/a1.py": revision("a1", None, """
            op.add_column('users', sa.Column('name', sa.String(10)))
            op.create_table('embedding_model', sa.Column('id', sa.Integer(), primary_key=True),
                            sa.Column('status', sa.String(10)))
            op.create_index('ix_present', 'embedding_model', ['status'])
            op.rename_table('embedding_model', 'search_settings')
        """),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert model.errors == ()
    assert model.histories[0].existing_tables == ("users",)


def test_a_create_all_schema_spread_over_schemas_is_there_whole(tmp_path):
    # indico: models in a dozen PostgreSQL schemas, created by create_all() and stamped; the first
    # revision adds a table next to ones no revision ever touches
    write(tmp_path, {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import Column, ForeignKey, Integer
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()
            class User(Base):
                __tablename__ = "users"
                __table_args__ = {"schema": "users"}
                id = Column(Integer, primary_key=True)
            class Event(Base):
                __tablename__ = "events"
                __table_args__ = {"schema": "events"}
                id = Column(Integer, primary_key=True)
            class Role(Base):
                __tablename__ = "roles"
                __table_args__ = {"schema": "events"}
                id = Column(Integer, primary_key=True)
                event_id = Column(Integer, ForeignKey("events.events.id"))
        """,
        "migrations/env.py": "",
        "migrations/versions/a1.py": revision("a1", None, """
            op.create_table('roles', sa.Column('id', sa.Integer(), primary_key=True),
                            sa.Column('event_id', sa.Integer(), sa.ForeignKey('events.events.id')), schema='events')
            op.add_column('events', sa.Column('label', sa.String()), schema='events')
        """),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert model.errors == ()
    assert set(model.histories[0].existing_tables) == {"users.users", "events.events"}
    assert not [f for f in run_audit(model).findings if f.rule == "SL520"]


def test_a_history_that_creates_its_tables_is_replayed_strictly(tmp_path):
    write(tmp_path, {
        "migrations/env.py": "",
        "migrations/versions/a1.py": revision("a1", None, "op.add_column('orders', sa.Column('note', sa.Text()))"),
        "migrations/versions/a2.py": revision("a2", "a1", "op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True))"),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert [e.message for e in model.errors] == ['relation "orders" does not exist']


def test_a_subfolder_that_repeats_revision_ids_is_a_second_history_and_one_that_does_not_is_read(tmp_path):
    # zou: versions/legacy is the chain before a squash, ending in the squashed revision's id;
    # keystone: versions/yoga/expand continues the history of the folder above it
    write(tmp_path, {
        "migrations/env.py": "",
        "migrations/versions/s1_squash.py": revision("s1", None, "op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))"),
        "migrations/versions/e1_expand/e1.py": revision("e1", "s1", "op.add_column('flow', sa.Column('note', sa.Text()))"),
        "migrations/versions/legacy/l1.py": revision("l1", None, "op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))"),
        "migrations/versions/legacy/s1.py": revision("s1", "l1", "op.add_column('flow', sa.Column('old', sa.Text()))"),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert [c.name for c in model.database.tables["flow"].columns] == ["id", "note"] and model.errors == ()
    assert model.coverage.revisions_skipped == (("a second history that repeats revision ids of migrations/versions", 2,
                                                  ("migrations/versions/legacy/l1.py", "migrations/versions/legacy/s1.py")),)


def test_models_kept_beside_env_py_for_data_migrations_are_not_the_applications(tmp_path):
    # agenta: migrations/core/deprecated_models.py snapshots tables that later revisions dropped
    write(tmp_path, {
        "app/__init__.py": "",
        "app/models.py": """
            from sqlalchemy import Column, Integer
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()

            class Flow(Base):
                __tablename__ = 'flow'
                id = Column(Integer, primary_key=True)
        """,
        "migrations/core/env.py": "",
        "migrations/core/deprecated_models.py": """
            from sqlalchemy import Column, Integer
            from sqlalchemy.orm import declarative_base
            Base = declarative_base()

            class OldFlow(Base):
                __tablename__ = 'old_flow'
                id = Column(Integer, primary_key=True)
        """,
        "migrations/core/versions/r1.py": revision("r1", None, """
            op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))
        """),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert set(model.orm.tables) == {"flow"}
    assert [(kept.key, kept.reason) for kept in model.coverage.kept_out_tables] == [("old_flow", "not application code")]


def test_an_environment_that_repeats_another_ones_revision_ids_is_an_alternative_to_it(tmp_path):
    # agenta: each edition (oss/, ee/) keeps its own copy of the core history; ee has one more
    create = "op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))"
    write(tmp_path, {
        "oss/migrations/env.py": 'config.set_main_option("sqlalchemy.url", POSTGRES_URI_CORE)\n',
        "oss/migrations/versions/c1.py": revision("c1", None, create),
        "ee/migrations/env.py": 'config.set_main_option("sqlalchemy.url", env.postgres.uri_core)\n',
        "ee/migrations/versions/c1.py": revision("c1", None, create),
        "ee/migrations/versions/e1.py": revision("e1", "c1", "op.add_column('flow', sa.Column('seats', sa.Integer()))"),
        "tracing/env.py": 'config.set_main_option("sqlalchemy.url", env.postgres.uri_tracing)\n',
        "tracing/versions/t1.py": revision("t1", None, "op.create_table('spans', sa.Column('id', sa.Integer(), primary_key=True))"),
        # a copy of a core revision in another database's history: not an alternative to core
        "tracing/versions/c1.py": revision("c1", "t1", "op.add_column('spans', sa.Column('note', sa.Text()))"),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert [h.environment.name for h in model.histories] == ["ee/migrations", "tracing"]
    assert [c.name for c in model.database.tables["flow"].columns] == ["id", "seats"]
    assert [c.name for c in model.database.tables["spans"].columns] == ["id", "note"]
    assert model.coverage.revisions_skipped == (
        ("an alternative to ee/migrations that repeats its revision ids", 1, ("oss/migrations/versions/c1.py",)),)


def test_a_revision_file_beside_env_py_outside_the_version_folders_is_not_run(tmp_path):
    # agenta: migrations/core/temp/ holds a draft revision whose parent is gone
    write(tmp_path, {
        "migrations/env.py": "",
        "migrations/versions/c1.py": revision("c1", None, "op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True))"),
        "migrations/temp/d1.py": revision("d1", "gone", "op.drop_table('flow')"),
    })
    model = WorkspaceIndex(tmp_path).index_all()
    assert [h.environment.name for h in model.histories] == ["migrations"] and "flow" in model.database.tables
    assert model.coverage.revisions_skipped == (("outside the version folders of migrations", 1, ("migrations/temp/d1.py",)),)
    assert not [f for f in run_audit(model).findings if f.rule == "SL531"]


def test_an_environment_that_connects_in_autocommit_runs_its_revisions_statement_by_statement(tmp_path):
    # privacyidea: `connection.execution_options(isolation_level="AUTOCOMMIT")` in env.py; begin_transaction()
    # then opens none, and an UPDATE after an ADD COLUMN does not run under its lock
    from schemalens.analyzers.rules.context import AuditContext

    body = """
        op.add_column('orders', sa.Column('state', sa.Text()))
        op.execute("UPDATE orders SET state = 'new'")
    """
    for name, options in (("autocommit", 'connection = connection.execution_options(isolation_level="AUTOCOMMIT")'),
                          ("transaction", "pass")):
        write(tmp_path / name, {
            "migrations/alembic.ini": "[alembic]\nscript_location = .\n",
            "migrations/env.py": f"""
                def run_migrations_online(connection):
                    {options}
                    context.configure(connection=connection)
                    with context.begin_transaction():
                        context.run_migrations()
            """,
            "migrations/versions/a1.py": revision("a1", None, "op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True))"),
            "migrations/versions/b2.py": revision("b2", "a1", body),
        })
    autocommit, transaction = (WorkspaceIndex(tmp_path / name).index_all() for name in ("autocommit", "transaction"))
    assert [h.environment.autocommit for h in autocommit.histories] == [True]
    assert [h.environment.autocommit for h in transaction.histories] == [False]
    assert {walked.in_transaction for walked in AuditContext(autocommit, lambda path: None).migration_walk} == {False}
    assert {walked.in_transaction for walked in AuditContext(transaction, lambda path: None).migration_walk} == {True}
