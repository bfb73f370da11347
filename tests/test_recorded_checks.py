"""What the rules found step by step and table by table, kept across audits (rules/recorded.py):
an edit of one revision makes again only the findings of its step and of the table it changes; a
step whose operations are unchanged is checked again when an answer it asked for changed (the
text of env.py, a table an earlier revision changes). Each audit kept across edits equals a fresh
audit of the same texts."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.rules.migrations.safety import young_table_example
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import buffers_over_disk, write_files

EDITED = "migrations/versions/c3_change.py"
LATER = "migrations/versions/d4_later.py"
ENV = "migrations/env.py"


def _later(body: str) -> str:
    return ('"""d4\n\nCreate Date: 2024-06-01 09:00:00.000000\n"""\nfrom alembic import op\nimport sqlalchemy as sa\n'
            f"revision = 'd4'\ndown_revision = 'c3'\n\ndef upgrade():\n{body}\n\ndef downgrade():\n    pass\n")


def _files() -> dict[str, str]:
    # `orders` is three months old when d4 indexes it, and in use (a model maps it): SL505 and SL515
    files = young_table_example("    op.add_column('orders', sa.Column('channel', sa.String(20)))",
                                written="2024-03-05 10:00", lock_timeout=False)
    files[LATER] = _later("    op.create_index('ix_orders_status', 'orders', ['status'])")
    files["app/models.py"] = ("from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n"
                              "Base = declarative_base()\n\nclass Order(Base):\n    __tablename__ = 'orders'\n"
                              "    id = Column(Integer, primary_key=True)\n")
    return files


def _keys(result) -> list[tuple]:
    return [(f.rule, f.location, f.message, f.severity, f.related) for f in result.findings]


def _audits(root: Path, edits: list[tuple[str, str]]):
    """The audit kept across `edits` ((path, new text), one by one), and a fresh audit of the
    result; both read the edited texts."""
    index = WorkspaceIndex(root, workers=1)
    kept = KeptRules()
    texts: dict[str, str] = {}
    text_of = buffers_over_disk(root, texts)
    audit = run_audit(index.index_all(), kept=kept, text_of=text_of)
    for path, text in edits:
        texts[path] = text
        audit = run_audit(index.update_file(path, text), kept=kept, text_of=text_of)
    fresh = WorkspaceIndex(root, workers=1)
    fresh.index_all()
    for path, text in texts.items():
        fresh.update_file(path, text)
    return audit, run_audit(fresh.model, text_of=text_of), kept


def test_an_edit_of_one_revision_checks_again_only_its_step_the_steps_that_read_what_it_changed_and_its_table(tmp_path: Path):
    files = _files()
    write_files(tmp_path, files)
    index = WorkspaceIndex(tmp_path, workers=1)
    kept = KeptRules()
    run_audit(index.index_all(), kept=kept)
    before = dict(kept.by_check)
    run_audit(index.update_file(EDITED, files[EDITED].replace("def upgrade():\n", "def upgrade():\n    pass\n")), kept=kept)
    numbers = {step.path: number for number, step in enumerate(index.model.steps)}
    again = {key[2] for key, found in kept.by_check.items() if before.get(key) is not found}
    taken_back = {key[2] for key, found in kept.by_check.items() if before.get(key) is found}
    # the checks of single tables: those of `orders` only, which changed
    assert {subject for subject in again if isinstance(subject, str)} == {"orders"}
    assert "customers" in taken_back
    again, taken_back = ({subject for subject in subjects if isinstance(subject, int)} for subjects in (again, taken_back))
    # d4's checks that asked about `orders`, whose column c3 adds (its line moved), run again; the
    # others, and every check of a1 and b2, asked nothing that changed
    assert again == {numbers[EDITED], numbers[LATER]}
    assert taken_back == {numbers["migrations/versions/a1_customers.py"], numbers["migrations/versions/b2_orders.py"],
                          numbers[LATER]}


def test_an_edit_that_moves_a_revisions_lines_moves_its_findings(tmp_path: Path):
    files = _files()
    write_files(tmp_path, files)
    edited = files[LATER].replace("def upgrade():\n", "def upgrade():\n    # the index the reports need\n")
    audit, fresh, _kept = _audits(tmp_path, [(LATER, edited)])
    assert {f.rule for f in audit.findings if f.location.path == LATER} >= {"SL505", "SL515"}
    assert _keys(audit) == _keys(fresh)


def test_a_step_is_checked_again_when_env_py_sets_the_timeout(tmp_path: Path):
    files = _files()
    write_files(tmp_path, files)
    audit, fresh, _kept = _audits(tmp_path, [(ENV, "connection.exec_driver_sql(\"SET lock_timeout = '5s'\")\n")])
    assert not [f for f in audit.findings if f.rule == "SL515"]
    assert _keys(audit) == _keys(fresh)


def test_an_audit_leaves_no_cycle_that_keeps_its_model_alive(tmp_path: Path, monkeypatch):
    # The language server collects the oldest generation only when the user pauses: an audit's
    # context (and the model it holds) in a reference cycle would stay until then, edit after edit.
    from schemalens.analyzers.rules import context as context_module

    write_files(tmp_path, _files())
    model = WorkspaceIndex(tmp_path, workers=1).index_all()
    made = []
    original = context_module.AuditContext.__init__

    def remembered(self, *args, **options):
        original(self, *args, **options)
        made.append(weakref.ref(self))
    monkeypatch.setattr(context_module.AuditContext, "__init__", remembered)
    gc.disable()
    try:
        run_audit(model, kept=KeptRules())
        assert made and all(reference() is None for reference in made)
    finally:
        gc.enable()
