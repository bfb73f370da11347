"""The Alembic revision graph: heads, bases, a deterministic topological order, and what is
wrong with it (duplicate ids, missing parents, cycles). A broken graph still orders whatever
can be ordered, so the rest of the workspace is analysed."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Iterable

from .model import ExtractionError


@dataclass(frozen=True, slots=True)
class RevisionGraph:
    heads: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    order: tuple[str, ...] = ()  # parents before children
    by_id: dict = field(default_factory=dict)  # id -> Revision (the first file seen for a duplicate id)
    errors: tuple[ExtractionError, ...] = ()

    def descendants(self, revision_id: str) -> set[str]:
        """Every revision that has `revision_id` among its ancestors."""
        children: dict[str, list[str]] = {}
        for rid, revision in self.by_id.items():
            for parent in (*revision.down_revisions, *revision.depends_on):
                children.setdefault(parent, []).append(rid)
        found, stack = set(), [revision_id]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found


def build_revision_graph(revisions: Iterable) -> RevisionGraph:
    """Order revisions so that every revision comes after its down_revisions and depends_on."""
    by_id: dict = {}
    errors: list[ExtractionError] = []
    for revision in sorted(revisions, key=lambda r: r.path):
        if revision.id in by_id:
            first = by_id[revision.id]
            errors.append(ExtractionError(revision.location, f"duplicate revision id {revision.id!r}, also in {first.path}:{first.location.line}"))
            continue
        by_id[revision.id] = revision
    parents: dict[str, set[str]] = {}
    for rid, revision in by_id.items():
        parents[rid] = set()
        for parent in (*revision.down_revisions, *revision.depends_on):
            if parent in by_id:
                parents[rid].add(parent)
            else:
                errors.append(ExtractionError(revision.location, f"revision {rid} points at {parent!r}, which no revision file defines"))
    children: dict[str, set[str]] = {rid: set() for rid in by_id}
    for rid, found in parents.items():
        for parent in found:
            children[parent].add(rid)
    # Kahn's algorithm; ties broken by path so that the order does not depend on the file system.
    waiting = {rid: len(found) for rid, found in parents.items()}
    ready = [(by_id[rid].path, rid) for rid, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, rid = heapq.heappop(ready)
        order.append(rid)
        for child in children[rid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (by_id[child].path, child))
    if len(order) < len(by_id):
        stuck = sorted(set(by_id) - set(order), key=lambda rid: by_id[rid].path)
        for rid in stuck:
            errors.append(ExtractionError(by_id[rid].location, f"revision {rid} is part of a cycle (or descends from one): "
                                                                 f"{' -> '.join(stuck[:6])}; it is not replayed"))
    referenced = {parent for revision in by_id.values() for parent in revision.down_revisions}
    heads = tuple(rid for rid in order if rid not in referenced)
    bases = tuple(rid for rid in order if not by_id[rid].down_revisions)
    return RevisionGraph(heads, bases, tuple(order), by_id, tuple(errors))
