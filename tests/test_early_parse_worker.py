"""The parse worker the language server starts before its own imports
(parse_workers.start_early_worker): it reads the workspace's files ahead (read_ahead.py), as they
still are when the index takes them; the first pass of a cold index hands it the migrations and
SQL files while this process reads the models, and what the first look and the full index see is
what an index without it sees. A pool that broke leaves its work to this process."""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from typing import Optional

import pytest

from schemalens.analyzers.workspace import parse_workers
from schemalens.analyzers.workspace.config import load_config
from schemalens.analyzers.workspace.discovery import walk_files
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.analyzers.workspace.read_ahead import ReadAhead, read_ahead
from workspace_files import bench_generator, write_files

SERVICES = 210  # a workspace of 200 Python files or more is indexed in two passes


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    generated = bench_generator().generate_workspace(tmp_path_factory.mktemp("generated"), models=6, revisions=40, sql=12)
    write_files(generated.root, {f"app/services/service_{number}.py": f"def handle_{number}(order):\n    return order.id\n"
                                 for number in range(SERVICES)})
    return generated.root


def _views(root, workers: int, read: Optional[ReadAhead] = None) -> tuple:
    """(what the first look sees, what the full index builds) of a cold index with `workers`
    (`read`: the files read ahead)."""
    looked: list = []
    model = WorkspaceIndex(root, workers=workers).index_all(schema_first=looked.append, read=read)
    return tuple((view.orm.tables, view.database.tables, view.errors, view.files) for view in (looked[0], model))


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    yield
    while parse_workers._early:  # not taken by a test that failed
        parse_workers._early.pop()[1].shutdown(cancel_futures=True)


def test_the_early_worker_parses_the_migrations_of_the_first_pass(workspace, two_cpus, monkeypatch):
    handed: list[str] = []
    hand_over = WorkspaceIndex._hand_over

    def recorded(index, pending, pool):
        handed.extend(job[1] for job in pending)
        return hand_over(index, pending, pool)

    monkeypatch.setattr(WorkspaceIndex, "_hand_over", recorded)
    parse_workers.start_early_worker()
    assert _views(workspace, workers=2) == _views(workspace, workers=1)
    assert not parse_workers._early  # taken by the index, which shut it down
    assert handed.count("revision") == 40 and "sql_migration" in handed and "model" not in handed


def test_the_first_pass_starts_no_second_worker_on_two_cpus(workspace, two_cpus):
    """The first pass hands the early worker its jobs while this process parses the rest: a
    second worker started meanwhile would take a core from both."""
    parse_workers.start_early_worker()
    index = WorkspaceIndex(workspace, workers=2)
    processes: list[int] = []
    index.index_all(schema_first=lambda model: processes.append(len(index._pool._processes)))
    assert processes == [1]


def test_the_early_worker_parses_modules_too_when_the_migrations_leave_it_time(tmp_path, two_cpus, monkeypatch):
    """Many models and little to migrate: the worker parses the last of the first round's modules
    before the migrations, and what the index sees is the same."""
    root = bench_generator().generate_workspace(tmp_path / "generated", models=60, revisions=0, sql=3).root
    write_files(root, {f"app/services/service_{number}.py": f"def handle_{number}(order):\n    return order.id\n"
                       for number in range(SERVICES)})
    handed: list[list[str]] = []
    hand_over = WorkspaceIndex._hand_over

    def recorded(index, pending, pool):
        handed.append([job[1] for job in pending])
        return hand_over(index, pending, pool)

    monkeypatch.setattr(WorkspaceIndex, "_hand_over", recorded)
    parse_workers.start_early_worker()
    assert _views(root, workers=2) == _views(root, workers=1)
    lent, migrations = handed
    assert lent and set(lent) <= {"model", "python", "support"} and migrations.count("sql_migration") == 3


def test_the_first_pass_takes_the_workers_parses_as_they_come(workspace, two_cpus, monkeypatch):
    """While this process parses its share and takes the worker's back, its threads take turns
    often: the pool's thread then reads a large parse from the pipe as the worker writes it,
    instead of every 5 ms (the worker waits for it meanwhile). The interval is put back after."""
    intervals: list[float] = []
    for name in ("_parse_for_the_schema", "_taken_back"):
        original = getattr(WorkspaceIndex, name)

        def recorded(*arguments, original=original, **keywords):
            intervals.append(sys.getswitchinterval())
            return original(*arguments, **keywords)
        static = isinstance(WorkspaceIndex.__dict__[name], staticmethod)
        monkeypatch.setattr(WorkspaceIndex, name, staticmethod(recorded) if static else recorded)
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # Python's default
    try:
        parse_workers.start_early_worker()
        WorkspaceIndex(workspace, workers=2).index_all(schema_first=lambda model: None)
        assert len(intervals) >= 2 and max(intervals) <= 0.0005
        assert sys.getswitchinterval() == 0.005
    finally:
        sys.setswitchinterval(before)


def test_a_pool_that_broke_leaves_the_migrations_to_this_process(workspace, two_cpus):
    parse_workers.start_early_worker()
    parse_workers._early[0][1].shutdown()  # submitting to it raises
    assert _views(workspace, workers=2) == _views(workspace, workers=1)


def test_the_early_worker_reads_the_workspace_the_index_then_takes_as_it_was_read(workspace, two_cpus, monkeypatch):
    """Started with the workspace's root (as the server's first message names it), the worker
    reads its Python and SQL files; an index given them reads and searches none of them again,
    and builds what an index that reads them itself builds."""
    from schemalens.analyzers.workspace import index as index_module

    expected = _views(workspace, workers=1)
    parse_workers.start_early_worker(str(workspace))
    read = parse_workers.take_read_ahead(workspace.resolve())
    walked = [path for path in walk_files(workspace, load_config(workspace)) if path.endswith((".py", ".sql"))]
    assert sorted(read.texts) == sorted(walked)
    assert all(read.texts[path] == (workspace / path).read_text(encoding="utf-8") for path in walked)

    searched: list[str] = []
    for name in ("looks_like_model_module", "read_for_the_schema", "looks_like_revision"):
        monkeypatch.setattr(index_module, name, lambda text, search=getattr(index_module, name): searched.append(text) or search(text))
    read_from_disk: list[str] = []
    read_disk = WorkspaceIndex._read_disk
    monkeypatch.setattr(WorkspaceIndex, "_read_disk", lambda index, path: read_from_disk.append(path) or read_disk(index, path))
    assert _views(workspace, workers=1, read=read) == expected
    assert searched == [] and not [path for path in read_from_disk if path.endswith((".py", ".sql"))]


def test_a_test_file_is_not_searched_for_model_markers_and_its_text_in_a_model_module_is(tmp_path, monkeypatch):
    """The index reads a test as "support" whatever it holds: the worker does not ask whether it
    reads as a model module, unless the same text is also application code."""
    from schemalens.analyzers.workspace import index as index_module
    from schemalens.analyzers.workspace.read_ahead import text_digest

    head = "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n"
    model = head + "class Order(Base):\n    __tablename__ = 'orders'\n    id = Column(Integer, primary_key=True)\n"
    fixture = head + "class Item(Base):\n    __tablename__ = 'items'\n    id = Column(Integer, primary_key=True)\n"
    root = write_files(tmp_path, {"tests/test_orders.py": model, "web/models.py": model, "tests/conftest.py": fixture})
    read = read_ahead(str(root))
    assert read.marks[text_digest(fixture)].model is None
    assert read.marks[text_digest(model)].model is True
    expected = WorkspaceIndex(root).index_all()
    searched: list[str] = []
    search = index_module.looks_like_model_module
    monkeypatch.setattr(index_module, "looks_like_model_module", lambda text: searched.append(text) or search(text))
    model = WorkspaceIndex(root).index_all(read=read)
    assert (model.files, model.orm.tables) == (expected.files, expected.orm.tables) and "orders" in model.orm.tables
    assert searched == []


def test_files_read_ahead_of_another_workspace_are_not_taken(workspace, two_cpus, tmp_path):
    parse_workers.start_early_worker(str(workspace))
    assert parse_workers.take_read_ahead(tmp_path.resolve()) is None
    assert parse_workers.take_read_ahead(workspace.resolve()) is None  # taken once


def test_a_file_changed_since_it_was_read_ahead_is_read_again(tmp_path, monkeypatch):
    """The server keeps the audit of this start with a snapshot taken after the files were read
    ahead: a file changed in between is the snapshot's version, read again by the index."""
    from schemalens.analyzers.workspace.audit_cache import workspace_snapshot
    from schemalens.server import app

    root = write_files(tmp_path, {"app/models.py": "class Order(Base):\n    __tablename__ = 'orders'\n",
                                  "app/services.py": "def total(order):\n    return order.total\n"})
    read = read_ahead(str(root))
    changed = "def total(order):\n    return order.total + order.tax\n"
    (root / "app/services.py").write_text(changed)
    monkeypatch.setattr(parse_workers, "take_read_ahead", lambda asked: read if asked == root else None)
    taken = app._read_ahead(root, workspace_snapshot(root, load_config(root)))
    assert sorted(taken.texts) == ["app/models.py"]
    index = WorkspaceIndex(root)
    index.index_all(read=taken)
    assert index.text_of("app/services.py") == changed


def test_a_file_that_changes_while_it_is_read_ahead_is_left_to_the_index(tmp_path, monkeypatch):
    from schemalens.analyzers.workspace import read_ahead as read_ahead_module

    root = write_files(tmp_path, {"app/models.py": "class Order(Base):\n    __tablename__ = 'orders'\n"})
    fstat = os.fstat
    sizes = iter(range(100, 200))  # the file grows while it is read: each look at it sees it larger

    def growing(descriptor: int) -> os.stat_result:
        status = list(fstat(descriptor))
        status[6] = next(sizes)
        return os.stat_result(status)

    monkeypatch.setattr(read_ahead_module.os, "fstat", growing)
    assert read_ahead(str(root)).texts == {}


@pytest.mark.parametrize("content", [b"x = 1\n", b"x = 1\r\ny = 2\r\n", b"x = 1\ry = 2\n", b"\xef\xbb\xbfx = 1\n",
                                     b"name = '\xe5\x90\x8d'\n", b"x = '\xff\xfe'\r\n", b"x = '\xe5\x90'\n", b""])
def test_a_file_read_ahead_is_the_text_and_digest_the_index_reads(tmp_path, content: bytes):
    """Read as bytes, hashed as bytes when that is the same: line ends, a byte-order mark,
    Chinese text, invalid UTF-8 and an empty file read as text mode reads them."""
    from schemalens.analyzers.workspace.read_ahead import text_digest

    (tmp_path / "app").mkdir()
    (tmp_path / "app/module.py").write_bytes(content)
    read = read_ahead(str(tmp_path))
    expected = WorkspaceIndex(tmp_path)._read_disk("app/module.py")
    assert read.texts["app/module.py"] == expected
    assert read.digests["app/module.py"] == text_digest(expected)


def test_what_a_worker_imports_to_parse_the_first_pass_leaves_the_code_facts_out():
    """The early worker imports the parsers of the first pass (parse_workers._PARSERS) while the
    server still imports: the code facts' extractors, and the index itself, are not among them."""
    import subprocess
    import sys

    probe = ("import sys; from schemalens.analyzers.workspace import parse_workers; parse_workers._import_parsers(); "
             "print(sorted(m for m in ('schemalens.analyzers.extract.code_facts', 'schemalens.analyzers.workspace.index') "
             "if m in sys.modules), 'pglast.stream' in sys.modules)")
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert imported.strip() == "[] True"  # pglast too: the parsers import it only when they first read SQL


def test_a_parse_in_the_worker_waits_for_the_parsers_import_its_read_ahead_started(tmp_path, monkeypatch):
    """Once the worker has read the files ahead, it imports the parsers on a thread. A parse
    that began meanwhile used pglast half imported (Python lets a second thread see a module of
    a circular import before its end): the file was reported unreadable."""
    imported = threading.Event()

    def slow_import() -> None:
        time.sleep(0.3)
        imported.set()

    monkeypatch.setattr(parse_workers, "_import_parsers", slow_import)
    parse_workers._read_ahead(str(tmp_path))
    job = ("migrations/001_orders.sql", "sql_migration", "digest", "CREATE TABLE orders (id int PRIMARY KEY);", "",
           "postgres", "postgres", False)
    (parsed,) = pickle.loads(parse_workers.parse_in_worker([job]))
    assert imported.is_set() and not parse_workers._importing
    assert parsed.result is not None and not parsed.errors
