"""Which items of a file's facts its last read only moved: the facts an earlier read of a function
gave, copied to the function's new lines (queries.FunctionReads). What is read of an item without
its places (code_structure) is the same for the copy as for the item it was moved from, and need
not be worked out again: a new line in redash's models module moves some 350 of them."""

from __future__ import annotations

from typing import Iterable

# path -> {id of a copy its last read moved: (the copy, the item it was moved from)}; a copy is
# kept alive with its entry, so that no other object takes its id meanwhile. A file's next read
# replaces its entries: they hold one read's worth of items per file an editor changed.
_MOVED_FROM: dict[str, dict[int, tuple[object, object]]] = {}


def begin_read(path: str) -> None:
    """A new read of the file at `path`: what its last read moved is forgotten."""
    _MOVED_FROM.pop(path, None)


def note_moved(path: str, items: Iterable[object], copies: Iterable[object]) -> None:
    """Each of `copies` is the item of `items` at its place, moved by the read of `path` under way."""
    moved = _MOVED_FROM.setdefault(path, {})
    for item, copy in zip(items, copies):
        if copy is not item:
            moved[id(copy)] = (copy, item)


def moved_from(path: str, item: object) -> object:
    """The item `item`, of the file at `path`, is a moved copy of, else `item` itself."""
    entry = _MOVED_FROM.get(path, {}).get(id(item))
    return entry[1] if entry is not None else item
