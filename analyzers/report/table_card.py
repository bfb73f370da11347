"""The Markdown card shown when hovering a table or column: columns, keys, constraints, indexes,
partitioning, size hints, the migrations that touched it (newest first) and ORM/database
differences. Pure text from the schema model: the language server only places it."""

from __future__ import annotations

from typing import Optional, Sequence

from ..i18n import translator
from ..schema.drift import column_differences
from ..schema.model import Table
from .key_paths import column_uses
from .schema_map import table_summary


def _where(location) -> str:
    return f"{location.path}:{location.line}"


def table_card(model, table_key: str, column_name: Optional[str] = None, paths: Sequence = (),
               lang: str = "en") -> Optional[str]:
    """Markdown for a table (and one of its columns), or None when neither layer knows it.
    `paths`: the workspace's query paths, for the code that filters, joins or sorts on the column."""
    database = model.database.tables.get(table_key)
    orm = model.orm.tables.get(table_key)
    table: Optional[Table] = database or orm
    if table is None:
        return None
    _ = translator(lang)
    layer = _("database layer") if database else _("orm layer")
    lines = [f"**{table.key}** ({layer}) — `{_where(table.location)}`", ""]
    column = table.column(column_name) if column_name else None
    if column is not None:
        nullable = "NULL" if column.nullable else "NOT NULL"
        default = f" DEFAULT {column.server_default}" if column.server_default else ""
        lines += [_("column **%(column)s** `%(type)s` %(null)s%(default)s", column=column.name, type=column.type,
                    null=nullable, default=default), ""]
    lines += [_("| column | type | null | default |"), "|---|---|---|---|"]
    yes, no = _("yes"), _("no")
    lines += [f"| {c.name} | {c.type} | {yes if c.nullable else no} | {c.server_default or c.default or ''} |"
              for c in table.columns]
    lines.append("")
    lines += [f"- **{label}**: {text}" for label, text in table_summary(table, lang)]
    hints = model.config.tables.get(table.name)
    if hints is not None:
        lines.append(_("- **rows**: %(rows)s now, %(rows_in_a_year)s in a year; %(write_qps)s writes/s",
                       rows=hints.rows or "?", rows_in_a_year=hints.rows_in_a_year or "?", write_qps=hints.write_qps or "?"))
    history = (column.history if column is not None else table.history)[::-1]
    if history:
        lines += ["", _("Migrations (newest first):")]
        lines += [f"- {change.action} — `{_where(change.location)}`" + (f" ({change.revision})" if change.revision else "")
                  for change in history[:10]]
    uses = column_uses(paths, table.key, column.name) if column is not None else []
    if uses:
        lines += ["", _("Code paths on this column:")]
        lines += ["- " + _("%(how)s in %(function)s", how=how, function=function) + f" — `{_where(location)}`"
                  for location, how, function in uses[:10]]
        if len(uses) > 10:
            lines.append("- " + _.ngettext("... %(count)d more", "... %(count)d more", len(uses) - 10))
    if database is not None and orm is not None:
        differences = _differences(orm, database, lang)
        if differences:
            lines += ["", _("ORM vs database:")] + [f"- {text}" for text in differences]
    return "\n".join(lines)


def _differences(orm: Table, database: Table, lang: str = "en") -> list[str]:
    _ = translator(lang)
    found = []
    for difference in column_differences(orm, database):
        name, left, right = difference.name, difference.orm, difference.database
        if right is None:
            found.append(_("`%(column)s` is declared in the model but no migration creates it", column=name))
        elif left is None:
            found.append(_("`%(column)s` exists in the database but not in the model", column=name))
        if "type" in difference.aspects:
            found.append(_("`%(column)s`: model %(model)s, database %(database)s", column=name, model=left.type,
                           database=right.type))
        if "nullable" in difference.aspects:
            found.append(_("`%(column)s`: model %(model)s, database %(database)s", column=name,
                           model='NULL' if difference.orm_nullable else 'NOT NULL',
                           database='NULL' if difference.database_nullable else 'NOT NULL'))
    return found
