from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterator

from ...schema.model import Location
from ...workspace.migration_tools import BY_NUMBER
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .sql_folders import migration_folders, naming_scheme, version_prefix, whole_version
from ...i18n import _


class MigrationSortOrder(Rule):
    """## What it finds
    Numbered SQL migration files (`<n>_name.sql`) whose order by name differs from their
    version order, because the numbers are not zero-padded to one width: `10_add_index.sql`
    sorts before `2_orders.sql`. One finding per file that a name-sorting tool would run too
    early.

    Flyway files (`V<n>__name.sql`), golang-migrate files (`<n>_name.up.sql`), and the folders
    of goose and postgres-migrations (Node: in package.json, or its `-- postgres-migrations
    disable-transaction` marker) are not checked: those tools order by the number, not the name.

    ## Why it matters
    Runners that apply "every .sql file in the folder" take them in name order:
    `docker-entrypoint-initdb.d`, shell loops (`for f in db/*.sql`), Liquibase `includeAll`,
    many home-grown scripts. `10_add_index.sql` then runs before `2_orders.sql` creates the
    table, and the migration fails, or, worse, succeeds against a different schema than in
    the environment that ran them in version order.

    ## Example
    ```
    db/1_init.sql
    db/2_orders.sql
    db/10_order_index.sql   # sorts before 2_orders.sql
    ```

    ## Use instead
    Pad the numbers to one width (`001_init.sql`, `002_orders.sql`, `010_order_index.sql`), or
    use timestamps (`20240105120000_orders.sql`). Rename files that have already run only
    together with the runner's history table, if it records file names.

    ## How to verify
    `ls db/` lists the files in version order; a fresh database built by the runner matches one
    built in version order.
    """

    code = "SL536"
    name = "migration-sort-order"
    dimension = 5
    severity = "P1"
    summary = _("migration files whose name order differs from their version order")

    valid = (Example({"db/001_init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                      "db/002_more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                      "db/010_index.sql": "CREATE INDEX ix_b_id ON b (id);\n"}),
             Example({"db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                      "db/V2__more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                      "db/V10__index.sql": "CREATE INDEX ix_b_id ON b (id);\n"}),
             # supabase/storage: postgres-migrations runs 00010-x.sql tenth, whatever its name
             Example({"package.json": '{"dependencies": {"postgres-migrations": "^5.3.0"}}\n',
                      "migrations/0001-init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                      "migrations/0002-more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                      "migrations/00010-index.sql": "CREATE INDEX ix_b_id ON b (id);\n"}))
    invalid = (Example({"db/1_init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                        "db/2_more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                        "db/10_index.sql": "CREATE INDEX ix_b_id ON b (id);  -- expect\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for folder, paths in sorted(migration_folders(context.model).items()):
            if paths and context.sql_transactions.tool_of(paths[0]).tool in BY_NUMBER:
                continue
            numbered = [(whole_version(p), p) for p in paths if naming_scheme(p) == "numbered" and whole_version(p) is not None]
            for version, path in numbered:
                name = PurePosixPath(path).name
                # The earliest file by version that a name sort would put after this one.
                overtaken = min(((v, p) for v, p in numbered if v < version and PurePosixPath(p).name > name), default=None)
                if overtaken is not None:
                    yield self._finding(folder, path, overtaken[1], numbered)

    def _finding(self, folder: str, path: str, overtaken: str, numbered: list) -> Finding:
        name, other = PurePosixPath(path).name, PurePosixPath(overtaken).name
        width = max(len(version_prefix(p)) for _, p in numbered)
        padded = f"{int(version_prefix(path)):0{width}d}{name[len(version_prefix(path)):]}"
        return self.finding(
            Location(path, 1), _("%(name)s sorts before %(other)s", name=name, other=other),
            _("In %(folder)s, %(name)s comes before %(other)s by name but after it by version: a runner that applies files "
            "in name order runs it too early.", folder=folder, name=name, other=other),
            impact=_("Worst case: %(name)s runs before %(other)s in one environment and after it in another, and the schemas "
                   "differ silently. Most likely: it fails on a fresh database because what it changes does not exist yet.", name=name, other=other),
            root_cause=_("Version numbers without zero padding, so name order and number order disagree from 10 on."),
            fix=Fix(short_term=_("Zero-pad the versions of %(folder)s to %(width)s digits (git mv %(path)s %(folder)s/%(padded)s, "
                               "and the same for the others); update the runner's history table if it records file names.", folder=folder, width=width, path=path, padded=padded),
                    medium_term=_("CI checks that name order equals version order in migration folders (schemalens check)."),
                    long_term=_("Generate migration names from a tool that pads or timestamps them.")),
            verification=_("ls %(folder)s  # lists the files in version order", folder=folder),
            related=(Related(Location(overtaken, 1), _("an earlier version sorted after it")),))
