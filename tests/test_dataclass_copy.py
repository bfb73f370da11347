"""dataclass_copy.replace makes the copies dataclasses.replace makes."""

from __future__ import annotations

import dataclasses

import pytest

from schemalens.analyzers.dataclass_copy import replace
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
