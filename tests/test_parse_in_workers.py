"""A cold index parses in worker processes only when that ends sooner than parsing here: what the
files would cost this process (per file and per character) against what the workers' start
costs. A folder of a hundred small SQL migrations is parsed here (a SQL-only audit twice as fast)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemalens.analyzers.workspace import index as index_module
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import write_files


@pytest.fixture
def pools(monkeypatch) -> list[int]:
    """The sizes of the worker pools asked for; none can start (the index parses here then)."""
    asked: list[int] = []

    def no_pool(workers: int):
        asked.append(workers)
        raise OSError("no worker processes in this test")

    monkeypatch.setattr(index_module, "new_pool", no_pool)
    return asked


def test_a_hundred_small_migrations_are_parsed_here(tmp_path: Path, pools: list[int]):
    write_files(tmp_path, {f"migrations/V{number}__table_{number}.sql": f"CREATE TABLE t{number} (id bigint PRIMARY KEY);\n"
                           for number in range(1, 101)})
    model = WorkspaceIndex(tmp_path, workers=2).index_all()
    assert len(model.database.tables) == 100 and pools == []


def test_large_files_are_parsed_in_workers(tmp_path: Path, pools: list[int]):
    columns = "".join(f"    value_{number} = Column(Integer)\n" for number in range(200))
    documented = '"""' + "What each value means. " * 4500 + '"""\n'  # 100 KB a file
    write_files(tmp_path, {f"app/models_{number}.py": documented + "from sqlalchemy import Column, Integer\nfrom app.base import Base\n\n\n"
                           f"class Model{number}(Base):\n    __tablename__ = 'model_{number}'\n"
                           f"    id = Column(Integer, primary_key=True)\n{columns}" for number in range(12)})
    write_files(tmp_path, {"app/__init__.py": "", "app/base.py": "from sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n"})
    model = WorkspaceIndex(tmp_path, workers=2).index_all()
    assert len(model.orm.tables) == 12 and pools == [2]
