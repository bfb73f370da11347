"""LazyModule: imported on first attribute read, then the module itself in the importer's
namespace; a SQL-only audit whose parse cache answers does not import pglast."""

from __future__ import annotations

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


def test_a_warm_sql_only_audit_does_not_import_pglast(tmp_path):
    """The parse cache holds every file's statements: nothing is parsed, pglast's 40 ms of
    imports are not paid (bench/bench_sql_only.py)."""
    folder = tmp_path / "workspace" / "migrations"
    folder.mkdir(parents=True)
    (folder / "V1__orders.sql").write_text("CREATE TABLE orders (id bigint PRIMARY KEY, total numeric);\n")
    (folder / "V2__index.sql").write_text("CREATE INDEX orders_total ON orders (total);\n"
                                          "ALTER TABLE orders ADD COLUMN note text;\n")
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
