"""A safety practice a migration history goes without, said once.

A rule that asks every migration for a practice (setting lock_timeout, building indexes
CONCURRENTLY) finds, in a history that has never followed it, the same problem in every migration
that locks a table in use: fides, 197 revisions without lock_timeout; tracecat, 101. A reviewer
writes that once: the team's migrations go without the practice, and the fix is one change of
practice for the migrations still to come, not one per migration that ran years ago. The finding
stands at the newest of them (where the next migration follows: what a developer writing it
sees), and names the others as `also:` places, which the editor still shows one by one
(base.occurrences).

A history that takes the practice up at some migration keeps a finding per later migration that
does not follow it: there it is a slip. The migrations before the first that follows it ran
before the team took it up (letta's 51 indexes built without CONCURRENTLY, dstack's, judged "it
predates the team's switch"): nothing is left to change in them, so they are one finding, at P2,
that says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from ...i18n import _, _n
from ...schema.drift import migration_history
from ..base import Finding, Related, also_place
from ..context import AuditContext

# From this many findings in one history that never follows the practice, they are one finding.
POLICY_MINIMUM = 3


def said_once_per_history(context: AuditContext, findings: Iterable[Finding], kinds: tuple[type, ...],
                          practiced: Callable[[object], bool], practice: Callable[[str], str]) -> list[Finding]:
    """`findings` (of one rule, on migration files) as a reviewer says them, history by history:
    a history none of whose walked operations of `kinds` is `practiced` (a predicate on the walked
    operation) makes them one when they are POLICY_MINIMUM or more; in a history that follows the
    practice from some migration on, those before it are one finding at P2, those after it stay.
    `practice(history)`: what the history goes without ("no migration of migrations/ sets lock_timeout")."""
    model = context.model
    histories: dict[str, str] = {}

    def history_of(path: str) -> str:
        if path not in histories:
            histories[path] = migration_history(model, path)
        return histories[path]

    order = {step.path: number for number, step in enumerate(model.steps)}
    taken_up: dict[str, tuple[int, object]] = {}  # history -> (order, walked) of its first migration that follows it
    for walked in context.walked(*kinds):  # in replay order: the first that follows it comes first
        number = order.get(walked.step.path)
        if number is not None and practiced(walked):
            taken_up.setdefault(history_of(walked.step.path), (number, walked))
    by_history: dict[str, list[Finding]] = {}
    kept: list[Finding] = []
    for finding in findings:
        if finding.location.path in order:
            by_history.setdefault(history_of(finding.location.path), []).append(finding)
        else:
            kept.append(finding)
    for history, found in by_history.items():
        ordered = sorted(found, key=lambda f: (order[f.location.path], f.location.line, f.location.column))
        first = taken_up.get(history)
        if first is None:
            if len(ordered) < POLICY_MINIMUM:
                kept += ordered
            else:
                kept.append(_one_for_the_history(ordered[-1], ordered[:-1], practice(_history_name(history))))
            continue
        before = [finding for finding in ordered if order[finding.location.path] < first[0]]
        kept += ordered[len(before):]
        if before:
            kept.append(_before_the_practice(before[-1], before[:-1], first[1]))
    return kept


def _one_for_the_history(newest: Finding, earlier: list[Finding], lacking: str) -> Finding:
    count = len(earlier)
    return replace(
        newest,
        title=newest.title + _n("; %(practice)s (and %(count)d more like it)",
                                "; %(practice)s (and %(count)d more like it)", count, practice=lacking),
        message=newest.message + " " + _n(
            "The history has never followed this practice: %(count)d earlier place does the same (related). The fix "
            "is a practice for the migrations to come: a migration that ran long ago has no lock left to take.",
            "The history has never followed this practice: %(count)d earlier places do the same (related). The fix "
            "is a practice for the migrations to come: a migration that ran long ago has no lock left to take.", count),
        severity=min([newest.severity, *(other.severity for other in earlier)]),
        related=(*newest.related, *map(also_place, earlier)))


def _before_the_practice(newest: Finding, earlier: list[Finding], first_following: object) -> Finding:
    """The findings of the migrations before `first_following` (a walked operation that follows
    the practice), as one: history, at P2."""
    location = first_following.operation.location
    before = _("before the history took up the practice at %(path)s:%(line)s", path=location.path, line=location.line)
    count = len(earlier)
    if count:
        title = _n("; %(before)s (and %(count)d more like it)", "; %(before)s (and %(count)d more like it)", count, before=before)
        said = _n("It ran before the history took up the practice, as %(count)d earlier place did (related): ",
                  "It ran before the history took up the practice, as %(count)d earlier places did (related): ", count)
    else:
        title, said = _("; %(before)s", before=before), _("It ran before the history took up the practice: ")
    return replace(
        newest, title=newest.title + title, severity="P2",
        message=newest.message + " " + said + _(
            "a migration that already ran has no lock left to take, and each later migration that goes without the "
            "practice is reported on its own. Said for the record, at P2."),
        related=(*newest.related, Related(location, _("the practice followed from here on")), *map(also_place, earlier)))


def _history_name(history: str) -> str:
    """migration_history's key as the report names it: the Alembic environment, or the SQL folder."""
    kind, _colon, name = history.partition(":")
    if name:
        return name
    return _("the Alembic history") if kind == "alembic" else kind
