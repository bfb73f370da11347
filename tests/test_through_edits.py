"""A file that does not parse: what the last good parse says about it is carried through the
edits since (analyzers/through_edits.py), or withheld, and never shown at a stale line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules.base import Finding, Fix, Related, occurrences
from schemalens.analyzers.schema.model import ExtractionError, Location
from schemalens.analyzers.through_edits import (
    LineMap, audit_through_edits, carry_findings, carry_location, carry_problems,
)
from schemalens.analyzers.workspace.index import WorkspaceIndex

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
ORDER = "app/models/order.py"
OLD = "a\nb\nc\nd\ne\n"


def test_lines_below_an_inserted_line_move_down_by_one():
    line_map = LineMap(OLD, "a\nb\nBROKEN(\nc\nd\ne\n")
    assert [line_map.new_line(n) for n in range(1, 6)] == [1, 2, 4, 5, 6]
    assert line_map.old_line(3) is None and line_map.old_line(4) == 3


def test_a_changed_line_has_no_place_in_the_new_text():
    line_map = LineMap(OLD, "a\nb\nc = (\nd\ne\n")
    assert line_map.new_line(3) is None
    assert line_map.new_line(4) == 4


def test_deleted_lines_pull_the_rest_up():
    line_map = LineMap(OLD, "a\nd\ne\n")
    assert [line_map.new_line(n) for n in range(1, 6)] == [1, None, None, 2, 3]


def test_line_breaks_are_counted_as_an_editor_counts_them():
    line_map = LineMap(OLD.replace("\n", "\r\n"), "x\r\n" + OLD.replace("\n", "\r\n"))
    assert line_map.new_line(1) == 2 and line_map.new_line(5) == 6


def test_a_location_over_several_lines_moves_only_when_all_of_them_are_unchanged():
    maps = {"m.py": LineMap(OLD, "new\na\nb\nc!\nd\ne\n")}
    assert carry_location(Location("m.py", 1, 3, 2, 1), maps) == Location("m.py", 2, 3, 3, 1)
    assert carry_location(Location("m.py", 2, 1, 4, 1), maps) is None
    assert carry_location(Location("other.py", 2), maps) == Location("other.py", 2)


def test_a_file_whose_last_good_text_is_unknown_places_nothing():
    assert carry_location(Location("m.py", 1), {"m.py": None}) is None


def _finding(line: int, related: tuple = ()) -> Finding:
    return Finding("SL201", "timestamp-without-time-zone", "P1", 2, "title", "message", Location("m.py", line),
                   "impact", "root cause", Fix("fix"), "verify", related=related)


def test_related_locations_on_changed_lines_are_left_out_of_a_moved_finding():
    maps = {"m.py": LineMap(OLD, "a\nb!\nc\nd\ne\nf\n")}
    finding = _finding(4, (Related(Location("m.py", 2), "changed"), Related(Location("m.py", 5), "kept")))
    (carried,) = carry_findings([finding, _finding(2)], maps)
    assert carried.location == Location("m.py", 4)
    assert [item.label for item in carried.related] == ["kept"]


def test_the_syntax_error_of_the_current_text_is_not_moved():
    maps = {"m.py": LineMap(OLD, "new\na\nb\nc\nd\ne\n")}
    syntax_error = ExtractionError(Location("m.py", 1, 4), "syntax error: '(' was never closed")
    old_problem = ExtractionError(Location("m.py", 2), "from the last good parse")
    assert carry_problems([syntax_error, old_problem], maps, current=[syntax_error]) == \
        [syntax_error, ExtractionError(Location("m.py", 3), "from the last good parse")]


# the index keeps the text of the last good parse of a file that does not parse

@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root)
    return root


def _broken(text: str, after: str) -> str:
    """`text` with a half-typed line inserted after the line that starts with `after`."""
    lines = text.split("\n")
    at = next(n for n, line in enumerate(lines) if line.strip().startswith(after)) + 1
    return "\n".join(lines[:at] + ["    total = db.Column(db.Numeric(12,"] + lines[at:])


def _places(findings) -> list[Finding]:
    """One finding per place, as the editor shows them (a grouped finding at each of its places)."""
    return sorted((place for finding in findings for place in occurrences(finding)),
                  key=lambda f: (f.location.path, f.location.line, f.rule))

def test_the_index_names_the_files_whose_parse_is_older_than_their_text(shop: Path):
    index = WorkspaceIndex(shop)
    index.index_all()
    good = (shop / ORDER).read_text()
    index.update_file(ORDER, good)
    assert index.stale_sources() == {}
    index.update_file(ORDER, _broken(good, "id = db.Column"))
    assert index.stale_sources() == {ORDER: good}
    index.update_file(ORDER, _broken(good, "id = db.Column") + "\n# more typing\n")
    assert index.stale_sources() == {ORDER: good}, "the last good text stays the one the parse came from"
    index.index_all()
    assert index.stale_sources() == {ORDER: good}
    index.update_file(ORDER, good + "\n")
    assert index.stale_sources() == {}


def test_a_file_broken_on_disk_has_no_known_good_text(shop: Path):
    index = WorkspaceIndex(shop)
    index.index_all()
    (shop / ORDER).write_text(_broken((shop / ORDER).read_text(), "id = db.Column"))
    index.update_file(ORDER)
    assert index.stale_sources() == {ORDER: None}


def test_findings_of_a_broken_model_file_stay_on_their_own_lines_or_are_withheld(shop: Path):
    """The oracle: a carried finding's line in the current text is the very line it was reported
    on in the last good text."""
    index = WorkspaceIndex(shop)
    model = index.index_all()
    good = (shop / ORDER).read_text()
    before = [f for f in _places(run_audit(model, text_of=index.text_of).findings) if f.location.path == ORDER]
    broken = _broken(good, "id = db.Column")
    index.update_file(ORDER, good)
    model = index.update_file(ORDER, broken)
    stale = index.stale_sources()
    audited = audit_through_edits(model, stale, index.text_of, index.parsed(ORDER).errors)
    after = [f for f in _places(audited.findings) if f.location.path == ORDER]
    good_lines, broken_lines = good.split("\n"), broken.split("\n")
    below = [f for f in before if f.location.line > next(n for n, l in enumerate(good_lines, 1) if "id = db.Column" in l)]
    assert below, "the example has findings below the edit"
    assert len(after) == len(before)
    for moved, original in zip(after, before):
        assert broken_lines[moved.location.line - 1] == good_lines[original.location.line - 1]
    for finding in below:
        assert any(f.rule == finding.rule and f.location.line == finding.location.line + 1 for f in after)
    (syntax_error,) = [p for p in audited.problems if p.location.path == ORDER]
    assert broken_lines[syntax_error.location.line - 1].strip().startswith("total = db.Column(")


def test_a_finding_on_the_line_being_typed_is_withheld(shop: Path):
    index = WorkspaceIndex(shop)
    model = index.index_all()
    good = (shop / ORDER).read_text()
    findings = [f for f in _places(run_audit(model, text_of=index.text_of).findings) if f.location.path == ORDER]
    target = next(f for f in findings if f.rule == "SL201")
    lines = good.split("\n")
    lines[target.location.line - 1] = lines[target.location.line - 1].replace("db.DateTime)", "db.DateTime(")
    index.update_file(ORDER, good)
    model = index.update_file(ORDER, "\n".join(lines))
    audited = audit_through_edits(model, index.stale_sources(), index.text_of, index.parsed(ORDER).errors)
    assert not any(f.location.path == ORDER and f.location.line == target.location.line for f in _places(audited.findings))


def test_an_ignore_comment_typed_while_the_file_is_broken_is_obeyed(shop: Path):
    index = WorkspaceIndex(shop)
    model = index.index_all()
    good = (shop / ORDER).read_text()
    target = next(f for f in _places(run_audit(model, text_of=index.text_of).findings)
                  if f.location.path == ORDER and f.rule == "SL201")
    lines = _broken(good, "id = db.Column").split("\n")
    lines[target.location.line] += f"  # schemalens: ignore[{target.rule}]"  # one line lower now
    index.update_file(ORDER, good)
    model = index.update_file(ORDER, "\n".join(lines))
    audited = audit_through_edits(model, index.stale_sources(), index.text_of, index.parsed(ORDER).errors)
    assert not any(f.rule == target.rule and f.location.path == ORDER and f.location.line == target.location.line + 1
                   for f in _places(audited.findings))


def test_a_grouped_finding_keeps_its_other_places_while_one_is_being_typed(shop: Path):
    """One finding per problem: SL201 (timestamps without time zone) is one finding over the
    workspace; the place on the half-typed line goes, the others stay, still as one finding."""
    index = WorkspaceIndex(shop)
    model = index.index_all()
    good = (shop / ORDER).read_text()
    (grouped,) = [f for f in run_audit(model, text_of=index.text_of).findings if f.rule == "SL201"]
    places = _places([grouped])
    target = next(f for f in places if f.location.path == ORDER)
    lines = good.split("\n")
    lines[target.location.line - 1] = lines[target.location.line - 1].replace("db.DateTime)", "db.DateTime(")
    index.update_file(ORDER, good)
    model = index.update_file(ORDER, "\n".join(lines))
    audited = audit_through_edits(model, index.stale_sources(), index.text_of, index.parsed(ORDER).errors)
    (still,) = [f for f in audited.findings if f.rule == "SL201"]
    assert [(f.location.path, f.location.line) for f in _places([still])] == \
        [(f.location.path, f.location.line) for f in places if f is not target]
