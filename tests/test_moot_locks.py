"""A lock finding on a table a later migration dropped is moot: nothing is left to lock or to
change (audit._moot_lock, AuditContext.dropped_later); a table renamed since is still there."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules import rule_by_code
from schemalens.analyzers.rules.migrations.safety import ALEMBIC_BASE
from schemalens.analyzers.workspace.index import WorkspaceIndex


def _history(tmp_path: Path, later: str) -> Path:
    """a1 creates the tables, b2 adds a column to orders without lock_timeout, c3 runs `later`."""
    files = dict(ALEMBIC_BASE)
    for revision, down, body in (("b2", "a1", "    op.add_column('orders', sa.Column('channel', sa.Text()))"),
                                 ("c3", "b2", later)):
        files[f"migrations/versions/{revision}_change.py"] = (
            f"from alembic import op\nimport sqlalchemy as sa\nrevision = {revision!r}\ndown_revision = {down!r}\n\n"
            f"def upgrade():\n{body}\n\ndef downgrade():\n    pass\n")
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    return tmp_path


def _locked_tables(root: Path) -> list[tuple[str, str]]:
    result = run_audit(WorkspaceIndex(root).index_all(), rules=[rule_by_code("SL515")])
    return [(Path(finding.location.path).name, finding.table) for finding in result.findings]


def test_a_lock_on_a_table_a_later_migration_drops_is_not_reported(tmp_path):
    # the DROP TABLE itself locks the table while the code still uses it: reported
    assert _locked_tables(_history(tmp_path / "dropped", "    op.drop_table('orders')")) == [("c3_change.py", "orders")]


def test_a_lock_on_a_table_still_there_or_renamed_since_is_reported(tmp_path):
    assert _locked_tables(_history(tmp_path / "kept", "    pass")) == [("b2_change.py", "orders")]
    renamed = _locked_tables(_history(tmp_path / "renamed", "    op.rename_table('orders', 'purchases')"))
    assert ("b2_change.py", "orders") in renamed
