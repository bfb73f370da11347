"""LazyPattern: compiled on first use, then the compiled pattern's own methods; the modules'
patterns are compiled when used, not as they are imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from schemalens.analyzers import lazy_pattern
from schemalens.analyzers.lazy_pattern import LazyPattern

PACKAGES = [Path(__file__).resolve().parent.parent / folder for folder in ("analyzers", "cli")]
# Loaded as a file by the project's own interpreter (verify's runner), outside the package
STANDALONE = ("tracer.py",)


def test_compiled_once_on_first_use(monkeypatch):
    compiled, compile_pattern = [], re.compile

    def counting(pattern, flags=0):
        compiled.append(pattern)
        return compile_pattern(pattern, flags)

    monkeypatch.setattr(lazy_pattern.re, "compile", counting)
    words = LazyPattern(r"(?P<word>\w+)", re.ASCII)
    assert compiled == []
    assert words.findall("a bé c") == ["a", "b", "c"]
    assert words.search("  x").group("word") == "x" and words.groupindex["word"] == 1 and words.groups == 1
    assert compiled == [r"(?P<word>\w+)"]
    # from then on, the compiled pattern's own methods, found without __getattr__
    assert vars(words)["search"].__self__ is re.compile(r"(?P<word>\w+)", re.ASCII)


def test_the_same_results_as_the_compiled_pattern():
    text = "Create Date: 2024-01-02 10:11\nCREATE TABLE orders (id int);\ncreate table Items ();"
    for pattern, flags in ((r"^create\s+table\s+(\w+)", re.IGNORECASE | re.MULTILINE), (r"\d+", 0), (r"(\s)", 0)):
        lazy, compiled = LazyPattern(pattern, flags), re.compile(pattern, flags)
        assert lazy.findall(text) == compiled.findall(text)
        assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in compiled.finditer(text)]
        assert lazy.sub("#", text) == compiled.sub("#", text) and lazy.subn("#", text) == compiled.subn("#", text)
        assert lazy.split(text) == compiled.split(text)
        assert bool(lazy.match(text)) == bool(compiled.match(text)) and lazy.fullmatch(text) == compiled.fullmatch(text)
        assert lazy.pattern == compiled.pattern and lazy.flags == compiled.flags


def _compiled_at_import(path: Path) -> list[int]:
    """Lines of `re.compile` calls run as the module is imported (outside functions)."""
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Call) and ast.unparse(child.func) == "re.compile":
                found.append(child.lineno)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


def test_no_module_compiles_a_pattern_as_it_is_imported():
    compiled = {str(path): lines for package in PACKAGES for path in sorted(package.rglob("*.py"))
                if path.name not in ("lazy_pattern.py", *STANDALONE) and (lines := _compiled_at_import(path))}
    assert compiled == {}
