"""Revisions that call functions of other modules (migration_helpers.py), operations that run
only as the database is at run time (Revision.conditional), and what an operation not read for
want of a name may have made (NotReplayed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from schemalens.analyzers.extract.alembic_revisions import parse_revision, read_migration_helpers
from schemalens.analyzers.extract.python_source import parse_python
from schemalens.analyzers.schema.operations import HelperCall
from schemalens.analyzers.workspace.index import WorkspaceIndex

FIXTURE = Path(__file__).parent / "fixtures" / "alembic_helpers"
HEADER = "import sqlalchemy as sa\nfrom alembic import op\n"


def _helpers(text: str, path: str = "app/db/helpers.py"):
    source, _error = parse_python(text, path, numbered=False)
    return read_migration_helpers(source)


def _upgrade(body: str, imports: str = ""):
    text = HEADER + imports + "revision = 'r1'\ndown_revision = None\n\ndef upgrade():\n" + body + "\n"
    return parse_revision(text, "migrations/versions/r1.py").revision


def test_the_functions_of_a_module_that_imports_op_are_read_as_operations():
    helpers = _helpers(HEADER + "def create_tags():\n    op.create_table('tags', sa.Column('id', sa.Integer()))\n\n"
                       "def upgrade():\n    create_tags()\n    op.add_column('tags', sa.Column('label', sa.Text()))\n\n"
                       "def add_note(table):\n    op.add_column(table, sa.Column('note', sa.Text()))\n")
    by_name = {function.name: function for function in helpers.functions}
    assert [type(op).__name__ for op in by_name["upgrade"].operations] == ["CreateTable", "AddColumn"]
    assert ([type(op).__name__ for op in by_name["add_note"].operations], by_name["add_note"].unread) == (["NotReplayed"], 1)
    # the parameter's table: said (where a revision calls it with nothing), not replayed
    assert [error.location.line for error in by_name["add_note"].errors] == [11]
    assert by_name["upgrade"].errors == ()
    assert _helpers("import sqlalchemy as sa\n\ndef f():\n    pass\n") is None


def test_a_revision_keeps_calls_of_imported_functions_and_nothing_else():
    revision = _upgrade("    init_ops.upgrade()\n    add_note('orders')\n    helpers.more.f()\n"
                        "    inspector = sa.inspect(op.get_bind())\n    inspector.get_table_names()\n"
                        "    print('x')\n    local()\n",
                        "from app.db import init_ops\nfrom app.db.helpers import add_note\nimport app.db.helpers as helpers\n")
    assert [op.target for op in revision.upgrade if isinstance(op, HelperCall)] == [
        "app.db.init_ops.upgrade", "app.db.helpers.add_note", "app.db.helpers.more.f"]


def test_operations_under_a_condition_decided_at_run_time_are_conditional():
    revision = _upgrade(
        "    key = sa.inspect(op.get_bind()).get_pk_constraint('t')\n"
        "    if not key['constrained_columns']:\n"  # decided by the database: conditional
        "        op.create_primary_key('pk_t', 't', ['id'])\n"
        "    try:\n"
        "        op.drop_constraint('ck_legacy', 't', type_='check')\n"  # a failure is caught: conditional
        "    except Exception:\n"
        "        pass\n"
        "    if op.get_bind().dialect.name == 'postgresql':\n"  # the dialect: decided here
        "        op.add_column('t', sa.Column('a', sa.Integer()))\n"
        "    if not sa.inspect(op.get_bind()).has_table('legacy'):\n"  # an existence guard: IF NOT EXISTS
        "        op.create_table('legacy', sa.Column('id', sa.Integer()))\n"
        "    try:\n"
        "        op.add_column('t', sa.Column('b', sa.Integer()))\n"  # no handler: runs as written
        "    finally:\n"
        "        pass\n"
        "    try:\n"
        "        op.add_column('t', sa.Column('c', sa.Integer()))\n"  # raised again: runs as written
        "    except Exception:\n"
        "        log.exception('failed')\n"
        "        raise\n")
    assert [location.line for location in revision.conditional] == [9, 11]


def _index(tmp_path: Path) -> tuple[Path, WorkspaceIndex]:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    return root, WorkspaceIndex(root, cache_dir=None)


def test_a_revision_reads_the_functions_it_calls_and_the_database_has_their_tables(tmp_path: Path):
    _root, index = _index(tmp_path)
    model = index.index_all()
    assert sorted(model.database.tables) == ["accounts", "notes", "tags", "tasks", "workflow_runs"]
    assert "created_at" in {column.name for column in model.database.tables["accounts"].columns}
    # the operations are where they are written, and the revision file holds them
    initial = model.revision_files["migrations/versions/0001_initial.py"]
    assert {op.location.path for op in initial.upgrade} == {"app/db/init_ops.py"}
    # the primary key added only where there is none: its failure on a fresh database is none
    assert [error for error in model.errors if error.kind == "replay"] == []


def test_an_edit_of_a_called_function_is_read_in_every_revision_that_calls_it(tmp_path: Path):
    root, index = _index(tmp_path)
    index.index_all()
    path = "app/db/init_ops.py"
    text = (root / path).read_text()
    model = index.update_file(path, text.replace('    create_tags()\n', '    create_tags()\n'
                                                 '    op.create_table("labels", sa.Column("id", sa.Integer(), primary_key=True))\n'))
    assert "labels" in model.database.tables
    model = index.update_file(path, text.replace('    create_tags()\n', ''))
    assert sorted(model.database.tables) == ["accounts", "notes", "tasks", "workflow_runs"]


def test_a_call_that_passes_arguments_reads_the_function_with_them(tmp_path: Path):
    root, index = _index(tmp_path)
    helpers = root / "app" / "db" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\n\ndef add_note(table, *columns, kind=sa.Text()):\n"
                       "    op.add_column(table, sa.Column('note', kind))\n"
                       "    op.create_table(table + '_notes', *columns)\n")
    revision = root / "migrations" / "versions" / "0002_audit.py"
    revision.write_text(revision.read_text()
                        .replace("import add_audit_columns,", "import add_audit_columns, add_note,")
                        .replace('down_revision = "0001initial"\n', 'down_revision = "0001initial"\nTABLE = "accounts"\n')
                        .replace("    add_audit_columns()\n", "    add_audit_columns()\n    add_note(TABLE, sa.Column('id', sa.Integer()), "
                                 "kind=sa.String(80))\n    add_note(table_of_the_day())\n"))
    model = index.index_all()
    assert [column.type for column in model.database.tables["accounts"].columns if column.name == "note"] == ["character varying(80)"]
    assert [column.name for column in model.database.tables["accounts_notes"].columns] == ["id"]
    # the call whose table is known only at run time: said where the function is written
    said = [error for error in model.errors if error.location.path == "app/db/helpers.py"]
    assert {error.kind for error in said} == {"opaque"} and [error.location.line for error in said] == [20, 19, 20]
    assert model.revision_files["migrations/versions/0002_audit.py"].unread == ("upgrade", "upgrade")


def test_a_failure_on_what_an_operation_not_read_may_have_made_is_no_replay_error(tmp_path: Path):
    """nova creates its shadow tables under names computed at run time, then indexes them."""
    root, index = _index(tmp_path)
    revision = root / "migrations" / "versions" / "0002_audit.py"
    text = revision.read_text()
    index_shadow = '    op.create_index("ix_shadow_accounts_email", "shadow_accounts", ["email"])\n'
    revision.write_text(text.replace("def upgrade():\n", "def upgrade():\n" + index_shadow))
    model = index.index_all()
    assert [error.message for error in model.errors if error.kind == "replay"] == ['relation "shadow_accounts" does not exist']
    shadow = '    op.create_table("shadow_" + table_of_the_day(), sa.Column("email", sa.Text()))\n'
    revision.write_text(text.replace("def upgrade():\n", "def upgrade():\n" + shadow + index_shadow))
    model = index.index_all()
    assert [error.kind for error in model.errors if error.location.path == "migrations/versions/0002_audit.py"] == ["opaque"]
