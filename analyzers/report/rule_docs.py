"""Rule documentation generated from the rule modules themselves (docs/rules.md, `schemalens rule`)."""

from __future__ import annotations

from ..i18n import translator
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


def _in_a_preset(rule: type[Rule]) -> bool:
    return any(rule.code in codes for codes in PRESETS.values())


def rule_markdown(rule: type[Rule], lang: str = "en") -> str:
    """A rule's page: a header in `lang`, then the rule's docstring (English; see docs/rules.md)."""
    _ = translator(lang)
    enabled = ""
    if not rule.default_enabled:
        enabled = " " + (_("Off by default: select it by code or with a preset.") if _in_a_preset(rule)
                         else _("Off by default: select it by code."))
    if rule.contends_with_live_traffic:
        enabled += " " + _("Held back when the application applies its migrations itself as it starts (Flask-Migrate's or"
                           " Alembic's `upgrade()` called from application code): they then run before the new version"
                           " serves, not beside live traffic.")
    other = translator("en" if lang != "en" else "zh").localize(rule.summary)
    header = (f"## {rule.code} {rule.name}\n\n{_.localize(rule.summary)} ({other}). "
              + _("Dimension %(dimension)d (%(name)s), default severity %(severity)s.", dimension=rule.dimension,
                  name=_.localize(DIMENSION_NAMES[rule.dimension]), severity=rule.severity)
              + f"{enabled}\n\n")
    if rule.peers:
        header += peers_line(rule, lang) + "\n\n"
    # The docstring's own headings sit one level below the rule's.
    body = "\n".join("#" + line if line.startswith("## ") else line for line in rule.docs().splitlines())
    return header + body + "\n"


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
