"""Precision of the audit on the corpus, against the judged triage (tests/corpus/triage/).

Audits each corpus project (../shared/corpus) and prints, from the labels: precision (share of
findings labeled `tp`) overall and per severity for the rules on by default, per rule for every
rule audited (the rules off by default that the corpus still measures marked), the findings
without a label and the labels whose finding is gone. With `--todo DIR`, writes the unlabeled
findings of each project to DIR/<project>.json with the code around them, for a judge to read
and label. A benchmark, not a test: it always exits 0 (tests/test_corpus_precision.py holds
the targets).

    python bench/precision.py [--project NAME ...] [--todo DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402
import corpus_triage  # noqa: E402



def _percent(tp: int, total: int) -> str:
    return f"{100 * tp / total:5.1f} % ({tp}/{total})" if total else "    - "


def _context(root: Path, path: str, line: int, around: int = 4) -> str:
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    first = max(line - around, 1)
    return "\n".join(f"{number:5} {'>' if number == line else ' '} {lines[number - 1]}"
                     for number in range(first, min(line + around, len(lines)) + 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", action="append", choices=corpus_projects.PROJECTS)
    parser.add_argument("--todo", type=Path, help="write the unlabeled findings here, with their code")
    args = parser.parse_args()
    if not corpus_projects.available():
        print("corpus not found: nothing measured")
        return 0
    everything: list = []
    for project in args.project or corpus_projects.PROJECTS:
        root, keyed = corpus_triage.audit_project(project)
        labels = corpus_triage.load_labels(project)
        result = corpus_triage.precision(keyed, labels)
        everything += result.labeled
        stale = corpus_triage.stale_labels(keyed, labels)
        on_by_default = corpus_triage.Precision([(k, label) for k, label in result.labeled if corpus_triage.on_by_default(k)], [])
        print(f"== {project}: {len(keyed)} findings, {len(result.labeled)} labeled, {len(result.unlabeled)} unlabeled, "
              f"{len(stale)} stale labels; precision of the rules on by default {_percent(*_tp(on_by_default.labeled))}")
        for severity, (tp, total) in on_by_default.by(lambda k: k.finding["severity"]).items():
            print(f"   {severity}: {_percent(tp, total)}")
        if args.todo and result.unlabeled:
            args.todo.mkdir(parents=True, exist_ok=True)
            todo = [{**corpus_triage.entry_for(k, "", ""), "message": k.finding["message"],
                     "line": k.finding["line"], "code_around": _context(root, k.finding["path"], k.finding["line"]),
                     "related": k.finding.get("related", [])} for k in result.unlabeled]
            (args.todo / f"{project}.json").write_text(json.dumps(todo, indent=1, ensure_ascii=False) + "\n")
    on_by_default = [(keyed, label) for keyed, label in everything if corpus_triage.on_by_default(keyed)]
    print(f"== corpus, rules on by default: precision {_percent(*_tp(on_by_default))}")
    for severity, (tp, count) in corpus_triage.Precision(on_by_default, []).by(lambda k: k.finding["severity"]).items():
        print(f"   {severity}: {_percent(tp, count)}")
    print("   per rule:")
    for rule, (tp, count) in corpus_triage.Precision(everything, []).by(lambda k: k.finding["rule"]).items():
        off = "  (off by default)" if rule in corpus_triage.MEASURED_OFF_BY_DEFAULT else ""
        print(f"   {rule}: {_percent(tp, count)}{off}")
    return 0


def _tp(labeled) -> tuple[int, int]:
    return sum(1 for _, label in labeled if label["label"] == "tp"), len(labeled)


if __name__ == "__main__":
    sys.exit(main())
