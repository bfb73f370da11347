"""Replay behaviour that the oracle tests do not show: incremental reuse and rejected statements."""

from __future__ import annotations

from schemalens.analyzers.schema import operations as ops
from schemalens.analyzers.schema.model import CheckConstraint, Column, ForeignKey, Location, PrimaryKey
from schemalens.analyzers.schema.replay import replay_steps


def _at(line: int) -> Location:
    return Location("m.sql", line)


def _create(name: str, line: int) -> ops.CreateTable:
    return ops.CreateTable(name, _at(line), columns=(Column("id", "integer", "int", False, _at(line)),),
                           constraints=(PrimaryKey(None, ("id",), _at(line)),))


def _steps(count: int) -> list[ops.Step]:
    return [ops.Step(f"v{n}.sql", (_create(f"t{n}", n),), revision=f"r{n}") for n in range(count)]


def test_a_changed_step_replays_from_the_checkpoint_before_it():
    steps = _steps(10)
    first = replay_steps(steps, checkpoint_every=4)
    steps[6] = ops.Step("v6.sql", (_create("renamed", 6),), revision="r6")
    second = replay_steps(steps, previous=first, checkpoint_every=4)
    assert second.replayed_steps == 6  # from the checkpoint after step 4
    assert "renamed" in second.layer.tables and "t6" not in second.layer.tables
    assert second.state_after(4) is first.state_after(4)


def test_unchanged_steps_replay_nothing():
    steps = _steps(10)
    first = replay_steps(steps, checkpoint_every=4)
    again = replay_steps(steps, previous=first, checkpoint_every=4)
    assert again.replayed_steps == 0 and again.layer is first.layer


def test_a_checkpoint_is_not_changed_by_later_steps():
    steps = _steps(2) + [ops.Step("drop.sql", (ops.DropTable("t0", _at(9)),))]
    run = replay_steps(steps, checkpoint_every=1)
    assert "t0" in run.state_after(1).tables and "t0" not in run.layer.tables


def test_dropping_a_referenced_table_without_cascade_is_reported_and_kept():
    child = ops.AddConstraint("t1", ForeignKey(None, ("id",), "t0", ("id",), _at(3)), _at(3))
    steps = _steps(2) + [ops.Step("fk.sql", (child,)), ops.Step("drop.sql", (ops.DropTable("t0", _at(7)),))]
    run = replay_steps(steps)
    assert "t0" in run.layer.tables
    assert [(e.location.line, e.kind) for e in run.errors] == [(7, "replay")]
    assert run.layer.tables["t1"].foreign_keys[0].name == "t1_id_fkey"


def test_sqlite_drops_a_referenced_table():
    # authelia's SQLite folder rebuilds tables: a parent dropped while children still reference it
    child = ops.AddConstraint("t1", ForeignKey(None, ("id",), "t0", ("id",), _at(3)), _at(3))
    steps = _steps(2) + [ops.Step("fk.sql", (child,)), ops.Step("drop.sql", (ops.DropTable("t0", _at(7)),))]
    run = replay_steps(steps, dialect="sqlite")
    assert "t0" not in run.layer.tables and run.errors == ()
    assert replay_steps(steps, previous=run).errors != ()  # another engine replays from the start


def test_history_records_each_change_with_its_revision():
    steps = _steps(1) + [ops.Step("v1.sql", (ops.AddColumn("t0", Column("x", "text", "text", True, _at(4)), _at(4)),), revision="r1")]
    table = replay_steps(steps).layer.tables["t0"]
    assert [(c.action, c.revision) for c in table.history] == [("create table", "r0"), ("add column x", "r1")]
    assert table.changed == _at(4)


def test_create_table_keeps_one_unique_key_per_column_list_as_postgresql_does():
    from schemalens.analyzers.extract.sql_files import parse_sql

    sql = ("CREATE TABLE o (id int PRIMARY KEY, slug text, CONSTRAINT o_slug_key UNIQUE (slug), "
           "CONSTRAINT o_slug_key UNIQUE (slug), CONSTRAINT o_id_key UNIQUE (id));")
    run = replay_steps([ops.Step("V1__o.sql", parse_sql(sql, "V1__o.sql").operations)])
    assert run.errors == ()
    table = run.layer.tables["o"]
    assert [u.columns for u in table.unique_constraints] == [("slug",)] and table.primary_key.columns == ("id",)


def _replay_sql(*files: str):
    from schemalens.analyzers.extract.sql_files import parse_sql

    steps = [ops.Step(f"v{n}.sql", parse_sql(text, f"v{n}.sql").operations) for n, text in enumerate(files, start=1)]
    return replay_steps(steps)


def test_statements_that_fail_only_because_of_an_earlier_failure_are_its_consequences():
    run = _replay_sql("ALTER TABLE templates ADD COLUMN locale text;\n"
                      "CREATE INDEX templates_locale_idx ON templates (locale);\n",
                      "DROP INDEX templates_locale_idx;\nALTER TABLE templates DROP COLUMN locale;\n")
    assert [(e.location.path, e.location.line) for e in run.errors] == [("v1.sql", 1)]
    root = run.errors[0].location
    assert [failure.root for failure in run.failures] == [None, root, root, root]


def test_a_table_created_after_its_first_failure_makes_later_failures_new_roots():
    run = _replay_sql("ALTER TABLE t ADD COLUMN a int;\n", "CREATE TABLE t (id int);\n", "ALTER TABLE t DROP COLUMN b;\n")
    assert [e.message for e in run.errors] == ['relation "t" does not exist', 'column "b" of relation "t" does not exist']


def test_renaming_the_index_of_a_constraint_renames_the_constraint():
    run = _replay_sql("CREATE TABLE user_ (id int, actor_id text, CONSTRAINT user__pkey PRIMARY KEY (id),"
                      " CONSTRAINT idx_user_actor_id UNIQUE (actor_id));\n"
                      "ALTER INDEX user__pkey RENAME TO person__pkey;\nALTER INDEX idx_user_actor_id RENAME TO idx_person_actor_id;\n"
                      "ALTER TABLE user_ DROP CONSTRAINT idx_person_actor_id;\n")
    assert run.errors == ()
    assert run.layer.tables["user_"].primary_key.name == "person__pkey"


def test_a_check_on_several_columns_is_named_after_the_table_only():
    run = _replay_sql("CREATE TABLE r (a int, b int, CHECK (num_nonnulls(a, b) = 1), CHECK (a > 0));\n")
    assert sorted(c.name for c in run.layer.tables["r"].check_constraints) == ["r_a_check", "r_check"]


def test_an_index_on_a_column_the_table_lacks_is_rejected():
    run = _replay_sql("CREATE TABLE o (id int);\nCREATE INDEX o_priority_idx ON o (priority);\n")
    assert [e.message for e in run.errors] == ['column "priority" does not exist']


def test_dropping_by_postgresql_s_default_name_drops_the_constraint_the_convention_named():
    # flaskbb: the revisions were written against a database built before the project adopted its
    # naming convention; the replay names the first revision's unnamed keys by today's convention.
    named = ops.AddConstraint("t1", ForeignKey("fk_t1_id_t0", ("id",), "t0", ("id",), _at(3)), _at(3))
    dropped = ops.DropConstraint("t1", "t1_id_fkey", _at(5), kind="foreignkey")
    missing = ops.DropConstraint("t1", "t1_other_fkey", _at(6), kind="foreignkey")
    run = replay_steps(_steps(2) + [ops.Step("fk.sql", (named,)), ops.Step("drop.sql", (dropped, missing))])
    assert run.layer.tables["t1"].foreign_keys == ()
    assert [(e.location.line, e.message) for e in run.errors] == [
        (6, 'constraint "t1_other_fkey" of relation "t1" does not exist')]


def test_a_check_dropped_by_the_name_its_convention_wraps_is_the_one_the_convention_named():
    """phoenix: `"ck": "ck_%(table_name)s_`%(constraint_name)s`"`; `op.drop_constraint("valid",
    "t1", type_="check")` drops "ck_t1_`valid`", as SQLAlchemy names it."""
    convention = {"ck": "ck_%(table_name)s_`%(constraint_name)s`"}
    added = ops.AddConstraint("t1", CheckConstraint("valid", "id > 0", _at(3)), _at(3), named_by_convention=True)
    dropped = ops.DropConstraint("t1", "valid", _at(5), kind="check")
    run = replay_steps(_steps(2) + [ops.Step("ck.py", (added,)), ops.Step("drop.py", (dropped,))], naming_convention=convention)
    assert (run.errors, run.layer.tables["t1"].check_constraints) == ((), ())


def test_a_primary_key_dropped_by_a_name_not_read_is_the_tables_one_primary_key():
    """neutron: `op.drop_constraint(inspector.get_pk_constraint(t).get('name'), t, type_='primary')`,
    then a wider key: the table has one primary key, whatever its name."""
    dropped = ops.DropConstraint("t1", None, _at(5), kind="primary")
    wider = ops.AddConstraint("t1", PrimaryKey("pk_t1", ("id", "host"), _at(6)), _at(6))
    run = replay_steps(_steps(2) + [ops.Step("pk.py", (ops.AddColumn("t1", Column("host", "text", "text", False, _at(4)), _at(4)),
                                                       dropped, wider))])
    assert run.errors == () and run.layer.tables["t1"].primary_key.columns == ("id", "host")
    other = replay_steps(_steps(2) + [ops.Step("fk.py", (ops.DropConstraint("t1", None, _at(5), kind="foreignkey"),))])
    assert other.errors  # another kind of constraint, its name not read, is not guessed


def test_a_table_taken_as_there_is_there_under_its_new_name_after_a_rename():
    """manila: its first revision creates volume_types by code not read, a later one renames it
    and changes the renamed table."""
    existing = ops.ExistingTables((), _at(1), unknown=("volume_types",))
    rename = ops.RenameTable("volume_types", "share_types", _at(2))
    drop = ops.DropConstraint("share_types", "vt_name_uc", _at(3))
    run = replay_steps([ops.Step("m.py", (existing, rename, drop))])
    assert run.errors == ()
    run = replay_steps([ops.Step("m.py", (rename, drop))])
    assert [error.location.line for error in run.errors] == [2, 3]  # without it: the rename fails, and what follows
