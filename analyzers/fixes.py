"""Quick fixes for findings, as text edits on whole lines (ruff's model: a fix is data with an
applicability). The language server offers them as code actions; tests apply each one, parse the
file and audit again to check that the finding is gone and nothing new appeared.

Model fixes edit the syntax tree's nodes at their positions (never a regular expression over
the line, which cannot tell code from a string or a comment); the suppression comment goes where
analyzers/suppressions.py says the line's language accepts it and the audit reads it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterator, Mapping, Optional

from .extract.python_source import PythonFile, parse_python, split_lines
from .i18n import _
from .rules.base import Finding
from .suppressions import comment_places, with_file_suppression, with_suppression


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


def quick_fixes(finding: Finding, text: str, migrated_tables: Optional[Mapping] = None) -> list[QuickFix]:
    """The fixes for a finding in a file whose current text is `text`: a local fix when the
    finding's code has the expected shape, and the suppression comment when a line of the
    finding's statement can take one (last).

    `migrated_tables` are the tables the migrations build (the database layer's, by key). A
    model fix is not offered for one of them: editing the model alone would not change the
    database, so the finding would stay. No CONCURRENTLY fix for a partitioned one: PostgreSQL
    refuses to build an index on a partitioned table concurrently.
    """
    lines = split_lines(text)
    if not 0 < finding.location.line <= len(lines) or (finding.location.end_line or 0) > len(lines):
        return []
    migrated_tables = migrated_tables or {}
    table = migrated_tables.get(finding.table) if finding.table else None
    model_fix = None if finding.table in migrated_tables else _model_fix(finding, text)
    index_fix = None if table is not None and table.partition_by else _concurrent_index_fix(finding, lines)
    fixes = [fix for fix in (model_fix, index_fix, _suppression(finding, text, lines)) if fix is not None]
    if "\r\n" in text:  # keep the file's line breaks in multi-line replacements
        fixes = [QuickFix(f.title, LineEdit(f.edit.path, f.edit.line, f.edit.new_text.replace("\n", "\r\n"), f.edit.end_line),
                          f.applicability) for f in fixes]
    return fixes


def apply_edit(text: str, edit: LineEdit) -> str:
    """`text` with the edit applied, as an editor applies the server's TextEdit (lines as LSP counts them)."""
    lines = split_lines(text)
    breaks = _line_breaks(text)
    replaced = edit.new_text
    kept_break = breaks[edit.last_line - 1] if edit.last_line - 1 < len(breaks) else ""
    out = []
    for number, line in enumerate(lines, start=1):
        if number == edit.line:
            out.append(replaced + kept_break)
        elif not edit.line <= number <= edit.last_line:
            out.append(line + (breaks[number - 1] if number - 1 < len(breaks) else ""))
    return "".join(out)


def _line_breaks(text: str) -> list[str]:
    return re.findall(r"\r\n|\r|\n", text)


# suppression

def _suppression(finding: Finding, text: str, lines: list[str]) -> Optional[QuickFix]:
    places = comment_places(finding.location.path, text)
    if places is None:
        return None
    line = places.target(finding.location.line)
    if line is None:
        return None  # no line of the statement can end with a comment (a file the tokenizer cannot read)
    new_text = with_suppression(lines[line - 1], finding.rule, places, line)
    title = (_("Ignore %(rule)s on this line", rule=finding.rule) if line == finding.location.line else
             _("Ignore %(rule)s for this statement (comment on line %(line)d)", rule=finding.rule, line=line))
    return QuickFix(title, LineEdit(finding.location.path, line, new_text), "display")


def file_suppression_fix(finding: Finding, text: str) -> Optional[QuickFix]:
    """`schemalens: ignore-file[rule]` for the finding's file whose current text is `text`: the
    rule added to the file's suppression comment, or a new comment line at its top."""
    placed = with_file_suppression(finding.location.path, text, finding.rule)
    if placed is None:
        return None
    line, new_text = placed
    if "\r\n" in text:
        new_text = new_text.replace("\n", "\r\n")
    return QuickFix(_("Ignore %(rule)s in this file", rule=finding.rule), LineEdit(finding.location.path, line, new_text), "display")


# model fixes, on the syntax tree

_COLUMN_CALLS = ("Column", "mapped_column")
_TITLES = {"SL201": _("Use DateTime(timezone=True)"), "SL302": _('State ondelete="RESTRICT" explicitly'),
           "SL401": _("Index this foreign key column (index=True)"),
           "concurrently": _("Create the index CONCURRENTLY in an autocommit block")}
_TIMESTAMP_TYPES = ("DateTime", "TIMESTAMP")


def _model_fix(finding: Finding, text: str) -> Optional[QuickFix]:
    path, line = finding.location.path, finding.location.line
    if finding.rule not in ("SL201", "SL302", "SL401") or not path.endswith(".py"):
        return None
    parsed, _ = parse_python(text, path)
    if parsed is None or parsed.rewritten:  # columns on a rewritten line may be off
        return None
    lines = split_lines(text)
    column = _column_call(parsed, finding.location)
    if finding.rule == "SL201":
        type_node = _timestamp_type(column) if column is not None else None
        if type_node is None:
            return None
        written = parsed.segment(type_node.func if isinstance(type_node, ast.Call) else type_node)
        return QuickFix(_TITLES["SL201"],
                        _replace(path, lines, parsed, type_node, f"{written}(timezone=True)"), "unsafe")
    if finding.rule == "SL302":
        key = next((call for call in _calls_at(parsed.tree, line, column) if _name(call.func) in ("ForeignKey", "ForeignKeyConstraint")
                    and not _keyword(call, "ondelete")), None)
        if key is None or not (key.args or key.keywords):
            return None
        return QuickFix(_TITLES["SL302"],
                        _insert_after(path, lines, parsed, _last_argument(key), ', ondelete="RESTRICT"'), "unsafe")
    if column is None or _keyword(column, "index") or not any(
            isinstance(argument, ast.Call) and _name(argument.func) == "ForeignKey" for argument in column.args):
        return None
    return QuickFix(_TITLES["SL401"],
                    _insert_after(path, lines, parsed, _last_argument(column), ", index=True"), "unsafe")


def _name(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _keyword(call: ast.Call, name: str) -> Optional[ast.keyword]:
    return next((keyword for keyword in call.keywords if keyword.arg == name), None)


def _calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _column_call(parsed: PythonFile, location) -> Optional[ast.Call]:
    """The Column(...) / mapped_column(...) call of the finding: the first one that starts inside
    its range (a column assignment, possibly continued on the next line), else the innermost one
    around its start (the finding is on a ForeignKey inside the call)."""
    start = (location.line, location.column)
    end = (location.end_line or location.line, location.end_column or float("inf"))
    columns = [(parsed.location(call), call) for call in _calls(parsed.tree) if _name(call.func) in _COLUMN_CALLS]
    inside = [(where, call) for where, call in columns if start <= (where.line, where.column) <= end]
    if inside:
        return min(inside, key=lambda pair: (pair[0].line, pair[0].column))[1]
    around = [(where, call) for where, call in columns
              if (where.line, where.column) <= start <= (where.end_line or where.line, where.end_column or float("inf"))]
    return max(around, key=lambda pair: (pair[0].line, pair[0].column), default=(None, None))[1]


def _calls_at(tree: ast.Module, line: int, column: Optional[ast.Call]) -> list[ast.Call]:
    """The calls inside the column call, else those that start on `line` (a ForeignKeyConstraint in __table_args__)."""
    if column is not None:
        return sorted((call for call in _calls(column) if call is not column), key=lambda call: (call.lineno, call.col_offset))
    return sorted((call for call in _calls(tree) if call.lineno == line), key=lambda call: call.col_offset)


def _timestamp_type(column: ast.Call) -> Optional[ast.AST]:
    """`DateTime` or `DateTime()` (any module prefix) given as the column's type; not `DateTime(...)` with arguments."""
    candidates = [*column.args, *(keyword.value for keyword in column.keywords if keyword.arg == "type_")]
    for node in candidates:
        if isinstance(node, (ast.Name, ast.Attribute)) and _name(node) in _TIMESTAMP_TYPES:
            return node
        if isinstance(node, ast.Call) and _name(node.func) in _TIMESTAMP_TYPES and not node.args and not node.keywords:
            return node
    return None


def _last_argument(call: ast.Call) -> ast.AST:
    return max([*call.args, *call.keywords], key=lambda node: (node.end_lineno, node.end_col_offset))


def _replace(path: str, lines: list[str], parsed: PythonFile, node: ast.AST, new: str) -> LineEdit:
    where = parsed.location(node)
    return _edit(path, lines, (where.line, where.column - 1), (where.end_line, where.end_column - 1), new)


def _insert_after(path: str, lines: list[str], parsed: PythonFile, node: ast.AST, new: str) -> LineEdit:
    where = parsed.location(node)
    end = (where.end_line, where.end_column - 1)
    return _edit(path, lines, end, end, new)


def _edit(path: str, lines: list[str], start: tuple[int, int], end: tuple[int, int], new: str) -> LineEdit:
    """Replace the text from `start` to `end` (1-based lines, 0-based code point columns) with
    `new`, as an edit of the lines it spans."""
    (first, start_column), (last, end_column) = start, end
    new_text = lines[first - 1][:start_column] + new + lines[last - 1][end_column:]
    return LineEdit(path, first, new_text, last if last != first else None)


# SL505: a blocking index build in an Alembic revision

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
    # IF NOT EXISTS: a failed concurrent build leaves an INVALID index behind, and the retry must not
    # fail on its name (SL537).
    argument = (" postgresql_concurrently=True, if_not_exists=True," if arguments.endswith(",")
                else ", postgresql_concurrently=True, if_not_exists=True")
    wrapped = (arguments + argument + layout + ")" + trailing).split("\n")
    new_text = "\n".join([f"{indent}with op.get_context().autocommit_block():",
                          *("    " + line if line.strip() else line for line in wrapped)])
    return QuickFix(_TITLES["concurrently"],
                    LineEdit(location.path, location.line, new_text, location.end_line), "safe")
