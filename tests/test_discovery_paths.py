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
