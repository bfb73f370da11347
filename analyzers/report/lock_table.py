"""The lock knowledge base as a Markdown table (`schemalens locks`, docs/locks.md)."""

from __future__ import annotations

from ..pg.locks import EFFECTS, sql_name, what_it_blocks


def locks_markdown() -> str:
    lines = ["# PostgreSQL DDL: locks, rewrites and scans", "",
             "Generated from `analyzers/pg/locks.py` (`schemalens locks`). Every row is measured by "
             "`tests/test_lock_knowledge.py` on a real PostgreSQL (CI runs it on the 16 of the pgserver wheel and on the system's PostgreSQL): the example runs "
             "in a transaction, or, for statements PostgreSQL refuses there, while another session makes it wait, "
             "and what its backend holds in pg_locks and whether relfilenode changed are compared with the row.", "",
             "| operation | locks (what they block) | rewrites | scans | in a transaction | example | note |",
             "|---|---|---|---|---|---|---|"]
    for effect in EFFECTS.values():
        locks = "<br>".join(f"{role}: {sql_name(mode)} ({what_it_blocks(mode)})" for role, mode in effect.locks) or "none"
        lines.append(f"| {effect.title} | {locks} | {'yes' if effect.rewrites else 'no'} | "
                     f"{'yes' if effect.scans else 'no'} | {'yes' if effect.transactional else 'refused'} | "
                     f"`{effect.example}` | {effect.note} |")
    return "\n".join(lines) + "\n"
