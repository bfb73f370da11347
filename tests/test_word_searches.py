"""The first test of code_mention (rules/word_searches.py): a file searched often enough has its
words found once and looked up; the answers stay those of searching its text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from schemalens.analyzers.rules.word_searches import SEARCHES_BEFORE_WORDS, WordSearches, words_of

# Letters of both cases, digits, `_`, separators, and characters whose case or word-ness differs
# outside ASCII (the Kelvin sign, long s, dotted capital I, é, a CJK character, an em dash).
_ALPHABET = "aAbBkK_19 .,\n('\"-" + "\u212a\u017f\u0130\u00e9\u4e2d\u2014"
_texts = st.text(alphabet=_ALPHABET, max_size=40)
_words = st.lists(st.text(alphabet="abkAK_1 \u00e9\u017f-", min_size=1, max_size=4), min_size=1, max_size=3)


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


def test_a_text_beyond_ascii_is_searched_however_often():
    searches = WordSearches(searches_before_words=0)
    text = "# 订单\nop.rename_table('orders', 'purchases')\n"
    for _ in range(3):
        assert searches.may_name("a.py", text, text.lower(), words_of(["orders"]))
    assert searches._entries["a.py"][2] is None
