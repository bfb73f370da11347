"""Benchmark the workspace index on a large generated workspace.

Generates a workspace (500 model modules, 1000 revisions, 200 SQL files by default) into a temp
directory, then measures, each in its own subprocess so that peak memory is per measurement:

- cold `WorkspaceIndex(root).index_all()`;
- re-indexing one model file after a column is appended to its last class (`update_file`);
- re-indexing one revision in the middle of the chain after an `op.add_column` is added to it;
- the parse floor: libcst (with and without line/column positions) over every .py file and
  pglast over every .sql file, with the stdlib `ast` for comparison; what any static index of
  this workspace pays at least;

and prints them with peak RSS (`ru_maxrss`) against the targets. It is a benchmark, not a test:
it always exits 0, and says so when a measurement could not run.

    python bench/bench_index.py [--models 500] [--revisions 1000] [--sql 200] [--repeat 7] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_workspace import generate_workspace  # noqa: E402  (a sibling script, not a package)

TARGETS = {"cold": 3.0, "model": 0.030, "revision": 0.100}  # seconds
RSS_TARGET_MB = 300


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


# measurements (run in a child process)

def _measure_parse_floor(root: Path) -> dict:
    import ast

    import libcst
    import pglast
    from libcst.metadata import MetadataWrapper, PositionProvider

    class _Positions(libcst.CSTVisitor):
        METADATA_DEPENDENCIES = (PositionProvider,)

    python = [path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.py"))]
    sql = [path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.sql"))]
    result = {"python_files": len(python), "python_bytes": sum(map(len, python)), "sql_files": len(sql)}
    for label, parse in (("ast_seconds", ast.parse), ("libcst_seconds", libcst.parse_module)):
        started = time.perf_counter()
        for text in python:
            parse(text)
        result[label] = time.perf_counter() - started
    # Positions cost several times the parse: time every 10th file and scale up.
    sample = python[::10]
    started = time.perf_counter()
    for text in sample:
        MetadataWrapper(libcst.parse_module(text)).visit(_Positions())
    result["libcst_positions_seconds"] = (time.perf_counter() - started) * len(python) / max(len(sample), 1)
    started = time.perf_counter()
    for text in sql:
        pglast.parse_sql(text)
    result["pglast_seconds"] = time.perf_counter() - started
    result["rss_mb"] = _peak_rss_mb()
    return result


def _measure(kind: str, root: Path, path: str, table: str, repeat: int) -> dict:
    if kind == "parse_floor":
        return _measure_parse_floor(root)
    started = time.perf_counter()
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    imported = time.perf_counter()
    result: dict = {"import_seconds": imported - started}
    if kind == "imports":
        result["rss_mb"] = _peak_rss_mb()
        return result

    index = WorkspaceIndex(root)
    started = time.perf_counter()
    model = index.index_all()
    result["cold_seconds"] = time.perf_counter() - started
    result["orm_tables"] = len(model.orm.tables)
    result["database_tables"] = len(model.database.tables)
    result["errors"] = len(model.errors)
    result["first_errors"] = [f"{error.location}: {error.message}" for error in model.errors[:3]]

    if kind in ("model", "revision"):
        original = (root / path).read_text(encoding="utf-8")
        timings = []
        seen = 0
        for attempt in range(repeat):
            column = f"bench_touch_{attempt}"
            if kind == "model":
                # The generated modules end inside the last class body, so this adds a column to it.
                text = original + f"    {column} = db.Column(db.Integer(), nullable=True)\n"
            else:
                text = original.replace(
                    "def upgrade():\n",
                    f"def upgrade():\n    op.add_column('{table}', sa.Column('{column}', sa.Integer(), nullable=True))\n", 1)
            started = time.perf_counter()
            model = index.update_file(path, text)
            timings.append(time.perf_counter() - started)
            layer = model.orm if kind == "model" else model.database
            found = layer.table(table)
            seen += found is not None and found.column(column) is not None
        result["update_seconds"] = timings
        result["updates_seen"] = seen
    result["rss_mb"] = _peak_rss_mb()
    return result


def _run_child(kind: str, root: Path, path: str = "", table: str = "", repeat: int = 1) -> dict:
    command = [sys.executable, __file__, "--measure", kind, "--root", str(root), "--path", path,
               "--table", table, "--repeat", str(repeat)]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        return {"failed": (completed.stderr.strip() or completed.stdout.strip()).splitlines()[-1:] or ["no output"]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


# report

def _verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER"


def _format_seconds(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run_benchmark(models: int, revisions: int, sql: int, repeat: int, keep: Path | None) -> str:
    """Generate the workspace, run every measurement, and return the printable report."""
    with tempfile.TemporaryDirectory(prefix="schemalens-bench-") as temporary:
        root = keep or Path(temporary) / "workspace"
        started = time.perf_counter()
        workspace = generate_workspace(root, models, revisions, sql)
        generated = time.perf_counter() - started
        model_path = workspace.model_files[len(workspace.model_files) // 2]
        model_table = re.findall(r'__tablename__ = "([^"]+)"', (root / model_path).read_text(encoding="utf-8"))[-1]
        revision_path = workspace.revision_files[len(workspace.revision_files) // 2]
        revision_table = workspace.table_of_revision[revision_path]

        floor = _run_child("parse_floor", root)
        imports = _run_child("imports", root)
        cold = _run_child("cold", root)
        model = _run_child("model", root, model_path, model_table, repeat)
        revision = _run_child("revision", root, revision_path, revision_table, repeat)

    lines = [f"workspace: {len(workspace.model_files)} model modules ({len(workspace.tables)} tables), "
             f"{len(workspace.revision_files)} revisions, {len(workspace.sql_files)} SQL migrations "
             f"(generated in {generated:.1f} s)"]
    if "failed" in floor:
        lines.append(f"parse floor failed: {floor['failed'][0]}")
    else:
        lines.append(f"parse floor over {floor['python_files']} .py files ({floor['python_bytes'] / 1e6:.1f} MB) and "
                     f"{floor['sql_files']} .sql files: ast {_format_seconds(floor['ast_seconds'])}, libcst "
                     f"{_format_seconds(floor['libcst_seconds'])}, libcst + positions ~"
                     f"{_format_seconds(floor['libcst_positions_seconds'])} (from a 10% sample), pglast {_format_seconds(floor['pglast_seconds'])}")
    if "failed" in imports:
        lines.append(f"importing the index failed: {imports['failed'][0]}")
    if "failed" in cold:
        lines.append(f"cold index failed: {cold['failed'][0]}")
    else:
        lines.append(f"indexed: orm {cold['orm_tables']} tables, database {cold['database_tables']} tables, "
                     f"{cold['errors']} problems reported")
        lines += [f"  e.g. {message}" for message in cold["first_errors"]]
    rows = [("measurement", "time", "target", "", "peak RSS", "target", "")]
    if "failed" not in imports:
        rows.append(("python + imports", _format_seconds(imports["import_seconds"]), "", "",
                     f"{imports['rss_mb']:.0f} MB", "", ""))
    if "failed" not in cold:
        rows.append(("cold index_all", _format_seconds(cold["cold_seconds"]), _format_seconds(TARGETS["cold"]),
                     _verdict(cold["cold_seconds"], TARGETS["cold"]), f"{cold['rss_mb']:.0f} MB",
                     f"{RSS_TARGET_MB} MB", _verdict(cold["rss_mb"], RSS_TARGET_MB)))
    for label, result, kind, path in (("model file re-index", model, "model", model_path),
                                      ("mid-chain revision re-index", revision, "revision", revision_path)):
        if "failed" in result:
            lines.append(f"{label} failed: {result['failed'][0]}")
            continue
        timings = result["update_seconds"]
        median = statistics.median(timings)
        rows.append((f"{label} (median of {len(timings)})", _format_seconds(median), _format_seconds(TARGETS[kind]),
                     _verdict(median, TARGETS[kind]), f"{result['rss_mb']:.0f} MB", f"{RSS_TARGET_MB} MB",
                     _verdict(result["rss_mb"], RSS_TARGET_MB)))
        rows.append((f"  max; edit seen {result['updates_seen']}/{len(timings)}", _format_seconds(max(timings)),
                     "", "", "", "", ""))
        lines.append(f"{label}: {path}")
    return "\n".join(lines) + ("\n\n" + _table(rows) if len(rows) > 1 else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--sql", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7, help="edits per re-index measurement")
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    # Internal: one measurement in this (child) process, printed as JSON.
    parser.add_argument("--measure", choices=("parse_floor", "imports", "cold", "model", "revision"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--path", default="", help=argparse.SUPPRESS)
    parser.add_argument("--table", default="", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.measure:
        print(json.dumps(_measure(arguments.measure, arguments.root, arguments.path, arguments.table, arguments.repeat)))
        return 0
    try:
        print(run_benchmark(arguments.models, arguments.revisions, arguments.sql, arguments.repeat, arguments.keep))
    except Exception as error:  # a benchmark reports, it does not fail the build
        print(f"benchmark could not run: {error!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
