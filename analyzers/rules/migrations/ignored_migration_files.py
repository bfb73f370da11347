from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path, PurePosixPath
from typing import Iterator

from ...schema.model import Location
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...workspace.discovery import folder_of
from ...workspace.stamps import stamps
from ...i18n import _


# root -> (the paths asked about and their ignore files' stamps, the answer): an edit re-audits
# the same migration files, and git's answer changes only with them or their ignore files.
_ANSWERS: dict[str, tuple[tuple, list[str]]] = {}
# root -> (the question, git's answer to come): asked as the audit starts (`ask_git_ahead`)
_ASKED: dict[str, tuple[tuple, Future]] = {}


def ignored_by_git(root, paths: list[str]) -> list[str]:
    """The paths that git's ignore rules exclude (remembered until the paths or the ignore files
    that apply to them change)."""
    question = _question(root, paths)
    known = _ANSWERS.get(str(root))
    if known is not None and known[0] == question:
        return list(known[1])
    asked = _ASKED.pop(str(root), None)
    answer = asked[1].result() if asked is not None and asked[0] == question else _ask_git(root, paths)
    _ANSWERS[str(root)] = (question, answer)
    return list(answer)


def ask_git_ahead(root, paths: list[str]) -> bool:
    """Ask git about `paths` on a thread, unless its answer is known (False) or asked for
    already: its subprocesses (15-20 ms) run while the audit's other rules do;
    `ignored_by_git` takes the answer."""
    question = _question(root, paths)
    known, asked = _ANSWERS.get(str(root)), _ASKED.get(str(root))
    if known is not None and known[0] == question:
        return False
    if asked is not None and asked[0] == question:
        return True
    answer: Future = Future()

    def ask() -> None:
        try:
            answer.set_result(_ask_git(root, paths))
        except BaseException as error:  # handed to whoever takes the answer
            answer.set_exception(error)
    threading.Thread(target=ask, name="schemalens-git", daemon=True).start()
    _ASKED[str(root)] = (question, answer)
    return True


def _question(root, paths: list[str]) -> tuple:
    return (tuple(paths), _ignore_file_stamps(Path(root), paths))


def _ignore_file_stamps(root: Path, paths: list[str]) -> tuple:
    """(path, mtime, size) of every ignore file git reads for `paths`: the `.gitignore` of each
    folder from the root down to theirs, and the repository's info/exclude."""
    folders = {PurePosixPath(folder) for folder in {folder_of(path) for path in paths}}
    candidates = {root / ".git" / "info" / "exclude"}
    for folder in folders:
        for ancestor in (folder, *folder.parents):
            candidates.add(root / ancestor / ".gitignore")
    return stamps(sorted(candidates))


def _ask_git(root, paths: list[str]) -> list[str]:
    """The paths that git's ignore rules exclude, or [] when git is not installed.

    Outside a repository, or inside one that ignores the whole workspace (a project unpacked
    into another's ignored folder), a throwaway repository in a temp dir reads the workspace's
    own .gitignore files without touching the workspace.
    """
    git = shutil.which("git")
    if not git or not paths:
        return []
    try:
        inside = subprocess.run([git, "-C", str(root), "rev-parse", "--is-inside-work-tree"],
                                capture_output=True, text=True, timeout=10).returncode == 0
        if inside:
            workspace_ignored = subprocess.run([git, "-C", str(root), "check-ignore", "-q", "--no-index", "."],
                                               capture_output=True, text=True, timeout=10).returncode == 0
            inside = not workspace_ignored
        with tempfile.TemporaryDirectory() as scratch:
            if inside:
                command = [git, "-C", str(root)]
            else:
                subprocess.run([git, "init", "-q", scratch], check=True, capture_output=True, timeout=10)
                command = [git, f"--git-dir={scratch}/.git", f"--work-tree={root}", "-C", str(root)]
            completed = subprocess.run([*command, "check-ignore", "--no-index", "--stdin"],
                                       input="\n".join(paths), capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    # Exit 1 means nothing is ignored.
    return completed.stdout.split() if completed.returncode == 0 else []


class IgnoredMigrationFiles(Rule):
    """## What it finds
    Migration files (Alembic revisions, SQL migrations) that the repository's `.gitignore`
    excludes, so they exist on one developer's machine and nowhere else.

    ## Why it matters
    Versions that are not tracked cannot be reproduced: CI, colleagues and production run a
    different chain, `alembic upgrade` fails on a missing down_revision, or a database that was
    migrated from a laptop has tables no migration in the repository creates.

    ## Example
    ```
    # .gitignore
    migrations/versions/
    ```

    ## Use instead
    Track every migration file; ignore only caches (`__pycache__/`). If generated files must
    stay out, generate them in CI from tracked sources instead.

    ## How to verify
    `git check-ignore -v migrations/versions/*.py` prints nothing; `git ls-files migrations`
    lists every revision.
    """

    code = "SL501"
    name = "ignored-migration-files"
    dimension = 5
    severity = "P0"
    summary = _("migration files excluded by .gitignore")

    valid = (Example({".gitignore": "__pycache__/\n", "db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n"}),)
    invalid = (Example({".gitignore": "db/V2__*.sql\n", "db/V1__init.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
                        "db/V2__local.sql": "CREATE TABLE b (id int PRIMARY KEY);  -- expect\n"}),)

    @classmethod
    def ask_ahead(cls, model) -> bool:
        return ask_git_ahead(model.root, _migrations(model))

    @classmethod
    def read_outside(cls, model) -> tuple:
        return _question(model.root, _migrations(model))[1]

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path in ignored_by_git(context.model.root, _migrations(context.model)):
            yield self.finding(
                Location(path, 1), _("%(path)s is ignored by git", path=path),
                _("%(path)s is a migration, but .gitignore excludes it from the repository.", path=path),
                impact=_("Worst case: production is migrated with a chain that exists on one machine only and can never "
                       "be reproduced. Most likely: CI or a colleague's upgrade fails on a missing revision."),
                root_cause=_("A broad ignore pattern (or a deliberate one for local experiments) matches migration files."),
                fix=Fix(short_term=_("git add -f %(path)s (or delete it if it never ran anywhere) and narrow the .gitignore pattern.", path=path),
                        medium_term=_("CI fails when a migration folder contains untracked or ignored files."),
                        long_term=_("Standard: migrations are reviewed and tracked like code.")),
                verification=_("git check-ignore -v %(path)s  # prints nothing", path=path))


def _migrations(model) -> list[str]:
    return sorted(path for path, kind in model.files.items() if kind in ("revision", "sql_migration"))
