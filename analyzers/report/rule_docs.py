"""Rule documentation generated from the rule modules themselves (docs/rules.md, docs/rules.zh.md,
`schemalens rule`).

A rule's docstring is its documentation in English. In another language each prose paragraph of
it is a catalog message whose id is the paragraph itself (scripts/catalog.py extracts them with
`doc_paragraphs`); headings are fixed messages and fenced code blocks are never translated. A
paragraph with no translation yet is shown in English.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Iterator

from ..i18n import _, translator
from ..rules import all_rules
from ..rules.base import Rule
from ..rules.selection import PRESETS
from .audit_text import DIMENSION_NAMES


_TOOLS = {"squawk": "squawk", "pgls": "Postgres Language Server", "strong_migrations": "strong_migrations",
          "eugene": "eugene", "atlas": "Atlas", "django-migration-linter": "django-migration-linter"}


def peers_line(rule: type[Rule], lang: str = "en") -> str:
    """"Covers: squawk `ban-drop-table`, ...", grouped by tool, or "" when the rule names none."""
    by_tool: dict[str, list[str]] = {}
    for peer in rule.peers:
        tool, _sep, check = peer.partition(":")
        by_tool.setdefault(tool, []).append(f"`{check}`")
    if not by_tool:
        return ""
    peers = "; ".join(f"{_TOOLS.get(tool, tool)} {', '.join(checks)}" for tool, checks in by_tool.items())
    _ = translator(lang)
    return _("Covers: %(peers)s.", peers=peers)


_HEADINGS = {"What it finds": _("What it finds"), "Why it matters": _("Why it matters"), "Example": _("Example"),
             "Use instead": _("Use instead"), "How to verify": _("How to verify"), "Severity": _("Severity")}


def _docs_parts(docs: str) -> Iterator[tuple[str, str]]:
    """A docstring as ("heading", title), ("prose", paragraph), ("code", line) and ("blank", "") parts,
    in order: a paragraph runs until a blank line, a heading or a code fence."""
    paragraph: list[str] = []
    in_code = False
    for line in docs.splitlines():
        if in_code or line.startswith(("```", "## ")) or not line.strip():
            if paragraph:
                yield "prose", "\n".join(paragraph)
                paragraph = []
            if line.startswith("```"):
                in_code = not in_code
            if in_code or line.startswith("```"):
                yield "code", line
            elif line.startswith("## "):
                yield "heading", line[3:]
            else:
                yield "blank", ""
        else:
            paragraph.append(line)
    if paragraph:
        yield "prose", "\n".join(paragraph)


def docs_markdown(docs: str, lang: str = "en") -> str:
    """A rule's docstring in `lang`, its headings one level below the rule's own."""
    tr = translator(lang)
    lines = []
    for kind, text in _docs_parts(docs):
        if kind == "heading":
            lines.append("### " + tr.localize(_HEADINGS.get(text, text)))
        elif kind == "prose":
            lines.append(tr.gettext(text))
        else:
            lines.append(text)
    return "\n".join(lines)


def doc_paragraphs() -> Iterator[tuple[str, str, str]]:
    """Every rule's prose paragraphs, the message ids of its docs: (paragraph, module file, rule code)."""
    root = Path(__file__).resolve().parent.parent.parent
    for rule in all_rules():
        path = Path(inspect.getsourcefile(rule)).resolve()
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        for kind, text in _docs_parts(rule.docs()):
            if kind == "prose":
                yield text, where, rule.code


def _in_a_preset(rule: type[Rule]) -> bool:
    return any(rule.code in codes for codes in PRESETS.values())


def rule_markdown(rule: type[Rule], lang: str = "en") -> str:
    """A rule's page in `lang`: a header, then the rule's docstring."""
    _ = translator(lang)
    notes = []
    if not rule.default_enabled:
        notes.append(_("Off by default: select it by code or with a preset.") if _in_a_preset(rule)
                     else _("Off by default: select it by code."))
    if rule.contends_with_live_traffic:
        notes.append(_("Held back when the application applies its migrations itself as it starts (Flask-Migrate's or"
                       " Alembic's `upgrade()` called from application code, or a Dockerfile's, compose file's or"
                       " Procfile's start command that runs `alembic upgrade`, `prisma migrate deploy` or another tool's"
                       " command that applies migrations before the server): they then run before"
                       " the new version serves, not beside live traffic. Not when a migration is written to run"
                       " beside it (CREATE INDEX CONCURRENTLY, NOT VALID, lock_timeout, an autocommit block)."))
        notes.append(_("Held back too when the configuration says `migrations_run = \"offline\"` (the migrations run while"
                       " the application is stopped, as in a maintenance window or a self-hosted upgrade)."))
        notes.append(_("Held back when the project deploys MySQL (its dependencies name a MySQL driver and no PostgreSQL"
                       " one): the locks it describes, and their remedies, are PostgreSQL's."))
    summary = _.localize(rule.summary)
    if _.lang == "en":
        # The English page names each rule in Chinese too, the audit method's language; a Chinese
        # page stays Chinese, its rule names being the cross-reference.
        summary += f" ({translator('zh').localize(rule.summary)})"
    sentence_gap = " " if _.lang == "en" else ""
    header = sentence_gap.join([
        f"## {rule.code} {rule.name}\n\n"
        + _("%(summary)s. Dimension %(dimension)d (%(name)s), default severity %(severity)s.", summary=summary,
            dimension=rule.dimension, name=_.localize(DIMENSION_NAMES[rule.dimension]), severity=rule.severity),
        *notes]) + "\n\n"
    if rule.peers:
        header += peers_line(rule, lang) + "\n\n"
    return header + docs_markdown(rule.docs(), lang) + "\n"


def rules_markdown(lang: str = "en") -> str:
    _ = translator(lang)
    out = ["# " + _("SchemaLens rules"), "",
           _("Generated from the rule modules by `schemalens rule --all > docs/rules.md`; a test keeps it in sync."), "",
           _("Rules marked off by default run only when `select` names them (by code or prefix; \"ALL\" "
             "does not) or a `preset` lists them "
             "(`preset = \"squawk\"`: the opinion rules squawk enables by default)."), "",
           _("| code | name | dimension | severity | finds |"), "|---|---|---|---|---|"]
    rules = all_rules()
    off = " " + _("(off by default)")
    out += [f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.dimension} | {r.severity}"
            f"{'' if r.default_enabled else off} | {_.localize(r.summary)} |" for r in rules]
    out.append("")
    out += [rule_markdown(rule, lang) for rule in rules]
    return "\n".join(out).rstrip() + "\n"
