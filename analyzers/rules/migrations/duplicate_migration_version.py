from __future__ import annotations

import re
from collections import defaultdict
from typing import Iterator

from ...schema.model import Location
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...workspace.discovery import file_name, folder_of
from ...i18n import _
from ...lazy_pattern import LazyPattern

_SQL_VERSION = LazyPattern(r"^(?:V|U)?(\d+(?:[._]\d+)*)(?=__|_|\.|-)", re.IGNORECASE)


def sql_version(path: str) -> str | None:
    """The version of a SQL migration file name: V1_2__x.sql -> "1.2", 0003_x.up.sql -> "3"."""
    match = _SQL_VERSION.match(file_name(path))
    if not match:
        return None
    return ".".join(str(int(part)) for part in re.split(r"[._]", match.group(1)))


class DuplicateMigrationVersion(Rule):
    """## What it finds
    Two Alembic revision files with the same `revision` id, or two files of one SQL migration
    folder with the same version number (`V3__a.sql` and `V3__b.sql`, `0003_x.sql` and `003_y.sql`).

    ## Why it matters
    The migration tool picks one and silently skips the other, or refuses to run at all
    ("Multiple revisions", Flyway's "Found more than one migration with version 3"). Which one
    ran differs between environments, so schemas drift apart without anyone noticing. It
    happens when two branches each add "the next" migration.

    ## Example
    ```
    migrations/versions/3f2a_add_orders.py   revision = "3f2a"
    migrations/versions/3f2a_add_index.py    revision = "3f2a"
    ```

    ## Use instead
    Give the newer file a fresh id (`alembic revision` generates one) and chain it after the
    other; for SQL folders, renumber the newer file to the next free version. A CI check
    (`schemalens check`) catches it before merge.

    ## How to verify
    `alembic heads` and `alembic history` list every revision once; `flyway validate` passes.
    """

    code = "SL502"
    name = "duplicate-migration-version"
    dimension = 5
    severity = "P0"
    summary = _("duplicate revision id or SQL migration version")

    valid = (Example({"db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                      "db/V2__more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n"}),
             # dispatch: two Alembic environments (core and tenant schemas), one alembic_version table each
             Example({"alembic.ini": "[core]\nscript_location = revisions/core\n\n[tenant]\nscript_location = revisions/tenant\n",
                      "revisions/core/env.py": "", "revisions/tenant/env.py": "",
                      **{f"revisions/{name}/versions/a1_init.py": (
                          "from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                          f"def upgrade():\n    op.create_table('{name}_t', sa.Column('id', sa.Integer(), primary_key=True))\n\n"
                          f"def downgrade():\n    op.drop_table('{name}_t')\n") for name in ("core", "tenant")}}))
    invalid = (Example({"db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                        "db/V2__more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                        "db/V2__other.sql": "CREATE TABLE c (id int PRIMARY KEY);  -- expect\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        groups: dict[tuple[str, str, str], list] = defaultdict(list)
        environments = [history.environment for history in context.model.histories]
        for path, revision in sorted(context.model.revision_files.items()):
            # Each Alembic environment keeps its own alembic_version table: ids clash only within one.
            environment = next((e.name for e in environments if e.owns(path)), "")
            groups[("revision", environment, revision.id)].append(revision.location)
        for path in sorted(p for p, kind in context.model.files.items() if kind == "sql_migration"):
            version = sql_version(path)
            if version is not None:
                groups[(folder_of(path), "", version)].append(Location(path, 1))
        for (scope, _kind, version), locations in sorted(groups.items()):
            first = locations[0]
            for location in locations[1:]:
                what = _("revision id %(version)s", version=version) if scope == "revision" else _("version %(version)s in %(scope)s", version=version, scope=scope)
                yield self.finding(
                    location, _("duplicate %(what)s", what=what),
                    _("%(path)s reuses the %(what)s of %(path_2)s.", path=location.path, what=what, path_2=first.path),
                    impact=_("Worst case: environments run different migrations under the same version and their schemas "
                           "diverge silently. Most likely: the migration tool refuses to run and the deploy stops."),
                    root_cause=_("Two branches each added the next migration with the same version."),
                    fix=Fix(short_term=_("Give %(path)s a new, unused version and chain it after %(path_2)s.", path=location.path, path_2=first.path),
                            medium_term=_("Check on every pull request that versions are unique (schemalens check)."),
                            long_term=_("Generate versions from the tool (alembic revision) or timestamps, never by hand.")),
                    verification=_("alembic history (or flyway info) lists each version once; a rehearsal from an empty "
                                 "database applies both migrations."),
                    related=(Related(first, _("first use")),))

