"""Dotted module names of workspace files, as Python would import them.

A project's package root is often below the workspace root: `server/polar/models/user.py` is
imported as `polar.models.user` because `server/` holds the project's pyproject.toml and
`server/polar/` is a package. The rule, the one mypy and pyright use, crawls up from the file
through folders that have an `__init__.py`; the folder where that stops is the import root,
unless a project root lies above it (a folder with pyproject.toml, setup.py or setup.cfg, its
`src/`, and the workspace root), which covers namespace packages without `__init__.py`.
"""

from __future__ import annotations

from typing import Iterable

from .discovery import folder_of

_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class PackageRoots:
    """Built from the workspace's file paths (relative, forward slashes). Paths are taken apart
    as strings: every file of the workspace passes here on each index (pathlib's objects cost a
    tenth of a warm index of 1,800 files)."""

    def __init__(self, paths: Iterable[str]) -> None:
        split = [_split(p) for p in paths]
        self._packages = {folder for folder, name in split if name == "__init__.py"}
        folders = {folder for folder, _name in split}
        # A `setup.py` inside a package is a module of it, not a project file.
        # A pyproject.toml is never a module: its folder is a project root even with an
        # `__init__.py` (codecarbon's carbonserver/, whose package carbonserver/carbonserver/ is
        # imported as `carbonserver`, from there).
        self._pyprojects = {folder for folder, name in split if name == "pyproject.toml"}
        projects = {"."} | self._pyprojects | {folder for folder, name in split
                                               if name in _PROJECT_FILES and folder not in self._packages}
        sources = {"src" if project == "." else f"{project}/src" for project in projects}
        self._project_roots = projects | {source for source in sources if any(_within(folder, source) for folder in folders)}
        self._import_roots: dict[str, str] = {}  # folder -> its import root: a folder holds many files

    def import_root(self, path: str) -> str:
        """The folder `path` is imported from ("." for the workspace root)."""
        folder = _split(path)[0]
        root = self._import_roots.get(folder)
        if root is None:
            root = self._import_roots[folder] = self._import_root_of(folder)
        return root

    def _import_root_of(self, folder: str) -> str:
        while folder in self._packages and folder not in self._pyprojects and folder != ".":
            folder = _split(folder)[0]
        above = [root for root in self._project_roots if _within(folder, root)]
        if folder in self._packages and folder not in self._pyprojects or not above:
            return folder
        return max(above, key=lambda root: 0 if root == "." else root.count("/") + 1)

    def folder_of(self, package: str) -> "str | None":
        """The folder of a dotted package name (`dispatch` -> `src/dispatch`), or None."""
        for folder in sorted(self._packages, key=len):
            if self.module_name(f"{folder}/__init__.py") == package:
                return folder
        return None

    def module_name(self, path: str) -> str:
        root = self.import_root(path)
        folder, name = _split(path)
        dot = name.rfind(".")
        relative = path[: len(path) - len(name) + dot] if dot > 0 else path  # without its suffix
        if root != ".":
            relative = relative[len(root) + 1:]
        parts = relative.split("/")
        if parts and parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)


def _split(path: str) -> tuple[str, str]:
    """(the folder, "." for the workspace root; the file name) of a relative path."""
    return folder_of(path), path.rpartition("/")[2]


def _within(folder: str, root: str) -> bool:
    return root == "." or folder == root or folder.startswith(root + "/")
