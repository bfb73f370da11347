"""The migration walk: what was true before each operation, and the type-change rewrite rule
measured against PostgreSQL (relfilenode before and after)."""

from __future__ import annotations

import psycopg
import pytest

from schemalens.analyzers.extract.sql_files import parse_sql
from schemalens.analyzers.schema.migration_walk import type_change_rewrites, walk_migrations
from schemalens.analyzers.schema.operations import Step
from schemalens.analyzers.schema.type_names import normalize_type

TYPE_CHANGES = [
    ("integer", "bigint"),
    ("bigint", "integer"),
    ("varchar(20)", "varchar(40)"),
    ("varchar(40)", "varchar(20)"),
    ("varchar(20)", "varchar"),
    ("varchar(20)", "text"),
    ("text", "varchar"),
    ("text", "varchar(20)"),
    ("numeric(10,2)", "numeric(12,2)"),
    ("numeric(10,2)", "numeric(12,3)"),
    ("numeric(10,2)", "numeric"),
    ("numeric", "numeric(10,2)"),
    ("integer", "text"),
    ("timestamp(3)", "timestamp"),
    ("timestamp", "timestamp(3)"),
    ("timestamptz(0)", "timestamptz(6)"),
    ("time(2)", "time(4)"),
    ("timestamp(3)", "timestamptz(3)"),
]


@pytest.mark.parametrize(("before", "after"), TYPE_CHANGES)
def test_type_change_rewrites_as_postgresql_does(postgres, before, after):
    dsn = postgres.fresh_database("types")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {before})")
        value = "(timestamp '2024-01-01' + g * interval '1.234567 second')" if "time" in before else "(g % 7)::text"
        connection.execute(f"INSERT INTO t SELECT g, {value}::{before} FROM generate_series(1, 200) g")
        filenode = connection.execute("SELECT pg_relation_filenode('t')").fetchone()[0]
        connection.execute(f"ALTER TABLE t ALTER COLUMN v TYPE {after}")
        rewritten = connection.execute("SELECT pg_relation_filenode('t')").fetchone()[0] != filenode
    assert type_change_rewrites(normalize_type(before), normalize_type(after)) == rewritten


# citext (a contrib extension): its casts from text and varchar, and to them, are binary (WITHOUT FUNCTION)
CITEXT_CHANGES = [("text", "citext"), ("varchar(20)", "citext"), ("varchar", "citext"), ("citext", "text"),
                  ("citext", "varchar"), ("citext", "varchar(20)"), ("char(5)", "citext"), ("citext", "char(5)")]


@pytest.mark.parametrize(("before", "after"), CITEXT_CHANGES)
def test_a_change_to_or_from_citext_rewrites_as_postgresql_does(postgres, before, after):
    dsn = postgres.fresh_database("citext")
    with psycopg.connect(dsn, autocommit=True) as connection:
        try:
            connection.execute("CREATE EXTENSION IF NOT EXISTS citext")
        except psycopg.errors.FeatureNotSupported:
            pytest.skip("this PostgreSQL has no citext (its contrib modules): SCHEMALENS_TEST_PG_BIN names one that does")
        connection.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {before})")
        connection.execute(f"INSERT INTO t SELECT g, (g % 7)::text::{before} FROM generate_series(1, 200) g")
        filenode = connection.execute("SELECT pg_relation_filenode('t')").fetchone()[0]
        connection.execute(f"ALTER TABLE t ALTER COLUMN v TYPE {after}")
        rewritten = connection.execute("SELECT pg_relation_filenode('t')").fetchone()[0] != filenode
    assert type_change_rewrites(normalize_type(before), normalize_type(after)) == rewritten


@pytest.mark.parametrize(("before", "after", "zone"), [
    ("timestamp", "timestamptz", "UTC"), ("timestamp", "timestamptz", "Europe/Paris"), ("timestamptz", "timestamp", "UTC"),
    ("timestamp(3)", "timestamptz(3)", "Etc/UTC"), ("timestamp(3)", "timestamptz", "UTC"), ("timestamp", "timestamptz", "GMT")])
def test_timestamp_to_timestamptz_rewrites_unless_the_session_is_in_utc(postgres, before, after, zone):
    # lemmy: `SET timezone = 'UTC'`, then `ALTER COLUMN published TYPE timestamptz USING published`
    migration = f"SET timezone = '{zone}';\nALTER TABLE t ALTER COLUMN v TYPE {after} USING v;\n"
    dsn = postgres.fresh_database("zones")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE t (id int PRIMARY KEY, v {before})")
        connection.execute("INSERT INTO t SELECT g, timestamp '2024-01-01' + g * interval '1 hour' FROM generate_series(1, 200) g")
        filenode = connection.execute("SELECT pg_relation_filenode('t')").fetchone()[0]
        connection.execute(migration)
        rewritten = connection.execute("SELECT pg_relation_filenode('t')").fetchone()[0] != filenode
    walked = [w for w in _walk(("V1__t.sql", f"CREATE TABLE t (id int PRIMARY KEY, v {before});\n"), ("V2__tz.sql", migration))
              if w.operation.__class__.__name__ == "AlterColumn"]
    assert [any(effect.key == "alter-type-rewrite" for effect in w.lock_effects) for w in walked] == [rewritten]


def _walk(*files: tuple[str, str]):
    steps = []
    for path, text in files:
        steps.append(Step(path, parse_sql(text, path).operations))
    return list(walk_migrations(tuple(steps)))


def test_the_walk_knows_existing_tables_old_types_and_transactions():
    walked = _walk(("V1__a.sql", "CREATE TABLE t (id int PRIMARY KEY, v integer);\nCREATE INDEX t_v ON t (v);\n"),
                   ("V2__b.sql", "BEGIN;\nALTER TABLE t ALTER COLUMN v TYPE bigint;\nCOMMIT;\n"
                                 "ALTER TABLE t RENAME TO u;\nCREATE INDEX u_v ON u (v);\n"))
    by_line = {(w.step.path, w.operation.location.line): w for w in walked}
    assert not by_line[("V1__a.sql", 2)].existing  # index built with its table
    alter = by_line[("V2__b.sql", 2)]
    assert alter.existing and alter.in_transaction and alter.type_before == "integer"
    assert [e.key for e in alter.lock_effects] == ["alter-type-rewrite"]
    assert not by_line[("V2__b.sql", 4)].in_transaction
    renamed_index = by_line[("V2__b.sql", 5)]
    assert renamed_index.existing and renamed_index.created_at.path == "V1__a.sql"


def test_a_column_dropped_if_exists_that_the_table_does_not_have_is_known_absent():
    """onyx: `DROP COLUMN IF EXISTS deleted_at` cleans up drift no migration made."""
    walked = _walk(("V1__a.sql", "CREATE TABLE t (id int PRIMARY KEY, v integer);\n"),
                   ("V2__b.sql", "ALTER TABLE t DROP COLUMN IF EXISTS deleted_at;\nALTER TABLE t DROP COLUMN IF EXISTS v;\n"
                                 "ALTER TABLE t DROP COLUMN IF EXISTS v;\nALTER TABLE t RENAME TO u;\n"
                                 "ALTER TABLE u ADD COLUMN w int;\nALTER TABLE u DROP COLUMN IF EXISTS w;\n"))
    assert [w.column_absent for w in walked if type(w.operation).__name__ == "DropColumn"] == [True, False, True, False]


def test_dropping_a_table_with_a_foreign_key_locks_the_referenced_table_too():
    walked = _walk(("V1__a.sql", "CREATE TABLE parent (id int PRIMARY KEY);\n"
                                 "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent);\n"
                                 "CREATE TABLE other (id int PRIMARY KEY, parent_id int);\n"
                                 "ALTER TABLE other ADD CONSTRAINT other_parent_fk FOREIGN KEY (parent_id) REFERENCES parent;\n"),
                   ("V2__b.sql", "ALTER TABLE other DROP CONSTRAINT other_parent_fk;\n"
                                 "DROP TABLE other;\nDROP TABLE child;\n"))
    by_line = {(w.step.path, w.operation.location.line): w for w in walked}
    assert [e.key for e in by_line[("V2__b.sql", 2)].lock_effects] == ["drop-table"]  # its foreign key went first
    child = by_line[("V2__b.sql", 3)]
    assert child.references == ("parent",)
    assert [e.key for e in child.lock_effects] == ["drop-table-with-foreign-key"]


def test_the_walk_by_kind_of_operation_is_the_walk_filtered(tmp_path):
    """AuditContext.walked: the operations of some kinds (subclasses included), in replay order,
    as filtering the whole walk gives them; the index is kept with the walk across audits."""
    from schemalens.analyzers.rules.context import AuditContext
    from schemalens.analyzers.schema.operations import AddColumn, AlterColumn, CreateIndex
    from schemalens.analyzers.workspace.index import WorkspaceIndex
    from workspace_files import write_files

    root = write_files(tmp_path / "sql", {
        "db/V1__base.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\nCREATE INDEX ix_note ON orders (note);\n",
        "db/V2__change.sql": "ALTER TABLE orders ADD COLUMN total numeric;\nALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n"
                             "ALTER TABLE orders ADD COLUMN paid boolean;\nCREATE INDEX ix_total ON orders (total);\n"})
    model = WorkspaceIndex(root).index_all()
    for _audit in range(2):
        context = AuditContext(model, lambda path: (root / path).read_text())
        for kinds in ((AddColumn,), (AlterColumn, CreateIndex), (AddColumn, AlterColumn, CreateIndex)):
            expected = [w for w in context.migration_walk if isinstance(w.operation, kinds)]
            assert expected and context.walked(*kinds) == expected


def test_a_walk_resumed_from_a_checkpoint_walks_as_one_from_the_first_step(tmp_path, monkeypatch):
    # An edit of one migration walks again from the checkpoint before it (AuditContext.migration_walk):
    # what the walk knows there must be all it would know having walked from the start.
    from schemalens.analyzers.schema import migration_walk
    from schemalens.analyzers.workspace.index import WorkspaceIndex
    from workspace_files import bench_generator

    monkeypatch.setattr(migration_walk, "CHECKPOINT_EVERY", 3)
    workspace = bench_generator().generate_workspace(tmp_path, models=12, revisions=30, sql=6)
    steps = WorkspaceIndex(workspace.root, workers=1).index_all().steps
    checkpoints: dict = {}
    whole = list(walk_migrations(steps, checkpoints=checkpoints))
    assert sorted(checkpoints) == list(range(0, len(steps), 3))
    for number, state in checkpoints.items():
        resumed = list(walk_migrations(steps, start=number, state=state.copy()))
        assert resumed == [walked for walked in whole if walked.step_number >= number]
