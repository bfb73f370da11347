"""The engine a project deploys, from its dependency files (analyzers/workspace/deployed_engine.py),
remembered until a folder it listed or a file it read changes."""

import os

from analyzers.workspace.config import Config
from analyzers.workspace.deployed_engine import deployed_engine
from workspace_files import write_files


def test_a_mysql_runtime_driver_with_a_postgresql_test_driver_deploys_mysql(tmp_path):
    # CTFd: PyMySQL in [project] dependencies, psycopg2 only in the dev group
    root = write_files(tmp_path, {"pyproject.toml": (
        '[project]\nname = "app"\ndependencies = ["Flask==2.1.3", "PyMySQL[rsa]==1.1.1"]\n\n'
        '[dependency-groups]\ndev = ["pytest", "psycopg2-binary==2.9.6"]\n'),
        "requirements-dev.txt": "psycopg2-binary\n"})
    engine = deployed_engine(Config(), root)
    assert (engine.name, engine.source) == ("mysql", "pyproject.toml: PyMySQL")


def test_any_postgresql_runtime_driver_deploys_postgresql(tmp_path):
    root = write_files(tmp_path, {"requirements.txt": "pymysql==1.1.1\n", "requirements/prod.txt": "asyncpg==0.29\n"})
    assert deployed_engine(Config(), root).source == "requirements/prod.txt: asyncpg"


def test_a_comment_declares_nothing_and_no_driver_means_postgresql(tmp_path):
    root = write_files(tmp_path, {"requirements.txt": "flask\n    # via pymysql\n"})
    assert deployed_engine(Config(), root).name == "postgresql"


def test_a_configured_postgres_version_says_postgresql(tmp_path):
    root = write_files(tmp_path, {"requirements.txt": "pymysql\n"})
    assert deployed_engine(Config(postgres_version=16), root).name == "postgresql"


def test_a_new_or_changed_dependency_file_is_read_again(tmp_path):
    root = write_files(tmp_path, {"requirements.txt": "pymysql\n", "requirements/dev.txt": "psycopg2\n"})
    for path in (root / "requirements.txt", root / "requirements"):
        os.utime(path, (1_000, 1_000))  # changes below are seen even where time counts whole seconds
    assert deployed_engine(Config(), root).name == "mysql"
    (root / "requirements" / "base.txt").write_text("psycopg2\n")
    os.utime(root / "requirements", (2_000, 2_000))
    assert deployed_engine(Config(), root).source == "requirements/base.txt: psycopg2"
    (root / "requirements" / "base.txt").write_text("asyncpg\n")
    os.utime(root / "requirements" / "base.txt", (3_000, 3_000))
    assert deployed_engine(Config(), root).source == "requirements/base.txt: asyncpg"


def test_a_librarys_extra_that_installs_a_driver_names_the_engine(tmp_path):
    # octavia: `oslo.db[mysql]`; SQLAlchemy's own extras name the driver they install
    root = write_files(tmp_path, {"requirements.txt": "oslo.db[mysql]>=8.4.0 # Apache-2.0\nPyMySQL[rsa]\n"})
    assert deployed_engine(Config(), root).source == "requirements.txt: mysql"
    root = write_files(tmp_path / "pg", {"requirements.txt": "SQLAlchemy[asyncio, postgresql_asyncpg]>=2\noslo.db[mysql]\n"})
    assert deployed_engine(Config(), root).source == "requirements.txt: postgresql_asyncpg"
