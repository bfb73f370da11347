"""A file that does not parse, over a real LSP client (pytest-lsp): a half-typed line in the
middle of a model file with findings below it. What the last good parse says is shown at the
lines it moved to, or not at all; never at the lines of the last version that parsed. The oracle
is the text itself: a diagnostic's line must be the very line it was on before the edit."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from conftest import diagnostics_for

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
ORDER = "app/models/order.py"
HALF_TYPED = "    total = db.Column(db.Numeric(12,"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def client(lsp_client: LanguageClient, shop: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=shop.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=shop.as_uri(), name="shop")]))
    yield
    await lsp_client.shutdown_session()




def _parse_errors(diagnostics) -> list[types.Diagnostic]:
    return [d for d in diagnostics if str(d.code).startswith("parse:")]


def _change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def _open_and_break(client: LanguageClient, shop: Path, after: str = "id = db.Column"):
    """Open the model file, then type a half line after the line that starts with `after`
    (by default `id = ...`, at the top of the class)."""
    uri = (shop / ORDER).as_uri()
    good = (shop / ORDER).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=good)))
    before = await diagnostics_for(client, uri, lambda d: any(x.code == "SL201" for x in d))
    lines = good.split("\n")
    at = next(n for n, line in enumerate(lines) if line.strip().startswith(after)) + 1
    broken = "\n".join(lines[:at] + [HALF_TYPED] + lines[at:])
    _change(client, uri, 2, broken)
    after = await diagnostics_for(client, uri, lambda d: bool(_parse_errors(d)))
    return uri, good, broken, at, before, after


@pytest.mark.asyncio
async def test_diagnostics_below_a_half_typed_line_move_with_the_text(client: LanguageClient, shop: Path):
    uri, good, broken, at, before, after = await _open_and_break(client, shop)
    good_lines, broken_lines = good.split("\n"), broken.split("\n")
    findings = [d for d in after if not str(d.code).startswith("parse:")]
    assert findings, "the last good findings are carried, not dropped"
    below = [d for d in before if d.range.start.line >= at]
    assert len(below) >= 5, "the example has findings below the edit"
    for diagnostic in findings:
        moved_from = diagnostic.range.start.line - (1 if diagnostic.range.start.line > at else 0)
        assert broken_lines[diagnostic.range.start.line] == good_lines[moved_from], diagnostic
        assert any(d.code == diagnostic.code and d.range.start.line == moved_from for d in before), diagnostic
    for diagnostic in below:
        assert any(d.code == diagnostic.code and d.range.start.line == diagnostic.range.start.line + 1 for d in findings)
    assert not any(d.range.start.line == at for d in findings), "nothing from the old parse on the new line"


@pytest.mark.asyncio
async def test_the_syntax_error_is_where_the_parser_reports_it_within_the_line(client: LanguageClient, shop: Path):
    uri, good, broken, at, before, after = await _open_and_break(client, shop)
    (syntax_error,) = _parse_errors(after)
    line = broken.split("\n")[syntax_error.range.start.line]
    assert syntax_error.range.start.line == at and line == HALF_TYPED  # "'(' was never closed": the open bracket
    assert 0 <= syntax_error.range.start.character <= len(line) and syntax_error.range.end.character <= len(line)
    assert line[syntax_error.range.start.character] == "("


@pytest.mark.asyncio
async def test_related_locations_in_the_broken_file_move_too(client: LanguageClient, shop: Path):
    """Findings in other files (a revision's drift from the model) point into the model file as
    related information: those locations move with the text too, or are left out."""
    uri = (shop / ORDER).as_uri()
    good_lines = (shop / ORDER).read_text().split("\n")

    def related_into_order(by_uri) -> list[types.Location]:
        return [info.location for diagnostics in by_uri.values() for d in diagnostics if d.code == "SL601"
                for info in d.related_information or () if info.location.uri == uri]
    _, good, broken, at, _, _ = await _open_and_break(client, shop, after="from .mixins import")
    await asyncio.sleep(0.5)  # the other files' publications of the same rebuild
    broken_lines = broken.split("\n")
    related = related_into_order(client.diagnostics)
    assert related, "SL601 in app/services/orders.py points at the Order class"
    for location in related:
        line, start, end = location.range.start.line, location.range.start.character, location.range.end.character
        assert line != at and broken_lines[line] == good_lines[line - (1 if line > at else 0)]
        assert broken_lines[line][start:end] == "Order"  # SL601's related location: the model class


@pytest.mark.asyncio
async def test_the_ignore_action_on_a_moved_finding_edits_its_line(client: LanguageClient, shop: Path):
    uri, good, broken, at, before, after = await _open_and_break(client, shop)
    target = next(d for d in after if d.code == "SL201" and d.range.start.line > at)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    ignore = next(action for action in actions if action.title == "SchemaLens: Ignore SL201 on this line")
    (edit,) = ignore.edit.changes[uri]
    lines = broken.split("\n")
    assert "db.DateTime" in lines[target.range.start.line], "SL201 is on a timestamp column"
    assert edit.range.start.line == edit.range.end.line == target.range.start.line
    assert edit.new_text == lines[target.range.start.line] + "  # schemalens: ignore[SL201]"
    lines[target.range.start.line] = edit.new_text
    _change(client, uri, 3, "\n".join(lines))
    await diagnostics_for(client, uri, lambda d: bool(_parse_errors(d)) and not any(
        x.code == "SL201" and x.range.start.line == target.range.start.line for x in d))


@pytest.mark.asyncio
async def test_no_action_edits_through_a_position_older_than_the_buffer(client: LanguageClient, shop: Path):
    """A code action asked for right after an edit (before its debounce ran) is computed on the
    buffer as it is: the finding's line is the line it names now."""
    uri, good, broken, at, before, after = await _open_and_break(client, shop)
    target = next(d for d in after if d.code == "SL201" and d.range.start.line > at)
    lines = broken.split("\n")
    newer = "\n".join(lines[:at] + ["    # a comment typed above"] + lines[at:])
    _change(client, uri, 3, newer)
    stale_target = target  # the diagnostic the client still shows: one line too high now
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=stale_target.range,
        context=types.CodeActionContext(diagnostics=[stale_target])))
    newer_lines = newer.split("\n")
    for action in actions or ():
        for edit in action.edit.changes[uri]:
            assert "db.DateTime" in newer_lines[edit.range.start.line] and newer_lines[edit.range.start.line] in edit.new_text


BROKEN = {
    "revision": ("migrations/versions/7c3e5a9f0d48_bigint_order_item_ids_and_orders_created_index.py",
                 "    op.create_index('ix_orders_created_at', 'orders', ['created_at'], unique=False)",
                 "    op.add_column('orders', sa.Column('note2', sa.Text()),", "("),
    "SQL migration": ("sql/migrations/V1__reporting_schema.sql", "CREATE TABLE daily_sales (",
                      "ALTER TABLE daily_sales ADD COLUMN;", ";"),
}


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", sorted(BROKEN))
async def test_a_syntax_error_is_on_its_own_line_within_it(client: LanguageClient, shop: Path, kind: str):
    """Not on the line after (often blank), not past the line's end."""
    path, before, typed, at_character = BROKEN[kind]
    uri, text = (shop / path).as_uri(), (shop / path).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="sql" if path.endswith(".sql") else "python", version=1, text=text)))
    await diagnostics_for(client, uri, lambda d: True)
    lines = text.split("\n")
    at = next(n for n, line in enumerate(lines) if line.startswith(before))
    broken = "\n".join(lines[:at] + [typed, ""] + lines[at:])
    _change(client, uri, 2, broken)
    def rejected(diagnostics):  # a statement PostgreSQL rejects is a finding (SL531, SL538), which carries the fix
        return [d for d in diagnostics if d.range.start.line == at and (d in _parse_errors(diagnostics) or d.code in ("SL531", "SL538"))]
    error = rejected(await diagnostics_for(client, uri, lambda d: bool(rejected(d))))[0]
    assert error.range.start.character <= len(typed) and error.range.end.line == at and error.range.end.character <= len(typed)
    assert typed[error.range.start.character:].startswith(at_character) or error.range.start.character == 0
