"""The outcomes kept across audits (audit.KeptRules) on the benchmark's generated workspace: after
any sequence of edits of its models, revisions and SQL migrations, audited one by one as the
language server audits them, the findings equal those of a fresh index of the edited files."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import bench_generator, buffers_over_disk, fresh_model

MODEL_ANCHOR = "primary_key=True)\n"


@pytest.fixture(autouse=True)
def walk_checkpoints_every_few_steps(monkeypatch):
    """An edit walks the migrations again from the checkpoint before it: with checkpoints every
    few steps, the edits below resume walks from the middle of the history."""
    from schemalens.analyzers.schema import migration_walk

    monkeypatch.setattr(migration_walk, "CHECKPOINT_EVERY", 4)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return bench_generator().generate_workspace(tmp_path_factory.mktemp("generated"), models=12, revisions=30, sql=6)


def _edit(workspace, kind: str, number: int) -> tuple[str, str, str]:
    """(path, text to find, what replaces it) of one edit; "" finds the file's start."""
    model = workspace.model_files[number % len(workspace.model_files)]
    revision = workspace.revision_files[-1 - number % 8]
    table = workspace.table_of_revision[revision]
    sql = workspace.sql_files[number % len(workspace.sql_files)]
    return {
        # a model column: the models' layer changes, the database the migrations build does not
        "model column": (model, MODEL_ANCHOR, f"{MODEL_ANCHOR}    edit_{number} = db.Column(db.DateTime, nullable=True)\n"),
        # lines above a model: every location below moves
        "model comment": (model, "", f"# edit {number}\n"),
        # a revision that adds a column (the models lack it) and locks the table doing so
        "revision column": (revision, "def upgrade():\n",
                            f"def upgrade():\n    op.add_column('{table}', sa.Column('edit_{number}', sa.Text(), nullable=True))\n"),
        # an index built in a SQL migration
        "sql index": (sql, "", f"CREATE INDEX edit_{number}_idx ON report_0001 (id);\n"),
        # lines above a SQL migration's statements
        "sql comment": (sql, "", f"-- edit {number}\n"),
        # env.py sets the timeouts for every revision: the lock findings of every revision go
        "env timeouts": ("migrations/env.py", "", "# connection.exec_driver_sql(\"SET lock_timeout = '5s'; "
                                                  "SET statement_timeout = '1min'\")\n"),
    }[kind]


def _keys(model, texts: dict[str, str], kept=None) -> tuple[list[tuple], tuple]:
    """The findings, and what the report says of checks held back, with `texts` as the editor's
    buffers (env.py is read as a text, not parsed)."""
    audit = run_audit(model, kept=kept, text_of=buffers_over_disk(model.root, texts))
    return ([(f.rule, f.location, f.title, f.message, f.severity, tuple(r.location for r in f.related))
             for f in audit.findings], audit.held_back)


KINDS = ("model column", "model comment", "revision column", "sql index", "sql comment", "env timeouts")


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=6))
@example(kinds=["model column", "sql index", "model comment", "revision column", "model column", "sql comment"])
@example(kinds=["revision column", "env timeouts"])
def test_findings_after_edits_equal_a_fresh_index(workspace, kinds):
    index = WorkspaceIndex(workspace.root, workers=1)
    kept = KeptRules()
    _keys(index.index_all(), {}, kept)
    texts: dict[str, str] = {}
    for number, kind in enumerate(kinds):
        path, old, new = _edit(workspace, kind, number)
        text = texts.get(path) or (workspace.root / path).read_text(encoding="utf-8")
        texts[path] = text.replace(old, new, 1) if old else new + text
        edited = _keys(index.update_file(path, texts[path]), texts, kept)
    assert edited == _keys(fresh_model(workspace.root, texts, workers=1), texts)
