"""The parse cache in two parts (analyzers/workspace/cache.py, index._StoredParses): an index that
looks at the schema first reads, before that look, only the parses it needs (every file but
Python ones whole, and the summaries of the Python files the last first look read); the rest
after. What both looks see is what an index of the same files without a cache sees."""

from __future__ import annotations

import pickle

import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.workspace import cache as parse_cache
from schemalens.analyzers.workspace import index as index_module
from schemalens.analyzers.workspace.index import PYTHON_KINDS, WorkspaceIndex
from workspace_files import bench_generator, write_files

SERVICES = 210  # a workspace of 200 Python files or more is looked at before its code is read
MODEL = "app/models/model_0002.py"


@pytest.fixture
def workspace(tmp_path_factory):
    generated = bench_generator().generate_workspace(tmp_path_factory.mktemp("generated"), models=6, revisions=12, sql=4)
    write_files(generated.root, {f"app/services/service_{number}.py": f"LENGTH = {number + 40}\n\n\ndef handle_{number}(order):\n"
                                 f"    return order.id\n" for number in range(SERVICES)})
    return generated.root


def _index(root, cache) -> tuple[WorkspaceIndex, list, list[str]]:
    """(the index, what its first look saw, the order of the first look and of the rest's loading)."""
    index = WorkspaceIndex(root, cache_dir=cache, workers=1)
    events: list[str] = []
    load_rest = parse_cache.ParseCache.load_rest

    def loading_rest(cache_self, token):
        events.append("rest loaded")
        return load_rest(cache_self, token)

    looked: list = []

    def first_look(model):
        events.append("first look")
        looked.append(_view(model))

    parse_cache.ParseCache.load_rest = loading_rest
    try:
        model = index.index_all(schema_first=first_look)
    finally:
        parse_cache.ParseCache.load_rest = load_rest
    return index, [*looked, _view(model), _results(index)], events


def _view(model) -> tuple:
    return model.orm.tables, model.database.tables, model.errors, model.files


def _results(index: WorkspaceIndex) -> dict:
    return {path: (parsed.kind, parsed.digest, parsed.result, parsed.errors) for path, parsed in index._files.items()}


def _parsed(monkeypatch) -> list[str]:
    """The paths parsed from now on, in either pass."""
    parsed: list[str] = []
    parse_many = WorkspaceIndex._parse_many

    def counting(index, pending, progress, with_code=True, here=False):
        parsed.extend(job[0] for job in pending)
        return parse_many(index, pending, progress, with_code, here)

    monkeypatch.setattr(WorkspaceIndex, "_parse_many", counting)
    return parsed


def test_a_second_index_looks_first_then_reads_the_rest_parsing_nothing(workspace, tmp_path, monkeypatch):
    _, cold, _ = _index(workspace, tmp_path / "cache")
    parsed = _parsed(monkeypatch)
    index, warm, events = _index(workspace, tmp_path / "cache")
    assert events == ["first look", "rest loaded"]
    assert parsed == []
    assert warm == cold
    assert all(file.result.facts is not None for file in index._files.values() if file.kind in PYTHON_KINDS)


def test_a_model_that_now_reads_a_module_of_the_rest_is_looked_at_with_it(workspace, tmp_path, monkeypatch):
    _index(workspace, tmp_path / "cache")
    model = workspace / MODEL
    model.write_text(model.read_text().replace("from .mixins import TimestampMixin\n",
                                               "from .mixins import TimestampMixin\nfrom app.services.service_7 import LENGTH\n")
                     .replace("reason_12 = db.Column(db.Text()", "reason_12 = db.Column(db.String(LENGTH)"))
    parsed = _parsed(monkeypatch)
    _, warm, _ = _index(workspace, tmp_path / "cache")
    assert "app/services/service_7.py" in parsed  # in the first pass, the code facts after
    _, uncached, _ = _index(workspace, tmp_path / "none")
    assert warm == uncached
    (table,) = [table for table in warm[0][0].values() if table.name == "entity_0002_a"]
    assert [column.type for column in table.columns if column.name == "reason_12"] == ["character varying(47)"]


def test_a_second_index_takes_whether_a_text_reads_as_models_from_the_cache(workspace, tmp_path, monkeypatch):
    """Only the text that changed is searched for the model markers again; the kinds are what an
    index without a cache finds (the changed service now declares a table)."""
    _index(workspace, tmp_path / "cache")
    service = workspace / "app/services/service_7.py"
    service.write_text("import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
                       "audit = sa.Table('audit', metadata, sa.Column('id', sa.Integer, primary_key=True))\n")
    searched: list[str] = []
    looks_like_model_module = index_module.looks_like_model_module

    def counting(text: str) -> bool:
        searched.append(text)
        return looks_like_model_module(text)

    monkeypatch.setattr(index_module, "looks_like_model_module", counting)
    warm, _, _ = _index(workspace, tmp_path / "cache")
    assert searched == [service.read_text()]
    uncached, _, _ = _index(workspace, tmp_path / "none")
    assert {path: file.kind for path, file in warm._files.items()} == {path: file.kind for path, file in uncached._files.items()}
    assert warm._files["app/services/service_7.py"].kind == "model"


@pytest.mark.parametrize("loss", ["missing", "another save's"])
def test_a_rest_part_lost_is_parsed_again(workspace, tmp_path, monkeypatch, loss):
    _, cold, _ = _index(workspace, tmp_path / "cache")
    (rest,) = (tmp_path / "cache").glob("*.rest.pickle")
    if loss == "missing":
        rest.unlink()
    else:
        token, entries, facts = pickle.loads(rest.read_bytes())
        rest.write_bytes(pickle.dumps(("another", entries, facts)))
    parsed = _parsed(monkeypatch)
    index, warm, _ = _index(workspace, tmp_path / "cache")
    assert warm == cold
    assert sorted(parsed) == sorted(path for path, file in index._files.items() if file.kind in PYTHON_KINDS)


def test_an_index_without_a_first_look_reads_both_parts_at_once(workspace, tmp_path, monkeypatch):
    index = WorkspaceIndex(workspace, cache_dir=tmp_path / "cache", workers=1)
    model = index.index_all()
    parsed = _parsed(monkeypatch)
    again = WorkspaceIndex(workspace, cache_dir=tmp_path / "cache", workers=1)
    assert _view(again.index_all()) == _view(model)
    assert parsed == [] and _results(again) == _results(index)


def test_a_file_the_rest_holds_in_another_dialect_is_parsed_again(workspace, tmp_path, monkeypatch):
    _index(workspace, tmp_path / "cache")
    (workspace / "schemalens.toml").write_text('dialect = "mysql"\n')
    parsed = _parsed(monkeypatch)
    index, _, _ = _index(workspace, tmp_path / "cache")
    assert "app/services/service_7.py" in parsed
    assert {file.dialect for file in index._files.values() if file.kind in PYTHON_KINDS} == {"mysql"}


def test_an_edit_after_a_warm_index_finds_what_a_fresh_index_finds(workspace, tmp_path):
    _index(workspace, tmp_path / "cache")
    index, _, events = _index(workspace, tmp_path / "cache")
    assert events == ["first look", "rest loaded"]
    index.prepare_for_edits()
    model = workspace / MODEL
    edited = model.read_text().replace("    reason_12 = db.Column(", "    edited = db.Column(db.Integer(), nullable=False)\n"
                                       "    reason_12 = db.Column(")
    after_edit = index.update_file(MODEL, edited)
    model.write_text(edited)
    fresh = WorkspaceIndex(workspace, workers=1).index_all()
    assert _findings(after_edit, index.text_of) == _findings(fresh, None)
    assert _view(after_edit) == _view(fresh)


def _findings(model, text_of) -> list[tuple]:
    return [(f.rule, f.location, f.title, f.severity) for f in run_audit(model, text_of=text_of).findings]


def test_what_the_plan_reads_of_sql_files_is_kept_by_digest(tmp_path, monkeypatch):
    """The engine markers of a SQL file are searched once per text: a warm index takes them from
    the cache, and searches a file changed since."""
    from schemalens.analyzers.workspace import migration_sets

    root = write_files(tmp_path / "w", {"db/V1__orders.sql": "CREATE TABLE orders (id bigserial PRIMARY KEY);\n",
                                        "db/V2__items.sql": "CREATE TABLE items (id int PRIMARY KEY) ENGINE=InnoDB;\n"})
    searched: list[str] = []
    file_facts = migration_sets.file_facts
    monkeypatch.setattr(index_module, "file_facts", lambda text: searched.append(text) or file_facts(text))
    WorkspaceIndex(root, cache_dir=tmp_path / "cache").index_all()
    assert len(searched) == 2
    (root / "db/V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY);\n")
    warm = WorkspaceIndex(root, cache_dir=tmp_path / "cache").index_all()
    assert searched[2:] == ["CREATE TABLE orders (id bigint PRIMARY KEY);\n"]
    fresh = WorkspaceIndex(root).index_all()
    assert warm.sql_locations == fresh.sql_locations and warm.sql_locations[0].dialect == "mysql"
    assert WorkspaceIndex(root, cache_dir=tmp_path / "cache").index_all().sql_locations == fresh.sql_locations
    assert len(searched) == 5  # the index without a cache searched both


def test_a_large_script_s_parse_is_kept_with_the_rest_and_taken_after_the_first_look(workspace, tmp_path, monkeypatch):
    """A seed file's parse is not loaded before the first look, which does not read it."""
    monkeypatch.setattr(index_module, "_LARGE_SCRIPT_CHARACTERS", 100)
    write_files(workspace, {"db/seed.sql": "".join(f"INSERT INTO audit_log (id) VALUES ({number});\n" for number in range(20))})
    for cache in ("cold", "warm"):
        parsed = _parsed(monkeypatch)
        index = WorkspaceIndex(workspace, cache_dir=tmp_path / "cache", workers=1)
        looked: list[bool] = []
        model = index.index_all(schema_first=lambda first: looked.append("db/seed.sql" in first.sql_scans))
        assert looked == [False] and "db/seed.sql" in model.sql_scans, cache
        assert ("db/seed.sql" in parsed) == (cache == "cold")
