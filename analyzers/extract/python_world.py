"""Names across the workspace's modules: a qualified name followed through imports, re-exports,
aliases and star imports to the class, assignment or function that defines it, and the
SQLAlchemy API that a name stands for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from .module_summary import Assignment, ClassSummary, FunctionSummary, ModuleSummary
from .python_names import Expr, walk

# sqlalchemy sub-modules skipped when naming a member: `sqlalchemy.orm.mapped_column` -> "mapped_column".
_SA_MODULES = {"orm", "dialects", "postgresql", "types", "sql", "schema", "expression", "sqltypes", "ext",
               "declarative", "base", "json", "array", "ranges", "named_types", "decl_api", "functions",
               "elements", "mysql", "sqlite", "pg8000", "psycopg2", "psycopg", "asyncpg", "hstore", "types_",
               "testing"}  # sqlalchemy.testing.schema.mapped_column wraps the ORM's (privacyidea's models)


# SQLModel re-exports SQLAlchemy's API under its own name (`from sqlmodel import Column, select`);
# these names of it are its own (its `select` builds SQLAlchemy's, and stands for it).
_SQLMODEL_OWN = frozenset({"SQLModel", "Field", "Relationship", "Session", "UTCDateTime", "Discriminator", "Tag", "col"})


# SQLAlchemy's constants as a server default compiles them: `sa.false()`, and its class
# `sa.sql.False_()` (codecarbon), are the constant false
SQL_CONSTANTS = {"true": "true", "false": "false", "null": "null", "True_": "true", "False_": "false", "Null": "null"}


@functools.lru_cache(maxsize=4096)
def sa_member(name: Optional[str]) -> Optional[str]:
    """The SQLAlchemy API a qualified name stands for ("Column", "func.now", "declared_attr.directive")."""
    if not name:
        return None
    parts = name.split(".")
    if parts[0] == "sqlmodel":
        if parts[-1] == "AutoString":  # a String that MySQL gives a length: on PostgreSQL, String itself
            return "String"
        return parts[1] if len(parts) == 2 and parts[1] not in _SQLMODEL_OWN else None
    if parts[0] != "sqlalchemy" or len(parts) < 2:
        return None
    parts = parts[1:]
    while len(parts) > 1 and parts[0] in _SA_MODULES:
        parts.pop(0)
    return ".".join(parts)


def _typing_member(name: Optional[str]) -> Optional[str]:
    if name and name.split(".")[0] in ("typing", "typing_extensions"):
        return name.split(".")[-1]
    return None


def _imports_bound(summary: ModuleSummary) -> tuple[list[tuple[str, str]], list[str]]:
    """(the (qualified local name, target) pairs a module's imports bind, the modules it imports
    `*` from), in order."""
    aliases, stars = [], []
    for imported in summary.imports:
        if imported.local == "*":
            stars.append(imported.target)
        else:
            qualified = f"{summary.module}.{imported.local}" if summary.module else imported.local
            if qualified != imported.target:
                aliases.append((qualified, imported.target))
    return aliases, stars


def _names_bound(summary: ModuleSummary) -> tuple:
    """The names a module binds in a World, in order, and whether it imports `*`."""
    aliases, stars = _imports_bound(summary)
    return ([name for name, _ in aliases], bool(stars), [a.qualified for a in summary.assignments],
            [c.qualified for c in summary.classes], [f.qualified for f in summary.functions])


def _read_to_resolve(summary: ModuleSummary) -> tuple:
    """What World.resolve and is_flask_db read of a module beyond the names it binds: where its
    imports lead, what its assignments are (another name, a call of what), its classes' bases."""
    return (_imports_bound(summary), [(a.qualified, a.value.kind, a.value.name) for a in summary.assignments],
            [(c.qualified, [base.name for base in c.bases if base.kind == "name"]) for c in summary.classes])


class World:
    """Every summary's names, so that a qualified name can be followed to what defines it."""

    def __init__(self, summaries: Iterable[ModuleSummary]) -> None:
        self.summaries = [s for s in summaries if s is not None]
        self.aliases: dict[str, str] = {}
        self.stars: dict[str, list[str]] = {}
        self.classes: dict[str, ClassSummary] = {}
        self.class_module: dict[str, ModuleSummary] = {}
        self.assignments: dict[str, Assignment] = {}
        self.assignment_module: dict[str, ModuleSummary] = {}
        self.functions: dict[str, FunctionSummary] = {}
        self.functions_evaluated: set[str] = set()  # whose bodies an Evaluator followed (static_eval)
        self._resolved: dict[str, str] = {}
        self._flask_db: dict[str, bool] = {}
        # The modules whose summaries changed since the world `after` took its answers from; None
        # when it took none (a fresh world, or names that may resolve otherwise).
        self.changed_since_last: Optional[frozenset[str]] = None
        for summary in self.summaries:
            self._add(summary)

    def _add(self, summary: ModuleSummary) -> None:
        aliases, stars = _imports_bound(summary)
        self.aliases.update(aliases)
        if stars:
            self.stars.setdefault(summary.module, []).extend(stars)
        for assignment in summary.assignments:
            self.assignments[assignment.qualified] = assignment
            self.assignment_module[assignment.qualified] = summary
        for cls in summary.classes:
            self.classes[cls.qualified] = cls
            self.class_module[cls.qualified] = summary
        for function in summary.functions:
            self.functions[function.qualified] = function

    @classmethod
    def after(cls, last: Optional["World"], summaries: Iterable[ModuleSummary]) -> "World":
        """World(summaries), taken from `last` (the world before an edit) when the summaries that
        changed (at most 16) bind the same names in the same order, each in a module of its own:
        the names stay where a fresh build puts them and take their new values. What `last`
        answered of names (resolve, is_flask_db) is taken when the changed summaries also read
        the same to answer (`_read_to_resolve`): the answers are the same (polar, a column added:
        3-4 ms of the models' build and of the flow's code base)."""
        summaries = [s for s in summaries if s is not None]
        if last is None or len(summaries) != len(last.summaries):
            return cls(summaries)
        changed = [(before, after) for before, after in zip(last.summaries, summaries) if before is not after]
        if len(changed) > 16:
            return cls(summaries)
        for before, after in changed:
            if (before.path, before.module) != (after.path, after.module) or _names_bound(before) != _names_bound(after) \
                    or sum(summary.module == after.module for summary in summaries) > 1:
                return cls(summaries)
        world = cls(())  # the answers it remembers start empty, as a fresh world's
        world.summaries = summaries
        world.aliases, world.stars = dict(last.aliases), dict(last.stars)
        world.classes, world.class_module = dict(last.classes), dict(last.class_module)
        world.assignments, world.assignment_module = dict(last.assignments), dict(last.assignment_module)
        world.functions = dict(last.functions)
        if all(_read_to_resolve(before) == _read_to_resolve(after) for before, after in changed):
            world._resolved, world._flask_db = dict(last._resolved), dict(last._flask_db)
            world.changed_since_last = frozenset(after.module for _before, after in changed)
        for _before, summary in changed:
            if summary.module in world.stars:
                world.stars[summary.module] = []  # its own list, where the last one's was
            world._add(summary)
        return world

    def resolve(self, name: Optional[str]) -> Optional[str]:
        """Follow re-exports, aliases and `db.X` (Flask-SQLAlchemy proxies sqlalchemy) to a
        canonical name: a workspace class or assignment, `sqlalchemy.X`, or `<db>.Model`.

        The world does not change once built, so answers are remembered."""
        if name is None:
            return None
        if name not in self._resolved:
            self._resolved[name] = name  # a name met again while it is being resolved is a cycle: stop there
            self._resolved[name] = self._resolve(name)
        return self._resolved[name]

    def _resolve(self, name: str) -> str:
        for _ in range(40):
            if name in self.classes or name in self.functions:
                return name
            parts = name.split(".")
            replaced = None
            for cut in range(len(parts), 0, -1):
                prefix, rest = ".".join(parts[:cut]), parts[cut:]
                if prefix in self.classes or prefix in self.functions:
                    return name
                assignment = self.assignments.get(prefix)
                if assignment is not None:
                    if self.is_flask_db(prefix):
                        if not rest:
                            return name
                        return f"{prefix}.Model" if rest == ["Model"] else "sqlalchemy." + ".".join(rest)
                    if assignment.value.kind == "name" and assignment.value.name not in (prefix, None):
                        replaced = ".".join([assignment.value.name, *rest])
                        break
                    return name
                if prefix in self.aliases:
                    replaced = ".".join([self.aliases[prefix], *rest])
                    break
                module, _, last = prefix.rpartition(".")
                for star in self.stars.get(module, ()):
                    candidate = f"{star}.{last}"
                    if candidate in self.classes or candidate in self.assignments or candidate in self.aliases \
                            or candidate in self.functions:
                        replaced = ".".join([candidate, *rest])
                        break
                if replaced:
                    break
            if replaced is None or replaced == name:
                return name
            name = replaced
        return name

    def is_flask_db(self, qualified: str) -> bool:
        if qualified not in self._flask_db:
            self._flask_db[qualified] = False  # cycles (`db = make(db)`) end here
            self._flask_db[qualified] = self._is_flask_db(qualified)
        return self._flask_db[qualified]

    def _is_flask_db(self, qualified: str) -> bool:
        assignment = self.assignments.get(qualified)
        if assignment is None or assignment.value.kind != "call":
            return False
        callee = self.resolve(assignment.value.name) if assignment.value.name else None
        return bool(callee) and self._is_flask_sqlalchemy_class(callee, depth=0)

    def _is_flask_sqlalchemy_class(self, qualified: str, depth: int) -> bool:
        """`flask_sqlalchemy.SQLAlchemy`, or a workspace subclass of it (`class RedashSQLAlchemy(SQLAlchemy)`)."""
        if qualified.split(".")[0] == "flask_sqlalchemy" and qualified.endswith("SQLAlchemy"):
            return True
        cls = self.classes.get(qualified)
        if cls is None or depth > 10:
            return False
        return any(self._is_flask_sqlalchemy_class(resolved, depth + 1)
                   for base in cls.bases if base.kind == "name" and (resolved := self.resolve(base.name)))

    def member(self, expr: Optional[Expr]) -> Optional[str]:
        """The SQLAlchemy API a name or call expression stands for, or None."""
        if expr is None:
            return None
        if expr.kind == "call":
            if expr.name is None:
                return None
            return sa_member(self.resolve(expr.name))
        if expr.kind == "name":
            return sa_member(self.resolve(expr.name))
        return None

    def value_of(self, expr: Optional[Expr], depth: int = 0) -> Optional[Expr]:
        """A name replaced by the module constant it refers to (followed through re-exports), and
        an entry of a module's dict literal, or of one a loop goes through, read by a written key
        (`LENGTHS["name"]`, `LENGTHS.get("name")`, `item["name"]`) replaced by the entry's value."""
        while expr is not None and depth < 20:
            if expr.kind == "name":
                resolved = self.resolve(expr.name)
                assignment = self.assignments.get(resolved) if resolved else None
                if assignment is None:
                    return expr
                expr, depth = assignment.value, depth + 1
                continue
            entry = self._dict_entry(expr, depth)
            if entry is None:
                return expr
            expr, depth = entry, depth + 1
        return expr

    def _dict_entry(self, expr: Expr, depth: int) -> Optional[Expr]:
        if expr.kind == "subscript" and len(expr.args) == 1 and expr.func is not None:
            mapping, key = expr.func, expr.args[0]
        elif expr.kind == "call" and expr.name and expr.name.endswith(".get") and len(expr.args) == 1 \
                and not expr.kwargs and not expr.args[0].starred:
            mapping, key = Expr("name", expr.source, expr.location, name=expr.name[:-len(".get")]), expr.args[0]
        else:
            return None
        if mapping.kind not in ("name", "dict"):  # a dict literal: a loop's item (jupyterhub: `item['name']`)
            return None
        mapping, key = self.value_of(mapping, depth + 1), self.value_of(key, depth + 1)
        if mapping is None or mapping.kind != "dict" or key is None or key.kind != "const":
            return None
        return next((value for written, value in mapping.items
                     if written.kind == "const" and written.value == key.value), None)

    def const(self, expr: Optional[Expr]):
        expr = self.value_of(expr)
        return expr.value if expr is not None and expr.kind == "const" else None

    def path_of(self, qualified: str) -> str:
        summary = self.class_module.get(qualified) or self.assignment_module.get(qualified)
        return summary.path if summary else ""


class ReadClosure:
    """The modules whose names some modules' names read, transitively, found as their summaries
    come (the first pass of a cold index parses only these: WorkspaceIndex._parse_for_the_schema).
    Only the names reached are followed: `import app.services` in a models module whose classes
    read none of its names brings no module in. The modules' import closure would bring in most
    of an application (polar's first pass: 1,078 files; 276 with this). A name is followed into
    every module it may be in, imported or not: `settings.dynamic_settings.keys` reads the module
    `app.settings.dynamic_settings`, which redash's settings load with importlib."""

    def __init__(self, modules: Iterable[str]) -> None:
        self._modules = frozenset(module for module in modules if module)  # the workspace's modules
        self._wanted: dict[str, set[str]] = {}  # module -> its names wanted ("*": what its star imports bring)
        self._whole: set[str] = set()  # modules every name of which is wanted (a star import's: its imports too)
        self._reads: dict[str, dict[str, set[str]]] = {}  # module taken -> its name -> the names it reads
        self._done: set[tuple[str, str]] = set()  # (module, name) pairs followed

    def take(self, summary: ModuleSummary, read: bool = False) -> None:
        """A module's summary, with the names wanted of it so far and later. `read`: a module the
        look reads itself (a model module): what its classes, functions, assignments and
        module-level calls read is followed, and its imports as far as those read them (polar's
        first pass: 439 files with all their imports followed, 276 without)."""
        module = summary.module
        self._reads[module] = _names_read(summary)
        pending = [module]
        if read:
            self._wanted.setdefault(module, set()).update({*_defined(summary), "*"})
            for call in summary.calls:
                pending += (more for expr in walk(call) if expr.name for more in self._wanting(expr.name))
        self._follow(pending)

    def wanted(self) -> list[str]:
        """The modules wanted, not taken yet."""
        return sorted(module for module in (*self._wanted, *self._whole) if module not in self._reads)

    def _wanting(self, name: str) -> list[str]:
        """Want the names of workspace modules that `name` may be (its first component under each
        module it starts with, and what that module's star imports bring); returns the modules
        that were wanted more."""
        more = []
        for cut in _dots(name):
            owner = name[:cut]
            if owner in self._modules:
                wanted = self._wanted.setdefault(owner, set())
                first = name[cut + 1:].split(".", 1)[0]
                if first not in wanted or "*" not in wanted:
                    wanted.update((first, "*"))
                    more.append(owner)
        return more

    def _follow(self, pending: list[str]) -> None:
        """Follow what the wanted names of the `pending` modules read, of those taken."""
        while pending:
            module = pending.pop()
            reads = self._reads.get(module)
            if reads is None:
                continue
            for local in list(reads if module in self._whole else self._wanted.get(module, ())):
                if (module, local) in self._done:
                    continue
                self._done.add((module, local))
                for name in reads.get(local, ()):
                    if local != "*":
                        pending += self._wanting(name)
                    elif name in self._modules and name not in self._whole:  # a star import's module
                        self._whole.add(name)
                        pending.append(name)


class NameReaders:
    """Which names each module's own names read, kept across builds of the world: an import
    reads its target; a class, function or assignment reads the names in its expressions
    (qualified through the file's imports and module-level names, `module_summary.py`). A build
    changes only the entries of the files whose summaries changed (`take`). It answers which
    names may mean something else after a change (`changing`); it is built when first needed
    (`index_all`)."""

    def __init__(self) -> None:
        self.summaries: dict[str, ModuleSummary] = {}  # by path
        self._reads: dict[str, dict[str, set[str]]] = {}  # path -> its own name -> the names it reads, as indexed
        self._exact: dict[str, dict[str, set[str]]] = {}  # dotted name -> path -> its names that read exactly it
        # module -> first component of a name under it -> path -> its names that read that name or one under it
        self._below: dict[str, dict[str, dict[str, set[str]]]] = {}
        self._modules: dict[str, list[str]] = {}  # module -> its paths
        self._owners: dict[str, list[tuple[str, str]]] = {}  # a name read -> the (module, name) pairs it may be
        self._indexed = False
        self.redefined: dict[str, set[str]] = {}  # path -> the names its new version redefined, of the last take
        self._defined: dict[str, tuple[ModuleSummary, set[str]]] = {}  # path -> (its summary, the names it defines), as asked

    def take(self, summaries: Iterable[ModuleSummary]) -> tuple[list[ModuleSummary], set[str]]:
        """These summaries in place of the last ones. Returns the summaries that changed (their
        versions before and after) and the modules that came or went."""
        current = {summary.path: summary for summary in summaries}
        changed = [summary for path, summary in self.summaries.items() if current.get(path) is not summary]
        changed += [summary for path, summary in current.items() if self.summaries.get(path) is not summary]
        self.redefined = {summary.path: _redefined(summary, current[summary.path]) for summary in changed
                          if summary.path in current and current[summary.path] is not summary}
        for summary in changed:
            self._defined.pop(summary.path, None)
        if self._indexed:
            for summary in changed:  # the versions before first: they leave the entries of their paths
                present = current.get(summary.path) is summary
                if summary.path in self.redefined:
                    if present:
                        self._index_again(summary, self.redefined[summary.path])
                else:
                    self._index(summary, present)
        before = set(self._modules)
        if changed:
            self._modules = {}
            for path, summary in current.items():
                self._modules.setdefault(summary.module, []).append(path)
        appeared = before ^ set(self._modules)
        if appeared:
            self._owners.clear()
        self.summaries = current
        return changed, appeared

    def index_all(self) -> None:
        """Index what the names of every summary read, unless done: when first asked (a one-shot
        audit never asks), or before the first edit (a 1,700-file workspace takes 0.2 s)."""
        if not self._indexed:
            self._indexed = True
            for summary in self.summaries.values():
                self._index(summary, True)

    def _index(self, summary: ModuleSummary, present: bool) -> None:
        """Add what the names of `summary` read to the index, or take its path's entries out."""
        path = summary.path
        reads = _names_read(summary) if present else self._reads.pop(path, {})
        if present:
            self._reads[path] = reads
        for local, names in reads.items():
            for name in names:
                for by_path in self._entries(name):
                    if present:
                        by_path.setdefault(path, set()).add(local)
                    else:
                        by_path.pop(path, None)

    def _index_again(self, summary: ModuleSummary, redefined: set[str]) -> None:
        """Index what the `redefined` names of a new version of a module read, in place of what
        those of the version before read (the other names read the same: their definitions are
        the same objects)."""
        path = summary.path
        reads = self._reads.get(path, {})
        now = _names_read(summary, redefined)
        for local in redefined:
            for name in reads.get(local, ()):
                for by_path in self._entries(name):
                    locals_ = by_path.get(path)
                    if locals_ is not None:
                        locals_.discard(local)
                        if not locals_:
                            del by_path[path]
            for name in now.get(local, ()):
                for by_path in self._entries(name):
                    by_path.setdefault(path, set()).add(local)
        self._reads[path] = {**{local: names for local, names in reads.items() if local not in redefined}, **now}

    def _entries(self, name: str) -> list[dict[str, set[str]]]:
        """Where the index keeps the readers of `name`: of it exactly, and of each module above it."""
        entries = [self._exact.setdefault(name, {})]
        entries += [self._below.setdefault(name[:cut], {}).setdefault(name[cut + 1:].split(".", 1)[0], {})
                    for cut in _dots(name)]
        return entries

    def changing(self, changed: Iterable[ModuleSummary], appeared: Iterable[str],
                 wanted: Iterable[tuple[str, str]]) -> Optional[Changing]:
        """The names that may mean something else once the `changed` summaries (the modules'
        versions before and after a change) are in the world: every name those modules bind,
        and every name that reads one of them, transitively, as far as `wanted` names ((module,
        name) pairs) read them: a change followed through the application's services, which no
        model reads, would only cost time. `appeared`: modules that came or went, whose mere
        presence can change what a name under them means.

        None when the change reaches further than one visit per file would follow."""
        self.index_all()
        read_by: Optional[tuple[set[tuple[str, str]], set[str]]] = None  # what `wanted` read, once needed
        found = Changing({}, set(appeared))
        for summary in changed:
            names = self.redefined.get(summary.path)
            found.names.setdefault(summary.module, set()).update(_bound(summary) if names is None else names)
            if any(imported.local == "*" for imported in summary.imports):
                found.starred.add(summary.module)
        pending: list[tuple[str, Optional[set[str]]]] = [(module, None) for module in found.starred]  # None: every name
        pending += [(module, set(names)) for module, names in found.names.items() if module not in found.starred]
        visits = len(self.summaries)
        alias_read_by_none = functools.lru_cache(maxsize=None)(self._alias_read_by_none)  # a file is hit again and again
        while pending:
            module, names = pending.pop()
            hits: dict[str, set[str]] = {}
            for by_path in self._readers(module, names):
                for path, locals_ in by_path.items():
                    hits.setdefault(path, set()).update(locals_)
            hits = {path: carrying for path, locals_ in hits.items()
                    if (carrying := {local for local in locals_ if not alias_read_by_none(path, local)})}
            visits -= len(hits)
            if visits < 0:
                return None
            for path, locals_ in hits.items():
                reader = self.summaries[path].module
                if reader in found.starred:
                    continue
                known = found.names.get(reader, set())
                more = locals_ - known
                if not more:
                    continue
                read_by = read_by or self._read_by(wanted)
                read, read_whole = read_by
                if not any(reader == whole or reader.startswith(whole + ".") for whole in read_whole):
                    more = {local for local in more if (reader, local) in read}
                if "*" in more:  # a star import of a changing name: any name of the reader may change
                    found.starred.add(reader)
                    pending.append((reader, None))
                elif more:
                    found.names[reader] = known | more
                    pending.append((reader, more))
        return found

    def _alias_read_by_none(self, path: str, local: str) -> bool:
        """Whether `local`, of the module at `path`, only names what the module imports, and no
        name is read through it (`module.local.X`, by another module, or by a star import of the
        module). What the module's own code reads through it is qualified through the import and
        read by its own names; another module that reads through it reads `module.local.X`. Such a
        name does not change what anything reads, and its readers need not be followed: prefect's
        models module is imported, as a module, by 175 files that read nothing through that name,
        and the package that holds its schemas by 250; following them exhausted the visits, and
        every edit of a model mapped all 37 classes again."""
        summary = self.summaries[path]
        module = summary.module
        if not module or local == "*":
            return False
        if any(self._below.get(module, {}).get(local, {}).values()) \
                or any("*" in locals_ for locals_ in self._exact.get(module, {}).values()):
            return False
        targets = {imported.target for imported in summary.imports if imported.local == local}
        # a class of the same name reads what the import names (`class Order(Order)`): it may map anew
        return bool(targets) and self._reads.get(path, {}).get(local, set()) <= targets and local not in self._defined_by(summary)

    def _defined_by(self, summary: ModuleSummary) -> set[str]:
        """The names `summary` defines, kept while its file's summary is the same object."""
        kept = self._defined.get(summary.path)
        if kept is None or kept[0] is not summary:
            kept = self._defined[summary.path] = (summary, _defined(summary))
        return kept[1]

    def _read_by(self, wanted: Iterable[tuple[str, str]]) -> tuple[set[tuple[str, str]], set[str]]:
        """The (module, name) pairs `wanted` read, transitively, them included; and the modules
        they read whole (`import app`, then `app.models.X`: any name under them)."""
        modules = self._modules
        read: set[tuple[str, str]] = set()
        whole: set[str] = set()
        pending = list(wanted)
        while pending:
            pair = pending.pop()
            if pair in read:
                continue
            read.add(pair)
            module, local = pair
            for path in modules.get(module, ()):
                for name in self._reads.get(path, {}).get(local, ()):
                    if name in modules:
                        whole.add(name)
                    if name not in self._owners:
                        owners = [(name[:cut], name[cut + 1:].split(".", 1)[0]) for cut in _dots(name)]
                        # "": a script's names; "*": what the module's star imports bring
                        self._owners[name] = [pair for owner, first in (*owners, ("", name.split(".", 1)[0]))
                                              if owner in modules for pair in ((owner, first), (owner, "*"))]
                    pending += self._owners[name]
        return read, whole

    def _readers(self, module: str, names: Optional[set[str]]) -> Iterator[dict[str, set[str]]]:
        """The names that read `names` of `module` (every name: None), by path, and those that
        read the module itself or a package above it (`import app`, then `app.models.X`)."""
        if not module:  # a script's names are read by their own names
            for name in (names if names is not None else [n for n in self._exact if "." not in n]):
                yield self._exact.get(name, {})
                yield from self._below.get(name, {}).values()
            return
        below = self._below.get(module, {})
        for name in (below if names is None else names):
            yield below.get(name, {})
        for name in (module, *(module[:cut] for cut in _dots(module))):
            yield self._exact.get(name, {})


@dataclass
class Changing:
    """Names that may mean something else after a change: by module, the first components of
    its names (`names`), and the modules any name under which may (`starred`)."""

    names: dict[str, set[str]]
    starred: set[str]

    def __contains__(self, qualified: str) -> bool:
        module, _, name = qualified.rpartition(".")
        while True:
            if module in self.starred or name in self.names.get(module, ()):
                return True
            if not module:
                return False
            module, _, parent = module.rpartition(".")
            name = parent


def _names_read(summary: ModuleSummary, only: Optional[set[str]] = None) -> dict[str, set[str]]:
    """Each name the module binds (its first component; of `only`, if given) -> the qualified
    names it reads."""
    reads: dict[str, set[str]] = {}
    for imported in summary.imports:
        if only is None or imported.local in only:
            reads.setdefault(imported.local, set()).add(imported.target)
    definitions = [(a.qualified, (a.value,)) for a in summary.assignments]
    definitions += [(f.qualified, _function_exprs(f)) for f in summary.functions]
    definitions += [(c.qualified, _class_exprs(c)) for c in summary.classes]
    for qualified, exprs in definitions:
        local = _local(summary, qualified)
        if only is not None and local not in only:
            continue
        names = reads.setdefault(local, set())
        for expr in exprs:
            if expr is not None:
                names.update(e.name for e in walk(expr) if e.name)
    return reads


def _function_exprs(function: FunctionSummary) -> list[Optional[Expr]]:
    return [*(value for _name, value in function.defaults), *(step.value for step in function.steps)]


def _class_exprs(cls: ClassSummary) -> list[Optional[Expr]]:
    found: list[Optional[Expr]] = [*cls.bases, *cls.decorators]
    for attribute in cls.attributes:
        if _is_relationship_call(attribute.value):
            found += _read_in_mapping(attribute.value)
        else:
            found += [attribute.value, attribute.annotation]
        found += attribute.built_tablenames
        if attribute.function is not None:
            found += _function_exprs(attribute.function)
    for method in cls.methods:
        found += _function_exprs(method)
    return found


def _is_relationship_call(value: Optional[Expr]) -> bool:
    return value is not None and value.kind == "call" and (value.name or "").rpartition(".")[2] == "relationship"


def _read_in_mapping(call: Expr) -> list[Expr]:
    """What mapping its class reads of a `relationship()`: its callee (is it SQLAlchemy's?) and
    the calls among its arguments (a helper's call is expanded to see whether it builds a
    column). Its target, its other arguments and its annotation are read when relationships are
    recorded, anew in every build: a class that only points at another does not map again when
    that one changes (in a model layer every class is reached that way)."""
    return [Expr("name", call.name, call.location, name=call.name),
            *(argument for argument in (*call.args, *(value for _key, value in call.kwargs)) if argument.kind == "call")]


def _dots(name: str) -> Iterator[int]:
    """The positions of the dots of a dotted name, from the last."""
    cut = name.rfind(".")
    while cut > 0:
        yield cut
        cut = name.rfind(".", 0, cut)


def _redefined(before: ModuleSummary, after: ModuleSummary) -> set[str]:
    """The names whose definitions differ between two versions of a module's summary (an edit's):
    a definition kept from the version before is the same object (module_summary.EarlierStatements),
    so an edit of one class changes that class's name. Every name the module binds when what the
    module says besides its definitions differs (its imports, its module-level calls, which
    every build reads again, and what it says as a whole)."""
    if (before.module, before.imports, before.runs_migrations, before.imports_other_orm, before.migration_helpers) \
            != (after.module, after.imports, after.runs_migrations, after.imports_other_orm, after.migration_helpers) \
            or len(before.calls) != len(after.calls) or any(a is not b for a, b in zip(before.calls, after.calls)):
        return _bound(before) | _bound(after)
    definitions_before, definitions_after = _definitions(before), _definitions(after)
    return {name for name in definitions_before.keys() | definitions_after.keys()
            if definitions_before.get(name) != definitions_after.get(name)}


def _definitions(summary: ModuleSummary) -> dict[str, list[int]]:
    """The name each definition of a module binds -> the identities of its definitions, in order."""
    found: dict[str, list[int]] = {}
    for definition in (*summary.assignments, *summary.classes, *summary.functions):
        found.setdefault(_local(summary, definition.qualified), []).append(id(definition))
    return found


def _bound(summary: ModuleSummary) -> set[str]:
    """The first components of the names a module binds: imports and definitions."""
    return {imported.local for imported in summary.imports} | _defined(summary)


def _defined(summary: ModuleSummary) -> set[str]:
    return {_local(summary, qualified) for qualified in (
        *(a.qualified for a in summary.assignments), *(c.qualified for c in summary.classes),
        *(f.qualified for f in summary.functions))}


def _local(summary: ModuleSummary, qualified: str) -> str:
    """The name a module binds for one of its definitions: "Order" for "app.models.Order.status"."""
    return qualified[len(summary.module) + 1 if summary.module else 0:].split(".", 1)[0]
