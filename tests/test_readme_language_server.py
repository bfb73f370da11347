"""README, "Language server", promise by promise, over a real LSP client (pytest-lsp) on the
bundled example; with the client capabilities of VS Code and of Neovim 0.7 (which declares no
`documentChanges` and cannot be asked to show a document) as pytest-lsp ships them. Neovim and
Emacs themselves are driven in tests/test_neovim.py and tests/test_emacs.py."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Union

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import diagnostics_for

from schemalens.analyzers.audit import run_audit
from schemalens.analyzers.rules.base import occurrences
from schemalens.analyzers.workspace.index import WorkspaceIndex

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shop"
SCAFFOLD_PROJECT = Path(__file__).parent / "fixtures" / "scaffold_project"
ORDER = "app/models/order.py"
REVISION = "migrations/versions/7c3e5a9f0d48_bigint_order_item_ids_and_orders_created_index.py"
REPORTING = "sql/migrations/V1__reporting_schema.sql"
QUALIFIED = "sql/migrations/V4__qualified_names.sql"  # written into the copy: the example has none
SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "schemalens", "lsp"])


def _copy_of_the_example(folder: Path) -> Path:
    root = folder / "shop"
    shutil.copytree(EXAMPLE, root)
    (root / QUALIFIED).write_text('ALTER TABLE public.daily_sales ADD COLUMN note text;\n'
                                  'COMMENT ON TABLE "public"."order_events" IS \'events\';\n')
    return root


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return _copy_of_the_example(tmp_path)


@pytest.fixture(scope="module")
def shop_to_read(tmp_path_factory) -> Path:
    """A copy that no test changes: one server reads it for all the tests that only look."""
    return _copy_of_the_example(tmp_path_factory.mktemp("read"))


def _read_code_actions_as_editors_do(client: LanguageClient) -> None:
    """lsprotocol reads any code action with a `command` as a Command; editors look at whether
    `command` is a string (Command) or an object (a CodeAction's command)."""
    converter = client.protocol._converter

    def structure(value, _):
        kind = types.Command if isinstance(value.get("command"), str) else types.CodeAction
        return converter.structure(value, kind)
    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)


async def _start(client: LanguageClient, root: Path, capabilities: types.ClientCapabilities, options=None) -> None:
    client.feature(types.CLIENT_REGISTER_CAPABILITY)(lambda params: None)  # accept the file watchers
    _read_code_actions_as_editors_do(client)
    await client.initialize_session(types.InitializeParams(
        capabilities=capabilities, root_uri=root.as_uri(), initialization_options=options,
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))


@pytest_lsp.fixture(config=SERVER, scope="module")
async def reader(lsp_client: LanguageClient, shop_to_read: Path):
    await _start(lsp_client, shop_to_read, client_capabilities("visual_studio_code"))
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient, shop: Path):
    await _start(lsp_client, shop, client_capabilities("neovim@v0.7.0"))
    yield
    await lsp_client.shutdown_session()


READING = pytest.mark.asyncio(loop_scope="module")




def _open(client: LanguageClient, root: Path, path: str) -> tuple[str, str]:
    uri, text = (root / path).as_uri(), (root / path).read_text(encoding="utf-8")
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="sql" if path.endswith(".sql") else "python", version=1, text=text)))
    return uri, text


def _position(text: str, needle: str, offset: int, occurrence: int = 0) -> types.Position:
    hits = [(n, line.index(needle)) for n, line in enumerate(text.split("\n")) if needle in line]
    line, column = hits[occurrence]
    return types.Position(line=line, character=column + offset)


# "The server indexes the workspace when the editor connects (with progress) ... It publishes the
# audit findings as diagnostics on every file they point at, open or not"

@READING
async def test_the_index_reports_progress_and_files_get_diagnostics_unopened(reader: LanguageClient, shop_to_read: Path):
    revision = (shop_to_read / REVISION).as_uri()
    await diagnostics_for(reader, revision, lambda d: any(x.code == "SL505" for x in d))
    (reports,) = reader.progress_reports.values()
    for _ in range(100):  # the end of the progress follows the diagnostics of the first index
        if isinstance(reports[-1], types.WorkDoneProgressEnd):
            break
        await asyncio.sleep(0.1)
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert any(isinstance(report, types.WorkDoneProgressReport) and report.message.endswith("files") for report in reports)


# "P0 Error, P1 Warning, P2 Information, the rule code linked to its docs, the other evidence as
# related information and the one-line fix at the end of the message"

@READING
async def test_a_diagnostic_carries_severity_code_link_related_information_and_fix(reader: LanguageClient, shop_to_read: Path):
    uri, _ = _open(reader, shop_to_read, ORDER)
    diagnostics = await diagnostics_for(reader, uri, lambda d: {"SL401", "SL201", "SL206"} <= {x.code for x in d})
    audited = {(f.rule, f.location.line - 1): f.severity for merged in run_audit(WorkspaceIndex(shop_to_read).index_all()).findings
               for f in occurrences(merged) if f.location.path == ORDER}
    kinds = {"P0": types.DiagnosticSeverity.Error, "P1": types.DiagnosticSeverity.Warning,
             "P2": types.DiagnosticSeverity.Information}
    assert set(audited.values()) == set(kinds), "the file has findings of every severity"
    for diagnostic in diagnostics:
        assert diagnostic.severity == kinds[audited[(diagnostic.code, diagnostic.range.start.line)]]
    sl206 = next(d for d in diagnostics if d.code == "SL206")
    assert sl206.code_description.href.endswith("docs/rules.md#sl206-inconsistent-naming")
    assert "\nFix: " in sl206.message
    services = (shop_to_read / "app/services/orders.py").as_uri()
    sl601 = await diagnostics_for(reader, services, lambda d: any(x.code == "SL601" and x.related_information for x in d))
    related = next(d for d in sl601 if d.code == "SL601").related_information
    assert any(info.location.uri == uri for info in related)


# "then follows every edit (unsaved text wins over the disk), save and file change on disk"

@pytest.mark.asyncio
async def test_a_save_and_a_change_on_disk_are_followed(client: LanguageClient, shop: Path):
    uri, text = _open(client, shop, ORDER)
    await diagnostics_for(client, uri, lambda d: any(x.code == "SL201" for x in d))
    added = "    shipped_on = db.Column(db.DateTime)"  # a model column no migration adds: SL521
    edited = text.replace("    paid_at = db.Column(db.DateTime)\n", "    paid_at = db.Column(db.DateTime)\n" + added + "\n")
    line = edited.split("\n").index(added)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)]))
    (shop / ORDER).write_text(edited)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    await diagnostics_for(client, uri, lambda d: any(x.code == "SL521" and x.range.start.line == line for x in d))
    # A file written by another tool, not open in the editor.
    revision = shop / REVISION
    blocking = "    op.create_index('ix_orders_paid_at', 'orders', ['paid_at'], unique=False)"
    lines = revision.read_text().split("\n")
    at = next(n for n, l in enumerate(lines) if l.startswith("    op.create_index('ix_orders_created_at'")) + 1
    revision.write_text("\n".join(lines[:at] + [blocking] + lines[at:]))
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=revision.as_uri(), type=types.FileChangeType.Changed)]))
    await diagnostics_for(client, revision.as_uri(), lambda d: any(x.code == "SL505" and x.range.start.line == at for x in d))


# "Hover on a model class (its name where declared or used, `Order.status` for a column),
# `__tablename__` or `__table_args__`, a column, a `ForeignKey("t.c")` string, a relationship
# target, an `op.*` argument or a table/column in SQL shows the table card"

HOVERS = [
    ("model class", ORDER, "class Order(", 7, "orders", None),
    ("__tablename__", ORDER, '__tablename__ = "orders"', 4, "orders", None),
    ("__table_args__", ORDER, "__table_args__ = (", 4, "orders", None),
    ("model class where used", "app/services/orders.py", "db.session.query(Order)", 17, "orders", None),
    ("Class.column in application code", "app/tasks/reminders.py", 'Order.status == "pending"', 7, "orders", "status"),
    ("column", ORDER, "total_amount = db.Column", 3, "orders", "total_amount"),
    ("ForeignKey string", ORDER, 'db.ForeignKey("users.id"', 16, "users", "id"),
    ("relationship target", ORDER, 'db.relationship("User"', 18, "users", None),
    ("op.* argument", REVISION, "op.create_index('ix_orders_created_at', 'orders'", 42, "orders", None),
    ("op.* column argument", REVISION, "['created_at']", 3, "orders", "created_at"),
    ("table in SQL", REPORTING, "CREATE TABLE order_events", 15, "order_events", None),
    ("column in SQL", REPORTING, "occurred_at timestamptz", 3, "order_events", "occurred_at"),
    ("schema-qualified name in SQL", QUALIFIED, "public.daily_sales", 2, "daily_sales", None),
    ("quoted schema-qualified name in SQL", QUALIFIED, '"public"."order_events"', 14, "order_events", None),
]


@READING
@pytest.mark.parametrize("what, path, needle, offset, table, column", HOVERS, ids=[h[0] for h in HOVERS])
async def test_hover_shows_the_table_card(reader: LanguageClient, shop_to_read: Path, what, path, needle, offset, table, column):
    uri, text = _open(reader, shop_to_read, path)
    await diagnostics_for(reader, uri, lambda d: True)
    hover = await reader.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=_position(text, needle, offset)))
    assert hover is not None, f"no hover on the {what}"
    card = hover.contents.value
    assert card.startswith(f"**{table}**") and "| column | type | null | default |" in card
    if column:
        assert f"column **{column}**" in card


@READING
async def test_the_card_lists_keys_row_hints_migrations_differences_and_queries(reader: LanguageClient, shop_to_read: Path):
    uri, text = _open(reader, shop_to_read, ORDER)
    await diagnostics_for(reader, uri, lambda d: bool(d))
    table = await reader.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=_position(text, "class Order(", 7)))
    card = table.contents.value
    for part in ("| total_amount | numeric(12,2) | no | '0' |", "- **PK**: id", "- **FK**: fk_orders_user_id_users",
                 "- **check**:", "- **index**: ix_orders_created_at", "- **rows**: 2000000 now",
                 "Migrations (newest first):", "ORM vs database:", "gift_message"):
        assert part in card, part
    column = await reader.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=_position(text, "status = db.Column", 2)))
    assert "Code paths on this column:" in column.contents.value


# "Go to definition, find references, document and workspace symbols work on the same references."
# (tests/test_language_server.py: on a ForeignKey string, a table name; here from a model class)

@READING
async def test_definition_and_references_from_a_model_class(reader: LanguageClient, shop_to_read: Path):
    uri, text = _open(reader, shop_to_read, ORDER)
    await diagnostics_for(reader, uri, lambda d: bool(d))
    position = _position(text, "class Order(", 7)
    places = await reader.text_document_definition_async(types.DefinitionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position))
    assert {Path(place.uri).name for place in places} == {"order.py", "8b1e4d7c2a90_add_orders.py"}
    references = await reader.text_document_references_async(types.ReferenceParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=position,
        context=types.ReferenceContext(include_declaration=True)))
    assert {Path(place.uri).parent.name for place in references} >= {"models", "versions", "services"}


# "Code actions: the rule's quick fix where one is safe, "ignore on this line / in this file"
# comments (for a line inside a string, "for this statement")"

async def _actions(client: LanguageClient, uri: str, diagnostic: types.Diagnostic) -> list[types.CodeAction]:
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=diagnostic.range,
        context=types.CodeActionContext(diagnostics=[diagnostic])))


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply whole-line edits (the server's quick fixes replace whole lines), last first."""
    lines = text.split("\n")
    for edit in sorted(edits, key=lambda e: e.range.start.line, reverse=True):
        lines[edit.range.start.line: edit.range.end.line + 1] = edit.new_text.split("\n")
    return "\n".join(lines)


@pytest.mark.asyncio
async def test_ignore_in_this_file_adds_a_file_comment_and_the_findings_go(client: LanguageClient, shop: Path):
    uri, text = _open(client, shop, ORDER)
    diagnostics = await diagnostics_for(client, uri, lambda d: sum(x.code == "SL201" for x in d) >= 2)
    target = next(d for d in diagnostics if d.code == "SL201")
    action = next(a for a in await _actions(client, uri, target) if a.title == "SchemaLens: Ignore SL201 in this file")
    fixed = _apply(text, action.edit.changes[uri])
    assert fixed.split("\n")[0] == "# schemalens: ignore-file[SL201]"
    compile(fixed, ORDER, "exec")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)]))
    after = await diagnostics_for(client, uri, lambda d: not any(x.code == "SL201" for x in d))
    assert {d.code for d in after} >= {d.code for d in diagnostics} - {"SL201"}


@READING
async def test_ignore_for_this_statement_on_sql_inside_a_string(reader: LanguageClient, shop_to_read: Path):
    path = "migrations/versions/f0c2d6e8a413_pending_orders_index_and_audit_schema_version.py"
    uri, text = _open(reader, shop_to_read, path)
    diagnostics = await diagnostics_for(reader, uri, lambda d: bool(d))
    inside = [d for d in diagnostics if not text.split("\n")[d.range.start.line].rstrip().endswith(("(", ")", ",", ":"))
              and '"""' not in text.split("\n")[d.range.start.line]]
    for diagnostic in inside or diagnostics:
        titles = [a.title for a in await _actions(reader, uri, diagnostic)]
        assert any(t.startswith(f"SchemaLens: Ignore {diagnostic.code}") for t in titles), titles


# "the scaffold: on an unsafe statement in the head revision ... "Split into expand / backfill /
# contract revisions" ...; on a model edit the migrations do not have yet ... "Generate the safe
# migration for this change" creates them. ... one workspace edit (for clients that can create
# files), or an edit of the head revision and a command that creates the files (for the others)"

@pytest.fixture
def unsafe_project(tmp_path: Path) -> Path:
    from test_scaffold import UNSAFE_HEAD

    root = tmp_path / "project"
    shutil.copytree(SCAFFOLD_PROJECT, root)
    (root / "migrations/versions/20261129_1f2e3d4c5b6a_unsafe.py").write_text(UNSAFE_HEAD)
    (root / "app").mkdir()
    (root / "app/models.py").write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n\n\n"
        "class Order(Base):\n    __tablename__ = 'orders'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n"
        "    amount = sa.Column(sa.Numeric(12, 2), nullable=False)\n    qty = sa.Column(sa.BigInteger)\n"
        "    channel = sa.Column(sa.Text, nullable=False, default='web')\n")
    return root


@pytest_lsp.fixture(config=SERVER, params=["neovim@v0.7.0", "emacs"])
async def plain_edit_client(lsp_client: LanguageClient, unsafe_project: Path, request):
    """Clients whose workspace edits cannot create files (no documentChanges, or no `create`)."""
    await _start(lsp_client, unsafe_project, client_capabilities(request.param))
    yield
    await lsp_client.shutdown_session()


async def _run_scaffold(client: LanguageClient, root: Path, path: str, rule: str, title: str, on: str) -> list[Path]:
    """Ask for the scaffold action on `rule` on the line holding `on` in `path`, apply it as the
    client would (its edit, then its command), and return the files it created."""
    uri, text = _open(client, root, path)
    line = next(n for n, l in enumerate(text.split("\n")) if on in l)
    diagnostics = await diagnostics_for(client, uri, lambda d: any(x.code == rule and x.range.start.line == line for x in d))
    target = next(d for d in diagnostics if d.code == rule and d.range.start.line == line)
    action = next(a for a in await _actions(client, uri, target) if title in a.title)
    assert action.edit is None or action.edit.document_changes is None, "this client declared no documentChanges"
    versions = root / "migrations/versions"
    before = set(versions.iterdir())
    if action.edit is not None:
        (edited_uri, edits), = action.edit.changes.items()
        assert edited_uri == uri
        text = _apply(text, edits)
        (root / path).write_text(text)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    created = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=action.command.command, arguments=action.command.arguments))
    new = sorted(set(versions.iterdir()) - before)
    assert [path.as_uri() for path in new] == sorted(created)
    for file in new:
        compile(file.read_text(), str(file), "exec")
    assert any("SchemaLens: created" in m.message for m in client.messages), "the client is told which files"
    await diagnostics_for(client, uri, lambda d: not any(x.message == target.message for x in d))
    return new


@pytest.mark.asyncio
async def test_split_into_safe_revisions_without_document_changes(plain_edit_client: LanguageClient, unsafe_project: Path):
    path = "migrations/versions/20261129_1f2e3d4c5b6a_unsafe.py"
    created = await _run_scaffold(plain_edit_client, unsafe_project, path, "SL508", "Split into expand / backfill / contract",
                                  on='op.alter_column("orders", "amount", nullable=False)')
    assert len(created) == 1  # the column is backfilled by the application first: the contract alone
    assert "pass  # SchemaLens: moved to the safe revisions" in (unsafe_project / path).read_text()


@pytest.mark.asyncio
async def test_generate_the_safe_migration_without_document_changes(plain_edit_client: LanguageClient, unsafe_project: Path):
    created = await _run_scaffold(plain_edit_client, unsafe_project, "app/models.py", "SL521",
                                  "Generate the safe migration for this change", on="channel = sa.Column")
    assert any("ADD COLUMN IF NOT EXISTS channel text DEFAULT 'web' NOT NULL" in file.read_text() for file in created)


@pytest.mark.asyncio
async def test_the_file_command_refuses_paths_outside_the_versions_folders(plain_edit_client: LanguageClient,
                                                                         unsafe_project: Path):
    uri, _ = _open(plain_edit_client, unsafe_project, "app/models.py")
    await diagnostics_for(plain_edit_client, uri, lambda d: bool(d))
    created = await plain_edit_client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="schemalens.createRevisionFiles", arguments=[{"files": [{"path": "app/evil.py", "text": "x = 1\n"}]}]))
    assert created is None and not (unsafe_project / "app/evil.py").exists()


# "Commands: `schemalens.generateReport` (the Markdown audit, "zh" for Chinese) and
# `schemalens.showSchemaMap`."

@READING
async def test_the_report_and_schema_map_commands(reader: LanguageClient, shop_to_read: Path):
    uri, _ = _open(reader, shop_to_read, ORDER)
    await diagnostics_for(reader, uri, lambda d: bool(d))
    report = await reader.workspace_execute_command_async(types.ExecuteCommandParams(command="schemalens.generateReport"))
    assert "## III" in Path(report.removeprefix("file://")).read_text(encoding="utf-8") or \
        "P0" in Path(report.removeprefix("file://")).read_text(encoding="utf-8")
    schema_map = await reader.workspace_execute_command_async(types.ExecuteCommandParams(command="schemalens.showSchemaMap"))
    assert "orders" in Path(schema_map.removeprefix("file://")).read_text(encoding="utf-8")


# "Editor settings (`initializationOptions`, or `workspace/didChangeConfiguration` under
# `schemalens`) take `select`, `ignore`, `severity`, `per_path_ignores` and `dialect`"

@pytest_lsp.fixture(config=SERVER)
async def configured(lsp_client: LanguageClient, shop: Path):
    await _start(lsp_client, shop, client_capabilities("visual_studio_code"), {"schemalens": {
        "select": ["SL2", "SL4"], "ignore": ["SL203"], "severity": {"SL201": "P0"},
        "per_path_ignores": {"app/models/order.py": ["SL4"]}}})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_editor_settings_select_ignore_severity_and_per_path_ignores(configured: LanguageClient, shop: Path):
    uri, _ = _open(configured, shop, ORDER)
    diagnostics = await diagnostics_for(configured, uri, lambda d: any(x.code == "SL201" for x in d))
    codes = {d.code for d in diagnostics if not str(d.code).startswith("parse:")}
    assert codes and all(code.startswith("SL2") for code in codes) and "SL203" not in codes
    assert all(d.severity == types.DiagnosticSeverity.Error for d in diagnostics if d.code == "SL201")
    configured.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"schemalens": {"dialect": "oracle"}}))
    await diagnostics_for(configured, uri, lambda d: any(x.code == "SL401" for x in d))
    assert any(m.type == types.MessageType.Warning and "dialect" in m.message for m in configured.log_messages)
