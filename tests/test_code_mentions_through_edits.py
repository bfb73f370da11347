"""The answers of AuditContext.code_mention and sql_mention kept from one audit to the next (the
language server audits after every edit; rules/first_matches.py): an answer holds while no
deployed file before the one it found changed, nor that one. After each edit of deployed code,
the findings that quote a mention equal those of a fresh audit, and quote the first file that
names the object."""

from __future__ import annotations

import pytest

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.rules import context
from schemalens.analyzers.rules.word_searches import WordSearches
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import buffers_over_disk, fresh_model, write_files

SERVICES = [f"app/service_{letter}.py" for letter in "abc"]
QUIET = "def handle(session):\n    return session\n"
# (migrations, a service that names the object, the object's name)
CASES = {
    # a renamed view: code_mention, any word of the code
    "code": ({"db/migrations/V1__views.sql": "CREATE TABLE orders (id integer PRIMARY KEY);\n"
                                             "CREATE VIEW open_orders AS SELECT id FROM orders;\n",
              "db/migrations/V2__rename.sql": "ALTER VIEW open_orders RENAME TO pending_orders;\n"},
             "def handle(session):\n    return session.execute(\"SELECT * FROM open_orders\")\n", "open_orders"),
    # a dropped table no model maps: sql_mention, the SQL text of a query
    "sql": ({"db/migrations/V1__tables.sql": "CREATE TABLE legacy_orders (id integer PRIMARY KEY);\n",
             "db/migrations/V2__drop.sql": "DROP TABLE legacy_orders;\n"},
            "from sqlalchemy import text\n\n\ndef handle(session):\n"
            "    return session.execute(text(\"SELECT id FROM legacy_orders\")).all()\n", "legacy_orders"),
}


def _mentions(model, text_of, name: str, kept=None) -> list[str]:
    """The findings about the object, with the mention each quotes."""
    return sorted(f"{finding.location} {finding.message}" for finding in run_audit(model, text_of=text_of, kept=kept).findings
                  if name in finding.title)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("words", ["searched", "looked up"])
def test_each_edit_of_deployed_code_finds_the_mention_a_fresh_audit_finds(tmp_path, monkeypatch, case, words):
    """`words`: whether code_mention searches each file for the words, or looks them up in its
    words found at once (rules/word_searches.py; a workspace that asks many questions)."""
    if words == "looked up":
        monkeypatch.setattr(context, "_word_searches", WordSearches(searches_before_words=0))
    migrations, naming, name = CASES[case]
    root = write_files(tmp_path / "project", {**migrations, **dict.fromkeys(SERVICES, QUIET)})
    index = WorkspaceIndex(root)
    kept = KeptRules()
    run_audit(index.index_all(), text_of=index.text_of, kept=kept)
    texts: dict[str, str] = {}
    # the last file names it, then an earlier one, then the earlier one no more, then none, then the middle one
    for path, text in [(SERVICES[2], naming), (SERVICES[0], naming), (SERVICES[0], QUIET), (SERVICES[2], QUIET),
                       (SERVICES[1], naming)]:
        texts[path] = text
        edited = _mentions(index.update_file(path, text), index.text_of, name, kept)
        saved = list(context._last_code_mentions), list(context._last_sql_mentions)
        assert edited == _mentions(fresh_model(root, texts), buffers_over_disk(root, texts), name), (path, text)
        context._last_code_mentions[:], context._last_sql_mentions[:] = saved  # what the last edit's audit kept
        named = [service for service in SERVICES if texts.get(service) == naming]
        quoted = [service for service in SERVICES if service in "".join(edited)]
        assert quoted == named[:1]
