"""Which findings a scaffold can answer, and with which change: an unsafe operation in the newest
revision ("split into expand / backfill / contract"), or a model edit that the migrations do not
have yet ("generate the safe migration for this change")."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable, Optional

from ..schema import operations as ops
from ..extract.python_source import split_lines
from ..schema.drift import column_differences
from ..schema.migration_walk import is_volatile_default
from ..schema.model import CheckConstraint, ForeignKey, Location, SchemaLayer, Table, UniqueConstraint
from ..schema.replay import replay_steps
from ..fixes import LineEdit
from ..i18n import _, translator

from . import disk_reader, scaffold
from .changes import ChangeRequest, ScaffoldError
from .revision_files import RevisionFile

TextOf = Callable[[str], Optional[str]]

# Unsafe operations the scaffold writes a safe sequence for.
SPLIT_RULES = frozenset({"SL507", "SL508", "SL509", "SL510", "SL512", "SL514"})
# Model elements the database does not have yet.
DRIFT_RULES = frozenset({"SL521", "SL523", "SL524"})


@dataclass(frozen=True, slots=True)
class SafeChange:
    title: str
    request: ChangeRequest
    layer: SchemaLayer  # the database the change applies to
    replaces: tuple[Location, ...] = ()  # statements the safe revisions take the place of (upgrade and its inverse)


@dataclass(frozen=True, slots=True)
class SafeChangeEdit:
    """New revision files, and the lines of the head revision they take the place of."""

    files: tuple[RevisionFile, ...]
    line_edits: tuple[LineEdit, ...]


def safe_change_edit(safe_change: SafeChange, model, text_of: Optional[TextOf] = None,
                     lang: Optional[str] = None) -> SafeChangeEdit:
    """The files and edits of a safe change; raises ScaffoldError when it cannot be planned, and
    refuses (ScaffoldError) any file outside the migrations' versions folder."""
    text_of = text_of or disk_reader(model.root)
    files, project = scaffold(model, safe_change.request, layer=safe_change.layer, lang=lang)  # docstrings in `lang`
    outside = [f.path for f in files if str(PurePosixPath(f.path).parent) != project.versions]
    if outside:
        raise ScaffoldError(_("refusing to create %(paths)s: outside the versions folder %(folder)s",
                              paths=", ".join(outside), folder=project.versions))

    moved = ", ".join(f.revision for f in files)
    edits = []
    for location in safe_change.replaces:
        text = split_lines(text_of(location.path) or "")[location.line - 1]
        indent = text[: len(text) - len(text.lstrip())]
        comment = translator(lang).localize(_("SchemaLens: moved to the safe revisions %(revisions)s", revisions=moved))
        edits.append(LineEdit(location.path, location.line, f"{indent}pass  # {comment}", location.end_line))
    return SafeChangeEdit(tuple(files), tuple(edits))


def safe_change_for(finding, model, text_of: Optional[TextOf] = None) -> Optional[SafeChange]:
    """`text_of(path)`: a file's current text (the editor's buffer); by default read from disk."""
    if finding.rule in SPLIT_RULES:
        return _split(finding, model, text_of or disk_reader(model.root))
    if finding.rule in DRIFT_RULES:
        return _from_model(finding, model)
    return None


# an unsafe operation in the head revision

def _split(finding, model, text_of: TextOf) -> Optional[SafeChange]:
    graph = model.revisions
    if len(graph.heads) != 1:
        return None
    head = graph.by_id[graph.heads[0]]
    if finding.location.path != head.path:
        return None  # only the newest revision is still free to change: older ones may have run somewhere
    for step_number, step in enumerate(model.steps):
        if step.path != head.path:
            continue
        for position, operation in enumerate(step.operations):
            if operation.location != finding.location or not _is_call(text_of, operation.location):
                continue
            request = _request_for(operation)
            if request is None:
                return None
            before = ops.Step(step.path, step.operations[:position], step.revision)
            layer = replay_steps((*model.steps[:step_number], before), naming_convention=model.naming_convention).layer
            inverse = _inverse(head, operation, text_of)
            replaces = (operation.location, *((inverse.location,) if inverse is not None else ()))
            return SafeChange(_("Split into expand / backfill / contract revisions"), request, layer, replaces)
    return None


def _is_call(text_of: TextOf, location: Location) -> bool:
    """Whether the location is a whole `op.*(...)` call, which an edit can remove cleanly."""
    lines = split_lines(text_of(location.path) or "")
    if location.end_line is None or not 0 < location.line <= len(lines):
        return False
    return lines[location.line - 1][location.column - 1:].startswith("op.")


def _request_for(operation) -> Optional[ChangeRequest]:
    if isinstance(operation, ops.AlterColumn):
        if operation.new_name:
            return ChangeRequest("rename-column", operation.table, column=operation.column, new_name=operation.new_name)
        if operation.type:
            return ChangeRequest("change-type", operation.table, column=operation.column, type=operation.type)
        if operation.nullable is False:
            return ChangeRequest("set-not-null", operation.table, column=operation.column)
    if isinstance(operation, ops.RenameTable):
        return ChangeRequest("rename-table", operation.table, new_name=operation.new_name)
    if isinstance(operation, ops.AddColumn) and not operation.column.nullable and is_volatile_default(operation.column.server_default):
        column = operation.column
        return ChangeRequest("add-column", operation.table, column=column.name, type=column.type, default=column.server_default)
    if isinstance(operation, ops.AddConstraint):
        return _constraint_request(operation.table, operation.constraint)
    return None


def _constraint_request(table: str, constraint) -> Optional[ChangeRequest]:
    if isinstance(constraint, ForeignKey):
        return ChangeRequest("add-foreign-key", table, columns=constraint.columns, name=constraint.name,
                             ref=f"{constraint.ref_table}.{','.join(constraint.ref_columns)}", on_delete=constraint.on_delete)
    if isinstance(constraint, CheckConstraint):
        return ChangeRequest("add-check", table, check=constraint.expression, name=constraint.name)
    if isinstance(constraint, UniqueConstraint):
        return ChangeRequest("add-unique", table, columns=constraint.columns, name=constraint.name)
    return None


def _inverse(revision, operation, text_of: TextOf) -> Optional[ops.Operation]:
    """The downgrade call that undoes `operation`, when it is a whole op.* call."""
    for candidate in revision.downgrade:
        if not _is_call(text_of, candidate.location):
            continue
        if isinstance(operation, ops.AlterColumn) and isinstance(candidate, ops.AlterColumn) and candidate.table == operation.table:
            if operation.new_name and candidate.column == operation.new_name and candidate.new_name == operation.column:
                return candidate
            if not operation.new_name and candidate.column == operation.column and (
                    (operation.type and candidate.type) or (operation.nullable is False and candidate.nullable)):
                return candidate
        if isinstance(operation, ops.RenameTable) and isinstance(candidate, ops.RenameTable) and candidate.table == operation.new_name:
            return candidate
        if isinstance(operation, ops.AddColumn) and isinstance(candidate, ops.DropColumn) and candidate.column == operation.column.name:
            return candidate
        if (isinstance(operation, ops.AddConstraint) and isinstance(candidate, ops.DropConstraint)
                and operation.constraint.name and candidate.name == operation.constraint.name):
            return candidate
    return None


# a model edit the migrations do not have

def _from_model(finding, model) -> Optional[SafeChange]:
    orm, database = model.orm.table(finding.table or ""), model.database.table(finding.table or "")
    if orm is None or database is None:
        return None
    request = _model_request(finding, orm, database)
    if request is None:
        return None
    return SafeChange(_("Generate the safe migration for this change"), request, model.database)


def _model_request(finding, orm: Table, database: Table) -> Optional[ChangeRequest]:
    at = finding.location
    if finding.rule == "SL521" and finding.column:
        wanted, existing = orm.column(finding.column), database.column(finding.column)
        if wanted is None:
            return None
        if existing is None:
            default = wanted.server_default or _sql_literal(wanted.default)
            if wanted.nullable or default is None:
                return None  # a nullable column is one safe step; without a value existing rows cannot be filled
            return ChangeRequest("add-column", orm.name, column=wanted.name, type=wanted.type, default=default)
        # Only what differs for PostgreSQL: `timestamp(6)` is `timestamp`, and a server default
        # alone is a one-line catalog change (the finding's fix), not a column replacement.
        difference = next((d for d in column_differences(orm, database) if d.name == wanted.name), None)
        aspects = difference.aspects if difference is not None else ()
        if "type" in aspects:
            return ChangeRequest("change-type", orm.name, column=wanted.name, type=wanted.type)
        if "nullable" in aspects and not difference.orm_nullable:
            return ChangeRequest("set-not-null", orm.name, column=wanted.name)
        return None
    if finding.rule == "SL523":
        key = next((k for k in orm.foreign_keys if _at(k.location, at)), None)
        if key is None or any(k.columns == key.columns and k.ref_table == key.ref_table for k in database.foreign_keys):
            return None
        return _constraint_request(orm.name, key)
    unique = next((u for u in orm.unique_constraints if _at(u.location, at)), None)
    if unique is not None and not any(u.columns == unique.columns for u in database.unique_constraints):
        return _constraint_request(orm.name, unique)
    index = next((i for i in orm.indexes if _at(i.location, at) and not any(i.expressions)), None)
    if index is not None and not any(i.columns == index.columns for i in database.indexes):
        if index.unique:
            return ChangeRequest("add-unique", orm.name, columns=index.columns, name=index.name)
        return ChangeRequest("add-index", orm.name, columns=index.columns, name=index.name, where=index.where, using=index.using)
    return None


def _at(location: Location, finding_location: Location) -> bool:
    return (location.path, location.line) == (finding_location.path, finding_location.line)


def _sql_literal(python_source: Optional[str]) -> Optional[str]:
    """A constant client-side default (`default="web"`, `default=0`) as SQL."""
    if not python_source:
        return None
    try:
        value = ast.literal_eval(python_source)
    except (ValueError, SyntaxError):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None

