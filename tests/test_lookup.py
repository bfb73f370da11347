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


def test_a_model_class_name_stands_for_its_table(model):
    assert _at(model, MODELS, "class Account", offset=8) == Target("accounts")
    assert _at(model, MODELS, 'relationship("Group"', offset=15) == Target("groups")


def test_the_tablename_keyword_stands_for_the_class_table(model):
    assert _at(model, MODELS, "__tablename__", offset=3) == Target("accounts")
    assert _at(model, MODELS, "__tablename__", offset=3, occurrence=1) == Target("groups")


SCHEMAS = {
    "app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\n\nBase = declarative_base()\n\n\n"
        "class Invoice(Base):\n"
        "    __tablename__ = \"invoices\"\n"
        "    __table_args__ = {\"schema\": \"billing\"}\n"
        "    id = sa.Column(sa.BigInteger, primary_key=True)\n"
        "    amount = sa.Column(sa.Numeric(12, 2), nullable=False)\n\n\n"
        "class Order(Base):\n"
        "    __tablename__ = \"orders\"\n"
        "    id = sa.Column(sa.BigInteger, primary_key=True)\n"
        "    status = sa.Column(sa.String(20), nullable=False)\n"
        "    invoice_id = sa.Column(sa.BigInteger, sa.ForeignKey(\"billing.invoices.id\"))\n"),
    "app/services.py": "from .models import Order\n\n\ndef pending():\n    return Order.query.filter(Order.status.in_(['new'])).all()\n",
    "db/V1__schema.sql": ("CREATE SCHEMA billing;\n"
                          "CREATE TABLE billing.invoices (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL);\n"
                          "CREATE TABLE orders (id bigint PRIMARY KEY, status varchar(20) NOT NULL,\n"
                          "    invoice_id bigint REFERENCES billing.invoices (id));\n"),
    "db/V2__index.sql": ('ALTER TABLE "billing"."invoices" ADD COLUMN paid_at timestamptz;\n'
                         "ALTER TABLE public.orders ADD COLUMN note text;\n"),
}


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    root = tmp_path_factory.mktemp("schemas")
    for path, text in SCHEMAS.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return WorkspaceIndex(root).index_all()


def _in(model, path: str, needle: str, offset: int) -> Target:
    text = SCHEMAS[path]
    number, line = next((n, line) for n, line in enumerate(text.split("\n"), start=1) if needle in line)
    return target_at(model, path, text, number, line.index(needle) + offset)


def test_a_schema_qualified_name_in_sql_names_the_table(schemas):
    assert _in(schemas, "db/V1__schema.sql", "billing.invoices (id bigint", 2) == Target("billing.invoices")
    assert _in(schemas, "db/V1__schema.sql", "billing.invoices (id bigint", 10) == Target("billing.invoices")
    assert _in(schemas, "db/V2__index.sql", '"billing"."invoices"', 12) == Target("billing.invoices")
    assert _in(schemas, "db/V2__index.sql", "public.orders", 9) == Target("orders")


def test_a_schema_qualified_foreign_key_string_names_the_column(schemas):
    assert _in(schemas, "app/models.py", "billing.invoices.id", 3) == Target("billing.invoices", "id")


def test_a_class_attribute_in_application_code_names_the_column(schemas):
    assert _in(schemas, "app/services.py", "Order.status", 8) == Target("orders", "status")
    assert _in(schemas, "app/services.py", "Order.query", 1) == Target("orders")


def test_table_args_stand_for_the_class_table(schemas):
    assert _in(schemas, "app/models.py", "__table_args__", 4) == Target("billing.invoices")
