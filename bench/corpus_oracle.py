"""SchemaLens's static layers against the corpus oracles (tests/corpus/oracles/).

For each corpus project (../shared/corpus, unpacked by tests/corpus_projects.py): cold and warm
`WorkspaceIndex(root).index_all()` time (cold: empty parse cache; warm: a new index over the cache
the cold run wrote), the workspace errors by kind, and per layer (`orm` against SQLAlchemy's
MetaData, `database` against PostgreSQL's catalog after the project's own migrations) the
agreement per element kind as "equal / oracle total" and percent, then the first differences.
It is a benchmark, not a test: it exits 0, and says so when the corpus is not there.

    python bench/corpus_oracle.py [--project NAME ...] [--differences 15] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import corpus_projects  # noqa: E402
from corpus_oracle_compare import (  # noqa: E402
    KINDS, SCHEMA_ALIASES, compare_layers, group_differences, load_oracle, summary_lines)

from schemalens.analyzers.workspace.index import WorkspaceIndex  # noqa: E402

def _message_shape(message: str) -> str:
    """An error message with its names taken out, so that errors of one cause count together."""
    shape = re.sub(r'"[^"]*"|\'[^\']*\'|`[^`]*`', "…", message)
    shape = re.sub(r"\b[0-9a-f]{8,}\b|\d+", "N", shape)
    return shape[:110]


def measure(name: str, differences: int) -> dict:
    root = corpus_projects.unpacked(name)
    with tempfile.TemporaryDirectory(prefix="schemalens-bench-cache-") as cache:
        started = time.perf_counter()
        model = WorkspaceIndex(root, cache_dir=Path(cache)).index_all()
        cold = time.perf_counter() - started
        started = time.perf_counter()
        WorkspaceIndex(root, cache_dir=Path(cache)).index_all()
        warm = time.perf_counter() - started
    result = {
        "project": name, "cold_s": round(cold, 2), "warm_s": round(warm, 2),
        "errors_by_kind": dict(Counter(error.kind for error in model.errors)),
        "errors_by_shape": Counter(_message_shape(error.message) for error in model.errors).most_common(8),
        "layers": {},
    }
    for layer in ("orm", "database"):
        oracle, notes = load_oracle(name, layer)
        comparison = compare_layers(oracle, getattr(model, layer), schema_aliases=SCHEMA_ALIASES.get(name))
        result["layers"][layer] = {
            "static_tables": len(getattr(model, layer).tables),
            "agreement": {kind: {"equal": comparison.equal[kind], "total": comparison.total[kind],
                                 "percent": round(comparison.percent(kind), 1)} for kind in KINDS},
            "differences_by_change": {f"{kind} {change}": count
                                      for (kind, change), count in sorted(comparison.counts_by_change().items())},
            "first_differences": [str(d) for kind_differences in group_differences(comparison.differences).values()
                                  for d in kind_differences[:differences]],
            "summary": summary_lines(comparison),
            "oracle_failure": notes.get("failure"),
        }
    return result


def print_result(result: dict) -> None:
    print(f"== {result['project']}: index cold {result['cold_s']:.2f} s, warm {result['warm_s']:.2f} s; "
          f"errors {sum(result['errors_by_kind'].values())} {result['errors_by_kind']}")
    for shape, count in result["errors_by_shape"]:
        print(f"   {count:4} x {shape}")
    for layer, data in result["layers"].items():
        print(f"-- {layer}: SchemaLens {data['static_tables']} tables; against the oracle"
              + (f" (oracle incomplete: {data['oracle_failure']})" if data["oracle_failure"] else ""))
        for line in data["summary"]:
            print("   " + line)
        if data["differences_by_change"]:
            print("   differences: " + ", ".join(f"{key} {count}" for key, count in data["differences_by_change"].items()))
        for line in data["first_differences"]:
            print("     " + line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", action="append", choices=corpus_projects.PROJECTS)
    parser.add_argument("--differences", type=int, default=5, help="differences shown per element kind")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if not corpus_projects.available():
        print(f"corpus not found in {corpus_projects.CORPUS}: nothing measured")
        return 0
    results = []
    for name in args.project or corpus_projects.PROJECTS:
        result = measure(name, args.differences)
        print_result(result)
        results.append(result)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
