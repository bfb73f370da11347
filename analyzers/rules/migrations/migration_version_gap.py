from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterator

from ...schema.model import Location
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .sql_folders import migration_folders, naming_scheme, version_prefix, whole_version
from ...i18n import _

# Versions this large are timestamps or dates (20240105, 1704412800): gaps are their nature.
_LARGEST_SEQUENCE_NUMBER = 99_999


def numbered_versions(paths: list[str]) -> dict[int, str]:
    """Version -> first file, for a folder numbered 1, 2, 3...; {} when its versions are not such
    a sequence (dotted versions, timestamps, or numbers spread out on purpose, such as 10, 20, 30)."""
    versions: dict[int, str] = {}
    for path in paths:
        if naming_scheme(path) is None:
            continue
        version = whole_version(path)
        if version is None or version > _LARGEST_SEQUENCE_NUMBER:
            return {}
        versions.setdefault(version, path)
    if len(versions) < 2:
        return {}
    # Mostly dense: at most as many numbers missing as there are files.
    if max(versions) - min(versions) + 1 > 2 * len(versions):
        return {}
    return versions


class MigrationVersionGap(Rule):
    """## What it finds
    A numbered SQL migration folder (Flyway `V1__x.sql`, or `0001_x.sql`) whose versions skip a
    number: `V1`, `V2`, `V4`. Folders numbered by timestamp, with dotted versions (`V1.1`), or
    spread out on purpose (10, 20, 30) are not checked.

    ## Why it matters
    A missing number is usually a migration that exists somewhere else: deleted after it ran in
    some environments, renamed, or still on an unmerged branch. When `V3` arrives after `V4` has
    run, Flyway's `validate` fails ("Detected resolved migration not applied to database") and
    the deploy stops, or, with `outOfOrder`, V3 runs after V4 in production and before it on a
    fresh database. If V3 was deleted after running, databases differ by whatever it did.

    ## Example
    ```
    db/V1__init.sql
    db/V2__orders.sql
    db/V4__order_index.sql
    ```

    ## Use instead
    Find out what V3 was (`git log --all -- 'db/V3__*'`, `flyway info` on production). If it
    never ran anywhere, renumber the later files to close the gap before they run; if it ran,
    restore it. Number new migrations from the highest version on the main branch at merge time.

    ## How to verify
    `flyway info` (or `ls db/`) shows consecutive versions, and `flyway validate` passes against
    a production snapshot.
    """

    code = "SL535"
    name = "migration-version-gap"
    dimension = 5
    severity = "P2"
    summary = _("numbered SQL migrations with a missing version")

    valid = (Example({"db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                      "db/V2__more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                      "db/V3__index.sql": "CREATE INDEX ix_b_id ON b (id);\n"}),)
    invalid = (Example({"db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                        "db/V2__more.sql": "CREATE TABLE b (id int PRIMARY KEY);\n",
                        "db/V4__index.sql": "CREATE INDEX ix_b_id ON b (id);  -- expect\n"}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for folder, paths in sorted(migration_folders(context.model).items()):
            versions = numbered_versions(paths)
            ordered = sorted(versions)
            for before, after in zip(ordered, ordered[1:]):
                if after - before > 1:
                    yield self._finding(folder, versions[before], versions[after], range(before + 1, after))

    def _finding(self, folder: str, before: str, after: str, missing: range) -> Finding:
        prefix = version_prefix(after)
        letter = prefix[0] if prefix[0].isalpha() else ""
        width = len(prefix) - len(letter)
        names = ", ".join(f"{letter}{number:0{width}d}" for number in list(missing)[:5]) + (" ..." if len(missing) > 5 else "")
        after_name, before_name = PurePosixPath(after).name, PurePosixPath(before).name
        return self.finding(
            Location(after, 1), _("%(folder)s: version %(names)s missing before %(after_name)s", folder=folder, names=names, after_name=after_name),
            _("%(after_name)s follows %(before_name)s in %(folder)s; version %(names)s is missing.", after_name=after_name, before_name=before_name, folder=folder, names=names),
            impact=_("Worst case: the missing migration ran in some environments and not others, so their schemas differ. "
                   "Most likely: it arrives later from another branch and Flyway refuses to run it after the newer "
                   "version (validate fails), or runs it out of order."),
            root_cause=_("A migration was deleted or renamed after it was numbered, or two branches picked numbers in parallel."),
            fix=Fix(short_term=_("Find what %(names)s was (git log --all -- '%(folder)s/%(split)s*'); restore it if it "
                               "ran anywhere, otherwise renumber %(after_name)s and later files down to close the gap.", names=names, folder=folder, split=names.split(',')[0], after_name=after_name),
                    medium_term=_("CI checks that versions are consecutive and unique (schemalens check)."),
                    long_term=_("Take the next version number at merge time (or use timestamps) instead of at branch time.")),
            verification=_("flyway info shows consecutive versions; flyway validate passes against a production snapshot"),
            related=(Related(Location(before, 1), _("the version before the gap")),))
