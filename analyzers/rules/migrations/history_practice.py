"""A safety practice a whole migration history goes without, said once.

A rule that asks every migration for a practice (setting lock_timeout, building indexes
CONCURRENTLY) finds, in a history that has never followed it, the same problem in every migration
that locks a table in use: fides, 197 revisions without lock_timeout; tracecat, 101. A reviewer
writes that once: the team's migrations go without the practice, and the fix is one change of
practice for the migrations still to come, not one per migration that ran years ago. The finding
stands at the newest of them (where the next migration follows: what a developer writing it
sees), and names the others as `also:` places, which the editor still shows one by one
(base.occurrences). A history that follows the practice somewhere keeps a finding per migration
that does not: there it is a slip, not a policy.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable

from ...i18n import _, _n
from ...schema.drift import migration_history
from ..base import Finding, also_place
from ..context import AuditContext

# From this many findings in one history that never follows the practice, they are one finding.
POLICY_MINIMUM = 3


def once_where_never_practiced(context: AuditContext, findings: Iterable[Finding], kinds: tuple[type, ...],
                               practiced: Callable[[object], bool], practice: Callable[[str], str]) -> list[Finding]:
    """`findings` (of one rule, on migration files), those of each history none of whose
    operations of `kinds` is `practiced` (a predicate on the operation) made one when they are
    POLICY_MINIMUM or more. `practice(history)`: what the history goes without ("no migration of
    migrations/ sets lock_timeout")."""
    model = context.model
    histories: dict[str, str] = {}

    def history_of(path: str) -> str:
        if path not in histories:
            histories[path] = migration_history(model, path)
        return histories[path]

    following = {history_of(walked.step.path) for walked in context.walked(*kinds) if practiced(walked.operation)}
    order = {step.path: number for number, step in enumerate(model.steps)}
    by_history: dict[str, list[Finding]] = {}
    kept: list[Finding] = []
    for finding in findings:
        path = finding.location.path
        if path not in order:
            kept.append(finding)
            continue
        by_history.setdefault(history_of(path), []).append(finding)
    for history, found in by_history.items():
        if history in following or len(found) < POLICY_MINIMUM:
            kept += found
            continue
        ordered = sorted(found, key=lambda f: (order[f.location.path], f.location.line, f.location.column))
        kept.append(_one_for_the_history(ordered[-1], ordered[:-1], practice(_history_name(history))))
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


def _history_name(history: str) -> str:
    """migration_history's key as the report names it: the Alembic environment, or the SQL folder."""
    kind, _colon, name = history.partition(":")
    if name:
        return name
    return _("the Alembic history") if kind == "alembic" else kind
