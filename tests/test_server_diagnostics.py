"""Findings as diagnostics across publications (server/diagnostics.py): a finding that comes back
showing the same (its title aside: a merged finding's counts its places) keeps its diagnostic,
and one whose file changed, or shown in another language or encoding, is converted again (its
columns count the new text's characters)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from schemalens.analyzers.rules.base import Finding, Fix, Related
from schemalens.analyzers.schema.model import Location
from schemalens.server.diagnostics import Diagnostics
from schemalens.server.positions import Positions

ROOT = Path("/workspace")
MODELS = "app/models.py"
TEXT = "class Order(Base):\n    total = Column(Float)\n"


def _finding() -> Finding:
    return Finding("SL104", "money-in-float", "P1", 1, "orders.total is a float", "orders.total is a float.",
                   Location(MODELS, 2, 5), "impact", "root cause", Fix("Numeric(12, 2)", "", ""), "verify",
                   table="orders", column="total", related=(Related(Location(MODELS, 1, 7), "the model"),))


def _publish(diagnostics: Diagnostics, text: str, finding: Finding, lang: str = "en", encoding: str = "utf-16"):
    [(uri, [diagnostic])] = diagnostics.by_uri(ROOT, (finding,), (), Positions(encoding, lambda path: text), lang).items()
    return diagnostic


def test_an_unchanged_finding_keeps_its_diagnostic():
    diagnostics = Diagnostics()
    first = _publish(diagnostics, TEXT, _finding())
    assert _publish(diagnostics, TEXT, _finding()) is first  # equal, not the same object: as an audit makes it again
    # a place more elsewhere changes the title of the finding that stands for them all
    assert _publish(diagnostics, TEXT, replace(_finding(), title="orders.total is a float (and 1 more)")) is first
    assert _publish(diagnostics, TEXT, replace(_finding(), message="orders.total is a real.")) is not first


def test_a_changed_text_language_or_encoding_converts_it_again():
    diagnostics = Diagnostics()
    first = _publish(diagnostics, TEXT, _finding())
    assert first.range.start.character == 4
    # the same finding, an emoji before its column: UTF-16 counts it as two units
    widened = TEXT.replace("    total", "  😀 total")
    again = _publish(diagnostics, widened, _finding())
    assert again.range.start.character == 5
    assert _publish(diagnostics, widened, _finding(), encoding="utf-32").range.start.character == 4
    assert _publish(diagnostics, widened, _finding(), lang="zh").message != again.message
