"""Small Alembic workspaces for the examples of the revision-graph and reversibility rules."""

from __future__ import annotations

from typing import Optional, Sequence, Union

ALEMBIC_SETUP = {"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": ""}


def revision_file(revision: str, down_revision: Union[None, str, Sequence[str]], upgrade: str = "    pass",
                  downgrade: Optional[str] = "    pass", *, header: str = "", expect_revision: bool = False) -> str:
    """The text of a revision file. `upgrade`/`downgrade` are function bodies (indented);
    downgrade None leaves the function out; `header` goes after the identifiers;
    `expect_revision` marks the `revision =` line as where a finding must point."""
    down = repr(down_revision if isinstance(down_revision, (str, type(None))) else tuple(down_revision))
    marker = "  # expect" if expect_revision else ""
    text = (f"from alembic import op\nimport sqlalchemy as sa\n\nrevision = {revision!r}{marker}\ndown_revision = {down}\n"
            f"{header}\n\ndef upgrade():\n{upgrade}\n")
    if downgrade is not None:
        text += f"\n\ndef downgrade():\n{downgrade}\n"
    return text
