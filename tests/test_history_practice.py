"""A safety practice a whole migration history goes without is one finding, at its newest
migration, the others its `also:` places (rules/migrations/history_practice.py); a history that
follows it somewhere keeps a finding for each migration that does not."""

from __future__ import annotations

from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules import rule_by_code
from schemalens.analyzers.rules.base import ALSO, occurrences
from schemalens.analyzers.rules.migrations.safety import ALEMBIC_BASE
from schemalens.analyzers.workspace.index import WorkspaceIndex


def _history(tmp_path: Path, bodies: list[str]) -> Path:
    """The base revision a1 (customers, orders), then one revision per body, in order."""
    files = dict(ALEMBIC_BASE)
    down = "a1"
    for number, body in enumerate(bodies, start=2):
        revision = f"r{number}"
        files[f"migrations/versions/{revision}_change.py"] = (
            f"from alembic import op\nimport sqlalchemy as sa\nrevision = {revision!r}\ndown_revision = {down!r}\n\n"
            f"def upgrade():\n{body}\n\ndef downgrade():\n    pass\n")
        down = revision
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    return tmp_path


def _findings(root: Path, code: str) -> list:
    return [f for f in run_audit(WorkspaceIndex(root).index_all(), rules=[rule_by_code(code)]).findings if f.rule == code]


def _places(finding) -> list[str]:
    return [Path(related.location.path).name for related in finding.related if related.label.startswith(ALSO)]


ADD_COLUMN = "    op.add_column('orders', sa.Column('c{n}', sa.Text()))"
SET_LOCK_TIMEOUT = "    op.execute(\"SET lock_timeout = '5s'\")\n"


def test_a_history_that_never_sets_lock_timeout_is_one_finding_at_its_newest_migration(tmp_path):
    root = _history(tmp_path, [ADD_COLUMN.format(n=n) for n in range(3)])
    [finding] = _findings(root, "SL515")
    assert Path(finding.location.path).name == "r4_change.py"
    assert sorted(_places(finding)) == ["r2_change.py", "r3_change.py"]
    assert "no migration of migrations sets lock_timeout (and 2 more like it)" in finding.title


def test_a_history_that_sets_lock_timeout_somewhere_keeps_a_finding_per_migration_without(tmp_path):
    bodies = [ADD_COLUMN.format(n=n) for n in range(3)] + [SET_LOCK_TIMEOUT + ADD_COLUMN.format(n=3)]
    found = _findings(_history(tmp_path, bodies), "SL515")
    assert sorted(Path(f.location.path).name for f in found) == ["r2_change.py", "r3_change.py", "r4_change.py"]
    assert not any(_places(f) for f in found)


def test_fewer_than_three_are_each_their_own_finding(tmp_path):
    found = _findings(_history(tmp_path, [ADD_COLUMN.format(n=n) for n in range(2)]), "SL515")
    assert len(found) == 2 and not any(_places(f) for f in found)


def test_indexes_built_without_concurrently_in_a_history_that_never_builds_one_concurrently(tmp_path):
    indexes = [f"    op.create_index('orders_{column}', 'orders', [{column!r}])" for column in ("status", "total", "note")]
    concurrent = ("    with op.get_context().autocommit_block():\n"
                  "        op.create_index('orders_customer', 'orders', ['customer_id'], postgresql_concurrently=True)")
    [finding] = _findings(_history(tmp_path / "never", indexes), "SL505")
    assert Path(finding.location.path).name == "r4_change.py" and len(_places(finding)) == 2
    assert "no migration of migrations builds an index concurrently" in finding.title
    # the editor shows each place with its own column (base.occurrences)
    assert sorted((Path(place.location.path).name, place.column) for place in occurrences(finding)) == [
        ("r2_change.py", "status"), ("r3_change.py", "total"), ("r4_change.py", "note")]
    found = _findings(_history(tmp_path / "once", indexes + [concurrent]), "SL505")
    assert len(found) == 3 and not any(_places(f) for f in found)
