"""Quick fixes for findings, as text edits on one line (ruff's model: a fix is data with an
applicability). The language server offers them as code actions; tests apply each one and
audit again to check that the finding is gone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Collection, Optional

from .rules.base import Finding


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Replace lines `line` to `end_line` (1-based, inclusive; one line when `end_line` is None)
    of `path` with `new_text` (without the last line break)."""

    path: str
    line: int
    new_text: str
    end_line: Optional[int] = None

    @property
    def last_line(self) -> int:
        return self.end_line or self.line


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
    column_call = re.fullmatch(r"(.*\))(\s*,?\s*(?:#.*)?)", current)  # the Column(...) call, then "," or a comment
    if finding.rule == "SL401" and "ForeignKey" in current and "index=" not in current and column_call:
        call, rest = column_call.groups()
        return QuickFix("Index this foreign key column (index=True)",
                        LineEdit(path, line, call[:-1] + ", index=True)" + rest), "unsafe")
    return None


def _concurrent_index_fix(finding: Finding, lines: list[str]) -> Optional[QuickFix]:
    """SL505 in an Alembic revision: build the index concurrently in an autocommit block."""
    location = finding.location
    if finding.rule != "SL505" or not location.path.endswith(".py") or location.end_line is None:
        return None
    statement = "\n".join(lines[location.line - 1: location.end_line])
    indent = statement[: len(statement) - len(statement.lstrip())]
    call_end = len(statement) - len(lines[location.end_line - 1]) + location.end_column - 1
    call, trailing = statement[:call_end], statement[call_end:]  # trailing: a comment after the call
    if not call.lstrip().startswith("op.create_index(") or not call.endswith(")"):
        return None
    arguments = call[:-1].rstrip()
    layout = call[len(arguments):-1]  # the line break and indent before ")" in a multi-line call
    argument = " postgresql_concurrently=True," if arguments.endswith(",") else ", postgresql_concurrently=True"
    wrapped = (arguments + argument + layout + ")" + trailing).split("\n")
    new_text = "\n".join([f"{indent}with op.get_context().autocommit_block():",
                          *("    " + line if line.strip() else line for line in wrapped)])
    return QuickFix("Create the index CONCURRENTLY in an autocommit block",
                    LineEdit(location.path, location.line, new_text, location.end_line), "safe")


def quick_fixes(finding: Finding, text: str, migrated_tables: Collection[str] = ()) -> list[QuickFix]:
    """The fixes for a finding in a file whose current text is `text`: a local fix when the
    finding's lines have the expected shape, and always the suppression comment.

    A model-line fix is not offered for a table in `migrated_tables` (those the migrations
    build): editing the model alone would not change the database, so the finding would stay.
    """
    lines = text.splitlines()
    if not 0 < finding.location.line <= len(lines) or (finding.location.end_line or 0) > len(lines):
        return []
    current = lines[finding.location.line - 1]
    model_fix = None if finding.table in migrated_tables else _model_line_fix(finding, current)
    fixes = [fix for fix in (model_fix, _concurrent_index_fix(finding, lines)) if fix is not None]
    return [*fixes, _suppression(finding, current)]


def apply_edit(text: str, edit: LineEdit) -> str:
    lines = text.split("\n")
    lines[edit.line - 1: edit.last_line] = [edit.new_text]
    return "\n".join(lines)
