"""Code actions: the rule's quick fixes, "ignore on this line / in this file", and the scaffold
of safe revisions; and the command that creates revision files for clients whose workspace
edits cannot create files (Neovim declares no `documentChanges`)."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from schemalens.analyzers.i18n import translator
from schemalens.analyzers.lazy_module import LazyModule
from schemalens.analyzers.rules.base import occurrences

from .diagnostics import relative_path, uri_of
from .positions import Positions

if TYPE_CHECKING:
    from .app import SchemaLensServer

log = logging.getLogger(__name__)

# Imported with the first code action: the scaffold and its SQL printer (pglast) are 40-60 ms of
# the server's imports, before the first diagnostics of a workspace.
fixes = LazyModule("schemalens.analyzers.fixes", globals(), "fixes")
scaffold = LazyModule("schemalens.analyzers.scaffold", globals(), "scaffold")
from_findings = LazyModule("schemalens.analyzers.scaffold.from_findings", globals(), "from_findings")

CREATE_REVISIONS = "schemalens.createRevisionFiles"
_KINDS = {"display": types.CodeActionKind.QuickFix, "safe": types.CodeActionKind.QuickFix,
          "unsafe": types.CodeActionKind.QuickFix}


def register(server) -> None:
    server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                   types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))(code_action)
    server.command(CREATE_REVISIONS)(create_revision_files)


async def code_action(ls: "SchemaLensServer", params: types.CodeActionParams) -> Optional[list[types.CodeAction]]:
    if ls.model is None:
        return None
    uri = params.text_document.uri
    path = relative_path(ls.root, uri)
    if path is None:
        return None
    # The findings must be those of the text the edits apply to: take in the edits still
    # waiting for their debounce, and give nothing if the buffer moved on meanwhile.
    await ls.apply_pending()
    text = ls.workspace.get_text_document(uri).source
    if ls.index is None or ls.index.text_of(path) != text:
        return []
    positions = Positions(ls.workspace.position_encoding, lambda _: text)
    wanted = {(d.code, d.range.start.line + 1): d for d in params.context.diagnostics}
    actions = []
    for finding in (occurrence for merged in ls.findings for occurrence in occurrences(merged)):
        diagnostic = wanted.get((finding.rule, finding.location.line))
        if finding.location.path != path or diagnostic is None:
            continue
        quick = fixes.quick_fixes(finding, text, ls.model.database.tables)
        file_fix = fixes.file_suppression_fix(finding, text)
        for fix in [*quick, *([file_fix] if file_fix else [])]:
            edit = types.TextEdit(range=positions.lines_range(path, fix.edit.line, fix.edit.last_line),
                                  new_text=fix.edit.new_text)
            actions.append(types.CodeAction(
                title=f"SchemaLens: {translator(ls.lang).localize(fix.title)}", kind=_KINDS[fix.applicability], diagnostics=[diagnostic],
                is_preferred=fix.applicability == "safe",
                edit=types.WorkspaceEdit(changes={uri: [edit]})))
        if path not in ls.stale:  # a scaffold reads the revision's parse, which is older than its text
            scaffold_action = _scaffold_action(ls, finding, diagnostic)
            if scaffold_action is not None:
                actions.append(scaffold_action)
    return actions


def _creates_files(ls: "SchemaLensServer") -> bool:
    workspace = ls.client_capabilities.workspace if ls.client_capabilities else None
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes and types.ResourceOperationKind.Create in (edit.resource_operations or ()))


def _scaffold_action(ls: "SchemaLensServer", finding, diagnostic: types.Diagnostic) -> Optional[types.CodeAction]:
    """Safe expand / backfill / contract revisions. For a client that can create files in a
    workspace edit, one edit that creates them and takes the unsafe statement out of the head
    revision; for others, an edit of the existing files (`changes`) and a command that creates
    the new ones."""
    safe_change = from_findings.safe_change_for(finding, ls.model, ls.index.text_of)
    if safe_change is None:
        return None
    try:
        planned = from_findings.safe_change_edit(safe_change, ls.model, ls.index.text_of, lang=ls.lang)
    except scaffold.ScaffoldError as error:
        log.info("%s at %s: no scaffold: %s", finding.rule, finding.location, error)
        return None
    if any(line_edit.path in ls.stale for line_edit in planned.line_edits):
        return None
    phases = " / ".join(f.phase for f in planned.files)
    title = f"SchemaLens: {translator(ls.lang).localize(safe_change.title)} ({phases}: {safe_change.request.change})"
    positions = ls.positions()
    edits_by_uri: dict[str, list[types.TextEdit]] = {}
    for line_edit in planned.line_edits:  # ranges all refer to the text as it is
        edits_by_uri.setdefault(uri_of(ls.root, line_edit.path), []).append(types.TextEdit(
            range=positions.lines_range(line_edit.path, line_edit.line, line_edit.last_line), new_text=line_edit.new_text))
    if not _creates_files(ls):
        command = types.Command(title=title, command=CREATE_REVISIONS, arguments=[
            {"files": [{"path": f.path, "text": f.text, "revision": f.revision, "phase": f.phase} for f in planned.files]}])
        return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                                edit=types.WorkspaceEdit(changes=edits_by_uri) if edits_by_uri else None,
                                command=command)
    changes: list = []
    for revision_file in planned.files:
        file_uri = uri_of(ls.root, revision_file.path)
        changes.append(types.CreateFile(uri=file_uri, options=types.CreateFileOptions(overwrite=False, ignore_if_exists=False)))
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=file_uri, version=None),
            edits=[types.TextEdit(range=types.Range(start=types.Position(line=0, character=0),
                                                    end=types.Position(line=0, character=0)), new_text=revision_file.text)]))
    for file_uri, edits in edits_by_uri.items():  # one TextDocumentEdit per file
        document = ls.workspace.get_text_document(file_uri)
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=file_uri, version=document.version), edits=edits))
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[diagnostic],
                            edit=types.WorkspaceEdit(document_changes=changes))


async def create_revision_files(ls: LanguageServer, *args) -> Optional[list[str]]:
    """Write the revision files of a scaffold action (its command, for clients whose workspace
    edits cannot create files), index them, and show them: opened in the editor when it can be
    asked to, else named in a message. Only new files in a versions folder of the workspace."""
    if ls.model is None or not args or not isinstance(args[0], dict):
        return None
    files = [scaffold.RevisionFile(str(f["path"]), str(f["text"]), str(f.get("revision", "")), str(f.get("phase", "")))
             for f in args[0].get("files", []) if isinstance(f, dict) and "path" in f and "text" in f]
    folders = {str(PurePosixPath(f.path).parent) for f in files}
    known = {folder for history in ls.model.histories for folder in history.environment.versions}
    _ = translator(ls.lang)
    if len(folders) != 1 or not folders <= known:
        _show_message(ls, types.MessageType.Error,
                      _("SchemaLens: not creating %(paths)s: not in a migrations versions folder",
                        paths=", ".join(f.path for f in files)))
        return None
    try:
        written = scaffold.write_files(ls.root, files, folders.pop())
    except (ValueError, OSError) as error:
        reason = _.localize(error.args[0]) if isinstance(error, ValueError) else str(error)
        _show_message(ls, types.MessageType.Error, _("SchemaLens: no revision written: %(reason)s", reason=reason))
        return None
    ls.pending.update(dict.fromkeys(f.path for f in files))
    await ls.apply_pending()
    uris = [path.as_uri() for path in written]
    window = ls.client_capabilities.window if ls.client_capabilities else None
    if window and window.show_document and window.show_document.support:
        for position, uri in enumerate(uris):
            await ls.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=position == 0))
    else:
        _show_message(ls, types.MessageType.Info,
                      _("SchemaLens: created %(files)s", files=", ".join(f"{f.path} ({f.phase})" for f in files)))

    return uris


def _show_message(ls: LanguageServer, kind: types.MessageType, message: str) -> None:
    ls.window_show_message(types.ShowMessageParams(type=kind, message=message))
