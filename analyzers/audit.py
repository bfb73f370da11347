"""Run the audit rules over a workspace model: the one entry point the CLI and the server share."""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Iterable, Optional

from .collector import collector_paused
from .rules import all_rules
from .rules.base import ALSO, Finding, Rule, one_per_problem
from .rules.context import AuditContext, FindingsBySubject
from .rules.recorded import Checked
from .rules.selection import apply_selection, rule_enabled
from .i18n import _
from .schema.model import ExtractionError, Location
from .workspace.discovery import under
from .workspace.index import PYTHON_KINDS, CodeNotRead, WorkspaceModel, code_hidden

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HeldBack:
    """Checks that ran short of the evidence their findings need: said in the report instead of
    reported as findings or left unsaid."""

    rules: tuple[str, ...]
    reason: str  # "size": tables without size hints; "migrates at startup" or "declared" (migrations_run = "offline"): lock rules; "mysql": moot_on_mysql rules; "mysql locks": lock rules on MySQL
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


@dataclass
class KeptOutcomes:
    """What the rules that completed on one partial view of the model found, and what that view
    showed them (see KeptRules)."""

    inputs: Optional[tuple] = None  # the parts of the model the view shows, and the rules run
    texts: dict[str, Optional[str]] = field(default_factory=dict)  # every text those rules read
    outcomes: dict[str, tuple] = field(default_factory=dict)  # rule code -> _outcome
    # The rules that asked for what the view hides: later audits run them on a fuller view at once
    # instead of first on this one, where they stop where they ask for it.
    read_more: frozenset[str] = frozenset()


@dataclass
class KeptRules:
    """What the rules found in the last audit, by what they read: an audit whose model differs
    from that one only in its code (an edit of a service) takes back the outcomes of the rules
    that read no code; one that differs only in its models and code (an edit of a model) those
    of the rules that read only the migrations, the SQL and the settings. A caller that audits
    again and again (the language server) keeps one and hands it to every `run_audit`."""

    migrations: KeptOutcomes = field(default_factory=KeptOutcomes)  # rules that read neither the models nor the code
    schema: KeptOutcomes = field(default_factory=KeptOutcomes)  # rules that read no code
    # What the rules that run again found per table, by what they found it from (AuditContext.per_subject)
    by_subject: dict[tuple, tuple[tuple, tuple]] = field(default_factory=dict)
    # What the rules that check step by step or table by table found in each (rules/recorded.py)
    by_check: dict[tuple, Checked] = field(default_factory=dict)
    merged: dict[tuple, tuple] = field(default_factory=dict)  # the groups of findings one_per_problem merged


@collector_paused()
def run_audit(model, *, rules: Optional[Iterable[type[Rule]]] = None, text_of=None, merged: bool = True,
              kept: Optional[KeptRules] = None) -> AuditResult:
    """Check `model` (a WorkspaceModel) with the enabled rules (or exactly `rules`), apply
    suppressions, make one finding per problem (unless `merged` is False: one per place, for a
    caller that moves findings before grouping them), sort.

    `text_of(path)` returns a file's current text (the editor's buffer); by default the file is
    read from disk under the model's root. Each file is read once per audit: many rules read the same files.

    The rules first run on the model with its models and code hidden (`_models_hidden`), then on
    the model with its code hidden (`code_hidden`: the code facts, and the text of Python files
    outside the migrations): the outcome of a rule that completes there depends on what that
    view shows alone, and on what the rules read outside the model (Rule.read_outside), and
    `kept` can keep it. The others run again on the whole model; those that
    check table by table take back, from `kept`, what they found on each table whose inputs are
    unchanged (AuditContext.per_subject).
    """
    text_of = functools.lru_cache(maxsize=None)(text_of or (lambda path: _read(model.root, path)))
    if rules is None:
        rules = [rule for rule in all_rules() if rule_enabled(rule.code, model.config, rule.default_enabled)]
    codes = tuple(rule.code for rule in rules)
    asked_ahead = [rule for rule in rules if rule.ask_ahead(model)]  # checked last: their answers come meanwhile
    read_outside = tuple((rule.code, outside) for rule in rules if (outside := rule.read_outside(model)))
    outcomes: dict[str, tuple] = {}
    pending = [rule for rule in rules if rule not in asked_ahead] + asked_ahead
    by_subject = FindingsBySubject(kept.by_subject) if kept is not None else None
    by_check = FindingsBySubject(kept.by_check) if kept is not None else None
    taken_back: set[str] = set()
    for view, view_inputs, name in _PARTIAL_VIEWS if kept is not None else ():  # with nothing to keep, straight on the whole model
        state = getattr(kept, name)
        inputs = (view_inputs(model), codes, read_outside)
        if state.inputs == inputs and all(text_of(path) == text for path, text in state.texts.items()):
            found = {rule.code: state.outcomes[rule.code] for rule in pending if rule.code in state.outcomes}
            taken_back.update(found)
        else:
            read: dict[str, Optional[str]] = {}
            shown = view(model)
            context = AuditContext(shown, _schema_texts(model, text_of, read), by_subject=by_subject, by_check=by_check)
            found = {rule.code: outcome for rule in pending if rule.code not in state.read_more
                     and (outcome := _outcome(rule, context, shown))[0] != "waits"}
            setattr(kept, name, KeptOutcomes(inputs, read, found, frozenset(rule.code for rule in pending if rule.code not in found)))
        outcomes.update(found)
        pending = [rule for rule in pending if rule.code not in found]
    context = AuditContext(model, text_of, by_subject=by_subject, by_check=by_check)
    for rule in pending:
        outcomes[rule.code] = _outcome(rule, context, model)
    outcomes = {code: outcomes[code] for code in codes}
    if kept is not None:
        # a rule whose outcome was taken back whole made nothing again: what it found per table, or
        # per step, stays
        kept.by_subject = _kept_for(kept.by_subject, by_subject, taken_back)
        kept.by_check = _kept_for(kept.by_check, by_check, taken_back)

    findings = [finding for outcome in outcomes.values() if outcome[0] == "found" for finding in outcome[1]]
    errors = [outcome[1] for outcome in outcomes.values() if outcome[0] == "failed"]
    waiting = tuple(code for code, outcome in outcomes.items() if outcome[0] == "waits")
    kept_findings = apply_selection(findings, model.config, text_of)
    if merged:
        kept_findings = one_per_problem(kept_findings, rules, kept.merged if kept is not None else None)
    ordered = tuple(sorted(kept_findings, key=lambda f: f.sort_key))
    if waiting:
        return AuditResult(ordered, tuple(errors), waiting_for_code=waiting)
    held_back = []
    locks = [outcome for outcome in outcomes.values() if outcome[0] == "locks"]
    if locks:
        held_back.append(HeldBack(tuple(code for code, outcome in outcomes.items() if outcome[0] == "locks"),
                                  locks[0][1], source=locks[0][2]))
    for reason in ("mysql", "mysql locks"):
        on_mysql = [outcome for outcome in outcomes.values() if outcome[0] == reason]
        if on_mysql:
            held_back.append(HeldBack(tuple(code for code, outcome in outcomes.items() if outcome[0] == reason), reason,
                                      source=on_mysql[0][1]))
    unsized = {code: outcome[2] for code, outcome in outcomes.items() if outcome[0] == "found" and outcome[2]}
    if unsized:
        by_table: Counter = sum(unsized.values(), Counter())
        held_back.append(HeldBack(tuple(sorted(unsized)), "size", sum(by_table.values()),
                                  tuple(table for table, _count in by_table.most_common())))
    return AuditResult(ordered, tuple(errors), tuple(context.query_paths), tuple(held_back))


def _kept_for(before: dict[tuple, object], memo: FindingsBySubject, taken_back: set[str]) -> dict[tuple, object]:
    """What the next audit can take back: what this one found again, and what the last one found
    for the rules this one took back whole (keyed by rule code first)."""
    kept = {key: last for key, last in before.items() if key[0] in taken_back}
    kept.update(memo.now)
    return kept


def _outcome(rule_class: type[Rule], context: AuditContext, model) -> tuple:
    """What one rule gives in `context`: ("found", findings, the candidates it held back for
    want of size hints), ("locks", why, where it was read), ("mysql", where it was read) or
    ("mysql locks", where it was read) when held back, ("skipped",), ("failed", the problem), or
    ("waits",) when it asked for code the context hides."""
    try:
        if rule_class.contends_with_live_traffic and context.migrations_run_offline:
            return ("locks", context.migrations_run_offline, context.migrations_offline_source)
        if rule_class.moot_on_mysql and context.deployed_engine.name == "mysql":
            return ("mysql", context.deployed_engine.source)
        if rule_class.contends_with_live_traffic and context.deployed_engine.name == "mysql":
            return ("mysql locks", context.deployed_engine.source)
        if rule_class.compares_layers and not model.coverage.layers_comparable:
            return ("skipped",)
        found = list(rule_class().check(context))  # all of them, or none if it fails
        if rule_class.contends_with_live_traffic:
            found = [finding for finding in found if not _moot_lock(context, finding)]
        return ("found", found, context.unsized.pop(rule_class.code, None))
    except CodeNotRead:
        context.unsized.pop(rule_class.code, None)
        return ("waits",)
    except Exception as error:  # one broken rule must not hide every other finding
        log.exception("rule %s failed", rule_class.code)
        return ("failed", ExtractionError(Location(model.config.source or ".", 1),
                                          _("rule %(rule)s failed: %(error)s", rule=rule_class.code, error=repr(error)),
                                          kind="internal"))


def _moot_lock(context: AuditContext, finding: Finding) -> bool:
    """A lock finding of one place on a table a later migration dropped: nothing is left to lock."""
    return bool(finding.table) and not any(related.label.startswith(ALSO) for related in finding.related) \
        and context.dropped_later(finding.table, finding.location.path)


def _schema_inputs(model) -> tuple:
    """Everything of the model a rule may read besides its code: the layers, the migrations, the
    files and settings."""
    return (*(_Identity(getattr(model, name)) for name in _LAYERS), *(getattr(model, name) for name in _SCHEMA_FIELDS))


def _migration_inputs(model) -> tuple:
    """Everything of the model a rule may read besides its models and its code: the database the
    migrations build, the migrations, the files and settings."""
    return (_Identity(model.database), *(getattr(model, name) for name in _MIGRATION_FIELDS))


def _models_hidden(model):
    """The model with its code and what the models say hidden: any look at them raises
    CodeNotRead."""
    return replace(code_hidden(model), orm=_NotRead(), summaries=_NotRead(),
                   **{name: _NotRead() for name in _MODEL_FIELDS})


class _NotRead:
    """A part of the model a partial view hides: any look at it, a comparison included, raises
    CodeNotRead."""

    __slots__ = ()

    def _hidden(self, *_args):
        raise CodeNotRead()

    __getattr__ = __getitem__ = __iter__ = __len__ = __contains__ = __bool__ = __eq__ = __hash__ = _hidden


class _Identity:
    """A value compared as the object it is: the index keeps a layer it does not rebuild, and
    comparing a rebuilt one table by table would cost more than the rules it could spare."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __eq__(self, other) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


_LAYERS = ("orm", "database")
_SCHEMA_FIELDS = tuple(name for name in WorkspaceModel.__dataclass_fields__
                       if name not in ("code", "code_read_from", "summaries", *_LAYERS))
# What the index builds from the models besides their layer (the main database's layer, its
# bootstrap tables and the naming convention the replay applies are compared as they come out).
_MODEL_FIELDS = ("relationships", "transformed_columns", "coverage")
_MIGRATION_FIELDS = tuple(name for name in _SCHEMA_FIELDS if name not in _MODEL_FIELDS)
# The partial views the rules run on first, narrowest first: (view, what it shows, KeptRules field).
_PARTIAL_VIEWS = ((_models_hidden, _migration_inputs, "migrations"), (code_hidden, _schema_inputs, "schema"))


def _schema_texts(model, text_of, read: dict[str, Optional[str]]):
    """`text_of` that hides the text of Python files outside the migrations (application code,
    models, tests: code, like the code facts) and records every text it gives."""
    hidden = {path for path, kind in model.files.items() if kind in PYTHON_KINDS and not under(path, model.migration_folders)}

    def schema_text(path: str) -> Optional[str]:
        if path in hidden:
            raise CodeNotRead(path)
        text = read[path] = text_of(path)
        return text
    return schema_text


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
