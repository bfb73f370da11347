"""AuditContext.code_mention's answers kept from one audit to the next (the language server audits
after every edit): an answer holds while no deployed text before the one it found changed, and
that one did not either. After each edit of deployed code, the findings that quote a mention
equal those of a fresh audit."""

from __future__ import annotations

from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.rules import context
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import buffers_over_disk, fresh_model, write_files

# A view renamed by a migration: reported when deployed code names the old name, quoting the first file that does.
MIGRATIONS = {"db/migrations/V1__views.sql": "CREATE TABLE orders (id integer PRIMARY KEY);\n"
                                            "CREATE VIEW open_orders AS SELECT id FROM orders;\n",
              "db/migrations/V2__rename.sql": "ALTER VIEW open_orders RENAME TO pending_orders;\n"}
SERVICES = [f"app/service_{letter}.py" for letter in "abc"]
QUIET = "def handle(session):\n    return session\n"
NAMING = "def handle(session):\n    return session.execute(\"SELECT * FROM open_orders\")\n"


def _mentions(model, text_of, kept=None) -> list[str]:
    """The findings about the renamed view, with the mention each quotes."""
    return sorted(f"{finding.location} {finding.message}" for finding in run_audit(model, text_of=text_of, kept=kept).findings
                  if "open_orders" in finding.title)


def test_each_edit_of_deployed_code_finds_the_mention_a_fresh_audit_finds(tmp_path):
    root = write_files(tmp_path / "project", {**MIGRATIONS, **dict.fromkeys(SERVICES, QUIET)})
    index = WorkspaceIndex(root)
    kept = KeptRules()
    run_audit(index.index_all(), text_of=index.text_of, kept=kept)
    texts: dict[str, str] = {}
    # the last file names it, then an earlier one, then the earlier one no more, then none
    for path, text in [(SERVICES[2], NAMING), (SERVICES[0], NAMING), (SERVICES[0], QUIET), (SERVICES[2], QUIET),
                       (SERVICES[1], NAMING)]:
        texts[path] = text
        edited = _mentions(index.update_file(path, text), index.text_of, kept)
        saved = list(context._last_code_mentions)
        assert edited == _mentions(fresh_model(root, texts), buffers_over_disk(root, texts)), (path, text)
        context._last_code_mentions[:] = saved  # the next edit's audit reads what the last one kept
        named = [service for service in SERVICES if texts.get(service) == NAMING]
        assert (named[0] in "".join(edited)) if named else not any(service in "".join(edited) for service in SERVICES)
