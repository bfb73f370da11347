"""A world of module summaries taken from the one before an edit (python_world.World.after):
equal to a fresh world, names in the same order, or built fresh."""

from __future__ import annotations

import pytest

from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.python_world import World

FILES = {
    "app/models.py": ("app.models", "from app.db import Base as B, Column\nfrom app.mixins import *\n\n\n"
                                    "class Order(B):\n    id = Column(1)\n\n\nLIMIT = 10\n\n\ndef helper():\n    return 1\n"),
    "app/db.py": ("app.db", "from sqlalchemy import Column\nBase = object\n"),
    "app/mixins.py": ("app.mixins", "class Stamped:\n    pass\n"),
}


def _summaries(files: dict[str, tuple[str, str]]) -> list:
    return [summarize_module(text, path, module) for path, (module, text) in files.items()]


def _names(world: World) -> list[list[tuple]]:
    return [list(names.items()) for names in (world.aliases, world.stars, world.classes, world.class_module,
                                              world.assignments, world.assignment_module, world.functions)]


# names whose answers a world remembers once asked: through an alias, a star import, a workspace class
ASKED = ("app.models.B", "app.models.Stamped", "app.models.Order", "app.models.Column")


def _after(changes: dict[str, str], files: dict[str, tuple[str, str]] = FILES) -> tuple[World, World]:
    before = _summaries(files)
    last = World(before)
    for name in ASKED:
        last.resolve(name)
    edited = {path: (module, changes.get(path, text)) for path, (module, text) in files.items()}
    summaries = [summary if path not in changes else new
                 for summary, new, path in zip(before, _summaries(edited), edited)]
    return World.after(last, summaries), World(summaries)


@pytest.mark.parametrize("models", [
    FILES["app/models.py"][1].replace("    id = Column(1)\n", "    id = Column(1)\n    note = Column(2)\n"),  # moved
    FILES["app/models.py"][1].replace("app.db import Base as B", "app.other import Base as B"),  # another target
    FILES["app/models.py"][1].replace("from app.mixins import *\n", "from app.db import *\n"),  # another star
    FILES["app/models.py"][1].replace("LIMIT = 10", "COUNT = 10"),  # another name: built fresh
    FILES["app/models.py"][1].replace("from app.mixins import *\n", ""),  # no star any more: built fresh
])
def test_a_world_after_an_edit_names_what_a_fresh_one_does(models):
    after, fresh = _after({"app/models.py": models})
    assert _names(after) == _names(fresh)
    assert {name: after.resolve(name) for name in ASKED} == {name: fresh.resolve(name) for name in ASKED}


def test_a_world_after_an_edit_that_resolves_nothing_otherwise_keeps_the_answers():
    after, _fresh = _after({"app/models.py": FILES["app/models.py"][1].replace(
        "    id = Column(1)\n", "    id = Column(1)\n    note = Column(2)\n")})
    assert set(after._resolved) >= set(ASKED)


@pytest.mark.parametrize("models", [
    FILES["app/models.py"][1].replace("app.db import Base as B", "app.other import Base as B"),  # an import's target
    FILES["app/models.py"][1].replace("from app.mixins import *\n", "from app.db import *\n"),  # a star's module
    FILES["app/models.py"][1].replace("LIMIT = 10", "LIMIT = Order"),  # an assignment made another name
    FILES["app/models.py"][1].replace("class Order(B):", "class Order(Stamped):"),  # a class's base
])
def test_a_world_after_an_edit_that_may_resolve_otherwise_answers_again(models):
    after, _fresh = _after({"app/models.py": models})
    assert after._resolved == {}


def test_a_module_two_files_share_is_built_fresh():
    files = {**FILES, "src/app/models.py": ("app.models", "class Order:\n    pass\n")}
    after, fresh = _after({"app/models.py": "# moved\n" + FILES["app/models.py"][1]}, files)
    assert _names(after) == _names(fresh)
    assert after.classes["app.models.Order"] is fresh.classes["app.models.Order"]  # the later file's
