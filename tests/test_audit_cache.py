"""The last audit kept on disk for an unchanged workspace (analyzers/workspace/audit_cache.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.workspace.audit_cache import RACY_SECONDS, AuditCache, KeptAudit, workspace_snapshot
from schemalens.analyzers.workspace.config import load_config
from schemalens.analyzers.workspace.index import WorkspaceIndex

SERVICE = Path(__file__).parent / "fixtures" / "flask_service"


def _service(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    aged = os.stat(root).st_mtime - 10 * RACY_SECONDS  # written long enough before the snapshot
    for directory, _, names in os.walk(root):
        for name in names:
            os.utime(os.path.join(directory, name), (aged, aged))
    return root


def _kept_after_an_audit(root: Path, cache: Path) -> tuple[AuditCache, KeptAudit]:
    snapshot = workspace_snapshot(root, load_config(root))
    result = run_audit(WorkspaceIndex(root).index_all())
    audit = KeptAudit(result.findings, ())
    kept = AuditCache(cache, root)
    assert kept.save(snapshot, audit)
    return kept, audit


def test_an_unchanged_workspace_gets_its_audit_back(tmp_path):
    root = _service(tmp_path)
    kept, audit = _kept_after_an_audit(root, tmp_path / "cache")
    again = kept.load(workspace_snapshot(root, load_config(root)))
    assert again == audit and again.findings


def test_any_file_the_audit_may_read_changing_invalidates_it(tmp_path):
    root = _service(tmp_path)
    kept, _ = _kept_after_an_audit(root, tmp_path / "cache")
    # not a file SchemaLens parses, but one that says which PostgreSQL runs
    (root / "docker-compose.yml").write_text("services:\n  db:\n    image: postgres:13\n", encoding="utf-8")
    assert kept.load(workspace_snapshot(root, load_config(root))) is None


def test_other_settings_invalidate_it(tmp_path):
    root = _service(tmp_path)
    kept, _ = _kept_after_an_audit(root, tmp_path / "cache")
    (root / "pyproject.toml").write_text("[tool.schemalens]\nignore = ['SL701']\n", encoding="utf-8")
    os.utime(root / "pyproject.toml", (os.stat(root).st_mtime - 10 * RACY_SECONDS,) * 2)
    changed = workspace_snapshot(root, load_config(root))
    assert kept.load(changed) is None


def test_an_audit_of_files_written_just_before_is_not_kept(tmp_path):
    root = _service(tmp_path)
    (root / "app" / "models" / "accounts.py").touch()  # within the clock tick of a snapshot
    snapshot = workspace_snapshot(root, load_config(root))
    assert not AuditCache(tmp_path / "cache", root).save(snapshot, KeptAudit((), ()))


def test_the_snapshot_names_files_by_their_paths_from_the_root(tmp_path):
    root = _service(tmp_path)
    (root / "node_modules").mkdir()
    (root / "node_modules" / "left-pad.js").write_text("", encoding="utf-8")
    (root / "requirements.txt").write_text("psycopg\n", encoding="utf-8")
    paths = [path for path, _, _ in workspace_snapshot(root, load_config(root)).files]
    expected = sorted(path.relative_to(root).as_posix() for path in root.rglob("*")
                      if path.is_file() and "node_modules" not in path.parts)
    assert paths == expected and {"requirements.txt", "app/models/accounts.py"} <= set(paths)
