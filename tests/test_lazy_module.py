"""LazyModule: imported on first attribute read, then the module itself in the importer's
namespace; a SQL-only audit whose parse cache answers does not import pglast, and no SQL-only
audit imports the readers of Python; the language server imports the scaffold with the first
code action."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from schemalens.analyzers.lazy_module import LazyModule


def test_imported_on_first_read_then_replaced_by_the_module(monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    namespace: dict = {}
    namespace["colorsys"] = LazyModule("colorsys", namespace, "colorsys")
    assert "colorsys" not in sys.modules
    assert namespace["colorsys"].rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert namespace["colorsys"] is sys.modules["colorsys"]


def _sql_workspace(tmp_path) -> None:
    folder = tmp_path / "workspace" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);\n"
                                           "INSERT INTO orders (id, total) VALUES (1, 2);\n")
    (folder / "V2__index.sql").write_text("CREATE INDEX orders_total ON orders (total);\n"
                                          "ALTER TABLE orders ADD COLUMN note text;\n")


def test_a_warm_sql_only_audit_does_not_import_pglast(tmp_path):
    """The parse cache holds every file's statements: nothing is parsed, pglast's 40 ms of
    imports are not paid (bench/bench_sql_only.py)."""
    _sql_workspace(tmp_path)
    audit = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from schemalens.analyzers.audit import run_audit
        from schemalens.analyzers.workspace.index import WorkspaceIndex
        index = WorkspaceIndex(Path({str(tmp_path / "workspace")!r}), cache_dir=Path({str(tmp_path / "cache")!r}))
        findings = run_audit(index.index_all(), text_of=index.text_of).findings
        print(len(findings), "pglast" in sys.modules)
    """)
    runs = [subprocess.run([sys.executable, "-c", audit], capture_output=True, text=True, check=True).stdout.split()
            for _ in range(2)]
    assert runs[0][1] == "True"  # the first audit parses
    assert runs[1] == [runs[0][0], "False"] and int(runs[0][0]) > 0


def test_a_sql_only_audit_imports_none_of_the_python_readers(tmp_path):
    """`schemalens audit` of SQL migrations alone, parse cache cold then warm, has no Python to
    read: the readers of models, revisions and code, the query flow and the Markdown report (JSON
    asked) are not imported (bench/bench_sql_only.py: 20 ms of 250)."""
    _sql_workspace(tmp_path)
    audit = textwrap.dedent(f"""
        import io, sys
        from contextlib import redirect_stdout
        from schemalens.commands import main
        with redirect_stdout(io.StringIO()) as output:
            main(["audit", {str(tmp_path / "workspace")!r}, "--format", "json"])
        print("findings" in output.getvalue(), sorted(name.rpartition(".")[2] for name in sys.modules
              if name.startswith("schemalens.") and name.rpartition(".")[2] in {_PYTHON_READERS!r}))
    """)
    for _ in ("cold", "warm"):
        run = subprocess.run([sys.executable, "-c", audit], capture_output=True, text=True, check=True,
                             env={**os.environ, "SCHEMALENS_CACHE_DIR": str(tmp_path / "cache")})
        assert run.stdout.strip() == "True []"


_PYTHON_READERS = {"module_summary", "python_world", "static_eval", "sqlalchemy_models", "alembic_revisions",
                   "code_facts", "queries", "query_flow", "audit_markdown"}


def test_the_language_server_imports_the_scaffold_and_pglast_when_they_are_used():
    """The server's imports come before its first diagnostics; the scaffold and its SQL printer
    (pglast: a rule that reads index predicates imports it when an audit needs it) are 40-60 ms
    of them that a start publishing a kept audit never uses."""
    imported = textwrap.dedent("""
        import sys
        import schemalens.server.app
        print(sorted(name for name in sys.modules if name == "pglast" or name.startswith(("schemalens.analyzers.scaffold",
              "schemalens.analyzers.fixes"))))
    """)
    run = subprocess.run([sys.executable, "-c", imported], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
