"""Generate a synthetic Flask-SQLAlchemy + Alembic + Flyway workspace for benchmarks.

The workspace looks like a large real project and is valid: `alembic upgrade head` on an empty
PostgreSQL database succeeds, and the SQL folder applies on top of it in version order.

- `app/models/model_NNNN.py`: N model modules, each with 1-2 `db.Model` classes (5-15 columns,
  FKs to tables of earlier modules, single-column and composite indexes, a unique constraint,
  the `TimestampMixin` from `app/models/mixins.py`);
- `migrations/versions/*.py`: M Alembic revisions in one chain, each with 1-4 `op.*` calls. The
  first revisions create every model table in order; the rest add columns, create indexes,
  alter column types and nullability, and run SQL through `op.execute`;
- `sql/migrations/V<k>__*.sql`: K Flyway files with CREATE TABLE, ALTER TABLE and CREATE INDEX.

Everything is derived from `random.Random(seed)`: the same arguments give the same bytes.

    python bench/generate_workspace.py OUT --models 500 --revisions 1000 --sql 200 [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

# (model/migration type expression, SQL spelling, can carry a btree index)
_COLUMN_TYPES = (
    ("Integer()", "integer", True),
    ("BigInteger()", "bigint", True),
    ("String({n})", "varchar({n})", True),
    ("Text()", "text", True),
    ("Boolean()", "boolean", True),
    ("DateTime()", "timestamp", True),
    ("DateTime(timezone=True)", "timestamptz", True),
    ("Numeric(12, 2)", "numeric(12,2)", True),
    ("Float()", "double precision", True),
    ("JSON()", "json", False),
)
_STRING_SIZES = (16, 32, 64, 80, 120, 255)
_WORDS = (
    "account", "amount", "batch", "code", "comment", "country", "currency", "due", "email", "external",
    "flag", "kind", "label", "level", "name", "note", "owner", "phone", "priority", "quota",
    "rank", "reason", "region", "score", "source", "state", "status", "summary", "title", "token",
    "total", "url", "value", "weight",
)
_ON_DELETE = (None, "CASCADE", "SET NULL", "RESTRICT")


@dataclass
class ColumnSpec:
    name: str
    type_expr: str  # "String(80)", used as db.<expr> in models and sa.<expr> in migrations
    sql_type: str
    indexable: bool
    nullable: bool
    index: bool = False
    fk_table: str | None = None
    on_delete: str | None = None


@dataclass
class TableSpec:
    name: str
    class_name: str
    columns: list[ColumnSpec]
    composite_index: tuple[str, str] | None = None
    unique_column: str | None = None


@dataclass
class GeneratedWorkspace:
    """What was written, so that benchmarks can pick files to edit."""

    root: Path
    model_files: list[str] = field(default_factory=list)  # relative paths
    revision_files: list[str] = field(default_factory=list)  # in chain order, oldest first
    sql_files: list[str] = field(default_factory=list)  # in version order
    tables: dict[str, TableSpec] = field(default_factory=dict)  # model tables by name
    table_of_revision: dict[str, str] = field(default_factory=dict)  # revision path -> a table it may touch


def generate_workspace(out: Path, models: int = 500, revisions: int = 1000, sql: int = 200, seed: int = 0) -> GeneratedWorkspace:
    """Write a workspace under `out` (created if missing; existing generated files are overwritten)."""
    rng = random.Random(seed)
    out = Path(out)
    workspace = GeneratedWorkspace(root=out)
    _write_scaffolding(out)

    tables: list[TableSpec] = []
    for module_number in range(1, models + 1):
        module_tables = [_table_spec(rng, module_number, suffix, tables) for suffix in "ab"[: rng.randint(1, 2)]]
        tables.extend(module_tables)
        path = f"app/models/model_{module_number:04d}.py"
        _write(out / path, _model_module(module_number, module_tables))
        workspace.model_files.append(path)
    workspace.tables = {table.name: table for table in tables}

    _write_revisions(rng, out, revisions, tables, workspace)
    _write_sql_migrations(rng, out, sql, workspace)
    return workspace


# models

def _table_spec(rng: random.Random, module_number: int, suffix: str, earlier: list[TableSpec]) -> TableSpec:
    name = f"entity_{module_number:04d}_{suffix}"
    columns = [ColumnSpec("id", "BigInteger()", "bigint", True, nullable=False)]
    for target in rng.sample(earlier, k=min(len(earlier), rng.randint(0, 2))):
        columns.append(ColumnSpec(f"{target.name}_id", "BigInteger()", "bigint", True, nullable=rng.random() < 0.5,
                                  index=rng.random() < 0.7, fk_table=target.name, on_delete=rng.choice(_ON_DELETE)))
    used = {column.name for column in columns}
    for _ in range(rng.randint(5, 15) - len(columns)):
        word = rng.choice(_WORDS)
        column_name = word if word not in used else f"{word}_{len(used)}"
        used.add(column_name)
        type_expr, sql_type, indexable = rng.choice(_COLUMN_TYPES)
        size = rng.choice(_STRING_SIZES)
        columns.append(ColumnSpec(column_name, type_expr.format(n=size), sql_type.format(n=size), indexable,
                                  nullable=rng.random() < 0.6, index=indexable and rng.random() < 0.15))
    plain = [column.name for column in columns[1:] if column.indexable and column.fk_table is None]
    composite = tuple(rng.sample(plain, 2)) if len(plain) >= 2 and rng.random() < 0.5 else None
    unique = rng.choice(plain) if plain and rng.random() < 0.3 else None
    class_name = f"Entity{module_number:04d}{suffix.upper()}"
    return TableSpec(name, class_name, columns, composite, unique)


def _model_module(module_number: int, tables: list[TableSpec]) -> str:
    lines = [f'"""Generated model module {module_number:04d}."""', "", "from __future__ import annotations", "",
             "from ..extensions import db", "from .mixins import TimestampMixin", ""]
    for table in tables:
        lines += ["", f"class {table.class_name}(TimestampMixin, db.Model):", f'    __tablename__ = "{table.name}"']
        table_args = []
        if table.composite_index:
            first, second = table.composite_index
            table_args.append(f'db.Index("ix_{table.name}_{first}_{second}", "{first}", "{second}")')
        if table.unique_column:
            table_args.append(f'db.UniqueConstraint("{table.unique_column}", name="uq_{table.name}_{table.unique_column}")')
        if table_args:
            lines.append("    __table_args__ = (")
            lines += [f"        {argument}," for argument in table_args]
            lines.append("    )")
        lines.append("")
        for column in table.columns:
            arguments = [f"db.{column.type_expr}"]
            if column.fk_table:
                on_delete = f', ondelete="{column.on_delete}"' if column.on_delete else ""
                arguments.append(f'db.ForeignKey("{column.fk_table}.id"{on_delete})')
            if column.name == "id":
                arguments.append("primary_key=True")
            else:
                arguments.append(f"nullable={column.nullable}")
            if column.index:
                arguments.append("index=True")
            lines.append(f"    {column.name} = db.Column({', '.join(arguments)})")
    return "\n".join(lines) + "\n"


# Alembic revisions

def _revision_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012x}"


def _create_table_call(table: TableSpec) -> tuple[str, str]:
    lines = [f"    op.create_table('{table.name}',"]
    for column in table.columns:
        lines.append(f"    sa.Column('{column.name}', sa.{column.type_expr}, nullable={column.nullable}),")
    lines.append("    sa.Column('created_at', sa.DateTime(), nullable=False),")
    lines.append("    sa.Column('updated_at', sa.DateTime(), nullable=False),")
    for column in table.columns:
        if column.fk_table:
            on_delete = f", ondelete='{column.on_delete}'" if column.on_delete else ""
            lines.append(f"    sa.ForeignKeyConstraint(['{column.name}'], ['{column.fk_table}.id'], "
                         f"name=op.f('fk_{table.name}_{column.name}'){on_delete}),")
    lines.append(f"    sa.PrimaryKeyConstraint('id', name=op.f('pk_{table.name}')),")
    if table.unique_column:
        lines.append(f"    sa.UniqueConstraint('{table.unique_column}', name='uq_{table.name}_{table.unique_column}'),")
    lines.append("    )")
    for column in table.columns:
        if column.index:
            lines.append(f"    op.create_index(op.f('ix_{table.name}_{column.name}'), '{table.name}', ['{column.name}'], unique=False)")
    if table.composite_index:
        first, second = table.composite_index
        lines.append(f"    op.create_index('ix_{table.name}_{first}_{second}', '{table.name}', ['{first}', '{second}'], unique=False)")
    return "\n".join(lines), f"    op.drop_table('{table.name}')"


class _EvolutionState:
    """The columns each table has after the revisions written so far, to keep later ops valid."""

    def __init__(self, tables: list[TableSpec]) -> None:
        self.columns = {table.name: {column.name: column for column in table.columns} for table in tables}
        self.names = [table.name for table in tables]
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_{self.counter:05d}"


def _evolution_call(rng: random.Random, state: _EvolutionState) -> tuple[str, str, str]:
    """One op.* call after every table exists: (upgrade line, downgrade line, table touched)."""
    table = rng.choice(state.names)
    columns = state.columns[table]
    kind = rng.choice(("add_column", "create_index", "alter_type", "alter_nullable", "execute"))
    if kind == "create_index":
        candidates = [c for c in columns.values() if c.indexable and c.name != "id"]
        if candidates:
            column = rng.choice(candidates)
            name = state.fresh(f"ix_{table}_{column.name}")
            return (f"    op.create_index('{name}', '{table}', ['{column.name}'], unique=False)",
                    f"    op.drop_index('{name}', table_name='{table}')", table)
    if kind == "alter_type":
        strings = [c for c in columns.values() if c.type_expr.startswith("String(")]
        if strings:
            column = rng.choice(strings)
            size = int(column.type_expr[len("String("):-1])
            old, new = column.type_expr, f"String({size * 2})"
            column.type_expr, column.sql_type = new, f"varchar({size * 2})"
            return (f"    op.alter_column('{table}', '{column.name}', existing_type=sa.{old}, type_=sa.{new}, "
                    f"existing_nullable={column.nullable})",
                    f"    op.alter_column('{table}', '{column.name}', existing_type=sa.{new}, type_=sa.{old}, "
                    f"existing_nullable={column.nullable})", table)
    if kind == "alter_nullable":
        required = [c for c in columns.values() if not c.nullable and c.name != "id"]
        if required:
            column = rng.choice(required)
            column.nullable = True
            return (f"    op.alter_column('{table}', '{column.name}', existing_type=sa.{column.type_expr}, nullable=True)",
                    f"    op.alter_column('{table}', '{column.name}', existing_type=sa.{column.type_expr}, nullable=False)", table)
    if kind == "execute":
        name = state.fresh("extra")
        columns[name] = ColumnSpec(name, "Integer()", "integer", True, nullable=False)
        return (f'    op.execute("ALTER TABLE {table} ADD COLUMN {name} integer NOT NULL DEFAULT 0")',
                f'    op.execute("ALTER TABLE {table} DROP COLUMN {name}")', table)
    name = state.fresh("added")
    type_expr = rng.choice(("Integer()", "String(64)", "Boolean()", "DateTime(timezone=True)"))
    sql_type = {"Integer()": "integer", "String(64)": "varchar(64)", "Boolean()": "boolean", "DateTime(timezone=True)": "timestamptz"}[type_expr]
    columns[name] = ColumnSpec(name, type_expr, sql_type, True, nullable=True)
    return (f"    op.add_column('{table}', sa.Column('{name}', sa.{type_expr}, nullable=True))",
            f"    op.drop_column('{table}', '{name}')", table)


def _revision_module(revision: str, down_revision: str | None, message: str, number: int,
                     upgrades: list[str], downgrades: list[str]) -> str:
    day = 1 + number % 28
    month = 1 + (number // 28) % 12
    year = 2019 + number // 336
    return (f'"""{message}\n\nRevision ID: {revision}\nRevises: {down_revision or ""}\n'
            f'Create Date: {year}-{month:02d}-{day:02d} 12:00:00.000000\n\n"""\n'
            "from alembic import op\nimport sqlalchemy as sa\n\n\n# revision identifiers, used by Alembic.\n"
            f"revision = '{revision}'\ndown_revision = {down_revision!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade():\n" + "\n".join(upgrades) + "\n\n\n"
            "def downgrade():\n" + "\n".join(reversed(downgrades)) + "\n")


def _write_revisions(rng: random.Random, out: Path, count: int, tables: list[TableSpec], workspace: GeneratedWorkspace) -> None:
    pending = list(tables)
    state = _EvolutionState(tables)
    down_revision = None
    for number in range(1, count + 1):
        upgrades: list[str] = []
        downgrades: list[str] = []
        touched = tables[0].name if tables else ""
        calls = rng.randint(1, 4)
        if pending:
            # The last revision takes whatever is left, so every model table gets created.
            batch = pending[:] if number == count else pending[:calls]
            del pending[: len(batch)]
            for table in batch:
                upgrade, downgrade = _create_table_call(table)
                upgrades.append(upgrade)
                downgrades.append(downgrade)
            touched = batch[-1].name
            message = f"create {', '.join(table.name for table in batch[:2])}{' and more' if len(batch) > 2 else ''}"
        elif tables:
            for _ in range(calls):
                upgrade, downgrade, touched = _evolution_call(rng, state)
                upgrades.append(upgrade)
                downgrades.append(downgrade)
            message = f"evolve {touched}"
        else:
            upgrades, downgrades, message = ["    pass"], ["    pass"], "empty"
        revision = _revision_id(rng)
        slug = message.replace(",", "").replace(" ", "_")[:40]
        path = f"migrations/versions/{revision}_{slug}.py"
        _write(out / path, _revision_module(revision, down_revision, message, number, upgrades, downgrades))
        workspace.revision_files.append(path)
        workspace.table_of_revision[path] = touched
        down_revision = revision


# Flyway SQL folder

def _write_sql_migrations(rng: random.Random, out: Path, count: int, workspace: GeneratedWorkspace) -> None:
    report_columns: dict[str, list[str]] = {}
    for version in range(1, count + 1):
        statements = []
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(("create", "alter", "index")) if report_columns else "create"
            if kind == "create":
                table = f"report_{len(report_columns) + 1:04d}"
                columns = ["id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"]
                names = []
                for index in range(rng.randint(3, 10)):
                    _, sql_type, _ = rng.choice(_COLUMN_TYPES[:-1])
                    name = f"{rng.choice(_WORDS)}_{index}"
                    names.append(name)
                    columns.append(f"{name} {sql_type.format(n=rng.choice(_STRING_SIZES))}{' NOT NULL' if rng.random() < 0.3 else ''}")
                if len(report_columns) and rng.random() < 0.4:
                    parent = rng.choice(sorted(report_columns))
                    columns.append(f"{parent}_id bigint REFERENCES {parent} (id) ON DELETE CASCADE")
                    names.append(f"{parent}_id")
                columns.append("loaded_at timestamptz NOT NULL DEFAULT now()")
                report_columns[table] = names + ["loaded_at"]
                statements.append(f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n);")
            elif kind == "alter":
                table = rng.choice(sorted(report_columns))
                name = f"added_v{version}_{len(report_columns[table])}"
                report_columns[table].append(name)
                statements.append(f"ALTER TABLE {table} ADD COLUMN {name} integer;")
            else:
                table = rng.choice(sorted(report_columns))
                column = rng.choice(report_columns[table])
                statements.append(f"CREATE INDEX IF NOT EXISTS {table}_{column}_v{version}_idx ON {table} ({column});")
        path = f"sql/migrations/V{version}__reporting_{version}.sql"
        _write(out / path, f"-- Reporting schema, step {version}.\n\n" + "\n\n".join(statements) + "\n")
        workspace.sql_files.append(path)


# scaffolding

def _write_scaffolding(out: Path) -> None:
    _write(out / "app/__init__.py", '"""A generated service."""\n')
    _write(out / "app/extensions.py", (
        '"""Shared extension objects."""\n\nfrom flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n'))
    _write(out / "app/models/__init__.py", '"""Generated models."""\n')
    _write(out / "app/models/mixins.py", (
        '"""Columns shared by every table."""\n\nfrom datetime import datetime\n\nfrom ..extensions import db\n\n\n'
        "class TimestampMixin:\n"
        "    created_at = db.Column(db.DateTime, nullable=False, default=datetime.utcnow)\n"
        "    updated_at = db.Column(db.DateTime, nullable=False, default=datetime.utcnow, onupdate=datetime.utcnow)\n"))
    _write(out / "alembic.ini", "[alembic]\nscript_location = %(here)s/migrations\n")
    _write(out / "migrations/env.py", (
        '"""Alembic environment: the URL comes from `-x url=...` or DATABASE_URL."""\n\n'
        "import os\n\nfrom alembic import context\nfrom sqlalchemy import create_engine, pool\n\n"
        'url = context.get_x_argument(as_dictionary=True).get("url") or os.environ["DATABASE_URL"]\n'
        "with create_engine(url, poolclass=pool.NullPool).connect() as connection:\n"
        "    context.configure(connection=connection, target_metadata=None)\n"
        "    with context.begin_transaction():\n"
        "        context.run_migrations()\n"))
    _write(out / "migrations/script.py.mako", (
        '"""${message}\n\nRevision ID: ${up_revision}\nRevises: ${down_revision | comma,n}\n"""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = ${repr(up_revision)}\n"
        "down_revision = ${repr(down_revision)}\nbranch_labels = None\ndepends_on = None\n\n\n"
        'def upgrade():\n    ${upgrades if upgrades else "pass"}\n\n\n'
        'def downgrade():\n    ${downgrades if downgrades else "pass"}\n'))
    _write(out / "pyproject.toml", '[project]\nname = "generated-service"\nversion = "0.0.0"\n\n[tool.schemalens]\ndialect = "postgresql"\n')


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="directory to write the workspace into")
    parser.add_argument("--models", type=int, default=500, help="model modules (1-2 tables each)")
    parser.add_argument("--revisions", type=int, default=1000, help="Alembic revisions in the chain")
    parser.add_argument("--sql", type=int, default=200, help="Flyway SQL migration files")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    workspace = generate_workspace(arguments.out, arguments.models, arguments.revisions, arguments.sql, arguments.seed)
    print(f"{arguments.out}: {len(workspace.model_files)} model modules ({len(workspace.tables)} tables), "
          f"{len(workspace.revision_files)} revisions, {len(workspace.sql_files)} SQL migrations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
