"""The SQL extractor on the constructs real migration folders and dumps contain."""

from __future__ import annotations

from schemalens.analyzers.extract.alembic_revisions import parse_revision
from schemalens.analyzers.extract.sql_files import is_down_migration, order_sql_migrations, parse_sql
from schemalens.analyzers.schema import operations as ops


def _kinds(extraction) -> list[tuple[str, int]]:
    return [(type(op).__name__, op.location.line) for op in extraction.operations]


def test_a_rejected_statement_is_reported_at_its_line_and_the_rest_is_read():
    extraction = parse_sql("CREATE TABLE a (id int);\n-- 中文注释：下一句写错了\nCREATE TABL b (id int);\nCREATE TABLE c (id int);\n", "m.sql")
    assert _kinds(extraction) == [("CreateTable", 1), ("CreateTable", 4)]
    assert [(e.location.line, e.location.column) for e in extraction.errors] == [(3, 8)]
    assert "TABL" in extraction.errors[0].message


def test_the_statements_before_an_unterminated_string_are_read_and_it_is_reported():
    """The scanner stops at an unterminated string, quoted name or comment: the file used to read as nothing."""
    for tail, column in (("SELECT 'unterminated", 8), ("'unterminated", 1), ('CREATE TABLE "b (id int);', 14), ("/* open", 1)):
        extraction = parse_sql(f"CREATE TABLE a (id int);\n{tail}", "m.sql")
        assert _kinds(extraction) == [("CreateTable", 1)], tail
        assert [(error.location.line, error.location.column) for error in extraction.errors] == [(2, column)], tail
        assert "unterminated" in extraction.errors[0].message


def test_columns_after_a_rejected_statement_are_located_where_they_are_written():
    """A statement read alone (the file as a whole is rejected) counts its nodes' locations from its own start."""
    extraction = parse_sql("SELEC broken;\nCREATE TABLE a (\n  id int PRIMARY KEY,\n  name text\n);\n", "m.sql")
    (create,) = extraction.operations
    assert [(column.name, column.location.line, column.location.column) for column in create.columns] == [("id", 3, 3), ("name", 4, 3)]


# A migration of every kind of statement the extractor reads, a psql meta-command, COPY data,
# Chinese comments and names, one statement PostgreSQL rejects, and a DO block.
_LONG_MIGRATION = "\\set ON_ERROR_STOP on\n" + "".join(f"""-- 第 {number} 步：账户
CREATE TABLE "账户_{number}" (id bigint PRIMARY KEY, "名字" text NOT NULL DEFAULT '无', owner_id int REFERENCES owners (id));
COMMENT ON TABLE "账户_{number}" IS '账户表 {number}';
CREATE INDEX "ix_{number}" ON "账户_{number}" ("名字") WHERE owner_id IS NOT NULL;
ALTER TABLE "账户_{number}" ADD COLUMN note text, ALTER COLUMN "名字" SET DATA TYPE varchar(200);
COPY "账户_{number}" (id) FROM stdin;
1
\\.
{"CREATE TABL broken (id int);" if number == 13 else "SELECT 1;"}
DO $$ BEGIN EXECUTE 'CREATE TABLE IF NOT EXISTS x_{number} (a int)'; END $$;
UPDATE "账户_{number}" SET note = 'ü' WHERE id = :'some_id';
""" for number in range(30))


def test_a_long_file_read_a_run_of_statements_at_a_time_reads_as_a_whole(monkeypatch):
    from schemalens.analyzers.extract import pg_tree
    from schemalens.analyzers.extract.sql_files import scan_sql

    whole = parse_sql(_LONG_MIGRATION, "m.sql")
    scanned_whole = scan_sql(_LONG_MIGRATION, "m.sql", whole.operations)
    assert len(whole.errors) == 1 and len(whole.operations) > 200 and scanned_whole.string_constants
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 800)
    assert len(pg_tree.statement_runs(_LONG_MIGRATION)) > 10
    assert parse_sql(_LONG_MIGRATION, "m.sql") == whole
    assert scan_sql(_LONG_MIGRATION, "m.sql", whole.operations) == scanned_whole


def test_columns_after_multibyte_text_get_the_right_column():
    extraction = parse_sql("COMMENT ON TABLE a IS '账户表'; CREATE TABLE b (id int);", "m.sql")
    assert [(op.location.line, op.location.column) for op in extraction.operations] == [(1, 1), (1, 30)]


def test_copy_data_and_psql_meta_commands_are_skipped():
    dump = "\\connect shop\nCOPY t (id, name) FROM stdin;\n1\tann;\n2\tbob\n\\.\nCREATE INDEX ix ON t (name);\n"
    extraction = parse_sql(dump, "dump.sql")
    assert extraction.errors == ()
    assert _kinds(extraction) == [("DataChange", 2), ("CreateIndex", 6)]


def test_statements_inside_a_do_block_are_extracted_where_they_stand():
    sql = "DO $$\nBEGIN\n  IF true THEN\n    ALTER TABLE t ADD COLUMN a int;\n  END IF;\n  EXECUTE 'CREATE INDEX ix_t_a ON t (a)';\nEND $$;\n"
    extraction = parse_sql(sql, "m.sql")
    assert _kinds(extraction) == [("AddColumn", 4), ("CreateIndex", 6)]


def test_an_execute_of_a_statement_built_at_run_time_is_recorded_not_read_as_its_first_string():
    # supabase/storage: `'CREATE ROLE ' || anon_role || ' NOLOGIN'` starts and ends with a quote
    sql = ("DO $$\nDECLARE anon_role text = 'anon';\nBEGIN\n  execute 'CREATE ROLE ' || anon_role || ' NOLOGIN NOINHERIT';\n"
           "  EXECUTE 'CREATE INDEX ix_t_a ON t (a) WHERE b <> ''x''';\nEND $$;\n")
    extraction = parse_sql(sql, "m.sql")
    assert extraction.errors == () and _kinds(extraction) == [("Opaque", 4), ("CreateIndex", 5)]
    assert extraction.operations[0].location.column == 3 and "anon_role" in extraction.operations[0].reason
    assert extraction.operations[1].index.where == "b <> 'x'"


def test_a_trigger_is_dropped_from_the_table_of_the_schema_named():
    sql = ("CREATE SCHEMA storage;\nCREATE TABLE storage.objects (id int, updated_at timestamptz);\n"
           "CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;\n"
           "CREATE TRIGGER touch_objects BEFORE UPDATE ON storage.objects FOR EACH ROW EXECUTE FUNCTION touch();\n"
           "DROP TRIGGER IF EXISTS touch_objects ON storage.objects;\n")
    drop = parse_sql(sql, "m.sql").operations[-1]
    assert (drop.name, drop.table, drop.schema) == ("touch_objects", "objects", "storage")


def test_dump_style_table_with_collations_sequences_and_partitions():
    sql = (
        'CREATE TABLE public.r (id integer NOT NULL, d date NOT NULL, name character varying(20) COLLATE "pg_catalog"."default")'
        " PARTITION BY RANGE (d);\n"
        "CREATE TABLE public.r_2024 PARTITION OF public.r FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
        "CREATE SEQUENCE public.r_id_seq;\nALTER SEQUENCE public.r_id_seq OWNED BY public.r.id;\n"
        "ALTER TABLE ONLY public.r ADD CONSTRAINT r_pkey PRIMARY KEY (id, d);\n"
    )
    operations = parse_sql(sql, "dump.sql").operations
    parent, child = operations[0], operations[1]
    assert parent.partition_by == "RANGE (d)" and parent.columns[2].type == "character varying(20)"
    assert (child.table, child.partition_of) == ("r_2024", "r")
    assert isinstance(operations[3], ops.AlterSequenceOwner) and operations[3].owned_by == "r.id"
    assert isinstance(operations[4], ops.AddConstraint) and operations[4].constraint.columns == ("id", "d")


def test_embedded_sql_is_located_in_the_enclosing_file():
    extraction = parse_sql("ALTER TABLE t\n  ADD COLUMN x int;", "rev.py", line_offset=9, column_offset=16)
    assert (extraction.operations[0].location.line, extraction.operations[0].location.column) == (10, 17)


def test_sql_built_at_run_time_is_recorded_as_opaque():
    revision = ("from alembic import op\nrevision = 'a'\ndown_revision = None\n\n"
                "def upgrade():\n    table = current_tables()[0]\n    op.execute(f'ALTER TABLE {table} ADD COLUMN x int')\n")
    parse = parse_revision(revision, "a.py")
    assert isinstance(parse.revision.upgrade[0], ops.Opaque)
    assert [(e.location.line, e.kind) for e in parse.errors] == [(7, "opaque")]


def test_migration_files_are_ordered_by_version_not_text():
    names = ["V10__c.sql", "V2__b.sql", "V1__a.sql", "R__views.sql", "V1.1__fix.sql", "U2__undo.sql"]
    assert order_sql_migrations(names) == ["V1__a.sql", "V1.1__fix.sql", "V2__b.sql", "V10__c.sql", "R__views.sql"]
    assert order_sql_migrations(["0010_x.up.sql", "0002_y.up.sql", "0002_y.down.sql"]) == ["0002_y.up.sql", "0010_x.up.sql"]
    assert is_down_migration("0002_y.down.sql") and not is_down_migration("0002_y.up.sql")


def test_other_dialects_go_through_sqlglot():
    extraction = parse_sql("CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL);\n"
                           "ALTER TABLE t ADD COLUMN age INT;\nCREATE INDEX ix_t_name ON t (name);\n", "m.sql", dialect="mysql")
    assert _kinds(extraction) == [("CreateTable", 1), ("AddColumn", 2), ("CreateIndex", 3)]
    table = extraction.operations[0]
    assert [(c.name, c.type, c.nullable) for c in table.columns] == [("id", "integer", False), ("name", "character varying(20)", False)]


def test_an_unnamed_unique_key_of_mysql_is_read():
    # privacyidea's MariaDB seed: `UNIQUE (name)` beside `UNIQUE KEY uq_t_code (code)`.
    extraction = parse_sql("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), code VARCHAR(8),\n"
                           "  UNIQUE (name), UNIQUE KEY uq_t_code (code));\n", "m.sql", dialect="mysql")
    assert not extraction.errors
    uniques = [c for c in extraction.operations[0].constraints if type(c).__name__ == "UniqueConstraint"]
    assert [(u.name, u.columns) for u in uniques] == [(None, ("name",)), ("uq_t_code", ("code",))]


def test_rename_table_of_mysql_and_clickhouse_is_a_rename():
    # umami's ClickHouse folder swaps a rebuilt table in with RENAME TABLE, which sqlglot keeps as a command
    extraction = parse_sql("RENAME TABLE umami.events TO umami.events_old, umami.events_new TO umami.events;\n"
                           "RENAME TABLE `a` TO `b`;\n", "m.sql", dialect="clickhouse")
    renames = [(op.schema, op.table, op.new_name) for op in extraction.operations]
    assert renames == [("umami", "events", "events_old"), ("umami", "events_new", "events"), (None, "a", "b")]


def test_bind_parameters_of_sql_written_in_python_parse_and_keep_their_offsets():
    from schemalens.analyzers.extract.sql_files import placeholders_as_parameters

    sql = "UPDATE t SET a = :value, b = %s, c = %(other)s WHERE d::text = 'x:y' AND e[1:2] = 1"
    converted = placeholders_as_parameters(sql)
    assert len(converted) == len(sql)
    assert ":value" not in converted and "%s" not in converted and "%(other)s" not in converted
    assert "d::text = 'x:y'" in converted and "e[1:2]" in converted
    assert parse_sql(sql, "r.py", embedded=True).errors == ()


def test_a_bind_parameter_after_in_stands_for_a_list_and_parses():
    # indico: psycopg's `IN %s` with a tuple; tracecat: SQLAlchemy's expanding `IN :types`
    sql = "UPDATE events SET state = 1 WHERE id IN %s AND type NOT IN :types"
    assert parse_sql(sql, "r.py", embedded=True).errors == ()
    assert [(o.kind, o.table) for o in parse_sql(sql, "r.py", embedded=True).operations] == [("UPDATE", "events")]


def test_a_psql_script_reads_its_variables_as_the_names_and_strings_they_stand_for():
    script = "\\set role `echo $ROLE`\nCREATE USER :role WITH PASSWORD :'secret';\nGRANT CONNECT ON DATABASE :db TO :role;\n"
    extraction = parse_sql(script, "init.sql")
    assert extraction.errors == ()


def test_ddl_a_do_block_runs_only_when_the_catalog_says_so_is_replayed_as_such():
    # onyx: add the unique constraint unless it is there already (fresh databases have it)
    from schemalens.analyzers.schema.replay import replay_steps

    guarded = ("DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'uq_skill_slug') THEN\n"
               "    ALTER TABLE skill ADD CONSTRAINT uq_skill_slug UNIQUE (slug);\n  END IF;\n"
               "  IF EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'ix_old') THEN\n    DROP INDEX ix_old;\n  END IF;\n"
               "  IF true THEN\n    CREATE INDEX ix_skill_slug ON skill (slug);\n  END IF;\nEND $$;\n")
    operations = parse_sql(guarded, "v2.sql").operations
    assert [(type(op).__name__, getattr(op, "if_not_exists", None), getattr(op, "if_exists", None)) for op in operations] \
        == [("AddConstraint", True, None), ("DropIndex", None, True), ("CreateIndex", False, None)]
    first = parse_sql("CREATE TABLE skill (id int PRIMARY KEY, slug text, CONSTRAINT uq_skill_slug UNIQUE (slug));\n",
                      "v1.sql").operations
    replayed = replay_steps([ops.Step("v1.sql", first), ops.Step("v2.sql", operations)])
    assert replayed.errors == ()


_TYPES = ("int", "integer", "int4", "bigint", "smallint", "serial", "bool", "boolean", "real", "float8", "double precision",
          "numeric", "numeric(10)", "numeric(10, 2)", "numeric(12, 2)", "decimal(5,1)", "char", "char(1)", "char(2)",
          'character(1)', '"char"', "varchar", "varchar(10)", "varchar(20)", "character varying(255)", "text", "bytea",
          "time", "time(3)", "timetz", "time with time zone", "timestamp", "timestamp(0)", "timestamptz",
          "timestamp(6) with time zone", "interval", "interval(3)", "interval hour to minute", "interval second(2)",
          "interval day", "bit(3)", "bit varying(5)", "varbit", "int[]", "int[3]", "text[][]", "varchar(5)[2]",
          "uuid", "jsonb", "public.citext", "ext.citext", '"My Type"', '"Schema"."Type"(4)', "pg_catalog.int4",
          "geometry(Point, 4326)", "geometry(Polygon, 4326)", "mytype(foo)")


def test_a_type_name_is_printed_as_pglast_prints_it_however_often_it_is_met():
    """The extractor keeps pglast's printing of each type name by what its printer reads: every
    spelling prints as pglast's own printer prints it, met first or again, next to the others."""
    from pglast import parse_sql as pglast_parse
    from pglast.stream import RawStream

    from schemalens.analyzers.extract.sql_files import _deparse

    columns = ", ".join(f"c{number} {spelling}" for number, spelling in enumerate(_TYPES))
    for _met in range(2):
        statement = pglast_parse(f"CREATE TABLE t ({columns});")[0].stmt
        printed = [(_deparse(column.typeName), RawStream()(column.typeName)) for column in statement.tableElts]
        assert [ours for ours, _ in printed] == [pglast for _, pglast in printed]
    assert len({ours for ours, _ in printed}) > 40
    functions = pglast_parse("CREATE FUNCTION f(a orders.id%TYPE) RETURNS SETOF int LANGUAGE sql AS 'SELECT 1';"
                             "CREATE FUNCTION g(a orders.id) RETURNS int LANGUAGE sql AS 'SELECT 1';")
    for type_name in [types for raw in functions for types in (raw.stmt.returnType, raw.stmt.parameters[0].argType)] * 2:
        assert _deparse(type_name) == RawStream()(type_name)


def test_the_scan_rules_read_is_made_with_the_parse_and_kept_with_it():
    """SL551's long names and SL537's string constants, from the text as written (the down section
    of a dbmate file too), made by the parse job and kept in the parse cache."""
    import pickle

    from schemalens.analyzers.workspace.cache import dumps
    from schemalens.analyzers.workspace.parse_jobs import parse_job

    long_name = "ix_" + "orders_customer_" * 4
    text = (f"-- migrate:up\nCREATE INDEX {long_name} ON orders (id);\n"
            "DO $$ BEGIN\n  CREATE TABLE t (id int);\nEXCEPTION WHEN duplicate_table THEN NULL;\nEND $$;\n"
            "-- migrate:down\nDROP INDEX \"Ärger_" + "ü" * 30 + "\";\n")
    parsed = parse_job(("db/migrations/1_x.sql", "sql_migration", "digest", text, "", "postgresql", "postgresql", True))
    scan = parsed.result.scan
    assert [(where.line, where.column, name) for where, name in scan.long_identifiers] == [
        (2, 14, long_name.lower()), (8, 12, "Ärger_" + "ü" * 30)]
    assert scan.string_constants == (((3, 4), (6, 6)),)
    assert pickle.loads(dumps([parsed]))[0].result.scan == scan


def test_a_location_is_in_a_string_constant_a_statement_was_read_from_from_its_first_character_to_its_last():
    """The body of a DO block; not the other strings (a seed data file has hundreds of thousands)."""
    from schemalens.analyzers.extract.sql_files import scan_sql
    from schemalens.analyzers.schema.model import Location

    text = "INSERT INTO s VALUES ('a');\nDO $body$\nBEGIN CREATE TABLE t (); END\n$body$;\nINSERT INTO s VALUES ('b');"
    scan = scan_sql(text, "m.sql", parse_sql(text, "m.sql").operations)
    inside = [(line, column) for line in range(1, 6) for column in range(1, 30) if scan.in_string_constant(Location("m.sql", line, column))]
    assert inside == [*((2, c) for c in range(4, 30)), *((3, c) for c in range(1, 30)), *((4, c) for c in range(1, 7))]
    assert scan_sql("SELECT 'unterminated", "m.sql", ()).string_constants == ()


def test_a_row_change_keeps_the_schema_of_its_table():
    """indico: `UPDATE event_editing.revisions` is a change of that schema's table, not of a `revisions` elsewhere."""
    result = parse_sql("UPDATE event_editing.revisions SET x = 1;\nDELETE FROM public.logs;\n"
                       "TRUNCATE audit.entries;\nINSERT INTO event_editing.tags (id) SELECT id FROM tags;\n", "m.sql")
    changes = [(op.kind, op.table, op.schema) for op in result.operations if isinstance(op, ops.DataChange)]
    assert changes == [("UPDATE", "revisions", "event_editing"), ("DELETE", "logs", None), ("TRUNCATE", "entries", "audit"),
                       ("INSERT", "tags", "event_editing")]


# Output columns written without AS, as PostgreSQL names them (checked against its own names below).
_UNNAMED_TARGETS = ["(p).a", "(s.p).b", "x", "x::text", "1::int", "CASE WHEN x = 1 THEN 'y' ELSE t END",
                    "CASE WHEN x = 1 THEN 'y' END", "(CASE WHEN x = 1 THEN 1 ELSE 2 END)::text", "COALESCE(t, 'z')",
                    "GREATEST(x, 2)", "LEAST(x, 2)", "NULLIF(x, 2)", "ARRAY[1, 2]", "ARRAY(SELECT 1)",
                    "EXISTS(SELECT 1)", "(SELECT x AS y)", "(SELECT 1)", "ROW(1, 2)", "CURRENT_DATE",
                    "CURRENT_TIMESTAMP", "t COLLATE \"C\"", "x + 1", "now()", "upper(t)", "'literal'"]


def test_output_columns_without_a_name_are_named_as_postgresql_names_them(postgres):
    # lemmy: `CREATE TEMPORARY TABLE ... AS ... SELECT (q.h).id, (q.h).parent_id` names them id and parent_id
    import psycopg

    from schemalens.analyzers.extract import pg_tree
    from schemalens.analyzers.extract.sql_files import _output_names

    query = (f"SELECT {', '.join(_UNNAMED_TARGETS)} "
             "FROM (SELECT ROW(1, 2)::pair AS p, 1 AS x, 'a'::text AS t) s")
    (statement,) = pg_tree.parse_sql(query)
    with psycopg.connect(postgres.fresh_database("names"), autocommit=True) as connection:
        connection.execute("CREATE TYPE pair AS (a int, b int)")
        cursor = connection.execute(query)
        assert _output_names(statement.stmt) == [column.name for column in cursor.description]
