"""Every quick fix, applied to the file and audited again, removes the finding it was for."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.fixes import apply_edit, quick_fixes
from schemalens.analyzers.workspace.index import WorkspaceIndex

MODELS = """import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    created_at = sa.Column(sa.DateTime, nullable=False)
"""


def _findings(root: Path):
    return run_audit(WorkspaceIndex(root).index_all()).findings


@pytest.mark.parametrize("rule", ["SL201", "SL302", "SL401"])
@pytest.mark.parametrize("kind", ["local", "suppression"])
def test_applying_a_fix_removes_its_finding(tmp_path: Path, rule: str, kind: str):
    (tmp_path / "app").mkdir()
    models = tmp_path / "app" / "models.py"
    models.write_text(MODELS)
    finding = next(f for f in _findings(tmp_path) if f.rule == rule)
    fixes = quick_fixes(finding, models.read_text())
    fix = fixes[0] if kind == "local" else fixes[-1]
    assert (fix.applicability == "display") == (kind == "suppression")
    models.write_text(apply_edit(models.read_text(), fix.edit))
    remaining = [f for f in _findings(tmp_path) if f.rule == rule and f.location.line == finding.location.line]
    assert remaining == []


def test_a_second_suppression_extends_the_existing_comment(tmp_path: Path):
    (tmp_path / "app").mkdir()
    models = tmp_path / "app" / "models.py"
    models.write_text(MODELS)
    for rule in ("SL302", "SL401"):
        finding = next(f for f in _findings(tmp_path) if f.rule == rule)
        models.write_text(apply_edit(models.read_text(), quick_fixes(finding, models.read_text())[-1].edit))
    assert "# schemalens: ignore[SL302, SL401]" in models.read_text()


REVISIONS = {
    "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
    "migrations/env.py": "",
    "migrations/versions/a1_orders.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                         "def upgrade():\n    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
                                         "                    sa.Column('status', sa.Text()))\n\n"
                                         "def downgrade():\n    op.drop_table('orders')\n"),
}
INDEX_CALLS = {
    "one line": "    op.create_index('ix_orders_status', 'orders', ['status'])  # hot path\n",
    "several lines": "    op.create_index(\n        'ix_orders_status',\n        'orders',\n        ['status'],\n    )\n",
}


@pytest.mark.parametrize("call", sorted(INDEX_CALLS))
def test_the_concurrent_index_fix_wraps_the_call_in_an_autocommit_block(tmp_path: Path, call: str):
    for path, text in REVISIONS.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    revision = tmp_path / "migrations/versions/b2_index.py"
    revision.write_text("from alembic import op\nrevision = 'b2'\ndown_revision = 'a1'\n\n"
                        f"def upgrade():\n{INDEX_CALLS[call]}\n\ndef downgrade():\n"
                        "    op.drop_index('ix_orders_status', table_name='orders')\n")
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL505")
    fix = quick_fixes(finding, revision.read_text())[0]
    assert fix.applicability == "safe"
    revision.write_text(apply_edit(revision.read_text(), fix.edit))
    text = revision.read_text()
    compile(text, str(revision), "exec")
    assert "    with op.get_context().autocommit_block():\n        op.create_index(" in text
    assert "postgresql_concurrently=True" in text
    assert call != "one line" or text.count("# hot path") == 1
    assert [f for f in _findings(tmp_path) if f.rule == "SL505"] == []
