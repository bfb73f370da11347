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

from ..i18n import _, translator

from ..extract.alembic_revisions import DEFAULT_FILE_TEMPLATE
from .plan import (Autocommit, Backfill, Block, DropInvalidIndex, InTransaction, Phase, Plan, Unless, object_name, quote,
                   rerunnable)
from ..lazy_pattern import LazyPattern

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

_PLACEHOLDER = LazyPattern(r"\$\{([^}]*)\}")


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
    revision_ids: tuple[str, ...] = ()  # the ids the history has, whose style new ids follow
    ini: Optional[str] = None  # its alembic.ini (for post_write_hooks)


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


def _file_name(project: AlembicProject, revision: str, message: str, now: datetime.datetime, step: Optional[str]) -> str:
    """Named by file_template; the step (`_expand`, `_backfill`, `_contract`) ends the slug, kept
    when the slug is cut to truncate_slug_length."""
    text = slug(message, project.truncate_slug_length - (len(step) + 1 if step else 0))
    if step:
        text = f"{text.rstrip('_')}_{step}"
    fields = {"rev": revision, "slug": text, "epoch": int(now.timestamp()),
              "year": now.year, "month": now.month, "day": now.day, "hour": now.hour, "minute": now.minute,
              "second": now.second}
    return project.file_template % fields + ".py"


# bodies

_BIND_LOOKALIKE = LazyPattern(r"(?<![:\w\\]):(?=\w)")


def _execute(sql: str) -> str:
    # op.execute() reads a string as sqlalchemy.text(), where ":word" is a bind parameter: escape it.
    sql = _BIND_LOOKALIKE.sub(r"\\:", sql)
    if "\n" in sql and ("\\" in sql or '"""' in sql or sql.startswith("CREATE OR REPLACE FUNCTION ")):
        # Kept exactly (a function body's indentation is part of it, backslashes stay backslashes): one
        # Python string literal per line.
        lines = [repr(line) for line in sql.splitlines(keepends=True)]
        return "op.execute(\n" + "\n".join("    " + line for line in lines) + "\n)"
    if "\n" in sql:
        return 'op.execute(\n    """\n' + sql + '\n    """\n)'
    return f"op.execute({sql!r})" if '"' in sql or "\\" in sql else f'op.execute("{sql}")'


def _set(parameter: str, value: str, local: bool = False) -> str:
    scope = "SET LOCAL" if local else "SET"
    return _execute(f"{scope} {parameter} = '{value}'" if value != "0" else f"{scope} {parameter} = 0")


def _reset(lang: str) -> list[str]:
    _ = translator(lang)
    return ["finally:", "    # " + _("The timeouts end with this block: later statements and revisions keep their own."),
            '    op.execute("RESET statement_timeout")', '    op.execute("RESET lock_timeout")']


def _indent(lines: list[str], by: str = "    ") -> list[str]:
    return [by + line if line else line for line in "\n".join(lines).split("\n")]


def _backfill_code(block: Backfill, sa: str, lang: str) -> list[str]:
    _ = translator(lang)
    table, key = quote(block.table), quote(block.key)
    source = f" FROM {block.source}" if block.source else ""
    qualified = f"{table}.{key}" if block.source else key
    first = f"SELECT min({key}) FROM {table}"
    batch = f"SELECT max({key}) FROM (SELECT {key} FROM {table} WHERE {key} >= :lower ORDER BY {key} LIMIT :size) AS batch"
    update = (f"UPDATE {table} SET {block.assignments}{source} "
              f"WHERE {qualified} BETWEEN :lower AND :upper AND ({block.pending})")
    following = f"SELECT min({key}) FROM {table} WHERE {key} > :upper"
    resume = f"{block.table}_from"
    keeper = object_name("zzz_schemalens_keep", block.table, suffix="trigger")  # fires after the table's own
    keep = block.keep_other_columns and block.targets
    loop = [
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
    resume_command = f"alembic -x {resume}=<last key logged> upgrade ..."
    resume_comment = "# " + _("Resume after an interruption with: %(command)s", command=resume_command)
    if not keep:
        return ["bind = op.get_bind()", resume_comment, *loop]
    return [
        "bind = op.get_bind()",
        *("# " + line for line in _(
            "Row triggers of %(table)s that write other columns (updated_at-style) would change more than\n"
            "%(columns)s: while the batches run, a trigger of this revision puts those columns back.",
            table=block.table, columns=", ".join(block.targets)).splitlines()),
        _execute(_keeper_sql(block.table, block.targets, keeper)),
        _execute("SET schemalens.backfill = 'on'"),
        "try:",
        "    " + resume_comment,
        *_indent(loop),
        "finally:",
        '    op.execute("RESET schemalens.backfill")',
        f"    op.execute({f'DROP TRIGGER IF EXISTS {quote(keeper)} ON {table}'!r})",
        f"    op.execute({f'DROP FUNCTION IF EXISTS {quote(keeper)}()'!r})",
    ]


def _keeper_sql(table: str, targets: tuple[str, ...], keeper: str) -> str:
    """A BEFORE UPDATE row trigger, made only when the table has other BEFORE UPDATE row triggers,
    that gives every column but `targets` its old value in sessions that set schemalens.backfill:
    the backfill changes its columns and nothing else, whatever the table's triggers write."""
    literal = lambda text: "'" + text.replace("'", "''") + "'"  # noqa: E731
    relation = literal(quote(table))
    kept = ", ".join(literal(target) for target in targets)
    return (
        "DO $$\nDECLARE\n  assignments text;\nBEGIN\n"
        f"  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {relation}::regclass AND NOT tgisinternal\n"
        f"             AND tgtype & 19 = 19 AND tgname <> {literal(keeper)}) THEN  -- row, before, update\n"
        "    SELECT string_agg(format('NEW.%I := OLD.%I;', attname, attname), ' ') INTO assignments\n"
        f"      FROM pg_attribute WHERE attrelid = {relation}::regclass AND attnum > 0 AND NOT attisdropped\n"
        f"       AND attgenerated = '' AND attname <> ALL (ARRAY[{kept}]::name[]);\n"
        "    EXECUTE format('CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $keep$ BEGIN '\n"
        "                   'IF current_setting(''schemalens.backfill'', true) = ''on'' THEN %s END IF; RETURN NEW; END $keep$',\n"
        f"                   {literal(keeper)}, assignments);\n"
        f"    EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', {literal(keeper)}, {relation});\n"
        f"    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION %I()', {literal(keeper)}, "
        f"{relation}, {literal(keeper)});\n"
        "  END IF;\nEND $$")


def render_body(blocks: tuple[Block, ...], sa: str, lang: str = "en") -> tuple[str, set[str]]:
    """The Python statements of upgrade() or downgrade(), and the names they need imported
    ("context", "log", "sa"). Timeouts are scoped: SET LOCAL in a transaction, reset at the end of
    an autocommit block; every statement can run again after a failure part-way through.
    `lang`: of the comments."""
    if not blocks:
        _ = translator(lang)
        return "pass  # " + _("nothing to undo here: the previous revision's downgrade removes what this one filled in"), set()
    needs: set[str] = set()
    return "\n".join(_render_blocks(blocks, sa, needs, lang)), needs


def _render_blocks(blocks: tuple[Block, ...], sa: str, needs: set[str], lang: str) -> list[str]:
    _ = translator(lang)
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Unless):
            needs.add("sa")
            lines += [f"if not op.get_bind().execute({sa}.text({block.done!r})).scalar():",
                      *_indent(_render_blocks(block.blocks, sa, needs, lang))]
            continue
        if isinstance(block, InTransaction):
            lines += [_set("lock_timeout", LOCK_TIMEOUT, local=True), _set("statement_timeout", DDL_STATEMENT_TIMEOUT, local=True)]
            lines += [_execute(sql) for statement in block.statements for sql in rerunnable(statement)]
            continue
        lines.append("with op.get_context().autocommit_block():")
        inner = [_set("lock_timeout", LOCK_TIMEOUT)]
        if isinstance(block, Autocommit):
            inner += ["# " + _("Long, but holds only locks that let reads and writes go on: no statement timeout."),
                      _set("statement_timeout", "0")]
            body = []
            for statement in block.statements:
                if isinstance(statement, DropInvalidIndex):
                    needs.add("sa")
                    body += _drop_invalid_index(statement.name, sa)
                else:
                    body += [_execute(sql) for sql in rerunnable(statement)]
        else:
            needs |= {"context", "log", "sa"}
            inner.append(_set("statement_timeout", BATCH_STATEMENT_TIMEOUT))
            body = _backfill_code(block, sa, lang)
        inner += ["try:", *_indent(body), *_reset(lang)]
        lines += _indent(inner)
    return lines


def _drop_invalid_index(name: str, sa: str) -> list[str]:
    """A CREATE INDEX CONCURRENTLY that failed leaves an INVALID index: drop it before building again."""
    query = "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"
    return [f"if op.get_bind().execute({sa}.text({query!r}), {{'name': {quote(name)!r}}}).scalar():",
            f"    {_execute(f'DROP INDEX CONCURRENTLY IF EXISTS {quote(name)}')}"]


def _docstring(phase: Phase, position: int, total: int, plan: Plan, lang: str = "en") -> str:
    """The revision's docstring in `lang`; its first line stays Alembic's message (file names come from it)."""
    _ = translator(lang)
    lines = [f"{phase.summary}", "",
             _("SchemaLens safe migration, step %(position)d of %(total)d (%(phase)s) of %(change)s on %(table)s.",
               position=position, total=total, phase=phase.name, change=plan.change, table=plan.table),
             _("Deploy before: %(text)s.", text=_.localize(phase.deploy_before)),
             _("Deploy after: %(text)s.", text=_.localize(phase.deploy_after))]
    lines += [_("Note: %(text)s", text=_.localize(note)) for note in phase.notes]
    return "\n".join(lines).replace('"""', "'''").replace("\\", "\\\\")


_TIMESTAMP_ID = LazyPattern(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?$")
_SEQUENTIAL_ID = LazyPattern(r"^\d{1,7}$")


def _moment_of(revision_id: str) -> Optional[datetime.datetime]:
    """The moment a timestamp id names, or None when it names none (a thirteenth month)."""
    try:
        return datetime.datetime.strptime(revision_id.ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None


def revision_id_maker(existing: tuple[str, ...], now: datetime.datetime) -> Callable[[], str]:
    """New ids in the style of the history's own: timestamps (20240131120501) of the same length,
    numbers one past the highest with the same zero padding, else Alembic's 12 hex digits."""
    def mostly(pattern: re.Pattern) -> bool:
        return bool(existing) and sum(1 for rid in existing if pattern.match(rid)) * 2 > len(existing)

    if mostly(_TIMESTAMP_ID) and all(len(rid) >= 8 for rid in existing if _TIMESTAMP_ID.match(rid)):
        width = max(len(rid) for rid in existing if _TIMESTAMP_ID.match(rid))
        step = {8: datetime.timedelta(days=1), 10: datetime.timedelta(hours=1),
                12: datetime.timedelta(minutes=1)}.get(width, datetime.timedelta(seconds=1))
        highest = max((rid for rid in existing if _TIMESTAMP_ID.match(rid) and len(rid) == width), default="")
        moment = [now]

        def timestamp() -> str:
            text = moment[0].strftime("%Y%m%d%H%M%S")[:width]
            if text <= highest:  # after the newest, even when the clock says otherwise: counted from the newest,
                moment[0] = _moment_of(highest) or moment[0]  # not stepped up to it from a clock months behind
            while text <= highest:
                moment[0] += step
                text = moment[0].strftime("%Y%m%d%H%M%S")[:width]
            moment[0] += step
            return text
        return timestamp
    if mostly(_SEQUENTIAL_ID):
        numbers = [rid for rid in existing if _SEQUENTIAL_ID.match(rid)]
        width, counter = max(len(rid) for rid in numbers), [max(int(rid) for rid in numbers)]

        def sequential() -> str:
            counter[0] += 1
            return str(counter[0]).zfill(width)
        return sequential
    return lambda: uuid.uuid4().hex[-12:]


def render_plan(plan: Plan, project: AlembicProject, *, now: Optional[datetime.datetime] = None,
                new_id: Optional[Callable[[], str]] = None, lang: Optional[str] = None) -> list[RevisionFile]:
    """`lang`: of the docstrings and comments (default English)."""

    now = now or datetime.datetime.now()
    new_id = new_id or revision_id_maker(project.revision_ids, now)
    files, parent = [], project.head
    for position, phase in enumerate(plan.phases, start=1):
        revision = new_id()
        upgrades, upgrade_needs = render_body(phase.upgrade, project.sqlalchemy_alias, lang or "en")
        downgrades, downgrade_needs = render_body(phase.downgrade, project.sqlalchemy_alias, lang or "en")
        needs = upgrade_needs | downgrade_needs
        imports = ["import logging"] if "log" in needs else []
        if "context" in needs:
            imports.append("from alembic import context")
        if "import sqlalchemy" not in project.template and "sa" in needs:
            imports.append(f"import sqlalchemy as {project.sqlalchemy_alias}")
        message = _docstring(phase, position, len(plan.phases), plan, lang or "en")
        text = render_template(project.template, {
            "message": message, "up_revision": revision, "down_revision": parent, "create_date": now,
            "imports": "\n".join(imports), "upgrades": upgrades, "downgrades": downgrades,
            "branch_labels": None, "depends_on": None})
        if "log" in needs:
            text = _with_logger(text)
        text = _lint_clean(text, project.sqlalchemy_alias)
        steps = len(plan.phases) > 1
        message_slug = phase.summary.rsplit(": ", 1)[0] if steps else phase.summary
        path = str(PurePosixPath(project.versions) / _file_name(project, revision, message_slug, now,
                                                                phase.name if steps else None))
        files.append(RevisionFile(path, text, revision, phase.name))
        parent = revision
    return files


def _lint_clean(text: str, alias: str) -> str:
    """What the template's lines would make lint flag in this file (ruff's default rules): its
    sqlalchemy import when nothing here uses it (F401), and `pass` after a docstring (PIE790)."""
    importing = re.compile(rf"^import sqlalchemy(?: as {re.escape(alias)})?[ \t]*\n", re.MULTILINE)
    if len(re.findall(rf"(?<![\w.]){re.escape(alias)}\.", text)) == 0 and len(importing.findall(text)) == 1:
        text = importing.sub("", text)
    return re.sub(r'^([ \t]+(?:"""|\'\'\')[^\n]*(?:"""|\'\'\')[ \t]*\n[ \t]+)pass  # ', r"\1# ", text, flags=re.MULTILINE)


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


def run_post_write_hooks(root: Path, project: AlembicProject, paths: list[Path]) -> list[str]:
    """Runs the alembic.ini `[post_write_hooks]` on each written file, as `alembic revision` does
    (Alembic's own hook runner); returns a note per hook that could not run. Hooks are project
    configuration, run only on files this scaffold just wrote."""
    if project.ini is None:
        return []
    try:
        from alembic.config import Config
        from alembic.script import write_hooks
        from alembic.util import CommandError
    except ImportError:
        return [_("alembic.ini has post_write_hooks, but Alembic is not installed here to run them: "
                  "pip install 'schemalens[verify]', or run them yourself")]
    config = Config(str(root / project.ini))
    if hasattr(config, "get_hooks_list"):  # Alembic 1.16 and later: a list of hooks, each with its options
        hooks = config.get_hooks_list()
    else:
        hooks = config.get_section("post_write_hooks", {})
        hooks = hooks if hooks.get("hooks") else None
    if not hooks:
        return []
    notes = []
    for path in paths:
        try:
            write_hooks._run_hooks(str(path), hooks)
        except (CommandError, OSError) as error:
            notes.append(_("post_write_hooks of %(ini)s failed on %(file)s: %(error)s", ini=project.ini, file=path.name,
                           error=str(error)))
    return notes


def write_files(root: Path, files: list[RevisionFile], versions: str) -> list[Path]:
    """Write the files, refusing any path outside the versions folder or over an existing file."""
    folder = (root / versions).resolve()
    targets = []
    for revision_file in files:
        target = (root / revision_file.path).resolve()
        if target.parent != folder:
            raise ValueError(_("refusing to write %(path)s: outside the versions folder %(folder)s",
                               path=revision_file.path, folder=versions))
        if target.exists():
            raise ValueError(_("refusing to overwrite %(path)s", path=revision_file.path))
        targets.append(target)
    folder.mkdir(parents=True, exist_ok=True)
    for target, revision_file in zip(targets, files):
        target.write_text(revision_file.text, encoding="utf-8")
    return targets
