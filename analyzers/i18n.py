"""Languages of the texts SchemaLens shows: gettext catalogs under `locale/` (domain
`schemalens`), extracted and compiled with Babel (see locale/README.md).

Two ways to mark a text:
- Where it is written once and shown later, in a language chosen by whoever shows it (a rule's
  finding, a rule's summary): `_("... %(table)s ...", table=name)` returns a `Message`, a `str`
  whose value is the English text and which remembers its id and parameters; a renderer calls
  `translator(lang).localize(text)`. English code paths (tests, JSON, SARIF) see plain English.
- Where the language is known (a report renderer): `_ = translator(lang)`, then `_("...")` and
  `_.ngettext(...)` return translated `str`s at once.

Message ids are the English texts, with named placeholders (`%(table)s`): a translation may put
them in another order. Parameters that are Messages themselves are translated too.
"""

from __future__ import annotations

import gettext as _gettext
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

DOMAIN = "schemalens"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"


def normalize_language(value: Any) -> Optional[str]:
    """"zh", "zh-cn", "zh-CN", "zh_Hans", "zh-TW" -> "zh"; "en", "en-US" -> "en"; anything else
    (a language we have no catalog for, or not a string) -> None."""
    if not isinstance(value, str) or not value.strip():
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


class Text(str):
    """A text that can be shown in another language: `translate(lang)`. Its `str` value is English."""

    def translate(self, lang: str) -> str:
        raise NotImplementedError

    def __add__(self, other: str) -> "Joined":
        return Joined((self, other))

    def __radd__(self, other: str) -> "Joined":
        return Joined((other, self))


class Message(Text):
    """One catalog message: `msgid` (and `plural`, chosen by `count`) formatted with `params`."""

    def __new__(cls, msgid: str, params: Optional[dict] = None, plural: Optional[str] = None,
                count: Optional[int] = None) -> "Message":
        english = msgid if plural is None or count == 1 else plural
        # English as written: formatted here directly, a rule makes tens of thousands of these per audit
        self = str.__new__(cls, english % params if params else english)
        self.msgid, self.params, self.plural, self.count = msgid, params or {}, plural, count
        return self

    def translate(self, lang: str) -> str:
        catalog = _catalog(lang)
        if self.plural is None:
            text = catalog.gettext(self.msgid)
        else:
            text = catalog.ngettext(self.msgid, self.plural, self.count if self.count is not None else 1)
        return _format(text, self.params, lang)

    def __reduce__(self):
        return (Message, (self.msgid, self.params, self.plural, self.count))


class Joined(Text):
    """Texts written one after another (a sentence and an optional clause)."""

    def __new__(cls, parts: Iterable[str], separator: str = "") -> "Joined":
        parts = tuple(parts)
        self = super().__new__(cls, separator.join(str.__str__(part) for part in parts))
        self.parts, self.separator = parts, separator
        return self

    def translate(self, lang: str) -> str:
        return self.separator.join(localize(part, lang) for part in self.parts)

    def __reduce__(self):
        return (Joined, (self.parts, self.separator))


class Capitalized(Text):
    """A text whose first letter is upper case in every language that has cases."""

    def __new__(cls, text: str, upper: bool = True) -> "Capitalized":
        english = str.__str__(text)
        first = english[:1].upper() if upper else english[:1].lower()
        self = super().__new__(cls, first + english[1:])
        self.text, self.upper = text, upper
        return self

    def translate(self, lang: str) -> str:
        shown = localize(self.text, lang)
        return (shown[:1].upper() if self.upper else shown[:1].lower()) + shown[1:]

    def __reduce__(self):
        return (Capitalized, (self.text, self.upper))


def capitalized(text: str) -> str:
    """`text` with its first letter in upper case, keeping it translatable."""
    return Capitalized(text)


def lowercased(text: str) -> str:
    """`text` with its first letter in lower case (to continue a sentence), keeping it translatable."""
    return Capitalized(text, upper=False)


def _format(text: str, params: dict, lang: Optional[str]) -> str:
    if not params:
        return text
    values = {name: localize(value, lang) if lang else value for name, value in params.items()}
    return text % values


def _(msgid: str, **params: Any) -> Message:
    """Mark a text for translation; shown in English until a renderer localizes it."""
    return Message(msgid, params)


def _n(singular: str, plural: str, count: int, **params: Any) -> Message:
    """A text with a count: the catalog chooses the form (`count` is also a parameter)."""
    return Message(singular, {"count": count, **params}, plural, count)


def join(separator: str, parts: Iterable[str]) -> str:
    """`separator.join(parts)`, keeping the parts translatable."""
    return Joined(parts, separator)


def localize(text: Any, lang: Optional[str]) -> Any:
    """`text` in `lang` when it is translatable, else as it is."""
    if isinstance(text, Text) and lang and lang != DEFAULT_LANGUAGE:
        return text.translate(lang)
    return str.__str__(text) if isinstance(text, Text) else text


@lru_cache(maxsize=None)
def _catalog(lang: str) -> _gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang], fallback=True)


class Translator:
    """Texts in one language: `_("... %(x)s", x=1)`, `_.ngettext(s, p, n, ...)`, `_.localize(text)`."""

    def __init__(self, lang: str) -> None:
        self.lang = normalize_language(lang) or DEFAULT_LANGUAGE

    def __call__(self, msgid: str, **params: Any) -> str:
        return localize(Message(msgid, params), self.lang)

    gettext = __call__

    def ngettext(self, singular: str, plural: str, count: int, **params: Any) -> str:
        return localize(_n(singular, plural, count, **params), self.lang)

    def localize(self, text: Any) -> Any:
        return localize(text, self.lang)


@lru_cache(maxsize=None)
def translator(lang: Optional[str]) -> Translator:
    """The translator of `lang` ("en", "zh", or a locale such as "zh-CN"; English when unknown)."""
    return Translator(lang or DEFAULT_LANGUAGE)


def choose_language(*candidates: Any) -> str:
    """The first candidate that names a language we have (flag, setting, client locale), else English."""
    for candidate in candidates:
        lang = normalize_language(candidate)
        if lang is not None:
            return lang
    return DEFAULT_LANGUAGE
