"""Queries followed across functions, classes and modules, and where each one runs.

Each file's extraction (`extract/queries.py`) leaves a query it did not build with its origin: a
parameter, or what a call returns. Here the workspace's functions are read together:

- a callee as written (`self._base_query`, `super().get_base_statement`, `repository.get_all`,
  `order_service.list`, an imported function) is resolved through the file's imports and
  re-exports (`python_world.World`), the class a method runs on and its bases (static and class
  methods, a mixin's `super()`), local and module-level instances (`repo = OrderRepository(s)`,
  `order = OrderService()`), and functions nested in the caller;
- a query that a call returns is what that function returns, with the arguments it was given;
  a query given to a function is what that function does with its parameter;
- `self.model`, `cls` and `self` name the class the method runs on: a generic repository's
  method is read once per repository class that calls it;
- class names are qualified (`models.Order` -> `app.models.order.Order`), so that the audit
  resolves them to tables without guessing from the last name.

Every query the database receives is reported once, where its rows are fetched or where the
function at the top of its call chain hands it on: `FlowQuery`. Where each function runs
(request handler, background task, other) is followed along the same resolved calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import Iterable, NamedTuple, Optional

from . import flow_answers
from .code_structure import function_names_of, resolving_attributes, structure
from .dataclass_copy import replace
from .extract.module_summary import ModuleSummary
from .extract.python_names import absolute_module, package_of
from .extract.python_world import World
from .extract.queries import ColumnRef, FunctionFacts, Join, Predicate, QueryShape, filter_by_target as _filter_by_target
from .lazy_pattern import LazyPattern

# Budgets: a chain of calls this deep, and this many variants of one query, are plenty for real code.
_DEPTH = 12
_VARIANTS = 64
_RECEIVERS = 48

# Library helpers that page a query given to them: qualified name -> how.
_LIBRARY_PAGINATION = {
    "sqlalchemy_filters.apply_pagination": "offset",
    "sqlalchemy_filters.pagination.apply_pagination": "offset",
    "fastapi_pagination.ext.sqlalchemy.paginate": "offset",
    "fastapi_pagination.ext.async_sqlalchemy.paginate": "offset",
    "fastapi_pagination.ext.sqlalchemy.apaginate": "offset",
    "sqlakeyset.get_page": "keyset",
    "sqlakeyset.select_page": "keyset",
}
# Classes whose HTTP-verb methods are request handlers.
_VIEW_BASES = {"flask_restful.Resource", "flask_restx.Resource", "flask_restplus.Resource", "flask.views.MethodView",
               "flask.views.View", "starlette.endpoints.HTTPEndpoint", "tornado.web.RequestHandler"}
# Decorators and modules of handlers only staff reach: `@admins_only`, `@require_super_admin`,
# `@staff_member_required`, `@superuser_required`; `admin/`, `admin.py`, `backoffice/`.
_STAFF = LazyPattern(r"admin|staff|superuser", re.IGNORECASE)
_STAFF_MODULE = LazyPattern(r"admin|backoffice|back_office", re.IGNORECASE)
_HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "dispatch_request"}
_WRITE_METHODS = {"post", "put", "patch", "delete"}


@dataclass(frozen=True, slots=True)
class FlowQuery:
    """One query as the database receives it: the shapes it was built from, merged in order,
    class names qualified. `shape.location` and `shape.function` are where it is reported (the
    function at the top of its call chain); `context_of` is the function whose context applies."""

    shape: QueryShape
    context_of: tuple[str, Optional[str]]  # (path, function name)
    parts: tuple[tuple[str, int, Optional[str]], ...]  # (path, index, class `self` is) of every shape merged
    source: tuple[str, int]  # (path, index) of the shape it is reported for


_UNRESOLVED = object()  # a call not resolved yet (None: resolved to nothing)


def _with_column(part, column: ColumnRef):
    """A predicate or an ordering on `column`: itself when it is on that column already."""
    return part if column is part.column else replace(part, column=column)


class _Frame(NamedTuple):
    """A function read with `self`/`cls` standing for `self_class` (a tuple: frames key the
    memos of call resolution, looked up some hundred thousand times per audit)."""

    path: str
    name: Optional[str]  # None: the module's top level
    self_class: Optional[str]


@dataclass(frozen=True, slots=True)
class _Target:
    key: tuple[str, str]  # (path, function name)
    self_class: Optional[str]
    bound: bool  # its first parameter is the receiver (a method called on an instance or a class)


def _method_target(functions: dict, key: tuple[str, str], self_class: Optional[str]) -> _Target:
    """A method called on an instance, a class or `super()`: its first parameter is the receiver
    unless it is a static method."""
    return _Target(key, self_class, "staticmethod" not in functions[key].decorators)


@dataclass(frozen=True, slots=True)
class _Value:
    """A query being composed: its merged shape, the function whose context applies, the shape
    it is reported at (None until the top frame is known), the shapes merged."""

    shape: QueryShape
    top: tuple[str, Optional[str]]
    anchor: Optional[QueryShape]
    parts: tuple[tuple[str, int, Optional[str]], ...]


def _decorator_name(decorator) -> str:
    """A decorator's dotted name (`app.route` for `@app.route(...)`), "" when it has none."""
    return decorator.name or (decorator.func.name if decorator.func else "") or ""


def _hybrid_key(module: str, hybrid) -> tuple[str, str]:
    """(the qualified class, the attribute) of a hybrid attribute, as CodeBase.hybrids keys it."""
    return f"{module}.{hybrid.class_name}" if module else hybrid.class_name, hybrid.attribute


class CodeBase:
    """The workspace's functions, classes and queries, read together.

    `facts`: CodeFacts by path (every Python file: callees may live in any of them);
    `summaries`: ModuleSummary by path; `application`: the paths whose queries are reported."""

    def __init__(self, facts: dict, summaries: dict[str, ModuleSummary], application: Iterable[str],
                 mapped_classes: Iterable[str] = (), last: Optional["CodeBase"] = None) -> None:
        """`mapped_classes`: the models' classes, qualified (`app.models.Order`); `last`: the code
        base before an edit, whose indexes of functions, shapes and hybrids are taken and
        patched where they can be (`_patched_indexes`)."""
        self.facts = facts
        self.mapped_classes = frozenset(mapped_classes)
        self.summaries = summaries
        self.application = set(application)
        self.world = World.after(last.world if last is not None else None, summaries.values())
        self.module_of = {path: summary.module for path, summary in summaries.items()}
        if last is None or not self._patched_indexes(last):
            self._index_files()
        self._bindings: dict[str, dict[str, str]] = {}
        self._mro: dict[str, tuple[str, ...]] = {}
        self._qualified: dict[tuple, Optional[str]] = {}
        self._frames: dict[tuple[str, Optional[str]], _Frame] = {}  # `frame(key)`, by key
        self._local: dict[tuple[str, Optional[str]], dict[str, str]] = {}  # `_local_imports`, by function
        self._targets: dict[tuple, Optional[_Target]] = {}
        self._qualified_shapes: dict[tuple, QueryShape] = {}  # (frame, index of the shape in its file)
        self._binding_values: dict[tuple, list[_Value]] = {}
        self._callers: Optional[dict[tuple[str, str], list[tuple[tuple[str, str], Optional[str]]]]] = None
        self._consumers: Optional[tuple[set, set]] = None
        self._templates: dict[tuple[str, int], bool] = {}
        # Functions whose returned queries `_compose` is following: a function that returns a call
        # of itself (`return clean(json.loads(text))`) would be followed again at every level.
        self._composing: set[tuple[str, str]] = set()
        # What `queries` composed, by shape reported, in order; and, after an edit that only moved
        # code, the shapes `last` reported (the same ones) with what can be kept of their queries.
        self._reports: dict[tuple[str, int], list[FlowQuery]] = {}
        self._carried_reports: Optional[dict[tuple[str, int], Optional[list[FlowQuery]]]] = None
        self.answers_taken = False  # from a run before on the same code (take_answers)

    def _index_files(self) -> None:
        self.functions: dict[tuple[str, str], FunctionFacts] = {}
        self.by_qualified: dict[str, tuple[str, str]] = {}
        self.shapes_of: dict[tuple[str, Optional[str]], list[int]] = {}
        for path, file_facts in self.facts.items():
            module = self.module_of.get(path, "")
            for function in file_facts.functions:
                self.functions[(path, function.name)] = function
                self.by_qualified[f"{module}.{function.name}" if module else function.name] = (path, function.name)
            for index, shape in enumerate(file_facts.queries):
                self.shapes_of.setdefault((path, shape.function), []).append(index)
        self.hybrids = {}
        for path, file_facts in self.facts.items():
            module = self.module_of.get(path, "")
            for hybrid in getattr(file_facts, "hybrids", ()):
                self.hybrids[_hybrid_key(module, hybrid)] = hybrid

    def _patched_indexes(self, last: "CodeBase") -> bool:
        """`last`'s indexes with the new facts of the files an edit changed, when those files
        name the same functions, shapes and hybrids in the same order (a new column, a changed
        line in a function): the keys stay where they are, in a fresh build's order, and take
        the new values. False, with nothing set, otherwise."""
        if list(self.facts) != list(last.facts) or self.module_of != last.module_of:
            return False
        changed = [path for path, file_facts in self.facts.items() if file_facts is not last.facts[path]]
        if len(changed) > _MOVED_FILES_COMPARED:
            return False
        functions, hybrids = dict(last.functions), dict(last.hybrids)
        for path in changed:
            before, after = last.facts[path], self.facts[path]
            if [f.name for f in before.functions] != [f.name for f in after.functions] \
                    or [s.function for s in before.queries] != [s.function for s in after.queries] \
                    or [(h.class_name, h.attribute) for h in getattr(before, "hybrids", ())] \
                    != [(h.class_name, h.attribute) for h in getattr(after, "hybrids", ())]:
                return False
            for function in after.functions:
                functions[(path, function.name)] = function
            module = self.module_of.get(path, "")
            for hybrid in getattr(after, "hybrids", ()):
                hybrids[_hybrid_key(module, hybrid)] = hybrid
        self.functions, self.hybrids = functions, hybrids
        # names, paths and indexes only: the same (the lists of indexes are never changed)
        self.by_qualified, self.shapes_of = last.by_qualified, last.shapes_of
        if "function_names" in last.__dict__:  # the same functions' names (polar: 1.6 ms an edit)
            self.__dict__["function_names"] = last.__dict__["function_names"]
        return True

    # Answers that name functions, classes and shapes by name or index, never by location: the
    # same for a code base whose files only moved (code_structure).
    _MOVABLE_ANSWERS = ("where_run", "_call_edges", "unreached", "per_row_in_jobs", "admin_only", "operator_only",
                        "write_requests_only", "_module_tables",
                        "_unique_names", "_overrides", "_callers", "_consumers", "_templates", "_qualified", "_targets",
                        "_bindings", "_mro")

    # Memos of single lookups among the answers: most of their bytes (3.0 of 4.4 MB on polar), and
    # made again on demand at little cost once the answers that needed them are there.
    _LOOKUP_MEMOS = ("_qualified", "_targets", "_bindings")

    def answers(self) -> Optional[dict]:
        """What this code base answered that a code base of the same code answers the same (its
        `_MOVABLE_ANSWERS` but the lookup memos, and the queries it composed, by shape reported),
        for `take_answers`: None until its queries are composed."""
        if "flow_queries" not in self.__dict__:
            return None
        found = {name: answer for name in self._MOVABLE_ANSWERS
                 if name not in self._LOOKUP_MEMOS and (answer := self.__dict__.get(name)) is not None}
        return {**found, "_reports": self._reports}

    def take_answers(self, answers: dict) -> None:
        """Take what `answers()` gave of a code base of the same code (flow_answers.py)."""
        for name in self._MOVABLE_ANSWERS:
            if name in answers:
                self.__dict__[name] = answers[name]
        self._carried_reports = dict(answers["_reports"])
        self.answers_taken = True

    def carry_over(self, last: "CodeBase", moved: set[str]) -> None:
        """Keep what `last`, the code base before an edit that only moved the code of the files
        `moved` (see code_base), already answered: where functions run, what is unreached, the
        resolved calls, and the queries composed from other files' shapes only."""
        for name in self._MOVABLE_ANSWERS:
            answer = last.__dict__.get(name)
            if answer is not None:
                self.__dict__[name] = answer
        if "flow_queries" in last.__dict__:
            # A query holds the places of the shapes it merged (a hybrid property's conditions take
            # the place of the column they stand for): one of a moved file is kept when those are
            # where they were (typing within a line moves none; a new line, what is below it).
            def in_place(part: tuple) -> bool:
                if part[0] not in moved:
                    return True
                before, after = last.facts[part[0]].queries[part[1]], self.facts[part[0]].queries[part[1]]
                return before is after or before == after

            self._carried_reports = {
                source: flows if in_place(source) and all(in_place(part) for flow in flows for part in flow.parts) else None
                for source, flows in last._reports.items()}

    # names

    def bindings(self, path: str) -> dict[str, str]:
        """A module's names: imports, and what it defines, each qualified."""
        found = self._bindings.get(path)
        if found is not None:
            return found
        summary = self.summaries.get(path)
        module = self.module_of.get(path, "")
        found = {}
        if summary is not None:
            for defined in (*summary.classes, *summary.assignments, *summary.functions):
                found[defined.name] = defined.qualified
            for function in self.facts.get(path).functions if path in self.facts else ():
                if "." not in function.name:
                    found[function.name] = f"{module}.{function.name}" if module else function.name
            for imported in summary.imports:
                if imported.local != "*":
                    found[imported.local] = imported.target
        self._bindings[path] = found
        return found

    def qualify(self, frame: _Frame, written: str) -> Optional[str]:
        """A class, function or instance name as written in `frame`, qualified and followed through
        re-exports; `cls`/`self` are `frame.self_class`, `self.model` its class attribute."""
        key = (frame.path, frame.name, frame.self_class, written)
        if key in self._qualified:
            return self._qualified[key]
        self._qualified[key] = None  # a name met again while it is being qualified is a cycle
        self._qualified[key] = found = self._qualify(frame, written)
        return found

    def _qualify(self, frame: _Frame, written: str) -> Optional[str]:
        parts = written.split(".")
        if parts[0] in ("self", "cls"):
            if frame.self_class is None:
                return None
            if len(parts) == 1:
                return frame.self_class
            attribute = self.class_attribute(frame.self_class, parts[1])
            if attribute:
                return ".".join([attribute, *parts[2:]])
            return frame.self_class if parts[0] == "cls" and len(parts) == 2 else None  # `cls.email`: the class
        chosen = self._chosen_class(frame, parts[0])
        if chosen is not None:
            return self.world.resolve(".".join([chosen, *parts[1:]]))
        local = self._local_imports(frame).get(parts[0])
        target = local or self.bindings(frame.path).get(parts[0])
        if target is None:  # perhaps from a star import
            module = self.module_of.get(frame.path, "")
            found = self.world.resolve(f"{module}.{written}") if module else None
            known = found is not None and (found in self.world.classes or found in self.by_qualified
                                           or found.rpartition(".")[0] in self.world.classes)
            return found if known and found != f"{module}.{written}" else None
        return self.world.resolve(".".join([target, *parts[1:]]))

    def _chosen_class(self, frame: _Frame, name: str) -> Optional[str]:
        """`Model = get_model()`: the first class the called function returns."""
        function = self.functions.get((frame.path, frame.name)) if frame.name else None
        if function is None or not function.class_values:
            return None
        callee = dict(function.class_values).get(name)
        target = self.target(frame, callee) if callee else None
        if target is None:
            return None
        callee_frame = _Frame(target.key[0], target.key[1], target.self_class)
        for written in self.functions[target.key].returned_classes:
            found = self.qualify(callee_frame, written)
            if found in self.world.classes:
                return found
        return None

    def _local_imports(self, frame: _Frame) -> dict[str, str]:
        """Imports made inside the function (and the functions around it)."""
        if frame.name is None:
            return {}
        key = (frame.path, frame.name)
        found = self._local.get(key)
        if found is None:
            found = self._local[key] = self._imports_inside(frame)
        return found

    def _imports_inside(self, frame: _Frame) -> dict[str, str]:
        found: dict[str, str] = {}
        module = self.module_of.get(frame.path, "")
        package = package_of(module, frame.path)
        name_parts = frame.name.split(".")
        for end in range(1, len(name_parts) + 1):
            function = self.functions.get((frame.path, ".".join(name_parts[:end])))
            for local, target, level in (function.imports if function else ()):
                found[local] = absolute_module(package, level, target) if level else target
        return found

    # classes

    def mro(self, qualified: str) -> tuple[str, ...]:
        """The class and its bases, depth first, left to right, each once (close to Python's MRO
        for the hierarchies repositories and services use)."""
        found = self._mro.get(qualified)
        if found is not None:
            return found
        self._mro[qualified] = (qualified,)  # cycles end here
        order = [qualified]
        summary = self.world.classes.get(qualified)
        for base in (summary.bases if summary else ()):
            name = base.name if base.kind == "name" else (base.func.name if base.kind == "subscript" and base.func else None)
            if not name:
                continue
            resolved = self.world.resolve(name)
            for inherited in self.mro(resolved) if resolved in self.world.classes else (resolved,):
                if inherited not in order:
                    order.append(inherited)
        self._mro[qualified] = tuple(order)
        return self._mro[qualified]

    def class_attribute(self, qualified: str, attribute: str) -> Optional[str]:
        """What a class attribute names (`model = Order` -> the qualified Order), through the bases."""
        for cls in self.mro(qualified):
            summary = self.world.classes.get(cls)
            found = summary.attribute(attribute) if summary is not None else None
            if found is not None and found.value is not None and found.value.kind in ("name", "call") and found.value.name:
                # `model = Order`; `repository = OrderRepository()`
                resolved = self.world.resolve(found.value.name)
                return resolved if resolved in self.world.classes else None
            if found is not None:
                return None
        return None

    def instance_attribute(self, qualified: str, attribute: str) -> Optional[str]:
        """The class of `self.<attribute>` set in a method (`self.repo = OrderRepository(s)`)."""
        for cls in self.mro(qualified):
            path = self.world.path_of(cls)
            name = cls.rpartition(".")[2]
            for function_name, function in self._methods_by_class.get((path, name), ()):
                for variable, written in function.variable_classes:
                    if variable == f"self.{attribute}":
                        return self.qualify(_Frame(path, function_name, cls), written)
        return self.class_attribute(qualified, attribute)

    @cached_property
    def _methods_by_class(self) -> dict[tuple[str, str], list]:
        """{(path, class name): [(function name, function facts)]}, in the order of `functions`."""
        found: dict[tuple[str, str], list] = {}
        for (path, function_name), function in self.functions.items():
            if function_name and "." in function_name:
                found.setdefault((path, function_name.split(".")[0]), []).append((function_name, function))
        return found

    def method(self, qualified_class: str, name: str, after: Optional[str] = None) -> Optional[tuple[str, str]]:
        """(function key, defining class) of a method found on the class or its bases (after `after`: super())."""
        order = self.mro(qualified_class)
        if after is not None:
            order = order[order.index(after) + 1:] if after in order else ()
        for cls in order:
            key = self.by_qualified.get(f"{cls}.{name}")
            if key is not None:
                return key, cls
        return None

    def hybrid(self, qualified_class: str, attribute: str):
        """The hybrid property `attribute` of a class or its bases, or None."""
        if not qualified_class or not self.hybrids:
            return None
        for cls in self.mro(qualified_class):
            found = self.hybrids.get((cls, attribute))
            if found is not None:
                return found
        return None

    def defining_class(self, path: str, name: Optional[str]) -> Optional[str]:
        """The class a method is defined in (`Class.method`), qualified."""
        if not name or "." not in name:
            return None
        module = self.module_of.get(path, "")
        owner = name.split(".")[0]
        qualified = f"{module}.{owner}" if module else owner
        return qualified if qualified in self.world.classes else None

    def frame(self, key: tuple[str, Optional[str]], self_class: Optional[str] = None) -> _Frame:
        if self_class:
            return _Frame(key[0], key[1], self_class)
        found = self._frames.get(key)
        if found is None:
            found = self._frames[key] = _Frame(key[0], key[1], self.defining_class(*key))
        return found

    # calls

    def target(self, frame: _Frame, callee: str) -> Optional[_Target]:
        """The workspace function a callee as written in `frame` calls, or None."""
        key = (frame, callee)
        found = self._targets.get(key, _UNRESOLVED)
        if found is _UNRESOLVED:
            found = self._targets[key] = self._target(frame, callee)
        return found

    def _target(self, frame: _Frame, callee: str) -> Optional[_Target]:
        function = self.functions.get((frame.path, frame.name)) if frame.name else None
        if "()." in callee:
            receiver, _, method = callee.rpartition("().")
            if receiver == "super":
                defining = self.defining_class(frame.path, frame.name)
                start = frame.self_class or defining
                found = self.method(start, method, after=defining) if start and defining else None
                return _method_target(self.functions, found[0], start) if found else None
            owner = self._instance_class(frame, receiver, called=True)
            found = self.method(owner, method) if owner else None
            return _method_target(self.functions, found[0], owner) if found else None
        parts = callee.split(".")
        if parts[0] in ("self", "cls") and frame.self_class:
            if len(parts) == 2:
                found = self.method(frame.self_class, parts[1])
                return _method_target(self.functions, found[0], frame.self_class) if found else None
            if len(parts) == 3:
                owner = self.instance_attribute(frame.self_class, parts[1])
                found = self.method(owner, parts[2]) if owner else None
                return _method_target(self.functions, found[0], owner) if found else None
            return None
        if len(parts) == 2 and function is not None:
            written = dict(function.variable_classes).get(parts[0])
            if written:
                owner = self.qualify(frame, written)
                found = self.method(owner, parts[1]) if owner else None
                if found:
                    return _method_target(self.functions, found[0], owner)
        if len(parts) == 1 and frame.name:
            nested = (frame.path, f"{frame.name}.{parts[0]}")
            if nested in self.functions:
                return _Target(nested, None, False)
        qualified = self.qualify(frame, callee)
        if qualified is None:
            return None
        key = self.by_qualified.get(qualified)
        if key is not None:
            target = self.functions[key]
            owner = self.defining_class(*key)
            bound = owner is not None and "staticmethod" not in target.decorators and (
                "classmethod" in target.decorators)
            return _Target(key, owner, bound)
        owner_name, _, method = qualified.rpartition(".")
        if owner_name in self.world.classes:  # `OrderRepository.get_x(...)`: a class or static method
            found = self.method(owner_name, method)
            if found:
                target = self.functions[found[0]]
                return _Target(found[0], owner_name, "classmethod" in target.decorators)
        instance = self._assigned_instance(owner_name)
        if instance:
            found = self.method(instance, method)
            if found:
                return _method_target(self.functions, found[0], instance)
        return None

    def _assigned_instance(self, qualified: str) -> Optional[str]:
        """The class of a module-level instance (`order = OrderService()`)."""
        assignment = self.world.assignments.get(qualified)
        if assignment is None or assignment.value.kind != "call" or not assignment.value.name:
            return None
        owner = self.world.resolve(assignment.value.name)
        return owner if owner in self.world.classes else None

    def _instance_class(self, frame: _Frame, receiver: str, called: bool) -> Optional[str]:
        """The class of what `receiver(...)` gives: an instance of a class, or of the class whose
        class method (`OrderRepository.from_session`) builds it."""
        qualified = self.qualify(frame, receiver)
        if qualified is None:
            return None
        if qualified in self.world.classes:
            return qualified
        owner = qualified.rpartition(".")[0]
        return owner if owner in self.world.classes else None

    def parameter(self, target: _Target, slot: str) -> Optional[str]:
        parameters = self.functions[target.key].parameters
        if not slot.isdigit():
            return slot if slot in parameters else None
        position = int(slot) + (1 if target.bound else 0)
        return parameters[position] if position < len(parameters) else None

    def callers(self) -> dict[tuple[str, str], list[tuple[tuple[str, Optional[str]], Optional[str]]]]:
        """function -> [(caller, the class its receiver is)], every callee of application code resolved."""
        if self._callers is None:
            found: dict = {}
            for (path, name), function in self.functions.items():
                if path not in self.application:
                    continue
                frame = self.frame((path, name))
                for callee in function.callees:
                    target = self.target(frame, callee)
                    if target is not None:
                        found.setdefault(target.key, []).append(((path, name), target.self_class))
            for path in self.application:
                frame = self.frame((path, None))
                for index in self.shapes_of.get((path, None), ()):
                    origin = self.facts[path].queries[index].origin
                    if origin is not None and origin.kind == "call":
                        target = self.target(frame, origin.name)
                        if target is not None:
                            found.setdefault(target.key, []).append(((path, None), target.self_class))
            self._callers = found
        return self._callers

    # where functions run

    @cached_property
    def where_run(self) -> dict[tuple[str, Optional[str]], str]:
        """`contexts()`, computed once for this code base."""
        return self.contexts()

    @cached_property
    def flow_queries(self) -> list[FlowQuery]:
        """`queries()`, computed once for this code base."""
        return self.queries()

    def contexts(self) -> dict[tuple[str, Optional[str]], str]:
        """(path, function) -> "request", "task" or "other": request handlers (route decorators, the
        HTTP methods of view classes) and tasks, then every function they call, transitively."""
        resolved = {key: self._own_context(key) for key in self.functions}
        edges = self._call_edges
        for kind in ("request", "task"):
            stack = [key for key, context in resolved.items() if context == kind]
            while stack:
                key = stack.pop()
                for callee in edges.get(key, ()):
                    if resolved.get(callee) == "other":
                        resolved[callee] = kind
                        stack.append(callee)
        return resolved

    @cached_property
    def _call_edges(self) -> dict[tuple[str, Optional[str]], set]:
        """function -> the functions it calls: resolved callees, a callee whose receiver is
        unknown when its name is defined once in the workspace, and the functions of a dispatch
        table it builds (FunctionFacts.tabled, resolved as written only)."""
        return {key: found for key, function in self.functions.items()
                if (found := self._resolved(key, function.callees) | self._tabled(key, function.tabled)
                    | self._through_module_tables(key[0], function.callees))}

    def _through_module_tables(self, path: str, callees) -> set:
        """The functions of a module-level dispatch table a function looks one up in:
        `dump = CSV_KEYS.get(name)` reaches every function `CSV_KEYS = {"users": dump_users, ...}`
        holds (CTFd's CSV exports)."""
        tables = self._module_tables
        if not tables:
            return set()
        bindings, found = self.bindings(path), set()
        for callee in callees:
            receiver, dot, _ = callee.partition(".")
            held = tables.get(bindings.get(receiver, "")) if dot else None
            for name in held or ():
                if (target := self.by_qualified.get(name)) is not None:
                    found.add(target)
        return found

    @cached_property
    def _module_tables(self) -> dict[str, tuple[str, ...]]:
        """Module-level dict, list, tuple or set literals holding functions (as values, or called by
        a lambda: `"scoreboard-admin": lambda: dump_scoreboard_csv(admin=True)`), by qualified
        name: the qualified names of the functions each holds."""
        found = {}
        for path in self.application:
            summary = self.summaries.get(path)
            for assignment in summary.assignments if summary is not None else ():
                value = assignment.value
                entries = [v for _, v in value.items] if value.kind == "dict" else value.args if value.kind == "seq" else ()
                names = tuple(name for entry in entries
                              if (name := entry.name if entry.kind == "name" else
                                  entry.args[0].name if entry.kind == "lambda" and entry.args and entry.args[0].kind == "call" else None)
                              and name in self.by_qualified)
                if names:
                    found[assignment.qualified] = names
        return found

    def _tabled(self, key: tuple[str, Optional[str]], names) -> set:
        frame = self.frame(key)
        return {target.key for name in names if (target := self.target(frame, name)) is not None}

    def _resolved(self, key: tuple[str, Optional[str]], callees) -> set:
        """The functions that `callees` (as written in the function `key`) call: a method called
        on an instance may run as any subclass's override of it."""
        found = set()
        frame, unique = self.frame(key), self._unique_names
        for callee in callees:
            target = self.target(frame, callee)
            if target is not None:
                found.add(target.key)
                if not callee.startswith("super()"):
                    found |= self._overrides.get(target.key, set())
            elif callee.rpartition(".")[2] in unique:
                found.add(unique[callee.rpartition(".")[2]])
        return found

    @cached_property
    def per_row_in_jobs(self) -> dict[tuple[str, Optional[str]], frozenset[tuple]]:
        """Functions a background job calls once per row, inside a `for` or `while` loop, and
        what they call: a query there runs as many times as the job's loops have rows, not once.
        Each maps to the loop nests that run it: per nest, the functions whose results its loops
        iterate (None for a loop whose rows come from no function the flow resolves)."""
        where_run = self.where_run
        nests_of_roots: dict[tuple[str, Optional[str]], set[tuple]] = {}
        for key, function in self.functions.items():
            if where_run.get(key) != "task":
                continue
            frame = self.frame(key)
            for callee, loops in function.looped_callees:
                nest = tuple(target.key if loop and (target := self.target(frame, loop)) is not None else None
                             for loop in loops)
                for root in self._resolved(key, (callee,)):
                    nests_of_roots.setdefault(root, set()).add(nest)
        nests: dict[tuple[str, Optional[str]], set[tuple]] = {}
        for root, root_nests in nests_of_roots.items():
            for reached in self._reach([root]):
                nests.setdefault(reached, set()).update(root_nests)
        return {key: frozenset(found) for key, found in nests.items()}

    @cached_property
    def admin_only(self) -> frozenset[tuple[str, Optional[str]]]:
        """Functions that only administrators' requests run: request handlers behind an admin,
        staff or superuser decorator (`@admins_only`, `@require_super_admin`,
        `@staff_member_required`) or FastAPI dependency (`Depends(current_admin_user)`,
        `Depends(require_permission(Permission.FULL_ADMIN_PANEL_ACCESS))`), or in an admin or
        back-office module, and what only they call.
        Their traffic is a few staff members, not the users a query's cost is paid for."""
        roots = {key: self._own_context(key) for key in self.functions}
        admin_roots = [key for key, kind in roots.items() if kind == "request" and self._for_staff(key)]
        if not admin_roots:
            return frozenset()
        public_roots = [key for key, kind in roots.items()
                        if kind == "task" or (kind == "request" and not self._for_staff(key))]
        return frozenset(self._reach(admin_roots) - self._reach(public_roots))

    @cached_property
    def operator_only(self) -> frozenset[tuple[str, Optional[str]]]:
        """Functions only commands an operator runs by hand lead to: the functions of command
        modules (`cli.py`, `manage.py`, a `commands` package: is_operator_command) and those
        decorated as commands (`@click.command()`, `@app.cli.command()`, typer's `@app.command()`),
        and what only they call. Not what a request handler, a task, or an application function
        nothing is seen calling (a callback a framework registers) also leads to."""
        from .workspace.code_roles import is_operator_command

        commands = {key for key in self.functions if key[0] in self.application
                    and (is_operator_command(key[0]) or "command" in self.functions[key].decorators)}
        if not commands:
            return frozenset()
        called = {callee for callees in self._call_edges.values() for callee in callees}
        others = [key for key in self.functions if key[0] in self.application and key not in commands
                  and (self._own_context(key) in ("request", "task") or key not in called)]
        return frozenset(self._reach(list(commands)) - self._reach(others))

    @cached_property
    def write_requests_only(self) -> frozenset[tuple[str, Optional[str]]]:
        """Functions that only requests writing data run: handlers of POST, PUT, PATCH or DELETE
        (`@router.post`, a view class's `post`), and what only they call; not what a read
        request (`@router.get`, a handler whose methods are not read here) or a task also runs."""
        roots = {key: self._own_context(key) for key in self.functions}
        writing = {key for key, kind in roots.items() if kind == "request" and self._writes(key)}
        if not writing:
            return frozenset()
        others = [key for key, kind in roots.items() if kind in ("request", "task") and key not in writing]
        return frozenset(self._reach(list(writing)) - self._reach(others))

    def _writes(self, key: tuple[str, Optional[str]]) -> bool:
        """A request handler for a method that writes: by its decorator, or a view class's method name."""
        decorators = set(self.functions[key].decorators)
        if self._is_view_method(*key):
            return (key[1] or "").rpartition(".")[2] in _WRITE_METHODS
        return bool(decorators & _WRITE_METHODS) and not decorators & (_HTTP_METHODS - _WRITE_METHODS)

    def _own_context(self, key: tuple[str, str]) -> str:
        """Where a function runs by itself, before its callers are followed: its decorators' and
        module's context, "request" for the HTTP methods of view classes."""
        context = self.functions[key].context
        return "request" if context == "other" and self._is_view_method(*key) else context

    def _for_staff(self, key: tuple[str, Optional[str]]) -> bool:
        function = self.functions[key]
        owner = self.defining_class(*key)
        summary = self.world.classes.get(owner) if owner else None
        class_decorators = [_decorator_name(d) for d in summary.decorators] if summary else []
        return any(_STAFF.search(name) for name in (*function.decorators, *function.dependencies, *class_decorators)) \
            or any(_STAFF_MODULE.fullmatch(part) for part in PurePosixPath(key[0]).with_suffix("").parts)

    def _reach(self, roots: list) -> set:
        reached, stack = set(roots), list(roots)
        while stack:
            for callee in self._call_edges.get(stack.pop(), ()):
                if callee not in reached:
                    reached.add(callee)
                    stack.append(callee)
        return reached

    @cached_property
    def unreached(self) -> frozenset[tuple[str, str]]:
        """Module-level functions of application code that no application path runs: undecorated,
        named nowhere in application code but by resolved calls, and called only by functions
        like them (or by tests and scripts, which are not application code). Empty when the
        application has no entry point (no request handler or task): then nothing says what runs.

        Conservative by construction: of methods, only a model's plain, class and static methods
        can be in it (SQLAlchemy calls none of them; the application calls them by name, on a
        receiver the reader may not follow, so a method whose name application code never uses
        is called by nothing but tests), never another class's (templates, serializers and
        frameworks call those through objects the reader cannot follow); and a name used any
        other way (handed on, registered, in a string, called on a receiver not followed) counts
        as reached. A model method only a template calls is not seen: templates are not read."""
        where_run = self.where_run
        if not any(where_run.get(key) in ("request", "task") for key in self.functions if key[0] in self.application):
            return frozenset()
        named: set[str] = set()
        edges: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for path in self.application:
            file_facts = self.facts.get(path)
            named |= getattr(file_facts, "referenced_names", frozenset())
        for key, function in self.functions.items():
            if key[0] not in self.application:
                continue
            frame = self.frame(key)
            for callee in function.callees:
                target = self.target(frame, callee)
                if target is None:
                    named.add(callee.rpartition(".")[2])
                else:
                    edges.setdefault(key, set()).add(target.key)
        candidates = {key for key, function in self.functions.items()
                      if key[0] in self.application and where_run.get(key) not in ("request", "task")
                      and (self._plain_function(key, function) or self._model_method(key, function))
                      and key[1].rpartition(".")[2] not in named and not key[1].rpartition(".")[2].startswith("__")}
        reached: set[tuple[str, str]] = set()
        stack = [key for key in self.functions if key[0] in self.application and key not in candidates]
        while stack:
            for callee in edges.get(stack.pop(), ()):
                if callee in candidates and callee not in reached:
                    reached.add(callee)
                    stack.append(callee)
        return frozenset(candidates - reached)

    @staticmethod
    def _plain_function(key: tuple[str, str], function: FunctionFacts) -> bool:
        return "." not in key[1] and not function.decorators

    def _model_method(self, key: tuple[str, str], function: FunctionFacts) -> bool:
        return key[1].count(".") == 1 and set(function.decorators) <= {"classmethod", "staticmethod"} \
            and self.defining_class(*key) in self.mapped_classes

    @cached_property
    def resolving_attributes(self) -> frozenset[str]:
        """code_structure.resolving_attributes of this code base's world."""
        return resolving_attributes(self.world)

    @cached_property
    def function_names(self) -> frozenset[str]:
        """code_structure.function_names_of this code base's functions."""
        return function_names_of(self.functions)

    @cached_property
    def _overrides(self) -> dict[tuple[str, str], set[tuple[str, str]]]:
        """A method -> the methods of the same name that subclasses define (virtual dispatch)."""
        found: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for (path, name), _function in self.functions.items():
            if not name or name.count(".") != 1:
                continue
            owner = self.defining_class(path, name)
            method = name.partition(".")[2]
            for base in self.mro(owner)[1:] if owner else ():
                overridden = self.by_qualified.get(f"{base}.{method}")
                if overridden is not None:
                    found.setdefault(overridden, set()).add((path, name))
        return found

    @cached_property
    def _unique_names(self) -> dict[str, tuple[str, str]]:
        """Function names defined once in the workspace: a call of one whose receiver is unknown
        (`svc.list_entries(...)` with `svc` from a parameter) still reaches it."""
        count: dict[str, list] = {}
        for key in self.functions:
            count.setdefault(key[1].rpartition(".")[2], []).append(key)
        return {name: keys[0] for name, keys in count.items() if len(keys) == 1 and not name.startswith("__")}

    def _is_view_method(self, path: str, name: str) -> bool:
        owner = self.defining_class(path, name)
        if owner is None or name.rpartition(".")[2] not in _HTTP_METHODS:
            return False
        summary = self.world.classes.get(owner)
        if summary is not None and any(_decorator_name(d).endswith(".route") for d in summary.decorators):
            return True
        return any(base in _VIEW_BASES for base in self.mro(owner))

    # composing

    def queries(self) -> list[FlowQuery]:
        """Every query of application code as the database receives it."""
        if self._carried_reports is not None:
            reported = list(self._carried_reports.items())
        else:
            reported = [((path, index), None) for path in sorted(self.application) if path in self.facts
                        for index, shape in enumerate(self.facts[path].queries) if self._is_reported(path, index, shape)]
        found: list[FlowQuery] = []
        for (path, index), flows in reported:
            if flows is None:
                flows = self._report(path, index, self.facts[path].queries[index])
            self._reports[(path, index)] = flows
            found += flows
        return found

    def _is_reported(self, path: str, index: int, shape: QueryShape) -> bool:
        """A shape is reported on its own unless another one carries it: a caller that takes what
        its function returns, or a function it is handed to that uses it as a query."""
        key = (path, shape.function)
        if shape.embedded or (shape.returned and self.is_template(path, index) and self._has_consumers(key)):
            return False
        if shape.executed:
            return True
        frame = self.frame(key)
        for other in self.shapes_of.get(key, ()):
            origin = self.facts[path].queries[other].origin
            if origin is None or origin.kind != "call" or not any(i == index for _, i in origin.arguments):
                continue
            target = self.target(frame, origin.name)
            slot = next(slot for slot, i in origin.arguments if i == index)
            if target is None:
                if origin.arguments[0][1] == index:
                    return False  # passed through a function not ours (`apply_filters(query, ...)`): that one carries it
                continue
            parameter = self.parameter(target, slot)
            if parameter is not None and self._parameter_is_a_query(target.key, parameter):
                return False
        return True

    def is_template(self, path: str, index: int) -> bool:
        """Whether a returned query is for its caller to finish: not fetched yet once composed
        where it is written, or not complete there (built from the caller's arguments, or from
        the class a generic method runs on). A query fetched in full where it is written is
        reported there, whoever calls it."""
        key = (path, index)
        if key not in self._templates:
            self._templates[key] = True  # a cycle: the caller finishes it
            shape = self.facts[path].queries[index]
            frame = self.frame((path, shape.function))
            values = self._compose(frame, index, {}, (path, shape.function), 0, bind=False)
            self._templates[key] = not values or not all(v.shape.executed and self._resolvable(v) for v in values)
        return self._templates[key]

    def _has_consumers(self, key: tuple[str, Optional[str]]) -> bool:
        """Whether a call in application code takes this function's return value as a query: a
        call resolved to it, or an unresolved call of its name whose value is refined."""
        if key[1] is None:
            return False
        if self._consumers is None:
            consumers: set = set()
            names: set = set()
            for path in self.application:
                file_facts = self.facts.get(path)
                for shape in (file_facts.queries if file_facts else ()):
                    if shape.origin is None or shape.origin.kind != "call":
                        continue
                    target = self.target(self.frame((path, shape.function)), shape.origin.name)
                    if target is not None:
                        consumers.add(target.key)
                    elif _refines(shape):
                        names.add(shape.origin.name.rpartition(".")[2])
            self._consumers = (consumers, names)
        consumers, names = self._consumers
        return key in consumers or key[1].rpartition(".")[2] in names

    def _parameter_is_a_query(self, key: tuple[str, str], parameter: str) -> bool:
        return any(self.facts[key[0]].queries[i].origin is not None
                   and self.facts[key[0]].queries[i].origin.kind == "parameter"
                   and self.facts[key[0]].queries[i].origin.name == parameter
                   for i in self.shapes_of.get(key, ()))

    def alone(self, path: str, index: int) -> list[FlowQuery]:
        """A shape composed as if it were reported on its own (a subquery joined into another)."""
        return self._report(path, index, self.facts[path].queries[index])

    def _report(self, path: str, index: int, shape: QueryShape) -> list[FlowQuery]:
        key = (path, shape.function)
        frame = self.frame(key)
        values = self._compose(frame, index, {}, key, 0)
        if frame.self_class is not None and not all(self._resolvable(v) for v in values):
            # a method of a generic base: read it as each class that calls it
            receivers = {}
            for caller, receiver in self.callers().get(key, ()):
                if receiver and receiver != frame.self_class and receiver not in receivers:
                    receivers[receiver] = caller
            variants = []
            for receiver, caller in list(receivers.items())[:_RECEIVERS]:
                variants += self._compose(_Frame(path, shape.function, receiver), index, {}, caller, 0)
            if variants:
                values = [v for v in values if self._resolvable(v)] + variants
        seen = set()
        found = []
        for value in values[:_VARIANTS]:
            anchor = value.anchor or value.shape
            merged = replace(value.shape, location=anchor.location, function=anchor.function)
            signature = (merged, value.top)
            if signature in seen:
                continue
            seen.add(signature)
            found.append(FlowQuery(merged, value.top, value.parts, (path, index)))
        return found

    def _resolvable(self, value: _Value) -> bool:
        """Whether a composed query names at least one entity that is not a leftover `self`/`cls`."""
        return bool(value.shape.entities) or bool(value.shape.sql)

    def _compose(self, frame: _Frame, index: int, env: dict, top: tuple, depth: int, bind: bool = True) -> list[_Value]:
        """The query a shape holds, composed: its origin followed (a parameter: `env`, else what
        callers hand it when `bind` and the frame is the top one; a call: what the callee returns
        for these arguments), then its own refinements."""
        file_facts = self.facts[frame.path]
        shape = file_facts.queries[index]
        own = self._qualified_shapes.get((frame, index))
        if own is None:
            own = self._qualified_shapes[(frame, index)] = self._qualified_shape(frame, shape)
        part = ((frame.path, index, frame.self_class),)
        origin = shape.origin
        if origin is None:
            anchor = shape if (frame.path, frame.name) == top else None
            return [_Value(own, top, anchor, part)]
        if depth > _DEPTH:
            return [_Value(own, top, None, part)]
        if origin.kind == "parameter":
            if origin.name in env:
                bases = env[origin.name]
            elif (frame.path, frame.name) == top and bind:
                bases = self._bound_values((frame.path, frame.name), origin.name, depth)
            else:
                bases = []
            if not bases:
                return [_Value(own, top, shape if (frame.path, frame.name) == top else None, part)]
            return [self._merge(base, own, part) for base in bases[:_VARIANTS]]
        arguments: dict[str, list[_Value]] = {}
        for slot, argument in origin.arguments:
            arguments[slot] = self._compose(frame, argument, env, top, depth + 1, bind)
        target = self.target(frame, origin.name)
        bases: list[_Value] = []
        if target is not None and target.key in self._composing:
            return [_Value(own, top, None, part)]  # recursion: what it returns is what is being composed
        if target is not None:
            callee_env = {}
            for slot, values in arguments.items():
                parameter = self.parameter(target, slot)
                if parameter is not None:
                    callee_env[parameter] = values
            callee_frame = _Frame(target.key[0], target.key[1], target.self_class)
            self._composing.add(target.key)
            try:
                for returned in self.shapes_of.get(target.key, ()):
                    if self.facts[target.key[0]].queries[returned].returned and self.is_template(target.key[0], returned):
                        bases += self._compose(callee_frame, returned, callee_env, top, depth + 1, bind)
            finally:
                self._composing.discard(target.key)
        else:
            qualified = self.qualify(frame, origin.name) or origin.name
            passed = next(iter(arguments.values()), [])
            paging = _LIBRARY_PAGINATION.get(qualified)
            bases = [replace(value, shape=replace(value.shape, pagination=paging)) if paging else value for value in passed]
        if not bases:
            if not _refines(own):
                return []
            return [_Value(own, top, shape if (frame.path, frame.name) == top else None, part)]
        return [self._merge(base, own, part) for base in bases[:_VARIANTS]]

    def _bound_values(self, key: tuple[str, str], parameter: str, depth: int) -> list[_Value]:
        """The queries callers hand to a parameter, each composed in its caller."""
        memo = (key, parameter)
        if memo in self._binding_values:
            return self._binding_values[memo]
        self._binding_values[memo] = []  # recursion through the same parameter ends here
        found: list[_Value] = []
        for (caller_path, caller_name), _ in self.callers().get(key, ()):
            caller = (caller_path, caller_name)
            frame = self.frame(caller)
            for other in self.shapes_of.get(caller, ()):
                origin = self.facts[caller_path].queries[other].origin
                if origin is None or origin.kind != "call":
                    continue
                target = self.target(frame, origin.name)
                if target is None or target.key != key:
                    continue
                for slot, argument in origin.arguments:
                    if self.parameter(target, slot) == parameter:
                        for value in self._compose(frame, argument, {}, caller, depth + 1):
                            anchor = value.anchor or self.facts[caller_path].queries[argument]
                            found.append(replace(value, anchor=anchor))
            if len(found) >= _VARIANTS * 4:
                break
        unique = []
        seen = set()
        for value in found:
            signature = (value.shape, value.top)
            if signature not in seen:
                seen.add(signature)
                unique.append(value)
        self._binding_values[memo] = unique
        return unique

    def _merge(self, base: _Value, own: QueryShape, part: tuple) -> _Value:
        """`base` refined by `own` (a shape whose query came from `base`)."""
        shape = base.shape
        if any(not p.column.model and not p.column.table for p in own.predicates):
            # `filter_by(...)` on a query that came from elsewhere: on its last joined entity, else its first
            model, through = _filter_by_target(shape)
            own = replace(own, predicates=tuple(
                replace(p, column=replace(p.column, model=model, through=through))
                if not p.column.model and not p.column.table else p for p in own.predicates))
        merged = replace(
            shape,
            kind=own.kind if own.kind != "select" else shape.kind,
            predicates=shape.predicates + _renumbered(own.predicates, shape.predicates),
            joins=shape.joins + own.joins,
            order_by=shape.order_by + own.order_by,
            group_by=shape.group_by + own.group_by,
            aggregates=shape.aggregates + own.aggregates,
            pagination=own.pagination or shape.pagination,
            limit=own.limit if own.pagination else shape.limit,
            eager=shape.eager + own.eager,
            subquery=own.subquery or shape.subquery,
            executed=own.executed or shape.executed,
            returned=own.returned,
            function=own.function,
        )
        return _Value(merged, base.top, base.anchor, base.parts + part)

    def _qualified_shape(self, frame: _Frame, shape: QueryShape) -> QueryShape:
        """The shape with its class names qualified in `frame` (kept as written when they cannot be)."""
        if shape.entities_are_tables:
            return shape

        def name(written: str) -> str:
            return self.qualify(frame, written) or (written if written not in ("self", "cls") and not written.startswith(
                ("self.", "cls.")) else "")

        def ref(column: ColumnRef) -> ColumnRef:
            if column.table:
                return column
            model = name(column.model)
            return column if model == column.model else replace(column, model=model)

        entities = tuple(e for e in (name(entity) for entity in shape.entities) if e)
        return replace(
            shape,
            entities=entities,
            predicates=self._predicates(tuple(_with_column(p, ref(p.column)) for p in shape.predicates)),
            joins=tuple(_qualified_join(join, name, ref) for join in shape.joins),
            order_by=tuple(_with_column(o, ref(o.column)) for o in shape.order_by),
            group_by=tuple(ref(c) for c in shape.group_by),
            aggregates=tuple((f, ref(c)) for f, c in shape.aggregates),
        )

    def _predicates(self, predicates: tuple[Predicate, ...]) -> tuple[Predicate, ...]:
        """Predicates on hybrid properties read as the conditions their expressions make
        (`~Order.is_deleted`: `orders.deleted_at IS NULL`), or as conditions on an expression
        over the columns they read."""
        if not self.hybrids:
            return predicates
        found: list[Predicate] = []
        groups = max((p.alternative[0] for p in predicates if p.alternative), default=0)
        for predicate in predicates:
            column = predicate.column
            hybrid = self.hybrid(column.model, column.column) if not column.table and column.model else None
            if hybrid is None:
                found.append(predicate)
                continue
            if hybrid.predicates:
                renumber: dict[int, int] = {}
                for inner in hybrid.predicates:
                    alternative = predicate.alternative
                    if alternative is None and inner.alternative is not None:
                        if inner.alternative[0] not in renumber:
                            groups += 1
                            renumber[inner.alternative[0]] = groups
                        alternative = (renumber[inner.alternative[0]], inner.alternative[1])
                    operator = _NEGATED.get(inner.operator, inner.operator) if predicate.negated else inner.operator
                    found.append(replace(inner, column=replace(inner.column, model=column.model, location=column.location),
                                         operator=operator, alternative=alternative, negated=False))
            else:
                found += [replace(predicate, column=replace(inner, model=column.model, location=column.location),
                                  expression=not hybrid.renamed) for inner in hybrid.columns]
        return tuple(found)

    def qualified_ref(self, path: str, self_class: Optional[str], column: ColumnRef, function: Optional[str]) -> ColumnRef:
        """A column reference of a counted call qualified the way its query's were."""
        if column.table:
            return column
        frame = _Frame(path, function, self_class)
        written = column.model
        return replace(column, model=self.qualify(frame, written) or (
            written if written not in ("self", "cls") and not written.startswith(("self.", "cls.")) else ""))


_NEGATED = {"is not null": "is null", "is null": "is not null", "=": "!=", "!=": "=", "in": "not in", "not in": "in"}


def _qualified_join(join: Join, name, ref) -> Join:
    return replace(join, target=name(join.target) if join.target else join.target,
                   on=tuple((ref(a), ref(b)) for a, b in join.on),
                   relationship=ref(join.relationship) if join.relationship is not None else None)


def _refines(shape: QueryShape) -> bool:
    return bool(shape.predicates or shape.joins or shape.order_by or shape.group_by or shape.pagination)


def _renumbered(predicates: tuple[Predicate, ...], before: tuple[Predicate, ...]) -> tuple[Predicate, ...]:
    """OR groups are numbered per file: moved past the ones already in the query they join."""
    taken = max((p.alternative[0] for p in before if p.alternative), default=0)
    if not taken or not any(p.alternative for p in predicates):
        return predicates
    return tuple(replace(p, alternative=(p.alternative[0] + taken, p.alternative[1])) if p.alternative else p
                 for p in predicates)


def code_base(model, application: Optional[Iterable[str]] = None) -> CodeBase:
    """The CodeBase of a WorkspaceModel: every Python file read, application code reported."""
    from .workspace.code_roles import is_application_code

    patterns = model.config.non_application_paths
    paths = application if application is not None else [path for path in model.code if is_application_code(path, patterns)]
    summaries = getattr(model, "summaries", {}) or {}
    # The index keeps a file's facts and summary objects while its text is unchanged: the same
    # objects mean the same code base (an edit of a revision or a SQL file keeps every one).
    key = (tuple(model.code), tuple(map(id, model.code.values())), tuple(summaries), tuple(map(id, summaries.values())),
           tuple(paths))
    if _last_code_base and _last_code_base[0] == key:
        return _last_code_base[2]
    mapped = sorted(f"{table.module}.{table.class_name}" for table in model.orm.tables.values()
                    if table.module and table.class_name)
    last = _last_code_base[2] if _last_code_base else None
    base = CodeBase(model.code, summaries, paths, mapped, last)
    if last is None:
        # the process's first code base (a command's, the server's first index): a run before may
        # have kept its answers; later ones are edits, carried over in memory or composed again
        flow_answers.take_kept(base, model)
    elif (moved := _moved_only(last, base)) is not None:
        base.carry_over(last, moved)
    _last_code_base[:] = [key, (list(model.code.values()), list(summaries.values())), base]  # the objects keep their ids
    return base


def last_code_base(model) -> Optional[CodeBase]:
    """The code base `code_base` made last, when it is `model`'s."""
    base = _last_code_base[2] if _last_code_base else None
    return base if base is not None and base.facts is model.code and base.summaries is model.summaries else None


_last_code_base: list = []  # [key, the objects its ids are of, CodeBase]
_MOVED_FILES_COMPARED = 16  # an edit, or the edits a rebuild applies at once, touch a few files


def _moved_only(last: CodeBase, base: CodeBase) -> Optional[set[str]]:
    """The files whose code moved without changing what the flow reads of it (see
    code_structure), when every other file is the same object as in `last`; else None."""
    if (set(last.facts), set(last.summaries), last.application, last.mapped_classes) \
            != (set(base.facts), set(base.summaries), base.application, base.mapped_classes):
        return None
    changed = {path for path in base.facts if base.facts[path] is not last.facts[path]} \
        | {path for path in base.summaries if base.summaries[path] is not last.summaries[path]}
    if len(changed) > _MOVED_FILES_COMPARED:
        return None  # a new index, not an edit: comparing every file would cost what it saves
    resolving, named = last.resolving_attributes, last.function_names
    if resolving != base.resolving_attributes or named != base.function_names:
        return None
    same = all(structure(last.facts.get(path), last.summaries.get(path), resolving, named)
               == structure(base.facts.get(path), base.summaries.get(path), resolving, named) for path in changed)
    return changed if same else None

