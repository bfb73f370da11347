"""The rule framework: a rule is a small class with a code, docs, examples and a `check`.

Modelled on ruff (codes, fixed doc headings, select/ignore) and Fixit (VALID/INVALID examples
that are both docs and tests). Rules read the workspace model through an `AuditContext` and
yield `Finding`s; they never build text edits or know about editors.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Iterator, Optional

from ..i18n import _n
from ..schema.model import Location
from ..lazy_pattern import LazyPattern

if TYPE_CHECKING:
    from .context import AuditContext

SEVERITIES = ("P0", "P1", "P2")

DIMENSIONS = {
    1: "Modeling",
    2: "Columns",
    3: "Integrity",
    4: "Indexes and performance",
    5: "Migrations and evolution",
    6: "Concurrency",
    7: "Governance",
    8: "Compatibility, defense, fallback",
}

DOC_HEADINGS = ("What it finds", "Why it matters", "Example", "Use instead", "How to verify")


@dataclass(frozen=True, slots=True)
class Related:
    location: Location
    label: str


@dataclass(frozen=True, slots=True)
class Fix:
    short_term: str  # 1-3 days
    medium_term: str = ""  # 1-2 weeks
    long_term: str = ""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    name: str
    severity: str
    dimension: int
    title: str
    message: str
    location: Location
    impact: str
    root_cause: str
    fix: Fix
    verification: str
    table: Optional[str] = None
    column: Optional[str] = None
    related: tuple[Related, ...] = ()

    @property
    def sort_key(self) -> tuple:
        return (self.severity, self.location.path, self.location.line, self.location.column, self.rule)


@dataclass(frozen=True, slots=True)
class Example:
    """A small workspace: {path: text}. In INVALID examples, the lines that must be reported end
    with a `# expect` (Python) or `-- expect` (SQL) marker."""

    files: dict[str, str]
    config: str = ""  # extra [tool.schemalens] TOML, written to pyproject.toml


_EXPECT = LazyPattern(r"(#|--)\s*expect\b")


def expected_lines(example: Example) -> set[tuple[str, int]]:
    return {(path, number) for path, text in example.files.items()
            for number, line in enumerate(text.splitlines(), start=1) if _EXPECT.search(line)}


class Rule:
    """Subclasses set the class attributes, write docs under DOC_HEADINGS, and implement check()."""

    code: ClassVar[str]
    name: ClassVar[str]
    dimension: ClassVar[int]
    severity: ClassVar[str]
    summary: ClassVar[str]  # one line: `_("...")`, translated through the catalog (analyzers/i18n.py)
    valid: ClassVar[tuple[Example, ...]] = ()
    invalid: ClassVar[tuple[Example, ...]] = ()
    # A rule that compares the models with the migrated database: held back when coverage says
    # one layer is not fully read, since every table missing from it would read as drift.
    compares_layers: ClassVar[bool] = False
    # A rule about locks and scans that block the application's live traffic while a migration
    # runs: held back when the application applies its migrations itself as it starts; its
    # findings on a table a later migration dropped are moot (AuditContext.dropped_later).
    contends_with_live_traffic: ClassVar[bool] = False
    # A rule whose claim is false on MySQL (InnoDB indexes every foreign key itself): held back
    # when the project deploys MySQL (analyzers/workspace/deployed_engine.py).
    moot_on_mysql: ClassVar[bool] = False
    # Off by default (an opinion, a heuristic that mostly reports deliberate choices): selected
    # only by its code, a prefix or a preset that lists it (`preset = "squawk"`), never by "ALL";
    # the docs say why it is off.
    default_enabled: ClassVar[bool] = True
    # One finding per problem: findings of this rule on the same "table", on the same "column"
    # (one index serves every query that lacks it), in the same "path" (a revision), or anywhere
    # in the "workspace" (a convention the whole schema follows) become one, the others its
    # related locations.
    grouped_by: ClassVar[Optional[str]] = None
    # The checks of other tools this rule covers, as "tool:check" ("squawk:ban-drop-table",
    # "strong_migrations:remove_column", "pgls:banDropTable", "eugene:E6"): docs and the peer
    # benchmark (bench/peer_squawk.py) read them.
    peers: ClassVar[tuple[str, ...]] = ()

    def check(self, context: "AuditContext") -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def ask_ahead(cls, model) -> bool:
        """Start, before the audit's rules run, what `check` would wait for outside this process
        (a subprocess), so that it runs meanwhile; True if it did: the rule then checks last."""
        return False

    @classmethod
    def read_outside(cls, model) -> tuple:
        """Stamps of what `check` reads outside the model (files the index does not read, such as
        `.gitignore`): an outcome kept from an earlier audit is taken back only while they are
        the same (run_audit's `kept`)."""
        return ()

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    def finding(self, location: Location, title: str, message: str, *, impact: str, root_cause: str,
                fix: Fix, verification: str, table: Optional[str] = None, column: Optional[str] = None,
                related: tuple[Related, ...] = (), severity: Optional[str] = None) -> Finding:
        return Finding(self.code, self.name, severity or self.severity, self.dimension, title, message,
                       location, impact, root_cause, fix, verification, table, column, related)


ALSO = "also: "  # the label prefix of a related location that is the same problem again


def one_per_problem(findings: list[Finding], rules, kept: Optional[dict] = None) -> list[Finding]:
    """Findings of one rule at one place (a column declared once in a mixin, reported for every
    table that inherits it), and of a `grouped_by` rule on one table, one column or in one file, become one
    finding: the first, with the others as `also:` related locations.

    `kept`: {group: (its findings, the finding they became)} of the last call, replaced by this
    call's: a group of the same findings becomes the same finding without being sorted and
    merged again (a workspace-wide group stands for thousands of places)."""
    grouping = {rule.code: rule.grouped_by for rule in rules}
    groups: dict[tuple, list[Finding]] = {}
    for finding in findings:
        by = grouping.get(finding.rule)
        if by == "workspace":
            key: tuple = (finding.rule, "workspace")
        elif by == "table" and finding.table:
            key = (finding.rule, "table", finding.table)
        elif by == "column" and finding.table and finding.column:
            key = (finding.rule, "column", finding.table, finding.column)
        elif by == "path":
            key = (finding.rule, "path", finding.location.path)
        else:
            key = (finding.rule, "at", finding.location.path, finding.location.line, finding.location.column)
        groups.setdefault(key, []).append(finding)
    if kept is None:
        return [_merged(sorted(group, key=lambda f: f.sort_key)) for group in groups.values()]
    merged = {}
    for key, group in groups.items():
        last = kept.get(key)
        merged[key] = (group, last[1] if last is not None and last[0] == group else _merged(sorted(group, key=lambda f: f.sort_key)))
    kept.clear()
    kept.update(merged)
    return [finding for _group, finding in merged.values()]


def occurrences(finding: Finding) -> list[Finding]:
    """A merged finding as one finding per place it stands for, each with its own evidence (the
    editor shows each, with its own quick fixes); an unmerged finding as itself. The tables a
    mixin's column is reported for stand at one place, the column: one finding there, not one
    per table."""
    also = [related for related in finding.related if related.label.startswith(ALSO)]
    if not also:
        return [finding]
    own = tuple(related for related in finding.related if not related.label.startswith(ALSO))  # once: a
    # convention finding of a 500-model workspace stands for thousands of places
    found = [replace(finding, related=own)]
    places = {finding.location}
    for related in also:
        if related.location in places:
            continue
        places.add(related.location)
        table, _, column = related.label[len(ALSO):].partition(".")
        found.append(replace(finding, location=related.location, column=column or finding.column,
                             table=table if column else finding.table, related=own))
    return found


def _merged(group: list[Finding]) -> Finding:
    first, others = group[0], group[1:]
    if not others:
        return first
    more = _n(" (and %(count)d more)", " (and %(count)d more)", len(others))
    return replace(first, title=first.title + more, related=(*first.related, *map(also_place, others)))


def also_place(other: Finding) -> Related:
    """`other` as an `also:` place of the finding it was merged into, labeled with its table and
    column, which `occurrences` gives back to the finding it makes there."""
    subject = ".".join(part for part in (other.table, other.column) if part) or other.title
    return Related(other.location, f"{ALSO}{subject}")
