"""The ORACLE for SQLAlchemy model extraction: each fixture package is imported for real, its
MetaData reduced to a comparable dict, and compared with the static `orm` layer built from the
same files read as text."""

from __future__ import annotations

import importlib.metadata

import pytest

from schemalens.analyzers.workspace.dependency_pins import version_key

from model_oracle_helpers import differences, from_layer, from_metadata, import_fixture, static_layer

CASES = {
    "typed_20": lambda package: [package.Base.metadata],
    "classic_14": lambda package: [package.Base.metadata, package.mapper_registry.metadata, package.AuditBase.metadata],
    "flask_sqla": lambda package: [package.db.metadata],
    "sqlmodel_app": lambda package: [package.shop.SQLModel.metadata],
}


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("package_name", sorted(CASES))
def test_static_layer_matches_sqlalchemy_metadata(package_name):
    package = import_fixture(package_name)
    expected = from_metadata(*CASES[package_name](package))
    # the version installed, as the project's lock file would pin it (SQLModel's datetime fields)
    layer, errors = static_layer(package_name, {"sqlmodel": version_key(importlib.metadata.version("sqlmodel"))})
    assert errors == ()
    assert len(expected["tables"]) >= 5
    assert differences(expected, from_layer(layer)) == []
