"""The audit report in Markdown, following the spec: sections I-IV and a roadmap."""

from __future__ import annotations

from collections import Counter, defaultdict

from .held_back import held_back_lines
from ..audit import workspace_problems
from ..i18n import translator
from ..rules import rule_by_code
from ..rules.base import ALSO, SEVERITIES, Finding
from .audit_text import DIMENSION_NAMES, HEADINGS, STANDARDS
from .key_paths import render_key_paths
from .schema_map import render_schema_map

MAX_ROADMAP_ACTIONS = 8


def _summary(finding: Finding, lang: str) -> str:
    rule = rule_by_code(finding.rule)
    return translator(lang).localize(finding.title if rule is None else rule.summary)


def _where(location) -> str:
    return f"`{location.path}:{location.line}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _finding_block(finding: Finding, text: dict, lang: str) -> list[str]:
    tr = translator(lang).localize
    title = tr(finding.title)
    if lang != "en":  # the rule's one-line summary first, as the Chinese reviews write it
        title = f"{_summary(finding, lang)}: {title}"
    evidence = [f"{_where(finding.location)}"]
    if finding.table:
        evidence.append(f"`{finding.table}{'.' + finding.column if finding.column else ''}`")
    evidence += [f"{related_label(related.label, lang)} {_where(related.location)}" for related in finding.related]
    lines = [f"#### [{finding.severity}] {finding.rule} {title}", "",
             f"- **{text['evidence']}**: {'; '.join(evidence)}. {tr(finding.message)}",
             f"- **{text['impact']}**: {tr(finding.impact)}",
             f"- **{text['root_cause']}**: {tr(finding.root_cause)}",
             f"- **{text['fix']}**:",
             f"  - {text['short_term']}: {tr(finding.fix.short_term)}"]
    if finding.fix.medium_term:
        lines.append(f"  - {text['medium_term']}: {tr(finding.fix.medium_term)}")
    if finding.fix.long_term:
        lines.append(f"  - {text['long_term']}: {tr(finding.fix.long_term)}")
    lines += [f"- **{text['verification']}**: {tr(finding.verification)}", ""]
    return lines


def related_label(label: str, lang: str) -> str:
    """A related location's label; the `also: ` prefix of a merged finding in the report's language."""
    if label.startswith(ALSO):
        _ = translator(lang)
        return _("also: %(subject)s", subject=label[len(ALSO):])
    return translator(lang).localize(label)


def roadmap(findings: tuple[Finding, ...], lang: str) -> list[str]:
    """At most 8 actions: one per rule, the most severe and most frequent first."""
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_rule[finding.rule].append(finding)
    ranked = sorted(by_rule.values(), key=lambda group: (min(f.severity for f in group), -len(group), group[0].rule))
    actions = []
    for group in ranked[:MAX_ROADMAP_ACTIONS]:
        first = group[0]
        count = f" ({len(group)}x)" if len(group) > 1 else ""
        actions.append(f"{len(actions) + 1}. [{min(f.severity for f in group)}] {first.rule} "
                       f"{_summary(first, lang)}{count}: {translator(lang).localize(first.fix.short_term)}")
    return actions


def render_audit_markdown(model, findings: tuple[Finding, ...], lang: str = "en", paths=None, held_back=()) -> str:
    """`paths`: the audit's query paths (AuditResult.query_paths), resolved again when not given;
    `held_back`: the checks the audit held back (AuditResult.held_back), said under coverage."""
    _ = translator(lang)
    text = {key: _.localize(heading) for key, heading in HEADINGS.items()}
    out = [f"# {text['title']}", ""]
    counts = Counter(f.severity for f in findings)
    out.append(f"**{text['summary']}**: " + ", ".join(f"{level} {counts.get(level, 0)}" for level in SEVERITIES)
               + "; " + _("%(database)d / %(orm)d tables (database / orm).", database=len(model.database.tables),
                          orm=len(model.orm.tables)))
    out += ["", f"**{text['coverage']}**:", ""]
    out += [f"- {_.localize(line).strip()}" for line in model.coverage.lines()]
    out += [f"- {line}" for line in held_back_lines(held_back, lang)]
    out.append("")
    layer = model.database if model.database.tables else model.orm
    overview = render_schema_map(layer, "markdown", orm=model.orm, lang=lang)
    out += [f"## {text['overview']}", ""]
    # The schema map's own headings move one level down inside the report.
    out += ["#" + line if line.startswith("#") else line for line in overview.splitlines()[2:]]
    out += ["", *render_key_paths(model, lang, paths)]
    out += ["", f"## {text['gaps']}", "", f"| {text['dimension']} | {text['gaps_found']} | {text['standard']} |", "|---|---|---|"]
    nothing_found = text["none"] if model.orm.tables or model.database.tables else text["not_assessed"]
    for dimension, name in DIMENSION_NAMES.items():
        in_dimension = Counter(f.rule for f in findings if f.dimension == dimension)
        gaps = ", ".join(f"{rule} {_summary(next(f for f in findings if f.rule == rule), lang)} ({count})"
                         for rule, count in sorted(in_dimension.items())) or nothing_found
        out.append(f"| {dimension}. {_.localize(name)} | {_cell(gaps)} | {_.localize(STANDARDS[dimension])} |")
    out += ["", f"## {text['findings']}", ""]
    if not findings:
        out += [text["no_findings"], ""]
    for level in SEVERITIES:
        group = [f for f in findings if f.severity == level]
        if group:
            out += [f"### {level} ({len(group)})", ""]
            for finding in group:
                out += _finding_block(finding, text, lang)
    out += [f"## {text['compat']}", "",
            f"| {text['location']} | {text['kind']} | {text['description']} | {text['retire']} |", "|---|---|---|---|"]
    for finding in (f for f in findings if f.dimension == 8):
        plan = " ".join(_.localize(part) for part in (finding.fix.short_term, finding.fix.medium_term, finding.fix.long_term)
                        if part)
        out.append(f"| {_where(finding.location)} | {finding.name} | {_cell(_.localize(finding.message))} | {_cell(plan)} |")
    out += ["", f"## {text['roadmap']}", ""]
    out += roadmap(findings, lang) or [text["no_findings"]]
    problems = workspace_problems(model.errors, findings)
    if problems:
        out += ["", f"## {text['problems']}", ""]
        out += [f"- `{error.location}`: {_.localize(error.message)}" for error in problems]
    return "\n".join(out).rstrip() + "\n"
