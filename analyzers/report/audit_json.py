"""The audit's JSON contract, version 1 (documented in README.md), and SARIF 2.1.0."""

from __future__ import annotations

from collections import Counter

from .held_back import held_back_json
from ..audit import workspace_problems
from ..i18n import translator
from ..rules import all_rules
from ..rules.base import DIMENSIONS, SEVERITIES, Finding
from .key_paths import describe, key_paths

AUDIT_JSON_VERSION = 1

_SARIF_LEVELS = {"P0": "error", "P1": "warning", "P2": "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def finding_json(finding: Finding, lang: str = "en") -> dict:
    """One finding; its texts in `lang` (keys and codes stay as they are)."""
    location = finding.location
    tr = translator(lang).localize
    return {
        "rule": finding.rule, "name": finding.name, "severity": finding.severity,
        "dimension": finding.dimension, "title": tr(finding.title), "message": tr(finding.message),
        "path": location.path, "line": location.line, "column": location.column,
        "end_line": location.end_line or location.line, "end_column": location.end_column,
        "table": finding.table, "column_name": finding.column,
        "related": [{"path": r.location.path, "line": r.location.line, "label": r.label} for r in finding.related],
        "impact": tr(finding.impact), "root_cause": tr(finding.root_cause),
        "fix": {"short_term": tr(finding.fix.short_term), "medium_term": tr(finding.fix.medium_term),
                "long_term": tr(finding.fix.long_term)},
        "verification": tr(finding.verification),
    }


def audit_json(model, findings: tuple[Finding, ...], paths=None, lang: str = "en", held_back=()) -> dict:
    """`paths`: the audit's query paths (AuditResult.query_paths), resolved again when not given;
    `lang`: the language of the texts; `held_back`: the checks the audit held back (AuditResult.held_back)."""
    tr = translator(lang).localize
    by_severity = Counter(f.severity for f in findings)
    by_dimension = Counter(f.dimension for f in findings)
    return {
        "version": AUDIT_JSON_VERSION,
        "findings": [finding_json(f, lang) for f in findings],
        "summary": {
            "total": len(findings),
            "by_severity": {level: by_severity.get(level, 0) for level in SEVERITIES},
            "by_dimension": {str(d): by_dimension.get(d, 0) for d in DIMENSIONS},
            "tables": {"orm": len(model.orm.tables), "database": len(model.database.tables)},
            "errors": [{"path": e.location.path, "line": e.location.line, "message": tr(e.message)}
                       for e in workspace_problems(model.errors, findings)],
            "held_back": held_back_json(held_back, lang),
        },
        "key_paths": [{"path": k.path.location.path, "line": k.path.location.line, "function": k.path.shape.function,
                       "runs_in": k.path.context, "kind": k.path.shape.kind, "tables": list(k.path.tables),
                       "what": describe(k.path), "indexes": list(k.indexes), "unindexed": list(k.unserved),
                       "risk": tr(k.risk)} for k in key_paths(model, paths=paths)],
    }


def audit_sarif(model, findings: tuple[Finding, ...], version: str) -> dict:
    """SARIF 2.1.0 for GitHub code scanning: one run, every rule as a reportingDescriptor."""
    rules = all_rules()
    index_of = {rule.code: position for position, rule in enumerate(rules)}
    results = []
    for finding in findings:
        location = finding.location
        region = {"startLine": location.line, "startColumn": location.column}
        if location.end_line:
            region["endLine"] = location.end_line
        if location.end_column:
            region["endColumn"] = location.end_column
        result = {
            "ruleId": finding.rule,
            "level": _SARIF_LEVELS[finding.severity],
            "message": {"text": f"{finding.message} Fix: {finding.fix.short_term}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"},
                                                "region": region}}],
            "properties": {"severity": finding.severity, "dimension": finding.dimension,
                           "table": finding.table, "column": finding.column},
        }
        if finding.rule in index_of:
            result["ruleIndex"] = index_of[finding.rule]
        if finding.related:
            result["relatedLocations"] = [
                {"id": number, "message": {"text": related.label},
                 "physicalLocation": {"artifactLocation": {"uri": related.location.path, "uriBaseId": "%SRCROOT%"},
                                      "region": {"startLine": related.location.line}}}
                for number, related in enumerate(finding.related)]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "SchemaLens", "version": version, "informationUri": "https://github.com/schemalens/schemalens",
                "rules": [{
                    "id": rule.code, "name": rule.name,
                    "shortDescription": {"text": rule.summary},
                    "fullDescription": {"text": rule.docs().split("## Why it matters")[0].replace("## What it finds", "").strip()},
                    "help": {"text": rule.docs(), "markdown": rule.docs()},
                    "defaultConfiguration": {"level": _SARIF_LEVELS[rule.severity]},
                    "properties": {"dimension": rule.dimension, "severity": rule.severity},
                } for rule in rules],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": model.root.as_uri() + "/"}},
            "results": results,
        }],
    }
