"""What a position refers to, and where it is defined (the logic behind hover and definition)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemalens.analyzers.workspace.index import WorkspaceIndex
from schemalens.analyzers.workspace.lookup import (
    Target, definitions, document_symbols, references, target_at, workspace_symbols,
)

SERVICE = Path(__file__).parent / "fixtures" / "flask_service"
MODELS = "app/models/accounts.py"
REVISION = "migrations/versions/0002_orders.py"


@pytest.fixture(scope="module")
def model():
    return WorkspaceIndex(SERVICE).index_all()


def _at(model, path: str, needle: str, offset: int = 1, occurrence: int = 0):
    text = (SERVICE / path).read_text()
    lines = text.splitlines()
    hits = [(n, line.index(needle)) for n, line in enumerate(lines, start=1) if needle in line]
    line, column = hits[occurrence]
    return target_at(model, path, text, line, column + offset)


def test_a_table_name_in_a_string(model):
    assert _at(model, MODELS, '"accounts"') == Target("accounts")


def test_a_foreign_key_string_names_the_column(model):
    assert _at(model, MODELS, "accounts.id") == Target("accounts", "id")


def test_a_column_attribute_inside_a_model_class(model):
    assert _at(model, MODELS, "phone = ", offset=0) == Target("accounts", "phone")


def test_a_column_in_an_op_call_belongs_to_the_operation_s_table(model):
    assert _at(model, REVISION, '"account_id"') == Target("orders", "account_id")
    assert _at(model, REVISION, '"display_name"') == Target("accounts", "display_name")


def test_plain_words_are_not_targets(model):
    assert _at(model, MODELS, "relationship", offset=0) is None


def test_definitions_point_at_the_model_and_the_creating_migration(model):
    places = {(location.path, label) for location, label in definitions(model, Target("accounts", "email"))}
    assert places == {(MODELS, "model"), ("migrations/versions/0001_baseline.py", "migration")}


def test_symbols(model):
    names = [(s.name, s.kind) for s in document_symbols(model, REVISION)]
    assert ("orders", "table") in names and ("0002orders", "revision") in names
    assert [s.name for s in workspace_symbols(model, "ACC")] == ["account_groups", "accounts"]


def test_references_span_models_migrations_foreign_keys_and_downgrades(model):
    places = references(model, Target("accounts"))
    paths = {location.path for location, _ in places}
    assert {MODELS, "migrations/versions/0001_baseline.py", REVISION, "migrations/versions/0003_rename.py"} <= paths
    labels = {label for _, label in places}
    assert "foreign key from orders" in labels and any(label.startswith("downgrade") for label in labels)
    column_places = references(model, Target("accounts", "display_name"))
    assert {location.path for location, _ in column_places} >= {MODELS, REVISION, "migrations/versions/0003_rename.py"}
