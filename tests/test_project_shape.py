"""The project's shape: layering, and README's commands being the ones CI runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_FORBIDDEN_IN_ANALYZERS = ("pygls", "lsprotocol", "schemalens.server")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(("." * node.level) + node.module)
    return names


def test_analyzers_know_nothing_of_the_language_server():
    offenders = []
    for path in (ROOT / "analyzers").rglob("*.py"):
        for name in _imports(path):
            if name.startswith(_FORBIDDEN_IN_ANALYZERS) or name.lstrip(".").startswith("server"):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text)


def test_readme_starts_with_the_example_command_and_the_test_command():
    example, tests = _readme_commands()[:2]
    assert "schemalens audit examples/shop" in example
    assert "pytest" in tests


def test_ci_runs_the_test_command_written_in_readme():
    tests = _readme_commands()[1]
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_toml_is_read_through_toml_reader_only():
    """Python 3.10, which README says SchemaLens runs on, has no `tomllib`: a module importing it
    itself made every command fail there."""
    reader = ROOT / "analyzers" / "workspace" / "toml_reader.py"
    offenders = [str(path.relative_to(ROOT)) for top in ("analyzers", "cli", "server", "tests", "bench")
                 for path in (ROOT / top).rglob("*.py") if path != reader and {"tomllib", "tomli"} & _imports(path)]
    assert offenders == []


def test_every_package_folder_is_listed_in_pyproject():
    from schemalens.analyzers.workspace.toml_reader import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top, prefix in (("cli", "schemalens"), ("analyzers", "schemalens.analyzers"), ("server", "schemalens.server")):
        for init in (ROOT / top).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((prefix, *relative)))
    assert found == listed
