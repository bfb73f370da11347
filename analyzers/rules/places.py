"""Where a finding about a table, a column, a constraint or an index is reported: the model's
declaration when there is one (that is where developers edit), with the migration that created it
as related evidence."""

from __future__ import annotations

import re
from typing import Optional

from ..i18n import _
from ..schema.model import Column, Location, Table
from .base import Related


def table_place(table: Table, twin: Optional[Table]) -> tuple[Location, tuple[Related, ...]]:
    """Where to report a finding about `table`, and the other places that show it: the model's
    declaration (`twin`, AuditContext.model_twin) when there is one, the migration as related
    evidence."""
    return _placed(table, twin, _("created in migration"))


def column_place(column: Column, twin: Optional[Table]) -> tuple[Location, tuple[Related, ...]]:
    return _placed(column, twin.column(column.name) if twin else None, _("column created in migration"))


def column_type_place(column: Column, twin: Optional[Table]) -> tuple[Location, tuple[Related, ...]]:
    """Where a finding about a column's type goes: the model when one declares the column,
    else the migration statement that last set its type (an ALTER COLUMN ... TYPE), else
    the statement that created it."""
    location, related = column_place(column, twin)
    if location != column.location:
        return location, related
    changed = next((change.location for change in reversed(column.history)
                    if re.search(r"(^|: |, )type ", change.action)), None)
    if changed is None or changed == column.location:
        return location, related
    return changed, (*related, Related(column.location, _("column created here")))


def element_place(element, twin: Optional[Table]) -> tuple[Location, tuple[Related, ...]]:
    """For a constraint or index: its model declaration (same kind, same columns) when there is one."""
    declared = None
    if twin is not None:
        candidates = (twin.primary_key, *twin.foreign_keys, *twin.unique_constraints, *twin.check_constraints, *twin.indexes)
        declared = next((c for c in candidates if type(c) is type(element) and c is not None and (
            getattr(c, "columns", None) == getattr(element, "columns", ()) or (c.name and c.name == element.name))), None)
    return _placed(element, declared, _("created in migration"))


def _placed(element, declared, database_label: str) -> tuple[Location, tuple[Related, ...]]:
    if declared is None:
        return element.location, ()
    related = [Related(element.location, database_label)]
    if element.changed is not None and element.changed != element.location:
        related.append(Related(element.changed, _("last changed")))
    return declared.location, tuple(related)
