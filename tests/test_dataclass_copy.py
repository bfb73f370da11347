"""dataclass_copy.replace makes the copies dataclasses.replace makes."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Optional

import pytest

from schemalens.analyzers.dataclass_copy import replace, slot_init
from schemalens.analyzers.extract.queries import ColumnRef, Predicate, QueryShape
from schemalens.analyzers.schema.model import Column, Location, Table

PLACE = Location("app/models.py", 3)
TABLE = Table(name="orders", location=PLACE, columns=(Column("id", "bigint", "sa.BigInteger()", False, PLACE),))
SHAPE = QueryShape("select", ("Order",), PLACE, predicates=(Predicate(ColumnRef("Order", "status", PLACE), "="),))


@pytest.mark.parametrize(("obj", "changes"), [
    (TABLE, {"name": "purchases"}),
    (TABLE, {"columns": (), "schema": "sales", "comment": "what was bought"}),
    (TABLE, {}),
    (SHAPE, {"entities": ("app.models.Order",), "executed": True}),
    (SHAPE.predicates[0].column, {"model": "app.models.Order"}),
])
def test_the_copy_is_dataclasses_copy(obj, changes):
    copy = replace(obj, **changes)
    assert copy == dataclasses.replace(obj, **changes)
    assert type(copy) is type(obj) and copy is not obj
    assert all(getattr(copy, name) is value for name, value in changes.items())


def test_a_field_the_class_has_not_is_refused():
    with pytest.raises(TypeError, match="no field 'nme'"):
        replace(TABLE, nme="purchases")


@dataclasses.dataclass(frozen=True)
class _Checked:
    value: int
    double: int = dataclasses.field(init=False, default=0)

    def __post_init__(self):
        object.__setattr__(self, "double", self.value * 2)


def test_a_class_whose_copy_needs_its_init_goes_through_it():
    assert replace(_Checked(2), value=5).double == 10


def _place_class(name: str) -> type:
    made = dataclasses.make_dataclass(name, [("path", str), ("line", int), ("column", int, 1), ("end", Optional[int], None)],
                                      frozen=True, slots=True)
    made.__module__ = __name__  # found again when unpickled
    return made


_Place, _PlaceAsWritten = slot_init(_place_class("_Place")), _place_class("_PlaceAsWritten")


@pytest.mark.parametrize(("args", "kwargs"), [
    (("a.py", 3), {}), (("a.py", 3, 4, 9), {}), (("a.py",), {"line": 2, "end": 5}), ((), {"path": "b.py", "line": 1}),
])
def test_slot_init_makes_the_object_dataclasses_init_makes(args, kwargs):
    made, written = _Place(*args, **kwargs), _PlaceAsWritten(*args, **kwargs)
    assert dataclasses.astuple(made) == dataclasses.astuple(written)
    assert made == _Place(*args, **kwargs) and hash(made) == hash(_Place(*args, **kwargs))
    assert pickle.loads(pickle.dumps(made)) == made
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.line = 7


@pytest.mark.parametrize(("args", "kwargs", "error"), [
    (("a.py",), {}, "missing 1 required positional argument: 'line'"),
    (("a.py", 1), {"row": 2}, "unexpected keyword argument 'row'"),
    (("a.py", 1, 2, 3, 4), {}, "takes from 3 to 5 positional arguments"),
])
def test_slot_init_refuses_what_dataclasses_init_refuses(args, kwargs, error):
    with pytest.raises(TypeError, match=error):
        _Place(*args, **kwargs)
    with pytest.raises(TypeError, match=error):
        _PlaceAsWritten(*args, **kwargs)


def test_slot_init_is_for_frozen_slotted_classes_with_plain_defaults():
    for unsuited in (dataclasses.dataclass(slots=True)(type("Open", (), {"__annotations__": {"value": int}})),
                     dataclasses.dataclass(frozen=True)(type("Unslotted", (), {"__annotations__": {"value": int}})),
                     _Checked):
        with pytest.raises(TypeError, match="slot_init is for"):
            slot_init(unsuited)
