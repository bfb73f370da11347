"""Quick fixes for findings, as text edits on one line (ruff's model: a fix is data with an
applicability). The language server offers them as code actions; tests apply each one and
audit again to check that the finding is gone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .rules.base import Finding


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Replace line `line` (1-based) of `path` with `new_text` (without its line break)."""

    path: str
    line: int
    new_text: str


@dataclass(frozen=True, slots=True)
class QuickFix:
    title: str
    edit: LineEdit
    applicability: str  # "safe": keeps behaviour; "unsafe": changes the schema; "display": suppression


def _suppression(finding: Finding, current: str) -> QuickFix:
    marker = "--" if finding.location.path.endswith(".sql") else "#"
    existing = re.search(rf"{marker}\s*schemalens:\s*ignore\[([A-Za-z0-9,\s]+)\]", current)
    if existing:
        codes = f"{existing.group(1).strip()}, {finding.rule}"
        new_text = current[: existing.start(1)] + codes + current[existing.end(1):]
    else:
        new_text = f"{current.rstrip()}  {marker} schemalens: ignore[{finding.rule}]"
    return QuickFix(f"Ignore {finding.rule} on this line", LineEdit(finding.location.path, finding.location.line, new_text),
                    "display")


def _model_line_fix(finding: Finding, current: str) -> Optional[QuickFix]:
    path, line = finding.location.path, finding.location.line
    if not path.endswith(".py"):
        return None
    if finding.rule == "SL201":
        replaced = re.sub(r"\b(DateTime|TIMESTAMP)(\(\s*\))?(?!\s*\()", r"\1(timezone=True)", current, count=1)
        if replaced != current:
            return QuickFix("Use DateTime(timezone=True)", LineEdit(path, line, replaced), "unsafe")
    if finding.rule == "SL302":
        replaced = re.sub(r"(ForeignKey\(\s*(['\"])[^'\"]+\2)(\s*\))", r'\1, ondelete="RESTRICT"\3', current, count=1)
        if replaced != current:
            return QuickFix('State ondelete="RESTRICT" explicitly', LineEdit(path, line, replaced), "unsafe")
    if finding.rule == "SL401" and "ForeignKey" in current and "index=" not in current and current.rstrip().endswith(")"):
        stripped = current.rstrip()
        return QuickFix("Index this foreign key column (index=True)", LineEdit(path, line, stripped[:-1] + ", index=True)"),
                        "unsafe")
    return None


def quick_fixes(finding: Finding, text: str) -> list[QuickFix]:
    """The fixes for a finding in a file whose current text is `text`: a local fix when the
    finding's line has the expected shape, and always the suppression comment."""
    lines = text.splitlines()
    if not 0 < finding.location.line <= len(lines):
        return []
    current = lines[finding.location.line - 1]
    fixes = [fix for fix in (_model_line_fix(finding, current),) if fix is not None]
    return [*fixes, _suppression(finding, current)]


def apply_edit(text: str, edit: LineEdit) -> str:
    lines = text.split("\n")
    lines[edit.line - 1] = edit.new_text
    return "\n".join(lines)
