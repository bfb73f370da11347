"""Which findings are reported: select/ignore, severity overrides, per-path ignores and the
`schemalens: ignore[...]` comments in the code (ruff's model)."""

from __future__ import annotations

import fnmatch
from dataclasses import replace
from typing import Iterable, Optional

from ..by_path import ByPath
from ..extract.python_source import split_lines
from ..suppressions import FILE_IGNORE, LINE_IGNORE, CommentPlaces, comment_places
from ..workspace.config import Config
from .base import Finding


def _codes(group: Optional[str]) -> Optional[tuple[str, ...]]:
    """None means every rule; otherwise the listed codes or prefixes."""
    if group is None:
        return None
    return tuple(code.strip().upper() for code in group.split(",") if code.strip())


def matches(code: str, patterns: Iterable[str]) -> bool:
    return any(pattern == "ALL" or code.startswith(pattern) for pattern in patterns)


# Rules off by default that each preset turns on. "squawk": the rules squawk enables by default
# that SchemaLens has off (ban-char-field, prefer-bigint-over-int/-smallint, prefer-identity,
# prefer-text-field, require-enum-value-ordering, ban-drop-not-null); the rules SchemaLens has
# on by default are on anyway.
PRESETS: dict[str, tuple[str, ...]] = {
    "squawk": ("SL210", "SL211", "SL212", "SL213", "SL546", "SL553"),
    # Every squawk rule, its opt-in ones included (require-table-schema and the 2.70
    # compatibility rules: access, behaviour and shape changes).
    "squawk-all": ("SL210", "SL211", "SL212", "SL213", "SL546", "SL553", "SL554", "SL560", "SL561", "SL562"),
}


def preset_codes(config: Config) -> frozenset[str]:
    return frozenset(code for name in config.presets for code in PRESETS.get(name, ()))


def rule_enabled(code: str, config: Config, default_enabled: bool = True) -> bool:
    """select/ignore with prefixes; the longer (more specific) match wins, as in ruff. A rule that
    is off by default is selected only by name, prefix or a preset that lists it, never by "ALL"."""
    selected = max((len(p) for p in config.select if (p == "ALL" and default_enabled) or (p != "ALL" and code.startswith(p))),
                   default=-1)
    if code in preset_codes(config):
        selected = max(selected, len(code))
    ignored = max((len(p) for p in config.ignore if p == "ALL" or code.startswith(p)), default=-1)
    return selected >= 0 and selected > ignored


class _FileComments:
    """A file's lines and its file-level ignores; where its statements start and end only when a
    finding needs it (see analyzers/suppressions.py). Kept across audits while the file's text
    is unchanged (`_comments_of`): a large workspace has findings in a thousand files."""

    def __init__(self, text: str) -> None:
        # Every comment names schemalens: a file without the word has none (most files), and
        # its lines are not kept.
        self.text = text if "schemalens" in text else None
        self.lines = split_lines(text) if self.text is not None else []  # the lines the extractors and editors count
        self.file_ignores = [_codes(match.group(1)) for line in self.lines if (match := FILE_IGNORE.search(line))]
        self._places: Optional[CommentPlaces] = None

    def _line_suppresses(self, rule: str, line: int) -> bool:
        match = LINE_IGNORE.search(self.lines[line - 1]) if 0 < line <= len(self.lines) else None
        return bool(match) and (_codes(match.group(1)) is None or matches(rule, _codes(match.group(1))))

    def suppresses(self, finding: Finding) -> bool:
        if self.text is None:
            return False
        if any(codes is None or matches(finding.rule, codes) for codes in self.file_ignores):
            return True
        line = finding.location.line
        if self._line_suppresses(finding.rule, line):
            return True
        if self._places is None:
            self._places = comment_places(finding.location.path, self.text) or CommentPlaces("#", frozenset())
        # A line inside a string: the comment is on its statement's first or last line.
        return any(self._line_suppresses(finding.rule, other) for other in self._places.covering(line))


_comments_of = ByPath(_FileComments)


def apply_selection(findings: Iterable[Finding], config: Config, text_of) -> list[Finding]:
    """Filter (per-path ignores, ignore comments) and re-grade findings of the enabled rules.
    `text_of(path)` gives a file's text (or None)."""
    kept = []
    comments: dict[str, _FileComments] = {}
    for finding in findings:
        path = finding.location.path
        if any(fnmatch.fnmatch(path, pattern) and matches(finding.rule, codes)
               for pattern, codes in config.per_path_ignores.items()):
            continue
        if path not in comments:
            comments[path] = _comments_of(path, text_of(path) or "")
        if comments[path].suppresses(finding):
            continue
        override = config.severity.get(finding.rule)
        if override and override != finding.severity:
            finding = replace(finding, severity=override)
        kept.append(finding)
    return kept
