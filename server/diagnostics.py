"""Findings and extraction problems as LSP diagnostics. The 1-based lines and columns of the
analyzers become 0-based LSP positions here and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from lsprotocol import types
from pygls import uris

from schemalens.analyzers.rules.base import Finding
from schemalens.analyzers.schema.model import ExtractionError, Location

RULES_URL = "https://github.com/schemalens/schemalens/blob/main/docs/rules.md"
_SEVERITY = {"P0": types.DiagnosticSeverity.Error, "P1": types.DiagnosticSeverity.Warning,
             "P2": types.DiagnosticSeverity.Information}
# Rules whose finding is code that can simply go away.
_UNNECESSARY = {"SL402"}


def to_range(location: Location, line_length: Callable[[str, int], int]) -> types.Range:
    start = types.Position(line=max(location.line - 1, 0), character=max(location.column - 1, 0))
    if location.end_line is not None and location.end_column is not None:
        end = types.Position(line=location.end_line - 1, character=location.end_column - 1)
    else:
        end = types.Position(line=start.line, character=max(line_length(location.path, location.line), start.character))
    return types.Range(start=start, end=end)


def uri_of(root: Path, path: str) -> str:
    return uris.from_fs_path(str(root / path))


def finding_diagnostic(finding: Finding, root: Path, line_length) -> types.Diagnostic:
    related = [types.DiagnosticRelatedInformation(
        location=types.Location(uri=uri_of(root, r.location.path), range=to_range(r.location, line_length)),
        message=r.label) for r in finding.related]
    return types.Diagnostic(
        range=to_range(finding.location, line_length),
        message=f"{finding.message}\nFix: {finding.fix.short_term}",
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href=f"{RULES_URL}#{finding.rule.lower()}-{finding.name}"),
        source="schemalens",
        related_information=related or None,
        tags=[types.DiagnosticTag.Unnecessary] if finding.rule in _UNNECESSARY else None,
    )


def problem_diagnostic(problem: ExtractionError, line_length) -> types.Diagnostic:
    severity = types.DiagnosticSeverity.Information if problem.kind == "opaque" else types.DiagnosticSeverity.Error
    return types.Diagnostic(range=to_range(problem.location, line_length), message=problem.message,
                            severity=severity, source="schemalens", code=f"parse:{problem.kind}")


def diagnostics_by_uri(root: Path, findings, problems, line_length) -> dict[str, list[types.Diagnostic]]:
    by_uri: dict[str, list[types.Diagnostic]] = {}
    for finding in findings:
        by_uri.setdefault(uri_of(root, finding.location.path), []).append(finding_diagnostic(finding, root, line_length))
    for problem in problems:
        if (root / problem.location.path).exists():
            by_uri.setdefault(uri_of(root, problem.location.path), []).append(problem_diagnostic(problem, line_length))
    return by_uri


def relative_path(root: Path, uri: str) -> Optional[str]:
    path = uris.to_fs_path(uri)
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None
