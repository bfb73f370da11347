"""The language server in Chinese: a client whose `initialize` locale is zh-cn gets Chinese
diagnostics, hovers and code action titles (pytest-lsp drives the real server over stdio)."""

from __future__ import annotations

import re
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
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    shutil.copytree(SERVICE, root)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def chinese_client(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri(), locale="zh-cn",
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="service")]))
    yield
    await lsp_client.shutdown_session()




async def _open(client: LanguageClient, workspace: Path) -> tuple[str, str, list[types.Diagnostic]]:
    uri = (workspace / MODELS).as_uri()
    text = (workspace / MODELS).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    return uri, text, await diagnostics_for(client, uri, lambda d: "SL401" in {x.code for x in d})


@pytest.mark.asyncio
async def test_a_zh_cn_client_gets_chinese_diagnostics(chinese_client: LanguageClient, workspace: Path):
    _, _, diagnostics = await _open(chinese_client, workspace)
    for diagnostic in diagnostics:
        if diagnostic.source == "schemalens" and not diagnostic.code.startswith("parse:"):
            assert "\n修复：" in diagnostic.message, diagnostic.message
    index = next(d for d in diagnostics if d.code == "SL401")
    assert index.message.startswith("accounts 没有任何索引") or HAN.search(index.message.split("\n")[0]), index.message
    assert "CREATE INDEX CONCURRENTLY" in index.message  # SQL stays as it is


@pytest.mark.asyncio
async def test_a_zh_cn_client_gets_chinese_hovers(chinese_client: LanguageClient, workspace: Path):
    uri, text, _ = await _open(chinese_client, workspace)
    line = next(n for n, line in enumerate(text.splitlines()) if '__tablename__ = "accounts"' in line)
    result = await chinese_client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=text.splitlines()[line].index("accounts") + 2)))
    card = result.contents.value
    assert "**accounts**" in card and "| 列 | 类型 | 可空 | 默认值 |" in card and "迁移记录（最新在前）" in card


@pytest.mark.asyncio
async def test_a_zh_cn_client_gets_chinese_code_action_titles(chinese_client: LanguageClient, workspace: Path):
    uri, _, diagnostics = await _open(chinese_client, workspace)
    target = next(d for d in diagnostics if d.code == "SL401")
    actions = await chinese_client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    assert [action.title for action in actions] == ["SchemaLens: 在此行忽略 SL401", "SchemaLens: 在此文件中忽略 SL401"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def english_by_setting(lsp_client: LanguageClient, workspace: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=types.ClientCapabilities(), root_uri=workspace.as_uri(), locale="zh-CN",
        initialization_options={"schemalens": {"lang": "en"}}))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_lang_setting_wins_over_the_client_locale(english_by_setting: LanguageClient, workspace: Path):
    _, _, diagnostics = await _open(english_by_setting, workspace)
    assert all("\nFix: " in d.message for d in diagnostics if d.code.startswith("SL"))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"]))
async def chinese_file_creating_client(lsp_client: LanguageClient, unsafe_project: Path):
    await lsp_client.initialize_session(types.InitializeParams(
        capabilities=FILE_CREATING_CAPABILITIES, root_uri=unsafe_project.as_uri(), locale="zh-cn"))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_zh_cn_client_gets_the_safe_revisions_in_chinese(chinese_file_creating_client: LanguageClient,
                                                                  unsafe_project: Path):
    from prose import english_prose, python_prose

    client, head = chinese_file_creating_client, unsafe_project / "migrations/versions/20261129_1f2e3d4c5b6a_unsafe.py"
    uri = head.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=head.read_text())))
    diagnostics = await diagnostics_for(client, uri, lambda d: "SL508" in {x.code for x in d})
    target = next(d for d in diagnostics if d.code == "SL508")
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=target.range,
        context=types.CodeActionContext(diagnostics=[target])))
    split = next(action for action in actions if "拆分为扩展 / 回填 / 收缩" in action.title)
    template = (unsafe_project / "migrations" / "script.py.mako").read_text()
    edits = [change for change in split.edit.document_changes if isinstance(change, types.TextDocumentEdit)]
    created = [edit.edits[0].new_text for edit in edits if edit.text_document.uri != uri]
    head_edit = next(edit for edit in edits if edit.text_document.uri == uri).edits[0].new_text
    assert created and all(english_prose(python_prose(text, template)) == [] for text in created)
    assert all("运行前须已上线" in text for text in created)
    assert "SchemaLens：已移到安全迁移" in head_edit
