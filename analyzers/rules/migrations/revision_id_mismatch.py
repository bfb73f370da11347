from __future__ import annotations

import functools
import re
from typing import Iterator, Optional

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...workspace.discovery import file_name, file_stem, folder_of
from .revision_examples import ALEMBIC_SETUP, revision_file
from ...i18n import _
from ...lazy_pattern import LazyPattern

# A token of a file_template: %(name)s, %(month).2d, ...
_TOKEN = LazyPattern(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdif]")


def file_template(context: AuditContext, folder: str) -> str:
    """The `file_template` of the alembic.ini nearest above `folder` (Alembic's default without one)."""
    # the revisions' reader: asked only of Alembic revisions (an audit of SQL alone does not import it)
    from ...extract.alembic_revisions import DEFAULT_FILE_TEMPLATE, alembic_ini_options, file_template_of, nearest_alembic_ini

    found = nearest_alembic_ini(folder, context.text_of)
    return (file_template_of(alembic_ini_options(found[1])) if found else None) or DEFAULT_FILE_TEMPLATE


def named_after(template: str, revision_id: str, stem: str) -> bool:
    """Whether the template gives a revision with this id the file name `stem` (without .py):
    the template's text and the id where it says, anything where its other tokens are. Matched
    as a glob, not with an expression compiled per revision (a fifth of a cold first look's
    checks, 153 revisions)."""
    pieces = [piece.replace(_REV, revision_id) for piece in _literal_pieces(template)]
    if len(pieces) == 1:
        return stem == pieces[0]
    first, *middle, last = pieces
    if not stem.startswith(first):
        return False
    position = len(first)
    for piece in middle:  # the leftmost place of each leaves the most room for what follows
        position = stem.find(piece, position)
        if position < 0:
            return False
        position += len(piece)
    return len(stem) - len(last) >= position and stem.endswith(last)


_REV = "\0rev\0"  # where the id goes in a piece (no file name holds NUL)


def _carries(stem: str, revision_id: str) -> bool:
    """Whether the file name holds the revision's id as a word of its own, outside the folder's
    pattern: `fa07bd604a75.py` among `<rev>_.py` files (privacyidea) is named after its id."""
    start = stem.find(revision_id)
    while start >= 0:
        end = start + len(revision_id)
        if (start == 0 or not stem[start - 1].isalnum()) and (end == len(stem) or not stem[end].isalnum()):
            return True
        start = stem.find(revision_id, start + 1)
    return False


@functools.lru_cache(maxsize=64)
def _literal_pieces(template: str) -> tuple[str, ...]:
    """The text between the template's tokens other than %(rev)s, which stays in its piece."""
    pieces, piece, position = [], "", 0
    for token in _TOKEN.finditer(template):
        piece += template[position:token.start()]
        if token.group(1) == "rev":
            piece += _REV
        else:
            pieces.append(piece)
            piece = ""
        position = token.end()
    return (*pieces, piece + template[position:])


class RevisionIdMismatch(Rule):
    """## What it finds
    An Alembic revision file whose name does not carry its own revision id, in a folder whose
    files follow the naming pattern (`file_template` of alembic.ini, by default
    `<rev>_<slug>.py`): most files there are named after their id, this one is not. Typically a
    file copied from another revision whose `revision =` was changed, or the reverse. A name
    that holds the id as a word of its own, outside the pattern (`fa07bd604a75.py`), carries it.

    ## Why it matters
    People find revisions by the id in the file name: `alembic history` prints `a1 -> b2`,
    the `alembic_version` table holds `b2`, and a reviewer opens `b2_*.py`. When the name says
    one id and the file another, the wrong file gets edited or restored, a down_revision is
    pointed at the id in the name (which does not exist, breaking the graph), and two files can
    end up claiming the same id.

    ## Example
    ```
    migrations/versions/b2_add_index.py
        revision = "c3"
    ```

    ## Use instead
    Rename the file to match its id (`git mv b2_add_index.py c3_add_index.py`) — or, if the file
    has not run anywhere yet, generate it again with `alembic revision -m "add index"`.

    ## How to verify
    `ls migrations/versions` shows each file starting with the id `alembic history` prints for it.
    """

    code = "SL532"
    name = "revision-id-mismatch"
    dimension = 5
    severity = "P2"
    summary = _("revision id that does not match its file name")

    valid = (Example({**ALEMBIC_SETUP,
                      "migrations/versions/a1_init.py": revision_file("a1", None),
                      "migrations/versions/b2_add_orders.py": revision_file("b2", "a1"),
                      "migrations/versions/c3_add_index.py": revision_file("c3", "b2")}),
             # privacyidea: named after its id alone, among files named `<rev>_<slug>.py`
             Example({**ALEMBIC_SETUP,
                      "migrations/versions/3429d523e51f_.py": revision_file("3429d523e51f", None),
                      "migrations/versions/4f32a4e1bf33_.py": revision_file("4f32a4e1bf33", "3429d523e51f"),
                      "migrations/versions/fa07bd604a75.py": revision_file("fa07bd604a75", "4f32a4e1bf33")}))
    invalid = (
        Example({**ALEMBIC_SETUP,
                 "migrations/versions/a1_init.py": revision_file("a1", None),
                 "migrations/versions/b2_add_orders.py": revision_file("b2", "a1"),
                 "migrations/versions/b2_add_index.py": revision_file("c3", "b2", expect_revision=True)}),
        Example({"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n"
                                           "file_template = %%(year)d_%%(month).2d_%%(day).2d-%%(rev)s_%%(slug)s\n",
                 "migrations/env.py": "",
                 "migrations/versions/2024_01_05-a1_init.py": revision_file("a1", None),
                 "migrations/versions/2024_02_11-b2_add_orders.py": revision_file("b2", "a1"),
                 "migrations/versions/add_index.py": revision_file("c3", "b2", expect_revision=True)}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        folders: dict[str, list] = {}
        for path, revision in sorted(context.model.revision_files.items()):
            folders.setdefault(folder_of(path), []).append(revision)
        for folder, revisions in sorted(folders.items()):
            template = file_template(context, folder)
            mismatched = [r for r in revisions if not named_after(template, r.id, file_stem(r.path))
                          and not _carries(file_stem(r.path), r.id)]
            if (len(revisions) - len(mismatched)) * 2 <= len(revisions):
                continue  # the folder does not follow the pattern: names are free-form there
            for revision in mismatched:
                yield self._finding(revision, template, self._id_in_name(template, revisions, revision))

    @staticmethod
    def _id_in_name(template: str, revisions: list, revision) -> Optional[str]:
        """The id of another revision of the folder that the file name carries, if any."""
        stem = file_stem(revision.path)
        return next((other.id for other in revisions if other.id != revision.id
                     and named_after(template, other.id, stem)), None)

    def _finding(self, revision, template: str, other_id: Optional[str]) -> Finding:
        name = file_name(revision.path)
        slug = re.sub(r"\W+", "_", (revision.message or "").lower()).strip("_")
        expected = template.replace("%(rev)s", revision.id).replace("%(slug)s", slug or "<slug>")
        expected = _TOKEN.sub("<date>", expected) + ".py"
        says = _("the id of revision %(other_id)s", other_id=other_id) if other_id else _("no revision id the folder's pattern puts there")
        return self.finding(
            revision.location, _("%(name)s declares revision %(id)s", name=name, id=revision.id),
            _("%(name)s declares revision %(id)r, but its name carries %(says)s (file_template %(template)s).", name=name, id=revision.id, says=says, template=template),
            impact=_("Worst case: someone restores or edits the wrong file, or points a down_revision at the id in the "
                   "name, and the history breaks. Most likely: confusion in review and when reading alembic history."),
            root_cause=_("The file was copied from another revision and its id edited (or the reverse), or named by hand."),
            fix=Fix(short_term=_("git mv %(path)s %(parent)s/%(expected)s", path=revision.path, parent=folder_of(revision.path), expected=expected),
                    medium_term=_("Create revisions only with `alembic revision` so the name and id come from one place."),
                    long_term=_("CI checks that each revision file name carries its id (schemalens check).")),
            verification=_("ls %(parent)s  # the file of %(id)s is named after it", parent=folder_of(revision.path), id=revision.id))
