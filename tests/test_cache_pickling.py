"""The parse cache's pickling (workspace/cache.py `dumps`): a dataclass is stored as its class and
field values, and loads back equal, whatever its shape."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from schemalens.analyzers.workspace.cache import dumps


@dataclass(frozen=True, slots=True)
class _Empty:
    pass


@dataclass(frozen=True, slots=True)
class _One:
    name: str


@dataclass(frozen=True, slots=True)
class _Several:
    name: str
    line: int
    parts: tuple = ()


@dataclass
class _Derived:
    text: str
    length: int = field(init=False)

    def __post_init__(self) -> None:
        self.length = len(self.text)


@dataclass
class _NotAnArgument:
    name: str
    seen: list = field(default_factory=list, init=False)


@pytest.mark.parametrize("value", [
    _Empty(),
    _One("orders"),
    _Several("orders", 3, (_One("id"), _Empty())),
    _Derived("orders"),
    _NotAnArgument("orders"),
    [_One("a"), {"key": _Several("b", 1)}],
    _Several,  # a class itself
])
def test_a_value_loads_back_equal(value):
    assert pickle.loads(dumps(value)) == value


def test_a_dataclass_is_stored_as_its_class_called_with_its_fields():
    assert pickle.loads(dumps(_One("orders"))) == _One("orders")
    assert b"__setstate__" not in dumps(_Several("orders", 3)) and b"_dataclass_setstate" not in dumps(_Several("orders", 3))


def test_a_class_summary_is_pickled_without_the_index_of_its_attributes():
    """What was parsed, not what the models' build asked since: the comparison of summaries
    without positions (index._positionless) and the parse cache pickle the same bytes before and
    after a look (on Python 3.10 too, whose dataclasses replace a frozen slotted class's
    `__getstate__`)."""
    from schemalens.analyzers.extract.module_summary import ClassAttribute, ClassSummary
    from schemalens.analyzers.schema.model import Location

    summary = ClassSummary("Team", "app.Team", Location("app.py", 3), attributes=(ClassAttribute("name", Location("app.py", 4)),))
    before = pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL), dumps(summary)
    assert summary.attribute("name") is summary.attributes[0]
    assert (pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL), dumps(summary)) == before
    loaded = pickle.loads(before[0])
    assert loaded == summary and loaded._attribute_by_name is None
