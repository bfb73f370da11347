"""Which parser reads Python for extraction: the measurement behind `extract/python_source.py`.

For every corpus project (`../shared/corpus/`) and the bundled example, over all .py files:
the standard library's `ast` (what extraction uses), `parse_python` (ast plus the rewrite of
syntax newer than this interpreter), libcst's parser alone, and libcst with line/column
positions (what extraction used before) on a sample. Prints seconds and files per second, and
how many files needed the rewrite. A benchmark, not a test: it always exits 0.

    python bench/bench_parsers.py [--sample 300]
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
import warnings
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402  (a test helper shared with the benchmarks)

from schemalens.analyzers.extract.python_source import parse_python  # noqa: E402


def _texts(root: Path) -> list[tuple[str, str]]:
    return [(str(path), path.read_text(encoding="utf-8", errors="replace")) for path in sorted(root.rglob("*.py"))]


def _timed(function, items) -> tuple[float, int]:
    failures = 0
    started = time.perf_counter()
    for item in items:
        try:
            function(item)
        except Exception:
            failures += 1
    return time.perf_counter() - started, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=300, help="files for libcst with positions (slow)")
    args = parser.parse_args()
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    warnings.simplefilter("ignore")
    projects = {name: corpus_projects.unpacked(name) for name in corpus_projects.PROJECTS}
    projects["examples/shop"] = REPOSITORY / "examples" / "shop"
    print(f"{'project':<14} {'files':>6} {'ast s':>7} {'(fail)':>6} {'parse_python s':>14} {'(rewritten)':>11} "
          f"{'libcst s':>9} {'libcst+pos ms/file':>19}")
    for name, root in projects.items():
        if root is None:
            print(f"{name:<14} corpus not found")
            continue
        texts = _texts(root)
        ast_seconds, ast_failures = _timed(lambda item: ast.parse(item[1]), texts)
        started = time.perf_counter()
        rewritten = sum(1 for path, text in texts if (parsed := parse_python(text, path)[0]) and parsed.rewritten)
        ours = time.perf_counter() - started
        cst_seconds, _ = _timed(lambda item: cst.parse_module(item[1]), texts)
        sample = texts[: args.sample]
        positioned, _ = _timed(lambda item: MetadataWrapper(cst.parse_module(item[1]), unsafe_skip_copy=True)
                               .resolve(PositionProvider), sample)
        print(f"{name:<14} {len(texts):>6} {ast_seconds:>7.2f} {ast_failures:>6} {ours:>14.2f} {rewritten:>11} "
              f"{cst_seconds:>9.2f} {positioned * 1000 / max(len(sample), 1):>19.1f}")


if __name__ == "__main__":
    main()
