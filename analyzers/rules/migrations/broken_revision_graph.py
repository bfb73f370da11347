from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .revision_examples import ALEMBIC_SETUP, revision_file
from ...i18n import _


class BrokenRevisionGraph(Rule):
    """## What it finds
    An Alembic history that cannot be walked: a `down_revision` or `depends_on` naming a
    revision that no file defines (a deleted or never-committed file, a typo, an id changed by
    hand), or revisions that name each other in a cycle. One finding per missing parent and per
    cycle; revisions that merely descend from a cycle are listed with it.

    Duplicate revision ids break the graph too; SL502 (duplicate-migration-version) reports
    those, so this rule does not report them again.

    ## Why it matters
    Alembic cannot build its revision map: every `alembic upgrade`, `downgrade`, `history` and
    `revision --autogenerate` fails ("Revision zz referenced from a1 -> b2 is not present",
    "Cycle is detected in revisions"), so nothing deploys until someone repairs the chain, and
    environments that ran the lost revision cannot be reproduced. SchemaLens cannot replay the
    revisions past the break either, so the schema it checks stops there.

    ## Example
    ```python
    revision = "b2"
    down_revision = "zz"   # no revision file has id "zz"
    ```

    ## Use instead
    Point `down_revision` at an existing revision: usually the head the file was written on
    (`alembic heads` before the change). If the missing revision ran somewhere, restore its file
    from version control instead of re-parenting. Break a cycle by making the older revision's
    `down_revision` what it was when it first shipped.

    ## How to verify
    `alembic history` lists the chain from base to head without errors, and
    `alembic upgrade head` runs on a fresh database.
    """

    code = "SL531"
    name = "broken-revision-graph"
    dimension = 5
    severity = "P0"
    summary = _("revision naming a missing parent, or revisions in a cycle")

    valid = (Example({**ALEMBIC_SETUP,
                      "migrations/versions/a1_init.py": revision_file("a1", None),
                      "migrations/versions/b2_next.py": revision_file("b2", "a1")}),)
    invalid = (
        Example({**ALEMBIC_SETUP,
                 "migrations/versions/a1_init.py": revision_file("a1", None),
                 "migrations/versions/b2_next.py": revision_file("b2", "zz", expect_revision=True)}),
        Example({**ALEMBIC_SETUP,
                 "migrations/versions/a1_init.py": revision_file("a1", None),
                 "migrations/versions/b2_next.py": revision_file("b2", ("a1", "c3"), expect_revision=True),
                 "migrations/versions/c3_last.py": revision_file("c3", "b2"),
                 "migrations/versions/d4_after.py": revision_file("d4", "c3")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for graph in (history.graph for history in context.model.histories):
            yield from self._check_graph(graph)

    def _check_graph(self, graph) -> Iterator[Finding]:
        for problem in graph.problems:
            if problem.kind == "missing":
                yield self._missing(problem)
            elif problem.kind == "cycle":
                yield self._cycle(graph, problem)

    def _missing(self, problem) -> Finding:
        revision, missing, attribute = problem.revision, problem.missing, problem.attribute
        return self.finding(
            problem.location, _("revision %(revision)s names missing revision %(missing)s", revision=revision, missing=missing),
            _("The %(attribute)s of revision %(revision)s is %(missing)r, which no revision file defines.", attribute=attribute, revision=revision, missing=missing),
            impact=_("Worst case: the environments that ran revision "
                   "%(missing)s can never be reproduced. Most likely: every alembic command fails to build the "
                   "revision map and the deploy stops.", missing=missing),
            root_cause=_("Revision %(missing)s was deleted, renamed or never committed, or the %(attribute)s was edited by hand.", missing=missing, attribute=attribute),
            fix=Fix(short_term=_("Restore the file of revision %(missing)s from version control if it ran anywhere; otherwise "
                               "set the %(attribute)s of %(revision)s to the revision it was written on (alembic heads).", missing=missing, attribute=attribute, revision=revision),
                    medium_term=_("CI runs `alembic history` (or schemalens check) on every pull request."),
                    long_term=_("Revision files are never deleted or renumbered once merged; squash only with a new baseline.")),
            verification=_("alembic history  # lists %(revision)s without 'is not present'; alembic upgrade head on a fresh database", revision=revision))

    def _cycle(self, graph, problem) -> Finding:
        cycle = problem.cycle
        around = " -> ".join((*cycle, cycle[0]))
        stranded = sorted(set().union(*(graph.descendants(rid) for rid in cycle)) - set(cycle))
        also = _(" Revisions after it (%(stranded)s) cannot run either.", stranded=', '.join(stranded)) if stranded else ""
        return self.finding(
            problem.location, _("revision cycle %(around)s", around=around),
            _("Revisions %(around)s each name the next as a parent (down_revision or depends_on), so none of them has a "
            "place in the history.%(also)s", around=around, also=also),
            impact=_("Worst case: revisions of the cycle ran in some environments in an order that can never be reproduced. "
                   "Most likely: every alembic command fails with \"Cycle is detected\" and the deploy stops."),
            root_cause=_("A down_revision was edited by hand (often while resolving a merge conflict) to point at a later revision."),
            fix=Fix(short_term=_("Set the down_revision of %(cycle)s back to the revision it was written on (git log -p on "
                               "its file shows the original value).", cycle=cycle[0]),
                    medium_term=_("CI runs `alembic history` (or schemalens check) on every pull request."),
                    long_term=_("Merge branches with `alembic merge` instead of editing down_revision by hand.")),
            verification=_("alembic history  # prints the chain without 'Cycle is detected'"),
            related=tuple(Related(graph.by_id[rid].location, _("in the cycle: %(rid)s", rid=rid)) for rid in cycle[1:]))
