"""What a build of the models gives (`OrmBuild`, made by sqlalchemy_models.build_orm), apart from
the model reader: a workspace without Python modules has no models to build, and the index gives
it `no_models()` without importing the reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..schema.model import ExtractionError, Location, SchemaLayer

if TYPE_CHECKING:
    from .sqlalchemy_models import Relationship


@dataclass(frozen=True, slots=True)
class KeptOutTable:
    """A table declared in code that is not read as the application's PostgreSQL schema."""

    key: str
    location: Location
    reason: str  # the other engine ("ClickHouse"), or "not application code"


@dataclass(frozen=True, slots=True)
class UnrecognizedModel:
    class_name: str
    location: Location
    reason: str


@dataclass(frozen=True, slots=True)
class OrmBuild:
    layer: SchemaLayer
    errors: tuple[ExtractionError, ...]
    naming_convention: Optional[dict[str, str]]
    relationships: tuple[Relationship, ...]
    model_classes: int = 0  # application classes that declare a table or map through a declarative base
    unrecognized: tuple[UnrecognizedModel, ...] = ()  # of those, the ones that gave no table
    kept_out: tuple[KeptOutTable, ...] = ()
    library_bases: tuple[tuple[str, str], ...] = ()  # (library class, table): what such bases declare is not read
    library_tables: tuple[tuple[str, str], ...] = ()  # (table key, library): tables a library maps at run time
    transformed_columns: frozenset[tuple[str, str]] = frozenset()  # (table key, column) written through a transform
    library_named: tuple[tuple[str, str], ...] = ()  # (class, library base): a table named by the library, not read
    # The workspace functions whose bodies the build evaluated (column helpers, table-name
    # functions): of any other function, only the name can matter to it.
    functions_evaluated: frozenset[str] = frozenset()


def no_models() -> OrmBuild:
    """The build of a workspace without Python modules (what build_orm gives for none)."""
    return OrmBuild(SchemaLayer("orm"), (), None, ())
