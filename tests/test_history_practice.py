"""A safety practice a whole migration history goes without is one finding, at its newest
migration, the others its `also:` places (rules/migrations/history_practice.py); a history that
takes it up keeps a finding for each later migration that does not follow it, and says those
before it once, at P2."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def _practice_since(finding) -> list[str]:
    return [Path(related.location.path).name for related in finding.related if related.label == "the practice followed from here on"]


def test_a_history_that_takes_up_lock_timeout_says_the_migrations_before_once_and_each_slip_after(tmp_path):
    bodies = [ADD_COLUMN.format(n=n) for n in range(3)] + [SET_LOCK_TIMEOUT + ADD_COLUMN.format(n=3), ADD_COLUMN.format(n=4)]
    before, slip = sorted(_findings(_history(tmp_path, bodies), "SL515"), key=lambda f: f.location.path)
    assert Path(before.location.path).name == "r4_change.py" and before.severity == "P2"
    assert sorted(_places(before)) == ["r2_change.py", "r3_change.py"] and _practice_since(before) == ["r5_change.py"]
    assert "before the history took up the practice at migrations/versions/r5_change.py:" in before.title
    assert "(and 2 more like it)" in before.title
    assert Path(slip.location.path).name == "r6_change.py" and "before the history" not in slip.title and not _places(slip)


def test_one_migration_before_the_practice_is_said_alone_at_p2(tmp_path):
    bodies = [ADD_COLUMN.format(n=0), SET_LOCK_TIMEOUT + ADD_COLUMN.format(n=1)]
    [before] = _findings(_history(tmp_path, bodies), "SL515")
    assert Path(before.location.path).name == "r2_change.py" and before.severity == "P2" and not _places(before)
    assert before.title.endswith("before the history took up the practice at migrations/versions/r3_change.py:7")


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
    [before] = _findings(_history(tmp_path / "taken_up", indexes + [concurrent]), "SL505")
    assert before.severity == "P2" and len(_places(before)) == 2 and _practice_since(before) == ["r5_change.py"]
    found = _findings(_history(tmp_path / "slips", [concurrent] + indexes), "SL505")
    assert len(found) == 3 and not any(_places(f) for f in found) and {f.severity for f in found} == {"P1"}


def test_a_statement_timeout_for_every_revision_caps_a_blocking_build_one_step_lower(tmp_path):
    # warehouse: env.py sets statement_timeout (and lock_timeout) on the connection every revision runs on
    concurrent = ("    with op.get_context().autocommit_block():\n"
                  "        op.create_index('orders_customer', 'orders', ['customer_id'], postgresql_concurrently=True)")
    plain = "    op.create_index('orders_status', 'orders', ['status'])"
    [slip] = _findings(_history(tmp_path / "plain", [concurrent, plain]), "SL505")
    assert slip.severity == "P1" and "minutes" in str(slip.impact)
    root = _history(tmp_path / "timed", [concurrent, plain])
    (root / "migrations/env.py").write_text('connection.execute(text("SET statement_timeout = 5000"))\n', encoding="utf-8")
    [capped] = _findings(root, "SL505")
    assert capped.severity == "P2" and "outlasts statement_timeout" in str(capped.impact)
    [in_the_revision] = _findings(_history(tmp_path / "set", [concurrent, "    op.execute('SET statement_timeout = 5000')\n" + plain]),
                                  "SL505")
    assert in_the_revision.severity == "P2"
    # a revision that raises it for its own build (warehouse's a3b1c4d5e6f7, on releases: 11 s) is no hiccup
    [raised] = _findings(_history(tmp_path / "raised", [concurrent, "    op.execute('SET statement_timeout = 11000')\n" + plain]),
                         "SL505")
    assert raised.severity == "P1"


def test_a_lock_timeout_for_every_revision_bounds_the_queue_behind_a_drop_of_an_index(tmp_path):
    drop = "    op.drop_index('ix_orders_status', table_name='orders')"
    root = _history(tmp_path, ["    op.create_index('ix_orders_status', 'orders', ['status'])", drop])
    assert len(_findings(root, "SL539")) == 1
    (root / "migrations/env.py").write_text('connection.execute(text("SET lock_timeout = 4000"))\n', encoding="utf-8")
    assert _findings(root, "SL539") == []


ADD_FOREIGN_KEY = "    op.create_foreign_key(None, 'orders', 'customers', ['c{n}'], ['id'])"
SET_NOT_NULL = "    op.alter_column('orders', 'c{n}', nullable=False)"
ADD_UNIQUE = "    op.create_unique_constraint('uq_orders_c{n}', 'orders', ['c{n}'])"
# each rule's way, in a revision of its own
NOT_VALID_FOREIGN_KEY = "    op.execute('ALTER TABLE orders ADD CONSTRAINT fk_orders_c9 FOREIGN KEY (c9) REFERENCES customers (id) NOT VALID')"
NOT_NULL_CHECK = "    op.execute('ALTER TABLE orders ADD CONSTRAINT orders_c9_not_null CHECK (c9 IS NOT NULL) NOT VALID')"
UNIQUE_USING_INDEX = ("    with op.get_context().autocommit_block():\n"
                      "        op.create_index('orders_c9_idx', 'orders', ['c9'], unique=True, postgresql_concurrently=True)\n"
                      "    op.execute('ALTER TABLE orders ADD CONSTRAINT orders_c9_key UNIQUE USING INDEX orders_c9_idx')")
BACKFILL = "    op.add_column('orders', sa.Column('d{n}', sa.Integer()))\n    op.execute('UPDATE orders SET d{n} = c{n}')"
BACKFILL_ON_ITS_OWN = "    op.execute('UPDATE orders SET c9 = 0 WHERE c9 IS NULL')"
BACKFILL_AFTER_A_COMMIT = ("    op.add_column('orders', sa.Column('e', sa.Integer()))\n"
                           "    with op.get_context().autocommit_block():\n        op.execute('UPDATE orders SET e = c9')")


@pytest.mark.parametrize("code, body, practice", [
    ("SL507", ADD_FOREIGN_KEY, NOT_VALID_FOREIGN_KEY),
    ("SL508", SET_NOT_NULL, NOT_NULL_CHECK),
    ("SL514", ADD_UNIQUE, UNIQUE_USING_INDEX),
    ("SL516", BACKFILL, BACKFILL_AFTER_A_COMMIT),
])
def test_the_lock_rules_with_a_way_of_their_own_say_a_history_without_it_once(tmp_path, code, body, practice):
    columns = ["    op.add_column('orders', sa.Column('c{n}', sa.Integer()))".format(n=n) for n in range(10)]
    # columns added in a migration of their own: the constraints come later, on a table with rows
    setup = ["\n".join(columns)]
    changes = [body.format(n=n) for n in range(3)]
    [finding] = _findings(_history(tmp_path / "never", setup + changes), code)
    assert Path(finding.location.path).name == "r5_change.py" and len(_places(finding)) == 2
    assert "no migration of migrations " in finding.title
    [before] = _findings(_history(tmp_path / "taken_up", setup + changes + [practice]), code)
    assert before.severity == "P2" and _practice_since(before) == ["r6_change.py"]
    found = _findings(_history(tmp_path / "slips", setup + [practice] + changes), code)
    assert len(found) == 3 and not any(f.severity == "P2" for f in found)


@pytest.mark.parametrize("code, body, half_way", [
    # validated in the transaction that added it: the ADD's lock is held through the scan
    ("SL507", ADD_FOREIGN_KEY, NOT_VALID_FOREIGN_KEY + "\n    op.execute('ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_c9')"),
    # a migration that only changes rows: one transaction as long as the UPDATE (and data fixes are written so)
    ("SL516", BACKFILL, BACKFILL_ON_ITS_OWN),
    # the index the key is added with was built under a lock
    ("SL514", ADD_UNIQUE, "    op.create_index('orders_c9_idx', 'orders', ['c9'], unique=True)\n"
                          "    op.execute('ALTER TABLE orders ADD CONSTRAINT orders_c9_key UNIQUE USING INDEX orders_c9_idx')"),
])
def test_the_way_written_half_way_is_not_the_practice(tmp_path, code, body, half_way):
    columns = ["    op.add_column('orders', sa.Column('c{n}', sa.Integer()))".format(n=n) for n in range(10)]
    found = _findings(_history(tmp_path, ["\n".join(columns)] + [body.format(n=n) for n in range(3)] + [half_way]), code)
    [finding] = [f for f in found if "no migration of migrations " in f.title]
    assert len(_places(finding)) == 2 and finding.severity != "P2"
    # SL507's own finding on the VALIDATE stands apart from the history's
    assert len(found) == (2 if code == "SL507" else 1)



def test_a_folder_of_version_folders_is_one_history(tmp_path):
    # documenso (Prisma): each migration.sql is in a folder of its own, the history is their parent's
    folder = tmp_path / "prisma" / "migrations"
    migrations = ["CREATE TABLE orders (id bigint PRIMARY KEY);\n"] + [
        f"ALTER TABLE orders ADD COLUMN c{n} text;\n" for n in range(3)]
    for number, text in enumerate(migrations):
        version = folder / f"2024010{number + 1}000000_change_{number}"
        version.mkdir(parents=True)
        (version / "migration.sql").write_text(text, encoding="utf-8")
    [finding] = _findings(tmp_path, "SL515")
    assert finding.location.path == "prisma/migrations/20240104000000_change_3/migration.sql"
    assert sorted(Path(related.location.path).parent.name for related in finding.related
                  if related.label.startswith(ALSO)) == ["20240102000000_change_1", "20240103000000_change_2"]
    assert "no migration of prisma/migrations sets lock_timeout (and 2 more like it)" in finding.title
