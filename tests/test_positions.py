"""The server's one position conversion: analyzer locations (1-based, code points) to LSP
positions in each encoding and back, checked against Python's own encoders."""

from __future__ import annotations

import pytest
from lsprotocol import types

from schemalens.analyzers.schema.model import Location
from schemalens.server.positions import Positions, code_point_column, lsp_lines, lsp_lines_with_breaks

TEXT = "x = 1\r\n名前 = '😀'; orders = 2  # 订单\n\x0cpage\u2028same line\rlast"
ENCODINGS = {"utf-8": ("utf-8", 1), "utf-16": ("utf-16-le", 2), "utf-32": ("utf-32-le", 4)}


def _units(text: str, encoding: str) -> int:
    codec, width = ENCODINGS[encoding]
    return len(text.encode(codec)) // width


def test_lines_end_at_lf_crlf_and_cr_only():
    assert lsp_lines(TEXT) == ["x = 1", "名前 = '😀'; orders = 2  # 订单", "\x0cpage\u2028same line", "last"]
    assert "".join(lsp_lines_with_breaks(TEXT)) == TEXT
    assert len(lsp_lines_with_breaks(TEXT)) == 4 and lsp_lines_with_breaks("a\n") == ["a\n"]


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_a_column_after_cjk_and_emoji_is_counted_in_the_encoding(encoding: str):
    positions = Positions(encoding, lambda path: TEXT)
    line = lsp_lines(TEXT)[1]
    column = line.index("orders")
    position = positions.position("f.py", 2, column + 1)
    assert position == types.Position(line=1, character=_units(line[:column], encoding))
    assert positions.from_lsp("f.py", position) == (2, column)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_columns_are_clamped_to_the_line(encoding: str):
    positions = Positions(encoding, lambda path: TEXT)
    line = lsp_lines(TEXT)[1]
    assert positions.position("f.py", 2, 500) == types.Position(line=1, character=_units(line, encoding))
    assert positions.from_lsp("f.py", types.Position(line=1, character=500)) == (2, len(line))


def test_a_utf8_column_inside_a_character_is_that_characters_column():
    line = "名前 = 1"
    assert [code_point_column(line, units, "utf-8") for units in range(7)] == [0, 0, 0, 1, 1, 1, 2]
    assert code_point_column("'😀'", 2, "utf-16") == 1  # between the two halves of the surrogate pair


def test_a_location_without_an_end_runs_to_the_end_of_its_line():
    positions = Positions("utf-8", lambda path: TEXT)
    assert positions.range(Location("f.py", 2, 4)) == types.Range(
        start=types.Position(line=1, character=7), end=types.Position(line=1, character=len(lsp_lines(TEXT)[1].encode())))


def test_an_unknown_file_passes_columns_through():
    positions = Positions("utf-8", lambda path: None)
    assert positions.position("gone.py", 3, 7) == types.Position(line=2, character=6)
