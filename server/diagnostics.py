"""Findings and extraction problems as LSP diagnostics. Positions go through `positions.Positions`,
which converts the analyzers' code point columns into the negotiated encoding."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Collection, Optional

from lsprotocol import types
from pygls import uris

from schemalens.analyzers.i18n import translator
from schemalens.analyzers.report.audit_markdown import related_label
from schemalens.analyzers.rules.base import Finding, occurrences
from schemalens.analyzers.schema.model import ExtractionError

from .positions import Positions

RULES_URL = "https://github.com/schemalens/schemalens/blob/main/docs/rules.md"
_SEVERITY = {"P0": types.DiagnosticSeverity.Error, "P1": types.DiagnosticSeverity.Warning,
             "P2": types.DiagnosticSeverity.Information}
# Rules whose finding is code that can simply go away.
_UNNECESSARY = {"SL402"}


@functools.lru_cache(maxsize=65536)
def uri_of(root: Path, path: str) -> str:
    return uris.from_fs_path(str(root / path))


def finding_diagnostic(finding: Finding, root: Path, positions: Positions, lang: str = "en") -> types.Diagnostic:
    _ = translator(lang)
    related = [types.DiagnosticRelatedInformation(
        location=types.Location(uri=uri_of(root, r.location.path), range=positions.range(r.location)),
        message=related_label(r.label, lang)) for r in finding.related]
    return types.Diagnostic(
        range=positions.range(finding.location),
        message=_("%(message)s\nFix: %(fix)s", message=_.localize(finding.message), fix=_.localize(finding.fix.short_term)),
        severity=_SEVERITY[finding.severity],
        code=finding.rule,
        code_description=types.CodeDescription(href=f"{RULES_URL}#{finding.rule.lower()}-{finding.name}"),
        source="schemalens",
        related_information=related or None,
        tags=[types.DiagnosticTag.Unnecessary] if finding.rule in _UNNECESSARY else None,
    )


def problem_diagnostic(problem: ExtractionError, positions: Positions, lang: str = "en") -> types.Diagnostic:
    severity = types.DiagnosticSeverity.Information if problem.kind == "opaque" else types.DiagnosticSeverity.Error
    return types.Diagnostic(range=positions.range(problem.location), message=translator(lang).localize(problem.message),
                            severity=severity, source="schemalens", code=f"parse:{problem.kind}")


class Diagnostics:
    """Findings and problems as diagnostics, by file. A finding that comes back from the last
    publication showing the same (`_shown`), in the same language and encoding, pointing into
    texts that did not change, keeps its diagnostic: a 500-model workspace republishes some
    6,000 of them after every edit, and converting them all again was a quarter of the edit. A
    merged finding that is the very object of the last publication (the audit keeps the merged
    finding of an unchanged group) keeps the diagnostics of all its places at once."""

    def __init__(self) -> None:
        # (what a finding shows, language, encoding) -> (the texts it points into, its diagnostic)
        self._last: dict[_ShownKey, tuple[tuple, types.Diagnostic]] = {}
        # id of a merged finding -> (the finding, which it keeps alive so that no other takes its id;
        # (language, encoding, the texts it points into); [(uri, key in _last, entry in _last)] of its
        # places; the paths of the files it points into)
        self._last_merged: dict[int, tuple[Finding, tuple, list, tuple[str, ...]]] = {}

    def by_uri(self, root: Path, findings, problems, positions: Positions, lang: str = "en") -> dict[str, list[types.Diagnostic]]:
        """The diagnostics of every file."""
        made, finish = self.open_first(root, findings, problems, positions, lang)
        finish()
        return made

    def open_first(self, root: Path, findings, problems, positions: Positions, lang: str = "en",
                   first: Collection[str] = ()) -> tuple[dict[str, list[types.Diagnostic]], Callable[[], None]]:
        """The diagnostics of every file, those of the files `first` names (the open ones)
        complete, and a function that makes the others' that must be made again (None in their
        place until then): the language server publishes the open files' first (dispatch: an edit
        of its user model moves the related places of 200 diagnostics in 45 other files; the open
        file's are ready at a third of the time)."""
        last, self._last = self._last, {}
        last_merged, self._last_merged = self._last_merged, {}
        by_uri: dict[str, list[types.Diagnostic]] = {}
        later: list[tuple] = []  # (places, the place's index there, its file's diagnostics, the index there)
        for merged in findings:
            kept_places = last_merged.get(id(merged))
            # the files it points into, once each: a finding merged from 2,000 places names a few
            paths = kept_places[3] if kept_places is not None else tuple(dict.fromkeys(_paths(merged)))
            shown_in = (lang, positions.encoding, tuple(positions.text(path) for path in paths))
            if kept_places is not None and kept_places[1] == shown_in:
                places = kept_places[2]
            else:
                places = []
                for finding in occurrences(merged):
                    key = _ShownKey((_shown(finding), lang, positions.encoding))
                    texts = tuple(positions.text(path) for path in _paths(finding))
                    uri = uri_of(root, finding.location.path)
                    kept = last.get(key)
                    if kept is not None and kept[0] == texts:
                        entry = kept
                    elif uri in first:
                        entry = (texts, finding_diagnostic(finding, root, positions, lang))
                    else:
                        entry = _Later(finding, texts)
                    places.append((uri, key, entry))
            self._last_merged[id(merged)] = (merged, shown_in, places, paths)
            for index, (uri, key, entry) in enumerate(places):
                diagnostics = by_uri.setdefault(uri, [])
                if isinstance(entry, _Later) and uri not in first:
                    later.append((places, index, diagnostics, len(diagnostics)))
                    diagnostics.append(None)
                elif isinstance(entry, _Later):  # left to make by an earlier call whose `finish` did not run
                    diagnostics.append(self._made(places, index, root, positions, lang)[1])
                else:
                    self._last[key] = entry
                    diagnostics.append(entry[1])
        _add_problems(by_uri, root, problems, positions, lang)

        def finish() -> None:
            for places, index, diagnostics, position in later:
                diagnostics[position] = self._made(places, index, root, positions, lang)[1]
        return by_uri, finish

    def _made(self, places: list, index: int, root: Path, positions: Positions, lang: str) -> tuple:
        """The diagnostic of the place left to make at `index` of `places`, kept there and in `_last`."""
        uri, key, waiting = places[index]
        entry = (waiting.texts, finding_diagnostic(waiting.finding, root, positions, lang))
        places[index] = (uri, key, entry)
        self._last[key] = entry
        return entry


class _Later:
    """A place whose diagnostic `Diagnostics.by_uri` makes once the open files' are given."""

    __slots__ = ("finding", "texts")

    def __init__(self, finding: Finding, texts: tuple) -> None:
        self.finding = finding
        self.texts = texts


class _ShownKey:
    """A key of `Diagnostics._last` that hashes once: the places of the findings an edit leaves as
    they were are filed again on every publication (16,000 on 500 models), and a tuple hashes all
    it holds, related locations included, each time."""

    __slots__ = ("key", "hash")

    def __init__(self, key: tuple) -> None:
        self.key = key
        self.hash = hash(key)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other) -> bool:
        return isinstance(other, _ShownKey) and self.hash == other.hash and self.key == other.key


def _shown(finding: Finding) -> tuple:
    """What of a finding its diagnostic shows (finding_diagnostic): a merged finding's title, which
    counts its places, is not shown, so a place added elsewhere leaves the others' diagnostics."""
    return (finding.rule, finding.name, finding.severity, finding.message, finding.fix.short_term, finding.location,
            finding.related)


def _paths(finding: Finding) -> tuple[str, ...]:
    """The files whose lines a finding's diagnostic points into."""
    return (finding.location.path, *(related.location.path for related in finding.related))


def _add_problems(by_uri: dict[str, list[types.Diagnostic]], root: Path, problems, positions: Positions, lang: str) -> None:
    for problem in problems:
        if (root / problem.location.path).exists():
            by_uri.setdefault(uri_of(root, problem.location.path), []).append(problem_diagnostic(problem, positions, lang))


def relative_path(root: Path, uri: str) -> Optional[str]:
    path = uris.to_fs_path(uri)
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None
