"""Which items of a file's facts an edit only moved: the facts an earlier read of a function gave,
copied to the function's new lines (queries.FunctionReads). What is read of an item without its
places (code_structure) is the same for the copy as for the item it was moved from, and need not
be worked out again: a new line in redash's models module moves some 350 of them."""

from __future__ import annotations

from typing import Iterable

# id of a moved copy -> (the copy, the item it was moved from); the copy is kept alive with its
# entry, so that no other object takes its id meanwhile
_MOVED_FROM: dict[int, tuple[object, object]] = {}
_KEPT = 8192  # the items of a few large files


def note_moved(items: Iterable[object], copies: Iterable[object]) -> None:
    """Each of `copies` is the item of `items` at its place, moved."""
    for item, copy in zip(items, copies):
        if copy is not item:
            _MOVED_FROM[id(copy)] = (copy, item)
    while len(_MOVED_FROM) > _KEPT:
        del _MOVED_FROM[next(iter(_MOVED_FROM))]


def moved_from(item: object) -> object:
    """The item `item` is a moved copy of, else `item` itself."""
    entry = _MOVED_FROM.get(id(item))
    return entry[1] if entry is not None else item
