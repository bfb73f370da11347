r"""Which files may name a word as a whole word: the first test of `AuditContext.code_mention`,
before its regular expressions run over a file.

A question searches each deployed file's lowered text for its words, and a workspace can ask
many (tracecat's 186 renamed constraints: 0.9 s of its audit, 5 ms a question over 8.6 MB of
code). Finding a text's words once costs about as much as `SEARCHES_BEFORE_WORDS` searches of
it; a lookup in them then costs nearly nothing. So a file is searched until it has been searched
that often, then its words are found and looked up (ski rental: never more than about twice what
the better of the two would have cost, whatever the number of questions).

A word made of ASCII letters, digits and `_` is looked up; others (phrases, words beyond ASCII)
are searched for. A text's words are the maximal runs of `[a-z0-9_]` of its lowered text: they
hold, lowered, every such word that `(?<!\w)word(?!\w)` with IGNORECASE finds in the text (which
then decides), unless the text has one of the four letters beyond ASCII that IGNORECASE matches to
ASCII ones (`_FOLDED_TO_ASCII`): such a text is always searched. The answer is the same either
way, only sooner.
"""

from __future__ import annotations

import string
from typing import Iterable, NamedTuple, Optional, Sequence

# Searches of a text that cost what finding its words once costs (measured on polar's and
# tracecat's deployed code: 21 and 25)
SEARCHES_BEFORE_WORDS = 24

_WORD_BYTES = frozenset((string.ascii_lowercase + string.digits + "_").encode())
# Every byte that cannot be in a lowered ASCII word becomes a space: the words are then `split()`
_SPACED = bytes(byte if byte in _WORD_BYTES else ord(" ") for byte in range(256))
_WORD_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_")
# The letters `re.IGNORECASE` matches to ASCII ones: dotted capital I and dotless i (i), long s (s),
# the Kelvin sign (k). A text without them names an ASCII word only with ASCII letters.
_FOLDED_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")


class Words(NamedTuple):
    """What a question looks for, as `WordSearches.may_name` takes it."""

    lowered: tuple[str, ...]  # every word and phrase, lowered: searched for
    keys: tuple[bytes, ...]  # those that are ASCII words of letters, digits and `_`: looked up
    others: tuple[str, ...]  # the rest of `lowered`


def words_of(words: Iterable[str]) -> Words:
    """The words (or phrases) of a question, as `may_name` takes them."""
    keys: dict[bytes, None] = {}
    others: dict[str, None] = {}
    for word in words:
        if word and _WORD_CHARACTERS.issuperset(word):
            keys[word.lower().encode("ascii")] = None
        else:
            others[word.lower()] = None
    return Words(tuple(key.decode("ascii") for key in keys) + tuple(others), tuple(keys), tuple(others))


class WordSearches:
    """`may_name`, with what it knows of each file kept per path while its text is unchanged
    (as ByPath keeps): how often it was searched, then its words."""

    def __init__(self, searches_before_words: int = SEARCHES_BEFORE_WORDS) -> None:
        self._searches_before_words = searches_before_words
        # path -> [text, searches so far, its words (None until found)]
        self._entries: dict[str, list] = {}
        self._with_words = 0  # how many files had their words found (some may have changed since)

    def among(self, files: Sequence[tuple[str, str, str]], words: Words) -> Optional[list[int]]:
        """The indexes of the `files` ((path, text, lowered text)) that may name every one of
        `words`: all but those whose words are found and lack one (None: all of them). A question
        then calls `may_name` only for those (tracecat: 1.5 ms a question less over 866 files)."""
        if not self._with_words or not words.keys:
            return None
        entries, keys, unknown = self._entries, words.keys, [None, 0, None]
        return [index for index, (path, text, _lowered) in enumerate(files)
                if (entry := entries.get(path, unknown))[2] is None or entry[0] is not text or entry[2].issuperset(keys)]

    def may_name(self, path: str, text: str, lowered: str, words: Words) -> bool:
        """Whether the text of `path` (and `lowered`, the same in lower case) can name every one
        of `words` as a whole word: False only when it names one nowhere."""
        entry = self._entries.get(path)
        if entry is None or entry[0] is not text and entry[0] != text:
            entry = self._entries[path] = [text, 0, None]
        found = entry[2]
        if found is None:
            entry[1] += 1
            if entry[1] > self._searches_before_words and _words_found_exactly(text):
                found = entry[2] = frozenset(lowered.encode("utf-8", "surrogatepass").translate(_SPACED).split())
                self._with_words += 1
            else:
                for word in words.lowered:
                    if word not in lowered:
                        return False
                return True
        for key in words.keys:  # loops, not all(): this runs for every file a question looks at
            if key not in found:
                return False
        for other in words.others:
            if other not in lowered:
                return False
        return True


def _words_found_exactly(text: str) -> bool:
    return text.isascii() or not any(letter in text for letter in _FOLDED_TO_ASCII)
