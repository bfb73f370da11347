"""Answers to "which is the first of these items that ...?", kept from one audit to the next.

The rules ask such questions of the deployed application code (the first file that names a
renamed column, the first query whose SQL reads a dropped table), once per migration step, on
every audit: prefect asks 15 times per audit over 1,900 files, agenta 75 times. An edit changes
one item of thousands, and the language server audits after every edit. An answer of the last
audit holds while no item before the one it found changed, nor that one: only the changed items
are looked at again, and when the one it found changed, those after it.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable, Optional, Sequence

_NOT_ASKED = object()


class FirstMatches:
    """The answers of one audit over `items` ((key, value) pairs in order; a value is compared
    by identity: the index hands out the same text and code facts objects for a file it did not
    parse again). `last` is the list this kind of question keeps between audits: the last
    audit's items and answers, replaced by this audit's."""

    def __init__(self, items: Sequence[tuple[Hashable, Any]], last: list) -> None:
        self._count = len(items)
        self._answers: dict[Hashable, Optional[tuple[int, Any]]] = {}
        self._before: dict[Hashable, Optional[tuple[int, Any]]] = {}
        self._changed: Optional[list[int]] = None  # None: other items than the last audit's
        if last and [key for key, _ in last[0]] == [key for key, _ in items]:
            self._before = last[1]
            self._changed = [index for index, ((_, old), (_, new)) in enumerate(zip(last[0], items)) if old is not new]
        last[:] = [items, self._answers]

    def first(self, question: Hashable, match: Callable[[int], Optional[Any]],
              among: Callable[[], Optional[Sequence[int]]] = lambda: None) -> Optional[Any]:
        """What `match(index)` gives for the first item it gives something for (None: for none).
        `question` names what `match` looks for: the same question, the same `match`. `among()`:
        the indexes, in order, of the only items `match` can give something for (None: any),
        asked only when a run of items is looked at (an answer kept, and the items changed since,
        need no more)."""
        if question not in self._answers:
            found = self._before.get(question, _NOT_ASKED) if self._changed is not None else _NOT_ASKED
            if found is _NOT_ASKED:
                found = _first(match, _from(0, self._count, among()))
            elif self._changed:
                found = self._after_changes(match, found, among)
            self._answers[question] = found
        found = self._answers[question]
        return found[1] if found is not None else None

    def _after_changes(self, match: Callable[[int], Optional[Any]], found: Optional[tuple[int, Any]],
                       among: Callable[[], Optional[Sequence[int]]]) -> Optional[tuple[int, Any]]:
        """The last audit's answer `found`, now that the items `_changed` changed."""
        if found is None:  # no item matched: only a changed one can
            return _first(match, self._changed)
        earlier = _first(match, [index for index in self._changed if index < found[0]])
        if earlier is not None or found[0] not in self._changed:
            return earlier or found
        return _first(match, _from(found[0], self._count, among()))


def _from(start: int, count: int, among: Optional[Sequence[int]]) -> Iterable[int]:
    """The indexes from `start` on, of `among` if given, else of all `count` items."""
    return range(start, count) if among is None else [index for index in among if index >= start]


def _first(match: Callable[[int], Optional[Any]], indexes: Iterable[int]) -> Optional[tuple[int, Any]]:
    for index in indexes:
        result = match(index)
        if result is not None:
            return index, result
    return None
