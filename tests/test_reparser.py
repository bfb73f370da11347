"""The tree of the file an editor is changing, kept for its next text (python_source.Reparser):
after any edit, the tree, its node order and the nodes' spans equal a fresh parse's, or the
parse fails as a fresh one does; and the statements the change does not touch are kept."""

from __future__ import annotations

import ast
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corpus_projects
from schemalens.analyzers.extract import python_source
from schemalens.analyzers.extract.python_source import Reparser, parse_python

PATH = "app/models.py"
MODELS = '''from app.db import Base, Column, Integer


class Order(Base):
    __tablename__ = "orders"
    id = Column(Integer, primary_key=True)


@decorated
class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)


total = (1,
         2); other = 3
'''


def _shape(source) -> tuple:
    """The tree with every place, and each node of the walk order with its span."""
    order = source.nodes_in_order
    for position, node in enumerate(order):
        reference, start, _ = node._schemalens_span
        assert reference() is order and start == position
    return ast.dump(source.tree, include_attributes=True), [(type(node).__name__, node._schemalens_span[1:]) for node in order]


def _assert_as_fresh(reparser: Reparser, text: str) -> None:
    source, error = reparser.parse(text, PATH)
    fresh, fresh_error = parse_python(text, PATH)
    assert (source is None, error) == (fresh is None, fresh_error)
    if source is not None:
        assert _shape(source) == _shape(fresh)


@pytest.fixture
def parsed_texts(monkeypatch) -> list[str]:
    """The texts `ast` parses: a whole file, or the lines a change touches."""
    texts = []
    parse = python_source._parse

    def recorded(text: str):
        texts.append(text)
        return parse(text)

    monkeypatch.setattr(python_source, "_parse", recorded)
    return texts


def test_an_edit_in_a_class_parses_that_class_again_and_moves_the_statements_after_it(parsed_texts):
    reparser = Reparser()
    before, _ = reparser.parse(MODELS, PATH)
    kept_first, kept_last = before.tree.body[0], before.tree.body[-1]
    text = MODELS.replace('    __tablename__ = "orders"\n', '    __tablename__ = "orders"\n    note = Column(Integer)\n')
    source, _ = reparser.parse(text, PATH)
    assert parsed_texts[-1].startswith("class Order(Base):") and "Item" not in parsed_texts[-1]
    assert source.tree.body[0] is kept_first and source.tree.body[-1] is kept_last
    assert kept_last.lineno == 17
    _assert_as_fresh(Reparser(), text)
    assert _shape(source) == _shape(parse_python(text, PATH)[0])


def test_a_decorator_is_parsed_with_its_class():
    reparser = Reparser()
    reparser.parse(MODELS, PATH)
    _assert_as_fresh(reparser, MODELS.replace("@decorated\n", "@decorated(again=True)\n"))


def test_a_change_that_leaves_a_bracket_open_is_read_with_the_lines_after_it():
    reparser = Reparser()
    reparser.parse(MODELS, PATH)
    text = MODELS.replace("    id = Column(Integer, primary_key=True)\n\n\n@decorated",
                          "    id = Column(Integer, primary_key=True\n\n\n@decorated")
    _assert_as_fresh(reparser, text)


def test_a_statement_that_begins_where_the_one_before_ends_is_parsed_with_it():
    first = "x = '''\n'''; y = 2\nz = 3\n"
    reparser = Reparser()
    reparser.parse(first, PATH)
    _assert_as_fresh(reparser, "x = '''\n'''; y = 2\nz = '''\n")  # from y's line on, a string to the end


@pytest.mark.parametrize("first, then", [
    ("x = 1\n", "x = 1 \\\n"),  # a backslash with nothing after it
    ("x = 1 + \\\n    2\ny = 3\n", "x = 1 + \\\n    2\ny = 3 \\\n"),
    ("\\\n\\\n\nz = 1", "\\\n\\\n"),  # the last line break is gone
    ("a = 1\nb = 2\n", "a = 1 \\\nb = 2\n"),  # the change joins the next line to it
    ("x = 1\n\\\ny = 2", "x = 1\n\\\n"),  # a backslash before the changed lines, then nothing
])
def test_backslashes_and_the_last_line_read_as_a_fresh_parse_reads_them(first, then):
    reparser = Reparser()
    reparser.parse(first, PATH)
    _assert_as_fresh(reparser, then)


def test_a_half_typed_line_keeps_the_last_good_tree_for_the_next_text():
    reparser = Reparser()
    reparser.parse(MODELS, PATH)
    half_typed = MODELS.replace("    id = Column(Integer, primary_key=True)\n\n\n@", "    id = Column(\n\n\n@")
    assert reparser.parse(half_typed, PATH)[0] is None
    _assert_as_fresh(reparser, MODELS.replace("orders", "order_rows"))


NEWER = MODELS + "\n\ntype Ids = list[int]\n\ntry:\n    total = 1\nexcept ValueError, TypeError:\n    total = 0\n"


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this interpreter parses the newer syntax as written")
def test_a_file_of_newer_syntax_is_spliced_from_the_rewrite_of_the_changed_lines(parsed_texts):
    """A file that parses only from its rewrite by line (`except A, B:` of Python 3.14, `type X =`
    of 3.12): an edit parses the statements it changes alone, from their rewrite when this grammar
    rejects them as written (polar's checkout model, whose class holds an `except A, B:`); an edit
    that takes the newer syntax out of the statements it changes parses the file again, which may
    no longer need its rewrite."""
    reparser = Reparser()
    assert reparser.parse(NEWER, PATH)[0].rewritten
    parsed_texts.clear()
    edited = NEWER.replace('"orders"', '"order_rows"')
    _assert_as_fresh(reparser, edited)
    assert parsed_texts[0].startswith("class Order") and "Item" not in parsed_texts[0]
    parsed_texts.clear()
    edited = edited.replace("    total = 0\n", "    total = -1\n")
    _assert_as_fresh(reparser, edited)
    assert parsed_texts[:2] == ["try:\n    total = 1\nexcept ValueError, TypeError:\n    total = -1\n",
                                "try:\n    total = 1\nexcept (ValueError, TypeError):\n    total = -1\n"]
    parsed_texts.clear()
    _assert_as_fresh(reparser, edited.replace("except ValueError, TypeError:", "except (ValueError, TypeError):"))
    assert "class Order" in parsed_texts[-1]


def test_another_file_is_parsed_whole(parsed_texts):
    reparser = Reparser()
    reparser.parse(MODELS, PATH)
    source, _ = reparser.parse(MODELS, "app/other.py")
    assert parsed_texts[-1] == MODELS and source.path == "app/other.py"


# Random edits, one after another: of small files made of tricky statements, and of real files.
_STATEMENTS = ("import os", "x = 1", "@decorator", "def f(a,\n      b):\n    return a",
               "class A:\n    y = 2\n\n    def m(self):\n        pass", "z = (1,\n 2); w = 3", 's = """\nabc\n"""',
               "# comment", "", "if x:\n    q = 1\nelse:\n    q = 2", "\\", "t = 'é'", "a = 1\r\nb = 2",
               "p = '''x\r\ny'''", "match x:\n    case 1:\n        pass", "v = 1  # \\",
               # syntax newer than some interpreters that run SchemaLens (3.12, 3.14): parsed from a rewrite
               "type Alias = list[int]", "class G[T: (int,\n str)](Base):\n    pass", "def g[T](a: T) -> T:\n    return a",
               "try:\n    pass\nexcept A, B:\n    pass")
_LINES = ("", "# c", "x = (", ")", '"""', "@decorator", "def f():", "    pass", "else:", "y = 2; z = 3", "\\",
          "class K(Base):", "    id = Column(Integer)", "except ValueError:", "  ", "é = 'ü'", "\ttab = 1", "case 2:",
          "except A, B:", "type U = int", "def h[T]():")
_EDITS = st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["insert", "insert indented", "append", "delete"]),
                            st.sampled_from(_LINES)), min_size=1, max_size=6)


def _edited(text: str, where: float, action: str, line: str) -> str:
    lines = text.split("\n")
    at = int(where * (len(lines) - 1))
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    if action == "insert":
        lines.insert(at, line)
    elif action == "insert indented":
        lines.insert(at, indent + line)
    elif action == "append":
        lines[at] += " " + line
    else:
        del lines[at]
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_STATEMENTS), max_size=8), _EDITS)
# newer syntax in a string after a \r: a line end the rewrite by line does not read as one
@example(["type Alias = list[int]", "p = '''x\r\ny'''"], [(0.5, "append", "except A, B:")])
def test_after_any_edits_of_a_small_file_the_tree_is_a_fresh_parse(statements, edits):
    text = "\n".join(statements)
    reparser = Reparser()
    reparser.parse(text, PATH)
    for edit in edits:
        text = _edited(text, *edit)
        _assert_as_fresh(reparser, text)


CORPUS_FILES = corpus_projects.sampled_python_files()


@pytest.mark.skipif(not CORPUS_FILES, reason="the corpus (../shared/corpus) is not here")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_FILES or [("", "")]), _EDITS)
def test_after_any_edits_of_a_real_file_the_tree_is_a_fresh_parse(file, edits):
    project, path = file
    text = (corpus_projects.unpacked(project) / path).read_text(encoding="utf-8")
    reparser = Reparser()
    reparser.parse(text, PATH)
    for edit in edits:
        text = _edited(text, *edit)
        _assert_as_fresh(reparser, text)
