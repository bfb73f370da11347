"""Revisions that call functions of other modules of the workspace: neutron's first revision
calls `core_init_ops.upgrade()` and eight more such functions, which create every one of its
tables; later ones call `migration.create_table_if_not_exists("ports", sa.Column(...), ...)`. The
reader keeps each such call as a `HelperCall`; here it becomes the operations of the function it
names, when a module of the workspace that imports Alembic's `op` defines it
(alembic_revisions.read_migration_helpers), read in place with its parameters bound to what the
call passes, as a helper of the revision file itself is. A call of anything else (a library, a
function that runs no operation) adds nothing."""

from __future__ import annotations

from typing import Callable, Optional

from ..dataclass_copy import replace
from ..extract.alembic_revisions import (HELPER_DEPTH, MigrationFunction, MigrationHelpers, Revision,
                                         read_helper_call)
from ..extract.module_summary import ModuleSummary
from ..extract.python_source import PythonFile, parse_python


def sources(text_of: Callable[[str], Optional[str]]) -> Callable[[str], Optional[PythonFile]]:
    """`source_of` for `with_helpers_read`: each module parsed once, however many revisions call
    it with arguments (neutron: 26 revisions call its `migration` module's functions)."""
    parsed: dict[str, Optional[PythonFile]] = {}

    def source_of(path: str) -> Optional[PythonFile]:
        if path not in parsed:
            text = text_of(path)
            parsed[path] = parse_python(text, path, numbered=False)[0] if text is not None else None
        return parsed[path]
    return source_of
from ..schema.model import ExtractionError, Location
from ..schema.operations import HelperCall, Operation

Functions = dict[str, tuple[MigrationFunction, MigrationHelpers]]


def helper_functions(summaries) -> Functions:
    """Dotted name -> (the function, its module's helpers) of every function a module that
    imports `op` defines (`summaries`: ModuleSummary)."""
    return {f"{summary.module}.{function.name}": (function, summary.migration_helpers)
            for summary in summaries if summary.migration_helpers is not None
            for function in summary.migration_helpers.functions}


def calls_helpers(revision: Revision) -> bool:
    return any(type(operation) is HelperCall for operation in (*revision.upgrade, *revision.downgrade))


def with_helpers_read(revision: Revision, functions: Functions,
                      source_of: Callable[[str], Optional[PythonFile]]) -> tuple[Revision, tuple[ExtractionError, ...]]:
    """`revision` with each call of a function of `functions` replaced by its operations, the
    other calls dropped; and what the readings of those functions said (an operation on a name
    computed at run time), where the revision calls them. `source_of(path)`: a module parsed, to
    read again for a call that passes arguments (None: it cannot be)."""
    reading = _Reading(functions, source_of, dict.fromkeys(revision.conditional))
    upgrade, upgrade_unread = reading.expanded(revision.upgrade, ())
    downgrade, downgrade_unread = reading.expanded(revision.downgrade, ())
    unread = (*revision.unread, *("upgrade",) * upgrade_unread, *("downgrade",) * downgrade_unread)
    return (replace(revision, upgrade=upgrade, downgrade=downgrade, unread=unread,
                    conditional=tuple(reading.conditional)),
            tuple(dict.fromkeys(reading.errors)))


class _Reading:
    def __init__(self, functions: Functions, source_of: Callable[[str], Optional[PythonFile]],
                 conditional: dict[Location, None]) -> None:
        self.functions = functions
        self.source_of = source_of
        self.conditional = conditional  # Revision.conditional, with the functions' own, in order
        self.errors: list[ExtractionError] = []

    def expanded(self, operations: tuple[Operation, ...], calling: tuple[str, ...]) -> tuple[tuple[Operation, ...], int]:
        """(`operations` with the calls read in place, how many operations those calls did not
        read). The operations of a call under a run-time condition are under it too."""
        found: list[Operation] = []
        unread = 0
        for operation in operations:
            if type(operation) is not HelperCall:
                found.append(operation)
                continue
            entry = self.functions.get(operation.target)
            if entry is None or operation.target in calling or len(calling) >= HELPER_DEPTH:
                continue
            function = self._called(operation, *entry)
            self.conditional.update(dict.fromkeys(function.conditional))
            inner, inner_unread = self.expanded(function.operations, (*calling, operation.target))
            if operation.location in self.conditional:
                self.conditional.update(dict.fromkeys(inner_operation.location for inner_operation in inner))
            found += inner
            unread += function.unread + inner_unread
            self.errors += function.errors
        return tuple(found), unread

    def _called(self, call: HelperCall, function: MigrationFunction, helpers: MigrationHelpers) -> MigrationFunction:
        """`function` as `call` runs it: read again with what the call passes, if anything."""
        if not (call.arguments or call.keywords):
            return function
        source = self.source_of(helpers.path)
        if source is None:
            return function
        return read_helper_call(source, helpers.dialect, function.name, call.arguments, call.keywords)
