"""SQL migration folders as their migration tools read them: which folders hold migrations, which
tool's layout each follows, which files it runs and in which order, in which SQL dialect, and
which folders are drafts or copies that no migrator reads.

The plan is made from file paths and a few facts per file (its dialect markers, its up/down
section markers), before any file is parsed: it decides how each SQL file is parsed (its kind
and dialect). Grouping the folders into databases (`analyzers/workspace/databases.py`) comes
after parsing.

Layouts, and what each tool runs (down and undo files never are):
- Flyway: `V<version>__x.sql` by version (`1.10` after `1.9`), `R__x.sql` repeatables after
  every versioned one; `U<version>__` undo files are not run.
- golang-migrate, sqlx reversible: `<version>_x.up.sql` by version; `.down.sql` not run.
- ory/pop (Kratos, Hydra): `<version>_x.<dialect>.up.sql` for one engine, `<version>_x.up.sql`
  for all; only the variant of the database's engine runs.
- dbmate (`-- migrate:up` / `-- migrate:down`), goose (`-- +goose Up` / `Down`), sql-migrate
  (`-- +migrate Up` / `Down`), and hand-written files with a `-- Down` section: the up section
  runs, the down section does not.
- Prisma (`<timestamp>_x/migration.sql`), Diesel (`<timestamp>_x/up.sql`) and other folder per
  version layouts: the folders by version.
- Plain numbered or timestamped files (`0001_x.sql`, sqlx `<timestamp>_x.sql`): by number.
Files in a migration folder without a version in their name are not migrations to any of these
tools (a schema dump, seed data): they are read as scripts. A template (pop renders each
migration, Jinja some folders) is read when each of its tags names a value, the tag as that name
(`template_stand_ins`); one with branches or loops, only once rendered: it is not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Callable, Iterable, Optional

from ..i18n import _
from ..extract.sql_dialects import POSTGRESQL, DialectGuess, folder_dialect, label, name_dialect, readable, stem_dialect
from ..lazy_pattern import LazyPattern

# Names of files in a SQL migration folder: Flyway, numbered (sqlx, goose, dbmate, golang-migrate),
# timestamped (also Diesel's 2019-02-26-002946).
_VERSIONED_NAME = LazyPattern(r"^(?:[VUR]\d[\d._]*__|R__|(?:migration|upgrade)_?\d+[_.-]|v?\d[\d-]*[_.-]).*\.sql$", re.IGNORECASE)
_FLYWAY = LazyPattern(r"^([VUR])(\d+(?:[._]\d+)*)?__", re.IGNORECASE)
# A version number, after the word of upgrade scripts named from the version they upgrade
# (kinto's `migration_001_002.sql`: from schema version 1 to 2), or a `V` (authelia's
# `V0001.Initial_Schema.up.sql`, run by its own Go code)
_NUMBER = LazyPattern(r"^(?:(?:migration|upgrade)_?(?=\d+[_.-])|v(?=\d+[_.-]))?(\d[\d-]*)", re.IGNORECASE)
_VERSION_FOLDER = LazyPattern(r"^(?:v?\d[\d._-]*)(?:[_.-].*)?$", re.IGNORECASE)
PER_FOLDER_FILES = ("up.sql", "migration.sql")  # Diesel, sourcegraph; Prisma
_SECTION_MARKERS = {
    "dbmate": LazyPattern(r"^\s*--\s*migrate:up\b", re.IGNORECASE | re.MULTILINE),
    "goose": LazyPattern(r"^\s*--\s*\+goose\s+up\b", re.IGNORECASE | re.MULTILINE),
    "sql-migrate": LazyPattern(r"^\s*--\s*\+migrate\s+up\b", re.IGNORECASE | re.MULTILINE),
}
# Where the down section starts, for every tool that has one in the same file; and a hand-written
# `-- Down` (or `-- ==== DOWN ====`, `-- Down migration`) line alone.
_DOWN_SECTION = LazyPattern(r"^[ \t]*--[ \t]*(?:migrate:down\b|\+goose[ \t]+down\b|\+migrate[ \t]+down\b|"
                           r"[=#*\- \t]*down(?:[ \t]+migration)?[=#*\- \t]*$)[^\n]*", re.IGNORECASE | re.MULTILINE)
_UP_SECTION = LazyPattern(r"^[ \t]*--[ \t]*(?:migrate:up\b|\+goose[ \t]+up\b|\+migrate[ \t]+up\b|"
                         r"[=#*\- \t]*up(?:[ \t]+migration)?[=#*\- \t]*$)[^\n]*", re.IGNORECASE | re.MULTILINE)

# Folder-name words of a copy or draft that no migrator reads.
_DRAFT_WORDS = frozenset({"draft", "drafts", "old", "archive", "archived", "backup", "backups", "bak", "deprecated", "unused",
                          "obsolete", "wip", "tmp", "temp", "scratch", "attic", "trash", "orig", "copy"})
_COPY_DECORATIONS = LazyPattern(r"^(?:v?\d+|new|next|prev|previous|old|bak|backup|copy|draft|wip|tmp|temp|orig|unused|"
                               r"archive|fixed|final|2)$", re.IGNORECASE)
# Folders of test fixtures: their migrations build test databases, not the application's.
_TEST_FOLDERS = frozenset({"tests", "test", "testing", "testdata", "fixtures", "stub", "stubs", "mocks"})


@dataclass(frozen=True, slots=True)
class SqlFileFacts:
    """What the plan needs to know of one SQL file's text (computed once per content)."""

    dialect: DialectGuess  # from its markers alone
    sections: Optional[str] = None  # "dbmate", "goose", "sql-migrate": the tool its section markers name
    # A template (Jinja's `{% if %}`, Go's `{{ range }}`, an expression without a name): SQL only
    # once rendered. A template of named expressions alone is read (`template_stand_ins`).
    template: bool = False


# Jinja's (and Nunjucks', Django's) tags, and Go's text/template actions (pop's migrations):
# pgadmin keeps hundreds of such .sql templates.
_TEMPLATE_TAG = LazyPattern(r"\{%-?\s*[a-z]+\b|\{\{-?\s*[A-Za-z_.]")


def file_facts(text: str) -> SqlFileFacts:
    from ..extract.sql_dialects import text_dialect

    sections = next((tool for tool, marker in _SECTION_MARKERS.items() if marker.search(text)), None)
    template = _TEMPLATE_TAG.search(text) is not None and template_stand_ins(text) is None
    return SqlFileFacts(text_dialect(text), sections, template)


# An expression tag on one line: `{{ schema }}`, `{{ index .Options "Namespace" }}`, `{{- .Name -}}`
_EXPRESSION_TAG = LazyPattern(r"\{\{-?[ \t]*([^{}\n]*?)[ \t]*-?\}\}")
# Go's actions that are not values (a branch, a loop, a definition, a comment, a variable set)
_GO_ACTION = LazyPattern(r"^(?:if|else|end|range|with|define|template|block|break|continue)\b|^/\*|^\$\w*\s*:?=")
_QUOTED_NAME = LazyPattern(r"[\"'`]([A-Za-z_]\w*)[\"'`]")
_NAME = LazyPattern(r"[A-Za-z_]\w*")


def template_stand_ins(text: str) -> Optional[list[tuple[int, int, str]]]:
    """(start, end, name) of each expression tag of a template whose tags are all named values,
    as pop renders a migration's `{{ index .Options "Namespace" }}` or Jinja a `{{ schema }}`: the
    tag stands for an identifier, as Flyway's `${schema}` does, named by its expression's last
    quoted name, else its last name, before any filter or pipe (`{{ schema | lower }}`: schema).
    None when the text holds a statement tag (`{% if %}`, `{{ range }}`) or an expression with no
    name: what the template renders is not known without rendering it."""
    if "{%" in text:
        return None
    stand_ins = []
    for match in _EXPRESSION_TAG.finditer(text):
        expression = match.group(1).split("|")[0].strip()
        if _GO_ACTION.match(expression):
            return None
        names = _QUOTED_NAME.findall(expression) or _NAME.findall(expression.replace("$", " "))
        if not names:
            return None
        stand_ins.append((match.start(), match.end(), names[-1]))
    return stand_ins if "{{" not in _EXPRESSION_TAG.sub("", text) else None


_PLACEHOLDER = LazyPattern(r"\$\{([A-Za-z_][\w.]*)\}")


def runnable_text(text: str) -> str:
    """A migration's text as its tool runs it, offsets kept: the up section only (see
    `up_section`), Flyway/Liquibase `${name}` placeholders read as the identifier `name`, and the
    tags of a template of named values as the identifiers they are named by (`template_stand_ins`)."""
    text = up_section(text)
    if "${" in text:
        text = _PLACEHOLDER.sub(lambda match: match.group(1).replace(".", "_").ljust(len(match.group(0)), "_"), text)
    return with_stand_ins(text)


def with_stand_ins(text: str) -> str:
    """`text` with each tag of `template_stand_ins` as its name, padded to the tag's width (offsets
    and lines kept): with spaces where a token ends after it (`{{ schema }}.users`: `schema
    .users`, which PostgreSQL reads as `schema.users`), with underscores where a word goes on
    (`{{ prefix }}_users`). A tag quoted as an identifier (`"{{ schema }}"`) is the same name
    unquoted, as the other tags read it."""
    stand_ins = template_stand_ins(text) if "{{" in text else None
    if not stand_ins:
        return text
    pieces, last = [], 0
    for start, end, name in stand_ins:
        if text[start - 1:start] == '"' == text[end:end + 1]:  # `"{{ schema }}"."users"`: the name, unquoted
            start, end = start - 1, end + 1
        following = text[end:end + 1]
        padding = " " if following == "" or following.isspace() or following in ".,;()" else "_"
        pieces += [text[last:start], name[:end - start].ljust(end - start, padding)]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def up_section(text: str) -> str:
    """`text` with its down sections blanked (offsets and line numbers kept): what a tool with
    up/down sections in one file (dbmate, goose, sql-migrate, a hand-written `-- Down`) runs."""
    downs = list(_DOWN_SECTION.finditer(text))
    if not downs:
        return text
    ups = [match.start() for match in _UP_SECTION.finditer(text)]
    chars = list(text)
    for down in downs:
        end = next((start for start in ups if start > down.start()), len(text))
        for position in range(down.start(), end):
            if chars[position] != "\n":
                chars[position] = " "
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class SqlLocation:
    """One folder of SQL migrations as its tool reads it."""

    folder: str  # relative, forward slashes ("" for the workspace root)
    tool: str  # "flyway", "up-down", "pop", "dbmate", "goose", "sql-migrate", "prisma", "diesel", "version-folders", "numbered"
    dialect: str
    dialect_reason: str
    files: tuple[str, ...]  # the files the tool runs, in its order
    skipped: tuple[tuple[str, str], ...] = ()  # (path, why it is not run)
    scripts: tuple[str, ...] = ()  # .sql files in the folder that are not migrations to the tool
    draft_reason: str = ""  # why no migrator reads it ("" when one does)
    draft_of: Optional[str] = None  # the folder the migrator reads instead, when it is a copy of one
    test_fixture: bool = False  # under tests/ or testdata/: builds a test database

    @property
    def draft(self) -> bool:
        return bool(self.draft_reason)

    @property
    def readable(self) -> bool:
        return readable(self.dialect)

    @property
    def tool_label(self) -> str:
        return TOOL_LABELS.get(self.tool, self.tool)


TOOL_LABELS = {
    "flyway": "Flyway V<n>__ files", "up-down": "golang-migrate/sqlx .up.sql files", "pop": "ory/pop <dialect>.up.sql files",
    "dbmate": "dbmate -- migrate:up sections", "goose": "goose -- +goose Up sections", "sql-migrate": "sql-migrate -- +migrate Up sections",
    "prisma": "Prisma <timestamp>_x/migration.sql folders", "diesel": "Diesel <timestamp>_x/up.sql folders",
    "version-folders": "one folder per version", "numbered": "numbered files",
}


@dataclass(frozen=True, slots=True)
class SqlPlan:
    locations: tuple[SqlLocation, ...] = ()
    # path -> (kind, dialect, why): kind "sql_migration" (run by a migrator), "sql_draft" (in a
    # folder no migrator reads), "sql_script", "sql_skipped" (not read: down files, other engines).
    files: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def location_of(self, path: str) -> Optional[SqlLocation]:
        for location in self.locations:
            if path in location.files or any(path == skipped for skipped, _ in location.skipped):
                return location
        return None


def plan_sql(paths: Iterable[str], facts: Callable[[str], SqlFileFacts], *, sql_roots: tuple[str, ...] = (),
             workspace_dialect: str = POSTGRESQL) -> SqlPlan:
    """How every .sql file of the workspace is read: the migration folders and their tools, and
    a kind and dialect per file."""
    sql_paths = sorted(p for p in paths if p.endswith(".sql"))
    templates = [path for path in sql_paths if facts(path).template]
    sql_paths = [path for path in sql_paths if not facts(path).template]
    by_folder: dict[str, list[str]] = {}
    for path in sql_paths:
        by_folder.setdefault(_parent(path), []).append(path)
    locations: list[SqlLocation] = []
    taken: set[str] = set()
    candidates = [root.strip("/") for root in sql_roots] if sql_roots else _candidate_folders(by_folder)
    for folder in candidates:
        location = _location(folder, by_folder, facts, workspace_dialect)
        if location is not None:
            locations.append(location)
            taken.update(location.files, (p for p, _ in location.skipped), location.scripts)
    locations = _mark_drafts(locations)
    files: dict[str, tuple[str, str, str]] = {}
    for location in locations:
        kind = "sql_draft" if location.draft else "sql_migration"
        why = location.draft_reason or f"{location.tool_label} in {location.folder or '.'}"
        if not location.readable:
            kind, why = "sql_skipped", _unreadable(location.dialect, location.dialect_reason)
        for path in location.files:
            files[path] = (kind, location.dialect, why)
        for path, reason in location.skipped:
            files[path] = ("sql_skipped", location.dialect, reason)
        for path in location.scripts:
            files[path] = ("sql_script", location.dialect if location.readable else script_dialect(path, facts(path), workspace_dialect),
                           "not a migration to its folder's tool")
    for path in sql_paths:
        if path not in files:
            guess = _guess_of(path, facts(path)) or _sibling_guess(by_folder.get(_parent(path), []), facts)
            dialect = guess.dialect or workspace_dialect
            if readable(dialect):
                files[path] = ("sql_script", dialect, "")
            else:
                files[path] = ("sql_skipped", dialect, _unreadable(dialect, guess.reason))
    for path in templates:
        files[path] = ("sql_skipped", workspace_dialect, _("templates ({{ }}, {% %}): SQL only once rendered"))
    return SqlPlan(tuple(locations), files)


def script_dialect(path: str, facts: SqlFileFacts, workspace_dialect: str) -> str:
    """A file read on its own (a script, a dump): its name, then its folders, then its markers,
    then a word of its name (sql_dialects.stem_dialect)."""
    return (_guess_of(path, facts) or DialectGuess(None)).dialect or workspace_dialect


def _guess_of(path: str, facts: SqlFileFacts) -> Optional[DialectGuess]:
    return name_dialect(path) or folder_dialect(_parent(path)) or (facts.dialect if facts.dialect.dialect else None) \
        or stem_dialect(path)


def _sibling_guess(paths: list[str], facts: Callable[[str], SqlFileFacts]) -> DialectGuess:
    """The engine of a file with no marker of its own (INSERTs of seed data): the one every
    file of its folder that has markers points to."""
    engines = {facts(path).dialect.dialect for path in paths} - {None}
    if len(engines) == 1:
        engine = engines.pop()
        return DialectGuess(engine, f"the other files of its folder are {label(engine)}")
    return DialectGuess(None)


def _unreadable(dialect: str, reason: str) -> str:
    return (f"written for {label(dialect)} ({reason}): SchemaLens reads PostgreSQL, and MySQL, SQLite, SQL Server, "
            "Oracle and ClickHouse through sqlglot")


def _parent(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def _candidate_folders(by_folder: dict[str, list[str]]) -> list[str]:
    """Folders whose files mostly have version names, and folders of version folders (Prisma,
    Diesel: `<version>_x/migration.sql`)."""
    folders = []
    for folder, paths in sorted(by_folder.items()):
        names = [PurePosixPath(p).name for p in paths]
        versioned = sum(1 for name in names if _VERSIONED_NAME.match(name))
        if versioned and versioned * 2 >= len(names):
            folders.append(folder)
    children: dict[str, list[str]] = {}
    for folder in by_folder:
        if folder and _VERSION_FOLDER.match(PurePosixPath(folder).name):
            children.setdefault(_parent(folder), []).append(folder)
    for parent, versions in sorted(children.items()):
        if parent in folders or parent in by_folder and len(by_folder[parent]) > len(versions):
            continue
        # One version folder is enough when the parent is called a migrations folder.
        if len(versions) >= 2 or "migration" in PurePosixPath(parent).name.lower():
            folders.append(parent)
    return sorted(folders)


def _location(folder: str, by_folder: dict[str, list[str]], facts: Callable[[str], SqlFileFacts],
              workspace_dialect: str) -> Optional[SqlLocation]:
    flat = by_folder.get(folder, [])
    version_folders = sorted(f for f in by_folder if _parent(f) == folder and _VERSION_FOLDER.match(PurePosixPath(f).name))
    nested = [p for f in version_folders for p in by_folder[f]]
    if not flat and not nested:
        return None
    if nested and sum(1 for p in flat if _VERSIONED_NAME.match(PurePosixPath(p).name)) < len(version_folders):
        return _folder_per_version(folder, version_folders, by_folder, flat, facts, workspace_dialect)
    return _flat(folder, flat, facts, workspace_dialect)


def _flat(folder: str, paths: list[str], facts: Callable[[str], SqlFileFacts], workspace_dialect: str) -> SqlLocation:
    names = {path: PurePosixPath(path).name for path in paths}
    sections = {facts(path).sections for path in paths} - {None}
    tagged = {path: guess.dialect for path in paths if (guess := name_dialect(path)) is not None}
    if sum(1 for name in names.values() if _FLYWAY.match(name)) * 2 >= len(names):
        tool = "flyway"
    elif sections:
        tool = sorted(sections)[0]
    elif tagged:
        tool = "pop"
    elif any(name.lower().endswith(".up.sql") for name in names.values()):
        tool = "up-down"
    else:
        tool = "numbered"
    dialect, reason = _location_dialect(folder, paths, facts, tagged, workspace_dialect)
    # pop runs one file per version: the variant of its engine when there is one, else the generic one.
    own_variants = {_NUMBER.match(names[path]).group(1) for path, engine in tagged.items()
                    if engine == dialect and _NUMBER.match(names[path])} if tool == "pop" else set()
    runs, skipped, scripts = [], [], []
    for path, name in names.items():
        lower = name.lower()
        if not _version_of(name, tool):
            scripts.append(path)
        elif lower.endswith(".down.sql") or (tool == "flyway" and lower.startswith("u")):
            skipped.append((path, "down migration: not run when migrating up"))
        elif path in tagged and tagged[path] != dialect:
            skipped.append((path, f"the {label(tagged[path])} variant (its file name says so); this folder runs on {label(dialect)}"))
        elif own_variants and path not in tagged and _NUMBER.match(name).group(1) in own_variants:
            skipped.append((path, f"the generic variant: the {label(dialect)} file of the same version runs instead"))
        elif tool == "up-down" and not lower.endswith(".up.sql"):
            scripts.append(path)
        else:
            runs.append(path)
    runs.sort(key=lambda path: version_key(names[path], tool))
    return SqlLocation(folder, tool, dialect, reason, tuple(runs), tuple(sorted(skipped)), tuple(sorted(scripts)),
                       test_fixture=under_tests(folder))


def _folder_per_version(folder: str, version_folders: list[str], by_folder: dict[str, list[str]], flat: list[str],
                        facts: Callable[[str], SqlFileFacts], workspace_dialect: str) -> SqlLocation:
    runs, skipped = [], []
    names = {PurePosixPath(p).name.lower() for f in version_folders for p in by_folder[f]}
    tool = "prisma" if "migration.sql" in names else "diesel" if "up.sql" in names else "version-folders"
    for version_folder in sorted(version_folders, key=lambda f: version_key(PurePosixPath(f).name, tool)):
        for path in sorted(by_folder[version_folder]):
            name = PurePosixPath(path).name.lower()
            if name in ("down.sql",) or name.endswith(".down.sql"):
                skipped.append((path, "down migration: not run when migrating up"))
            elif tool in ("prisma", "diesel") and name not in PER_FOLDER_FILES:
                skipped.append((path, f"not the {'migration.sql' if tool == 'prisma' else 'up.sql'} of its version folder"))
            else:
                runs.append(path)
    paths = runs + [p for p, _ in skipped]
    dialect, reason = _location_dialect(folder, paths, facts, {}, workspace_dialect)
    return SqlLocation(folder, tool, dialect, reason, tuple(runs), tuple(skipped), tuple(sorted(flat)),
                       test_fixture=under_tests(folder))


def _location_dialect(folder: str, paths: list[str], facts: Callable[[str], SqlFileFacts], tagged: dict[str, str],
                      workspace_dialect: str) -> tuple[str, str]:
    """The engine a migration folder runs on: the workspace's when its files are tagged per engine
    and it has that variant; the one its folders name; else the one most of its files' markers
    point to; else the workspace's."""
    if tagged:
        engines = sorted(set(tagged.values()))
        chosen = workspace_dialect if workspace_dialect in engines else engines[0]
        return chosen, f"files tagged per engine ({', '.join(label(e) for e in engines)}): the {label(chosen)} variant is read"
    named = folder_dialect(folder)
    if named is not None:
        return named.dialect, named.reason
    votes: dict[str, int] = {}
    for path in paths:
        guess = facts(path).dialect
        if guess.dialect:
            votes[guess.dialect] = votes.get(guess.dialect, 0) + 1
    best = max(sorted(votes), key=lambda d: (votes[d], d == workspace_dialect)) if votes else workspace_dialect
    # Another engine only when its markers are in a third of the files and outnumber the
    # workspace's: one stray file of MySQL syntax in a PostgreSQL folder is a real error there.
    if best == workspace_dialect or votes[best] <= votes.get(workspace_dialect, 0) or votes[best] * 3 < len(paths):
        return workspace_dialect, "nothing in its files names another engine"
    example = next(facts(p).dialect.reason for p in paths if facts(p).dialect.dialect == best)
    return best, f"{votes[best]} of its {len(paths)} files use {example}"


def version_key(name: str, tool: str) -> tuple:
    """The order a tool runs a migration named `name`: by version as a number (`V1.10` after
    `V1.9`, `10_x` after `9_x`), Flyway repeatables after every versioned migration; Prisma,
    Diesel and dbmate sort their versions as text (`20250625_x` before `20250701120000_y`)."""
    if tool in _TEXT_ORDER:
        return (0, (), name)
    if tool == "version-folders":
        parts = re.match(r"^v?(\d+(?:[._]\d+)*)", name, re.IGNORECASE)
        if parts:
            return (0, tuple(int(part) for part in re.split(r"[._]", parts.group(1))), name)
    flyway = _FLYWAY.match(name)
    if flyway:
        prefix, version = flyway.group(1).upper(), flyway.group(2)
        if prefix == "R":
            return (2, (), name)
        return (0, tuple(int(part) for part in re.split(r"[._]", version or "0")), name)
    number = _NUMBER.match(name)
    if number:
        return (0, (int(number.group(1).replace("-", "")),), name)
    return (1, (), name)


_TEXT_ORDER = frozenset({"prisma", "diesel", "dbmate"})

# The table each tool keeps its history in, created by the tool before the first migration:
# a migration may read or change it (`UPDATE schema_migrations SET dirty = false`).
TOOL_TABLES = {
    "flyway": ("flyway_schema_history", (("installed_rank", "integer", False), ("version", "character varying(50)", True),
                                          ("script", "character varying(1000)", False), ("success", "boolean", False))),
    "up-down": ("schema_migrations", (("version", "bigint", False), ("dirty", "boolean", False))),
    "dbmate": ("schema_migrations", (("version", "character varying(128)", False),)),
    "goose": ("goose_db_version", (("id", "integer", False), ("version_id", "bigint", False), ("is_applied", "boolean", False))),
    "sql-migrate": ("gorp_migrations", (("id", "text", False), ("applied_at", "timestamp with time zone", True))),
    "prisma": ("_prisma_migrations", (("id", "character varying(36)", False), ("migration_name", "character varying(255)", False))),
    "diesel": ("__diesel_schema_migrations", (("version", "character varying(50)", False), ("run_on", "timestamp without time zone", False))),
    "pop": ("schema_migration", (("version", "character varying(48)", False),)),
    "numbered": ("schema_migrations", (("version", "bigint", False),)),
}


def _version_of(name: str, tool: str) -> bool:
    if tool == "flyway":
        return bool(_FLYWAY.match(name))
    return bool(_NUMBER.match(name))


def under_tests(folder: str) -> bool:
    """Whether `folder` (or a file's path) is inside a folder of tests or test data."""
    return any(part.lower() in _TEST_FOLDERS for part in PurePosixPath(folder).parts)


def _words(name: str) -> list[str]:
    return [word for word in re.split(r"[^a-z0-9]+", name.lower()) if word]


def _mark_drafts(locations: list[SqlLocation]) -> list[SqlLocation]:
    """Drafts: a folder named as one (`migrations_old`, `draft/`, `archive/db/migrations`), and a
    decorated copy next to a folder of the same name (`migrations_v2` beside `migrations`)."""
    from dataclasses import replace

    by_parent: dict[str, dict[str, SqlLocation]] = {}
    for location in locations:
        by_parent.setdefault(_parent(location.folder), {})[PurePosixPath(location.folder).name] = location
    marked = []
    for location in locations:
        name = PurePosixPath(location.folder).name
        words = [word for part in PurePosixPath(location.folder).parts for word in _words(part)]
        original = _copied_from(name, by_parent.get(_parent(location.folder), {}))
        if original is not None:
            decoration = name.replace(PurePosixPath(original.folder).name, "", 1)
            location = replace(location, draft_of=original.folder,
                               draft_reason=_("a copy of %(folder)s (the same name with %(decoration)r added)",
                                                            folder=original.folder, decoration=decoration))
        elif any(word in _DRAFT_WORDS for word in words):
            word = next(word for word in words if word in _DRAFT_WORDS)
            location = replace(location, draft_reason=_("its path says it is not the live folder (%(word)r)", word=word))
        marked.append(location)
    return marked


def _copied_from(name: str, siblings: dict[str, SqlLocation]) -> Optional[SqlLocation]:
    """The sibling folder `name` decorates (`migrations_v2`, `old_migrations`, `migrations.bak`)."""
    for other, location in siblings.items():
        if other == name or len(other) >= len(name):
            continue
        for decoration in (name[len(other):] if name.startswith(other) else None,
                           name[:-len(other)] if name.endswith(other) else None):
            if decoration is not None and _COPY_DECORATIONS.match(decoration.strip("_-. ")):
                return location
    return None
