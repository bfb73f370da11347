"""Benchmark `schemalens verify` on the bundled example end to end: a fresh process, the embedded
PostgreSQL started and removed, every revision up, down and up again, the SQL folder, the
comparison and the report. Target: <= 20 s. A benchmark, not a test: it always exits 0.

    python bench/bench_verify.py [--repeat 3]
    python bench/bench_verify.py --corpus [PROJECT ...]

`--corpus` runs verify on each corpus project (tests/corpus_projects.py) once with SchemaLens's own
interpreter and once with `--python` the project's venv (tests/corpus/oracles/project_envs.py,
`$SCHEMALENS_ORACLE_VENVS`, skipped when absent), and prints per run the exit code, the revisions
that ran per environment, the failures' first line and the time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
TARGET_SECONDS = 20.0


def corpus(names: list[str]) -> None:
    sys.path.insert(0, str(EXAMPLE.parents[1] / "tests"))
    import corpus_projects

    venvs = Path(os.environ.get("SCHEMALENS_ORACLE_VENVS", Path(tempfile.gettempdir()) / "oracle-venvs"))
    for name in names or corpus_projects.PROJECTS:
        root = corpus_projects.unpacked(name)
        if root is None:
            print(f"{name}: not in the corpus")
            continue
        python = venvs / name / "bin" / "python"
        for extra in ([], ["--python", str(python)]):
            if extra and not python.exists():
                print(f"{name} --python: no venv at {python} (tests/corpus/oracles/project_envs.py makes one)")
                continue
            with tempfile.TemporaryDirectory() as folder:
                scratch = Path(folder) / name
                shutil.copytree(root, scratch, symlinks=True)  # projects may write files when they start
                started = time.perf_counter()
                completed = subprocess.run([sys.executable, "-m", "schemalens", "verify", str(scratch), "--format", "json",
                                            *extra], capture_output=True, text=True)
                seconds = time.perf_counter() - started
            label = f"{name}{' --python' if extra else ''}"
            try:
                report = json.loads(completed.stdout)
            except ValueError:
                print(f"{label}: exit {completed.returncode}, {seconds:.1f} s, no report: {completed.stderr[-500:]}")
                continue
            runs = ", ".join(f"{env} {data['revisions_run']}/{data['revisions']}" + (" bootstrapped" if data["bootstrapped"] else "")
                             for env, data in report["environments"].items())
            print(f"{label}: exit {completed.returncode}, {seconds:.1f} s, revisions run: {runs}")
            for failure in report["failures"][:3]:
                print(f"    {failure.splitlines()[0][:240]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", nargs="*", metavar="PROJECT", help="verify the corpus projects instead")
    args = parser.parse_args()
    if args.corpus is not None:
        corpus(args.corpus)
        return 0
    timings = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder) / "shop"
            shutil.copytree(EXAMPLE, root)
            started = time.perf_counter()
            completed = subprocess.run([sys.executable, "-m", "schemalens", "verify", str(root), "--no-cache",
                                        "--format", "json"], capture_output=True, text=True)
            timings.append(time.perf_counter() - started)
            if completed.returncode not in (0, 1):
                print(f"verify failed to run: {completed.stderr[-2000:]}")
                return 0
    median = statistics.median(timings)
    print(f"schemalens verify examples/shop, end to end (embedded server included), {args.repeat} runs:")
    print(f"  median {median:.2f} s, min {min(timings):.2f} s, max {max(timings):.2f} s; "
          f"target {TARGET_SECONDS:.0f} s: {'ok' if median <= TARGET_SECONDS else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
