"""What the query flow reads of a file, without where it is: decides when an edit changed only
positions, so that where functions run, what is unreached and the queries of other files can be
kept across the edit (query_flow.code_base).

An edit that adds a column to a model moves every line below it and adds one class attribute,
but changes no function, call or query: the flow's answers stay the same, only their locations
move. `structure(facts, summary, resolving, function_names)` is a file's code facts and summary
with every Location dropped, with the line where each function ends and the line of each if/elif
chain a condition is an arm of dropped, with only the code facts the flow reads (`FLOW_FACTS`:
functions, queries, hybrid properties, names read), and with the parts of the summary it never reads
left out (class method bodies, module-level calls, attribute annotations, the arguments of a call
a module-level name is assigned: the columns of a `Table(...)`). A class attribute counts only
under a name some class of the workspace binds to one of its classes (`model = Order`,
`repository = OrderRepository()`, the names in `resolving`): `CodeBase.class_attribute` answers
None for every other name, whether the attribute is there or not. Of the names a file reads
(`CodeFacts.referenced_names`, which take in the words of its strings: a `Table()`'s column
names), only those some function of the workspace is named count (`function_names`, made by
`function_names_of`): the flow asks them only whether a function is named somewhere
(`CodeBase.unreached`).
"""

from __future__ import annotations

import hashlib
import io
import pickle
from typing import Optional

from .extract.code_facts import CodeFacts
from .extract.moved_items import moved_from
from .extract.module_summary import Assignment, ClassSummary, ModuleSummary
from .extract.python_world import World
from .extract.queries import Arm, FunctionFacts, LoopRead, QueryCall, QueryShape
from .schema.model import Location


def resolving_attributes(world: World) -> frozenset[str]:
    """Names of class attributes that bind a class of the workspace (`model = Order`)."""
    return frozenset(attribute.name for cls in world.classes.values() for attribute in cls.attributes
                     if attribute.value is not None and attribute.value.kind in ("name", "call") and attribute.value.name
                     and world.resolve(attribute.value.name) in world.classes)


def function_names_of(functions) -> frozenset[str]:
    """The last part of the names of the functions (keyed (path, name), as CodeBase.functions)."""
    return frozenset(name.rpartition(".")[2] for _path, name in functions)


def structure(facts: object, summary: Optional[ModuleSummary], resolving: frozenset[str],
              function_names: frozenset[str]) -> bytes:
    """The file's code facts and summary as the flow reads them, without positions (see the module)."""
    key = (id(facts), id(summary), resolving, function_names)
    recent = _RECENT.get(key)
    if recent is not None and recent[0] is facts and recent[1] is summary:
        return recent[2]
    written = _structure(facts, summary, resolving, function_names)
    _RECENT[key] = (facts, summary, written)
    if len(_RECENT) > _RECENT_KEPT:
        del _RECENT[next(iter(_RECENT))]
    return written


# The structures computed last: an edit compares the file's new facts with those of the edit
# before, whose structure that edit computed (the facts are kept with it: ids stay theirs).
_RECENT: dict[tuple, tuple[object, object, bytes]] = {}
_RECENT_KEPT = 32


def _structure(facts: object, summary: Optional[ModuleSummary], resolving: frozenset[str],
               function_names: frozenset[str]) -> bytes:
    path = getattr(facts, "path", None) or getattr(summary, "path", "")
    each_time = _Reducers({
        Location: _no_location,
        Arm: _arm_without_chain,
        FunctionFacts: _function_without_end,
        ClassSummary: lambda cls: _class_as_read(cls, resolving),
        Assignment: _assignment_as_read,
        ModuleSummary: _module_as_read,
        CodeFacts: lambda facts: _facts_in_order(facts, function_names),
    })
    written = _Written(path, _WRITTEN.get(path, {}), resolving)
    reducers = _Reducers(each_time)
    for kind in _WRITTEN_ONCE:
        reducers[kind] = written.reducer(each_time)
    structure = _pickled((facts, summary), reducers)
    _WRITTEN[path] = written.now
    return structure


def _pickled(value: object, reducers: "_Reducers") -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo: which equal objects happen to be one object must not change the bytes
    pickler.dispatch_table = reducers
    pickler.dump(value)
    return buffer.getvalue()


# The items of a file's facts and summary whose bytes are kept (`_WRITTEN`): an edit makes a few of
# them anew, the read of a function or a class statement it changed or moved, and keeps the others
# (queries.FunctionReads, module_summary.EarlierStatements), whose bytes it need not write again
# (redash's models module: 7 ms for all of them).
_WRITTEN_ONCE = (QueryShape, FunctionFacts, QueryCall, LoopRead, ClassSummary, Assignment)


class _Written:
    """The bytes of the items of one file's facts and summary as one structure writes them: those
    of the file's last structure (`before`) are taken back, and a copy the file's last read moved
    takes those of the item it was moved from. An item is kept with its bytes (`now`, the file's
    entry in `_WRITTEN` afterwards), so that no other object takes its id meanwhile; frozen, it
    writes the same bytes as long as it lives."""

    def __init__(self, path: str, before: dict, resolving: frozenset[str]) -> None:
        self.path, self.before, self.resolving = path, before, resolving
        self.now: dict = {}

    def key(self, item) -> object:
        return (id(item), self.resolving) if type(item) is ClassSummary else id(item)

    def reducer(self, each_time: "_Reducers"):
        def reduce(item):
            key = self.key(item)
            kept = self.now.get(key) or self.before.get(key)
            if kept is None:
                taken = self.before.get(self.key(moved_from(self.path, item)))
                kept = (item, taken[1] if taken is not None
                        else hashlib.blake2b(_pickled(item, each_time), digest_size=16).digest())
            self.now[key] = kept
            return (bytes, (kept[1],))
        return reduce


# path -> {id of an item (with `resolving` for a class): (the item, its bytes)} of the file's last
# structure: the items of its facts and summary then, which the index holds while the file is as it was
_WRITTEN: dict[str, dict] = {}


class _Reducers(dict):
    """How the pickler writes each type: as given, and any other slotted dataclass as its type's
    name and its field values (pickle's own way calls `dataclasses.fields` for every object)."""

    def __missing__(self, kind: type):
        slots = getattr(kind, "__slots__", None)
        if slots is None or not hasattr(kind, "__dataclass_fields__"):
            raise KeyError(kind)
        name = f"{kind.__module__}.{kind.__qualname__}"

        def reduce(value):
            return (tuple, ((name, *[getattr(value, slot) for slot in slots]),))
        self[kind] = reduce
        return reduce


# What the flow (query_flow.CodeBase) reads of a file's code facts; the others are the rules' (the
# attribute names, which a column's `comment=` keyword adds to, the names a file negates...).
FLOW_FACTS = ("functions", "queries", "hybrids", "referenced_names")


def _facts_in_order(facts: CodeFacts, function_names: frozenset[str]):
    # a set's order follows how it was built, not what it holds (pickle writes sets as it meets them)
    values = (facts.referenced_names & function_names if name == "referenced_names" else getattr(facts, name)
              for name in FLOW_FACTS)
    return (tuple, (tuple(tuple(sorted(value)) if isinstance(value, frozenset) else value for value in values),))


def _no_location(location: Location):
    return (tuple, ())


def _arm_without_chain(arm: Arm):
    return (tuple, ((arm.index, arm.count),))  # the chain is named by the line of its `if`: a place


def _function_without_end(function: FunctionFacts):
    return (tuple, (tuple(getattr(function, name) for name in FunctionFacts.__slots__ if name != "last_line"),))


def _class_as_read(cls: ClassSummary, resolving: frozenset[str]):
    attributes = tuple((a.name, a.value) for a in cls.attributes if a.name in resolving)
    return (tuple, ((cls.name, cls.qualified, cls.bases, cls.decorators, attributes),))


def _assignment_as_read(assignment: Assignment):
    """What the flow reads of a module-level assignment: its name, and what its value is (a name,
    a call of what) unless it is a dict or sequence literal, whose entries it reads (functions a
    module table holds); not a call's arguments (the columns of a `Table(...)`)."""
    value = assignment.value
    read = value if value.kind in ("dict", "seq") else (value.kind, value.name)
    return (tuple, ((assignment.name, assignment.qualified, read),))


def _module_as_read(summary: ModuleSummary):
    return (tuple, ((summary.path, summary.module, summary.imports, summary.classes, summary.assignments,
                     tuple(function.qualified for function in summary.functions)),))
