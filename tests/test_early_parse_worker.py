"""The parse worker the language server starts before its own imports
(parse_workers.start_early_worker): the first pass of a cold index hands it the migrations and SQL
files while this process reads the models, and what the first look and the full index see is what
an index without it sees. A pool that broke leaves its work to this process."""

from __future__ import annotations

import os

import pytest

from schemalens.analyzers.workspace import parse_workers
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import bench_generator, write_files

SERVICES = 210  # a workspace of 200 Python files or more is indexed in two passes


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    generated = bench_generator().generate_workspace(tmp_path_factory.mktemp("generated"), models=6, revisions=40, sql=12)
    write_files(generated.root, {f"app/services/service_{number}.py": f"def handle_{number}(order):\n    return order.id\n"
                                 for number in range(SERVICES)})
    return generated.root


def _views(root, workers: int) -> tuple:
    """(what the first look sees, what the full index builds) of a cold index with `workers`."""
    looked: list = []
    model = WorkspaceIndex(root, workers=workers).index_all(schema_first=looked.append)
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


def test_a_pool_that_broke_leaves_the_migrations_to_this_process(workspace, two_cpus):
    parse_workers.start_early_worker()
    parse_workers._early[0][1].shutdown()  # submitting to it raises
    assert _views(workspace, workers=2) == _views(workspace, workers=1)
