"""The PostgreSQL version read from the images a project runs (workspace/postgres_version.py),
remembered between audits until a folder it listed or a file it read changes."""

from __future__ import annotations

import os

import pytest

from schemalens.analyzers.workspace import postgres_version
from schemalens.analyzers.workspace.postgres_version import detected_versions


@pytest.fixture
def walks(monkeypatch) -> list[str]:
    """The roots of the tree walks the detection makes."""
    made: list[str] = []
    walk = os.walk

    def counted(top, *args, **kwargs):
        made.append(str(top))
        return walk(top, *args, **kwargs)

    monkeypatch.setattr(postgres_version.os, "walk", counted)
    return made


def _write(path, text: str, stamp: int) -> None:
    """Write `text` with the modification time `stamp` (seconds): a change the stamps see even on a
    file system that counts whole seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (stamp, stamp))


def test_an_unchanged_tree_is_not_walked_again(tmp_path, walks):
    _write(tmp_path / "docker-compose.yml", "services:\n  db:\n    image: postgres:13\n", 1_000)
    assert detected_versions(tmp_path) == [(13, "docker-compose.yml: postgres:13")]
    assert detected_versions(tmp_path) == [(13, "docker-compose.yml: postgres:13")]
    assert len(walks) == 1


def test_a_changed_compose_file_is_read_again(tmp_path, walks):
    compose = tmp_path / "docker-compose.yml"
    _write(compose, "services:\n  db:\n    image: postgres:13\n", 1_000)
    detected_versions(tmp_path)
    _write(compose, "services:\n  db:\n    image: postgres:15\n", 2_000)  # the same size
    assert detected_versions(tmp_path) == [(15, "docker-compose.yml: postgres:15")]


def test_a_new_file_in_a_folder_walked_and_a_new_ci_folder_are_found(tmp_path, walks):
    (tmp_path / "deploy").mkdir()
    os.utime(tmp_path / "deploy", (1_000, 1_000))
    _write(tmp_path / ".github" / "CODEOWNERS", "* @team\n", 1_000)  # a folder the walk skips
    assert detected_versions(tmp_path) == []
    _write(tmp_path / "deploy" / "Dockerfile.db", "FROM postgres:14\n", 2_000)
    os.utime(tmp_path / "deploy", (2_000, 2_000))
    assert detected_versions(tmp_path) == [(14, "deploy/Dockerfile.db: postgres:14")]
    _write(tmp_path / ".github" / "workflows" / "test.yml", "services:\n  db:\n    image: postgres:12\n", 3_000)
    assert (12, ".github/workflows/test.yml: postgres:12") in detected_versions(tmp_path)
