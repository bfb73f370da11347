from pathlib import Path

from schemalens.analyzers.workspace.config import TableHints, load_config


def test_pyproject_settings_are_read(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.schemalens]\ndialect = "mysql"\nexclude = ["legacy/**"]\n'
        "[tool.schemalens.tables.orders]\nrows = 2_000_000\nwrite_qps = 50\n")
    config = load_config(tmp_path)
    assert (config.dialect, config.exclude, config.problems) == ("mysql", ("legacy/**",), ())
    assert config.tables["orders"] == TableHints(rows=2_000_000, write_qps=50)


def test_schemalens_toml_wins_over_pyproject(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text('[tool.schemalens]\ndialect = "mysql"\n')
    (tmp_path / "schemalens.toml").write_text('dialect = "sqlite"\n')
    assert load_config(tmp_path).dialect == "sqlite"


def test_wrong_values_fall_back_and_are_reported(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.schemalens]\ndialect = "oracle"\nspeed = 3\n[tool.schemalens.tables.t]\nrows = -1\n')
    config = load_config(tmp_path)
    assert config.dialect == "postgresql"
    assert [p.message for p in config.problems] == [
        "configuration: dialect 'oracle' is not one of postgresql, mysql, sqlite; using postgresql",
        "configuration: unknown setting 'speed'",
        "configuration: tables.t.rows must be a non-negative number",
    ]
    assert all(p.location.path == "pyproject.toml" for p in config.problems)


def test_a_broken_toml_file_is_a_problem_not_a_crash(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text("[tool.schemalens\n")
    config = load_config(tmp_path)
    assert config.dialect == "postgresql" and "cannot read configuration" in config.problems[0].message


def test_a_hints_file_gives_row_counts_and_reports_bad_values(tmp_path):
    from schemalens.analyzers.workspace.config import load_hints_file

    (tmp_path / "hints.toml").write_text("[tables.orders]\nrows = 2_000_000\n\n[tables.users]\nrows = -1\n")
    hints, problems = load_hints_file(tmp_path, "hints.toml")
    assert hints["orders"].rows == 2_000_000 and hints["users"].rows is None  # the bad value is dropped
    assert [p.message for p in problems] == ["hints file: tables.users.rows must be a non-negative number"]
    assert load_hints_file(tmp_path, "missing.toml")[1][0].message.startswith("cannot read the hints file")
