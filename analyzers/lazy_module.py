"""Modules imported the first time they are used.

pglast's import takes 40 ms (its node classes, enums and printers): a sixth of a SQL-only audit
whose parse cache answers for every file, which then parses nothing. A `LazyModule` stands in
the importing module's namespace for a module not imported yet; the first attribute read imports
it and puts the module itself in its place, so that later reads are a plain module's.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """`import name` bound as `bound_as` in `namespace` (the importer's `globals()`), done when
    an attribute is first read. Only attribute reads: a caller that hands the module on, or
    tests it, gets this object, not the module."""

    def __init__(self, name: str, namespace: dict[str, Any], bound_as: str) -> None:
        self._name = name
        self._namespace = namespace
        self._bound_as = bound_as

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        self._namespace[self._bound_as] = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"LazyModule({self._name!r})"
