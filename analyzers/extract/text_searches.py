"""What a text says, found by searching it without a parse: the rows it deletes, archives or
inserts into, in Python code (SQL strings, query-builder calls) and in SQL scripts alike, and
whether a Python module may apply the migrations. Light to import: the audit of a workspace without
Python reads its SQL scripts with it, and the early parse worker searches every file with it,
without the Python extractors.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..lazy_pattern import LazyPattern

_DELETION_STATEMENT = LazyPattern(r"(?:DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|DETACH\s+PARTITION|DROP\s+TABLE(?:\s+IF\s+EXISTS)?)"
                                 r"\s+(?:ONLY\s+)?(?:\"?\w+\"?\.)?\"?(\w+)", re.IGNORECASE)
_INSERT_STATEMENT = LazyPattern(r"\bINSERT\s+INTO\s+(?:\"?\w+\"?\.)?\"?(\w+)", re.IGNORECASE)
_DELETE_CALL = LazyPattern(r"\.delete\(")
# A call that deletes what its arguments name: SQLAlchemy's `delete(Model)`, `delete(db.Log)`,
# `sa.delete(model)`, and a project's helper `_batch_delete(db, db.Log, ...)` or `purge_old(Event)`
# (see _names_a_deletion).
_DELETING_CALL = LazyPattern(r"(?:delete|purge)\w*\(([^()]{0,300})")
# Archiving in place: an UPDATE whose SET (or `.values(...)`) clears a column to NULL, on rows
# chosen by age (a time column or a cutoff compared with `<` near it): not a one-off reset.
_CLEARING_UPDATE_STATEMENT = LazyPattern(r"\bUPDATE\s+(?:ONLY\s+)?(?:\"?\w+\"?\.)?\"?(\w+)\"?\s+SET\s+[^;]{0,200}?=\s*NULL\b",
                                        re.IGNORECASE)
_CLEARING_UPDATE_CONSTRUCT = LazyPattern(r"(?<![.\w])update\(\s*(\w+)\s*\)[^;]{0,600}?\.values\([^)]{0,200}?=\s*None\b")
_AGE_FILTER = LazyPattern(r"\w+_(?:at|date|time|on)\s*<|<\s*\w*(?:older|before|cutoff|ago|expire)|-\s*interval\b", re.IGNORECASE)
_AGE_WINDOW = 800  # characters before and after the UPDATE where its row filter is written
_WORD = LazyPattern(r"\w+")


def deletion_words(text: str) -> frozenset[str]:
    """The words of `text` that name what rows are deleted from or archived (see CodeFacts.deletion_words)."""
    lowered = text.lower()
    words = {match.group(1).lower() for match in _matches(_DELETION_STATEMENT, text, lowered, _DELETION_KEYWORDS)}
    for match in _matches(_DELETING_CALL, text, text, ("delete", "purge")):
        if _names_a_deletion(text, match):
            words.update(word.lower() for word in _WORD.findall(match.group(1)))
    for pattern, searched, keywords in ((_CLEARING_UPDATE_STATEMENT, lowered, ("update",)),
                                        (_CLEARING_UPDATE_CONSTRUCT, text, ("update(",))):
        words.update(match.group(1).lower() for match in _matches(pattern, text, searched, keywords)
                     if _AGE_FILTER.search(text, max(match.start() - _AGE_WINDOW, 0), match.end() + _AGE_WINDOW))
    for match in _DELETE_CALL.finditer(text):
        words.update(word.lower() for word in _WORD.findall(text[max(match.start() - 200, 0): match.start()]))
    return frozenset(words)


def _names_a_deletion(text: str, match: re.Match) -> bool:
    """The called name starts or ends with the verb (`delete`, `purge_old`, `_batch_delete`), not
    one where it qualifies another word (skyvern's `_insert_delete_event` inserts a row)."""
    start = match.start()
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    name = text[start:text.index("(", match.start())]
    words = [word for word in name.lower().split("_") if word]
    return bool(words) and (words[0] in ("delete", "purge") or words[-1] in ("delete", "purge"))


def sql_insert_tables(text: str) -> frozenset[str]:
    """The tables (lower case) that SQL text in `text` inserts rows into."""
    return frozenset(match.group(1).lower() for match in _matches(_INSERT_STATEMENT, text, text.lower(), ("insert",)))


_DELETION_KEYWORDS = ("delete", "truncate", "detach", "drop")


def _matches(pattern: re.Pattern, text: str, searched: str, keywords: tuple[str, ...]) -> Iterator[re.Match]:
    """`pattern.finditer(text)` for a pattern whose matches start with one of `keywords` in
    `searched` (the text itself, or lowered for a pattern that ignores case): tried only where
    they occur. A pattern that starts with a choice of words or a word boundary is tried at every
    position of a file (a millisecond for 1,000 lines), a word is found in a hundredth of that,
    and most files hold none of them: this was a tenth of a cold index."""
    if len(searched) != len(text):  # lowering changed the length (a few Unicode letters): positions differ
        yield from pattern.finditer(text)
        return
    starts = sorted({start for keyword in keywords for start in _occurrences(searched, keyword)})
    end = 0
    for start in starts:
        if start < end:
            continue
        match = pattern.match(text, start)
        if match is not None:
            yield match
            end = match.end()


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + 1)


def may_run_migrations(text: str) -> bool:
    """What a module that `runs_migrations` (module_summary) holds: the word, and the module it
    imports it from ("upgrade" alone is everyday code's word; a walk of a large module costs)."""
    return "upgrade" in text and ("alembic" in text or "flask_migrate" in text)
