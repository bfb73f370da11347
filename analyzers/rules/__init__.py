"""Audit rules, one module each, in one package per dimension of the spec.

`all_rules()` finds them by walking the packages, so adding a rule is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from .base import Rule

_DIMENSION_PACKAGES = ("modeling", "columns", "integrity", "indexes", "migrations", "concurrency",
                       "governance", "compatibility")


@lru_cache(maxsize=1)
def all_rules() -> tuple[type[Rule], ...]:
    """Every rule class, sorted by code."""
    found: dict[str, type[Rule]] = {}
    for package_name in _DIMENSION_PACKAGES:
        package = importlib.import_module(f"{__name__}.{package_name}")
        for module_info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{module_info.name}")
            for value in vars(module).values():
                if isinstance(value, type) and issubclass(value, Rule) and value is not Rule \
                        and value.__module__ == module.__name__ and hasattr(value, "code"):  # a shared base has no code
                    if value.code in found:
                        raise RuntimeError(f"rule code {value.code} is used twice")
                    found[value.code] = value
    return tuple(found[code] for code in sorted(found))


def rule_by_code(code: str) -> type[Rule] | None:
    for rule in all_rules():
        if rule.code == code.upper() or rule.name == code:
            return rule
    return None
