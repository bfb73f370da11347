"""Safe migration scaffolding: a schema change that cannot be made in one step becomes expand,
backfill and contract Alembic revisions chained after the current head.

    files = scaffold(model, ChangeRequest("add-column", "orders", column="channel", type="text", default="'web'"))
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Optional

from ..extract.alembic_revisions import (DEFAULT_FILE_TEMPLATE, alembic_ini_options, file_template_of,
                                         find_script_locations, nearest_alembic_ini)
from ..i18n import _
from .changes import HELP, PLANNERS, ChangeHelp, ChangeRequest, ScaffoldError, plan_change

from .revision_files import (ALEMBIC_TEMPLATE, AlembicProject, RevisionFile, render_plan, run_post_write_hooks,
                             sqlalchemy_alias, supported_template, write_files)
from .triggers import with_database_triggers

__all__ = ["CHANGES", "HELP", "ChangeHelp", "ChangeRequest", "RevisionFile", "ScaffoldError", "alembic_project", "run_post_write_hooks", "scaffold",
           "write_files"]

CHANGES = tuple(PLANNERS)


def disk_reader(root: Path):
    """`text_of(path)` over the files under `root` (None for a missing or unreadable one)."""
    def read(path: str) -> Optional[str]:
        try:
            return (root / path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return read


def alembic_project(model) -> AlembicProject:
    """The Alembic project of a workspace model: where revisions go, the head they chain after,
    and the project's naming, template and import style."""
    graph = model.revisions
    if len(graph.heads) > 1:
        raise ScaffoldError(_("the revision graph has %(count)d heads (%(heads)s): merge them first (alembic merge "
                              "heads), then scaffold", count=len(graph.heads), heads=", ".join(graph.heads)))
    if graph.heads:
        head_path = graph.by_id[graph.heads[0]].path
        versions = str(PurePosixPath(head_path).parent)
    else:
        locations = find_script_locations(str(model.root))
        if not locations:
            raise ScaffoldError(_("no Alembic project here (no alembic.ini with script_location, no migrations/versions)"))
        versions, head_path = locations[0], None
    notes: list[str] = []
    read = disk_reader(model.root)
    script_location = PurePosixPath(versions).parent
    found = nearest_alembic_ini(versions, read)
    ini = alembic_ini_options(found[1]) if found else {}
    file_template = file_template_of(ini)
    if file_template is None:
        if ini.get("file_template"):
            notes.append(_("alembic.ini file_template %(template)r has no %%(rev)s; using %(default)s",
                           template=ini["file_template"], default=DEFAULT_FILE_TEMPLATE))
        file_template = DEFAULT_FILE_TEMPLATE
    project_template = read(str(script_location / "script.py.mako"))
    head_text = read(head_path) if head_path else None
    alias = sqlalchemy_alias([text for text in (project_template, head_text) if text]) or "sa"
    template = project_template
    if template is None or not supported_template(template):
        notes.append(_("no script.py.mako beside the versions folder: Alembic's generic template is used")
                     if template is None else
                     _("script.py.mako uses Mako beyond Alembic's own placeholders: Alembic's generic template is used"))
        import_line = "import sqlalchemy" if alias == "sqlalchemy" else f"import sqlalchemy as {alias}"
        template = ALEMBIC_TEMPLATE.replace("import sqlalchemy as sa", import_line)
    try:
        truncate = int(ini.get("truncate_slug_length", 40))
    except ValueError:
        truncate = 40
    ids = tuple(revision.id for revision in graph.by_id.values()
                if str(PurePosixPath(revision.path).parent) == versions)
    return AlembicProject(versions, graph.heads[0] if graph.heads else None, template, file_template, truncate, alias,
                          tuple(notes), ids, found[0] if found else None)


def scaffold(model, request: ChangeRequest, *, layer=None, dsn: Optional[str] = None,
             **render_options) -> tuple[list[RevisionFile], AlembicProject]:
    """The revision files for `request` (not written), and the project facts they follow.
    `layer`: the database the change applies to (default: the migrations replayed to head);
    `dsn`: a database whose catalog gives the table's triggers and their functions as they are
    there (those the migrations do not create too)."""
    if model.config.dialect != "postgresql":
        raise ScaffoldError(_("scaffolding writes PostgreSQL migrations; this workspace's dialect is %(dialect)s",
                              dialect=model.config.dialect))
    project = alembic_project(model)
    layer = layer or model.database
    if dsn:
        layer = with_database_triggers(layer, request.table.rpartition(".")[2], dsn)
    plan = plan_change(request, layer)
    return render_plan(plan, project, **render_options), project
