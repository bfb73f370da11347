"""Time to the first diagnostics of an open model file on each corpus project: a fresh language
server over stdio, driven by pytest-lsp's client as an editor drives it: `initialize`,
`initialized`, then `didOpen` of a model file. Prints the seconds from `initialize` to that
file's first `publishDiagnostics`, and to the first diagnostics of any file, per project, for
three starts: cold (an empty cache folder of its own), warm (the parse cache of an earlier
start, one file changed since), and unchanged (nothing changed since the last start: the audit
kept then is published at once). The server starts from bytecode, as an installed copy does
(bench/as_installed.py). Medians of `--runs` starts. A benchmark, not a test: it always
exits 0. Issue #18's target: <= 1 s on any corpus project.

    python bench/bench_first_diagnostics.py [--runs 3] [--project polar]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402  (test helpers shared with the benchmarks)
from as_installed import from_bytecode  # noqa: E402  (a sibling script)

# The model file opened in each project (the same as bench_neovim.py's).
OPENED = {"CTFd": "CTFd/models/__init__.py", "redash": "redash/models/__init__.py",
          "dispatch": "src/dispatch/incident/models.py", "polar": "server/polar/models/order.py"}
TARGET = 1.0
# What an editor says it can show that changes what the server sends during its first index:
# VS Code, Neovim and Emacs's eglot all show work-done progress.
_EDITOR_CAPABILITIES = types.ClientCapabilities(window=types.WindowClientCapabilities(work_done_progress=True))


async def _first_diagnostics(root: Path, opened: str, cache: Path) -> tuple[float, float]:
    """(seconds to the open file's first diagnostics, seconds to any file's first diagnostics)."""
    config = ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"],
                                server_env={**os.environ, "SCHEMALENS_CACHE_DIR": str(cache)})
    client = await config.start()
    uri = (root / opened).as_uri()
    first_any: list[float] = []  # seconds to the first diagnostics of any file
    started = time.perf_counter()
    try:
        await client.initialize_session(types.InitializeParams(
            capabilities=_EDITOR_CAPABILITIES, root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=uri, language_id="python", version=0, text=(root / opened).read_text(encoding="utf-8"))))
        # Poll: a burst of notifications resolves one wait_for_notification, not one each.
        deadline = started + 600
        while uri not in client.diagnostics and time.perf_counter() < deadline:
            if client.diagnostics and not first_any:
                first_any.append(time.perf_counter() - started)
            await asyncio.sleep(0.005)
        if not first_any:
            first_any.append(time.perf_counter() - started)
        seconds = time.perf_counter() - started
        # The index goes on after a first look at the schema: let it end, so that the next start
        # finds the parse cache and the kept audit this one writes.
        while not any("indexed" in m.message for m in client.log_messages) and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # the kept audit is written after that message
        return seconds, first_any[0]
    finally:
        await client.shutdown_session()


def _touch(path: Path) -> None:
    """Change the file's modification time (not its text): the workspace is not the one last audited."""
    os.utime(path)


def _age(path: Path) -> None:
    """Date the file back a minute: an audit is not kept when a file changed within the clock
    tick of its snapshot (analyzers/workspace/audit_cache.py)."""
    earlier = time.time() - 60
    os.utime(path, (earlier, earlier))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--project", choices=sorted(OPENED), action="append")
    args = parser.parse_args()
    from_bytecode()
    if not corpus_projects.available():
        print("the corpus (../shared/corpus) is not here: nothing to measure")
        return 0
    for project in args.project or corpus_projects.PROJECTS:
        root = corpus_projects.unpacked(project)
        opened = OPENED[project]
        results: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "unchanged": []}
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="schemalens-first-") as cache:
                results["cold"].append(asyncio.run(_first_diagnostics(root, opened, Path(cache))))
                _touch(root / opened)  # another start, after an edit: the parse cache serves the rest
                results["warm"].append(asyncio.run(_first_diagnostics(root, opened, Path(cache))))
                _age(root / opened)  # the last start kept its audit of this very workspace
                asyncio.run(_first_diagnostics(root, opened, Path(cache)))
                results["unchanged"].append(asyncio.run(_first_diagnostics(root, opened, Path(cache))))
        for start, measured in results.items():
            file_seconds = [file for file, _ in measured]
            print(f"{project:9} {start:9} open model file's first diagnostics: {statistics.median(file_seconds):6.2f} s "
                  f"(runs: {', '.join(f'{v:.2f}' for v in file_seconds)}; target {TARGET:.0f} s); "
                  f"any file's: {statistics.median(any_file for _, any_file in measured):6.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
