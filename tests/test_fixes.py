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
