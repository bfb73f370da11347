"""Every quick fix, applied to the file, leaves a file that parses, and audited again the finding
it was for is gone and no other finding appeared."""

from __future__ import annotations

import ast
import collections
from dataclasses import replace
from pathlib import Path

import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules.base import occurrences
from schemalens.analyzers.extract.sql_files import parse_sql
from schemalens.analyzers.fixes import apply_edit, file_suppression_fix, quick_fixes
from schemalens.analyzers.schema.model import Location
from schemalens.analyzers.workspace.index import WorkspaceIndex

MODELS = """import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))
    created_at = sa.Column(sa.DateTime, nullable=False)
"""
# The same columns as written in real projects: Chinese comments (with parentheses), a call over
# several lines, a backslash continuation, a string mentioning the type, `mapped_column`.
MODELS_AS_WRITTEN = """import sqlalchemy as sa
from sqlalchemy.orm import declarative_base, mapped_column

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id"))  # 下单用户（外键）
    buyer_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("users.id"),  # 买家 (buyer)
    )
    created_at = sa.Column(sa.DateTime, comment="DateTime 创建时间", nullable=False)  # 创建时间
    paid_at = \\
        mapped_column(sa.DateTime(), nullable=True)
"""


def _findings(root: Path):
    """Every problem reported, one per place: a finding merged over several columns of a table
    stands for each of them, with its own quick fixes (as the editor shows them)."""
    return [occurrence for finding in run_audit(WorkspaceIndex(root).index_all()).findings
            for occurrence in occurrences(finding)]


def _signature(finding) -> tuple:
    """A finding without its position: a fix may move the lines below it."""
    if finding.column:
        return finding.rule, finding.location.path, finding.table, finding.column
    return finding.rule, finding.location.path, finding.message


def _apply_and_check(root: Path, path: str, finding, fix) -> str:
    """Apply `fix`, parse the file, audit again: `finding` is gone and nothing new appeared (a
    fix may settle another finding too: a concurrent build needs no lock_timeout)."""
    before = collections.Counter(_signature(f) for f in _findings(root))
    target = root / path
    fixed = apply_edit(target.read_text(encoding="utf-8"), fix.edit)
    fixed.encode("utf-8", errors="strict")
    target.write_text(fixed, encoding="utf-8")
    if path.endswith(".py"):
        compile(fixed, path, "exec")
    else:
        assert parse_sql(fixed, path).errors == ()
    after = collections.Counter(_signature(f) for f in _findings(root))
    before[_signature(finding)] -= 1
    assert after[_signature(finding)] == before[_signature(finding)], f"{fix.title}: the finding stayed"
    assert not after - before, f"{fix.title}: {after - before} appeared"
    return fixed


# SL302 (an explicit ON DELETE) is off by default; its quick fix is tested with it selected.
SELECT_SL302 = {"pyproject.toml": '[tool.schemalens]\nselect = ["ALL", "SL302"]\n'}


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in {**SELECT_SL302, **files}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("models", [MODELS, MODELS_AS_WRITTEN], ids=["plain", "as written"])
@pytest.mark.parametrize("rule", ["SL201", "SL302", "SL401"])
@pytest.mark.parametrize("kind", ["local", "suppression"])
def test_applying_a_model_fix_removes_its_finding_and_nothing_else(tmp_path: Path, models: str, rule: str, kind: str):
    _write(tmp_path, {"app/models.py": models})
    for finding in [f for f in _findings(tmp_path) if f.rule == rule]:
        current = next(f for f in _findings(tmp_path) if _signature(f) == _signature(finding))
        fixes = quick_fixes(current, (tmp_path / "app/models.py").read_text(encoding="utf-8"))
        fix = next(f for f in fixes if (f.applicability == "display") == (kind == "suppression"))
        _apply_and_check(tmp_path, "app/models.py", current, fix)


def test_model_fixes_edit_code_not_strings_or_comments(tmp_path: Path):
    _write(tmp_path, {"app/models.py": MODELS_AS_WRITTEN})
    text = MODELS_AS_WRITTEN
    for finding in _findings(tmp_path):
        for fix in quick_fixes(finding, text):
            if fix.applicability != "display":
                text = apply_edit(text, fix.edit)
    assert '    created_at = sa.Column(sa.DateTime(timezone=True), comment="DateTime 创建时间", nullable=False)  # 创建时间' in text
    assert '    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)  # 下单用户（外键）' in text
    assert '        sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True,  # 买家 (buyer)\n' in text
    assert "        mapped_column(sa.DateTime(timezone=True), nullable=True)\n" in text


def test_a_suppression_on_a_backslash_continued_line_goes_on_the_statements_last_line(tmp_path: Path):
    _write(tmp_path, {"app/models.py": MODELS_AS_WRITTEN})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201" and f.column == "paid_at")
    fix = quick_fixes(finding, MODELS_AS_WRITTEN)[-1]
    assert fix.title == f"Ignore SL201 for this statement (comment on line {finding.location.line + 1})"
    fixed = _apply_and_check(tmp_path, "app/models.py", finding, fix)
    assert "    paid_at = \\\n        mapped_column(sa.DateTime(), nullable=True)  # schemalens: ignore[SL201]\n" in fixed


def test_a_second_suppression_extends_the_existing_comment(tmp_path: Path):
    _write(tmp_path, {"app/models.py": MODELS})
    models = tmp_path / "app" / "models.py"
    for rule in ("SL302", "SL401"):
        finding = next(f for f in _findings(tmp_path) if f.rule == rule)
        models.write_text(apply_edit(models.read_text(), quick_fixes(finding, models.read_text())[-1].edit))
    assert "# schemalens: ignore[SL302, SL401]" in models.read_text()


ALEMBIC = {
    "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
    "migrations/env.py": "",
    "migrations/versions/a1_orders.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                         "def upgrade():\n    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
                                         "                    sa.Column('status', sa.Text()), sa.Column('note', sa.Text()))\n\n"
                                         "def downgrade():\n    op.drop_table('orders')\n"),
}
INDEX_CALLS = {
    "one line": "    op.create_index('ix_orders_status', 'orders', ['status'])  # hot path\n",
    "several lines": "    op.create_index(\n        'ix_orders_status',\n        'orders',\n        ['status'],\n    )\n",
}


def _revision(upgrade: str, downgrade: str = "    pass\n") -> str:
    return f"from alembic import op\nrevision = 'b2'\ndown_revision = 'a1'\n\n\ndef upgrade():\n{upgrade}\n\ndef downgrade():\n{downgrade}"


@pytest.mark.parametrize("call", sorted(INDEX_CALLS))
def test_the_concurrent_index_fix_wraps_the_call_in_an_autocommit_block(tmp_path: Path, call: str):
    _write(tmp_path, {**ALEMBIC, "migrations/versions/b2_index.py": _revision(
        INDEX_CALLS[call], "    op.drop_index('ix_orders_status', table_name='orders')\n")})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL505")
    fix = quick_fixes(finding, (tmp_path / "migrations/versions/b2_index.py").read_text())[0]
    assert fix.applicability == "safe"
    text = _apply_and_check(tmp_path, "migrations/versions/b2_index.py", finding, fix)
    assert "    with op.get_context().autocommit_block():\n        op.create_index(" in text
    assert "postgresql_concurrently=True" in text
    assert call != "one line" or text.count("# hot path") == 1


# SQL inside a Python string: the suppression cannot be a Python comment there (it would become
# part of the SQL, which PostgreSQL rejects) and is not written into the string at all.
EXECUTE = {
    "triple-quoted": ('    op.execute("""\n'
                      '        ALTER TABLE orders ALTER COLUMN status SET NOT NULL  -- 订单状态必填\n'
                      '    """)\n'),
    "text() in an autocommit block": ("    with op.get_context().autocommit_block():\n"
                                      "        op.execute(sa.text('''CREATE INDEX ix_orders_note\n"
                                      "            ON orders (note)'''))  # 备注\n"),
    "a module constant": "    op.execute(STATUS_NOT_NULL)\n",
}
CONSTANT = 'STATUS_NOT_NULL = """\nALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"""\n'



@pytest.mark.parametrize("case", sorted(EXECUTE))
def test_ignoring_a_finding_in_sql_inside_a_string_keeps_the_sql(tmp_path: Path, case: str):
    path = "migrations/versions/b2_execute.py"
    revision = _revision(EXECUTE[case]).replace("from alembic import op\n", "from alembic import op\nimport sqlalchemy as sa\n"
                                                + CONSTANT)
    _write(tmp_path, {**ALEMBIC, path: revision})
    finding = next(f for f in _findings(tmp_path) if f.location.path == path and f.rule in ("SL505", "SL508"))
    fix = quick_fixes(finding, revision)[-1]
    assert fix.applicability == "display" and fix.edit.line > finding.location.line
    assert fix.title == f"Ignore {finding.rule} for this statement (comment on line {fix.edit.line})"
    fixed = _apply_and_check(tmp_path, path, finding, fix)
    strings = lambda text: [node.value for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Constant)]  # noqa: E731
    assert strings(fixed) == strings(revision)
    assert fixed.split("\n")[fix.edit.line - 1].endswith(f"# schemalens: ignore[{finding.rule}]")


def test_a_sql_comment_on_the_reported_line_inside_the_string_is_read_too(tmp_path: Path):
    path = "migrations/versions/b2_execute.py"
    revision = _revision(EXECUTE["triple-quoted"].replace("-- 订单状态必填", "-- schemalens: ignore[SL508]"))
    _write(tmp_path, {**ALEMBIC, path: revision})
    assert not [f for f in _findings(tmp_path) if f.rule == "SL508"]


SQL_MIGRATIONS = {
    "db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, status text, note text);\n",
}
SQL_STATEMENTS = {
    "one line, CJK comment": "CREATE INDEX ix_orders_status ON orders (status);  -- 热点查询\n",
    "a string literal over two lines": "CREATE INDEX ix_orders_note ON orders (note) WHERE note <> 'a\nb';\n",
}


@pytest.mark.parametrize("case", sorted(SQL_STATEMENTS))
def test_ignoring_a_finding_in_a_sql_file_writes_a_sql_comment_outside_strings(tmp_path: Path, case: str):
    _write(tmp_path, {**SQL_MIGRATIONS, "db/V2__index.sql": SQL_STATEMENTS[case]})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL505")
    fix = quick_fixes(finding, SQL_STATEMENTS[case])[-1]
    fixed = _apply_and_check(tmp_path, "db/V2__index.sql", finding, fix)
    assert fixed.split("\n")[fix.edit.line - 1].endswith("  -- schemalens: ignore[SL505]")
    assert ("'a\nb'" in fixed) == ("'a\nb'" in SQL_STATEMENTS[case])


def test_no_suppression_is_offered_where_no_line_can_take_a_comment(tmp_path: Path):
    """After an unterminated string the tokenizer cannot say where strings are: nothing is guessed."""
    _write(tmp_path, {**SQL_MIGRATIONS, "db/V2__index.sql": SQL_STATEMENTS["one line, CJK comment"]})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL505")
    broken = "SELECT '\n" + SQL_STATEMENTS["one line, CJK comment"]  # the editor's buffer, mid-edit
    assert quick_fixes(replace(finding, location=Location(finding.location.path, 2)), broken) == []


def test_crlf_files_keep_their_line_breaks(tmp_path: Path):
    text = MODELS.replace("\n", "\r\n")
    _write(tmp_path, {"app/models.py": MODELS})
    (tmp_path / "app/models.py").write_bytes(text.encode())
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201")
    for fix in quick_fixes(finding, text):
        fixed = apply_edit(text, fix.edit)
        assert fixed.count("\r\n") == text.count("\r\n") and "\n" not in fixed.replace("\r\n", "")


def test_a_comment_on_the_statements_first_line_covers_the_sql_string_too(tmp_path: Path):
    path = "migrations/versions/b2_execute.py"
    upgrade = EXECUTE["triple-quoted"].replace('op.execute("""\n', 'op.execute(  # schemalens: ignore[SL508]\n        """\n')
    _write(tmp_path, {**ALEMBIC, path: _revision(upgrade)})
    assert not [f for f in _findings(tmp_path) if f.rule == "SL508"]


def test_a_statement_comment_covers_only_the_lines_that_cannot_hold_their_own(tmp_path: Path):
    """`op.create_table(...)  # schemalens: ignore[SL201]` on the call's last line does not
    silence a column on another line of the call: that line can take its own comment."""
    path = "migrations/versions/b2_events.py"
    upgrade = ("    op.create_table('events', sa.Column('id', sa.Integer(), primary_key=True),\n"
               "                    sa.Column('at', sa.DateTime()),\n"
               "    )  # schemalens: ignore[SL201]\n")
    revision = _revision(upgrade).replace("from alembic import op\n", "from alembic import op\nimport sqlalchemy as sa\n")
    _write(tmp_path, {**ALEMBIC, path: revision})
    assert [f.location.line for f in _findings(tmp_path) if f.rule == "SL201" and f.location.path == path] == [9]


def test_a_fix_edits_the_column_of_its_finding_when_two_share_a_line(tmp_path: Path):
    models = MODELS.replace("    created_at = sa.Column(sa.DateTime, nullable=False)\n",
                            "    placed_on = sa.Column(sa.Date); created_at = sa.Column(sa.DateTime, nullable=False)\n")
    _write(tmp_path, {"app/models.py": models})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201")
    fix = quick_fixes(finding, models)[0]
    fixed = _apply_and_check(tmp_path, "app/models.py", finding, fix)
    assert "placed_on = sa.Column(sa.Date); created_at = sa.Column(sa.DateTime(timezone=True), nullable=False)" in fixed


# "Ignore ... in this file": schemalens: ignore-file[...]

def test_ignoring_a_rule_in_a_file_writes_a_comment_line_at_its_top(tmp_path: Path):
    _write(tmp_path, {"app/models.py": MODELS})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201")
    fix = file_suppression_fix(finding, MODELS)
    assert fix.title == "Ignore SL201 in this file" and fix.applicability == "display"
    fixed = _apply_and_check(tmp_path, "app/models.py", finding, fix)
    assert fixed == "# schemalens: ignore-file[SL201]\n" + MODELS


def test_a_file_comment_goes_below_a_shebang_and_an_encoding_declaration(tmp_path: Path):
    header = "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\n"
    _write(tmp_path, {"app/models.py": header + MODELS})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201")
    fixed = _apply_and_check(tmp_path, "app/models.py", finding, file_suppression_fix(finding, header + MODELS))
    assert fixed.split("\n")[:3] == ["#!/usr/bin/env python", "# -*- coding: utf-8 -*-", "# schemalens: ignore-file[SL201]"]


def test_a_second_rule_ignored_in_a_file_joins_the_files_comment(tmp_path: Path):
    text = MODELS.replace("class User(Base):", "# schemalens: ignore-file[SL3]  # 外键另行处理\nclass User(Base):")
    _write(tmp_path, {"app/models.py": text})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201")
    fixed = _apply_and_check(tmp_path, "app/models.py", finding, file_suppression_fix(finding, text))
    assert "# schemalens: ignore-file[SL3, SL201]  # 外键另行处理\n" in fixed and fixed.count("ignore-file") == 1


def test_ignoring_a_rule_in_a_sql_file_writes_a_sql_comment_line(tmp_path: Path):
    statement = SQL_STATEMENTS["a string literal over two lines"]
    _write(tmp_path, {**SQL_MIGRATIONS, "db/V2__index.sql": statement})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL505")
    fixed = _apply_and_check(tmp_path, "db/V2__index.sql", finding, file_suppression_fix(finding, statement))
    assert fixed == "-- schemalens: ignore-file[SL505]\n" + statement


def test_a_file_comment_keeps_crlf_line_breaks_and_the_byte_order_mark(tmp_path: Path):
    text = "\ufeff" + MODELS.replace("\n", "\r\n")
    _write(tmp_path, {"app/models.py": MODELS})
    finding = next(f for f in _findings(tmp_path) if f.rule == "SL201")
    fixed = apply_edit(text, file_suppression_fix(finding, text).edit)
    assert fixed.startswith("\ufeff# schemalens: ignore-file[SL201]\r\nimport sqlalchemy")
    assert "\n" not in fixed.replace("\r\n", "")
