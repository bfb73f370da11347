"""The judged triage holds: every finding of `schemalens audit` on the corpus projects carries a
label (tests/corpus/triage/), and the findings of the rules enabled by default meet the issue's
targets: 90 % tp overall, 95 % on P0, and 70 % for every such rule. The rules off by default
for want of precision are audited and judged too (corpus_triage.MEASURED_OFF_BY_DEFAULT), and
left out of the targets: `python bench/precision.py` prints where each stands."""

from __future__ import annotations

import pytest

import corpus_projects
import corpus_triage

pytestmark = pytest.mark.skipif(not corpus_projects.available(), reason="the corpus (../shared/corpus) is not here")


@pytest.fixture(scope="module")
def judged() -> dict[str, corpus_triage.Precision]:
    results = {}
    for project in corpus_projects.PROJECTS:
        _, keyed = corpus_triage.audit_project(project)
        results[project] = corpus_triage.precision(keyed, corpus_triage.load_labels(project))
    return results


@pytest.mark.parametrize("project", corpus_projects.PROJECTS)
def test_every_finding_is_labeled(judged, project):
    unlabeled = [" ".join(map(str, k.key)) for k in judged[project].unlabeled]
    assert not unlabeled, "label these (python bench/precision.py --todo DIR):\n" + "\n".join(unlabeled)


def _on_by_default(judged) -> corpus_triage.Precision:
    return corpus_triage.Precision([(keyed, label) for result in judged.values() for keyed, label in result.labeled
                                    if corpus_triage.on_by_default(keyed)], [])


def test_overall_precision_meets_the_target(judged):
    overall = _on_by_default(judged).ratio()
    assert overall is not None and overall >= corpus_triage.OVERALL_TARGET


def test_p0_findings_meet_the_target(judged):
    p0 = _on_by_default(judged).ratio(lambda keyed: keyed.finding["severity"] == "P0")
    assert p0 is not None and p0 >= corpus_triage.P0_TARGET


def test_every_rule_enabled_by_default_meets_the_floor(judged):
    below = {rule: f"{tp}/{total}" for rule, (tp, total) in _on_by_default(judged).by(lambda k: k.finding["rule"]).items()
             if tp < corpus_triage.RULE_FLOOR * total}
    assert not below, f"under {corpus_triage.RULE_FLOOR:.0%} tp: {below} (fix, narrow, or turn off by default)"


def test_the_rules_measured_off_by_default_are_off_by_default():
    from schemalens.analyzers.rules import rule_by_code

    assert not any(rule_by_code(code).default_enabled for code in corpus_triage.MEASURED_OFF_BY_DEFAULT)
