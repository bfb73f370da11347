"""Rule documentation generated from the rule modules themselves (docs/rules.md, `schemalens rule`)."""

from __future__ import annotations

from ..rules import all_rules
from ..rules.base import DIMENSIONS, Rule
from ..rules.selection import PRESETS


_TOOLS = {"squawk": "squawk", "pgls": "Postgres Language Server", "strong_migrations": "strong_migrations",
          "eugene": "eugene", "atlas": "Atlas", "django-migration-linter": "django-migration-linter"}


def peers_line(rule: type[Rule]) -> str:
    """"Covers: squawk `ban-drop-table`, ...", grouped by tool, or "" when the rule names none."""
    by_tool: dict[str, list[str]] = {}
    for peer in rule.peers:
        tool, _, check = peer.partition(":")
        by_tool.setdefault(tool, []).append(f"`{check}`")
    if not by_tool:
        return ""
    return "Covers: " + "; ".join(f"{_TOOLS.get(tool, tool)} {', '.join(checks)}" for tool, checks in by_tool.items()) + "."


def _in_a_preset(rule: type[Rule]) -> bool:
    return any(rule.code in codes for codes in PRESETS.values())


def rule_markdown(rule: type[Rule]) -> str:
    enabled = ""
    if not rule.default_enabled:
        enabled = " Off by default: select it by code" + (" or with a preset." if _in_a_preset(rule) else ".")
    if rule.contends_with_live_traffic:
        enabled += (" Held back when the application applies its migrations itself as it starts (Flask-Migrate's or"
                    " Alembic's `upgrade()` called from application code): they then run before the new version"
                    " serves, not beside live traffic.")
    header = (f"## {rule.code} {rule.name}\n\n{rule.summary} ({rule.summary_zh}). "
              f"Dimension {rule.dimension} ({DIMENSIONS[rule.dimension]}), default severity {rule.severity}.{enabled}\n\n")
    if rule.peers:
        header += peers_line(rule) + "\n\n"
    # The docstring's own headings sit one level below the rule's.
    body = "\n".join("#" + line if line.startswith("## ") else line for line in rule.docs().splitlines())
    return header + body + "\n"


def rules_markdown() -> str:
    out = ["# SchemaLens rules", "",
           "Generated from the rule modules by `schemalens rule --all > docs/rules.md`; a test keeps it in sync.", "",
           "Rules marked off by default run only when `select` names them (by code or prefix; \"ALL\" "
           "does not) or a `preset` lists them "
           "(`preset = \"squawk\"`: the opinion rules squawk enables by default).", "",
           "| code | name | dimension | severity | finds |", "|---|---|---|---|---|"]
    rules = all_rules()
    out += [f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.dimension} | {r.severity}"
            f"{'' if r.default_enabled else ' (off by default)'} | {r.summary} |" for r in rules]
    out.append("")
    out += [rule_markdown(rule) for rule in rules]
    return "\n".join(out).rstrip() + "\n"
