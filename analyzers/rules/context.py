"""What rules read: the workspace model, file texts, size hints, and where to point a finding.

Rules check the effective schema: the `database` layer when migrations build one, else the
`orm` layer. A finding points at the model declaration when the element is declared in a
model (that is where developers edit), with the migration that created it as related evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterator, Optional

from ..extract.code_facts import deletion_words
from ..schema.migration_walk import walk_migrations
from ..schema.model import Column, Location, SchemaLayer, Table
from ..workspace.code_roles import is_application_code
from ..workspace.config import TableHints
from .base import Related

_RELATION_STATEMENT = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:MATERIALIZED\s+)?(?:VIEW|TABLE)\s+"
                                 r"(?:IF\s+NOT\s+EXISTS\s+)?([\w.\"]+)", re.IGNORECASE)


@dataclass
class AuditContext:
    model: "WorkspaceModel"  # noqa: F821 - schemalens.analyzers.workspace.index.WorkspaceModel
    text_of: Callable[[str], Optional[str]]  # path -> the file's current text

    @cached_property
    def layer(self) -> SchemaLayer:
        return self.model.database if self.model.database.tables else self.model.orm

    @cached_property
    def migration_walk(self) -> list:
        """The migration steps' operations in replay order, with what was true before each."""
        return list(walk_migrations(self.model.steps))

    def tables(self) -> Iterator[Table]:
        for _, table in sorted(self.layer.tables.items()):
            yield table

    def hints(self, table: Table) -> TableHints:
        return self.model.config.tables.get(table.name) or self.model.config.tables.get(table.key) or TableHints()

    def is_big(self, table: Table, rows: int = 1_000_000) -> bool:
        """True when the size hints say the table has, or will have within a year, `rows` rows."""
        hints = self.hints(table)
        return max(hints.rows or 0, hints.rows_in_a_year or 0) >= rows

    def code_facts(self) -> list:
        """The CodeFacts of every application file, by path: tests, scripts, seeds and fixtures
        (`non_application_paths`) are not the application's code paths."""
        patterns = self.model.config.non_application_paths
        return [facts for path, facts in sorted(self.model.code.items()) if is_application_code(path, patterns)]

    def all_code_facts(self) -> list:
        """The CodeFacts of every Python file, tests included."""
        return [facts for _, facts in sorted(self.model.code.items())]

    @cached_property
    def query_paths(self) -> list:
        """Every query shape of the application code, resolved to the effective tables."""
        from ..query_paths import query_paths

        return query_paths(self.model, self.layer, self.code_facts())

    def tables_with_columns(self, columns) -> list[Table]:
        """Tables that have every one of `columns`."""
        wanted = set(columns)
        return [t for t in self.tables() if not t.partition_of and wanted <= {c.name for c in t.columns}]

    def writes_are_transformed(self, table: Table, column: Column) -> bool:
        """Whether the models write this column through code that changes the value (a
        TypeDecorator, @validates, a property setter): hashing or encryption may live there."""
        return (table.key, column.name) in self.model.transformed_columns

    def orm_table_of_class(self, class_name: str) -> Optional[Table]:
        """The effective table mapped by the model class named `class_name`."""
        for table in self.model.orm.tables.values():
            if table.class_name == class_name:
                return self.layer.tables.get(table.key) or table
        return None

    def looked_up_columns(self) -> dict[str, Location]:
        """Column names that application code looks rows up by, with the first place it does."""
        found: dict[str, Location] = {}
        for facts in self.code_facts():
            for lookup in facts.lookups:
                found.setdefault(lookup.column, lookup.location)
        return found

    def code_mentions_deletion(self, table_name: str) -> bool:
        """True when application code or a SQL script deletes from, truncates or drops
        partitions of `table_name` (each file's words are found once, when it is parsed)."""
        return table_name.lower() in self._deletion_words

    @cached_property
    def _deletion_words(self) -> frozenset[str]:
        words: set[str] = set()
        for facts in self.code_facts():
            words |= facts.deletion_words
        for path, kind in self.model.files.items():
            if kind == "sql_script":
                words |= deletion_words(self.text_of(path) or "")
        return frozenset(words)

    def orm_table(self, table: Table) -> Optional[Table]:
        return self.model.orm.tables.get(table.key)

    def where_table(self, table: Table) -> tuple[Location, tuple[Related, ...]]:
        """The place to report a table finding, and the other places that show it."""
        return self._where(table, self.orm_table(table), "created in migration")

    def where_column(self, table: Table, column: Column) -> tuple[Location, tuple[Related, ...]]:
        orm = self.orm_table(table)
        return self._where(column, orm.column(column.name) if orm else None, "column created in migration")

    def where_element(self, table: Table, element) -> tuple[Location, tuple[Related, ...]]:
        """For a constraint or index: its model declaration (same kind, same columns) when there is one."""
        orm = self.orm_table(table)
        twin = None
        if orm is not None:
            candidates = (orm.primary_key, *orm.foreign_keys, *orm.unique_constraints, *orm.check_constraints, *orm.indexes)
            twin = next((c for c in candidates if type(c) is type(element) and c is not None and (
                getattr(c, "columns", None) == getattr(element, "columns", ()) or (c.name and c.name == element.name))), None)
        return self._where(element, twin, "created in migration")

    def _where(self, element, orm_element, database_label: str) -> tuple[Location, tuple[Related, ...]]:
        if self.layer is self.model.orm or orm_element is None:
            return element.location, ()
        related = [Related(element.location, database_label)]
        if element.changed is not None and element.changed != element.location:
            related.append(Related(element.changed, "last changed"))
        return orm_element.location, tuple(related)

    def relation_created_by(self, operation) -> Optional[str]:
        """The name a CREATE VIEW / CREATE TABLE AS statement (an unmodelled operation) creates,
        read at the statement in its file."""
        text = self.text_of(operation.location.path)
        if text is None:
            return None
        lines = text.splitlines()[operation.location.line - 1:]
        if not lines:
            return None
        lines[0] = lines[0][operation.location.column - 1:]
        match = _RELATION_STATEMENT.match("\n".join(lines[:5]).lstrip())
        return match.group(1) if match else None
