"""`schemalens schema`: the JSON contract, the schema map and the ER diagram, on the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from schemalens.commands import main

FIXTURES = Path(__file__).parent / "fixtures"
SERVICE = FIXTURES / "flask_service"


def _run(capsys, *args: str) -> str:
    assert main(["schema", *args, "--no-cache"]) == 0
    return capsys.readouterr().out


def test_json_follows_the_documented_contract(capsys):
    document = json.loads(_run(capsys, str(SERVICE), "--format", "json"))
    assert document["version"] == 1 and set(document["layers"]) == {"orm", "database"}
    table_keys = {"name", "schema", "path", "line", "columns", "primary_key", "foreign_keys", "unique", "checks",
                  "indexes", "partition_by", "partition_of", "triggers"}
    tables = {t["name"]: t for t in document["layers"]["database"]["tables"]}
    assert all(table_keys <= set(table) for table in tables.values())
    assert {"name", "type", "nullable", "default", "path", "line"} <= set(tables["accounts"]["columns"][0])
    readings = tables["readings"]
    assert readings["partition_by"] == "RANGE (collected_date)"
    assert readings["path"] == "migrations/versions/0001_baseline.py"
    fk = next(fk for fk in tables["account_groups"]["foreign_keys"] if fk["ref_table"] == "accounts")
    assert (fk["columns"], fk["on_delete"]) == (["account_id"], "CASCADE")
    assert document["migrations"]["heads"] == ["0003rename"]
    assert [r["id"] for r in document["migrations"]["revisions"]] == ["0001baseline", "0002orders", "0003rename"]
    assert {"id", "down_revisions", "path", "line"} <= set(document["migrations"]["revisions"][1])
    assert document["errors"] == []


def test_layer_option_selects_one_layer(capsys):
    document = json.loads(_run(capsys, str(SERVICE), "--format", "json", "--layer", "orm"))
    assert list(document["layers"]) == ["orm"]
    assert {t["name"] for t in document["layers"]["orm"]["tables"]} == {"accounts", "groups", "account_groups"}


def test_text_map_groups_tables_and_shows_cardinality(capsys):
    text = _run(capsys, str(SERVICE))
    assert "I. Schema overview (database layer)" in text
    assert "accounts N-N groups via account_groups" in text
    assert "accounts 1-N orders" in text
    assert "partitioned: by RANGE (collected_date)" in text


def test_markdown_and_mermaid(capsys):
    assert "| column | type | null | default |" in _run(capsys, str(SERVICE), "--format", "markdown")
    mermaid = _run(capsys, str(SERVICE), "--format", "mermaid")
    assert mermaid.startswith("erDiagram\n") and "accounts }o--o{ groups" in mermaid


def test_a_folder_that_does_not_exist_is_a_usage_error(capsys, tmp_path: Path):
    assert main(["schema", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_problems_go_to_stderr_with_their_location(capsys, tmp_path: Path):
    (tmp_path / "V1__broken.sql").write_text("CREATE TABLE ok (id int);\nCREATE TABL nope (id int);\n")
    assert main(["schema", str(tmp_path), "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "ok" in captured.out and "V1__broken.sql:2:" in captured.err


def test_json_and_text_say_what_was_read(capsys):
    document = json.loads(_run(capsys, str(SERVICE), "--format", "json"))
    coverage = document["coverage"]
    assert coverage["model_classes"] == coverage["model_classes_read"] > 0
    assert coverage["revisions"] == {"migrations": 3}
    assert coverage["tables"]["both"] > 0 and coverage["layers_comparable"] is True
    text = _run(capsys, str(SERVICE))
    assert "Coverage" in text and "3 Alembic revision(s) in environment migrations" in text


def test_json_gives_the_query_coverage_with_the_unresolved_calls(capsys):
    shop = Path(__file__).resolve().parent.parent / "examples" / "shop"
    coverage = json.loads(_run(capsys, str(shop), "--format", "json"))["query_coverage"]
    assert coverage["calls"] > coverage["resolved"] > 0 and coverage["share"] == round(coverage["resolved"] / coverage["calls"], 4)
    assert len(coverage["unresolved"]) == min(coverage["calls"] - coverage["resolved"], 20)
    assert all({"path", "line", "method", "kind", "reason"} == set(call) for call in coverage["unresolved"])


def test_drift_rules_hold_back_when_the_models_are_not_read(tmp_path):
    from schemalens.analyzers.audit import run_audit
    from schemalens.analyzers.workspace.index import WorkspaceIndex

    (tmp_path / "app").mkdir()
    models = "".join(f"class T{i}(VendorBase):\n    __tablename__ = 't{i}'\n\n" for i in range(5))
    (tmp_path / "app" / "models.py").write_text("from sqlalchemy import Column\nfrom vendor import VendorBase\n" + models)
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("")
    creates = "".join(f"    op.create_table('t{i}', sa.Column('id', sa.Integer(), primary_key=True))\n" for i in range(5))
    (tmp_path / "migrations" / "versions" / "a1.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
        f"def upgrade():\n{creates}\n\ndef downgrade():\n    pass\n")
    model = WorkspaceIndex(tmp_path).index_all()
    assert model.coverage.model_classes == 5 and model.coverage.recognized_models == 0
    assert not model.coverage.layers_comparable
    assert not [f for f in run_audit(model).findings if f.rule.startswith("SL52")]
