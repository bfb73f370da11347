"""The versions a project pins (analyzers/workspace/dependency_pins.py), and the model reader's
use of them: the column type SQLModel gives a `datetime` field changed in SQLModel 0.0.45."""

import os

import pytest

import corpus_projects
from analyzers.workspace.dependency_pins import _normalized, pinned_versions, tables_named, version_key
from analyzers.workspace.toml_reader import tomllib
from analyzers.workspace.index import WorkspaceIndex
from workspace_files import write_files

UV_LOCK = '''version = 1
requires-python = ">=3.10"

[[package]]
name = "sqlalchemy"
version = "2.0.36"

[[package]]
name = "sqlmodel"
version = "{version}"
source = {{ registry = "https://pypi.org/simple" }}
'''


def test_version_keys():
    assert version_key("0.0.45") == (0, 0, 45)
    assert version_key("0.0.45.post1") == version_key("0.0.45rc1") == (0, 0, 45)
    assert version_key("1.0") > version_key("0.0.45") > version_key("0.0.9")
    assert version_key("dev") is None


def test_each_lock_and_requirements_format_pins(tmp_path):
    cases = {
        "uv.lock": UV_LOCK.format(version="0.0.24"),
        "poetry.lock": '[[package]]\nname = "SQLModel"\nversion = "0.0.24"\noptional = false\n',
        "Pipfile.lock": '{"_meta": {}, "default": {"sqlmodel": {"version": "==0.0.24"}}, "develop": {}}',
        "requirements.txt": "fastapi==0.115.0\nsqlmodel==0.0.24 ; python_version >= '3.8'\n",
        "requirements/prod.txt": "SQLModel[async] == 0.0.24\n",
    }
    for index, (name, text) in enumerate(cases.items()):
        root = write_files(tmp_path / str(index), {name: text})
        assert pinned_versions(root) == {"sqlmodel": (0, 0, 24)}, name


def test_a_range_a_development_file_or_nothing_pins_nothing(tmp_path):
    root = write_files(tmp_path, {"requirements.txt": "sqlmodel>=0.0.24\n", "requirements-dev.txt": "sqlmodel==0.0.24\n",
                                  "pyproject.toml": '[project]\nname = "app"\ndependencies = ["sqlmodel==0.0.24"]\n'})
    assert pinned_versions(root) == {}
    assert pinned_versions(None) == {}


def test_a_lock_file_wins_over_requirements_and_a_broken_one_is_passed_over(tmp_path):
    root = write_files(tmp_path, {"uv.lock": UV_LOCK.format(version="0.0.50"), "poetry.lock": "[[package]\n",
                                  "requirements.txt": "sqlmodel==0.0.24\n"})
    assert pinned_versions(root) == {"sqlmodel": (0, 0, 50)}


MODELS = '''import datetime
from typing import Optional
from sqlmodel import Field, SQLModel


class Event(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    happened_at: datetime.datetime
'''


def test_the_datetime_type_of_a_sqlmodel_field_follows_the_pinned_version_and_its_changes(tmp_path):
    root = write_files(tmp_path, {"app/models.py": MODELS, "db/seed.sql": "SELECT 1;\n"})
    index = WorkspaceIndex(root)
    assert index.index_all().orm.tables["event"].column("happened_at").type == "null"  # no pin: not read
    (root / "uv.lock").write_text(UV_LOCK.format(version="0.0.44"))
    os.utime(root, (1_000, 1_000))  # the new file is seen even where time counts whole seconds
    # the next edit, of any file, reads the models with the new pin (no module changed)
    assert index.update_file("db/seed.sql", "SELECT 2;\n").orm.tables["event"].column("happened_at").type \
        == "timestamp without time zone"
    (root / "uv.lock").write_text(UV_LOCK.format(version="0.0.45"))
    os.utime(root / "uv.lock", (2_000, 2_000))
    assert index.update_file("db/seed.sql", "SELECT 3;\n").orm.tables["event"].column("happened_at").type \
        == "timestamp with time zone"


def test_a_sqlmodel_field_defaulting_to_none_admits_none_under_a_pinned_pydantic_1(tmp_path):
    """keep pins pydantic 1.10 (poetry.lock): `last_used: str = Field(default=None)` is a nullable
    column there (sqlmodel 0.0.22 built on pydantic 1.10 says so), NOT NULL under pydantic 2."""
    models = ("from sqlmodel import Field, SQLModel\n\n\nclass Tenant(SQLModel, table=True):\n"
              "    id: int = Field(primary_key=True)\n    last_used: str = Field(default=None)\n    name: str\n")
    for pydantic, nullable in (("1.10.19", True), ("2.9.2", False)):
        root = write_files(tmp_path / pydantic, {"app/models.py": models,
                                                 "requirements.txt": f"sqlmodel==0.0.22\npydantic=={pydantic}\n"})
        table = WorkspaceIndex(root).index_all().orm.tables["tenant"]
        assert (table.column("last_used").nullable, table.column("name").nullable) == (nullable, False), pydantic


@pytest.mark.skipif(not corpus_projects.available(), reason="the corpus (../shared/corpus) is not here")
@pytest.mark.parametrize("lock", ["CTFd/uv.lock", "redash/uv.lock", "polar/server/uv.lock"])
def test_the_tables_of_a_real_lock_file_read_as_the_whole_file_reads(lock):
    """Asked for every package it names, `tables_named` gives back each `[[package]]` table of the
    file, in order, as parsing the whole file gives them (the oracle: tomllib on the whole text)."""
    project, _, path = lock.partition("/")
    text = (corpus_projects.unpacked(project) / path).read_text(encoding="utf-8")
    whole = tomllib.loads(text)["package"]
    names = {_normalized(package["name"]) for package in whole}
    assert [package for table in tables_named(text, names) for package in tomllib.loads(table)["package"]] == whole
    pydantic = [tomllib.loads(table)["package"] for table in tables_named(text, {"pydantic"})]
    assert pydantic == [[package] for package in whole if _normalized(package["name"]) == "pydantic"]
