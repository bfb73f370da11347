"""Dotted module names of workspace files, as Python would import them.

A project's package root is often below the workspace root: `server/polar/models/user.py` is
imported as `polar.models.user` because `server/` holds the project's pyproject.toml and
`server/polar/` is a package. The rule, the one mypy and pyright use, crawls up from the file
through folders that have an `__init__.py`; the folder where that stops is the import root,
unless a project root lies above it (a folder with pyproject.toml, setup.py or setup.cfg, its
`src/`, and the workspace root), which covers namespace packages without `__init__.py`.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Iterable

_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class PackageRoots:
    """Built from the workspace's file paths (relative, forward slashes)."""

    def __init__(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        self._packages = {str(PurePosixPath(p).parent) for p in paths if PurePosixPath(p).name == "__init__.py"}
        folders = {str(PurePosixPath(p).parent) for p in paths}
        # A `setup.py` inside a package is a module of it, not a project file.
        projects = {"."} | {str(PurePosixPath(p).parent) for p in paths
                            if PurePosixPath(p).name in _PROJECT_FILES and str(PurePosixPath(p).parent) not in self._packages}
        sources = {str(PurePosixPath(project) / "src") for project in projects}
        self._project_roots = projects | {source for source in sources if any(_within(folder, source) for folder in folders)}

    def import_root(self, path: str) -> str:
        """The folder `path` is imported from ("." for the workspace root)."""
        folder = PurePosixPath(path).parent
        while str(folder) in self._packages and str(folder) != ".":
            folder = folder.parent
        crawled = str(folder)
        above = [root for root in self._project_roots if _within(crawled, root)]
        if crawled in self._packages or not above:
            return crawled
        return max(above, key=lambda root: 0 if root == "." else root.count("/") + 1)

    def folder_of(self, package: str) -> "str | None":
        """The folder of a dotted package name (`dispatch` -> `src/dispatch`), or None."""
        for folder in sorted(self._packages, key=len):
            if self.module_name(f"{folder}/__init__.py") == package:
                return folder
        return None

    def module_name(self, path: str) -> str:
        root = self.import_root(path)
        relative = PurePosixPath(path).with_suffix("")
        if root != ".":
            relative = relative.relative_to(root)
        parts = list(relative.parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)


def _within(folder: str, root: str) -> bool:
    return root == "." or folder == root or folder.startswith(root + "/")
