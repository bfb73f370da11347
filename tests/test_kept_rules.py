"""The outcomes of rules kept across audits by what they read (audit.KeptRules): an edit of the
code leaves those of the rules that read no code standing, an edit of a model those of the rules
that read only the migrations, and a rule that reads the edited text runs again (the property
test over edits of a real project is in test_incremental_flow.py)."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.rules import all_rules, context
from schemalens.analyzers.schema.operations import ExistingTables
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import write_files

SERVICE = "app/services.py"
FILES = {
    "app/models.py": (
        "from sqlalchemy import Column, Integer, String\nfrom sqlalchemy.orm import declarative_base\n\n"
        "Base = declarative_base()\n\n\nclass Team(Base):\n    __tablename__ = 'teams'\n"
        "    id = Column(Integer, primary_key=True)\n    name = Column(String(80), nullable=False)\n"),
    SERVICE: (
        "from app.models import Team\n\n\n"
        "def team_named(session, name):\n    return session.query(Team).filter(Team.name == name).first()\n"),
    "migrations/env.py": "from alembic import context\ncontext.run_migrations()\n",
    "migrations/versions/0001_init.py": (
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = '0001'\ndown_revision = None\n\n\n"
        "def upgrade():\n    op.create_table('teams', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                    sa.Column('name', sa.String(80), nullable=False), sa.UniqueConstraint('name', name='uq_teams_name'))\n\n\n"
        "def downgrade():\n    op.drop_table('teams')\n"),
    "migrations/versions/0002_drop.py": (
        "from alembic import op\n\nrevision = '0002'\ndown_revision = '0001'\n\n\n"
        "def upgrade():\n    op.drop_constraint('uq_teams_name', 'teams', type_='unique')\n\n\n"
        "def downgrade():\n    op.create_unique_constraint('uq_teams_name', 'teams', ['name'])\n"),
}
# SL545 tells a dropped constraint the code relies on by the code's text naming it.
NAMED = FILES[SERVICE] + "\nUPSERT = 'INSERT INTO teams (name) VALUES (%s) ON CONFLICT ON CONSTRAINT uq_teams_name DO NOTHING'\n"


def _keys(result) -> list[tuple]:
    return [(f.rule, f.location, f.message, f.severity) for f in result.findings]


def test_an_edit_of_code_whose_text_a_rule_reads_runs_that_rule_again(tmp_path: Path):
    root = write_files(tmp_path / "service", FILES)
    index = WorkspaceIndex(root)
    kept = KeptRules()
    before = run_audit(index.index_all(), kept=kept, text_of=index.text_of)
    assert kept.schema.outcomes and "SL545" not in {f.rule for f in before.findings}
    after = run_audit(index.update_file(SERVICE, NAMED), kept=kept, text_of=index.text_of)
    (root / SERVICE).write_text(NAMED, encoding="utf-8")
    assert "SL545" in {f.rule for f in after.findings}
    assert _keys(after) == _keys(run_audit(WorkspaceIndex(root).index_all()))


def test_an_edit_of_code_keeps_the_outcomes_of_the_rules_that_read_no_code(tmp_path: Path):
    root = write_files(tmp_path / "service", FILES)
    index = WorkspaceIndex(root)
    kept = KeptRules()
    run_audit(index.index_all(), kept=kept, text_of=index.text_of)
    migrations, schema = kept.migrations, kept.schema
    edited = FILES[SERVICE].replace("    return", "    session.flush()\n    return")
    after = run_audit(index.update_file(SERVICE, edited), kept=kept, text_of=index.text_of)
    assert kept.migrations is migrations and kept.schema is schema  # taken back, not worked out again
    (root / SERVICE).write_text(edited, encoding="utf-8")
    assert _keys(after) == _keys(run_audit(WorkspaceIndex(root).index_all()))


def test_an_edit_of_a_text_those_rules_read_runs_them_again(tmp_path: Path):
    root = write_files(tmp_path / "service", FILES)
    index = WorkspaceIndex(root)
    kept = KeptRules()
    before = run_audit(index.index_all(), kept=kept, text_of=index.text_of)
    assert "SL515" in {f.rule for f in before.findings}
    env = FILES["migrations/env.py"].replace("context.run_migrations()", "context.execute(\"SET lock_timeout = '5s'\")\n"
                                                                       "context.run_migrations()")
    after = run_audit(index.update_file("migrations/env.py", env), kept=kept, text_of=index.text_of)
    assert "SL515" not in {f.rule for f in after.findings}  # env.py sets lock_timeout for every revision
    (root / "migrations/env.py").write_text(env, encoding="utf-8")
    assert _keys(after) == _keys(run_audit(WorkspaceIndex(root).index_all()))


def test_an_edit_of_a_model_keeps_the_outcomes_of_the_rules_that_read_only_the_migrations(tmp_path: Path, monkeypatch):
    root = write_files(tmp_path / "service", {**FILES, "migrations/versions/0003_index.py": (
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = '0003'\ndown_revision = '0002'\n\n\n"
        "def upgrade():\n    op.create_index('ix_teams_name', 'teams', ['name'])\n"
        "    op.add_column('teams', sa.Column('created', sa.DateTime()))\n\n\n"
        "def downgrade():\n    op.drop_column('teams', 'created')\n    op.drop_index('ix_teams_name', 'teams')\n")})
    index = WorkspaceIndex(root)
    kept = KeptRules()
    run_audit(index.index_all(), kept=kept, text_of=index.text_of)
    migrations, schema = kept.migrations, kept.schema
    migration_rules = {code for code, outcome in migrations.outcomes.items() if outcome[0] == "found" and outcome[1]}
    assert "SL505" in migration_rules  # an index built without CONCURRENTLY, whatever the models say
    ran: list[str] = []
    for rule in all_rules():
        check = rule.check
        monkeypatch.setattr(rule, "check", lambda self, context, check=check: (ran.append(self.code), check(self, context))[1])
    # the models declare the revision's timestamp column: SL201 reports it where the models declare it
    edited = FILES["app/models.py"].replace("String\n", "DateTime, String\n") + "    created = Column(DateTime)\n"
    after = run_audit(index.update_file("app/models.py", edited), kept=kept, text_of=index.text_of)
    assert kept.migrations is migrations and kept.schema is not schema
    assert ran and not migration_rules & set(ran)
    (root / "app/models.py").write_text(edited, encoding="utf-8")
    assert [f.location.path for f in after.findings if f.rule == "SL201"] == ["app/models.py"]
    assert _keys(after) == _keys(run_audit(WorkspaceIndex(root).index_all()))


def test_an_edit_of_a_model_a_history_takes_as_there_walks_the_migrations_as_before(tmp_path: Path, monkeypatch):
    """A history whose revisions change a table none of them creates starts from the models' tables
    (ExistingTables, a database `create_all()` made): an edit of that model changes the history's
    first step, not what the walk of the migrations reads (dispatch: 5-8 ms of every such edit)."""
    root = write_files(tmp_path / "service", {
        "app/models.py": FILES["app/models.py"], "migrations/env.py": FILES["migrations/env.py"],
        "migrations/versions/0001_index.py": (
            "from alembic import op\n\nrevision = '0001'\ndown_revision = None\n\n\n"
            "def upgrade():\n    op.create_index('ix_teams_name', 'teams', ['name'])\n\n\n"
            "def downgrade():\n    op.drop_index('ix_teams_name', 'teams')\n")})
    index = WorkspaceIndex(root)
    kept = KeptRules()
    model = index.index_all()
    assert isinstance(model.steps[0].operations[0], ExistingTables)
    run_audit(model, kept=kept, text_of=index.text_of)
    walks: list[int] = []
    walk = context.walk_migrations
    monkeypatch.setattr(context, "walk_migrations", lambda *args, **kwargs: (walks.append(1), walk(*args, **kwargs))[1])
    edited = FILES["app/models.py"] + "    code = Column(String(8))\n"
    after = run_audit(index.update_file("app/models.py", edited), kept=kept, text_of=index.text_of)
    assert not walks and after.findings
    (root / "app/models.py").write_text(edited, encoding="utf-8")
    assert _keys(after) == _keys(run_audit(WorkspaceIndex(root).index_all()))
