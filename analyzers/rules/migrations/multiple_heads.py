from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .revision_examples import ALEMBIC_SETUP, revision_file
from ...i18n import _


def _branch_labels(graph, revision_id: str) -> set[str]:
    """The branch labels of a revision and its ancestors: the branches it belongs to."""
    labels, stack, seen = set(), [revision_id], set()
    while stack:
        revision = graph.by_id.get(stack.pop())
        if revision is None or revision.id in seen:
            continue
        seen.add(revision.id)
        labels.update(revision.branch_labels)
        stack.extend(revision.down_revisions)
    return labels


def competing_heads(graph) -> list[list[str]]:
    """Groups of heads that compete for `alembic upgrade head`: heads on no labelled branch form
    one group, heads that share a branch label another. Heads that descend from a revision whose
    parent is missing are left out (the graph is broken there; SL531 reports it)."""
    broken: set[str] = set()
    for problem in graph.problems:
        if problem.kind == "missing":
            broken |= {problem.revision, *graph.descendants(problem.revision)}
    heads = sorted((h for h in graph.heads if h not in broken), key=lambda rid: graph.by_id[rid].path)
    groups: list[tuple[set[str], list[str]]] = []  # (labels, heads); "" stands for "no label"
    for head in heads:
        keys = _branch_labels(graph, head) or {""}
        joined = [group for group in groups if group[0] & keys]
        merged = (set(keys), [head])
        for group in joined:
            merged[0].update(group[0])
            merged[1][:0] = group[1]
            groups.remove(group)
        groups.append(merged)
    return [sorted(members, key=lambda rid: graph.by_id[rid].path) for _, members in groups if len(members) > 1]


class MultipleHeads(Rule):
    """## What it finds
    An Alembic history with more than one head: two revisions that both name the same parent
    (or unrelated chains) and no merge revision that joins them. Heads on deliberately separate
    branches, each with its own `branch_labels`, are left alone; heads that share a branch
    label, or carry none, compete. A head whose chain is broken (a missing parent) is reported
    by SL531 instead.

    ## Why it matters
    `alembic upgrade head` stops with "Multiple head revisions are present", so the deploy
    that runs it fails. Teams then switch to `upgrade heads`, which applies both branches in
    an order nobody chose: two revisions that touch the same table (a rename and an added
    column) can run in either order in different environments. It happens when two pull
    requests each add a revision on top of the same head.

    ## Example
    ```python
    # a2_add_status.py
    revision = "a2"
    down_revision = "a1"

    # b2_add_index.py
    revision = "b2"
    down_revision = "a1"
    ```

    ## Use instead
    ```
    alembic merge -m "merge a2 and b2" a2 b2
    ```
    writes a merge revision (`down_revision = ("a2", "b2")`) that fixes the order of the two
    branches for everyone. Better still, rebase the newer branch: set its `down_revision` to
    the other head before it is merged.

    ## How to verify
    `alembic heads` prints one revision; `alembic upgrade head` runs on a fresh database.
    """

    code = "SL530"
    name = "multiple-heads"
    dimension = 5
    severity = "P1"
    summary = _("several Alembic heads without a merge revision")

    valid = (
        Example({**ALEMBIC_SETUP,
                 "migrations/versions/a1_init.py": revision_file("a1", None),
                 "migrations/versions/a2_status.py": revision_file("a2", "a1"),
                 "migrations/versions/b2_index.py": revision_file("b2", "a1"),
                 "migrations/versions/m3_merge.py": revision_file("m3", ("a2", "b2"))}),
        Example({**ALEMBIC_SETUP,
                 "migrations/versions/a1_app.py": revision_file("a1", None, header="branch_labels = ('app',)"),
                 "migrations/versions/r1_reporting.py": revision_file("r1", None, header="branch_labels = ('reporting',)")}),
    )
    invalid = (Example({**ALEMBIC_SETUP,
                        "migrations/versions/a1_init.py": revision_file("a1", None),
                        "migrations/versions/a2_status.py": revision_file("a2", "a1", expect_revision=True),
                        "migrations/versions/b2_index.py": revision_file("b2", "a1")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for graph in (history.graph for history in context.model.histories):
            yield from self._check_graph(graph)

    def _check_graph(self, graph) -> Iterator[Finding]:
        for heads in competing_heads(graph):
            first, others = graph.by_id[heads[0]], [graph.by_id[rid] for rid in heads[1:]]
            listed = ", ".join(heads)
            yield self.finding(
                first.location, _("%(count)s Alembic heads: %(listed)s", count=len(heads), listed=listed),
                _("Revisions %(listed)s are all heads: nothing merges them, so `alembic upgrade head` refuses to run.", listed=listed),
                impact=_("Worst case: `alembic upgrade heads` applies the branches in a different order in each environment "
                       "and their schemas diverge. Most likely: the deploy step `alembic upgrade head` fails with "
                       "\"Multiple head revisions are present\"."),
                root_cause=_("Two changes were each written on top of the same head and merged without rebasing one on the other."),
                fix=Fix(short_term=_("alembic merge -m \"merge heads\" %(heads)s  (or point the newer revision's "
                                   "down_revision at the other head, if it has not run anywhere yet).", heads=' '.join(heads)),
                        medium_term=_("CI fails when `alembic heads` prints more than one line (schemalens check does it)."),
                        long_term=_("Merge queue or a rebase-before-merge policy for pull requests that add revisions.")),
                verification=_("alembic heads  # prints one revision; alembic upgrade head runs on a fresh database"),
                related=tuple(Related(other.location, _("also a head: %(id)s", id=other.id)) for other in others))
