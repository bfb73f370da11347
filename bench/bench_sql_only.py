"""A SQL-only audit beside squawk, in one run: the same migration folder checked by
`schemalens audit` (a fresh process each time, as a CI step runs it, from bytecode as an installed
copy starts: bench/as_installed.py; parse cache cold, then warm) and by `squawk` (PyPI
`squawk-cli`) on all its files at once. Prints wall and CPU seconds of each and the ratio
against the performance issue's target (SchemaLens <= 5x squawk).

The folder is a generated reporting schema of `--files` numbered migrations (bench/generate_
workspace.py), or any real folder given with `--folder` (copied, so that nothing is written
beside it). A benchmark, not a test: it always exits 0.

    python bench/bench_sql_only.py [--files 98] [--folder PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from as_installed import from_bytecode  # noqa: E402  (sibling scripts)
from generate_workspace import GeneratedWorkspace, _write_sql_migrations  # noqa: E402

TARGET_RATIO = 5.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `command` (its exit status is a verdict, not an error)."""
    cpu, started = _children_cpu(), time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - started, _children_cpu() - cpu


def _squawk() -> str | None:
    beside_python = Path(sys.executable).parent / "squawk"
    return shutil.which("squawk") or (str(beside_python) if beside_python.exists() else None)


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=98)
    parser.add_argument("--folder", type=Path, help="a real SQL migration folder to check instead")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from_bytecode()
    squawk = _squawk()
    with tempfile.TemporaryDirectory(prefix="schemalens-sql-bench-") as temporary:
        root = Path(temporary) / "workspace"
        if args.folder:
            shutil.copytree(args.folder, root / "migrations")
        else:
            _write_sql_migrations(random.Random(0), root, args.files, GeneratedWorkspace(root=root))
        files = sorted(str(path) for path in root.rglob("*.sql"))
        print(f"workspace: {len(files)} SQL migration files ({args.folder or 'generated'})")
        cache = Path(temporary) / "cache"
        audit = [sys.executable, "-m", "schemalens", "audit", str(root), "--format", "json"]
        env = {**os.environ, "SCHEMALENS_CACHE_DIR": str(cache)}
        cold = []
        for _ in range(args.repeat):
            shutil.rmtree(cache, ignore_errors=True)
            cold.append(_timed(audit, env))
        warm = [_timed(audit, env) for _ in range(args.repeat)]
        rows = [("schemalens audit, parse cache cold", _median(cold)), ("schemalens audit, parse cache warm", _median(warm))]
        if squawk is None:
            print("squawk not found (pip install squawk-cli): SchemaLens figures only")
        else:
            rows.append(("squawk, every file in one run", _median([_timed([squawk, *files]) for _ in range(args.repeat)])))
        for label, (wall, cpu) in rows:
            print(f"{label:38} {wall:6.2f} s wall  {cpu:6.2f} s cpu")
        if squawk is not None:
            squawk_wall, squawk_cpu = rows[-1][1]
            for label, (wall, cpu) in rows[:-1]:
                print(f"{label}: {wall / squawk_wall:.1f}x squawk by wall time, {cpu / max(squawk_cpu, 1e-3):.1f}x by CPU "
                      f"(target <= {TARGET_RATIO:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
