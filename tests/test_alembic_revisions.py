"""Alembic revisions read statically: identity, op.* calls, and the revision graph."""

from __future__ import annotations

from schemalens.analyzers.extract.alembic_revisions import find_script_locations, parse_revision
from schemalens.analyzers.schema import operations as ops
from schemalens.analyzers.schema.model import ForeignKey
from schemalens.analyzers.schema.revision_graph import build_revision_graph

HEADER = "import sqlalchemy as sa\nfrom alembic import op\nrevision = {rid!r}\ndown_revision = {down!r}\n\n"


def _revision(rid, down, upgrade="    pass\n", downgrade="    pass\n", path=None):
    text = HEADER.format(rid=rid, down=down) + "def upgrade():\n" + upgrade + "\n\ndef downgrade():\n" + downgrade
    return parse_revision(text, path or f"versions/{rid}.py").revision


def test_identity_and_merge_parents():
    merge = _revision("m1", ("a1", "b1"))
    assert (merge.id, merge.down_revisions, merge.downgrade_is_empty) == ("m1", ("a1", "b1"), True)


def test_a_file_without_revision_is_not_a_revision():
    assert parse_revision("from alembic import context\n", "env.py").revision is None


def test_op_calls_become_operations_with_their_locations():
    revision = _revision("a1", None, upgrade=(
        "    op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                    sa.Column('org_id', sa.Integer(), sa.ForeignKey('orgs.id', ondelete='CASCADE')))\n"
        "    with op.batch_alter_table('users') as batch_op:\n"
        "        batch_op.add_column(sa.Column('email', sa.String(255), nullable=False))\n"
        "    with op.get_context().autocommit_block():\n"
        "        op.create_index('ix_users_email', 'users', ['email'], postgresql_concurrently=True)\n"
        "    op.alter_column('users', 'email', type_=sa.Text(), nullable=True)\n"))
    kinds = [(type(op).__name__, op.location.line) for op in revision.upgrade]
    # autocommit_block() commits what came before and opens a new transaction after it.
    assert kinds == [("CreateTable", 7), ("AddColumn", 10), ("TransactionControl", 11), ("CreateIndex", 12),
                     ("TransactionControl", 11), ("AlterColumn", 13)]
    assert [op.kind for op in revision.upgrade if isinstance(op, ops.TransactionControl)] == ["COMMIT", "BEGIN"]
    table = revision.upgrade[0]
    fk = next(c for c in table.constraints if c.__class__.__name__ == "ForeignKey")
    assert (fk.ref_table, fk.ref_columns, fk.on_delete) == ("orgs", ("id",), "CASCADE")
    assert revision.upgrade[1].table == "users" and revision.upgrade[1].column.type == "character varying(255)"
    assert revision.upgrade[3].index.concurrently
    assert (revision.upgrade[5].type, revision.upgrade[5].nullable) == ("text", True)


def test_downgrade_is_kept_with_the_revision():
    revision = _revision("a1", None, downgrade="    op.drop_table('users')\n")
    assert [type(op) for op in revision.downgrade] == [ops.DropTable] and not revision.downgrade_is_empty


def test_graph_orders_parents_first_and_finds_heads_through_a_merge():
    revisions = [_revision("m1", ("a2", "b1")), _revision("a2", "a1"), _revision("b1", "a1"), _revision("a1", None)]
    graph = build_revision_graph(revisions)
    assert graph.order[0] == "a1" and graph.order[-1] == "m1"
    assert graph.heads == ("m1",) and graph.bases == ("a1",) and graph.errors == ()
    assert graph.descendants("a2") == {"m1"}


def test_graph_reports_duplicates_missing_parents_and_cycles_and_orders_the_rest():
    revisions = [_revision("a1", None), _revision("a1", None, path="versions/copy.py"), _revision("c1", "zz"),
                 _revision("x1", "x2"), _revision("x2", "x1")]
    graph = build_revision_graph(revisions)
    messages = " ".join(error.message for error in graph.errors)
    assert "duplicate revision id 'a1'" in messages and "'zz'" in messages and "cycle" in messages
    assert set(graph.order) == {"a1", "c1"}


def test_script_locations_come_from_alembic_ini_with_here(tmp_path):
    (tmp_path / "db" / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "db" / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    assert find_script_locations(str(tmp_path)) == ["db/migrations/versions"]


def _upgrade(body: str, dialect: str = "postgresql"):
    text = HEADER.format(rid="r1", down=None) + "def upgrade():\n" + body + "\n\ndef downgrade():\n    pass\n"
    parse = parse_revision(text, "versions/r1.py", dialect)
    return parse.revision.upgrade, parse.errors


def test_only_the_branch_of_the_workspace_dialect_is_read():
    body = ("    bind = op.get_bind()\n"
            "    url = str(bind.engine.url)\n"
            "    if url.startswith('mysql'):\n"
            "        op.drop_constraint('awards_ibfk_1', 'awards', type_='foreignkey')\n"
            "    elif url.startswith('postgres'):\n"
            "        op.drop_constraint('awards_team_id_fkey', 'awards', type_='foreignkey')\n"
            "    if op.get_context().dialect.name == 'sqlite':\n"
            "        op.drop_table('sqlite_only')\n"
            "    if url.startswith('sqlite') is False:\n"
            "        op.drop_table('not_on_sqlite')\n"
            "    if bind.engine.name == 'mysql':\n"  # keystone
            "        op.drop_table('mysql_leftover')\n")
    upgrade, _ = _upgrade(body)
    assert [getattr(op, "name", None) or op.table for op in upgrade] == ["awards_team_id_fkey", "not_on_sqlite"]
    upgrade, _ = _upgrade(body, "mysql")
    assert [getattr(op, "name", None) or op.table for op in upgrade] == ["awards_ibfk_1", "not_on_sqlite", "mysql_leftover"]


def test_a_dialect_named_by_a_constant_of_the_module_is_a_dialect_branch():
    """manila: `MYSQL_ENGINE = 'mysql'` at the top, `if (engine.name == MYSQL_ENGINE):` in upgrade()."""
    text = (HEADER.format(rid="r1", down=None) + "MYSQL_ENGINE = 'mysql'\n\n\ndef upgrade():\n"
            "    engine = op.get_bind().engine\n    if (engine.name == MYSQL_ENGINE):\n"
            "        op.create_primary_key('pk', 'drivers', ['id'])\n    op.drop_column('drivers', 'host')\n")
    for dialect, expected in (("postgresql", ["drop_column"]), ("mysql", ["create_primary_key", "drop_column"])):
        upgrade = parse_revision(text, "versions/r1.py", dialect).revision.upgrade
        assert ["create_primary_key" if isinstance(op, ops.AddConstraint) else "drop_column" for op in upgrade] == expected


def test_a_primary_key_dropped_by_a_name_asked_of_the_inspector_is_read():
    body = ("    bind = op.get_bind()\n    pk = sa.inspect(bind).get_pk_constraint('bindings')\n"
            "    op.drop_constraint(pk.get('name'), 'bindings', type_='primary')\n"
            "    op.drop_constraint(pk.get('name'), 'bindings', type_='unique')\n")
    upgrade, errors = _upgrade(body)
    assert [(op.name, op.kind) for op in upgrade] == [(None, "primary")]
    assert len(errors) == 1  # the unique constraint's: a table has many


def test_a_core_statement_on_a_table_the_file_writes_changes_that_tables_rows():
    """tracecat: `tbl = sa.table("accesstoken", ...)`, then `op.execute(tbl.update()...)`: a backfill of accesstoken."""
    text = (HEADER.format(rid="r1", down=None) + "pages = sa.table('pages', sa.column('id'), schema='wiki')\n\n\n"
            "def upgrade():\n    tbl = sa.table('accesstoken', sa.column('id', sa.UUID))\n"
            "    op.execute(tbl.update().where(tbl.c.id.is_(None)).values(id=sa.func.gen_random_uuid()))\n"
            "    users = sa.Table('users', sa.MetaData(), sa.Column('id', sa.Integer))\n"
            "    op.get_bind().execute(users.delete())\n"
            "    op.execute(pages.insert().from_select(['id'], sa.select(tbl.c.id)))\n"
            "    op.execute(sa.select(tbl.c.id))\n    op.execute(unknown.update())\n")
    upgrade = parse_revision(text, "versions/r1.py", "postgresql").revision.upgrade
    assert [(op.kind, op.table, op.schema) for op in upgrade] == [
        ("UPDATE", "accesstoken", None), ("DELETE", "users", None), ("INSERT", "pages", "wiki"), ("UPDATE", None, None)]


def test_a_condition_that_is_not_about_the_dialect_reads_both_branches():
    upgrade, _ = _upgrade("    if has_data():\n        op.drop_table('a')\n    else:\n        op.drop_table('b')\n")
    assert [op.table for op in upgrade] == ["a", "b"]


def test_what_a_branch_does_to_an_object_whose_existence_it_checks_runs_only_then():
    """cinder, nova: `if 'migrate_version' in inspector.get_table_names(): op.drop_table(...)`
    drops the table only where it is: DROP TABLE IF EXISTS, not a failure on a fresh database."""
    upgrade, _ = _upgrade(
        "    inspector = sa.inspect(op.get_bind())\n"
        "    tables = inspector.get_table_names()\n"
        "    if 'migrate_version' in tables:\n"
        "        op.drop_table('migrate_version')\n"
        "        op.drop_table('other')\n"
        "    if 'note' not in [c['name'] for c in inspector.get_columns('orders')]:\n"
        "        op.add_column('orders', sa.Column('note', sa.Text()))\n"
        "    if not inspector.has_table('legacy'):\n"
        "        op.create_table('legacy', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "    else:\n"
        "        op.drop_index('ix_legacy_id', table_name='legacy')\n"
        "        op.drop_index('ix_legacy_other', table_name='legacy')\n"
        "    if 'a' in ['a', 'b']:\n"  # a constant list: no guard
        "        op.drop_table('a')\n")
    guarded = [(type(op).__name__, getattr(op, "if_exists", False) or getattr(op, "if_not_exists", False)) for op in upgrade]
    assert guarded == [("DropTable", True), ("DropTable", False), ("AddColumn", True), ("CreateTable", True),
                       ("DropIndex", False), ("DropIndex", False), ("DropTable", False)]


def test_a_loop_over_a_literal_list_is_read_once_per_item_with_local_names_bound():
    upgrade, errors = _upgrade("    column = 'archived_at'\n"
                               "    for table in ['orders', 'invoices']:\n"
                               "        op.add_column(table, sa.Column(column, sa.DateTime(timezone=True)))\n")
    assert errors == ()
    assert [(op.table, op.column.name) for op in upgrade] == [("orders", "archived_at"), ("invoices", "archived_at")]


def test_a_local_name_is_bound_in_the_calls_that_name_it_however_it_is_spelled():
    """Python reads `ﬁelds` (a ligature) as `fields`: the call that writes it uses the local all
    the same, as a call uses a local bound after the first, beside calls that name no local."""
    upgrade, errors = _upgrade("    ﬁelds = ['email']\n"
                               "    op.create_index('ix_users_email', 'users', fields)\n"
                               "    op.create_index('ix_users_mail', 'users', ﬁelds)\n"
                               "    login = ['login']\n"
                               "    op.create_index('ix_users_login', 'users', login)\n"
                               "    op.create_index('ix_users_name', 'users', ['name'])\n")
    assert errors == ()
    assert [(op.index.name, op.index.columns) for op in upgrade] == [
        ("ix_users_email", ("email",)), ("ix_users_mail", ("email",)), ("ix_users_login", ("login",)),
        ("ix_users_name", ("name",))]


def test_each_of_many_local_names_is_bound_in_the_call_after_it():
    upgrade, errors = _upgrade("".join(f"    name_{number} = 'column_{number}'\n"
                                       f"    op.add_column('orders', sa.Column(name_{number}, sa.Integer()))\n"
                                       for number in range(300)))
    assert errors == ()
    assert [op.column.name for op in upgrade] == [f"column_{number}" for number in range(300)]


def test_an_operation_carries_the_op_f_names_given_so_far_of_its_own_elements_only():
    """The replay asks whether an element's name was given through op.f() (the naming convention
    leaves it alone) of the operation's own constraints and index only: 'positive' is final on
    invoices, and on refunds after it, not on orders before it."""
    upgrade, errors = _upgrade("    op.create_index(op.f('ix_users_email'), 'users', ['email'])\n"
                               "    op.create_check_constraint('positive', 'orders', 'total > 0')\n"
                               "    op.create_index(op.f('ix_users_login'), 'users', ['login'])\n"
                               "    op.create_check_constraint(op.f('positive'), 'invoices', 'total > 0')\n"
                               "    op.create_check_constraint('positive', 'refunds', 'total > 0')\n")
    assert errors == ()
    assert [op.final_names for op in upgrade] == [{"ix_users_email"}, set(), {"ix_users_login"}, {"positive"}, {"positive"}]


def test_a_loop_over_a_module_level_dict_reads_its_keys_or_its_items():
    text = (HEADER.format(rid="r1", down=None)
            + "INDEXES = {'ix_entry_type': ['type'], 'ix_entry_end': ['end_at']}\n\n"
            + "def upgrade():\n    for name in INDEXES:\n        op.drop_index(name, table_name='entry')\n\n"
            + "def downgrade():\n    for name, columns in INDEXES.items():\n        op.create_index(name, 'entry', columns)\n")
    revision = parse_revision(text, "versions/r1.py").revision
    assert [op.name for op in revision.upgrade] == ["ix_entry_type", "ix_entry_end"]
    assert [(op.index.name, op.index.columns) for op in revision.downgrade] == [
        ("ix_entry_type", ("type",)), ("ix_entry_end", ("end_at",))]


def test_a_helper_function_of_the_revision_is_read_where_it_is_called():
    text = (HEADER.format(rid="r1", down=None)
            + "def _add_flag(table, name='flag'):\n    op.add_column(table, sa.Column(name, sa.Boolean()))\n\n"
            + "def upgrade():\n    _add_flag('users')\n    _add_flag('teams', name='hidden')\n\n"
            + "def downgrade():\n    pass\n")
    upgrade = parse_revision(text, "versions/r1.py").revision.upgrade
    assert [(op.table, op.column.name) for op in upgrade] == [("users", "flag"), ("teams", "hidden")]


def test_an_operation_whose_table_is_computed_at_run_time_is_an_error_and_a_gap_not_an_operation():
    upgrade, errors = _upgrade("    for table in get_tables():\n"
                               "        op.add_column(table, sa.Column('x', sa.Integer()))\n")
    (gap,) = upgrade  # where it is, and what it may make: a column
    assert (type(gap).__name__, gap.creates, gap.location.line) == ("NotReplayed", "column", 8)
    assert len(errors) == 1 and "computed at run time" in errors[0].message and errors[0].location.line == 8


def test_geoalchemy2_helpers_are_read_as_the_operations_they_extend():
    """FitTrackee: geoalchemy2's alembic_helpers add a geometry column and its index in a batch."""
    upgrade = ("    with op.batch_alter_table('segments') as batch_op:\n"
               "        batch_op.add_geospatial_column(sa.Column('geom', Geometry(geometry_type='LINESTRING'), nullable=True))\n"
               "        batch_op.create_geospatial_index('idx_segments_geom', ['geom'], postgresql_using='gist')\n"
               "    op.create_geospatial_table('routes', sa.Column('id', sa.Integer(), primary_key=True))\n"
               "    op.drop_geospatial_column('tracks', 'geom')\n")
    operations, errors = _upgrade(upgrade)
    assert errors == ()
    assert [type(operation).__name__ for operation in operations] == ["AddColumn", "CreateIndex", "CreateTable", "DropColumn"]
    assert operations[0].table == "segments" and operations[0].column.name == "geom"
    assert operations[1].index.using == "gist" and operations[1].index.columns == ("geom",)


def test_alembic_utils_entities_are_read_as_the_sql_they_run():
    upgrade, errors = _upgrade(
        "    ext = PGExtension(schema='public', signature='citext')\n"
        "    op.create_entity(ext)\n"
        "    fn = PGFunction(schema='public', signature='touch()',\n"
        "                    definition='returns trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$')\n"
        "    op.create_entity(fn)\n"
        "    op.create_table('docs', sa.Column('id', sa.Integer(), primary_key=True))\n"
        "    trigger = PGTrigger(schema='public', signature='docs_touch', on_entity='public.docs', is_constraint=False,\n"
        "                        definition='BEFORE UPDATE ON docs FOR EACH ROW EXECUTE FUNCTION touch()')\n"
        "    op.create_entity(trigger)\n"
        "    op.replace_entity(fn)\n")
    assert errors == ()
    kinds = [type(op).__name__ for op in upgrade]
    assert kinds == ["UnsupportedStatement", "CreateFunction", "CreateTable", "CreateTrigger", "CreateFunction"]
    assert upgrade[1].function.name == "touch" and upgrade[3].trigger.table == "docs"
    assert upgrade[3].location.line == upgrade[3].trigger.location.line == 15  # the create_entity call


def test_core_statements_on_a_table_are_data_changes_and_a_loops_problem_is_reported_once():
    upgrade, errors = _upgrade("    configs = sa.table('config', sa.column('key'), sa.column('value'))\n"
                               "    for key in ['a', 'b']:\n"
                               "        op.execute(configs.insert().values(key=key, value=''))\n"
                               "        op.execute(build_statement(key))\n"
                               "    op.execute(configs.update().where(configs.c.key == 'a').values(value='x'))\n")
    assert [type(op).__name__ for op in upgrade] == ["DataChange", "Opaque", "DataChange", "Opaque", "DataChange"]
    assert [op.kind for op in upgrade if type(op).__name__ == "DataChange"] == ["INSERT", "INSERT", "UPDATE"]
    assert len(errors) == 1 and "build_statement" in errors[0].message


def test_types_the_revision_imports_from_the_project_keep_their_module_path():
    # ihatemoney: `sa.Enum(BillType)` of the models' enum; prefect: its own JSON TypeDecorator
    text = ("from app.models import BillType\nfrom app.types import JSON, UTCDateTime\n"
            + HEADER.format(rid="r1", down=None) + "def upgrade():\n"
            "    op.add_column('bill', sa.Column('bill_type', sa.Enum(BillType)))\n"
            "    op.add_column('bill', sa.Column('payload', JSON, nullable=True))\n"
            "    op.add_column('bill', sa.Column('paid_at', UTCDateTime(timezone=True)))\n")
    revision = parse_revision(text, "versions/r1.py").revision
    types = {op.column.name: op.column.type for op in revision.upgrade if isinstance(op, ops.AddColumn)}
    assert types == {"bill_type": "billtype", "payload": "app.types.json", "paid_at": "app.types.utcdatetime(timezone=true)"}


def test_enum_types_are_created_where_alembic_creates_them():
    # warehouse: one type on two columns of a new table; an explicit create before add_column and
    # alter_column (neither creates a type); a dialect ENUM the migration creates itself
    text = (HEADER.format(rid="a1", down=None).replace("from alembic import op\n", "from alembic import op\n"
                                                          "from sqlalchemy.dialects import postgresql\n")
            + "def upgrade():\n"
            "    kinds = sa.Enum('threat', 'benign', name='verdict')\n"
            "    op.create_table('verdicts', sa.Column('id', sa.Integer(), primary_key=True),\n"
            "                    sa.Column('classification', kinds), sa.Column('reviewed', kinds))\n"
            "    sa.Enum('a', 'b', name='status').create(op.get_bind())\n"
            "    op.add_column('verdicts', sa.Column('status', sa.Enum('a', 'b', name='status')))\n"
            "    op.alter_column('verdicts', 'status', type_=sa.Enum('a', 'b', name='status'))\n"
            "    op.create_table('releases', sa.Column('id', sa.Integer(), primary_key=True),\n"
            "                    sa.Column('lifecycle', postgresql.ENUM('archived', name='lifecycle', create_type=False)),\n"
            "                    sa.Column('stage', postgresql.ENUM('draft', name='stage')))\n"
            "    kinds.drop(op.get_bind(), checkfirst=True)\n")
    upgrade = parse_revision(text, "versions/a1.py").revision.upgrade
    assert [op.enum.name for op in upgrade if isinstance(op, ops.CreateEnum)] == ["verdict", "status", "stage"]
    assert [(op.name, op.if_exists) for op in upgrade if isinstance(op, ops.DropType)] == [("verdict", True)]


def test_primary_key_columns_make_one_composite_key_unless_the_table_names_its_own():
    # keystone: two primary_key=True columns are one composite primary key, as SQLAlchemy builds it
    revision = _revision("a1", None, upgrade=(
        "    op.create_table('project_endpoint', sa.Column('endpoint_id', sa.String(64), primary_key=True),\n"
        "                    sa.Column('project_id', sa.String(64), primary_key=True))\n"
        "    op.create_table('tags', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('name', sa.Text()),\n"
        "                    sa.PrimaryKeyConstraint('id', 'name', name='tags_pk'))\n"))
    keys = [[(c.name, c.columns) for c in op.constraints if type(c).__name__ == "PrimaryKey"] for op in revision.upgrade]
    assert keys == [[(None, ("endpoint_id", "project_id"))], [("tags_pk", ("id", "name"))]]


def test_a_foreign_key_added_later_is_left_out_of_create_table():
    # SQLAlchemy leaves use_alter keys out of CREATE TABLE on PostgreSQL; op.create_table adds them nowhere.
    revision = _revision("a1", None, upgrade=(
        "    op.create_table('tracker', sa.Column('topic_id', sa.Integer(), sa.ForeignKey('topics.id', use_alter=True)),\n"
        "                    sa.Column('user_id', sa.Integer()),\n"
        "                    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name='fk_topic', use_alter=True),\n"
        "                    sa.ForeignKeyConstraint(['user_id'], ['users.id']))\n"
        "    op.add_column('posts', sa.Column('topic_id', sa.Integer(), sa.ForeignKey('topics.id', use_alter=True)))\n"))
    create, add = revision.upgrade
    assert [(c.columns, c.ref_table) for c in create.constraints if isinstance(c, ForeignKey)] == [(("user_id",), "users")]
    assert [c.ref_table for c in add.constraints] == ["topics"]
    # the oracle: SQLAlchemy's CREATE TABLE for PostgreSQL
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql
    metadata = sa.MetaData()
    for name in ("topics", "users"):
        sa.Table(name, metadata, sa.Column("id", sa.Integer, primary_key=True))
    tracker = sa.Table("tracker", metadata, sa.Column("topic_id", sa.Integer, sa.ForeignKey("topics.id", use_alter=True)),
                       sa.Column("user_id", sa.Integer), sa.ForeignKeyConstraint(["user_id"], ["users.id"]))
    created = str(sa.schema.CreateTable(tracker).compile(dialect=postgresql.dialect()))
    assert "REFERENCES users" in created and "REFERENCES topics" not in created


def test_a_column_added_with_primary_key_true_is_not_the_table_s_key():
    # Alembic's add_column adds every constraint of the column but its primary key (onyx).
    revision = _revision("a1", None, upgrade=(
        "    op.add_column('chat_message', sa.Column('id', sa.Integer(), primary_key=True, unique=True))\n"))
    (add,) = revision.upgrade
    assert [type(c).__name__ for c in add.constraints] == ["UniqueConstraint"] and add.column.nullable is False


def test_dropping_a_constraint_whose_name_is_found_at_run_time_is_said_not_replayed():
    # onyx: the name comes from the inspector, so there is nothing to replay; no 'constraint "None"'.
    parsed = parse_revision(HEADER.format(rid="a1", down=None) + (
        "def upgrade():\n    name = find_check(op.get_bind())\n    op.drop_constraint(name, 'user_file', type_='check')\n"
        "    op.drop_index(op.f('ix_user_file_status'), table_name='user_file')\n"
        "    op.drop_constraint(None, 'user_file', type_='foreignkey')\n"), "versions/a1.py")
    # autogenerate's `None` is what the revision says, not a name found at run time
    assert [(type(op).__name__, op.name) for op in parsed.revision.upgrade] == [
        ("DropIndex", "ix_user_file_status"), ("DropConstraint", None)]
    assert [(e.location.line, e.message) for e in parsed.errors] == [
        (8, "op.drop_constraint(): the name is computed at run time; 1 operation of this file is not replayed")]


def test_operations_on_names_built_at_run_time_are_said_once_per_file_with_their_count():
    # fief: every name starts with a table prefix env.py reads from the settings.
    parsed = parse_revision(HEADER.format(rid="a1", down=None) + (
        "def upgrade():\n    prefix = op.get_context().opts['table_prefix']\n"
        "    for name in ('users', 'tenants'):\n        op.drop_table(f'{prefix}{name}')\n"
        "    op.drop_table(f'{prefix}clients')\n"), "versions/a1.py")
    assert [(e.location.line, e.message) for e in parsed.errors] == [
        (9, "op.drop_table(): the table name is computed at run time; 2 such operations of this file are not "
             "replayed, the first here")]  # the loop's statement once


def test_sql_with_bound_parameters_is_read_as_its_text():
    upgrade, errors = _upgrade("    stmt = sa.text('UPDATE orders SET status = :status WHERE id = :id')\n"
                     "    stmt = stmt.bindparams(status='paid', id=1)\n"
                     "    op.execute(stmt)\n"
                     "    op.execute(sa.text('DELETE FROM orders WHERE id = :id').bindparams(id=2))\n")
    assert [(type(o).__name__, o.kind, o.table) for o in upgrade] == \
        [("DataChange", "UPDATE", "orders"), ("DataChange", "DELETE", "orders")]
    assert not errors


def test_a_table_created_from_columns_built_at_run_time_is_partly_read_and_says_so():
    upgrade, errors = _upgrade("    columns = [sa.Column('id', sa.Integer(), primary_key=True)]\n"
                     "    for name in NAMES:\n        columns.append(sa.Column(name, sa.Integer()))\n"
                     "    op.create_table('totals', sa.Column('note', sa.Text()), *columns)\n")
    (create,) = upgrade
    assert create.partly_read and [c.name for c in create.columns] == ["note"]
    assert [e.message for e in errors] == [
        "op.create_table(totals, *columns): what is passed at run time is not read; the table is not compared with "
        "the models"]


def test_a_table_with_a_column_a_helper_of_the_project_builds_is_partly_read_and_says_so():
    # privacyidea: the helper returns a different column per dialect (`if op.get_bind().dialect.name == ...`)
    upgrade, errors = _upgrade("    op.create_table('usersetting', sequence_id_column(op, SEQUENCE_NAME),\n"
                               "                    sa.Column('name', sa.Unicode(20), nullable=False),\n"
                               "                    sa.PrimaryKeyConstraint('id'), mysql_charset='utf8')\n")
    (create,) = upgrade
    assert create.partly_read and [c.name for c in create.columns] == ["name"]
    assert [(e.location.line, e.message) for e in errors] == [
        (7, "op.create_table(usersetting, ..., sequence_id_column(op, SEQUENCE_NAME)): a column or constraint built by "
            "code that is not read; the table is not compared with the models")]


def test_strings_built_from_the_files_constants_and_loop_variables_are_read():
    text = HEADER.format(rid="r1", down=None) + (
        "SEQUENCE = 'message_seq'\n"
        "RENAMES = [('orders', 'orders_a_fkey', 'fk_orders_a'), ('items', 'items_b_fkey', 'fk_items_b')]\n\n\n"
        "def upgrade():\n"
        "    op.execute(f'CREATE SEQUENCE {SEQUENCE} START 1')\n"
        "    for table, old, new in RENAMES:\n"
        "        op.execute(f'ALTER TABLE \"{table}\" RENAME CONSTRAINT \"{old}\" TO \"{new}\"')\n"
        "    for table in ('orders', 'items'):\n"
        "        op.drop_constraint(f'{table}_owner_fkey', table, type_='foreignkey')\n"
        "    op.execute(f'DROP TABLE {undefined_name}')\n\n\n"
        "def downgrade():\n    pass\n")
    parse = parse_revision(text, "versions/r1.py")
    operations = parse.revision.upgrade
    assert [type(o).__name__ for o in operations] == ["CreateSequence", "RenameConstraint", "RenameConstraint",
                                                      "DropConstraint", "DropConstraint", "Opaque"]
    assert [(o.table, o.name, o.new_name) for o in operations[1:3]] == [
        ("orders", "orders_a_fkey", "fk_orders_a"), ("items", "items_b_fkey", "fk_items_b")]
    assert [(o.table, o.name) for o in operations[3:5]] == [("orders", "orders_owner_fkey"), ("items", "items_owner_fkey")]
    assert all(o.location.line == 13 for o in operations[1:3])
    assert ["SQL built at run time" in e.message for e in parse.errors] == [True]


def test_the_entries_of_the_dicts_a_loop_goes_through_are_read():
    # jupyterhub: `for item in COL_DATA: op.add_column('services', sa.Column(item['name'], item['type']))`
    text = HEADER.format(rid="r1", down=None) + (
        "COL_DATA = [\n    {'name': 'url', 'type': sa.Unicode(length=2047)},\n    {'name': 'display', 'type': sa.Boolean},\n]\n\n\n"
        "def upgrade():\n"
        "    for item in COL_DATA:\n"
        "        op.add_column('services', sa.Column(item['name'], item['type'], nullable=True))\n\n\n"
        "def downgrade():\n"
        "    for item in COL_DATA:\n"
        "        op.drop_column('services', sa.Column(item['name']))\n")
    parse = parse_revision(text, "versions/r1.py")
    assert [(o.table, o.column.name, o.column.type) for o in parse.revision.upgrade] == [
        ("services", "url", "character varying(2047)"), ("services", "display", "boolean")]
    assert [(o.table, o.column) for o in parse.revision.downgrade] == [("services", "url"), ("services", "display")]
    assert not parse.errors


def test_indexes_given_to_create_table_are_created_after_it():
    upgrade, errors = _upgrade("    op.create_table('files', sa.Column('id', sa.Integer(), primary_key=True),\n"
                               "                    sa.Column('storage', sa.Text()), sa.Column('location', sa.Text()),\n"
                               "                    sa.Index('idx_file_location', 'storage', 'location', unique=True),\n"
                               "                    sa.Index(None, 'location', postgresql_where=sa.text('storage IS NULL')))\n")
    create, unique, partial = upgrade
    assert type(create).__name__ == "CreateTable" and not errors
    assert (unique.table, unique.index.name, unique.index.columns, unique.index.unique) == \
        ("files", "idx_file_location", ("storage", "location"), True)
    assert (partial.index.name, partial.index.columns, partial.index.where) == (None, ("location",), "storage IS NULL")


def test_a_foreign_key_constraint_of_create_table_keeps_when_it_is_checked():
    # bitcart: initially="DEFERRED" was read by op.create_foreign_key only
    upgrade, errors = _upgrade("    op.create_table('payouts', sa.Column('id', sa.Integer(), primary_key=True),\n"
                               "                    sa.Column('store_id', sa.Integer()),\n"
                               "                    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], deferrable=True,\n"
                               "                                            initially='DEFERRED'))\n")
    (key,) = [c for c in upgrade[0].constraints if isinstance(c, ForeignKey)]
    assert (key.deferrable, key.initially) == (True, "DEFERRED") and not errors


def test_a_foreign_key_target_built_from_a_loop_variable_is_read():
    # ckan: `sa.ForeignKey(column.replace('_', '.'))` for each (table, column) of a module's list
    text = HEADER.format(rid="r1", down=None) + (
        "FKS = [('package_tag', 'package_id'), ('member', 'group_id')]\n\n\n"
        "def upgrade():\n    for table, column in FKS:\n"
        "        op.add_column(table, sa.Column(column, sa.UnicodeText, sa.ForeignKey(column.replace('_', '.'))))\n")
    parse = parse_revision(text, "versions/r1.py")
    assert [(o.table, [(c.ref_table, c.ref_columns) for c in o.constraints]) for o in parse.revision.upgrade] == [
        ("package_tag", [("package", ("id",))]), ("member", [("group", ("id",))])]


def test_a_query_built_at_run_time_reads_and_changes_nothing():
    # chaos_genius: the rows a backfill works on, selected by an id known when it runs
    upgrade, errors = _upgrade("    for kpi_id in current_kpis():\n"
                               "        op.get_bind().execute(sa.text(f'SELECT anomaly_params FROM kpi WHERE id={kpi_id}'))\n"
                               "        op.execute(f'UPDATE kpi SET impact = 1 WHERE id={kpi_id}')\n")
    assert [type(o).__name__ for o in upgrade] == ["Opaque"]
    assert [e.kind for e in errors] == ["opaque"]


def test_a_loop_goes_through_a_list_as_the_function_built_it():
    """glance: `table_names = []`, six `table_names.append(...)`, then a loop that drops each."""
    upgrade, errors = _upgrade("    names = []\n    names.append('a')\n    names.extend(['b', 'c'])\n"
                               "    for name in names:\n        op.drop_table(name)\n")
    assert ([op.table for op in upgrade], errors) == (["a", "b", "c"], ())
    for change in ("    names.remove('a')\n", "    names += more()\n"):
        upgrade, errors = _upgrade("    names = ['a', 'b']\n" + change + "    for name in names:\n        op.drop_table(name)\n")
        assert upgrade == () and "computed at run time" in errors[0].message


def test_a_branch_on_the_dialect_that_ends_the_function_ends_what_is_read():
    """ironic, keystone: `if bind.engine.name != 'mysql': return` before MySQL-only statements."""
    body = ("    bind = op.get_bind()\n"
            "    if bind.engine.name != 'mysql':\n"
            "        op.add_column('t', sa.Column('a', sa.Integer()))\n"
            "        return\n"
            "    op.execute(f'ALTER TABLE {name} CONVERT TO CHARACTER SET utf8mb4')\n")
    upgrade, errors = _upgrade(body)
    assert ([type(op).__name__ for op in upgrade], errors) == (["AddColumn"], ())
    upgrade, _errors = _upgrade(body, dialect="mysql")
    assert [type(op).__name__ for op in upgrade] == ["Opaque"]
    upgrade, _errors = _upgrade("    if has_data():\n        return\n    op.drop_table('a')\n")  # not decided here
    assert [op.table for op in upgrade] == ["a"]


def test_sql_written_through_textwrap_dedent_is_read():
    """keystone's initial revision: `op.execute(textwrap.dedent(\"\"\" CREATE OR REPLACE FUNCTION ...\"\"\"))`."""
    text = ("import textwrap\nfrom textwrap import dedent\n" + HEADER.format(rid="r1", down=None)
            + "def upgrade():\n    op.execute(textwrap.dedent('''\n        CREATE TABLE a (id int);\n        '''))\n"
            + "    sql = dedent('''\n        CREATE TABLE b (id int);\n    ''')\n    op.execute(sql)\n")
    parse = parse_revision(text, "versions/r1.py")
    assert ([op.table for op in parse.revision.upgrade if type(op).__name__ == "CreateTable"], parse.errors) == (["a", "b"], ())


def test_a_function_of_the_file_that_tests_the_dialect_is_a_dialect_branch():
    """mealie: `def is_postgres(): return op.get_context().dialect.name == "postgresql"`."""
    text = (HEADER.format(rid="r1", down=None) + "def is_postgres():\n    return op.get_context().dialect.name == 'postgresql'\n\n"
            + "def upgrade():\n    if is_postgres():\n        query = 'INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING'\n"
            + "    else:\n        query = 'INSERT OR IGNORE INTO t VALUES (1)'\n    op.execute(query)\n")
    parse = parse_revision(text, "versions/r1.py")
    assert ([type(op).__name__ for op in parse.revision.upgrade], parse.errors) == (["DataChange"], ())


def test_a_flag_named_for_the_connections_engine_is_a_dialect_branch():
    """letta: `if settings.letta_pg_uri_no_default: return` ahead of a SQLite baseline, `if not
    ...: return` ahead of each PostgreSQL revision. A flag that says nothing of the connection
    (`pg_trgm_installed`) is decided at run time."""
    sqlite_only = "    if settings.letta_pg_uri_no_default:\n        return\n    op.create_table('a', sa.Column('id', sa.Integer))\n"
    postgres_only = "    if not settings.letta_pg_uri_no_default:\n        return\n    op.create_table('b', sa.Column('id', sa.Integer))\n"
    assert [op.table for op in _upgrade(sqlite_only)[0]] == []
    assert [op.table for op in _upgrade(sqlite_only, "sqlite")[0]] == ["a"]
    assert [op.table for op in _upgrade(postgres_only)[0]] == ["b"]
    assert [op.table for op in _upgrade("    if USE_SQLITE:\n        op.drop_table('c')\n")[0]] == []
    assert [op.table for op in _upgrade("    if is_postgres():\n        op.drop_table('c')\n")[0]] == ["c"]
    undecided = "    if pg_trgm_installed:\n        return\n    op.drop_table('d')\n"
    assert [op.table for op in _upgrade(undecided)[0]] == ["d"]


def test_a_name_bound_where_it_may_not_run_is_not_known_after():
    """Both branches of a test decided at run time are read; which one bound the name is not known."""
    upgrade, errors = _upgrade("    if has_rows():\n        query = 'UPDATE t SET a = 1'\n    else:\n"
                               "        query = 'INSERT OR IGNORE INTO t VALUES (1)'\n    op.execute(query)\n")
    assert [type(op).__name__ for op in upgrade] == ["Opaque"] and "not analysed" in errors[0].message
    upgrade, errors = _upgrade("    query = 'UPDATE t SET a = 1'\n    if has_rows():\n        op.execute(query)\n    op.execute(query)\n")
    assert [type(op).__name__ for op in upgrade] == ["DataChange", "DataChange"] and errors == ()


def test_a_table_object_created_or_dropped_through_the_bind_is_create_and_drop_table():
    """manila's first revision: `Table('quotas', meta, Column(...), ...)` for each table, then
    `table.create(conn, checkfirst=True)` in a loop over them."""
    upgrade, errors = _upgrade(
        "    meta = sa.MetaData()\n"
        "    quotas = sa.Table('quotas', meta, sa.Column('id', sa.Integer(), primary_key=True),\n"
        "                      sa.Column('project_id', sa.String(255), index=True), mysql_engine='InnoDB')\n"
        "    services = sa.Table('services', meta, sa.Column('id', sa.Integer(), primary_key=True))\n"
        "    for table in [quotas, services]:\n"
        "        table.create(op.get_bind(), checkfirst=True)\n"
        "    services.drop(op.get_bind())\n")
    assert [(type(op).__name__, op.table, getattr(op, "if_not_exists", getattr(op, "if_exists", None))) for op in upgrade] == [
        ("CreateTable", "quotas", True), ("CreateIndex", "quotas", False), ("CreateTable", "services", True),
        ("DropTable", "services", False)]
    assert [column.name for column in upgrade[0].columns] == ["id", "project_id"] and errors == ()
    assert [op.location.line for op in upgrade if type(op).__name__ == "CreateTable"] == [8, 10]  # where each is written


def test_sql_run_through_exec_driver_sql_is_read():
    """letta: `autocommit_connection.exec_driver_sql("CREATE INDEX CONCURRENTLY ...")`."""
    upgrade, errors = _upgrade("    connection = op.get_bind()\n"
                               "    connection.exec_driver_sql('CREATE INDEX ix_m_updated ON messages (updated_at)')\n")
    assert [(type(op).__name__, op.index.name) for op in upgrade] == [("CreateIndex", "ix_m_updated")] and errors == ()


def test_sql_run_on_an_autocommit_connection_runs_outside_the_transaction():
    """letta: `connection.execution_options(isolation_level="AUTOCOMMIT")`, then exec_driver_sql of
    CREATE INDEX CONCURRENTLY: read as in an autocommit_block()."""
    upgrade, errors = _upgrade("    connection = op.get_bind()\n"
                               "    autocommit = connection.execution_options(isolation_level='AUTOCOMMIT')\n"
                               "    autocommit.exec_driver_sql('CREATE INDEX CONCURRENTLY ix_m ON messages (updated_at)')\n"
                               "    connection.execute(sa.text('UPDATE messages SET a = 1'))\n")
    assert [type(op).__name__ for op in upgrade] == ["TransactionControl", "CreateIndex", "TransactionControl", "DataChange"]
    assert [op.kind for op in upgrade if type(op).__name__ == "TransactionControl"] == ["COMMIT", "BEGIN"] and errors == ()


def test_a_driver_s_placeholders_in_sql_given_parameters_are_parameters():
    """quay: `conn.execute("UPDATE repositorybuildtrigger SET config=%s WHERE id=%s", config, id)`, indico:
    `WHERE id IN %s` with a tuple;
    without parameters, `%s` is what PostgreSQL reads."""
    upgrade, errors = _upgrade("    conn = op.get_bind()\n"
                               "    conn.execute('UPDATE triggers SET config=%s WHERE id=%(id)s', config, trigger_id)\n"
                               "    conn.execute('UPDATE comments SET revision_id = %s WHERE id IN %s', (1, (2, 3)))\n")
    assert [type(op).__name__ for op in upgrade] == ["DataChange", "DataChange"] and errors == ()
    _upgrade_alone, errors = _upgrade("    op.execute('UPDATE triggers SET config=%s')\n")
    assert [error.kind for error in errors] == ["error"] and "PostgreSQL" in str(errors[0].message)


def test_a_check_written_in_a_column_is_a_check_of_the_table():
    """phoenix: `sa.Column("annotator_kind", sa.String, sa.CheckConstraint("annotator_kind IN (...)",
    name="valid_annotator_kind"))` in op.create_table; a later revision drops it by that name."""
    upgrade, errors = _upgrade("    op.create_table('notes', sa.Column('id', sa.Integer, primary_key=True),\n"
                               "                    sa.Column('kind', sa.String, sa.CheckConstraint(\"kind IN ('a', 'b')\", name='valid_kind'),\n"
                               "                              nullable=False))\n")
    checks = [(c.name, c.expression) for c in upgrade[0].constraints if type(c).__name__ == "CheckConstraint"]
    assert checks == [("valid_kind", "kind IN ('a', 'b')")] and errors == ()


def test_a_loop_over_lists_added_together_runs_once_per_item_of_each():
    """phoenix: `for table, column in _LOG_TABLE_FK_INDEXES + _USER_ID_FK_INDEXES: op.create_index(...)`."""
    text = (HEADER.format(rid="r1", down=None) + "LOGS = [('a', 'x')]\nUSERS = [('b', 'user_id'), ('c', 'user_id')]\n\n"
            + "def upgrade():\n    for table, column in LOGS + USERS:\n"
            + "        op.create_index(f'ix_{table}_{column}', table, [column])\n")
    parse = parse_revision(text, "versions/r1.py")
    assert [op.index.name for op in parse.revision.upgrade] == ["ix_a_x", "ix_b_user_id", "ix_c_user_id"]


def test_sqlalchemy_s_constant_classes_are_constant_defaults():
    """codecarbon: `server_default=sa.sql.False_()` is `DEFAULT false`, as `sa.false()` is."""
    upgrade, errors = _upgrade("    op.add_column('users', sa.Column('is_admin', sa.Boolean(), server_default=sa.sql.False_()))\n"
                               "    op.add_column('users', sa.Column('active', sa.Boolean(), server_default=sa.true()))\n")
    assert [op.column.server_default for op in upgrade] == ["false", "true"] and errors == ()
