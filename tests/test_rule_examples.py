"""Every rule's VALID and INVALID examples, run as tests (Fixit's model).

An INVALID example marks each line that must be reported with `# expect` / `-- expect`; the
rule must report exactly those lines. A VALID example must give no finding of the rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules import all_rules
from schemalens.analyzers.rules.base import ALSO, DOC_HEADINGS, SEVERITIES, expected_lines
from schemalens.analyzers.workspace.index import WorkspaceIndex

CASES = [pytest.param(rule, kind, number, example, id=f"{rule.code}-{kind}-{number}")
         for rule in all_rules()
         for kind, examples in (("valid", rule.valid), ("invalid", rule.invalid))
         for number, example in enumerate(examples)]


def _reported(rule, example, root: Path) -> set[tuple[str, int]]:
    for path, text in example.files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    if example.config:
        (root / "pyproject.toml").write_text("[tool.schemalens]\n" + example.config, encoding="utf-8")
    model = WorkspaceIndex(root).index_all()
    result = run_audit(model, rules=[rule])
    assert result.errors == ()
    # One finding per problem: the same problem again is an `also:` related location of the first.
    return {(location.path, location.line) for f in result.findings if f.rule == rule.code
            for location in (f.location, *(r.location for r in f.related if r.label.startswith(ALSO)))}


@pytest.mark.parametrize(("rule", "kind", "number", "example"), CASES)
def test_rule_example(rule, kind, number, example, tmp_path: Path):
    reported = _reported(rule, example, tmp_path)
    expected = expected_lines(example) if kind == "invalid" else set()
    assert reported == expected


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.code)
def test_rule_is_documented_and_has_examples(rule):
    docs = rule.docs()
    assert [heading for heading in DOC_HEADINGS if f"## {heading}" not in docs] == []
    assert rule.valid and rule.invalid
    assert rule.severity in SEVERITIES and 1 <= rule.dimension <= 8
    assert rule.code.startswith(f"SL{rule.dimension}") and len(rule.code) == 5
    assert all(expected_lines(example) for example in rule.invalid)
