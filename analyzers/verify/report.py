"""The verification report in Markdown and JSON: per revision and phase, ok or failed, the
slowest statements, the strongest lock per table, rewrites and rows; the failures with their
statement and PostgreSQL's error; the models' drift; SchemaLens's own gaps."""

from __future__ import annotations

from collections import defaultdict

from ..i18n import translator
from . import VerifyReport
from .rehearsal import PHASES, StepResult
from .tracer import strongest

SLOWEST = 3


TOOL_TABLES = {"alembic_version", "flyway_schema_history"}


def _locks(step: StepResult) -> dict[str, str]:
    """The strongest lock per table the step found existing: a table it creates is locked by
    nobody else, so its locks on it do not matter."""
    modes: dict[str, set[str]] = defaultdict(set)
    created: set[str] = set()
    for statement in step.statements:
        for table, found in statement.locks.items():
            if table not in created and table not in statement.created and table not in TOOL_TABLES:
                modes[table] |= found
        created |= set(statement.created)
    return {table: strongest(found) for table, found in sorted(modes.items())}


def _rewrites(step: StepResult) -> list[str]:
    return sorted({table for statement in step.statements for table in statement.rewritten})


def step_json(step: StepResult) -> dict:
    slowest = sorted(step.statements, key=lambda s: -s.duration_ms)[:SLOWEST]
    error = step.error
    return {"environment": step.environment, "phase": step.phase, "revision": step.revision, "path": step.path, "ok": step.ok,
            "duration_ms": round(step.duration_ms, 1), "statements": len(step.statements),
            "slowest": [{"sql": s.sql, "duration_ms": round(s.duration_ms, 1)} for s in slowest],
            "locks": _locks(step), "rewrites": _rewrites(step), "rows": step.rows,
            "error": {"statement": error.sql, "message": error.error} if error else None,
            "exception": step.exception, "ran_nothing": step.ran_nothing,
            "failure": None if step.ok else step.failure()}


def verify_json(report: VerifyReport) -> dict:
    rehearsal = report.rehearsal
    return {"version": 1, "database": report.database, "alembic": rehearsal.way or None, "python": rehearsal.python,
            "environments": {name: {"way": rehearsal.ways.get(name), "revisions": rehearsal.revisions.get(name, 0),
                                    "bootstrapped": name in rehearsal.bootstrapped,
                                    "revisions_run": revisions_run(rehearsal, name)}
                             for name in rehearsal.revisions},
            "sql_sets": [sql_set_json(result) for result in rehearsal.sql_sets],
            "ok": not report.failed, "verdict": report.verdict, "seconds": round(report.seconds, 2),
            "steps": [step_json(step) for step in rehearsal.steps],
            "failures": rehearsal.failures + [step.failure() for step in rehearsal.steps if not step.ok],
            "notes": rehearsal.notes, "drift": report.drift, "drift_compared": report.drift_compared,
            "schemalens_limitations": report.limitations}


def sql_set_json(result) -> dict:
    return {"name": result.name, "dialect": result.dialect, "database": result.database or None,
            "files": len(result.files), "ran": result.ran, "failed": result.failed, "not_run": result.not_run or None,
            "seconds": round(result.seconds, 2), "transactions": result.transactions, "ok": result.ok}


def revisions_run(rehearsal, environment: str) -> int:
    """Distinct revisions of `environment` that ran without failing in some phase."""
    return len({s.revision for s in rehearsal.steps if s.environment == environment and s.ok and s.phase in PHASES})


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _verdict(verdict: str, _) -> str:
    return {"FAILED": _("FAILED"), "INCOMPLETE": _("INCOMPLETE")}.get(verdict, verdict)


def render_verify_markdown(report: VerifyReport, heading_level: int = 1, lang: str = "en") -> str:
    _ = translator(lang)
    h = "#" * heading_level
    rehearsal = report.rehearsal
    out = [f"{h} " + _("Migration rehearsal (schemalens verify)"), "",
           _("%(outcome)s: %(database)s, %(seconds).1f s.", outcome=_verdict(report.verdict, _),
             database=report.database, seconds=report.seconds)
           + (" " + _("Alembic ran with %(way)s.", way=rehearsal.way) if rehearsal.way else "")
           + (" " + _("Project code ran in %(python)s.", python=rehearsal.python) if rehearsal.python else ""), ""]
    out += ["- " + _("%(environment)s: %(run)d of %(count)d revision(s) ran", environment=name,
                     run=revisions_run(rehearsal, name), count=count)
            + (" " + _("(bootstrapped by create_all() + stamp)") if name in rehearsal.bootstrapped else "")
            + ("" if name in rehearsal.environments else " " + _("(not rehearsed)"))
            for name, count in rehearsal.revisions.items()]
    out += ["- " + _("SQL migration set %(line)s", line=_cell(result.line(_))) for result in rehearsal.sql_sets]
    out += [f"- {_.localize(note)}" for note in rehearsal.notes]
    by_revision: dict[str, dict[str, StepResult]] = defaultdict(dict)
    order: list[str] = []
    for step in rehearsal.steps:
        if step.revision not in by_revision:
            order.append(step.revision)
        by_revision[step.revision][step.phase] = step
    out += ["", f"{h}# " + _("Revisions"), "",
            _("| revision | %(phases)s | slowest statement | strongest lock per table | rewrites | rows |",
              phases=" | ".join(PHASES)),
            "|---|---|---|---|---|---|---|---|"]
    # Outside the f-strings below, where Babel would not see them.
    ok, failed, ran_nothing = _("ok"), _("failed"), _("ran nothing")
    for revision in order:
        steps = by_revision[revision]
        first = steps.get("upgrade") or next(iter(steps.values()))
        cells = []
        for phase in PHASES:
            step = steps.get(phase)
            cells.append("-" if step is None else f"{ok} {step.duration_ms:.0f} ms" if step.ok
                         else f"**{ran_nothing}**" if step.ran_nothing else f"**{failed}**")
        slowest = max(first.statements, key=lambda s: s.duration_ms, default=None)
        locks = ", ".join(f"{table}: {mode}" for table, mode in _locks(first).items())
        rows = ", ".join(f"{table} {count}" for table, count in first.rows.items() if table not in TOOL_TABLES)
        out.append(f"| `{first.path}` | " + " | ".join(cells)
                   + f" | {_cell(f'{slowest.duration_ms:.0f} ms {slowest.sql[:80]}') if slowest else '-'}"
                   + f" | {_cell(locks) or '-'} | {', '.join(_rewrites(first)) or '-'} | {rows or '-'} |")
    failures = [step for step in rehearsal.steps if not step.ok]
    if failures or rehearsal.failures:
        out += ["", f"{h}# " + _("Failures"), ""]
        out += [f"- {_cell(_.localize(step.failure()))}" for step in failures]
        out += [f"- {_.localize(failure)}" for failure in rehearsal.failures]
    out += ["", f"{h}# " + _("Models vs the migrated database"), ""]
    if not report.drift_compared:
        out.append(_("Not compared: %(reason)s.", reason=_.localize(report.drift_skipped)))
    else:
        out += ([f"- {_cell(_.localize(line))}" for line in report.drift]
                or [_("The models match the database the migrations build.")])
    out += ["", f"{h}# " + _("SchemaLens's static replay vs PostgreSQL"), ""]
    out += ([f"- {_cell(_.localize(line))}" for line in report.limitations]
            + ["", _("These are SchemaLens limitations, not project problems.")]
            if report.limitations else [_("The static database layer matches PostgreSQL.")])
    if report.kept:
        out += ["", _.localize(report.kept)]
    return "\n".join(out).rstrip() + "\n"
