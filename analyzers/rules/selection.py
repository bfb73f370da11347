"""Which findings are reported: select/ignore, severity overrides, per-path ignores and the
`schemalens: ignore[...]` comments in the code (ruff's model)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import replace
from typing import Iterable, Optional

from ..workspace.config import Config
from .base import Finding

_LINE_IGNORE = re.compile(r"(?:#|--)\s*schemalens:\s*ignore(?:\[([A-Za-z0-9,\s]+)\])?(?!-)")
_FILE_IGNORE = re.compile(r"(?:#|--)\s*schemalens:\s*ignore-file(?:\[([A-Za-z0-9,\s]+)\])?")


def _codes(group: Optional[str]) -> Optional[tuple[str, ...]]:
    """None means every rule; otherwise the listed codes or prefixes."""
    if group is None:
        return None
    return tuple(code.strip().upper() for code in group.split(",") if code.strip())


def matches(code: str, patterns: Iterable[str]) -> bool:
    return any(pattern == "ALL" or code.startswith(pattern) for pattern in patterns)


def rule_enabled(code: str, config: Config) -> bool:
    """select/ignore with prefixes; the longer (more specific) match wins, as in ruff."""
    selected = max((len(p) for p in config.select if p == "ALL" or code.startswith(p)), default=-1)
    ignored = max((len(p) for p in config.ignore if p == "ALL" or code.startswith(p)), default=-1)
    return selected >= 0 and selected > ignored


class _FileComments:
    """A file's lines and its file-level ignores, read once per audit."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.file_ignores = [_codes(match.group(1)) for line in self.lines if (match := _FILE_IGNORE.search(line))]

    def suppresses(self, finding: Finding) -> bool:
        if any(codes is None or matches(finding.rule, codes) for codes in self.file_ignores):
            return True
        index = finding.location.line - 1
        match = _LINE_IGNORE.search(self.lines[index]) if 0 <= index < len(self.lines) else None
        return bool(match) and (_codes(match.group(1)) is None or matches(finding.rule, _codes(match.group(1))))


def apply_selection(findings: Iterable[Finding], config: Config, text_of) -> list[Finding]:
    """Filter and re-grade findings. `text_of(path)` gives a file's text (or None)."""
    kept = []
    comments: dict[str, _FileComments] = {}
    for finding in findings:
        path = finding.location.path
        if not rule_enabled(finding.rule, config):
            continue
        if any(fnmatch.fnmatch(path, pattern) and matches(finding.rule, codes)
               for pattern, codes in config.per_path_ignores.items()):
            continue
        if path not in comments:
            comments[path] = _FileComments(text_of(path) or "")
        if comments[path].suppresses(finding):
            continue
        override = config.severity.get(finding.rule)
        if override and override != finding.severity:
            finding = replace(finding, severity=override)
        kept.append(finding)
    return kept
