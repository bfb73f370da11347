"""Alembic revision files for a plan, written the way the project writes its own: chained after
the current head, named by alembic.ini's `file_template`, rendered from the project's
`script.py.mako` when it uses only what Alembic's own templates use, with the project's
SQLAlchemy import alias.

Templates are filled in by substitution, never by running Mako: a template is project code.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Optional

from ..extract.alembic_revisions import DEFAULT_FILE_TEMPLATE
from .plan import Autocommit, Backfill, Block, InTransaction, Phase, Plan, quote

LOCK_TIMEOUT = "5s"
DDL_STATEMENT_TIMEOUT = "30s"  # DDL here only changes the catalog; anything longer is waiting or scanning
BATCH_STATEMENT_TIMEOUT = "60s"

ALEMBIC_TEMPLATE = '''"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class AlembicProject:
    """What the scaffold needs to know of an Alembic project. Paths are relative to the workspace root."""

    versions: str  # the folder new revision files go to
    head: Optional[str]
    template: str  # script.py.mako text (Alembic's generic one when the project has none or an unsupported one)
    file_template: str = DEFAULT_FILE_TEMPLATE  # alembic.ini's, when it names the revision id
    truncate_slug_length: int = 40
    sqlalchemy_alias: str = "sa"  # how revisions refer to the sqlalchemy module
    notes: tuple[str, ...] = ()  # what was assumed, for the user


@dataclass(frozen=True, slots=True)
class RevisionFile:
    path: str  # relative to the workspace root
    text: str
    revision: str
    phase: str


def supported_template(text: str) -> bool:
    """Only Alembic's own placeholders, and no Mako control lines or blocks."""
    if any(line.lstrip().startswith(("%", "<%")) for line in text.splitlines()):
        return False
    return all(_value(match.group(1), {}) is not None for match in _PLACEHOLDER.finditer(text))


def _value(expression: str, values: dict) -> Optional[str]:
    expression = " ".join(expression.split())
    name = re.fullmatch(r"(\w+)(?: \| comma,n)?|repr\((\w+)\)|(\w+) if \3 else (\"[^\"]*\"|'[^']*')", expression)
    if name is None:
        return None
    plain, represented, conditional, fallback = name.groups()
    key = plain or represented or conditional
    if key not in {"message", "up_revision", "down_revision", "create_date", "imports", "upgrades", "downgrades",
                   "branch_labels", "depends_on"}:
        return None
    value = values.get(key)
    if represented:
        return repr(value)
    if conditional:
        return value if value else fallback[1:-1]
    return "" if value is None else str(value)


def render_template(template: str, values: dict) -> str:
    """Fill the placeholders; a multi-line value keeps the indentation of its placeholder's line."""
    lines = []
    for line in template.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(_PLACEHOLDER.sub(lambda m: (_value(m.group(1), values) or "").replace("\n", "\n" + indent), line))
    return re.sub(r"[ \t]+\n", "\n", "\n".join(lines))


def slug(message: str, length: int) -> str:
    """Alembic's slug of a message: its words, joined by _, lower case, cut at a word."""
    text = "_".join(re.findall(r"\w+", message)).lower()
    if len(text) > length:
        text = text[:length].rsplit("_", 1)[0] + "_"
    return text


def _file_name(project: AlembicProject, revision: str, message: str, now: datetime.datetime) -> str:
    fields = {"rev": revision, "slug": slug(message, project.truncate_slug_length), "epoch": int(now.timestamp()),
              "year": now.year, "month": now.month, "day": now.day, "hour": now.hour, "minute": now.minute,
              "second": now.second}
    return project.file_template % fields + ".py"


# bodies

def _execute(sql: str) -> str:
    if "\n" in sql:
        return 'op.execute(\n    """\n' + sql + '\n    """\n)'
    return f"op.execute({sql!r})" if '"' in sql else f'op.execute("{sql}")'


def _set(parameter: str, value: str) -> str:
    return _execute(f"SET {parameter} = '{value}'" if value != "0" else f"SET {parameter} = 0")


def _indent(lines: list[str], by: str = "    ") -> list[str]:
    return [by + line if line else line for line in "\n".join(lines).split("\n")]


def _backfill_code(block: Backfill, sa: str) -> list[str]:
    table, key = quote(block.table), quote(block.key)
    source = f" FROM {block.source}" if block.source else ""
    qualified = f"{table}.{key}" if block.source else key
    first = f"SELECT min({key}) FROM {table}"
    batch = f"SELECT max({key}) FROM (SELECT {key} FROM {table} WHERE {key} >= :lower ORDER BY {key} LIMIT :size) AS batch"
    update = (f"UPDATE {table} SET {block.assignments}{source} "
              f"WHERE {qualified} BETWEEN :lower AND :upper AND ({block.pending})")
    following = f"SELECT min({key}) FROM {table} WHERE {key} > :upper"
    resume = f"{block.table}_from"
    return [
        "bind = op.get_bind()",
        f"# Resume after an interruption with: alembic -x {resume}=<last key logged> upgrade ...",
        f"lower = context.get_x_argument(as_dictionary=True).get({resume!r})",
        "if lower is None:",
        f"    lower = bind.execute({sa}.text({first!r})).scalar()",
        "done = 0",
        "while lower is not None:",
        f"    upper = bind.execute({sa}.text({batch!r}), {{'lower': lower, 'size': {block.batch_size}}}).scalar()",
        f"    done += bind.execute({sa}.text({update!r}), {{'lower': lower, 'upper': upper}}).rowcount",
        f"    log.info('backfill {block.table}: %s rows updated, up to {block.key} %s', done, upper)",
        f"    lower = bind.execute({sa}.text({following!r}), {{'upper': upper}}).scalar()",
    ]


def render_body(blocks: tuple[Block, ...], sa: str) -> tuple[str, bool]:
    """The Python statements of upgrade() or downgrade(), and whether they need `context`/`log`."""
    if not blocks:
        return "pass  # nothing to undo here: the previous revision's downgrade removes what this one filled in", False
    lines = [_set("lock_timeout", LOCK_TIMEOUT)]
    needs_helpers = False
    for block in blocks:
        if isinstance(block, InTransaction):
            lines.append(_set("statement_timeout", DDL_STATEMENT_TIMEOUT))
            lines += [_execute(sql) for sql in block.statements]
            continue
        lines.append("with op.get_context().autocommit_block():")
        if isinstance(block, Autocommit):
            inner = ["# Long, but holds only locks that let reads and writes go on: no statement timeout.",
                     _set("statement_timeout", "0"), *(_execute(sql) for sql in block.statements)]
        else:
            needs_helpers = True
            inner = [_set("statement_timeout", BATCH_STATEMENT_TIMEOUT), *_backfill_code(block, sa)]
        lines += _indent(inner)
    return "\n".join(lines), needs_helpers


def _docstring(phase: Phase, position: int, total: int, plan: Plan) -> str:
    lines = [f"{phase.summary}", "",
             f"SchemaLens safe migration, step {position} of {total} ({phase.name}) of {plan.change} on {plan.table}.",
             f"Deploy before: {phase.deploy_before}.", f"Deploy after: {phase.deploy_after}."]
    lines += [f"Note: {note}" for note in phase.notes]
    return "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\")


def render_plan(plan: Plan, project: AlembicProject, *, now: Optional[datetime.datetime] = None,
                new_id: Callable[[], str] = lambda: uuid.uuid4().hex[-12:]) -> list[RevisionFile]:
    now = now or datetime.datetime.now()
    files, parent = [], project.head
    for position, phase in enumerate(plan.phases, start=1):
        revision = new_id()
        upgrades, upgrade_helpers = render_body(phase.upgrade, project.sqlalchemy_alias)
        downgrades, downgrade_helpers = render_body(phase.downgrade, project.sqlalchemy_alias)
        imports = ["import logging", "from alembic import context"] if upgrade_helpers or downgrade_helpers else []
        if "import sqlalchemy" not in project.template and (upgrade_helpers or downgrade_helpers):
            imports.append(f"import sqlalchemy as {project.sqlalchemy_alias}")
        message = _docstring(phase, position, len(plan.phases), plan)
        text = render_template(project.template, {
            "message": message, "up_revision": revision, "down_revision": parent, "create_date": now,
            "imports": "\n".join(imports), "upgrades": upgrades, "downgrades": downgrades,
            "branch_labels": None, "depends_on": None})
        if imports:
            text = _with_logger(text)
        path = str(PurePosixPath(project.versions) / _file_name(project, revision, phase.summary, now))
        files.append(RevisionFile(path, text, revision, phase.name))
        parent = revision
    return files


def _with_logger(text: str) -> str:
    """`log` defined after the module's imports (the template decides where those end)."""
    marker = re.search(r"^# revision identifiers", text, re.MULTILINE) or re.search(r"^revision\b", text, re.MULTILINE)
    position = marker.start() if marker else 0
    return text[:position] + 'log = logging.getLogger("alembic.schemalens")\n\n' + text[position:]


def sqlalchemy_alias(texts: list[str]) -> Optional[str]:
    """The name the project's revisions give the sqlalchemy module (`sa` in Alembic's templates)."""
    for text in texts:
        found = re.search(r"^import sqlalchemy(?: as (\w+))?\s*$", text, re.MULTILINE)
        if found:
            return found.group(1) or "sqlalchemy"
    return None


def write_files(root: Path, files: list[RevisionFile], versions: str) -> list[Path]:
    """Write the files, refusing any path outside the versions folder or over an existing file."""
    folder = (root / versions).resolve()
    targets = []
    for revision_file in files:
        target = (root / revision_file.path).resolve()
        if target.parent != folder:
            raise ValueError(f"refusing to write {revision_file.path}: outside the versions folder {versions}")
        if target.exists():
            raise ValueError(f"refusing to overwrite {revision_file.path}")
        targets.append(target)
    folder.mkdir(parents=True, exist_ok=True)
    for target, revision_file in zip(targets, files):
        target.write_text(revision_file.text, encoding="utf-8")
    return targets
