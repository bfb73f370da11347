"""Which files are application code: tests, scripts, seeds and fixtures are not, by default."""

from __future__ import annotations

import pytest

from schemalens.analyzers.workspace.code_roles import is_application_code


@pytest.mark.parametrize("path", ["tests/test_orders.py", "app/tests/helpers.py", "test_models.py", "app/orders_test.py",
                                  "conftest.py", "scripts/backfill.py", "server/scripts/seed.py", "app/fixtures/rows.py",
                                  "seeds/users.py", "populate.py", "server/load_tests/locustfile.py",
                                  # Flask-AppBuilder's demo apps, phoenix's documentation vignettes
                                  "examples/employees/app/models.py",
                                  "internal_docs/vignettes/sqlalchemy/polymorphic_user/users.py"])
def test_tests_scripts_seeds_and_fixtures_are_not_application_code(path):
    assert not is_application_code(path)


@pytest.mark.parametrize("path", ["app/models.py", "server/polar/order/service.py", "app/testing_utils.py",
                                  "app/contest.py", "src/shop/repositories/orders.py", "app/dataset_examples/models.py",
                                  "src/docs_site/models.py"])
def test_application_modules_are_application_code(path):
    assert is_application_code(path)


def test_the_patterns_are_configurable():
    assert is_application_code("tests/test_orders.py", ())
    assert not is_application_code("legacy/report.py", ("legacy/",))
