"""The incremental index: what one edit recomputes, and bad input never stopping it."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemalens.analyzers.extract.alembic_revisions import parse_revision
from schemalens.analyzers.extract.sql_files import parse_sql
from schemalens.analyzers.workspace import cache
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.commands import main
from workspace_files import write_files

FIXTURES = Path(__file__).parent / "fixtures"
SERVICE = FIXTURES / "flask_service"
SQL_FIXTURES = sorted((FIXTURES / "sql_folder").rglob("*.sql")) + sorted(SERVICE.rglob("versions/*.py"))


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    return root


def test_editing_a_revision_replays_from_that_revision_on(tmp_path: Path):
    root = _copy(tmp_path)
    index = WorkspaceIndex(root)
    index.index_all()
    path = "migrations/versions/0003_rename.py"
    text = (root / path).read_text()
    model = index.update_file(path, text.replace('op.execute(ADD_NOTE)\n', 'op.execute(ADD_NOTE)\n    op.add_column("orders", sa.Column("extra", sa.Integer()))\n'))
    assert model.database.tables["orders"].column("extra") is not None
    assert index._replays["alembic"].replayed_steps <= 3


def test_a_model_edit_leaves_the_database_layer_alone(tmp_path: Path):
    root = _copy(tmp_path)
    index = WorkspaceIndex(root)
    before = index.index_all()
    path = "app/models/accounts.py"
    model = index.update_file(path, (root / path).read_text() + "\n\nclass Tag(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n")
    assert "tag" in model.orm.tables and "tag" not in before.orm.tables
    assert index._replays["alembic"].replayed_steps == 0 and model.database is before.database


def test_a_bug_in_the_model_reader_is_one_error_and_the_migrations_are_still_read(tmp_path: Path, monkeypatch):
    from schemalens.analyzers.extract import sqlalchemy_models

    def fails(self, relationships):
        raise TypeError("unhashable type")  # what a bug in library_tables once raised on ihatemoney
    monkeypatch.setattr(sqlalchemy_models._LayerBuilder, "library_tables", fails)
    model = WorkspaceIndex(_copy(tmp_path)).index_all()
    assert [e.message for e in model.errors if "could not build the schema of the models" in e.message]
    assert model.orm.tables == {} and model.database.tables  # the revisions are replayed all the same


def test_a_half_typed_line_keeps_the_last_good_model_of_that_file(tmp_path: Path):
    root = _copy(tmp_path)
    index = WorkspaceIndex(root)
    index.index_all()
    path = "app/models/accounts.py"
    model = index.update_file(path, (root / path).read_text() + "\nclass Broken(db.Model\n")
    assert "accounts" in model.orm.tables
    assert any(error.location.path == path and "syntax error" in error.message for error in model.errors)


def test_an_unsaved_buffer_wins_over_the_disk_until_it_is_closed(tmp_path: Path):
    root = _copy(tmp_path)
    index = WorkspaceIndex(root)
    index.index_all()
    path = "migrations/versions/0002_orders.py"
    edited = (root / path).read_text().replace('"state"', '"phase"', 1)
    assert index.update_file(path, edited).database.tables["orders"].column("status") is None
    assert index.update_file(path, None).database.tables["orders"].column("status") is not None


def test_a_revision_cycle_is_reported_and_the_rest_still_indexes(tmp_path: Path):
    root = _copy(tmp_path)
    first = root / "migrations/versions/0001_baseline.py"
    first.write_text(first.read_text().replace("down_revision = None", 'down_revision = "0003rename"'))
    model = WorkspaceIndex(root).index_all()
    assert any("cycle" in error.message for error in model.errors)
    assert main(["schema", str(root), "--no-cache"]) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SQL_FIXTURES), st.data())
def test_truncated_or_gutted_migration_files_never_raise(path: Path, data):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if data.draw(st.booleans()):
        broken = text[: data.draw(st.integers(0, len(text)))]
    else:
        removed = set(data.draw(st.lists(st.integers(0, max(len(lines) - 1, 0)), max_size=8)))
        broken = "".join(line for number, line in enumerate(lines) if number not in removed)
    if path.suffix == ".sql":
        parse_sql(broken, path.name)
    else:
        parse_revision(broken, path.name)


def _parsed_paths(index: WorkspaceIndex) -> list[str]:
    """The files `index` parses (not taken from memory or the disk cache) from now on."""
    parsed: list[str] = []
    parse_many = index._parse_many

    def counting(pending, progress):
        parsed.extend(job[0] for job in pending)
        return parse_many(pending, progress)

    index._parse_many = counting
    return parsed


def test_a_second_index_takes_every_file_from_the_disk_cache(tmp_path: Path):
    root = _copy(tmp_path)
    WorkspaceIndex(root, cache_dir=tmp_path / "cache").index_all()
    again = WorkspaceIndex(root, cache_dir=tmp_path / "cache")
    parsed = _parsed_paths(again)
    again.index_all()
    assert parsed == []


def test_a_file_the_parser_failed_on_is_read_again_by_the_next_index(tmp_path: Path, monkeypatch):
    """A parser that raised (once: a parse worker's import not ended yet) leaves the file
    unreadable for that index only: its failure is not kept in the parse cache."""
    from schemalens.analyzers.workspace import parse_jobs

    root = _copy(tmp_path)
    path = "app/models/accounts.py"
    parse_kind = parse_jobs._parse_kind

    def fails_on_the_models(kind, file_path, *arguments):
        if file_path == path:
            raise ImportError("cannot import name 'fingerprint' from partially initialized module 'pglast.parser'")
        return parse_kind(kind, file_path, *arguments)

    monkeypatch.setattr(parse_jobs, "_parse_kind", fails_on_the_models)
    failed = WorkspaceIndex(root, cache_dir=tmp_path / "cache", workers=1).index_all()
    assert "accounts" not in failed.orm.tables and any(error.location.path == path for error in failed.errors)
    monkeypatch.setattr(parse_jobs, "_parse_kind", parse_kind)
    again = WorkspaceIndex(root, cache_dir=tmp_path / "cache", workers=1)
    parsed = _parsed_paths(again)
    model = again.index_all()
    assert parsed == [path]
    assert "accounts" in model.orm.tables and not any(error.location.path == path for error in model.errors)


def test_a_cache_replaces_the_ones_other_versions_wrote_for_the_workspace(tmp_path: Path):
    root, cache = _copy(tmp_path), tmp_path / "cache"
    WorkspaceIndex(root, cache_dir=cache).index_all()
    written = sorted(cache.iterdir())
    assert [path.name.split(".", 1)[1] for path in written] == ["pickle", "rest.pickle"]
    workspace = written[0].name.rsplit("-", 1)[0]
    older = [cache / f"{workspace}-0123456789abcdef.pickle", cache / f"{workspace}-0123456789abcdef.rest.pickle",
             cache / f"{workspace}-0123456789abcdef.audit.pickle"]
    others = [cache / "another-0011223344556677-0123456789abcdef.pickle", cache / "notes.txt"]
    for path in older + others:
        path.write_bytes(b"")
    for path in written:
        path.unlink()
    WorkspaceIndex(root, cache_dir=cache).index_all()
    # the parse cache of another version is gone, both parts
    assert sorted(cache.iterdir()) == sorted([*written, older[2], *others])


def test_the_code_s_fingerprint_is_made_once_per_process(tmp_path: Path, monkeypatch):
    """Each cache's name carries a digest of SchemaLens's own source, made once per process, not
    once per cache named (a server start names three)."""
    made: list[Path] = []
    monkeypatch.setattr(cache, "fingerprint_of", lambda package, record: made.append(package) or "f1")
    cache._code_fingerprint.cache_clear()
    try:
        first = cache.cache_file(tmp_path, tmp_path / "a", ".pickle")
        second = cache.cache_file(tmp_path, tmp_path / "b", ".rest.pickle")
    finally:
        cache._code_fingerprint.cache_clear()
    assert len(made) == 1 and first.name.endswith("-f1.pickle") and second.name.endswith("-f1.rest.pickle")


def test_the_fingerprint_is_kept_until_a_source_file_is_written_again(tmp_path: Path, monkeypatch):
    """The digest of the source is kept beside the bytecode and read back while no file was written
    since; a file written again is read again, even at its old size and modification time."""
    package = write_files(tmp_path / "package", {"a.py": "x = 1\n", "sub/b.py": "y = 2\n"})
    record = package / "__pycache__" / "code-fingerprint"
    reads: list[Path] = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: reads.append(path) or read_bytes(path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    first = cache.fingerprint_of(package, record)
    assert len(reads) == 2 and record.exists()
    reads.clear()
    assert cache.fingerprint_of(package, record) == first and reads == []
    changed = package / "sub" / "b.py"
    before = changed.stat()
    time.sleep(0.05)  # past the clock tick of the file's change time
    changed.write_text("y = 3\n")
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert changed.stat().st_size == before.st_size
    assert cache.fingerprint_of(package, record) != first and len(reads) == 2


def test_the_fingerprint_is_made_where_it_cannot_be_kept(tmp_path: Path, monkeypatch):
    package = write_files(tmp_path / "package", {"a.py": "x = 1\n"})
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    unkept = cache.fingerprint_of(package, package / "__pycache__" / "code-fingerprint")
    assert not (package / "__pycache__").exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (tmp_path / "file").write_text("")
    assert cache.fingerprint_of(package, tmp_path / "file" / "code-fingerprint") == unkept  # its folder is a file


def test_a_module_is_read_as_models_for_calls_that_declare_not_for_names_ending_like_them(tmp_path: Path):
    """A class named like a declaration (`ProjectColumn` in a generated GraphQL schema: prefect's is
    1 MB, read before the first look) or a UI component (`DatatableColumn(` in polar's back
    office) is no model module; `sa.Column(`, `Column(` and `Table(` are."""
    write_files(tmp_path, {
        "app/graphql_schema.py": "import sgqlc.types\n\n\nclass ProjectColumn(sgqlc.types.Type):\n    name = 1\n",
        "app/components.py": "from ui import datatable\n\ncolumns = [datatable.DatatableColumn('id')]\n",
        "app/models.py": "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
                         "users = sa.Table('users', metadata, sa.Column('id', sa.Integer, primary_key=True))\n",
        "app/tables.py": "from sqlalchemy import Column, Integer\n\nID = Column(Integer)\n",
    })
    index = WorkspaceIndex(tmp_path)
    index.index_all()
    assert {path: parsed.kind for path, parsed in index._files.items()} == {
        "app/graphql_schema.py": "python", "app/components.py": "python", "app/models.py": "model", "app/tables.py": "model"}


def test_saving_an_unchanged_python_file_parses_nothing(tmp_path: Path):
    root = _copy(tmp_path)
    index = WorkspaceIndex(root)
    index.index_all()
    path = next(p for p, f in index._files.items() if f.kind == "model")
    before = index._files[path]
    index.update_file(path, (root / path).read_text())
    assert index._files[path] is before


def test_rules_read_the_text_the_index_parsed_until_the_file_is_said_changed(tmp_path: Path):
    root = _copy(tmp_path)
    index = WorkspaceIndex(root)
    index.index_all()
    path = "app/models/accounts.py"
    parsed = (root / path).read_text()
    (root / path).write_text(parsed + "\n# changed on disk\n")
    assert index.text_of(path) == parsed  # the version the model holds, read once
    index.update_file(path, None)  # the editor's file watcher reports the change
    assert index.text_of(path).endswith("# changed on disk\n")


def _finding_keys(model) -> list[tuple]:
    from schemalens.analyzers.audit import run_audit

    return [(f.rule, f.location, f.title, f.severity) for f in run_audit(model).findings]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(("revision", "model", "service")), min_size=1, max_size=4))
def test_findings_after_edits_equal_a_fresh_audit(tmp_path_factory, kinds):
    """What is kept between edits (parse results, the query flow, per-text word sets) never makes an
    edited workspace's findings differ from those of a fresh index of the same files."""
    root = _copy(tmp_path_factory.mktemp("edits"))
    index = WorkspaceIndex(root)
    model = index.index_all()
    _finding_keys(model)
    paths = {"revision": "migrations/versions/0003_rename.py", "model": "app/models/accounts.py",
             "service": next(str(p.relative_to(root)) for p in sorted((root / "app").rglob("*.py"))
                             if "models" not in p.parts)}
    edits = {"revision": ("def upgrade():\n", "def upgrade():\n    op.add_column('groups', sa.Column('rank_{n}', sa.Integer()))\n"),
             "model": ("    phone = db.Column(db.String(32))\n",
                       "    phone = db.Column(db.String(32))\n    nickname_{n} = db.Column(db.Text)\n"),
             "service": ("", "")}
    for number, kind in enumerate(kinds):
        path = paths[kind]
        old, new = edits[kind]
        text = (root / path).read_text().replace(old, new.format(n=number), 1) + f"\n# edit {number}\n"
        (root / path).write_text(text)
        model = index.update_file(path, text)
        edited = _finding_keys(model)
    assert edited == _finding_keys(WorkspaceIndex(root).index_all())


HELPED_MODELS = {
    "app/columns.py": (
        "from sqlalchemy import Column, String\n\n\n"
        "def name_column():\n    return Column(String(80), nullable=False)\n"),
    "app/models.py": (
        "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n"
        "from app.columns import name_column\n\nBase = declarative_base()\n\n\n"
        "class Team(Base):\n    __tablename__ = 'teams'\n    id = Column(Integer, primary_key=True)\n"
        "    name = name_column()\n"),
    "app/services.py": (
        "from pydantic import BaseModel\nfrom app.models import Team\n\n\n"
        "class TeamForm(BaseModel):\n    name: str\n\n\n"  # a class the models' build asks about too
        "def team_named(session, name):\n    return session.query(Team).filter(Team.name == name).first()\n"),
}


def test_an_edit_of_code_the_models_do_not_read_keeps_their_build(tmp_path: Path):
    root = write_files(tmp_path / "helped", HELPED_MODELS)
    index = WorkspaceIndex(root)
    index.index_all()
    built = index._orm
    edited = HELPED_MODELS["app/services.py"].replace("    return", "    session.flush()\n    return")
    model = index.update_file("app/services.py", edited)
    assert index._orm is built  # a function body the models never evaluate, and moved lines
    (root / "app/services.py").write_text(edited, encoding="utf-8")
    assert model.orm == WorkspaceIndex(root).index_all().orm


def test_an_edit_of_a_column_helper_the_models_call_builds_them_again(tmp_path: Path):
    root = write_files(tmp_path / "helped", HELPED_MODELS)
    index = WorkspaceIndex(root)
    index.index_all()
    built = index._orm
    model = index.update_file("app/columns.py", HELPED_MODELS["app/columns.py"].replace("String(80)", "String(120)"))
    assert index._orm is not built
    assert model.orm.tables["teams"].column("name").type == "character varying(120)"
