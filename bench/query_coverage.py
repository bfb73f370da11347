"""Query coverage of the corpus projects and the bundled example (issue 19): the share of
filter/filter_by/where/join/outerjoin/order_by/group_by calls of application code resolved to
tables and columns, the unresolved ones by kind, and the first few with why. A benchmark, not a
test: it always exits 0.

    python bench/query_coverage.py [--project NAME ...] [--first N]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402

from schemalens.analyzers.report.schema_json import query_coverage_json  # noqa: E402
from schemalens.analyzers.workspace.index import WorkspaceIndex  # noqa: E402

EXAMPLE = REPOSITORY / "examples" / "shop"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", action="append", choices=(*corpus_projects.PROJECTS, "examples/shop"))
    parser.add_argument("--first", type=int, default=5, help="unresolved calls shown per project")
    args = parser.parse_args()
    names = args.project or [*(corpus_projects.PROJECTS if corpus_projects.available() else ()), "examples/shop"]
    for name in names:
        root = EXAMPLE if name == "examples/shop" else corpus_projects.unpacked(name)
        model = WorkspaceIndex(root, cache_dir=corpus_projects.CACHE / "parse-cache").index_all()
        coverage = query_coverage_json(model, first=None)
        kinds = Counter(call["kind"] for call in coverage["unresolved"])
        print(f"== {name}: {coverage['resolved']}/{coverage['calls']} = {100 * coverage['share']:.1f} %; "
              f"unresolved by kind: {dict(kinds.most_common())}")
        for call in coverage["unresolved"][:args.first]:
            print(f"   {call['path']}:{call['line']} {call['method']}: {call['kind']}: {call['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
