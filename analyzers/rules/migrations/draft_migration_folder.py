from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterator

from ...schema.model import Location
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _, join

_SHOWN = 3


class DraftMigrationFolder(Rule):
    """## What it finds
    A folder of SQL migrations that no migrator reads, next to the one that is read: a copy with
    a suffix (`migrations_old`, `migrations_v2`, `migrations.bak` beside `migrations`) or a
    folder whose path says it is a draft, backup or archive (`draft/`, `archive/db/migrations`).
    SchemaLens does not replay it into any database.

    ## Why it matters
    Readers, reviewers and tools cannot tell which folder is live: a fix lands in the copy and
    never runs, a migration that only exists in the draft is believed to be applied, and search
    results show two definitions of every table. A new environment is built from one folder
    while the team reasons about the other.

    ## Example
    ```
    services/orders/db/migrations/V1__create_orders.sql
    services/orders/db/migrations_old/V1__create_orders.sql
    services/orders/db/migrations_old/V2__order_lines.sql   # never applied anywhere?
    ```

    ## Use instead
    Delete the copy (`git rm -r`; git history keeps it). If it holds a migration that never
    made it into the live folder, move that file there with the next free version first.
    Experiments belong on a branch, not in a second folder.

    ## How to verify
    `git ls-files '*migrations*'` lists one migration folder per database, and the migrator's
    configuration (`flyway.locations`, `-path`, `--migrations-dir`) names it.
    """

    code = "SL574"
    name = "draft-migration-folder"
    dimension = 5
    severity = "P2"
    summary = _("draft or copied SQL migration folder next to the live one")

    valid = (Example({"db/migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                      "db/migrations/V2__items.sql": "CREATE TABLE items (id bigint PRIMARY KEY);\n"}),)
    invalid = (Example({"db/migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
                        "db/migrations_old/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);  -- expect\n",
                        "db/migrations_old/V2__lines.sql": "CREATE TABLE lines (id bigint PRIMARY KEY);\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        locations = {location.folder: location for location in getattr(context.model, "sql_locations", ())}
        for location in locations.values():
            if not location.draft or not location.files:
                continue
            live = locations.get(location.draft_of) if location.draft_of else None
            yield self._finding(context, location, live)

    def _finding(self, context: AuditContext, draft, live) -> Finding:
        folder = draft.folder or "."
        related: tuple[Related, ...] = ()
        if live is not None and live.files:
            live_names = {PurePosixPath(path).name: path for path in live.files}
            only_here = [path for path in draft.files if PurePosixPath(path).name not in live_names]
            changed = [path for path in draft.files if PurePosixPath(path).name in live_names
                       and context.text_of(path) != context.text_of(live_names[PurePosixPath(path).name])]
            differences = []
            if only_here:
                differences.append(_("%(count)s file(s) only here (%(value)s)", count=len(only_here), value=', '.join(PurePosixPath(p).name for p in only_here[:_SHOWN])))
            if changed:
                differences.append(_("%(count)s file(s) that differ from the live copy "
                                   "(%(value)s)", count=len(changed), value=', '.join(PurePosixPath(p).name for p in changed[:_SHOWN])))
            detail = _("%(reason)s; it has %(differences)s", reason=draft.draft_reason,
                       differences=join(_(" and "), differences) if differences else _("nothing the live folder lacks"))
            related = (Related(Location(live.files[0], 1), _("the folder the migrator reads")),)
            move = (" " + _("First move %(files)s into %(folder)s with the next free version if it must run.",
                              files=", ".join(PurePosixPath(p).name for p in only_here[:_SHOWN]), folder=live.folder)
                    if only_here else "")
            short = _("git rm -r %(folder)s.%(move)s", folder=folder, move=move)
        else:
            detail = draft.draft_reason
            short = _("Delete %(folder)s (git history keeps it), or move what must run into the live migration folder.", folder=folder)
        return self.finding(
            Location(draft.files[0], 1), _("%(folder)s is a migration folder no migrator reads", folder=folder),
            _("%(folder)s: %(detail)s. SchemaLens does not replay it.", folder=folder, detail=detail),
            impact=_("Worst case: a fix or a migration lives only in the copy and never reaches any database. Most likely: "
                   "readers and search results show two definitions and review the wrong one."),
            root_cause=_("A folder was copied to try a new history (or kept as a backup) and never removed."),
            fix=Fix(short_term=short,
                    medium_term=_("One migration folder per database, named in the migrator's configuration; CI fails on "
                                "other folders of SQL migrations."),
                    long_term=_("Experiments on branches; backups in git history.")),
            verification=_("git ls-files %(folder)s  # prints nothing", folder=folder),
            related=related)
