"""One finding per problem (rules/base.py): the findings of a rule grouped over the workspace
become one finding whose other places are `also:` related locations, and `occurrences` gives
the editor one finding per place again."""

from __future__ import annotations

from schemalens.analyzers.rules.base import ALSO, Fix, Related, occurrences, one_per_problem
from schemalens.analyzers.rules.integrity.missing_date_order_check import MissingDateOrderCheck
from schemalens.analyzers.schema.model import Location

PLACES = 2_000  # a convention finding on a 500-model workspace stands for thousands of places


def _findings(rule):
    evidence = (Related(Location("db/V1__init.sql", 1), "table created"),)
    return [rule.finding(Location("app/models.py", line), f"t{line}.(starts_at, ends_at) may be inverted", "m",
                         impact="i", root_cause="r", fix=Fix("f"), verification="v", table=f"t{line}",
                         column="starts_at", related=evidence)
            for line in range(1, PLACES + 1)]


def test_a_grouped_rule_is_one_finding_and_an_occurrence_per_place():
    rule = MissingDateOrderCheck()
    [merged] = one_per_problem(_findings(rule), [rule])
    assert merged.location.line == 1
    assert sum(r.label.startswith(ALSO) for r in merged.related) == PLACES - 1
    places = occurrences(merged)
    assert [p.location.line for p in places] == list(range(1, PLACES + 1))
    assert [p.table for p in places[:3]] == ["t1", "t2", "t3"]
    # each place shows its own evidence: the first does not list the 1,999 others (a diagnostic
    # of 2,000 related locations, sent again whenever one of them moves)
    assert all(p.related == (Related(Location("db/V1__init.sql", 1), "table created"),) for p in places)
    # built once for all of them: rebuilt per place, it made publishing diagnostics quadratic
    assert len({id(p.related) for p in places}) == 1


def test_the_tables_a_mixins_column_is_reported_for_are_one_place():
    """A column declared once in a mixin, reported for every table that inherits it: one place."""
    rule = MissingDateOrderCheck()
    mixin = Location("app/mixins.py", 9)
    findings = [rule.finding(mixin, f"t{n}.(starts_at, ends_at) may be inverted", "m", impact="i", root_cause="r",
                             fix=Fix("f"), verification="v", table=f"t{n}", column="starts_at") for n in range(50)]
    findings.append(rule.finding(Location("app/models.py", 3), "other.(starts_at, ends_at) may be inverted", "m",
                                 impact="i", root_cause="r", fix=Fix("f"), verification="v", table="other", column="starts_at"))
    [merged] = one_per_problem(findings, [rule])
    assert [p.location for p in occurrences(merged)] == [mixin, Location("app/models.py", 3)]


def test_a_group_of_the_same_findings_is_the_same_finding_again():
    """What one audit merged is kept for the next (KeptRules.merged): a group of the very findings
    it merged becomes the finding it became; a group that changed is merged again."""
    rule = MissingDateOrderCheck()
    findings = _findings(rule)
    kept: dict = {}
    [merged] = one_per_problem(findings, [rule], kept)
    [again] = one_per_problem(list(findings), [rule], kept)
    assert again is merged
    fewer = findings[:-1]
    [changed] = one_per_problem(fewer, [rule], kept)
    assert changed == one_per_problem(fewer, [rule])[0] != merged
