"""Benchmark the language server through a real LSP client over stdio (pytest-lsp's client).

On the generated 500-model / 1000-revision / 200-SQL workspace it prints: the time from
`initialize` to the first diagnostics, with the parse cache cold and then warm (a second start); didChange -> publishDiagnostics latency (p50/p95) over
edits of a model file and of a revision in the middle of the chain; hover latency (p50/p95);
and the server's RSS after a first and a second batch of edits (growth between the two). With
`--tracemalloc`, the server traces its allocations (server/memory_trace.py: slower) and the
benchmark prints what grew most between its first and last snapshots, by allocation site.
Edits alternately add one and two columns above existing findings, so that each edit moves
those findings and must republish diagnostics (on a corpus project, each column with a comment
of its own); a first edit of three columns is not among them:
on the generated workspace it is sent as soon as the index has ended, and timed on its own; on
a corpus project, the file is opened once the index has ended, and edited a second after its
diagnostics arrived (a user reads a file before typing in it: meanwhile the server reads it as
an edit would, for the first keystroke); after the timed edits and a pause, the session's first
half-typed line (a text that no longer parses) is timed on its own.
The server runs from bytecode, as an installed copy does (bench/as_installed.py), in this
process's environment: with a PYTHONPATH that holds another copy of SchemaLens, that copy.
A benchmark, not a test: it always exits 0.

    python bench/bench_lsp.py [--edits 200] [--rss-edits 1000 10000] [--models 500] [--tracemalloc] ...
    python bench/bench_lsp.py --project redash [--edits 60]   # a corpus project: first diagnostics, model edits
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import os
import time
import tracemalloc
from pathlib import Path
from typing import Optional

from lsprotocol import types
from pytest_lsp import ClientServerConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))

from as_installed import from_bytecode  # noqa: E402  (sibling scripts, not a package)
from generate_workspace import generate_workspace  # noqa: E402
from schemalens.server.memory_trace import ENVIRONMENT, EVERY  # noqa: E402

# Edits go after the primary key line of the first model in the file.
MODEL_ANCHOR = "primary_key=True)\n"
TARGETS = {"first_diagnostics": 5.0, "edit_p95": 0.150, "hover_p95": 0.020, "rss_growth": 0.10}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def _wait_for(client, uri: str, predicate, timeout: float = 120) -> None:
    async def wait():
        while not predicate(client.diagnostics.get(uri)):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    await asyncio.wait_for(wait(), timeout)


async def _indexed(client) -> None:
    """Return once the server said its index ended (a window/logMessage)."""
    while not any("indexed" in message.message for message in client.log_messages):
        await asyncio.sleep(0.02)


async def _edits(client, root: Path, path: str, count: int, make_line, insert_after: str,
                 first: Optional[list[float]] = None, read_for: float = 0.0) -> list[float]:
    """`read_for`: the seconds between the file's first diagnostics and its first edit (a user
    reads a file they opened before they type in it)."""
    uri = (root / path).as_uri()
    original = (root / path).read_text(encoding="utf-8")
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=0, text=original)))
    await _wait_for(client, uri, lambda d: d is not None)
    await asyncio.sleep(read_for)
    latencies = []
    # The first edit is not among the timed ones (`first` gets its time): it may wait for the end of
    # the index, which a cold start's first diagnostics (what the models and migrations show,
    # published before the code is read) precede. It adds three lines, the timed ones one or two:
    # each edit moves the findings below it.
    untimed = make_line(count) + make_line(count + 1)
    for version, lines in enumerate((untimed, *map(make_line, range(count))), start=1):
        took = await _changed(client, uri, version, original.replace(insert_after, insert_after + lines, 1))
        if version > 1:
            latencies.append(took)
        elif first is not None:
            first.append(took)
    return latencies


async def _changed(client, uri: str, version: int, text: str) -> float:
    """Seconds from a didChange of the file at `uri` to `text` to its next diagnostics."""
    before = client.diagnostics.get(uri)
    started = time.perf_counter()
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    await _wait_for(client, uri, lambda d: d is not before)
    return time.perf_counter() - started


async def _start(root: Path, trace: Optional[Path] = None, cache: Optional[Path] = None):
    """A server on `root` with the benchmark's own parse cache (`cache`, else beside `root`;
    tracing its allocations into `trace` when given); returns it once its first diagnostics arrived."""
    # this process's environment (a PYTHONPATH runs another copy of SCHEMALENS: an A/B comparison)
    environment = {**os.environ, "SCHEMALENS_CACHE_DIR": str(cache or root.parent / "cache")}
    if trace is not None:
        environment[ENVIRONMENT] = str(trace)
    config = ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"], server_env=environment)
    client = await config.start()
    started = time.perf_counter()
    await client.initialize_session(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri()))
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return client, time.perf_counter() - started


async def run(root: Path, model_path: str, revision_path: str, table: str, edits: int, rss_edits: list[int],
              trace: Optional[Path] = None) -> list[str]:
    client, first = await _start(root, trace)
    pid = client._server.pid
    report = [f"initialize -> first diagnostics, parse cache cold: {first:.2f} s (target {TARGETS['first_diagnostics']:.0f} s)"]

    model_line = (lambda n: "".join(f"    bench_{n}_{k} = db.Column(db.DateTime, nullable=True)\n" for k in range(n % 2 + 1)))
    # The first edit once the index has ended: it must not wait for work the end of the index left
    # behind (the kept audit's save, the models' build of summaries it does not know).
    while not any("indexed" in message.message for message in client.log_messages):
        await asyncio.sleep(0.005)
    first_edit: list[float] = []
    model = await _edits(client, root, model_path, edits, model_line, MODEL_ANCHOR, first_edit)
    report.append(f"didChange -> diagnostics, the first edit once the index ended: {first_edit[0] * 1000:.0f} ms")
    revision_line = (lambda n: "".join(f"    op.add_column('{table}', sa.Column('bench_{n}_{k}', sa.DateTime(), nullable=True))\n"
                                       for k in range(n % 2 + 1)))
    revision = await _edits(client, root, revision_path, edits, revision_line, "def upgrade():\n")
    for label, values in (("model file", model), ("mid-chain revision", revision)):
        report.append(f"didChange -> diagnostics, {label} ({len(values)} edits): p50 {statistics.median(values) * 1000:.0f} ms, "
                      f"p95 {_percentile(values, 0.95) * 1000:.0f} ms (target p95 {TARGETS['edit_p95'] * 1000:.0f} ms)")

    uri = (root / model_path).as_uri()
    text = (root / model_path).read_text(encoding="utf-8")
    line = next(n for n, content in enumerate(text.splitlines()) if "__tablename__" in content)
    character = text.splitlines()[line].index('"') + 2
    hovers = []
    for _ in range(200):
        started = time.perf_counter()
        await client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))
        hovers.append(time.perf_counter() - started)
    report.append(f"hover: p50 {statistics.median(hovers) * 1000:.1f} ms, p95 {_percentile(hovers, 0.95) * 1000:.1f} ms "
                  f"(target p95 {TARGETS['hover_p95'] * 1000:.0f} ms)")

    done, rss = 0, []
    for checkpoint in rss_edits:
        await _edits(client, root, model_path, checkpoint - done, model_line, MODEL_ANCHOR)
        done = checkpoint
        rss.append((checkpoint, _rss_mb(pid)))
    if len(rss) >= 2:
        growth = rss[-1][1] / rss[0][1] - 1
        report.append("server RSS: " + ", ".join(f"{mb:.0f} MB after {n} edits" for n, mb in rss)
                      + f"; growth {growth * 100:.1f}% (target <= {TARGETS['rss_growth'] * 100:.0f}%)")
    await client.shutdown_session()

    # What every later start of the editor costs: the parse cache the first start wrote is warm.
    client, first = await _start(root)
    report.insert(1, f"initialize -> first diagnostics, parse cache warm (a second start): {first:.2f} s "
                     f"(target {TARGETS['first_diagnostics']:.0f} s)")
    await client.shutdown_session()
    return report


def _growth(trace: Path, shown: int = 12) -> list[str]:
    """What grew most between the first and the last allocation snapshot, by allocation site."""
    snapshots = sorted(trace.glob("snapshot-*.pickle"))
    if len(snapshots) < 2:
        return [f"allocation snapshots: {len(snapshots)} written (one every {EVERY} rebuilds): nothing to compare"]
    first, last = (tracemalloc.Snapshot.load(str(path)) for path in (snapshots[0], snapshots[-1]))
    differences = last.compare_to(first, "traceback")
    lines = [f"allocations grown from {snapshots[0].stem} to {snapshots[-1].stem}: "
             f"{sum(d.size_diff for d in differences) / 1024:+.0f} KiB in all; the largest:"]
    for difference in differences[:shown]:
        frames = [f for f in difference.traceback if "importlib" not in f.filename][-4:]
        lines.append(f"  {difference.size_diff / 1024:+8.1f} KiB {difference.count_diff:+7d} blocks  "
                     + " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames)))
    return lines


async def run_project(root: Path, cache: Path, edits: int) -> list[str]:
    """On a real project: first diagnostics with the parse cache cold, then warm, and model edits
    that add one or two columns above a finding of a model file (each edit moves it: the server
    republishes)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_corpus import _DECLARATION, _line
    from schemalens.analyzers.audit import run_audit
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    model = WorkspaceIndex(root).index_all()
    model_paths = {table.location.path for table in model.orm.tables.values()}
    path, number, declaration = next(
        (f.location.path, number, match) for f in run_audit(model).findings if f.location.path in model_paths
        for number in range(f.location.line - 1, 0, -1)
        for match in [_DECLARATION.match(_line(root, f.location.path, number))]
        if match and (root / f.location.path).read_text(encoding="utf-8").count(_line(root, f.location.path, number) + "\n") == 1)
    client, cold = await _start(root, cache=cache)
    await client.shutdown_session()
    client, warm = await _start(root, cache=cache)
    make_line = (lambda n: "".join(f"{declaration.group(1)}bench_{n}_{k}{_with_a_word_of_its_own(declaration.group(3), n, k)}\n"
                                   for k in range(n % 2 + 1)))
    # the file is opened once the index has ended, as in a session under way
    await asyncio.wait_for(_indexed(client), 600)
    first: list[float] = []
    insert_after = _line(root, path, number) + "\n"
    values = await _edits(client, root, path, edits, make_line, insert_after, first, read_for=1.0)
    broken = await _first_half_typed_line(client, root, path, insert_after, f"{declaration.group(1)}bench_typing = (\n",
                                          version=edits + 2)
    await client.shutdown_session()
    return [f"initialize -> first diagnostics, parse cache cold: {cold:.2f} s, warm: {warm:.2f} s",
            f"didChange -> diagnostics, the first edit (three lines) of the file opened after the index, 1 s after "
            f"its diagnostics: {first[0] * 1000:.0f} ms",
            f"didChange -> diagnostics, {path} ({len(values)} edits): p50 {statistics.median(values) * 1000:.0f} ms, "
            f"p95 {_percentile(values, 0.95) * 1000:.0f} ms (target p95 100 ms)",
            f"didChange -> diagnostics, the session's first half-typed line (the file no longer parses), after a "
            f"{_PAUSE_SECONDS:.0f} s pause: {broken * 1000:.0f} ms"]


def _with_a_word_of_its_own(declared: str, edit: int, column: int) -> str:
    """A copied column declaration (`= Column(...)`, ending with its call's parenthesis) with a
    comment of its own, as a column a user writes has text no other line has (a copy holds only
    words the file holds already); as copied when it has a comment already."""
    if "comment=" in declared:
        return declared
    return f'{declared[:-1]}, comment="draft_{edit}_{column}")'


# A user's pause after the edits: the server does then what it left for one (server.app's do_when_idle).
_PAUSE_SECONDS = 3.0


async def _first_half_typed_line(client, root: Path, path: str, insert_after: str, line: str, version: int) -> float:
    """Seconds from a didChange that leaves the file unparsable (the first in the session) to its diagnostics."""
    await asyncio.sleep(_PAUSE_SECONDS)
    text = (root / path).read_text(encoding="utf-8").replace(insert_after, insert_after + line, 1)
    return await _changed(client, (root / path).as_uri(), version, text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", help="a corpus project (../shared/corpus) instead of the generated workspace")
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--sql", type=int, default=200)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--rss-edits", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--tracemalloc", action="store_true", help="trace the server's allocations and print what grew")
    args = parser.parse_args()
    from_bytecode()
    if args.project:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import corpus_projects

        with tempfile.TemporaryDirectory(prefix="schemalens-bench-") as temporary:
            lines = asyncio.run(run_project(corpus_projects.unpacked(args.project), Path(temporary), args.edits))
        print(f"project: {args.project}")
        print("\n".join(lines))
        return
    with tempfile.TemporaryDirectory(prefix="schemalens-bench-") as temporary:
        trace = Path(temporary) / "allocations" if args.tracemalloc else None
        root = Path(temporary) / "workspace"
        workspace = generate_workspace(root, args.models, args.revisions, args.sql)
        model_path = workspace.model_files[len(workspace.model_files) // 2]
        revision_path = workspace.revision_files[len(workspace.revision_files) // 2]
        table = workspace.table_of_revision[revision_path]
        lines = asyncio.run(run(root, model_path, revision_path, table, args.edits, args.rss_edits, trace))
        if trace is not None:
            lines += _growth(trace)
    print(f"workspace: {args.models} model modules, {args.revisions} revisions, {args.sql} SQL migrations")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
