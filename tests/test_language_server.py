"""The language server end to end over stdio, driven by a real LSP client (pytest-lsp)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from conftest import FILE_CREATING_CAPABILITIES, diagnostics_for

SERVICE = Path(__file__).parent / "fixtures" / "flask_service"
MODELS = "app/models/accounts.py"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def client(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="service")]))
    yield
    await lsp_client.shutdown_session()




def _codes(diagnostics) -> set[str]:
    return {d.code for d in diagnostics}


async def _open_models(client: LanguageClient, workspace: Path) -> tuple[str, str, list]:
    """Open the models file; its uri, text and first diagnostics (with its SL701 finding)."""
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    return uri, text, await diagnostics_for(client, uri, lambda d: "SL701" in _codes(d))


@pytest.mark.asyncio
async def test_findings_appear_and_an_edit_that_fixes_one_clears_it(client: LanguageClient, workspace: Path):
    uri, text, diagnostics = await _open_models(client, workspace)
    phone = next(d for d in diagnostics if d.code == "SL701")
    assert phone.severity == types.DiagnosticSeverity.Warning and "Fix:" in phone.message
    assert text.splitlines()[phone.range.start.line].strip().startswith("phone =")

    fixed = text.replace("    phone = db.Column(db.String(32))\n", "    phone_encrypted = db.Column(db.LargeBinary)\n")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    await diagnostics_for(client, uri, lambda d: "SL701" not in _codes(d))


@pytest.mark.asyncio
async def test_a_burst_of_edits_ends_with_the_diagnostics_of_the_last_text(client: LanguageClient, workspace: Path):
    uri, text, _ = await _open_models(client, workspace)
    # typing: each edit moves the phone column one line down, the last one renames it
    edits = [text.replace("    phone = ", "#\n" * number + "    phone = ") for number in range(1, 6)]
    edits.append(edits[-1].replace("    phone = db.Column(db.String(32))\n", "    phone_encrypted = db.Column(db.LargeBinary)\n"))
    for version, edited in enumerate(edits, start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)]))
        await asyncio.sleep(0.02)
    diagnostics = await diagnostics_for(client, uri, lambda d: "SL701" not in _codes(d))
    lines = edits[-1].splitlines()
    assert diagnostics and all(lines[d.range.start.line] != "#" for d in diagnostics)  # at the last text's lines


@pytest.mark.asyncio
async def test_closing_an_unsaved_file_shows_the_disk_s_findings_and_it_is_edited_again_after(client: LanguageClient,
                                                                                             workspace: Path):
    """An opened file is read as an edit reads it, and what is kept of it dropped on close:
    neither changes what the server finds, before, between or after."""
    uri, text, _ = await _open_models(client, workspace)
    fixed = text.replace("    phone = db.Column(db.String(32))\n", "    phone_encrypted = db.Column(db.LargeBinary)\n")

    def change(version: int) -> None:
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))

    change(2)
    await diagnostics_for(client, uri, lambda d: "SL701" not in _codes(d))
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    await diagnostics_for(client, uri, lambda d: "SL701" in _codes(d))  # the file on disk still has it
    await _open_models(client, workspace)
    change(3)
    await diagnostics_for(client, uri, lambda d: "SL701" not in _codes(d))


@pytest.mark.asyncio
async def test_a_syntax_error_mid_edit_keeps_the_other_diagnostics(client: LanguageClient, workspace: Path):
    uri, text, _ = await _open_models(client, workspace)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text + "\nclass Half(db.Model\n")]))
    diagnostics = await diagnostics_for(client, uri, lambda d: "parse:error" in _codes(d))
    assert "SL701" in _codes(diagnostics)


@pytest.mark.asyncio
async def test_hover_on_a_table_name_shows_its_card(client: LanguageClient, workspace: Path):
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await diagnostics_for(client, uri, lambda d: bool(d))
    line = next(n for n, line in enumerate(text.splitlines()) if '__tablename__ = "accounts"' in line)
    character = text.splitlines()[line].index("accounts") + 2
    result = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))
    assert result is not None
    card = result.contents.value
    assert "**accounts**" in card and "| email |" in card and "Migrations (newest first)" in card


@pytest.mark.asyncio
async def test_an_edit_of_gitignore_is_seen_by_the_rule_that_reads_it(client: LanguageClient, workspace: Path):
    """SL501 reads .gitignore, which the index does not: the server watches it and audits again,
    and does not keep the outcome it had before."""
    await _open_models(client, workspace)
    revision = workspace / "migrations/versions/0003_rename.py"

    def ignore(patterns: str, change: types.FileChangeType) -> None:
        (workspace / ".gitignore").write_text(patterns)
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(workspace / ".gitignore").as_uri(), type=change)]))

    ignore("migrations/versions/0003_*.py\n", types.FileChangeType.Created)
    await diagnostics_for(client, revision.as_uri(), lambda d: "SL501" in _codes(d), timeout=30)
    ignore("__pycache__/\n", types.FileChangeType.Changed)
    await diagnostics_for(client, revision.as_uri(), lambda d: "SL501" not in _codes(d), timeout=30)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def configured_client(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri(),
        initialization_options={"schemalens": {"ignore": ["SL7"]}}))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_initialization_options_override_the_project_settings(configured_client: LanguageClient, workspace: Path):
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    configured_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    diagnostics = await diagnostics_for(configured_client, uri, lambda d: bool(d))
    assert not any(code.startswith("SL7") for code in _codes(diagnostics))
    configured_client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"schemalens": {}}))
    await diagnostics_for(configured_client, uri, lambda d: "SL701" in _codes(d))


@pytest.mark.asyncio
async def test_definition_and_symbols(client: LanguageClient, workspace: Path):
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await diagnostics_for(client, uri, lambda d: bool(d))
    line = next(n for n, line in enumerate(text.splitlines()) if '"accounts.id"' in line)
    character = text.splitlines()[line].index("accounts.id") + 9
    places = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character)))
    assert {Path(place.uri).name for place in places} == {"accounts.py", "0001_baseline.py"}
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    accounts = next(symbol for symbol in symbols if symbol.name == "accounts")
    assert {child.name for child in accounts.children} >= {"id", "email", "phone"}
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="group"))
    assert {symbol.name for symbol in found} == {"groups", "account_groups"}


@pytest.mark.asyncio
async def test_code_actions_edit_the_line_and_the_finding_goes_away(client: LanguageClient, workspace: Path):
    uri, text, diagnostics = await _open_models(client, workspace)
    target = next(d for d in diagnostics if d.code == "SL701")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    suppress = next(action for action in actions if "Ignore SL701" in action.title)
    fixed = _apply(text, suppress.edit.changes[uri])
    assert "# schemalens: ignore[SL701]" in fixed.split("\n")[target.range.start.line]
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    await diagnostics_for(client, uri, lambda d: not any(x.code == "SL701" and x.range.start.line == target.range.start.line
                                                          for x in d))


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply whole-line edits, last first (the server's quick fixes replace whole lines)."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: e.range.start.line, reverse=True):
        lines[edit.range.start.line: edit.range.end.line + 1] = edit.new_text.split("\n")
    return "\n".join(lines)


BLOCKING_INDEX = '    op.create_index(\n        "ix_orders_placed_at",\n        "orders",\n        ["placed_at"],\n    )\n'


@pytest.mark.asyncio
async def test_applying_a_local_fix_removes_its_diagnostic(client: LanguageClient, workspace: Path):
    path, rule = "migrations/versions/0003_rename.py", "SL505"
    uri = (workspace / path).as_uri()
    text = (workspace / path).read_text().replace("def upgrade():\n", "def upgrade():\n" + BLOCKING_INDEX, 1)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    diagnostics = await diagnostics_for(client, uri, lambda d: rule in _codes(d))
    target = next(d for d in diagnostics if d.code == rule)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    fix = next(action for action in actions if "CONCURRENTLY" in action.title)
    fixed = _apply(text, fix.edit.changes[uri])
    compile(fixed, path, "exec")
    assert BLOCKING_INDEX not in fixed and "postgresql_concurrently=True" in fixed
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    await diagnostics_for(client, uri, lambda d: rule not in _codes(d))


@pytest.mark.asyncio
async def test_no_model_fix_for_a_table_the_migrations_build(client: LanguageClient, workspace: Path):
    """index=True on the model would not add the index to a database the migrations build."""
    uri = (workspace / MODELS).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=1, text=(workspace / MODELS).read_text())))
    diagnostics = await diagnostics_for(client, uri, lambda d: "SL401" in _codes(d))
    target = next(d for d in diagnostics if d.code == "SL401")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    assert [action.title for action in actions] == ["SchemaLens: Ignore SL401 on this line",
                                                    "SchemaLens: Ignore SL401 in this file"]


@pytest.mark.asyncio
async def test_report_command_writes_the_audit(client: LanguageClient, workspace: Path):
    uri = (workspace / MODELS).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=(workspace / MODELS).read_text())))
    await diagnostics_for(client, uri, lambda d: bool(d))
    report_uri = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="schemalens.generateReport", arguments=["zh"]))
    assert "缺口地图" in Path(report_uri.removeprefix("file://")).read_text(encoding="utf-8")


@pytest.mark.asyncio
async def test_references_of_a_table(client: LanguageClient, workspace: Path):
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    await diagnostics_for(client, uri, lambda d: bool(d))
    line = next(n for n, line in enumerate(text.splitlines()) if '__tablename__ = "accounts"' in line)
    places = await client.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=text.splitlines()[line].index("accounts") + 1),
        context=types.ReferenceContext(include_declaration=True)))
    assert {Path(place.uri).name for place in places} >= {"accounts.py", "0001_baseline.py", "0002_orders.py", "0003_rename.py"}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def file_creating_client(lsp_client: LanguageClient, unsafe_project: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=FILE_CREATING_CAPABILITIES, root_uri=unsafe_project.as_uri()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_an_unsafe_statement_is_split_by_a_code_action(file_creating_client: LanguageClient, unsafe_project: Path):
    client, head = file_creating_client, unsafe_project / "migrations/versions/20261129_1f2e3d4c5b6a_unsafe.py"
    uri = head.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=head.read_text())))
    diagnostics = await diagnostics_for(client, uri, lambda d: "SL508" in _codes(d))
    target = next(d for d in diagnostics if d.code == "SL508")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    split = next(action for action in actions if "Split into expand / backfill / contract" in action.title)
    assert "set-not-null" in split.title
    created = [change.uri for change in split.edit.document_changes if isinstance(change, types.CreateFile)]
    assert len(created) == 1 and all(u.startswith((unsafe_project / "migrations/versions").as_uri() + "/") for u in created)
    for change in split.edit.document_changes:  # apply as an editor would: create, fill, edit the head revision
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri in created:
            Path(change.text_document.uri.removeprefix("file://")).write_text(change.edits[0].new_text)
        elif isinstance(change, types.TextDocumentEdit):
            head.write_text(_apply(head.read_text(), change.edits))
    fixed = head.read_text()
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    for created_uri in created:
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=created_uri, type=types.FileChangeType.Created)]))
    await diagnostics_for(client, uri, lambda d: "SL508" not in _codes(d))


@pytest.mark.asyncio
async def test_hover_on_a_column_lists_the_code_that_queries_it(client: LanguageClient, workspace: Path):
    service = workspace / "app" / "services.py"
    service_text = ("from .models.accounts import Account\n\n\n"
                    "def by_name(name):\n    return Account.query.filter(Account.display_name == name).all()\n")
    service.write_text(service_text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=service.as_uri(), language_id="python", version=1, text=service_text)))
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    line = next(n for n, line in enumerate(text.splitlines()) if line.strip().startswith("display_name ="))

    async def hover_once_indexed():
        while True:  # the opened file is indexed in the background
            found = await client.text_document_hover_async(types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=6)))
            if found is not None and "Code paths on this column:" in found.contents.value:
                return found
            await asyncio.sleep(0.1)

    result = await asyncio.wait_for(hover_once_indexed(), 30)
    assert "filter = in by_name — `app/services.py:5`" in result.contents.value
