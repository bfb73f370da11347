"""SL522 on a table whose migrations dropped the primary key with one of its columns."""

from __future__ import annotations

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules.migrations.schema_drift_primary_key import SchemaDriftPrimaryKey
from schemalens.analyzers.workspace.index import WorkspaceIndex

_MODELS = ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
           "class Event(Base):\n    __tablename__ = 'events'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n")
_CREATED = "CREATE TABLE events (id bigint NOT NULL, tag text NOT NULL, PRIMARY KEY (id, tag));\n"


def _findings(tmp_path, second: str):
    for path, text in {"app/models.py": _MODELS, "db/V1__events.sql": _CREATED, "db/V2__retag.sql": second}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    return run_audit(WorkspaceIndex(tmp_path).index_all(), rules=[SchemaDriftPrimaryKey]).findings


def test_a_unique_key_on_the_model_s_key_is_reported_as_the_missing_primary_key_only(tmp_path):
    """FitTrackee's workout_segments, letta's tools_agents: judged 'the key is enforced' by reviewers."""
    (finding,) = _findings(tmp_path / "unique", "ALTER TABLE events DROP COLUMN tag;\n"
                                                "ALTER TABLE events ADD CONSTRAINT events_id_key UNIQUE (id);\n")
    assert (finding.severity, finding.title) == ("P2", "events has no primary key; UNIQUE (id) stands in for it")
    assert "PRIMARY KEY USING INDEX events_id_key" in str(finding.fix.short_term)
    (finding,) = _findings(tmp_path / "none", "ALTER TABLE events DROP COLUMN tag;\n")
    assert (finding.severity, finding.title) == ("P1", "events primary key: model (id), database no primary key")
