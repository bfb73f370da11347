"""Positions of a file that does not parse, carried through the edits made since it last did.

While a file has a syntax error, the index keeps using the file's last good parse, so what the
audit reports about it (findings, related locations, problems) is at lines of the last good
text. Shown as they are, they would sit on the wrong lines of the buffer the user is typing in,
and an "Ignore" applied there would edit the wrong line. Here each such position is moved
through a line diff between the last good text and the current one: a position on lines that
the edits left alone moves with them; one on a line that changed is withheld (a finding whose
lines changed may not hold any more, and a wrong line is worse than none).

Lines are the lines an editor counts (`\\n`, `\\r\\n`, `\\r`), columns are unchanged: a line that
the diff calls equal is the same text.
"""

from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Optional, TypeVar

from .audit import KeptRules, run_audit, workspace_problems
from .extract.python_source import split_lines
from .rules import all_rules
from .rules.base import Finding, one_per_problem
from .rules.selection import apply_selection
from .schema.model import ExtractionError, Location


@dataclass(frozen=True, slots=True)
class _Block:
    """`length` equal lines: old lines `old`.. and new lines `new`.. (1-based)."""

    old: int
    new: int
    length: int


class LineMap:
    """Which lines of an old text are still there, unchanged, in a new text, and where."""

    def __init__(self, old_text: str, new_text: str) -> None:
        old, new = split_lines(old_text), split_lines(new_text)
        # The common head and tail first: an edit usually touches a few lines of a long file,
        # and the diff of what lies between costs next to nothing.
        head = 0
        while head < min(len(old), len(new)) and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        blocks = [_Block(1, 1, head)] if head else []
        middle = difflib.SequenceMatcher(None, old[head:len(old) - tail], new[head:len(new) - tail], autojunk=False)
        blocks += [_Block(head + block.a + 1, head + block.b + 1, block.size)
                   for block in middle.get_matching_blocks() if block.size]
        if tail:
            blocks.append(_Block(len(old) - tail + 1, len(new) - tail + 1, tail))
        self._blocks = blocks
        self._by_old = [block.old for block in blocks]
        self._by_new = [block.new for block in blocks]

    def new_line(self, old_line: int) -> Optional[int]:
        """Where an old line is in the new text, or None when it was changed or deleted."""
        block = self._block(self._by_old, old_line, "old")
        return None if block is None else block.new + old_line - block.old

    def old_line(self, new_line: int) -> Optional[int]:
        """Where a new line was in the old text, or None when it is new or changed."""
        block = self._block(self._by_new, new_line, "new")
        return None if block is None else block.old + new_line - block.new

    def new_lines(self, first: int, last: int) -> Optional[tuple[int, int]]:
        """Where old lines `first`..`last` are in the new text, when all of them are there
        unchanged and still together; else None."""
        block = self._block(self._by_old, first, "old")
        if block is None or last > block.old + block.length - 1:
            return None
        return block.new + first - block.old, block.new + last - block.old

    def _block(self, starts: list[int], line: int, side: str) -> Optional[_Block]:
        index = bisect.bisect_right(starts, line) - 1
        if index < 0:
            return None
        block = self._blocks[index]
        start = getattr(block, side)
        return block if start <= line < start + block.length else None


# A file's map, or None when its last good text is not known: then nothing in it can be placed.
LineMaps = Mapping[str, Optional[LineMap]]


def carry_location(location: Location, maps: LineMaps) -> Optional[Location]:
    """`location` in the current text of its file, or None when its lines changed (or cannot
    be placed). Locations in files that parse are returned as they are."""
    if location.path not in maps:
        return location
    line_map = maps[location.path]
    if line_map is None:
        return None
    last = location.end_line if location.end_line is not None else location.line
    moved = line_map.new_lines(location.line, max(last, location.line))
    if moved is None:
        return None
    first, new_last = moved
    if first == location.line:
        return location
    return replace(location, line=first, end_line=None if location.end_line is None else new_last)


def carry_findings(findings: Iterable[Finding], maps: LineMaps) -> list[Finding]:
    """The findings at their lines in the current texts: a finding whose own lines changed is
    withheld; related locations whose lines changed are left out of it."""
    if not maps:  # every file parses: every finding is where it was found
        return list(findings)
    carried = []
    for finding in findings:
        location = carry_location(finding.location, maps)
        if location is None:
            continue
        related = tuple(item if moved is item.location else replace(item, location=moved) for item in finding.related
                        if (moved := carry_location(item.location, maps)) is not None)
        if location is not finding.location or related != finding.related:
            finding = replace(finding, location=location, related=related)
        carried.append(finding)
    return carried


Problem = TypeVar("Problem", bound=ExtractionError)


def carry_problems(problems: Iterable[Problem], maps: LineMaps, current: Iterable[Problem] = ()) -> list[Problem]:
    """Problems reading the workspace, at their lines in the current texts. `current` are the
    problems of the current texts themselves (the syntax error of a file that does not parse):
    they are already where they belong."""
    current = set(current)
    carried = []
    for problem in problems:
        if problem in current:
            carried.append(problem)
            continue
        location = carry_location(problem.location, maps)
        if location is not None:
            carried.append(problem if location is problem.location else replace(problem, location=location))
    return carried


def line_maps(stale_sources: Mapping[str, Optional[str]], text_of) -> dict[str, Optional[LineMap]]:
    """A LineMap per file that does not parse, from the text of its last good parse
    (`stale_sources`, as WorkspaceIndex.stale_sources gives them) to its current text."""
    maps: dict[str, Optional[LineMap]] = {}
    for path, good_text in stale_sources.items():
        current = text_of(path)
        maps[path] = None if good_text is None or current is None else LineMap(good_text, current)
    return maps


@dataclass(frozen=True, slots=True)
class CarriedAudit:
    findings: tuple[Finding, ...]
    problems: tuple[ExtractionError, ...]  # problems reading the workspace that no finding reports
    query_paths: tuple  # the application's queries, those in files that do not parse left out
    maps: dict[str, Optional[LineMap]]
    held_back: tuple = ()  # AuditResult.held_back


def audit_through_edits(model, stale_sources: Mapping[str, Optional[str]], text_of,
                        current_problems: Iterable[ExtractionError] = (), kept: Optional[KeptRules] = None) -> CarriedAudit:
    """Audit `model` and report everything at its place in the current texts (`text_of`).

    `stale_sources`: the files whose current text does not parse and the text of the last good
    parse the model still holds for each (None: not known). The rules read those texts, so that
    what they see matches the parse; their findings are then carried through the edits since,
    and the `schemalens: ignore` comments of the current text apply to them. `current_problems`
    are the problems of the current texts (the syntax errors), which are not moved. `kept`: see
    run_audit.
    """
    maps = line_maps(stale_sources, text_of)

    def audited_text(path: str) -> Optional[str]:
        good = stale_sources.get(path)
        return good if good is not None else text_of(path)

    # Each place carried on its own, then grouped one finding per problem as run_audit groups them.
    result = run_audit(model, text_of=audited_text, merged=not maps, kept=kept)
    findings = carry_findings(result.findings, maps)
    if maps:  # the suppression comments of the current texts
        moved = [finding for finding in findings if finding.location.path in maps]
        others = [finding for finding in findings if finding.location.path not in maps]
        findings = one_per_problem(others + apply_selection(moved, model.config, text_of), all_rules())
        findings = sorted(findings, key=lambda f: f.sort_key)
    problems = carry_problems(workspace_problems(model.errors, result.findings), maps, current_problems)
    query_paths = tuple(path for path in result.query_paths if path.location.path not in maps)
    return CarriedAudit(tuple(findings), tuple(problems), query_paths, maps, result.held_back)
