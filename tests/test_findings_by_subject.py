"""What the rules found per table, kept across audits (AuditContext.per_subject): an edit of one
model makes again only the findings of the table it changes; what a table's findings also depend
on (the code's SQL inserts, the code naming a legacy table) is part of what they are kept by.
Each audit kept across edits equals a fresh audit of the same texts."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.rules.migrations.missing_lock_timeout import _legacy_drop
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import write_files

MODELS = "app/models.py"
SERVICE = "app/imports.py"


def _model(name: str, table: str) -> str:
    return (f"class {name}(Base):\n    __tablename__ = '{table}'\n    id = Column(Integer, primary_key=True)\n"
            "    status = Column(String(20), default='new')\n    seen_at = Column(DateTime)\n")


def _created(table: str) -> str:
    return (f"    op.create_table('{table}', sa.Column('id', sa.Integer(), primary_key=True),\n"
            "                    sa.Column('status', sa.String(20), server_default='old'),\n"
            "                    sa.Column('seen_at', sa.DateTime()), sa.Column('legacy', sa.Text()))\n")


FILES = {
    MODELS: ("from sqlalchemy import Column, DateTime, Integer, String\nfrom sqlalchemy.orm import declarative_base\n\n"
             "Base = declarative_base()\n\n\n" + _model("Team", "teams") + "\n\n" + _model("Player", "players")),
    SERVICE: "def load(connection, rows):\n    return len(rows)\n",
    "migrations/env.py": "from alembic import context\ncontext.run_migrations()\n",
    "migrations/versions/0001_init.py": (
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = '0001'\ndown_revision = None\n\n\n"
        "def upgrade():\n" + _created("teams") + _created("players") + "\n\ndef downgrade():\n    pass\n"),
}


def _keys(result) -> list[tuple]:
    return [(f.rule, f.location, f.message, f.severity, f.related) for f in result.findings]


def _fresh(root: Path, texts: dict[str, str], merged: bool = True):
    for path, text in texts.items():
        (root / path).write_text(text, encoding="utf-8")
    return run_audit(WorkspaceIndex(root).index_all(), merged=merged)


def test_an_edit_of_one_model_makes_again_only_the_findings_of_its_table(tmp_path: Path):
    root = write_files(tmp_path / "app", FILES)
    index = WorkspaceIndex(root)
    kept = KeptRules()
    before = run_audit(index.index_all(), kept=kept, text_of=index.text_of, merged=False)
    teams = index.model.orm.tables["teams"]
    found_before = {(f.rule, f.table, f.column): f for f in before.findings if f.rule in ("SL201", "SL521")}
    assert {("SL521", "players", "legacy"), ("SL521", "teams", "legacy"), ("SL201", "players", "seen_at"),
            ("SL201", "teams", "seen_at")} <= set(found_before)

    edited = FILES[MODELS] + "    note = Column(String(200))\n"  # players, the last model
    after = run_audit(index.update_file(MODELS, edited), kept=kept, text_of=index.text_of, merged=False)

    assert index.model.orm.tables["teams"] is teams  # a rebuild keeps the object of a table it leaves equal
    found_after = {(f.rule, f.table, f.column): f for f in after.findings if f.rule in ("SL201", "SL521")}
    assert ("SL521", "players", "note") in found_after
    for key, finding in found_after.items():
        assert (finding is found_before.get(key)) == (key[1] == "teams"), key  # taken back for teams only
    assert _keys(after) == _keys(_fresh(root, {MODELS: edited}, merged=False))


def test_the_findings_of_a_table_follow_what_the_code_does_with_it(tmp_path: Path):
    """SL521 leaves a server default the model fills client-side alone, unless code inserts into
    the table with SQL: an edit of that code changes the table's findings, its model unchanged."""
    root = write_files(tmp_path / "app", FILES)
    index = WorkspaceIndex(root)
    kept = KeptRules()

    def defaults(result) -> set[str]:
        return {f.table for f in result.findings if f.rule == "SL521" and "DEFAULT" in f.title}

    assert defaults(run_audit(index.index_all(), kept=kept, text_of=index.text_of)) == set()
    inserting = FILES[SERVICE].replace("    return len(rows)", "    connection.execute('INSERT INTO players (id) VALUES (%s)', rows)")
    after = run_audit(index.update_file(SERVICE, inserting), kept=kept, text_of=index.text_of)
    assert defaults(after) == {"players"}
    assert _keys(after) == _keys(_fresh(root, {SERVICE: inserting}))
    again = run_audit(index.update_file(SERVICE, FILES[SERVICE]), kept=kept, text_of=index.text_of)
    assert defaults(again) == set()
    assert _keys(again) == _keys(_fresh(root, {SERVICE: FILES[SERVICE]}))


def test_a_legacy_table_is_in_use_while_code_names_it(tmp_path: Path):
    """SL515 leaves alone the drop of a legacy table no code names; the names the code gives are
    kept from one audit to the next by the texts they were read from."""
    files = {**_legacy_drop("legacy_events"), SERVICE: "def load(connection):\n    return None\n"}
    root = write_files(tmp_path / "app", files)
    index = WorkspaceIndex(root)
    kept = KeptRules()

    def locked(result) -> set[str]:
        return {f.table for f in result.findings if f.rule == "SL515"}

    assert locked(run_audit(index.index_all(), kept=kept, text_of=index.text_of)) == set()
    naming = "def load(connection):\n    return connection.execute('SELECT count(*) FROM legacy_events')\n"
    after = run_audit(index.update_file(SERVICE, naming), kept=kept, text_of=index.text_of)
    assert locked(after) == {"legacy_events"}
    assert _keys(after) == _keys(_fresh(root, {SERVICE: naming}))
    again = run_audit(index.update_file(SERVICE, files[SERVICE]), kept=kept, text_of=index.text_of)
    assert locked(again) == set()
    assert _keys(again) == _keys(_fresh(root, {SERVICE: files[SERVICE]}))
