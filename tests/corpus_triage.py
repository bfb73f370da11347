"""The judged triage of the corpus findings (tests/corpus/triage/<project>.json): every finding of
`schemalens audit` on a corpus project carries a label written after reading the code:

- `tp`: worth a reviewer's attention (a real problem, at a severity the evidence supports);
- `noise`: true, but of no consequence for this project;
- `fp`: false.

A finding is keyed by rule, path and a stable anchor (the table/column it is about, and the
source line it points at, whitespace collapsed), not by line number, so that labels survive
code moving. Two findings with the same key are told apart by their order in the file.
Labels are judgments: nothing here writes them from the tool's own output.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Optional

TRIAGE = Path(__file__).resolve().parent / "corpus" / "triage"
HINTS = Path(__file__).resolve().parent / "corpus" / "hints"  # size hints judged per project (README there)
LABELS = ("tp", "noise", "fp")
# The targets of the precision issue: overall, P0, and the floor for every rule enabled by default.
OVERALL_TARGET, P0_TARGET, RULE_FLOOR = 0.90, 0.95, 0.70
# Rules off by default for want of precision, still audited and judged on the corpus so that a
# change that narrows one is measured (their labels stay); the targets count only the rules on
# by default.
MEASURED_OFF_BY_DEFAULT = ("SL304", "SL305", "SL405", "SL601")


def _code_line(root: Path, path: str, line: int) -> str:
    try:
        lines = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return " ".join(text.split())[:120]


@dataclass(frozen=True)
class Keyed:
    key: tuple[str, str, str, str, int]  # rule, path, subject, code, occurrence
    finding: dict


def keyed_findings(findings: Iterable[dict], root: Path) -> list[Keyed]:
    """Findings (audit JSON) with their stable keys."""
    seen: Counter = Counter()
    keyed = []
    for finding in sorted(findings, key=lambda f: (f["rule"], f["path"], f["line"], f["column"])):
        subject = finding.get("table") or ""
        if finding.get("column_name"):
            subject += "." + finding["column_name"]
        base = (finding["rule"], finding["path"], subject, _code_line(root, finding["path"], finding["line"]))
        seen[base] += 1
        keyed.append(Keyed((*base, seen[base]), finding))
    return keyed


def audit_project(project: str) -> tuple[Path, list[Keyed]]:
    """Audit a corpus project (unpacked, parse cache shared) and key its findings."""
    import corpus_projects
    from schemalens.analyzers.audit import run_audit
    from schemalens.analyzers.report.audit_json import finding_json
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    root = corpus_projects.unpacked(project)
    config = config_with_hints(project, root)
    config = replace(config, select=(*config.select, *MEASURED_OFF_BY_DEFAULT))
    model = WorkspaceIndex(root, config, cache_dir=corpus_projects.CACHE / "parse-cache").index_all()
    return root, keyed_findings([finding_json(finding) for finding in run_audit(model).findings], root)


def config_with_hints(project: str, root: Path):
    """The project's configuration with the size hints judged for it (tests/corpus/hints/), and
    how its migrations run when the project documents it (`migrations_run` at the file's top)."""
    from schemalens.analyzers.workspace.config import config_from_mapping, load_config, load_hints_file
    from schemalens.analyzers.workspace.toml_reader import tomllib

    config = load_config(root)
    hints_file = HINTS / f"{project}.toml"
    if not hints_file.is_file():
        return config
    hints, problems = load_hints_file(hints_file.parent, hints_file.name)
    assert not problems, problems
    declared = {key: value for key, value in tomllib.loads(hints_file.read_text(encoding="utf-8")).items() if key != "tables"}
    settings = config_from_mapping(declared, hints_file.name)
    assert set(declared) <= {"migrations_run"} and not settings.problems, settings.problems
    return replace(config, tables={**config.tables, **hints}, migrations_run=settings.migrations_run or config.migrations_run)


def labels_path(project: str) -> Path:
    return TRIAGE / f"{project}.json"


def load_labels(project: str) -> dict[tuple, dict]:
    path = labels_path(project)
    if not path.is_file():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))["labels"]
    return {(e["rule"], e["path"], e["subject"], e["code"], e.get("occurrence", 1)): e for e in entries}


def save_labels(project: str, entries: Iterable[dict]) -> None:
    """Write labels sorted by key (used when a judge's labels are merged in)."""
    ordered = sorted(entries, key=lambda e: (e["rule"], e["path"], e["subject"], e["code"], e.get("occurrence", 1)))
    for entry in ordered:
        if entry["label"] not in LABELS or not entry.get("reason", "").strip():
            raise ValueError(f"label needs one of {LABELS} and a reason: {entry}")
    labels_path(project).parent.mkdir(parents=True, exist_ok=True)
    labels_path(project).write_text(json.dumps({"project": project, "labels": ordered}, indent=1, ensure_ascii=False)
                                    + "\n", encoding="utf-8")


def entry_for(keyed: Keyed, label: str, reason: str) -> dict:
    rule, path, subject, code, occurrence = keyed.key
    entry = {"rule": rule, "path": path, "subject": subject, "code": code, "title": keyed.finding["title"],
             "severity": keyed.finding["severity"], "label": label, "reason": reason}
    if occurrence > 1:
        entry["occurrence"] = occurrence
    return entry


@dataclass
class Precision:
    labeled: list[tuple[Keyed, dict]]
    unlabeled: list[Keyed]

    def ratio(self, select=lambda keyed: True) -> Optional[float]:
        chosen = [label["label"] for keyed, label in self.labeled if select(keyed)]
        return chosen.count("tp") / len(chosen) if chosen else None

    def by(self, part) -> dict[str, tuple[int, int]]:
        """{group: (tp, labeled)}."""
        groups: dict[str, list[str]] = defaultdict(list)
        for keyed, label in self.labeled:
            groups[part(keyed)].append(label["label"])
        return {group: (labels.count("tp"), len(labels)) for group, labels in sorted(groups.items())}


def on_by_default(keyed: Keyed) -> bool:
    from schemalens.analyzers.rules import rule_by_code

    return rule_by_code(keyed.finding["rule"]).default_enabled


def precision(keyed: list[Keyed], labels: dict[tuple, dict]) -> Precision:
    labeled = [(k, labels[k.key]) for k in keyed if k.key in labels]
    return Precision(labeled, [k for k in keyed if k.key not in labels])


def stale_labels(keyed: list[Keyed], labels: dict[tuple, dict]) -> list[dict]:
    """Labels whose finding is gone (the rule no longer reports it)."""
    present = {k.key for k in keyed}
    return [entry for key, entry in labels.items() if key not in present]
