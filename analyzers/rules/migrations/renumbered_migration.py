from __future__ import annotations

import re
from typing import Iterator, Optional

from ...schema.model import Location
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...workspace.discovery import file_name
from .sql_history import checked_databases, display_name
from ...i18n import _
from ...lazy_pattern import LazyPattern

# `002a_x.sql`, `V2a__x.sql`: a version with a letter, squeezed between two numbers.
_SUFFIXED = LazyPattern(r"^(V?)(\d+)([A-Za-z])(?=[_.-])")
# The title of a migration: its first comment line starting with a version or a file name,
# e.g. `-- V2a__add_priority.sql: ...`, `-- Migration 0012a: ...`, `/* 012a_add_priority */`.
_TITLE = LazyPattern(r"^\s*(?:--+|/\*+|#)\s*(?:"
                    r"(?:migration|version|revision)\s*[:#]?\s*(?P<named>V?\d+[a-z]?(?:[._]\d+)*)\b"
                    r"|(?P<flyway>(?-i:V)\d+[a-z]?(?:[._]\d+)*)(?=__|\s*[:\-]\s|\s*$)"
                    r"|(?P<padded>\d{3,6}[a-z]?)(?=_[A-Za-z]|\s*[:\-]\s|\s*$))", re.IGNORECASE)
_FILE_VERSION = LazyPattern(r"^(?:V|U)?(\d+[a-z]?(?:[._]\d+)*)(?=__|_|\.|-)", re.IGNORECASE)

_TOOL_CONSEQUENCE = {
    "flyway": _("Flyway refuses it (a version must be numeric: validate and migrate fail)"),
    "up-down": _("golang-migrate and sqlx skip or refuse it (their versions are integers), so it never runs there"),
    "goose": _("goose refuses it (its versions are integers)"),
    "pop": _("pop skips it (its versions are integers)"),
}


def _version(path: str) -> Optional[str]:
    """The version a file name carries, normalized: `V0012a__x.sql` -> "12a"."""
    match = _FILE_VERSION.match(file_name(path))
    if not match:
        return None
    return _normalized(match.group(1))


def _normalized(version: str) -> str:
    version = version.lower().lstrip("v")
    parts = re.split(r"[._]", version)
    return ".".join(part.lstrip("0") or "0" for part in parts)


class RenumberedMigration(Rule):
    """## What it finds
    SQL migrations whose version says they were patched in or renumbered by hand: a version
    with a letter (`002a_backfill.sql`, `V2a__fix.sql`) squeezed between two numbers, and a
    migration whose title comment names another version than its file name (`-- V2a__add_priority.sql`
    in `V4__add_priority.sql`: renumbered, the header kept).

    ## Why it matters
    Tools read versions as numbers: Flyway refuses `V2a`, golang-migrate and sqlx skip or refuse
    `002a_`, and a runner that sorts by name puts it after `002_` while one that sorts by number
    sees two `002`s. A renumbered migration ran under its old version where it was first
    applied and under the new one everywhere else, so the tool's history tables disagree, and
    the new number may sort it after a migration that needs what it creates.

    ## Example
    ```
    002_add_channel.sql
    002a_backfill_channel.sql   -- added later, between 002 and 003
    003_index_channel.sql
    ```

    ## Use instead
    Give the patch the next free version and keep the old number in its header ("was 002a on
    production, renumbered on 2024-05-02"), or fold it into the migration it patches if that
    never ran anywhere. Update the header of a renumbered file, and the tool's history table of
    the databases that ran it under the old version (`flyway repair`, `UPDATE schema_migrations`).

    ## How to verify
    The tool's info/status command lists every file once, in the intended order, with the
    version in its name; a fresh database and a production one record the same versions.
    """

    code = "SL573"
    name = "renumbered-migration"
    dimension = 5
    severity = "P2"
    summary = _("patched-in (002a_) or renumbered SQL migration version")

    valid = (Example({"db/001_notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY);\n",
                      "db/002_channel.sql": "-- 002: the delivery channel\nALTER TABLE notifications ADD COLUMN channel text;\n"}),)
    invalid = (Example({"db/001_notifications.sql": "CREATE TABLE notifications (id bigint PRIMARY KEY, channel text);\n",
                        "db/002_index.sql": "CREATE INDEX notifications_channel_idx ON notifications (channel);\n",
                        "db/002a_backfill_channel.sql": "UPDATE notifications SET channel = 'email';  -- expect\n",
                        "db/003_body.sql": "ALTER TABLE notifications ADD COLUMN body text;\n"}),
               Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                        "db/V2__priority.sql": ("-- V1a__add_order_priority.sql: hotfix applied by hand  -- expect\n"
                                                "ALTER TABLE orders ADD COLUMN priority smallint;\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for database in checked_databases(context.model):
            by_version: dict[str, str] = {}
            for path in database.files:
                version = _version(path)
                if version is not None:
                    by_version.setdefault(version, path)
            tools = {path: location.tool for location in database.locations for path in location.files}
            for path in database.files:
                suffixed = _SUFFIXED.match(file_name(path))
                if suffixed:
                    yield self._patched(database, path, suffixed, by_version, tools.get(path, ""))
                title = self._title(context, path)
                if title is not None:
                    line, named = title
                    own = _version(path)
                    if own is not None and _normalized(named) != own:
                        yield self._mismatch(database, path, line, named, by_version)

    @staticmethod
    def _title(context: AuditContext, path: str) -> Optional[tuple[int, str]]:
        """(line, version) of the version the file's first comment line starts with."""
        text = context.text_of(path) or ""
        for number, line in enumerate(text.splitlines()[:5], start=1):
            if not line.strip():
                continue
            if not line.lstrip().startswith(("--", "/*", "#")):
                return None
            match = _TITLE.match(line)
            return (number, match.group("named") or match.group("flyway") or match.group("padded")) if match else None
        return None

    def _patched(self, database, path: str, suffixed, by_version: dict[str, str], tool: str) -> Finding:
        name = display_name(path)
        base_version = _normalized(suffixed.group(2))
        base = by_version.get(base_version)
        consequence = _TOOL_CONSEQUENCE.get(tool, _("a runner that sorts by name runs it after the files of version "
                                                    "%(version)s, one that sorts by number sees two of them",
                                                    version=suffixed.group(2)))
        related = (Related(Location(base, 1), _("the migration it was squeezed after")),) if base and base != path else ()
        return self.finding(
            Location(path, 1), _("%(name)s is a patch version squeezed between two migrations", name=name),
            _("In %(label)s, %(name)s has the version %(group)s%(group_2)s%(group_3)s: "
            "%(consequence)s.", label=database.label, name=name, group=suffixed.group(1), group_2=suffixed.group(2), group_3=suffixed.group(3), consequence=consequence),
            impact=_("Worst case: the patch never runs on new databases, or runs in a different place than where it was "
                   "first applied. Most likely: environments disagree on the order, and the tool's history tables differ."),
            root_cause=_("A fix was inserted between two shipped migrations instead of getting the next free version."),
            fix=Fix(short_term=(_("Renumber %(name)s to the next free version of the folder with a header note naming its "
                                "old number (and update the history table of databases that ran it), or fold it into "
                                "%(value)s if that never ran anywhere.", name=name, value=display_name(base) if base else _('the migration it patches'))),
                    medium_term=_("CI rejects migration versions that are not numbers of the tool's scheme."),
                    long_term=_("Take versions at merge time or use timestamps; never squeeze a migration between two others.")),
            verification=_("the tool's info/status command lists the file with a plain numeric version, in order"),
            related=related)

    def _mismatch(self, database, path: str, line: int, named: str, by_version: dict[str, str]) -> Finding:
        name = display_name(path)
        other = by_version.get(_normalized(named))
        where = (_("which is the version of %(name)s", name=display_name(other)) if other and other != path
                 else _("a version no file of the folder has now: the file was renumbered"))
        related = (Related(Location(other, 1), _("has version %(named)s", named=named)),) if other and other != path else ()
        return self.finding(
            Location(path, line), _("%(name)s says it is %(named)s", name=name, named=named),
            _("In %(label)s, the header of %(name)s names version %(named)s, %(where)s.", label=database.label, name=name, named=named, where=where),
            impact=_("Worst case: databases that ran it under the old version and those that run it under the new one "
                   "record different histories, and a later rename or squash misses one. Most likely: reviewers and "
                   "the tool disagree on which migration this is."),
            root_cause=_("The file was renumbered (or copied from another migration) and its header kept the old version."),
            fix=Fix(short_term=(_("Correct the header of %(name)s and say which version it had before (\"renumbered from "
                                "%(named)s\"); where it ran as %(named)s, update that database's history table.", name=name, named=named)),
                    medium_term=_("Generate headers from the file name, or drop versions from headers."),
                    long_term=_("Standard: shipped migrations keep their versions; fixes are new migrations.")),
            verification=_("head -1 %(path)s  # names the version of the file name", path=path),
            related=related)
