"""Benchmark `schemalens verify` on the bundled example end to end: a fresh process, the embedded
PostgreSQL started and removed, every revision up, down and up again, the SQL folder, the
comparison and the report. Target: <= 20 s. A benchmark, not a test: it always exits 0.

    python bench/bench_verify.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
TARGET_SECONDS = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
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
