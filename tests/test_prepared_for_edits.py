"""A file an editor opens is read as an edit reads it (WorkspaceIndex.prepare_file_for_edits): its
first edit then reads again only what the edit touched, as later edits do, and gives what a
fresh index gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemalens.analyzers.extract import queries
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import fresh_model, write_files

MODELS = '''from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)
    state = Column(String(20))
    customer = Column(String(80))
'''

SERVICES = "from app.models import Order\n\n\n" + "\n\n".join(
    f"def orders_{n}(session, value):\n    return session.query(Order).filter(Order.state == value).all()\n"
    for n in range(6))
EDITED = SERVICES.replace("def orders_3(session, value):\n    return session.query(Order).filter(Order.state == value)",
                          "def orders_3(session, value):\n    return session.query(Order).filter(Order.customer == value)")
SERVICES_PATH = "app/services.py"


@pytest.fixture
def functions_read(monkeypatch) -> list[int]:
    """How many functions (and module bodies) the reads of queries read, since the last reset."""
    counts = [0]

    class Counted(queries._FunctionReader):
        def __init__(self, *args, **kwargs):
            counts[0] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(queries, "_FunctionReader", Counted)
    return counts


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return write_files(tmp_path, {"app/__init__.py": "", "app/models.py": MODELS, SERVICES_PATH: SERVICES,
                                  "migrations/001_orders.sql": "CREATE TABLE orders (id integer PRIMARY KEY);\n"})


def _reads_of_edit(index: WorkspaceIndex, counts: list[int], text: str) -> int:
    counts[0] = 0
    index.update_file(SERVICES_PATH, text)
    return counts[0]


def test_a_file_prepared_when_opened_reads_on_its_first_edit_what_a_later_edit_reads(workspace, functions_read):
    index = WorkspaceIndex(workspace)
    index.index_all()
    assert index.prepare_file_for_edits(SERVICES_PATH)
    first = _reads_of_edit(index, functions_read, EDITED)
    assert index.model.code[SERVICES_PATH] == fresh_model(workspace, {SERVICES_PATH: EDITED}).code[SERVICES_PATH]
    # the function changed, and the module's own statements
    assert first == _reads_of_edit(index, functions_read, SERVICES) == 2


def test_a_file_not_prepared_or_forgotten_since_reads_every_function_on_its_first_edit(workspace, functions_read):
    index = WorkspaceIndex(workspace)
    index.index_all()
    assert _reads_of_edit(index, functions_read, EDITED) == 7
    index.update_file(SERVICES_PATH, SERVICES)
    index.forget_file_edits(SERVICES_PATH)
    assert _reads_of_edit(index, functions_read, EDITED) == 7


def test_only_a_python_file_held_at_its_current_text_is_prepared(workspace, functions_read):
    index = WorkspaceIndex(workspace)
    index.index_all()
    index.update_file(SERVICES_PATH, SERVICES + "def half_typed(:\n")  # the last good parse stays in use
    functions_read[0] = 0
    assert not index.prepare_file_for_edits(SERVICES_PATH)
    assert not index.prepare_file_for_edits("migrations/001_orders.sql")
    assert not index.prepare_file_for_edits("app/absent.py")
    assert functions_read[0] == 0
