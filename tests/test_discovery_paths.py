"""The string helpers of workspace/discovery.py say what PurePosixPath says of a workspace's
relative paths (the checks ask them of every migration on every audit, without path objects)."""

from __future__ import annotations

from pathlib import PurePosixPath

from hypothesis import given
from hypothesis import strategies as st

from schemalens.analyzers.workspace.discovery import file_name, file_stem, folder_of, under

SEGMENT = st.text(alphabet="ab_.-0V", min_size=1, max_size=8).filter(lambda segment: segment not in (".", ".."))


@given(segments=st.lists(SEGMENT, min_size=1, max_size=4))
def test_the_helpers_agree_with_pure_posix_path(segments):
    path = "/".join(segments)
    posix = PurePosixPath(path)
    assert folder_of(path) == str(posix.parent)
    assert file_name(path) == posix.name
    assert file_stem(path) == posix.stem


def test_names_with_dots():
    for path in ("db/V1__init.sql", "versions/.hidden", "a/b.", "x..sql", "migrations/0001_a.b.py"):
        assert (file_name(path), file_stem(path)) == (PurePosixPath(path).name, PurePosixPath(path).stem), path


@given(segments=st.lists(SEGMENT, min_size=1, max_size=4),
       folders=st.lists(st.lists(SEGMENT, max_size=3).map("/".join) | st.sampled_from([".", "/", "a/", "/a"]), max_size=4))
def test_under_agrees_with_pure_posix_path(segments, folders):
    path = PurePosixPath("/".join(segments))
    inside = [folder.strip("/") in ("", ".") or (path.is_relative_to(folder.strip("/")) and path != PurePosixPath(folder.strip("/")))
              for folder in folders]
    assert under(str(path), folders) == any(inside) == under(str(path), tuple(folders))


def test_every_marker_holds_one_of_the_pieces_searched_first():
    """holds_any searches the pieces first: a marker that holds none of them would never be found."""
    from schemalens.analyzers.workspace import discovery, read_ahead

    for pieces, markers in ((discovery._MODEL_MARKER_PIECES, discovery._MODEL_MARKERS),
                            (discovery._MODEL_CALL_PIECES, discovery._MODEL_CALLS),
                            (read_ahead._SCHEMA_MARKER_PIECES, read_ahead._SCHEMA_MARKERS)):
        assert all(any(piece in marker for piece in pieces) for marker in markers)
    for text, model, schema in (("class A(db.Model):\n    pass\n", True, False),
                                ("Base = declarative_base()\n", True, False),
                                ("t = sa.Table('t', metadata)\n", True, False),
                                ("x = DatatableColumn('a')\n", False, False),
                                # a listener: the model reader reads none (polar's seed script held one)
                                ("@event.listens_for(Order, 'after_insert')\ndef f(*a): pass\n", False, False),
                                ("class B(A):\n    __mapper_args__ = {'polymorphic_identity': 'b'}\n", False, True),
                                ("print('nothing here')\n", False, False)):
        assert (discovery.looks_like_model_module(text), read_ahead.read_for_the_schema(text)) == (model, schema), text
