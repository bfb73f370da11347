"""Real code, damaged the way an editor damages it, never crashes the index or the audit.

Files of the corpus projects (../shared/corpus) are mutated by hypothesis (truncated, lines
deleted or duplicated, tokens swapped) and read by every extractor; on CTFd, a mutated model or
revision goes through the live index and a full audit. What cannot be read must come back as
errors, never as an exception.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpus_projects
from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.extract.alembic_revisions import parse_revision
from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.sql_files import parse_sql
from schemalens.analyzers.extract.sqlalchemy_models import build_orm
from schemalens.analyzers.workspace.index import WorkspaceIndex

pytestmark = pytest.mark.skipif(not corpus_projects.available(), reason="the corpus (../shared/corpus) is not here")

_TOKEN = re.compile(r"\w+|[^\w\s]")


def _files(suffix: str, must_contain: str) -> list[tuple[str, str]]:
    found = []
    for name in corpus_projects.PROJECTS:
        root = corpus_projects.unpacked(name)
        for path in sorted(root.rglob(f"*{suffix}")):
            text = path.read_text(encoding="utf-8", errors="replace")
            if must_contain in text:
                found.append((path.relative_to(root).as_posix(), text))
    return found


@st.composite
def damaged(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    how = draw(st.sampled_from(["truncate", "delete", "duplicate", "swap", "indent"]))
    if how == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if not lines:
        return text
    start = draw(st.integers(0, len(lines) - 1))
    end = min(len(lines), start + draw(st.integers(1, 8)))
    if how == "delete":
        return "".join(lines[:start] + lines[end:])
    if how == "duplicate":
        return "".join(lines[:end] + lines[start:end] + lines[end:])
    if how == "indent":
        return "".join(lines[:start] + ["    " + line for line in lines[start:end]] + lines[end:])
    tokens = _TOKEN.findall(lines[start])
    if len(tokens) < 2:
        return text
    first, second = draw(st.integers(0, len(tokens) - 1)), draw(st.integers(0, len(tokens) - 1))
    line = lines[start].replace(tokens[first], "\0", 1).replace(tokens[second], tokens[first], 1).replace("\0", tokens[second])
    return "".join(lines[:start] + [line] + lines[start + 1:])


MODELS = _files(".py", "__tablename__") if corpus_projects.available() else []
REVISIONS = _files(".py", "down_revision") if corpus_projects.available() else []
SQL = _files(".sql", "") if corpus_projects.available() else []
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(data=st.data())
def test_damaged_models_are_summarized_and_built_without_an_exception(data):
    path, text = data.draw(st.sampled_from(MODELS))
    summary = summarize_module(data.draw(damaged(text)), path, path.replace("/", ".")[:-3])
    build_orm([summary])


@FUZZ
@given(data=st.data())
def test_damaged_revisions_are_read_without_an_exception(data):
    path, text = data.draw(st.sampled_from(REVISIONS))
    parse_revision(data.draw(damaged(text)), path)


@FUZZ
@given(data=st.data())
def test_damaged_sql_is_read_without_an_exception(data):
    path, text = data.draw(st.sampled_from(SQL))
    parse_sql(data.draw(damaged(text)), path)


@pytest.fixture(scope="module")
def ctfd_index():
    index = WorkspaceIndex(corpus_projects.unpacked("CTFd"))
    index.index_all()
    return index


CTFD_FILES = [path for path, _ in MODELS + REVISIONS if path.startswith(("CTFd/", "migrations/"))] if MODELS else []


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_damaged_file_in_a_live_index_is_indexed_and_audited_without_an_exception(ctfd_index, data):
    root = ctfd_index.root
    candidates = [path for path in CTFD_FILES if (root / path).is_file()]
    path = data.draw(st.sampled_from(candidates))
    text = (root / path).read_text(encoding="utf-8")
    try:
        model = ctfd_index.update_file(path, data.draw(damaged(text)))
        result = run_audit(model)
        assert result.errors == ()  # no rule failed
    finally:
        ctfd_index.update_file(path, None)
