"""Python files parsed for extraction: positions in code points, syntax errors where the parser
sees them, syntax newer than the running interpreter read on the same lines, and nodes walked in
the order they are written."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from schemalens.analyzers.extract.python_source import parse_python, walk_in_order

NEWER_SYNTAX = {
    "except without parentheses (3.14)": "try:\n    pass\nexcept KeyError, ValueError:\n    pass\nmarker = 1\n",
    "type alias (3.12)": "type Ids = list[int]\nmarker = 1\n",
    "generic class over several lines (3.12)": "class Box[\n    T: int,\n](object):\n    pass\nmarker = 1\n",
    "generic function (3.12)": "def first[T](items: list[T]) -> T:\n    return items[0]\nmarker = 1\n",
    "nested quotes in an f-string (3.12)": 'row = {"a": 1}\ntext = f"{row["a"]}"\nmarker = 1\n',
    "line break inside an f-string field (3.12)": 'text = f"{\n    1 + 1\n}"\nmarker = 1\n',
    "t-string (3.14)": 'name = "x"\ntext = t"hello {name}"\nmarker = 1\n',
}


@pytest.mark.parametrize("text", NEWER_SYNTAX.values(), ids=NEWER_SYNTAX.keys())
def test_newer_syntax_is_read_and_keeps_every_line_in_place(text):
    parsed, error = parse_python(text, "m.py")
    assert error is None
    marker = next(node for node in parsed.tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "marker")
    assert parsed.location(marker).line == text.splitlines().index("marker = 1") + 1


def test_columns_count_code_points_after_cjk_and_emoji():
    text = 'label = "标签颜色😀"; value = 1\n'
    parsed, _ = parse_python(text, "m.py")
    value = parsed.tree.body[1]
    assert parsed.location(value).column == text.index("value") + 1
    assert parsed.segment(value) == "value = 1"


def test_a_syntax_error_is_placed_where_the_parser_sees_it_within_the_line():
    text = "x = 1\ndef broken(:\n    pass\n"
    parsed, error = parse_python(text, "m.py")
    assert parsed is None
    assert error.location.line == 2 and 1 <= error.location.column <= len("def broken(:") + 1
    assert error.message.startswith("syntax error")


def test_a_real_syntax_error_is_not_blamed_on_newer_python():
    parsed, error = parse_python("def f(:\n", "m.py")
    assert parsed is None and "newer than" not in error.message


def test_line_ends_are_counted_as_the_tokenizer_counts_them():
    text = "a = 1\r\nb = 2\rc = 3\n\x0cd = 4\n"  # a form feed is not a line end
    parsed, _ = parse_python(text, "m.py")
    assert [parsed.location(node).line for node in parsed.tree.body] == [1, 2, 3, 4]


WRITTEN = textwrap.dedent('''
    @route(a())
    def f(x=b(), *args, y=c(), **kw) -> d():
        return {e(): g(), **h()}, i() if j() else k(), l(m=n(), *o())

    @decorate(p())
    class C(q(), metaclass=r()):
        s = lambda t=u(): v()
''')


def test_nodes_come_in_the_order_written():
    # libcst visits a concrete syntax tree in source order by construction: the oracle
    source, _ = parse_python(WRITTEN, "x.py")
    ours = [source.segment(node) for node in walk_in_order(source.tree) if isinstance(node, ast.Call)]

    module = cst.parse_module(WRITTEN)
    theirs: list[str] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            theirs.append(module.code_for_node(node))

    module.visit(Calls())
    assert ours == theirs


def test_a_pruned_node_is_visited_but_not_what_is_inside_it():
    source, _ = parse_python("x = f(lambda: g(), h())\n", "x.py")
    calls = [source.segment(node) for node in walk_in_order(source.tree, prune=(ast.Lambda,)) if isinstance(node, ast.Call)]
    assert calls == ["f(lambda: g(), h())", "h()"]


def test_a_parsed_file_walks_its_subtrees_as_a_tree_never_numbered_does():
    # walk_in_order slices the order numbered at parse time; a tree parsed by `ast` alone is
    # walked node by node: the two must agree on every subtree, pruned or not
    source, _ = parse_python(WRITTEN, "x.py")
    plain = ast.parse(WRITTEN)
    pairs = list(zip(walk_in_order(source.tree), walk_in_order(plain)))
    assert pairs and all(type(numbered) is type(walked) for numbered, walked in pairs)
    for prune in ((), (ast.Lambda,), (ast.FunctionDef, ast.ClassDef), (ast.Call,)):
        for numbered, walked in pairs:
            assert [ast.dump(node) for node in walk_in_order(numbered, prune)] == \
                   [ast.dump(node) for node in walk_in_order(walked, prune)]
        body, plain_body = source.tree.body, plain.body
        assert [ast.dump(node) for node in walk_in_order(body, prune)] == \
               [ast.dump(node) for node in walk_in_order(plain_body, prune)]


def test_a_tree_outliving_its_file_is_still_walked():
    source, _ = parse_python("x = f(g())\n", "x.py")
    tree = source.tree
    del source  # the numbered order goes with the file
    assert [type(node).__name__ for node in walk_in_order(tree)] == ["Module", "Assign", "Name", "Call", "Name", "Call", "Name"]


_REWRITER_IMPORTED = """
import sys
from pathlib import Path
from schemalens.analyzers.workspace.index import WorkspaceIndex
index = WorkspaceIndex(Path(sys.argv[1]), cache_dir=None)
index.index_all()
before = "libcst" in sys.modules
index.prepare_for_unparsable_text()
print(before, "libcst" in sys.modules)
"""


@pytest.mark.parametrize("files, imported", [
    ({"app/models.py": "from sqlalchemy import Column, Integer\nfrom app.db import Base\n\n\nclass Item(Base):\n"
                       "    __tablename__ = 'items'\n    id = Column(Integer, primary_key=True)\n"}, True),
    ({"migrations/V1__items.sql": "CREATE TABLE items (id bigint PRIMARY KEY);\n"}, False),
], ids=["Python", "SQL only"])
def test_the_rewriter_is_imported_ahead_only_for_a_workspace_with_python_files(tmp_path, files, imported):
    """What reads a text this interpreter rejects (libcst) is imported when the index prepares
    for it, not by the index itself, and not for a workspace without Python files."""
    import subprocess
    import sys

    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    run = subprocess.run([sys.executable, "-c", _REWRITER_IMPORTED, str(tmp_path)], capture_output=True, text=True,
                         check=True)
    assert run.stdout.split() == ["False", str(imported)]
