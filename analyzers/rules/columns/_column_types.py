"""Shared by the column-type rules: which columns of the effective schema have a type, and the
small workspaces of their examples."""

from __future__ import annotations

from typing import Callable, Iterator

from ...schema.model import Column, Table
from ..context import AuditContext


def columns_where(context: AuditContext, matches: Callable[[Column], bool]) -> Iterator[tuple[Table, Column]]:
    """(table, column) of every column of the effective schema that `matches`, partitions left out
    (they repeat their parent's columns)."""
    for table in context.tables():
        if table.partition_of:
            continue
        for column in table.columns:
            if matches(column):
                yield table, column


def base_type(column: Column) -> str:
    """The type without array brackets: "integer[]" -> "integer"."""
    return column.type.removesuffix("[]").removesuffix("[]")


def sql_table(columns: str, expect: bool = False) -> dict[str, str]:
    marker = "  -- expect" if expect else ""
    return {"db/V1__accounts.sql": f"CREATE TABLE accounts (\n  {columns}{marker}\n);\n"}
