"""Run the audit rules over a workspace model: the one entry point the CLI and the server share."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional

from .rules import all_rules
from .rules.base import Finding, Rule, one_per_problem
from .rules.context import AuditContext
from .rules.selection import apply_selection, rule_enabled
from .i18n import _
from .schema.model import ExtractionError, Location
from .workspace.index import CodeNotRead

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Checks that ran short of the evidence their findings need: said in the report instead of
    reported as findings or left unsaid."""

    rules: tuple[str, ...]
    reason: str  # "size": tables without size hints; "migrates at startup" or "declared" (migrations_run = "offline"): lock rules; "mysql": moot_on_mysql rules
    candidates: int = 0  # the findings the rules would have made with the evidence
    tables: tuple[str, ...] = ()  # the tables that evidence is about, those with most candidates first
    source: str = ""  # where the reason was read ("requirements.txt: pymysql")


@dataclass(frozen=True, slots=True)
class AuditResult:
    findings: tuple[Finding, ...]
    errors: tuple[ExtractionError, ...]  # rules that failed, as problems of SchemaLens itself
    query_paths: tuple = ()  # the application's queries resolved to tables (the index rules read them)
    held_back: tuple[HeldBack, ...] = ()
    # Rules that asked for code facts a schema-first model does not have yet (WorkspaceIndex.
    # index_all): their findings, and what is said of held-back checks, wait for the full model.
    waiting_for_code: tuple[str, ...] = ()


def run_audit(model, *, rules: Optional[Iterable[type[Rule]]] = None, text_of=None, merged: bool = True) -> AuditResult:
    """Check `model` (a WorkspaceModel) with the enabled rules (or exactly `rules`), apply
    suppressions, make one finding per problem (unless `merged` is False: one per place, for a
    caller that moves findings before grouping them), sort.

    `text_of(path)` returns a file's current text (the editor's buffer); by default the file is
    read from disk under the model's root. Each file is read once per audit: many rules read the same files.
    """
    text_of = functools.lru_cache(maxsize=None)(text_of or (lambda path: _read(model.root, path)))
    context = AuditContext(model, text_of)
    findings: list[Finding] = []
    errors: list[ExtractionError] = []
    comparable = model.coverage.layers_comparable
    if rules is None:
        rules = [rule for rule in all_rules() if rule_enabled(rule.code, model.config, rule.default_enabled)]
    held_back_locks, held_back_mysql, waiting = [], [], []
    for rule_class in rules:
        try:
            if rule_class.contends_with_live_traffic and context.migrations_run_offline:
                held_back_locks.append(rule_class.code)
                continue
            if rule_class.moot_on_mysql and context.deployed_engine.name == "mysql":
                held_back_mysql.append(rule_class.code)
                continue
            if rule_class.compares_layers and not comparable:
                continue
            findings.extend(list(rule_class().check(context)))  # all of them, or none if it fails
        except CodeNotRead:
            waiting.append(rule_class.code)
        except Exception as error:  # one broken rule must not hide every other finding
            log.exception("rule %s failed", rule_class.code)
            errors.append(ExtractionError(Location(model.config.source or ".", 1),
                                          _("rule %(rule)s failed: %(error)s", rule=rule_class.code, error=repr(error)),
                                          kind="internal"))

    kept = apply_selection(findings, model.config, text_of)
    if merged:
        kept = one_per_problem(kept, rules)
    if waiting:
        return AuditResult(tuple(sorted(kept, key=lambda f: f.sort_key)), tuple(errors), waiting_for_code=tuple(waiting))
    held_back = [HeldBack(tuple(held_back_locks), context.migrations_run_offline, source=context.migrations_offline_source)] \
        if held_back_locks else []
    if held_back_mysql:
        held_back.append(HeldBack(tuple(held_back_mysql), "mysql", source=context.deployed_engine.source))
    if context.unsized:
        by_table: Counter = sum(context.unsized.values(), Counter())
        held_back.append(HeldBack(tuple(sorted(context.unsized)), "size", sum(by_table.values()),
                                  tuple(table for table, _count in by_table.most_common())))
    return AuditResult(tuple(sorted(kept, key=lambda f: f.sort_key)), tuple(errors), tuple(context.query_paths),
                       tuple(held_back))


# Rules that report workspace problems (a statement PostgreSQL rejects, a broken revision graph)
# as findings: such a problem is shown once, as the finding, which carries the fix.
_PROBLEM_RULES = frozenset({"SL531", "SL538", "SL570", "SL571"})
# Rules whose finding explains every replay error of its file (a migration that repeats another).
_FILE_PROBLEM_RULES = frozenset({"SL572"})


def workspace_problems(errors: Iterable[ExtractionError], findings: Iterable[Finding]) -> tuple[ExtractionError, ...]:
    """The problems reading the workspace that no finding already reports."""
    findings = list(findings)
    reported = {(f.location.path, f.location.line) for f in findings if f.rule in _PROBLEM_RULES}
    whole_files = {f.location.path for f in findings if f.rule in _FILE_PROBLEM_RULES}
    return tuple(e for e in errors if (e.location.path, e.location.line) not in reported
                 and not (e.kind == "replay" and e.location.path in whole_files))


def _read(root, path: str) -> Optional[str]:
    try:
        return (root / path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
