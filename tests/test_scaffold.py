"""The scaffolder without a database: file names, templates and chaining as the project has them,
refusals with their reasons, the CLI, the code actions' changes, and the audit of what it writes.
(`test_scaffold_postgres.py` runs every change on a real PostgreSQL.)"""

from __future__ import annotations

import collections
import datetime
import itertools
import re
import shlex
import shutil
from pathlib import Path

import pytest

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.fixes import apply_edit
from schemalens.analyzers.i18n import translator
from schemalens.analyzers.rules import rule_by_code
from schemalens.analyzers.rules.base import occurrences
from schemalens.analyzers.scaffold import HELP, ChangeRequest, ScaffoldError, scaffold, write_files
from schemalens.analyzers.scaffold.from_findings import safe_change_edit, safe_change_for
from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.commands import main

from conftest import FIXTURES
from prose import english_prose, python_prose
from test_scaffold_postgres import CASES

VERSIONS = "migrations/versions"
HAN = re.compile(r"[\u4e00-\u9fff]")
NOW = datetime.datetime(2026, 11, 30, 9, 5, 7)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "scaffold_project", root)
    return root


def _ids():
    counter = itertools.count(1)
    return lambda: f"{next(counter):012x}"


def _model(root: Path):
    return WorkspaceIndex(root).index_all()


def test_files_follow_the_projects_template_naming_and_chain(project: Path):
    files, used = scaffold(_model(project), ChangeRequest("add-check", "orders", column="qty", check="qty > 0"),
                           now=NOW, new_id=_ids())
    assert used.notes == ()
    assert [f.path for f in files] == [f"{VERSIONS}/20261130_000000000001_check_orders_qty_check_expand.py",
                                       f"{VERSIONS}/20261130_000000000002_check_orders_qty_check_contract.py"]
    expand, contract = (f.text for f in files)
    # the project's script.py.mako: annotated module attributes, docstrings in the functions
    assert "revision: str = '000000000001'" in expand and "down_revision: Union[str, Sequence[str], None] = '0a1b2c3d4e5f'" in expand
    assert "down_revision: Union[str, Sequence[str], None] = '000000000001'" in contract
    assert '    """Upgrade schema."""\n    op.execute("SET LOCAL lock_timeout = \'5s\'")' in expand
    assert "Deploy before: code that only writes rows satisfying qty > 0." in expand
    assert "ADD CONSTRAINT orders_qty_check CHECK (qty > 0) NOT VALID" in expand
    assert "with op.get_context().autocommit_block():" in contract and "VALIDATE CONSTRAINT orders_qty_check" in contract
    for revision_file in files:
        compile(revision_file.text, revision_file.path, "exec")


def test_an_unsupported_template_falls_back_and_the_alias_is_the_projects(project: Path):
    template = project / "migrations/script.py.mako"
    template.write_text(template.read_text().replace("import sqlalchemy as sa", "import sqlalchemy as sqla")
                        + "% if branch_labels:\n# labelled\n% endif\n")
    files, used = scaffold(_model(project), ChangeRequest("set-not-null", "orders", column="amount", backfill="0"),
                           now=NOW, new_id=_ids())
    assert used.notes == ("script.py.mako uses Mako beyond Alembic's own placeholders: Alembic's generic template is used",)
    assert used.sqlalchemy_alias == "sqla"
    backfill = files[0].text
    assert "import sqlalchemy as sqla" in backfill and "bind.execute(sqla.text(" in backfill and "sa.text" not in backfill
    assert "context.get_x_argument(as_dictionary=True).get('orders_from')" in backfill
    compile(backfill, "backfill.py", "exec")


@pytest.mark.parametrize("request_, message", [
    (ChangeRequest("add-index", "nope", columns=("a",)), "table 'nope' is not in the database"),
    (ChangeRequest("add-column", "orders", column="channel", type="text"), "give --default"),
    (ChangeRequest("add-column", "orders", column="qty", type="text", default="1"), "already has a column 'qty'"),
    (ChangeRequest("set-not-null", "orders", column="qty"), "already NOT NULL"),
    (ChangeRequest("rename-column", "orders", column="id", new_name="key"), "part of the primary key"),
    (ChangeRequest("change-type", "customers", column="id", type="integer"), "is an identity column"),
    (ChangeRequest("drop-column", "orders", column="legacy_code"), "--default"),
    (ChangeRequest("add-foreign-key", "orders", column="referrer_id", ref="customers.nope"), "has no column nope"),
    (ChangeRequest("add-composite-fk", "order_lines", columns=("order_id",), ref="orders.id"), "needs --columns"),
    (ChangeRequest("reorder-columns", "orders"), "unknown change"),
])
def test_refusals_say_why(project: Path, request_: ChangeRequest, message: str):
    with pytest.raises(ScaffoldError, match=message) as refusal:
        scaffold(_model(project), request_)
    chinese = translator("zh").localize(refusal.value.args[0])
    assert english_prose(chinese) == [] and HAN.search(chinese), chinese


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.request.change}-{case.request.column or case.request.table}")
def test_a_chinese_scaffold_writes_its_docstrings_and_comments_in_chinese(project: Path, case):
    """Phase notes, deploy sentences and the comments of the generated code follow the language;
    SQL, code and the revision message (the file name) stay as they are."""
    template = (project / "migrations" / "script.py.mako").read_text()
    chinese, _used = scaffold(_model(project), case.request, lang="zh", now=NOW, new_id=_ids())
    english, _used = scaffold(_model(project), case.request, now=NOW, new_id=_ids())
    assert [f.path for f in chinese] == [f.path for f in english]
    for revision_file in chinese:
        prose = python_prose(revision_file.text, template)
        assert english_prose(prose) == [], revision_file.path
        assert "运行前须已上线" in prose and "之后可部署" in prose
        compile(revision_file.text, revision_file.path, "exec")


def test_scaffold_errors_on_the_command_line_follow_lang(project: Path, capsys):
    assert main(["scaffold", "add-index", "--table", "nope", "--columns", "a", "--path", str(project), "--lang", "zh"]) == 2
    assert "迁移构建出的数据库中没有表 'nope'" in capsys.readouterr().err


def test_a_column_used_in_a_partial_index_is_not_renamed_behind_the_indexes_back():
    model = _model(Path(__file__).parents[1] / "examples" / "shop")
    with pytest.raises(ScaffoldError, match="index ix_orders_status_pending uses it in an expression or its WHERE"):
        scaffold(model, ChangeRequest("rename-column", "orders", column="status", new_name="state"))


def test_two_heads_must_be_merged_first(project: Path):
    (project / VERSIONS / "b_side.py").write_text("from alembic import op\nrevision = 'b1'\ndown_revision = '0a1b2c3d4e5f'\n\n"
                                                 "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    (project / VERSIONS / "c_side.py").write_text("from alembic import op\nrevision = 'c1'\ndown_revision = '0a1b2c3d4e5f'\n\n"
                                                 "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    with pytest.raises(ScaffoldError, match="2 heads"):
        scaffold(_model(project), ChangeRequest("add-index", "orders", columns=("note",)))


def test_files_are_written_only_into_the_versions_folder(project: Path):
    files, _ = scaffold(_model(project), ChangeRequest("add-index", "orders", columns=("note",)))
    escaping = [type(files[0])(f"{VERSIONS}/../../outside.py", files[0].text, files[0].revision, files[0].phase)]
    with pytest.raises(ValueError, match="outside the versions folder"):
        write_files(project, escaping, VERSIONS)
    write_files(project, files, VERSIONS)
    with pytest.raises(ValueError, match="refusing to overwrite"):
        write_files(project, files, VERSIONS)


def test_cli_dry_run_prints_and_writes_nothing_then_writes(project: Path, capsys):
    before = sorted((project / VERSIONS).iterdir())
    arguments = ["scaffold", "rename-column", "--table", "orders", "--column", "status", "--new-name", "state",
                 "--path", str(project), "--no-cache"]
    assert main([*arguments, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert [printed.count(f".py ({phase})") for phase in ("expand", "backfill", "contract")] == [1, 1, 1]
    assert sorted((project / VERSIONS).iterdir()) == before
    assert main(arguments) == 0
    written = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in written] == ["expand", "backfill", "contract"]
    assert all((project / line.split()[1]).is_file() for line in written)
    assert main(["scaffold", "add-index", "--table", "nope", "--columns", "x", "--path", str(project), "--no-cache"]) == 2
    assert "table 'nope' is not in the database" in capsys.readouterr().err


# The change itself may make findings appear or go (an index the new one makes redundant, a
# check that answers "accepts negative values"); the scaffold's own files add none of dimension 5.
CONSEQUENCES = {
    "rename-table": {"SL301": -1},  # order_lines.customer_id no longer looks like a key of a table named customers
    "add-check": {"SL305": -1},
    "add-index": {"SL402": +1},
    "drop-column": {"SL804": -1},
    "add-composite-fk": {"SL402": +1, "SL301": -1},
}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_generated_revisions_pass_the_audit(project: Path, case):
    model = _model(project)
    before = collections.Counter(o.rule for f in run_audit(model).findings for o in occurrences(f))
    files, _ = scaffold(model, case.request)
    write_files(project, files, VERSIONS)
    after_model = _model(project)
    assert after_model.errors == ()
    findings = run_audit(after_model).findings
    generated = {f.path for f in files}
    assert [(f.rule, f.title) for f in findings if f.location.path in generated and rule_by_code(f.rule).dimension == 5] == []
    after = collections.Counter(o.rule for f in findings for o in occurrences(f))
    changed = {rule: after[rule] - before[rule] for rule in after | before if after[rule] != before[rule]}
    assert changed == CONSEQUENCES.get(case.id, {})


UNSAFE_HEAD = '''"""unsafe

Revision ID: 1f2e3d4c5b6a
Revises: 0a1b2c3d4e5f
"""
from alembic import op
import sqlalchemy as sa

revision = "1f2e3d4c5b6a"
down_revision = "0a1b2c3d4e5f"


def upgrade():
    op.execute("SET lock_timeout = '5s'")
    op.alter_column("orders", "amount", nullable=False)
    op.alter_column("orders", "qty", type_=sa.BigInteger())


def downgrade():
    op.alter_column("orders", "qty", type_=sa.Integer())
    op.alter_column("orders", "amount", nullable=True)
'''


@pytest.mark.parametrize("rule, change, replaced", [("SL508", "set-not-null", (15, 21)), ("SL509", "change-type", (16, 20))])
def test_an_unsafe_statement_in_the_head_revision_is_split(project: Path, rule: str, change: str, replaced: tuple):
    head = project / VERSIONS / "20261129_1f2e3d4c5b6a_unsafe.py"
    head.write_text(UNSAFE_HEAD)
    model = _model(project)
    finding = next(f for f in run_audit(model).findings if f.rule == rule)
    safe_change = safe_change_for(finding, model)
    assert safe_change.request.change == change
    planned = safe_change_edit(safe_change, model)
    assert [edit.line for edit in planned.line_edits] == list(replaced)
    text = head.read_text()
    for edit in sorted(planned.line_edits, key=lambda e: -e.line):
        text = apply_edit(text, edit)
    head.write_text(text)
    write_files(project, list(planned.files), VERSIONS)
    findings = run_audit(_model(project)).findings
    assert rule not in {f.rule for f in findings if f.location.path.endswith("_unsafe.py")}
    assert not [f.rule for f in findings if f.location.path in {p.path for p in planned.files} and f.rule.startswith("SL5")]
    assert f"pass  # SchemaLens: moved to the safe revisions {planned.files[0].revision}" in text


def test_a_model_column_the_migrations_lack_gets_its_safe_migration(project: Path):
    (project / "app").mkdir()
    (project / "app/models.py").write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
        "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n"
        "    channel = sa.Column(sa.Text, nullable=False, default='web')\n")
    model = _model(project)
    finding = next(f for f in run_audit(model).findings if f.rule == "SL521" and f.column == "channel")
    safe_change = safe_change_for(finding, model)
    assert safe_change.request == ChangeRequest("add-column", "orders", column="channel", type="text", default="'web'")
    (expand,) = safe_change_edit(safe_change, model).files
    assert "ADD COLUMN IF NOT EXISTS channel text DEFAULT 'web' NOT NULL" in expand.text


STAMPED = '''"""stamped

Revision ID: 3b4c5d6e7f80
Revises: 0a1b2c3d4e5f
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "3b4c5d6e7f80"
down_revision = "0a1b2c3d4e5f"


def upgrade():
    op.add_column("orders", sa.Column("placed_at", postgresql.TIMESTAMP(timezone=True, precision=6), nullable=True))


def downgrade():
    op.drop_column("orders", "placed_at")
'''


def _orders_model(project: Path, placed_at: str) -> None:
    (project / "app").mkdir(exist_ok=True)
    (project / "app/models.py").write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
        "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n"
        f"    placed_at = {placed_at}\n")


def test_a_default_only_difference_gets_no_column_rewrite(project: Path):
    """The database has timestamp(6) with time zone, the model timestamp with time zone (the same
    type for PostgreSQL) and a server default: the finding is about the default only, a one-line
    ALTER ... SET DEFAULT, so no expand / backfill / contract through a new column is offered."""
    (project / VERSIONS / "20261128_3b4c5d6e7f80_stamped.py").write_text(STAMPED)
    _orders_model(project, "sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())")
    model = _model(project)
    finding = next(f for f in run_audit(model).findings if f.rule == "SL521" and f.column == "placed_at")
    assert "DEFAULT now()" in finding.message and "timestamp" not in finding.message
    assert safe_change_for(finding, model) is None


def test_a_nullability_difference_next_to_a_same_type_spelling_plans_set_not_null_only(project: Path):
    (project / VERSIONS / "20261128_3b4c5d6e7f80_stamped.py").write_text(STAMPED)
    _orders_model(project, "sa.Column(sa.DateTime(timezone=True), nullable=False)")
    model = _model(project)
    finding = next(f for f in run_audit(model).findings if f.rule == "SL521" and f.column == "placed_at")
    assert safe_change_for(finding, model).request == ChangeRequest("set-not-null", "orders", column="placed_at")


def test_changing_a_type_to_the_same_stored_type_is_refused(project: Path):
    (project / VERSIONS / "20261128_3b4c5d6e7f80_stamped.py").write_text(STAMPED)
    with pytest.raises(ScaffoldError, match="nothing to change"):
        scaffold(_model(project), ChangeRequest("change-type", "orders", column="placed_at", type="timestamptz"))


def test_a_table_outside_public_is_refused(project: Path):
    (project / VERSIONS / "20261129_2a_audit.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\nrevision = '2a'\ndown_revision = '0a1b2c3d4e5f'\n\n"
        "def upgrade():\n    op.create_table('events', sa.Column('id', sa.BigInteger(), primary_key=True),\n"
        "                    sa.Column('kind', sa.Text()), schema='audit')\n\n"
        "def downgrade():\n    op.drop_table('events', schema='audit')\n")
    with pytest.raises(ScaffoldError, match="outside the public schema"):
        scaffold(_model(project), ChangeRequest("add-index", "audit.events", columns=("kind",)))


@pytest.mark.parametrize("change", sorted(HELP))
def test_scaffold_change_help_says_what_that_change_asks_with_an_example_that_parses(project: Path, change: str, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["scaffold", change, "--help"])
    text = capsys.readouterr().out
    about = HELP[change]
    assert exited.value.code == 0 and f"{change}: {about.summary}." in text and about.example in text
    assert "asks: --" + ", --".join(about.required) in text
    assert [other for other in HELP if other != change and f"{other}: {HELP[other].summary}" in text] == []
    # the example is a valid invocation: argparse takes it (a schema the fixture lacks is the scaffold's own message)
    main([*shlex.split(about.example)[1:], "--path", str(project), "--no-cache", "--dry-run"])
    assert "usage:" not in capsys.readouterr().err


@pytest.mark.parametrize("change", sorted(HELP))
def test_scaffold_change_help_speaks_chinese(change: str, capsys):
    with pytest.raises(SystemExit):
        main(["scaffold", change, "--help", "--lang", "zh"])
    text = capsys.readouterr().out
    assert f"{change}：{translator('zh').localize(HELP[change].summary)}。" in text and "必填：--table" in text
    # argparse's own words ("usage:", "options:", "show this help message and exit") are not ours to translate
    ours = text.split("\n\n", 1)[1].replace("show this help message and exit", "")
    assert english_prose(ours) == [], ours
