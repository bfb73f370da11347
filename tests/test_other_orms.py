"""Models of an ORM SchemaLens does not read are said to be unread, not counted as none."""

from __future__ import annotations

from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.other_orms import other_orm_models
from schemalens.analyzers.workspace.index import WorkspaceIndex


def _summaries(files: dict[str, str]):
    return [summarize_module(text, path, path[:-3].replace("/", ".")) for path, text in files.items()]


def test_classes_deriving_from_a_model_base_through_other_modules_are_counted():
    """quay: `class User(BaseModel)`, BaseModel deriving from a ReadReplicaSupportedModel(peewee.Model)
    of another module, read after it."""
    found = other_orm_models(_summaries({
        "data/database.py": "from peewee import *\nfrom data.readreplica import ReadReplicaSupportedModel\n\n"
                            "class BaseModel(ReadReplicaSupportedModel):\n    pass\n\n"
                            "class User(BaseModel):\n    pass\n\nclass Team(BaseModel):\n    pass\n\nclass Helper:\n    pass\n",
        "data/readreplica.py": "from peewee import Model\n\nclass ReadReplicaSupportedModel(Model):\n    pass\n",
        "shop/models.py": "from django.db import models\n\nclass Order(models.Model):\n    pass\n",
        "app/schema.py": "from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n",
    }))
    assert [(m.library, m.classes, m.paths, m.files) for m in found] == [
        ("Django", 1, ("shop/models.py",), 1),
        ("peewee", 4, ("data/database.py", "data/readreplica.py"), 2)]


def test_a_workspace_without_such_imports_has_none():
    assert other_orm_models(_summaries({"m.py": "class Model:\n    pass\n\nclass A(Model):\n    pass\n"})) == ()


def test_the_coverage_says_the_unread_models(tmp_path):
    (tmp_path / "models.py").write_text("import peewee\n\nclass User(peewee.Model):\n    name = peewee.CharField()\n")
    coverage = WorkspaceIndex(tmp_path).index_all().coverage
    assert any("not read: 1 peewee model class (models.py)" in str(line) for line in coverage.lines())
    assert coverage.as_json()["other_orm_models"] == [{"library": "peewee", "classes": 1, "files": 1, "first": ["models.py"]}]
