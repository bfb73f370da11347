"""How old a table is when a migration changes it: the migrations' dates, the first migration of a
history (often a squash) left out, and the young-table and same-change notions the lock rules use."""

from __future__ import annotations

from datetime import datetime

from schemalens.analyzers.rules.context import AuditContext
from schemalens.analyzers.rules.migrations.safety import (
    created_with_this_change,
    table_age,
    young_table,
    young_table_example,
)
from schemalens.analyzers.schema.operations import AlterColumn
from schemalens.analyzers.workspace.index import WorkspaceIndex


def _context(tmp_path, files: dict[str, str]) -> AuditContext:
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    model = WorkspaceIndex(tmp_path).index_all()
    return AuditContext(model, lambda path: (tmp_path / path).read_text(encoding="utf-8")
                        if (tmp_path / path).is_file() else None)


def _alter(context: AuditContext, table: str):
    return next(w for w in context.migration_walk if isinstance(w.operation, AlterColumn) and w.table == table)


def test_a_migration_is_dated_by_alembic_create_date_or_its_file_name_whichever_is_later(tmp_path):
    context = _context(tmp_path, {"notes.txt": ""})
    create_date = '"""x\n\nCreate Date: 2022-08-05 14:49:00.383167\n"""\n'
    context.text_of = {"v/a1_x.py": create_date, "v/2022-10-01_a1.py": create_date}.get
    assert context.migration_date("v/a1_x.py") == datetime(2022, 8, 5, 14, 49)
    assert context.migration_date("v/2022-10-01_a1.py") == datetime(2022, 10, 1)  # renamed when merged
    assert context.migration_date("v/2026-06-19-1032_add.py") == datetime(2026, 6, 19, 10, 32)
    assert context.migration_date("db/20220729120000_add.sql") == datetime(2022, 7, 29, 12, 0)
    assert context.migration_date("db/2023-11-29a_x.py") == datetime(2023, 11, 29)
    assert context.migration_date("db/V2__add.sql") is None
    assert context.migration_date("db/20221399_x.sql") is None  # digits that are no date


def test_a_table_created_days_before_is_young_and_one_created_the_same_day_came_with_the_change(tmp_path):
    context = _context(tmp_path, young_table_example("    op.alter_column('orders', 'status', nullable=False)"))
    walked = _alter(context, "orders")
    assert table_age(context, walked).days == 3
    assert young_table(context, walked) and not created_with_this_change(context, walked)
    same_day = _context(tmp_path / "same", young_table_example(
        "    op.alter_column('orders', 'status', nullable=False)", written="2024-03-05 15:00"))
    assert created_with_this_change(same_day, _alter(same_day, "orders"))


def test_a_table_of_the_first_migration_of_a_history_has_no_age(tmp_path):
    # The first revision is often a squash: its date is not its tables' birth.
    context = _context(tmp_path, young_table_example("    op.alter_column('customers', 'email', nullable=False)",
                                                     written="2023-01-10 10:00"))
    walked = _alter(context, "customers")
    assert table_age(context, walked) is None and not young_table(context, walked)


def test_a_table_the_size_hints_call_big_is_never_young(tmp_path):
    files = young_table_example("    op.alter_column('orders', 'status', nullable=False)")
    context = _context(tmp_path, {**files, "pyproject.toml": "[tool.schemalens.tables.orders]\nrows = 5000000\n"})
    assert not young_table(context, _alter(context, "orders"))


def test_a_table_created_more_than_a_month_before_is_not_young(tmp_path):
    context = _context(tmp_path, young_table_example("    op.alter_column('orders', 'status', nullable=False)",
                                                     written="2024-04-20 10:00"))
    walked = _alter(context, "orders")
    assert table_age(context, walked).days == 46 and not young_table(context, walked)
