"""Keep the message catalogs current: extract the marked texts into locale/schemalens.pot,
merge them into every language's .po, and compile the .mo files the package ships.

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
    for lang in TRANSLATED:
        if not (LOCALE / lang / "LC_MESSAGES" / "schemalens.po").exists():
            pybabel("init", "-i", str(POT), "-d", str(LOCALE), "-D", "schemalens", "-l", lang)
    for po in LOCALE.glob("*/LC_MESSAGES/schemalens.po"):
        pybabel("update", "--no-fuzzy-matching", "--ignore-obsolete", "-i", str(POT), "-d", str(LOCALE),
                "-D", "schemalens", "-l", po.parent.parent.name)


def compile_catalogs() -> None:
    pybabel("compile", "--use-fuzzy", "-d", str(LOCALE), "-D", "schemalens")


if __name__ == "__main__":
    if sys.argv[1:] != ["compile"]:
        extract()
    compile_catalogs()
