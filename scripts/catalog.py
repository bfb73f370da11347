"""Keep the message catalogs current: extract the marked texts and the rules' documentation
paragraphs into locale/schemalens.pot, merge them into every language's .po, and compile the .mo
files the package ships (the steps, and how to translate a changed rule doc: locale/README.md).

    .venv/bin/python scripts/catalog.py          # extract, update, compile
    .venv/bin/python scripts/catalog.py compile  # compile only (after editing a .po)

The .mo files are committed and shipped as package data, so an installed SchemaLens never
compiles (its folder may be read-only); tests/test_i18n.py fails when a .mo is older than its .po.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "analyzers" / "locale"
POT = LOCALE / "schemalens.pot"
SOURCES = ("analyzers", "cli", "server")
# `_` marks a text (lazy in rules, immediate after `_ = translator(lang)`); `_n` and
# `ngettext` mark plurals.
TRANSLATED = ("zh",)  # English is the message ids themselves
KEYWORDS = ("-k", "_", "-k", "_n:1,2", "-k", "ngettext:1,2")


def pybabel(*args: str) -> None:
    subprocess.run([str(Path(sys.executable).with_name("pybabel")), "-q", *args], check=True, cwd=ROOT)


def extract() -> None:
    pybabel("extract", "--no-default-keywords", *KEYWORDS, "--add-location=file", "--sort-output",
            "--project", "schemalens", "--copyright-holder", "SchemaLens", "-o", str(POT.relative_to(ROOT)), *SOURCES)
    add_rule_docs()
    for lang in TRANSLATED:
        if not (LOCALE / lang / "LC_MESSAGES" / "schemalens.po").exists():
            pybabel("init", "-i", str(POT), "-d", str(LOCALE), "-D", "schemalens", "-l", lang)
    for po in LOCALE.glob("*/LC_MESSAGES/schemalens.po"):
        pybabel("update", "--no-fuzzy-matching", "--ignore-obsolete", "-i", str(POT), "-d", str(LOCALE),
                "-D", "schemalens", "-l", po.parent.parent.name)


def add_rule_docs() -> None:
    """The prose paragraphs of every rule's docstring, each a message (see analyzers/report/rule_docs.py)."""
    from babel.messages.pofile import read_po, write_po

    from schemalens.analyzers.report.rule_docs import doc_paragraphs

    with POT.open("rb") as handle:
        catalog = read_po(handle)
    for paragraph, module, code in doc_paragraphs():
        catalog.add(paragraph, locations=[(module, None)], auto_comments=[f"{code} docs"])
    with POT.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, include_lineno=False)


def compile_catalogs() -> None:
    pybabel("compile", "--use-fuzzy", "-d", str(LOCALE), "-D", "schemalens")


if __name__ == "__main__":
    if sys.argv[1:] != ["compile"]:
        extract()
    compile_catalogs()
