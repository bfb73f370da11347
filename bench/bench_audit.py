"""Benchmark the full audit on the generated 500-model / 1000-revision / 200-SQL workspace.

Prints, each from its own subprocess so that peak memory is per measurement: the audit with a
cold parse (no cache), the audit with the parse cache warm (what a second `schemalens audit`
costs), and the rules alone; against the targets (<= 5 s, <= 400 MB). A benchmark, not a test:
it always exits 0.

    python bench/bench_audit.py [--models 500] [--revisions 1000] [--sql 200]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_workspace import generate_workspace  # noqa: E402  (a sibling script, not a package)

TARGET_SECONDS, TARGET_MB = 5.0, 400


def _measure(root: Path, cache: Path) -> dict:
    from schemalens.analyzers.audit import run_audit
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    started = time.perf_counter()
    model = WorkspaceIndex(root, cache_dir=cache).index_all()
    indexed = time.perf_counter()
    result = run_audit(model)
    audited = time.perf_counter()
    return {"index_seconds": indexed - started, "rules_seconds": audited - indexed, "findings": len(result.findings),
            "rule_errors": len(result.errors),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(root: Path, cache: Path) -> dict:
    completed = subprocess.run([sys.executable, __file__, "--measure", str(root), "--cache", str(cache)],
                               capture_output=True, text=True)
    if completed.returncode != 0:
        return {"failed": (completed.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--sql", type=int, default=200)
    parser.add_argument("--measure", type=Path)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure, args.cache)))
        return
    with tempfile.TemporaryDirectory(prefix="schemalens-bench-") as temporary:
        root, cache = Path(temporary) / "workspace", Path(temporary) / "cache"
        generate_workspace(root, args.models, args.revisions, args.sql)
        cold = _child(root, cache)
        warm = _child(root, cache)
    print(f"workspace: {args.models} model modules, {args.revisions} revisions, {args.sql} SQL migrations")
    for label, run in (("audit, cold parse", cold), ("audit, parse cache warm", warm)):
        if "failed" in run:
            print(f"{label}: failed: {run['failed']}")
            continue
        total = run["index_seconds"] + run["rules_seconds"]
        print(f"{label}: {total:.2f} s (index {run['index_seconds']:.2f} s + rules {run['rules_seconds']:.2f} s; "
              f"target {TARGET_SECONDS:.0f} s: {'ok' if total <= TARGET_SECONDS else 'OVER'}), peak RSS "
              f"{run['rss_mb']:.0f} MB (target {TARGET_MB} MB: {'ok' if run['rss_mb'] <= TARGET_MB else 'OVER'}), "
              f"{run['findings']} findings, {run['rule_errors']} rule errors")


if __name__ == "__main__":
    main()
