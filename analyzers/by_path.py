"""What a computation makes of each file's text, kept per path while the text is unchanged."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

_Found = TypeVar("_Found")


class ByPath(Generic[_Found]):
    """What `compute` makes of a file's text, kept across audits per path while the text is
    unchanged: an edit replaces its own file's entry, so the memory stays one entry per file
    however many edits come (a cache keyed by text kept every edited version, and one of a
    fixed size is emptied by a workspace with more files than it holds)."""

    def __init__(self, compute: Callable[[str], _Found]) -> None:
        self._compute = compute
        self._entries: dict[str, tuple[str, _Found]] = {}

    def __call__(self, path: str, text: str) -> _Found:
        entry = self._entries.get(path)
        if entry is None or entry[0] != text:
            entry = self._entries[path] = (text, self._compute(text))
        return entry[1]
