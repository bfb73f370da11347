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
