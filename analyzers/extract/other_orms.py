"""Model classes of an ORM SchemaLens does not read (peewee, Django, Tortoise): found so that the
coverage says they were not read, never guessed into tables.

quay keeps its models in peewee (`class User(BaseModel)`, BaseModel deriving from a
`ReadReplicaSupportedModel(peewee.Model)` of another module) and its migrations in Alembic: the
audit reads the migrations, and says that 97 model classes were left unread, rather than "0 of 0
model classes".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from .module_summary import ModuleSummary

# The base class each library's models derive from, by its qualified name.
_MODEL_BASES = {
    "peewee.Model": "peewee", "playhouse.signals.Model": "peewee",
    "django.db.models.Model": "Django", "django.db.models.base.Model": "Django",
    "tortoise.models.Model": "Tortoise ORM", "tortoise.Model": "Tortoise ORM",
}
LIBRARY_PACKAGES = tuple(sorted({name.partition(".")[0] for name in _MODEL_BASES}))
SHOWN_PATHS = 3


@dataclass(frozen=True, slots=True)
class OtherOrmModels:
    """The model classes of one library: how many, and the first files that hold them."""

    library: str
    classes: int
    paths: tuple[str, ...]
    files: int


def other_orm_models(summaries: Iterable["ModuleSummary"]) -> tuple[OtherOrmModels, ...]:
    """The classes deriving, through any number of classes of the workspace, from a model base
    of `_MODEL_BASES`, by library. Asked on every rebuild: nothing is walked unless a module
    imports one of the libraries (ModuleSummary.imports_other_orm, found as it was parsed)."""
    summaries = [summary for summary in summaries if summary.classes]
    if not any(summary.imports_other_orm for summary in summaries):
        return ()
    library_of: dict[str, str] = {}  # qualified class -> library
    where: dict[str, str] = {}
    found = True
    while found:  # a base may be a class of a module read later: until no class is added
        found = False
        for summary in summaries:
            for cls in summary.classes:
                if cls.qualified in library_of:
                    continue
                for base in cls.bases:
                    library = _MODEL_BASES.get(base.name or "") or library_of.get(base.name or "")
                    if library is not None:
                        library_of[cls.qualified], where[cls.qualified] = library, summary.path
                        found = True
                        break
    by_library: dict[str, Counter] = {}
    for qualified, library in library_of.items():
        by_library.setdefault(library, Counter())[where[qualified]] += 1
    out = []
    for library, paths in sorted(by_library.items()):
        most = sorted(paths, key=lambda path: (-paths[path], path))
        out.append(OtherOrmModels(library, sum(paths.values()), tuple(most[:SHOWN_PATHS]), len(paths)))
    return tuple(out)
