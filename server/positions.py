"""The one place where positions cross between the analyzers and the editor.

The analyzers' `Location` has 1-based lines and 1-based columns counted in Unicode code points.
LSP positions are 0-based lines and 0-based columns counted in the code units of the encoding
negotiated at initialize (`general.positionEncodings`): UTF-8 bytes, UTF-16 code units (the
default) or UTF-32 code units (code points). Lines are the same in every encoding: LSP ends a
line at \\n, \\r\\n or \\r only (not at \\x0c, \\x1c-\\x1e, \\x85 or \\u2028 as `str.splitlines` does).
Converting a column needs the text of its line: `text_of(path)` gives the file's current text
(the editor's buffer when the file is open).
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from schemalens.analyzers.schema.model import Location

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_BREAK_KEPT = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")

TextOf = Callable[[str], Optional[str]]


def lsp_lines(text: str) -> list[str]:
    """The lines of `text` as LSP counts them, without their line breaks."""
    return _LINE_BREAK.split(text)


def lsp_lines_with_breaks(text: str) -> list[str]:
    """The lines of `text` as LSP counts them, each with its line break."""
    return _LINE_BREAK_KEPT.findall(text)


def code_units(text: str, encoding: str) -> int:
    """The length of `text` in the code units of `encoding` ("utf-8", "utf-16", "utf-32")."""
    if encoding == types.PositionEncodingKind.Utf32 or text.isascii():
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", errors="surrogatepass"))
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def code_point_column(line: str, units: int, encoding: str) -> int:
    """The 0-based code point column of a 0-based column counted in `encoding`'s code units,
    within the line. A column inside a character (the second byte of a UTF-8 sequence) is that
    character's column."""
    if units <= 0:
        return 0
    if encoding == types.PositionEncodingKind.Utf32 or line.isascii():
        return min(units, len(line))
    counted = 0
    for column, character in enumerate(line):
        counted += code_units(character, encoding)
        if counted > units:
            return column
    return len(line)


class Positions:
    """Conversions for one request or one publication: each file's lines are split once.

    `encoding` is the negotiated position encoding (pygls's `workspace.position_encoding`);
    `text_of(path)` the file's current text (None: unknown, columns then pass through as code
    points)."""

    def __init__(self, encoding: Optional[str], text_of: TextOf) -> None:
        self.encoding = str(encoding or types.PositionEncodingKind.Utf16)
        self._text_of = text_of
        self._texts: dict[str, Optional[str]] = {}
        self._lines: dict[str, Optional[list[str]]] = {}

    def text(self, path: str) -> Optional[str]:
        """The file's text the conversions read."""
        if path not in self._texts:
            self._texts[path] = self._text_of(path)
        return self._texts[path]

    def lines(self, path: str) -> Optional[list[str]]:
        if path not in self._lines:
            text = self.text(path)
            self._lines[path] = None if text is None else lsp_lines(text)
        return self._lines[path]

    def line_text(self, path: str, line: int) -> Optional[str]:
        """The text of a 1-based line, or None when the file or the line is not known."""
        lines = self.lines(path)
        if lines is None or not 0 < line <= len(lines):
            return None
        return lines[line - 1]

    # analyzers -> editor

    def position(self, path: str, line: int, column: int) -> types.Position:
        """A 1-based line and 1-based code point column as an LSP position, the column clamped
        to the line's length."""
        lsp_line = max(line - 1, 0)
        text = self.line_text(path, line)
        if text is None:
            return types.Position(line=lsp_line, character=max(column - 1, 0))
        points = min(max(column - 1, 0), len(text))
        return types.Position(line=lsp_line, character=code_units(text[:points], self.encoding))

    def line_end(self, path: str, line: int) -> types.Position:
        """The end of a 1-based line (before its line break)."""
        text = self.line_text(path, line)
        return types.Position(line=max(line - 1, 0), character=code_units(text or "", self.encoding))

    def range(self, location: Location) -> types.Range:
        """A location as an LSP range; without an end, the range runs to the end of its line."""
        start = self.position(location.path, location.line, location.column)
        if location.end_line is not None and location.end_column is not None:
            end = self.position(location.path, location.end_line, location.end_column)
        else:
            end = self.line_end(location.path, location.line)
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    def lines_range(self, path: str, first: int, last: int) -> types.Range:
        """Whole 1-based lines `first` to `last` (without the last line's break): what a line edit replaces."""
        return types.Range(start=types.Position(line=first - 1, character=0), end=self.line_end(path, last))

    # editor -> analyzers

    def from_lsp(self, path: str, position: types.Position) -> tuple[int, int]:
        """An LSP position as a 1-based line and a 0-based code point column within the line."""
        text = self.line_text(path, position.line + 1)
        if text is None:
            return position.line + 1, max(position.character, 0)
        return position.line + 1, code_point_column(text, position.character, self.encoding)


class _LspLinesTextDocument(TextDocument):
    """pygls's document with its lines split as LSP splits them: pygls uses `str.splitlines`,
    so an incremental edit after a \\x0c (a page break in older Python files) or a \\u2028 in a
    comment would land on the wrong line."""

    @property
    def lines(self):
        return tuple(lsp_lines_with_breaks(self.source))


class LspLinesWorkspace(Workspace):
    def _create_text_document(self, doc_uri, source=None, version=None, language_id=None) -> TextDocument:
        return _LspLinesTextDocument(doc_uri, source=source, version=version, language_id=language_id,
                                     sync_kind=self._sync_kind, position_codec=self._position_codec)


def split_documents_as_lsp(workspace: Workspace) -> None:
    """Make the workspace pygls created at initialize (before any document opened) create
    documents whose lines are LSP's. pygls has no hook for its workspace class."""
    workspace.__class__ = LspLinesWorkspace
