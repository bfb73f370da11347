"""Regular expressions compiled the first time they are used.

SchemaLens's modules hold 185 patterns, compiled as they were imported: 20 ms of every command's
start, and of the language server's. A command uses a few dozen of them (a SQL-only audit 26, an
audit of polar 77). A `LazyPattern` is compiled on first use; from then on its methods are the
compiled pattern's own, looked up as fast.
"""

from __future__ import annotations

import re
from typing import Any

# What a compiled pattern's users call: bound once compiled, so that no later use goes through
# __getattr__.
_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class LazyPattern:
    """`re.compile(pattern, flags)`, compiled when first used. Not an `re.Pattern`: give its
    methods the text, not the pattern to `re` functions; a match's `re` is the compiled pattern,
    not this object."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> Any:
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self._compiled = re.compile(self.pattern, self._flags)
            for method in _METHODS:
                setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {self._flags!r})"
