"""The first test of code_mention (rules/word_searches.py): a file searched often enough has its
words found once and looked up; the answers stay those of searching its text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from schemalens.analyzers.rules.word_searches import SEARCHES_BEFORE_WORDS, WordSearches, words_of

# Words and separators, among them letters whose case or word-ness differs beyond ASCII: the
# Kelvin sign, long s, dotted capital I, dotless i, é, a CJK character, an em dash, a full-width
# comma.
_FRAGMENTS = ["id", "Id", "ID", "ids", "key", "Key", "s", "as", "order_id", "K", "1", "_", " ", ".", "\n", "(", "'",
              "-", "\u212aey", "\u017f", "\u017fid", "\u0130d", "\u0131d", "\u00e9", "\u4e2d", "\u2014", "\uff0c"]
_texts = st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join)
_words = st.lists(st.sampled_from(["id", "ID", "key", "s", "order_id", "k", "1", "_", "order id", "\u00e9", "-"]),
                  min_size=1, max_size=3)


def _named_by_search(text: str, words: list[str]) -> bool:
    """What code_mention decides for one file without word lookups: each word is in the lowered
    text, then each is a whole word of the text."""
    lowered = text.lower()
    return all(word.lower() in lowered for word in words) \
        and all(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) for word in words)


def _named_by_lookup(text: str, words: list[str]) -> bool:
    """The same with the file's words found at its first search."""
    searches = WordSearches(searches_before_words=0)
    return searches.may_name("a.py", text, text.lower(), words_of(words)) \
        and all(re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE) for word in words)


@settings(max_examples=600, deadline=None)
@given(_texts, _words)
def test_looking_words_up_answers_as_searching_the_text_does(text, words):
    assert _named_by_lookup(text, words) == _named_by_search(text, words)


def test_an_ascii_word_is_looked_up_as_a_whole_word_whatever_its_case():
    searches = WordSearches(searches_before_words=0)
    text = "query = select(Order).where(Order.ix_orders_Status == 1)  # ON CONFLICT"
    assert searches.may_name("a.py", text, text.lower(), words_of(["IX_ORDERS_STATUS"]))
    assert not searches.may_name("a.py", text, text.lower(), words_of(["ix_orders"]))  # only part of a word
    assert searches.may_name("a.py", text, text.lower(), words_of(["on conflict"]))  # a phrase is searched for


def test_a_file_searched_often_has_its_words_found_once_then_looked_up(monkeypatch):
    searches = WordSearches()
    text = "op.drop_constraint('uq_orders_number')\n"
    asked = words_of(["uq_orders_number"])
    for _ in range(SEARCHES_BEFORE_WORDS):
        assert searches.may_name("a.py", text, text.lower(), asked)
    assert searches._entries["a.py"][2] is None  # searched so far
    assert searches.may_name("a.py", text, text.lower(), asked)
    assert searches._entries["a.py"][2] == frozenset({b"op", b"drop_constraint", b"uq_orders_number"})
    assert not searches.may_name("a.py", text, text.lower(), words_of(["uq_orders"]))


def test_a_changed_text_is_searched_again_from_the_start():
    searches = WordSearches(searches_before_words=0)
    before, after = "orders_pkey\n", "orders_id_key\n"
    assert searches.may_name("a.py", before, before.lower(), words_of(["orders_pkey"]))
    assert not searches.may_name("a.py", after, after.lower(), words_of(["orders_pkey"]))
    assert searches.may_name("a.py", after, after.lower(), words_of(["orders_id_key"]))


def test_a_text_beyond_ascii_has_its_ascii_words_found():
    searches = WordSearches(searches_before_words=0)
    text = "# 订单，orders（旧）\nop.rename_table('orders', 'purchases')\n"
    assert searches.may_name("a.py", text, text.lower(), words_of(["orders"]))
    assert b"orders" in searches._entries["a.py"][2]


def test_a_text_with_a_letter_ignorecase_matches_to_ascii_is_searched_however_often():
    searches = WordSearches(searches_before_words=0)
    text = "\u017fession = 1  # long s\nsessions = 2\n"  # `session` as a whole word only with the long s
    for _ in range(3):
        assert searches.may_name("a.py", text, text.lower(), words_of(["session"]))
    assert searches._entries["a.py"][2] is None
