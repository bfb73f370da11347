"""Positions in every encoding a client may ask for: the server announces the one the client
offers (`general.positionEncodings`) and counts every column it sends or receives in it.

The line under test has CJK text and emoji before the finding: in UTF-8 each CJK character is 3
code units and each emoji 4, in UTF-16 1 and 2, in UTF-32 1 and 1. A server that counts code
points is off by 18 columns in UTF-8 and 2 in UTF-16 there."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.workspace.index import WorkspaceIndex

MODELS = """import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    label = "订单标签颜色😀🏷"; created_at = sa.Column(sa.DateTime, nullable=False)  # 创建时间 ⏰
"""
LINE = 9  # 0-based: the line with the CJK text, the emoji and the SL201 finding
WIDTH = {"utf-8": 1, "utf-16": 2, "utf-32": 4}  # bytes per code unit
CODEC = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}


def units(text: str, encoding: str) -> int:
    """How a client in `encoding` counts `text`: an oracle independent of the server's code."""
    return len(text.encode(CODEC[encoding])) // WIDTH[encoding]


def apply_edits(text: str, edits: list[types.TextEdit], encoding: str) -> str:
    """Apply edits as a client in `encoding` does: on the encoded line, so that a column inside a
    character cuts it (and the strict decoding below fails) instead of being silently rounded."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        start, end = edit.range.start, edit.range.end
        first = lines[start.line].encode(CODEC[encoding])
        last = lines[end.line].encode(CODEC[encoding])
        head = first[: start.character * WIDTH[encoding]]
        tail = last[end.character * WIDTH[encoding]:]
        assert start.character <= len(first) // WIDTH[encoding] and end.character <= len(last) // WIDTH[encoding]
        joined = (head + edit.new_text.encode(CODEC[encoding]) + tail).decode(CODEC[encoding], errors="strict")
        lines[start.line: end.line + 1] = joined.split("\n")
    return "\n".join(lines)


@pytest.fixture(params=["utf-8", "utf-16", "utf-32"])
def encoding(request) -> str:
    return request.param


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "models.py").write_text(MODELS, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def client(lsp_client: LanguageClient, workspace: Path, encoding: str):
    capabilities = types.ClientCapabilities(general=types.GeneralClientCapabilities(position_encodings=[encoding]))
    result = await lsp_client.initialize_session(types.InitializeParams(capabilities=capabilities,
                                                                         root_uri=workspace.as_uri()))
    assert result.capabilities.position_encoding == encoding
    yield
    await lsp_client.shutdown_session()


async def _open(client: LanguageClient, workspace: Path) -> tuple[str, list[types.Diagnostic]]:
    uri = (workspace / "app" / "models.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=MODELS)))
    return uri, await _diagnostics(client, uri, lambda d: any(x.code == "SL201" for x in d))


async def _diagnostics(client: LanguageClient, uri: str, predicate) -> list[types.Diagnostic]:
    async def wait():
        while not predicate(client.diagnostics.get(uri, [])):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return client.diagnostics[uri]
    return await asyncio.wait_for(wait(), 30)


@pytest.mark.asyncio
async def test_a_diagnostic_after_cjk_text_starts_and_ends_at_its_columns(client: LanguageClient, workspace: Path,
                                                                          encoding: str):
    _, diagnostics = await _open(client, workspace)
    finding = next(d for d in diagnostics if d.code == "SL201")
    line = MODELS.split("\n")[LINE]
    start = line.index("created_at")
    end = line.index("  # 创建时间")  # the Column(...) assignment ends before the comment
    assert finding.range.start == types.Position(line=LINE, character=units(line[:start], encoding))
    assert finding.range.end == types.Position(line=LINE, character=units(line[:end], encoding))


@pytest.mark.asyncio
async def test_a_hover_after_cjk_text_finds_the_word_under_the_cursor(client: LanguageClient, workspace: Path,
                                                                      encoding: str):
    uri, _ = await _open(client, workspace)
    line = MODELS.split("\n")[LINE]
    inside_the_name = line.index("created_at") + len("created_at") - 1  # on its last letter
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=LINE, character=units(line[:inside_the_name], encoding))))
    assert hover is not None and "column **created_at**" in hover.contents.value


@pytest.mark.asyncio
async def test_the_ignore_action_leaves_valid_utf8_and_a_file_that_parses(client: LanguageClient, workspace: Path,
                                                                          encoding: str):
    uri, diagnostics = await _open(client, workspace)
    finding = next(d for d in diagnostics if d.code == "SL201")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=finding.range,
        context=types.CodeActionContext(diagnostics=[finding])))
    ignore = next(action for action in actions if action.title == "SchemaLens: Ignore SL201 on this line")
    edits = ignore.edit.changes[uri]
    fixed = apply_edits(MODELS, edits, encoding)
    fixed.encode("utf-8", errors="strict")
    compile(fixed, "models.py", "exec")
    assert fixed.split("\n")[LINE] == MODELS.split("\n")[LINE] + "  # schemalens: ignore[SL201]"

    # The client sends the same edit back as an incremental change, in its own units.
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text) for edit in edits]))
    await _diagnostics(client, uri, lambda d: not any(x.code == "SL201" for x in d))
    (workspace / "app" / "models.py").write_text(fixed, encoding="utf-8")
    assert [f for f in run_audit(WorkspaceIndex(workspace).index_all()).findings if f.rule == "SL201"] == []


@pytest.mark.asyncio
async def test_definitions_and_symbols_count_columns_in_the_encoding(client: LanguageClient, workspace: Path,
                                                                     encoding: str):
    uri, _ = await _open(client, workspace)
    line = MODELS.split("\n")[LINE]
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    created_at = next(child for symbol in symbols for child in symbol.children or () if child.name == "created_at")
    assert created_at.range.start == types.Position(line=LINE, character=units(line[:line.index("created_at")], encoding))
    places = await client.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=LINE, character=units(line[:line.index("created_at") + 1], encoding))))
    assert [place.range.start for place in places] == [created_at.range.start]


@pytest.mark.asyncio
async def test_an_incremental_edit_after_a_page_break_lands_on_its_line(client: LanguageClient, workspace: Path,
                                                                        encoding: str):
    """A form feed (\\x0c) or U+2028 does not end a line for LSP (nor for Python), though
    `str.splitlines` splits there."""
    text = MODELS.replace("class Order(Base):", "\x0c\nclass Order(Base):  # \u2028 订单")
    (workspace / "app" / "models.py").write_text(text, encoding="utf-8")
    uri = (workspace / "app" / "models.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    # The index may have published the file as it was before it was written: wait for the text opened
    # (a server that splits lines at the page break never publishes it there)
    created = next(number for number, line in enumerate(text.split("\n")) if "created_at = sa.Column(sa.DateTime" in line)
    diagnostics = await _diagnostics(client, uri, lambda d: any(x.code == "SL201" and x.range.start.line == created for x in d))
    finding = next(d for d in diagnostics if d.code == "SL201")
    line = text.split("\n")[finding.range.start.line]
    assert "created_at = sa.Column(sa.DateTime" in line
    start = units(line[:line.index("sa.DateTime")], encoding)
    change = types.Range(start=types.Position(line=finding.range.start.line, character=start),
                         end=types.Position(line=finding.range.start.line, character=start + len("sa.DateTime")))
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(range=change, text="sa.DateTime(timezone=True)")]))
    diagnostics = await _diagnostics(client, uri, lambda d: not any(x.code == "SL201" for x in d))
    assert not any(d.code.startswith("parse:") for d in diagnostics)


REVISIONS = {
    "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
    "migrations/env.py": "",
    "migrations/versions/a1_orders.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n\n"
                                         "def upgrade():\n    op.create_table('orders', sa.Column('id', sa.Integer(), primary_key=True),\n"
                                         "                    sa.Column('status', sa.Text()))\n\n\n"
                                         "def downgrade():\n    op.drop_table('orders')\n"),
    "migrations/versions/b2_status.py": ('from alembic import op\nrevision = "b2"\ndown_revision = "a1"\n\n\n'
                                         'def upgrade():\n    op.execute("""\n'
                                         '        ALTER TABLE orders ALTER COLUMN status SET NOT NULL  -- 订单状态 😀\n'
                                         '    """)  # 状态必填 ✅\n\n\n'
                                         'def downgrade():\n    op.execute("ALTER TABLE orders ALTER COLUMN status DROP NOT NULL")\n'),
}


@pytest.mark.asyncio
async def test_ignoring_a_finding_in_sql_inside_a_string_writes_outside_the_string(client: LanguageClient, workspace: Path,
                                                                                   encoding: str):
    for path, text in REVISIONS.items():
        (workspace / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace / path).write_text(text, encoding="utf-8")
    path, text = "migrations/versions/b2_status.py", REVISIONS["migrations/versions/b2_status.py"]
    uri = (workspace / path).as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    diagnostics = await _diagnostics(client, uri, lambda d: any(x.code == "SL508" for x in d))
    finding = next(d for d in diagnostics if d.code == "SL508")
    assert "ALTER TABLE" in text.split("\n")[finding.range.start.line]
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=finding.range,
        context=types.CodeActionContext(diagnostics=[finding])))
    ignore = next(action for action in actions if action.title.startswith("SchemaLens: Ignore SL508"))
    assert ignore.title == "SchemaLens: Ignore SL508 for this statement (comment on line 9)"
    fixed = apply_edits(text, ignore.edit.changes[uri], encoding)
    fixed.encode("utf-8", errors="strict")
    compile(fixed, path, "exec")
    assert fixed.split("\n")[8] == '    """)  # 状态必填 ✅  # schemalens: ignore[SL508]'
    assert fixed.split("\n")[7] == text.split("\n")[7]  # the SQL is unchanged
    (workspace / path).write_text(fixed, encoding="utf-8")
    findings = run_audit(WorkspaceIndex(workspace).index_all()).findings
    assert not [f for f in findings if f.location.path == path and (f.rule == "SL508" or f.severity == "P0")]
