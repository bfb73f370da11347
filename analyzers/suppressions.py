"""`schemalens: ignore[...]` comments: which lines a comment may end, where the quick fix writes
one for a finding, and which comments a finding obeys. Writing (analyzers/fixes.py) and reading
(rules/selection.py) both go through here, so that a comment the fix writes is one the audit reads.

- A line whose end is code (or a comment) takes the comment at its end: `# ...` in Python,
  `-- ...` in SQL.
- A line that cannot end with a comment (it ends inside a string: SQL in a triple-quoted
  `op.execute(...)` string, a docstring, a multi-line SQL literal or function body; or in a backslash continuation) is
  covered by a comment at the end of the last line of its statement (Python's logical line, a SQL
  statement up to its `;`), where the quick fix writes it; one on the statement's first line
  counts too when that line can take a comment. A comment inside a string would change the
  string's value (and `#` is not SQL), so the fix never writes one there.
- A comment on the reported line itself is always read, also a SQL `-- schemalens: ignore[...]`
  written inside an embedded SQL string.
- `schemalens: ignore-file[...]` anywhere in a file covers the whole file; the quick fix adds the
  code to such a comment when there is one, else writes one on a line of its own at the top
  (after a shebang or an encoding declaration, which must stay first).

Only tokenizers decide where strings are: Python's `tokenize`, PostgreSQL's scanner (pglast). A
line after a place the tokenizer cannot read (an unterminated string) takes no comment.
"""

from __future__ import annotations

import bisect
import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Optional

from .extract.pg_tree import scan_readable
from .extract.python_source import split_lines
from .lazy_pattern import LazyPattern

LINE_IGNORE = LazyPattern(r"(?:#|--)\s*schemalens:\s*ignore(?:\[([A-Za-z0-9,\s]+)\])?(?!-)")
FILE_IGNORE = LazyPattern(r"(?:#|--)\s*schemalens:\s*ignore-file(?:\[([A-Za-z0-9,\s]+)\])?")


@dataclass(frozen=True, slots=True)
class CommentPlaces:
    """What a tokenizer says about a file's lines (1-based)."""

    marker: str  # "#" or "--"
    accepting: frozenset[int]  # lines whose end can take a comment
    comments: dict[int, int] = field(default_factory=dict)  # line -> 0-based column where its comment starts
    statements: tuple[tuple[int, int], ...] = ()  # (first line, last line) of each statement, in order

    def statement_of(self, line: int) -> Optional[tuple[int, int]]:
        index = bisect.bisect_right(self.statements, (line, float("inf"))) - 1
        if index >= 0 and self.statements[index][0] <= line <= self.statements[index][1]:
            return self.statements[index]
        return None

    def target(self, line: int) -> Optional[int]:
        """The line where a suppression for findings on `line` is written, or None when no line
        of its statement can take a comment."""
        if line in self.accepting:
            return line
        statement = self.statement_of(line)
        if statement is not None and statement[1] in self.accepting:
            return statement[1]
        return None

    def covering(self, line: int) -> tuple[int, ...]:
        """The lines besides `line` whose suppression comment covers findings on `line`."""
        if line in self.accepting:
            return ()
        statement = self.statement_of(line)
        if statement is None:
            return ()
        return tuple(sorted({number for number in statement if number != line and number in self.accepting}))


def comment_places(path: str, text: str) -> Optional[CommentPlaces]:
    """The places of a Python or SQL file (None for other files)."""
    if path.endswith(".py"):
        return _python_places(text)
    if path.endswith(".sql"):
        return _sql_places(text)
    return None


def with_suppression(line_text: str, rule: str, places: CommentPlaces, line: int) -> str:
    """`line_text` (line `line`, which can take a comment) with `rule` added to its
    suppression comment, or with a new one at its end."""
    comment_start = places.comments.get(line)
    if comment_start is not None:
        pattern = re.compile(rf"{re.escape(places.marker)}\s*schemalens:\s*ignore\[([A-Za-z0-9,\s]+)\]")
        existing = pattern.search(line_text, comment_start)
        if existing:
            codes = f"{existing.group(1).strip()}, {rule}"
            return line_text[: existing.start(1)] + codes + line_text[existing.end(1):]
    return f"{line_text.rstrip()}  {places.marker} schemalens: ignore[{rule}]"


# An encoding declaration (PEP 263), which must stay on line 1 or 2, as a shebang stays on line 1.
_CODING = LazyPattern(r"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+")


def with_file_suppression(path: str, text: str, rule: str) -> Optional[tuple[int, str]]:
    """Where `schemalens: ignore-file[rule]` goes in a Python or SQL file (None for others):
    (the 1-based line to replace, its new text). The new text is the line with `rule` added to
    the file's suppression comment, or a new comment line and then the line."""
    places = comment_places(path, text)
    if places is None:
        return None
    lines = split_lines(text)
    for number, line in enumerate(lines, start=1):
        match = FILE_IGNORE.search(line)
        if match and match.group(1) and places.comments.get(number) == match.start():
            return number, line[: match.end(1)].rstrip() + f", {rule}" + line[match.end(1):]
    comment = f"{places.marker} schemalens: ignore-file[{rule}]"
    first = 1
    if places.marker == "#":
        if lines[0].lstrip("\ufeff").startswith("#!"):
            first = 2
        for number in (1, 2):
            if number <= len(lines) and _CODING.match(lines[number - 1].lstrip("\ufeff")):
                first = max(first, number + 1)
    if first > len(lines):  # the file is its header: the comment goes after it
        return len(lines), lines[-1] + "\n" + comment
    line = lines[first - 1]
    if line.startswith("\ufeff"):  # the byte order mark stays the first character
        return first, "\ufeff" + comment + "\n" + line[1:]
    return first, comment + "\n" + line


def _python_places(text: str) -> CommentPlaces:
    accepting: set[int] = set()
    comments: dict[int, int] = {}
    statements: list[tuple[int, int]] = []
    first: Optional[int] = None
    # The tokenizer's rows are the lines LSP counts once line breaks are one character.
    readline = io.StringIO("\n".join(split_lines(text))).readline
    try:
        for token in tokenize.generate_tokens(readline):
            kind, row = token.type, token.start[0]
            if kind in (tokenize.NL, tokenize.NEWLINE):
                accepting.add(row)
            elif kind == tokenize.COMMENT:
                comments[row] = token.start[1]
            elif kind not in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER) and first is None:
                first = row
            if kind == tokenize.NEWLINE and first is not None:
                statements.append((first, row))
                first = None
    except (tokenize.TokenError, SyntaxError):
        pass  # an unterminated string or bracket: the lines after it take no comment
    return CommentPlaces("#", frozenset(accepting), comments, tuple(statements))


def _sql_places(text: str) -> CommentPlaces:
    lines = split_lines(text)
    source = "\n".join(lines)
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    tokens, readable = scan_readable(source)
    inside = set()  # lines whose line break falls inside a token (a string, a quoted name, a /* comment */)
    comments: dict[int, int] = {}
    statements: list[tuple[int, int]] = []
    first, depth = None, 0

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    for token in tokens:
        start_line, end_line = line_of(token.start), line_of(token.end)
        inside.update(range(start_line, end_line))
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            comments.setdefault(start_line, token.start - starts[start_line - 1])
            continue
        if first is None:
            first = start_line
        if token.name == "ASCII_40":
            depth += 1
        elif token.name == "ASCII_41":
            depth = max(depth - 1, 0)
        elif token.name == "ASCII_59" and depth == 0:
            statements.append((first, end_line))
            first = None
    if first is not None and tokens:
        statements.append((first, line_of(tokens[-1].end)))
    last_readable = line_of(readable) if readable < len(source) else len(lines) + 1
    accepting = frozenset(number for number in range(1, len(lines) + 1)
                          if number not in inside and number < last_readable)
    return CommentPlaces("--", accepting, comments, tuple(statements))
