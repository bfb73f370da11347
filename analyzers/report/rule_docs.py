"""Rule documentation generated from the rule modules themselves (docs/rules.md, `schemalens rule`)."""

from __future__ import annotations

from ..rules import all_rules
from ..rules.base import DIMENSIONS, Rule


def rule_markdown(rule: type[Rule]) -> str:
    enabled = "" if rule.default_enabled else " Off by default: select it by code."
    header = (f"## {rule.code} {rule.name}\n\n{rule.summary} ({rule.summary_zh}). "
              f"Dimension {rule.dimension} ({DIMENSIONS[rule.dimension]}), default severity {rule.severity}.{enabled}\n\n")
    # The docstring's own headings sit one level below the rule's.
    body = "\n".join("#" + line if line.startswith("## ") else line for line in rule.docs().splitlines())
    return header + body + "\n"


def rules_markdown() -> str:
    out = ["# SchemaLens rules", "",
           "Generated from the rule modules by `schemalens rule --all > docs/rules.md`; a test keeps it in sync.", "",
           "| code | name | dimension | severity | finds |", "|---|---|---|---|---|"]
    rules = all_rules()
    out += [f"| [{r.code}](#{r.code.lower()}-{r.name}) | {r.name} | {r.dimension} | {r.severity}"
            f"{'' if r.default_enabled else ' (off by default)'} | {r.summary} |" for r in rules]
    out.append("")
    out += [rule_markdown(rule) for rule in rules]
    return "\n".join(out).rstrip() + "\n"
