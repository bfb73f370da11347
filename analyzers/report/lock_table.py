"""The lock knowledge base as a Markdown table (`schemalens locks`, docs/locks.md)."""

from __future__ import annotations

from ..i18n import translator
from ..pg.locks import EFFECTS, sql_name, what_it_blocks


def locks_markdown(lang: str = "en") -> str:
    _ = translator(lang)
    lines = ["# " + _("PostgreSQL DDL: locks, rewrites and scans"), "",
             _("Generated from `analyzers/pg/locks.py` (`schemalens locks`). Every row is measured by "
             "`tests/test_lock_knowledge.py` on a real PostgreSQL (CI runs it on the 16 of the pgserver wheel and on the system's PostgreSQL): the example runs "
             "in a transaction, or, for statements PostgreSQL refuses there, while another session makes it wait, "
             "and what its backend holds in pg_locks and whether relfilenode changed are compared with the row."), "",
             _("| operation | locks (what they block) | rewrites | scans | in a transaction | example | note |"),
             "|---|---|---|---|---|---|---|"]
    tr = _.localize
    yes, no, refused, none = _("yes"), _("no"), _("refused"), _("none")
    for effect in EFFECTS.values():
        locks = "<br>".join(f"{tr(role)}: {sql_name(mode)} ({tr(what_it_blocks(mode))})" for role, mode in effect.locks) or none
        lines.append(f"| {tr(effect.title)} | {locks} | {yes if effect.rewrites else no} | "
                     f"{yes if effect.scans else no} | {yes if effect.transactional else refused} | "
                     f"`{effect.example}` | {tr(effect.note)} |")
    return "\n".join(lines) + "\n"
