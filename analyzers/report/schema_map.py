"""The spec's section I, the schema overview: tables by domain, relations, per-table summary.

`render_schema_map(layer, fmt)` prints it as plain text or Markdown; `render_mermaid` as an
erDiagram.
"""

from __future__ import annotations

from typing import Optional

from ..i18n import translator
from ..schema.model import SchemaLayer, Table
from .relations import domains, relations


def _index_text(index, lang: str = "en") -> str:
    _ = translator(lang)
    keys = ", ".join(index.columns)
    unnamed = _("(unnamed)")
    text = f"{index.name or unnamed} ({keys})"
    details = []
    if index.unique:
        details.append(_("unique"))
    if index.using:
        details.append(index.using)
    if index.opclasses:
        details.append(", ".join(f"{column} {opclass}" for column, opclass in index.opclasses))
    if index.include:
        details.append(_("include %(columns)s", columns=', '.join(index.include)))
    if index.where:
        details.append(_("where %(predicate)s", predicate=index.where))
    return text + (f" [{'; '.join(details)}]" if details else "")


def table_summary(table: Table, lang: str = "en") -> list[tuple[str, str]]:
    """(label, text) lines summarising a table's keys, constraints, indexes and partitioning."""
    _ = translator(lang)
    unnamed = _("(unnamed)")
    lines = []
    if table.primary_key:
        lines.append(("PK", f"{', '.join(table.primary_key.columns)}"))
    else:
        lines.append(("PK", _("none")))
    for fk in table.foreign_keys:
        action = f" ON DELETE {fk.on_delete}" if fk.on_delete else " " + _("(ON DELETE unspecified)")
        flags = " NOT VALID" if fk.not_valid else ""
        lines.append(("FK", f"{fk.name or unnamed}: ({', '.join(fk.columns)}) -> {fk.ref_table}({', '.join(fk.ref_columns)}){action}{flags}"))
    for unique in table.unique_constraints:
        lines.append((_("unique"), f"{unique.name or unnamed} ({', '.join(unique.columns)})"))
    for check in table.check_constraints:
        lines.append((_("check"), f"{check.name or unnamed}: {check.expression}"))
    for index in table.indexes:
        lines.append((_("index"), _index_text(index, lang)))
    if table.partition_by:
        lines.append((_("partitioned"), _("by %(key)s", key=table.partition_by)))
    if table.partition_of:
        lines.append((_("partition of"), f"{table.partition_of} {table.partition_bound or ''}".rstrip()))
    for trigger in table.triggers:
        lines.append((_("trigger"), f"{trigger.name} -> {trigger.function or '?'}"))
    return lines


def _column_text(column) -> str:
    text = f"{column.name} {column.type}{'' if column.nullable else ' NOT NULL'}"
    if column.server_default:
        text += f" DEFAULT {column.server_default}"
    if column.identity:
        text += f" ({column.identity})"
    return text


def render_schema_map(layer: SchemaLayer, fmt: str = "text", orm: Optional[SchemaLayer] = None, lang: str = "en") -> str:
    """Section I for one layer, as "text" or "markdown", in `lang`."""
    _ = translator(lang)
    markdown = fmt == "markdown"
    out: list[str] = []
    title = _.ngettext("I. Schema overview (%(layer)s layer): %(count)d tables",
                       "I. Schema overview (%(layer)s layer): %(count)d tables", len(layer.tables), layer=layer.name)
    out += [f"# {title}", ""] if markdown else [title, "=" * len(title), ""]
    grouped = domains(layer, orm)
    for domain, tables in grouped.items():
        heading = _("Domain: %(domain)s", domain=domain)
        out += [f"## {heading}", ""] if markdown else [heading, "-" * len(heading)]
        for table in tables:
            where = f"{table.location.path}:{table.location.line}"
            if markdown:
                out.append(f"### `{table.key}` ({where})")
                out.append("")
                out.append(_("| column | type | null | default |"))
                out.append("|---|---|---|---|")
                for column in table.columns:
                    null = _("yes") if column.nullable else _("no")
                    out.append(f"| {column.name} | {column.type} | {null} | {column.server_default or column.default or ''} |")
                out.append("")
                out += [f"- **{label}**: {text}" for label, text in table_summary(table, lang)]
                out.append("")
            else:
                out.append(f"  {table.key}  ({where})")
                out += [f"    {_column_text(column)}" for column in table.columns]
                out += [f"    {label}: {text}" for label, text in table_summary(table, lang)]
                out.append("")
    found = relations(layer)
    heading = _("Relations (%(count)d)", count=len(found))
    out += [f"## {heading}", ""] if markdown else [heading, "-" * len(heading)]
    for relation in found:
        via = " " + _("via %(table)s", table=relation.via) if relation.via else ""
        on_delete = f", ON DELETE {relation.on_delete}" if relation.on_delete else ""
        line = f"{relation.left} {relation.cardinality} {relation.right}{via}  ({relation.columns}{on_delete})"
        out.append(f"- {line}" if markdown else f"  {line}")
    if enum_lines := [f"{key}: {', '.join(enum.values)}" for key, enum in sorted(layer.enums.items())]:
        heading = _("Enum types")
        out += ["", f"## {heading}", ""] if markdown else ["", heading, "-" * len(heading)]
        out += [f"- {line}" if markdown else f"  {line}" for line in enum_lines]
    return "\n".join(out).rstrip() + "\n"


def database_heading(database, lang: str = "en") -> str:
    """One line naming a database the migrations build: its folders, tool and engine."""
    from ..extract.sql_dialects import label

    folders = ", ".join(location.folder or "." for location in database.locations) or database.label
    _ = translator(lang)
    tools = ", ".join(dict.fromkeys(location.tool_label for location in database.locations)) or _("Alembic revisions")
    main = "; " + _("the main database") if database.main else ""
    return _("Database %(folders)s (%(tools)s, %(engine)s%(main)s)", folders=folders, tools=tools,
             engine=label(database.dialect), main=main)


def render_databases(databases, fmt: str = "text", orm: Optional[SchemaLayer] = None, lang: str = "en") -> str:
    """Section I for each database the migrations build, each under a heading naming it."""
    parts = []
    for database in databases:
        heading = database_heading(database, lang)
        underline = "#" if fmt == "markdown" else "="
        intro = f"{underline} {heading}\n\n" if fmt == "markdown" else f"{heading}\n{underline * len(heading)}\n\n"
        parts.append(intro + render_schema_map(database.layer, fmt, orm=orm, lang=lang))
    return "\n".join(parts)


def _mermaid_type(type_text: str) -> str:
    # erDiagram attribute types are single words.
    return type_text.split("(")[0].replace(" ", "_").replace("[]", "_array")


def render_mermaid(layer: SchemaLayer) -> str:
    """An erDiagram of one layer: entities with PK/FK/UK markers and the relations between them."""
    out = ["erDiagram"]
    for key, table in sorted(layer.tables.items()):
        pk = set(table.primary_key.columns) if table.primary_key else set()
        fk = {column for foreign in table.foreign_keys for column in foreign.columns}
        uk = {column for unique in table.unique_constraints for column in unique.columns}
        out.append(f"    {_entity(key)} {{")
        for column in table.columns:
            markers = [m for m, s in (("PK", pk), ("FK", fk), ("UK", uk)) if column.name in s]
            out.append(f"        {_mermaid_type(column.type)} {column.name}{' ' + ', '.join(markers) if markers else ''}")
        out.append("    }")
    symbols = {"1-1": "||--||", "1-N": "||--o{", "N-N": "}o--o{"}
    for relation in relations(layer):
        label = f"via {relation.via}" if relation.via else relation.columns.split(" -> ")[0]
        out.append(f'    {_entity(relation.left)} {symbols[relation.cardinality]} {_entity(relation.right)} : "{label}"')
    return "\n".join(out) + "\n"


def _entity(name: str) -> str:
    return name.replace(".", "__")
