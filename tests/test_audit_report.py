"""The audit on the bundled example: every dimension found, every finding at real evidence,
and the Markdown, JSON and SARIF renderings as the spec and the standards ask."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from schemalens.analyzers import audit as audit_module
from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.report.audit_json import audit_json, audit_sarif
from schemalens.analyzers.report.audit_markdown import render_audit_markdown
from schemalens.analyzers.report.rule_docs import rules_markdown
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.commands import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop"
SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def audited():
    model = WorkspaceIndex(EXAMPLE).index_all()
    result = run_audit(model)
    assert result.errors == ()
    return model, result.findings


def test_the_example_has_findings_in_all_eight_dimensions(audited):
    _, findings = audited
    assert {finding.dimension for finding in findings} == set(range(1, 9))


def test_every_finding_points_at_an_existing_line(audited):
    _, findings = audited
    for finding in findings:
        path = EXAMPLE / finding.location.path
        assert path.is_file(), finding
        assert 1 <= finding.location.line <= len(path.read_text(encoding="utf-8").splitlines()), finding
        for related in finding.related:
            assert (EXAMPLE / related.location.path).is_file(), related


def test_markdown_report_has_the_spec_sections_in_english_and_chinese(audited):
    model, findings = audited
    english = render_audit_markdown(model, findings, "en")
    for heading in ("I. Schema overview", "II. Gap map", "III. Findings", "IV. Compatibility", "Roadmap"):
        assert f"## {heading}" in english
    chinese = render_audit_markdown(model, findings, "zh")
    for heading in ("Schema 概览（文字 ERD）", "缺口地图", "模型设计问题清单", "兼容/防御/回退/适配清单"):
        assert heading in chinese
    roadmap = english.split("## Roadmap", 1)[1]
    assert 1 <= sum(1 for line in roadmap.splitlines() if line[:2].rstrip(".").isdigit()) <= 8


def test_json_report_follows_the_contract(audited):
    model, findings = audited
    report = json.loads(json.dumps(audit_json(model, findings)))
    assert report["version"] == 1 and report["summary"]["total"] == len(findings)
    keys = {"rule", "name", "severity", "dimension", "title", "message", "path", "line", "column", "end_line",
            "end_column", "table", "column_name", "related", "impact", "root_cause", "fix", "verification"}
    assert all(set(finding) == keys for finding in report["findings"])
    assert all(not finding["path"].startswith("/") for finding in report["findings"])


def test_sarif_validates_against_the_official_schema(audited):
    model, findings = audited
    sarif = json.loads(json.dumps(audit_sarif(model, findings, "0.0.0")))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert len(sarif["runs"][0]["results"]) == len(findings)


def test_check_exits_1_when_findings_reach_the_level(capsys):
    assert main(["check", str(EXAMPLE), "--fail-on", "P2"]) == 1
    assert "finding(s)" in capsys.readouterr().err


def test_check_exits_0_on_a_clean_workspace(tmp_path: Path):
    (tmp_path / "V1__t.sql").write_text("CREATE TABLE t (id bigint PRIMARY KEY, created_at timestamptz);\n")
    assert main(["check", str(tmp_path), "--fail-on", "P0"]) == 0


@pytest.mark.parametrize("command", ["audit", "check"])
def test_the_commands_audit_the_texts_the_index_read(command, audited, monkeypatch, capsys):
    """The rules read each file as the index read it (the version it parsed), not the disk again."""
    def no_second_read(root, path):
        raise AssertionError(f"{path} read again from disk")

    monkeypatch.setattr(audit_module, "_read", no_second_read)
    main([command, str(EXAMPLE), "--no-cache", *(["--format", "json"] if command == "audit" else [])])
    out = capsys.readouterr().out
    if command == "audit":
        assert json.loads(out)["summary"]["total"] == len(audited[1])
    else:
        assert out.count("\n") == len(audited[1])


def test_an_audit_starts_without_what_it_does_not_use(tmp_path: Path):
    """Only `scaffold` reads the changes it writes, and worker processes are started for a large
    cold index only: an audit of the example imports neither."""
    unused = ("schemalens.analyzers.scaffold", "multiprocessing", "concurrent.futures.process")
    script = ("import sys; from schemalens.commands import main; "
              f"main(['audit', {str(EXAMPLE)!r}, '-o', {str(tmp_path / 'report.md')!r}, '--no-cache']); "
              f"print(sorted(set({unused!r}) & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]"]


def test_the_rules_run_with_the_collector_paused_and_it_runs_again_after(audited, monkeypatch):
    """An audit's objects live until it ends: collections during it free nothing (collector_paused)."""
    model, _ = audited
    rule = next(rule for rule in audit_module.all_rules()  # one that always runs its check
                if not (rule.compares_layers or rule.contends_with_live_traffic or rule.moot_on_mysql))
    seen: list[bool] = []

    def probe(self, context):
        seen.append(gc.isenabled())
        return ()

    monkeypatch.setattr(rule, "check", probe)
    assert gc.isenabled()
    run_audit(model, rules=[rule])
    assert seen == [False] and gc.isenabled()


@pytest.mark.parametrize("command", ["audit", "check"])
def test_the_command_ends_at_once_with_its_whole_output_and_status(command, audited):
    """`schemalens audit` and `check` end without the interpreter's exit (cli/commands.run): what
    they printed to a pipe (buffered) is all there, and the exit status is theirs."""
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    done = subprocess.run([sys.executable, "-m", "schemalens", command, str(EXAMPLE), "--no-cache",
                           *(["--format", "json"] if command == "audit" else [])], capture_output=True, text=True,
                          env=buffered)
    if command == "audit":
        assert done.returncode == 0 and json.loads(done.stdout)["summary"]["total"] == len(audited[1])
    else:
        assert done.returncode == 1 and done.stdout.count("\n") == len(audited[1])


def test_rule_docs_file_is_in_sync_with_the_rule_modules():
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == rules_markdown(), \
        "regenerate with: schemalens rule --all > docs/rules.md"


def test_chinese_rule_docs_file_is_in_sync_with_the_rule_modules_and_the_catalog():
    assert (ROOT / "docs" / "rules.zh.md").read_text(encoding="utf-8") == rules_markdown("zh"), \
        "regenerate with: schemalens rule --all --lang zh > docs/rules.zh.md (after scripts/catalog.py)"


def test_a_rejected_statement_is_reported_once_as_a_finding(tmp_path, capsys):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "V1__base.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    (tmp_path / "db" / "V2__broken.sql").write_text("ALTER TABLE t ADD COLUMN;\nALTER TABLE t ADD COLUMN note text;\n")
    assert main(["check", str(tmp_path), "--no-cache", "--fail-on", "P0"]) == 1
    out, err = capsys.readouterr()
    assert "db/V2__broken.sql:1:" in out and "SL538" in out
    assert "V2__broken.sql" not in err  # not repeated among the problems reading the workspace


def test_a_workspace_whose_schema_nothing_reads_says_so_instead_of_finding_no_gaps(tmp_path):
    # lnbits: its tables are created by its own migration runner, SQL strings in Python
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "migrations.py").write_text(
        'async def m001_initial(db):\n    await db.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY)")\n', encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_db.py").write_text('def test_x(db):\n    db.execute("CREATE TABLE t (id int)")\n',
                                                   encoding="utf-8")
    model = WorkspaceIndex(tmp_path).index_all()
    report = render_audit_markdown(model, run_audit(model).findings)
    assert ("- no schema read: 1 Python file creates tables with SQL it runs itself (app/migrations.py), which "
            "SchemaLens does not read as migrations; no check below assessed a schema") in report
    assert "| 1. Modeling | not assessed: no schema read |" in report
    assert "none found" not in render_audit_markdown(model, run_audit(model).findings, lang="en")
    assert "未读取到任何 schema" in render_audit_markdown(model, run_audit(model).findings, lang="zh")
