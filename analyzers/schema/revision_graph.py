"""The Alembic revision graph: heads, bases, a deterministic topological order, and what is
wrong with it (duplicate ids, missing parents, cycles). A broken graph still orders whatever
can be ordered, so the rest of the workspace is analysed."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Optional

from ..i18n import _
from .model import ExtractionError, Location


@dataclass(frozen=True, slots=True)
class GraphProblem:
    """One thing wrong with the graph, as data for rules (`RevisionGraph.errors` says the same in words).

    kind "duplicate": `revision` is defined again at `location`; `first` is its first definition.
    kind "missing": `revision` names `missing` in its `attribute` ("down_revision" or
    "depends_on"), and no revision file defines it.
    kind "cycle": `cycle` lists the revisions around one cycle, each naming the next as a parent,
    starting at `revision` (the first of them by path).
    """

    kind: str
    revision: str
    location: Location
    first: Optional[Location] = None
    attribute: Optional[str] = None
    missing: Optional[str] = None
    cycle: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RevisionGraph:
    heads: tuple[str, ...] = ()
    bases: tuple[str, ...] = ()
    order: tuple[str, ...] = ()  # parents before children
    by_id: dict = field(default_factory=dict)  # id -> Revision (the first file seen for a duplicate id)
    errors: tuple[ExtractionError, ...] = ()
    problems: tuple[GraphProblem, ...] = ()
    # the files of its revisions: which history a migration file belongs to is asked per finding
    paths: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", frozenset(revision.path for revision in self.by_id.values()))

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
    problems: list[GraphProblem] = []
    for revision in sorted(revisions, key=lambda r: r.path):
        if revision.id in by_id:
            first = by_id[revision.id]
            errors.append(ExtractionError(revision.location, _("duplicate revision id %(revision)r, also in %(place)s",
                                                               revision=revision.id, place=first.path + ":" + str(first.location.line))))
            problems.append(GraphProblem("duplicate", revision.id, revision.location, first=first.location))
            continue
        by_id[revision.id] = revision
    # depends_on may name a branch label instead of an id (Alembic maps the label to the
    # revision that declares it); down_revision may not.
    labels = {label: rid for rid, revision in by_id.items() for label in revision.branch_labels}
    parents: dict[str, set[str]] = {}
    for rid, revision in by_id.items():
        parents[rid] = set()
        for attribute, names in (("down_revision", revision.down_revisions), ("depends_on", revision.depends_on)):
            for parent in names:
                if parent in by_id:
                    parents[rid].add(parent)
                elif attribute == "depends_on" and parent in labels:
                    parents[rid].add(labels[parent])
                else:
                    errors.append(ExtractionError(revision.location, _("revision %(revision)s points at %(parent)r, which no "
                                                                       "revision file defines", revision=rid, parent=parent)))
                    problems.append(GraphProblem("missing", rid, revision.location, attribute=attribute, missing=parent))
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
        _order, rid = heapq.heappop(ready)
        order.append(rid)
        for child in children[rid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (by_id[child].path, child))
    if len(order) < len(by_id):
        stuck = sorted(set(by_id) - set(order), key=lambda rid: by_id[rid].path)
        for rid in stuck:
            errors.append(ExtractionError(by_id[rid].location, _("revision %(revision)s is part of a cycle (or descends from "
                                                                 "one): %(chain)s; it is not replayed", revision=rid,
                                                                 chain=" -> ".join(stuck[:6]))))

        for cycle in _cycles(stuck, parents):
            problems.append(GraphProblem("cycle", cycle[0], by_id[cycle[0]].location, cycle=cycle))
    referenced = {parent for revision in by_id.values() for parent in revision.down_revisions}
    heads = tuple(rid for rid in order if rid not in referenced)
    bases = tuple(rid for rid in order if not by_id[rid].down_revisions)
    return RevisionGraph(heads, bases, tuple(order), by_id, tuple(errors), tuple(problems))


def _cycles(stuck: list[str], parents: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """The cycles among the revisions Kahn's algorithm could not order (the others merely descend
    from a cycle). `stuck` is sorted by path; a cycle starts at its first member in that order and
    follows parent links the shortest way back to it; a revision on a reported cycle starts none."""
    members = set(stuck)
    cycles: list[tuple[str, ...]] = []
    on_a_cycle: set[str] = set()
    for start in stuck:
        if start in on_a_cycle:
            continue
        came_from: dict[str, str] = {}  # breadth-first along parent links, inside the stuck set
        queue = deque([start])
        while queue:
            rid = queue.popleft()
            if start in parents[rid]:
                chain = [rid]
                while chain[-1] != start:
                    chain.append(came_from[chain[-1]])
                cycle = tuple(reversed(chain))
                cycles.append(cycle)
                on_a_cycle.update(cycle)
                break
            for parent in sorted(parents[rid] & members):
                if parent not in came_from and parent != start:
                    came_from[parent] = rid
                    queue.append(parent)
    return cycles
