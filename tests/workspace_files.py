"""Writing a small workspace for a test."""

from __future__ import annotations

from pathlib import Path
from typing import Optional


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write {relative path: text} under `root` (folders made as needed); return `root`."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def buffers_over_disk(root: Path, texts: dict[str, str]):
    """A `text_of` for run_audit: `texts` ({path: text}) as the editor's buffers, else the disk."""
    def text_of(path: str) -> Optional[str]:
        if path in texts:
            return texts[path]
        try:
            return (root / path).read_text(encoding="utf-8")
        except OSError:
            return None
    return text_of


def bench_generator():
    """bench/generate_workspace.py, imported from its file (bench/ is not a package)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("generate_workspace", Path(__file__).resolve().parent.parent / "bench" / "generate_workspace.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("generate_workspace", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def fresh_model(root: Path, texts: dict[str, str], config=None, workers=None):
    """The model a fresh index of `root` builds with `texts` ({path: text}) as the editor's
    buffers, with the memos the query flow keeps from earlier audits forgotten: what an audit
    kept across edits must equal."""
    from schemalens.analyzers import query_flow, query_paths
    from schemalens.analyzers.rules import context
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    fresh = WorkspaceIndex(root, config, workers=workers)
    model = fresh.index_all()
    for path, text in texts.items():
        model = fresh.update_file(path, text)
    query_flow._last_code_base.clear()
    query_paths._last_resolved.clear()
    context._last_walk.clear()
    context._last_names_in_use.clear()
    context._last_code_mentions.clear()
    context._last_sql_mentions.clear()
    return model
