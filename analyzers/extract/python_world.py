"""Names across the workspace's modules: a qualified name followed through imports, re-exports,
aliases and star imports to the class, assignment or function that defines it, and the
SQLAlchemy API that a name stands for.
"""

from __future__ import annotations

import functools
from typing import Iterable, Optional

from .module_summary import Assignment, ClassSummary, FunctionSummary, ModuleSummary
from .python_names import Expr

# sqlalchemy sub-modules skipped when naming a member: `sqlalchemy.orm.mapped_column` -> "mapped_column".
_SA_MODULES = {"orm", "dialects", "postgresql", "types", "sql", "schema", "expression", "sqltypes", "ext",
               "declarative", "base", "json", "array", "ranges", "named_types", "decl_api", "functions",
               "elements", "mysql", "sqlite", "pg8000", "psycopg2", "psycopg", "asyncpg", "hstore", "types_",
               "testing"}  # sqlalchemy.testing.schema.mapped_column wraps the ORM's (privacyidea's models)


@functools.lru_cache(maxsize=4096)
def sa_member(name: Optional[str]) -> Optional[str]:
    """The SQLAlchemy API a qualified name stands for ("Column", "func.now", "declared_attr.directive")."""
    if not name:
        return None
    parts = name.split(".")
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
        for summary in self.summaries:
            for imported in summary.imports:
                if imported.local == "*":
                    self.stars.setdefault(summary.module, []).append(imported.target)
                else:
                    qualified = f"{summary.module}.{imported.local}" if summary.module else imported.local
                    if qualified != imported.target:
                        self.aliases[qualified] = imported.target
            for assignment in summary.assignments:
                self.assignments[assignment.qualified] = assignment
                self.assignment_module[assignment.qualified] = summary
            for cls in summary.classes:
                self.classes[cls.qualified] = cls
                self.class_module[cls.qualified] = summary
            for function in summary.functions:
                self.functions[function.qualified] = function

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
        an entry of a module's dict literal read by a written key (`LENGTHS["name"]`,
        `LENGTHS.get("name")`) replaced by the entry's value."""
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
        if mapping.kind != "name":
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


