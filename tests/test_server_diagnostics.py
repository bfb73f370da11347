"""Findings as diagnostics across publications (server/diagnostics.py): a finding that comes back
showing the same (its title aside: a merged finding's counts its places) keeps its diagnostic,
and one whose file changed, or shown in another language or encoding, is converted again (its
columns count the new text's characters); the very merged finding of the last publication keeps
the diagnostics of all its places; the open files' diagnostics are given before the others are made."""

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


def test_the_same_merged_finding_keeps_the_diagnostics_of_all_its_places(monkeypatch):
    """The audit keeps the merged finding of a group of the same findings (one_per_problem): its
    places are not taken apart again while their texts are unchanged."""
    from schemalens.server import diagnostics as module

    merged = replace(_finding(), title="orders.total is a float (and 1 more)",
                     related=(*_finding().related, Related(Location("app/other.py", 3, 5), "also: invoices.total")))
    texts = {MODELS: TEXT, "app/other.py": "\n\nclass Invoice(Base):\n    total = Column(Float)\n"}
    calls = []
    original = module.occurrences
    monkeypatch.setattr(module, "occurrences", lambda finding: calls.append(finding) or original(finding))
    diagnostics = Diagnostics()

    def publish(finding, text_of):
        return diagnostics.by_uri(ROOT, (finding,), (), Positions("utf-16", text_of), "en")

    first = publish(merged, texts.get)
    assert sorted(len(found) for found in first.values()) == [1, 1] and len(calls) == 1
    again = publish(merged, texts.get)
    assert len(calls) == 1 and all(a is b for uri in first for a, b in zip(again[uri], first[uri]))
    # the same merged finding, a text it points into changed: its places are placed again
    assert publish(merged, {**texts, "app/other.py": "\n" + texts["app/other.py"]}.get) and len(calls) == 2
    # an equal merged finding made again is taken apart again, its places keeping their diagnostics
    assert publish(replace(merged), texts.get) == first and len(calls) == 3


def test_the_open_files_diagnostics_are_given_before_the_others_are_made(monkeypatch):
    """An edit of the open file moves the diagnostics of other files that point into it: the open
    file's are published first, the others made after (the language server's `ready`)."""
    from schemalens.server import diagnostics as module

    other = replace(_finding(), location=Location("app/invoices.py", 2, 5), table="invoices")
    texts = {MODELS: TEXT, "app/invoices.py": "class Invoice(Base):\n    total = Column(Float)\n"}
    made: list[str] = []
    convert = module.finding_diagnostic
    monkeypatch.setattr(module, "finding_diagnostic", lambda finding, *args: made.append(finding.location.path)
                        or convert(finding, *args))
    diagnostics = Diagnostics()
    open_uri = module.uri_of(ROOT, MODELS)
    diagnostics.by_uri(ROOT, (other, _finding()), (), Positions("utf-16", texts.get), "en")
    made.clear()
    moved = {**texts, MODELS: "\n" + TEXT}  # both point into the open file, which gained a line
    every, finish = diagnostics.open_first(ROOT, (other, _finding()), (), Positions("utf-16", moved.get), "en",
                                           first={open_uri})
    made_before, open_files = list(made), {open_uri: list(every[open_uri])}
    finish()
    assert made_before == [MODELS] and made == [MODELS, "app/invoices.py"]
    assert open_files == {open_uri: every[open_uri]} and None not in every[module.uri_of(ROOT, "app/invoices.py")]
    assert every == Diagnostics().by_uri(ROOT, (other, _finding()), (), Positions("utf-16", moved.get), "en")


def test_a_place_an_earlier_call_left_to_make_is_made_with_the_open_files_once_its_file_is_open():
    """The language server's rebuild that follows an edit cancels the last one's publication of the
    other files: what that left to make is made by the next call, at once if its file is open now."""
    from schemalens.server import diagnostics as module

    other = replace(_finding(), location=Location("app/invoices.py", 2, 5), table="invoices")
    texts = {MODELS: TEXT, "app/invoices.py": "class Invoice(Base):\n    total = Column(Float)\n"}
    positions = Positions("utf-16", texts.get)
    diagnostics = Diagnostics()
    open_uri, other_uri = module.uri_of(ROOT, MODELS), module.uri_of(ROOT, "app/invoices.py")
    left, _finish = diagnostics.open_first(ROOT, (other, _finding()), (), positions, "en", first={open_uri})
    assert left[other_uri] == [None]  # not made: its `finish` never runs
    now, _finish = diagnostics.open_first(ROOT, (other, _finding()), (), positions, "en", first={open_uri, other_uri})
    assert now == Diagnostics().by_uri(ROOT, (other, _finding()), (), positions, "en")
