"""The rule framework: a rule is a small class with a code, docs, examples and a `check`.

Modelled on ruff (codes, fixed doc headings, select/ignore) and Fixit (VALID/INVALID examples
that are both docs and tests). Rules read the workspace model through an `AuditContext` and
yield `Finding`s; they never build text edits or know about editors.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator, Optional

from ..schema.model import Location

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


_EXPECT = re.compile(r"(#|--)\s*expect\b")


def expected_lines(example: Example) -> set[tuple[str, int]]:
    return {(path, number) for path, text in example.files.items()
            for number, line in enumerate(text.splitlines(), start=1) if _EXPECT.search(line)}


class Rule:
    """Subclasses set the class attributes, write docs under DOC_HEADINGS, and implement check()."""

    code: ClassVar[str]
    name: ClassVar[str]
    dimension: ClassVar[int]
    severity: ClassVar[str]
    summary: ClassVar[str]  # one line, English
    summary_zh: ClassVar[str]  # the same line in Chinese, for `--lang zh`
    valid: ClassVar[tuple[Example, ...]] = ()
    invalid: ClassVar[tuple[Example, ...]] = ()
    # A rule that compares the models with the migrated database: held back when coverage says
    # one layer is not fully read, since every table missing from it would read as drift.
    compares_layers: ClassVar[bool] = False
    # An opinion rule (a type preference, a naming habit): off unless the configuration selects
    # its code or a preset that lists it (`preset = "squawk"`).
    opt_in: ClassVar[bool] = False
    # The checks of other tools this rule covers, as "tool:check" ("squawk:ban-drop-table",
    # "strong_migrations:remove_column", "pgls:banDropTable", "eugene:E6"): docs and the peer
    # benchmark (bench/peer_squawk.py) read them.
    peers: ClassVar[tuple[str, ...]] = ()

    def check(self, context: "AuditContext") -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    def finding(self, location: Location, title: str, message: str, *, impact: str, root_cause: str,
                fix: Fix, verification: str, table: Optional[str] = None, column: Optional[str] = None,
                related: tuple[Related, ...] = (), severity: Optional[str] = None) -> Finding:
        return Finding(self.code, self.name, severity or self.severity, self.dimension, title, message,
                       location, impact, root_cause, fix, verification, table, column, related)
