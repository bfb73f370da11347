"""A large SQL file in a workspace: a seed dump of INSERTs, one statement per row, as data
dumps and seed files in repositories are (`pg_dump --inserts`). Prints the seconds and peak
memory of `schemalens audit` (a fresh process, parse cache cold, from bytecode as an installed
copy starts: bench/as_installed.py) on a workspace holding only that file, for a dump in
ASCII and one with an accented word and a Chinese one in each row (character offsets differ
from byte offsets there). A benchmark, not a test: it always exits 0.

    python bench/bench_large_sql.py [--megabytes 6 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from as_installed import from_bytecode  # noqa: E402  (a sibling script)


def write_seed(path: Path, megabytes: float, ascii: bool) -> int:
    """A CREATE TABLE, then rows until the file holds `megabytes`; the number of statements."""
    city, note = ("Zurich", "city") if ascii else ("Zürich", "城市")
    size, statements = int(megabytes * 1_000_000), 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        file.write("CREATE TABLE city (id bigint PRIMARY KEY, name text NOT NULL, note text);\n")
        while file.tell() < size:
            file.write("".join(f"INSERT INTO city (id, name, note) VALUES ({statements + row}, '{city} {row}', "
                               f"'{note} {statements}');\n" for row in range(100)))
            statements += 100
    return statements


# Runs a command and prints the peak RSS (KB) of its processes: each measurement its own.
_PEAK_OF = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _audit(root: Path, cache: Path) -> tuple[float, float]:
    """Wall seconds, and the peak RSS in MB of the audit's processes (the parse worker's included)."""
    started = time.perf_counter()
    peak = subprocess.run([sys.executable, "-c", _PEAK_OF, sys.executable, "-m", "schemalens", "audit", str(root),
                           "--format", "json"], capture_output=True, text=True, check=False,
                          env={**os.environ, "SCHEMALENS_CACHE_DIR": str(cache)}).stdout
    return time.perf_counter() - started, int(peak) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, nargs="+", default=[6, 20])
    args = parser.parse_args()
    from_bytecode()
    for megabytes in args.megabytes:
        for ascii in (True, False):
            with tempfile.TemporaryDirectory(prefix="schemalens-large-sql-") as temporary:
                root = Path(temporary) / "workspace"
                statements = write_seed(root / "db" / "seed.sql", megabytes, ascii)
                seconds, peak = _audit(root, Path(temporary) / "cache")
                text = "ASCII" if ascii else "not ASCII"
                print(f"{megabytes:5.0f} MB seed file, {text:9}, {statements:7,} statements: audit {seconds:6.1f} s, "
                      f"peak RSS {peak:6.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
