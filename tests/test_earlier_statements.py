"""What each module-level statement of the file an editor is changing gave its summary, kept for
the file's next text (module_summary.EarlierStatements): after any edit the summary equals a fresh
one, and the statements the edit leaves in place, reading the same names, keep their objects."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corpus_projects
from recorded_calls import recorded_calls
from schemalens.analyzers.extract import module_summary
from schemalens.analyzers.extract.module_summary import EarlierStatements, summarize_source
from schemalens.analyzers.extract.python_source import Reparser, parse_python
from test_reparser import _EDITS, _STATEMENTS, CORPUS_FILES, _edited

PATH = "app/models.py"
MODULE = "app.models"
MODELS = '''from sqlalchemy import Column, Integer, String
from app.db import Base


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String(80))


def label(row):
    return String(row.name)
'''


class _Editor:
    """A file changed text after text as the index summarizes it in the language server."""

    def __init__(self) -> None:
        self.reparser, self.earlier = Reparser(), EarlierStatements()

    def summary(self, text: str):
        source, _ = self.reparser.parse(text, PATH)
        return None if source is None else summarize_source(source, MODULE, self.earlier)


def _fresh(text: str):
    source, _ = parse_python(text, PATH)
    return None if source is None else summarize_source(source, MODULE)


@pytest.fixture
def summarized_classes(monkeypatch) -> list[str]:
    """The names of the classes summarized from now on."""
    return recorded_calls(monkeypatch, module_summary._Summarizer, "_class", lambda node: node.name)


def test_a_keystroke_in_one_class_summarizes_that_class_and_keeps_the_others(summarized_classes):
    editor = _Editor()
    before = editor.summary(MODELS)
    summarized_classes.clear()
    text = MODELS.replace("String(80)", "String(120)")
    after = editor.summary(text)
    assert summarized_classes == ["Item"]
    assert after.classes[0] is before.classes[0] and after.functions[0] is before.functions[0]
    assert after == _fresh(text)


def test_the_statements_a_new_line_moves_are_summarized_again_at_their_new_place(summarized_classes):
    editor = _Editor()
    editor.summary(MODELS)
    summarized_classes.clear()
    text = MODELS.replace('    __tablename__ = "orders"\n', '    __tablename__ = "orders"\n    note = Column(String)\n')
    summary = editor.summary(text)
    assert summarized_classes == ["Order", "Item"]
    assert summary == _fresh(text)


@pytest.mark.parametrize("changed", [
    # a name a class reads now means something else: every class after the import reads it
    ("from sqlalchemy import Column, Integer, String\n", "from sqlalchemy import Column, BigInteger as Integer, String\n"),
    # a name bound again after a function whose body reads it (the body runs once the module has)
    ("    return String(row.name)\n", "    return String(row.name)\n\n\nString = None\n"),
])
def test_a_change_of_what_a_name_means_summarizes_what_reads_it_again(changed, summarized_classes):
    editor = _Editor()
    editor.summary(MODELS)
    summarized_classes.clear()
    text = MODELS.replace(*changed)
    summary = editor.summary(text)
    assert summarized_classes == ["Order", "Item"]
    assert summary == _fresh(text)


def test_a_summary_without_what_came_before_is_a_fresh_one():
    assert summarize_source(parse_python(MODELS, PATH)[0], MODULE, EarlierStatements()) == _fresh(MODELS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_STATEMENTS), max_size=8), _EDITS)
# newer syntax in a string after a \r: a line end the rewrite by line does not read as one
@example(["type Alias = list[int]", "p = '''x\r\ny'''"], [(0.5, "append", "except A, B:")])
def test_after_any_edits_of_a_small_file_the_summary_is_a_fresh_one(statements, edits):
    _assert_as_fresh_after("\n".join(statements), edits)


@pytest.mark.skipif(not CORPUS_FILES, reason="the corpus (../shared/corpus) is not here")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_FILES or [("", "")]), _EDITS)
def test_after_any_edits_of_a_real_file_the_summary_is_a_fresh_one(file, edits):
    project, path = file
    _assert_as_fresh_after((corpus_projects.unpacked(project) / path).read_text(encoding="utf-8"), edits)


def _assert_as_fresh_after(text: str, edits: list) -> None:
    """Each summary an editor's edits of `text` give is a fresh summary of the edited text."""
    editor = _Editor()
    editor.summary(text)
    for edit in edits:
        text = _edited(text, *edit)
        summary = editor.summary(text)
        if summary is not None:
            assert summary == _fresh(text)
