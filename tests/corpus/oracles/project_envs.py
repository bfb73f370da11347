"""The corpus projects' own environments, for the oracle builders (run by a developer, never by
CI): one venv per project outside the repository, with the project's pinned requirements, and a
scratch copy of the unpacked project for each run (a project may write files when it starts).

Every substitution made to a project's requirements is here, in `REQUIREMENTS`, and listed in
README.md beside this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[2]
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402
from schemalens.analyzers.workspace.toml_reader import tomllib  # noqa: E402

VENVS = Path(os.environ.get("SCHEMALENS_ORACLE_VENVS", Path(tempfile.gettempdir()) / "oracle-venvs"))


def _python(version: str) -> str:
    """An interpreter of `version` (e.g. "3.13"): on PATH, else pyenv's."""
    found = shutil.which(f"python{version}")
    candidates = [found] if found else []
    candidates += sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in candidates:
        if candidate and subprocess.run([str(candidate), "-c", "0"], capture_output=True).returncode == 0:
            return str(candidate)
    raise SystemExit(f"no Python {version} found (PATH or ~/.pyenv/versions)")


def _uv() -> str:
    tools = VENVS / "_tools"
    uv = tools / "bin" / "uv"
    if not uv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
        subprocess.run([str(tools / "bin" / "pip"), "install", "-q", "uv"], check=True)
    return str(uv)


def _uv_export(project_dir: Path) -> str:
    """The lock file's pins for the project's runtime dependencies (no dev group)."""
    return subprocess.run([_uv(), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-header",
                           "-q"], cwd=project_dir, capture_output=True, text=True, check=True).stdout


@dataclass(frozen=True)
class Requirements:
    python: str  # the interpreter version the venv is made with
    lines: Callable[[Path], str]  # unpacked project -> requirements.txt text
    uv_options: tuple[str, ...] = ()
    # Packages whose release declares a newer Requires-Python than `python`: installed with
    # pip --no-deps --ignore-requires-python after the rest (their dependencies are in `lines`).
    ignore_requires_python: tuple[str, ...] = ()


def _ctfd(root: Path) -> str:
    # requirements.txt is CTFd's own `uv export` of uv.lock; PostgreSQL's driver is pinned in the
    # dev group (psycopg2-binary==2.9.6), which the export leaves out.
    return (root / "requirements.txt").read_text() + "psycopg2-binary==2.9.6\n"


def _redash(root: Path) -> str:
    return _uv_export(root)


def _dispatch(root: Path) -> str:
    # No lock file: pyproject's dependencies, resolved as of the pinned commit's date (uv
    # --exclude-newer below), so that unpinned ones get the releases of that day.
    project = tomllib.loads((root / "pyproject.toml").read_text())
    return "\n".join(project["project"]["dependencies"]) + "\n"


_POLAR_DRAMATIQ = re.compile(r"^dramatiq @ git\+\S+$", re.MULTILINE)


def _polar(root: Path) -> str:
    # uv.lock pins dramatiq to a git fork (frankie567/dramatiq, branch memory-leak-asyncio-ter,
    # version 2.0.0 in the lock): replaced by the registry release dramatiq==2.0.0.
    text = _uv_export(root / "server")
    text, count = _POLAR_DRAMATIQ.subn("dramatiq==2.0.0", text)
    if count != 1:
        raise SystemExit("polar: the dramatiq git pin was not found in the export; review the substitution")
    return "\n".join(line for line in text.splitlines() if not line.startswith("reauth==")) + "\n"


REQUIREMENTS = {
    "CTFd": Requirements("3.11", _ctfd),
    "redash": Requirements("3.13", _redash),
    "dispatch": Requirements("3.11", _dispatch, uv_options=("--exclude-newer", "2025-09-03")),
    # polar requires Python >= 3.14, which cannot be had here (only package registries are
    # reachable): 3.13 with the import shim of inside.py (PEP 758 except clauses, PEP 563 for
    # PEP 649), and reauth==0.2.2 (Requires-Python >= 3.14, pure Python) installed regardless.
    "polar": Requirements("3.13", _polar, ignore_requires_python=("reauth==0.2.2",)),
}


def project_root(name: str) -> Path:
    root = corpus_projects.unpacked(name)
    if root is None:
        raise SystemExit(f"corpus project {name} not found in {corpus_projects.CORPUS}")
    return root


def ensure_venv(name: str) -> Path:
    """The project's venv (made and filled on first use); returns its python."""
    spec = REQUIREMENTS[name]
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / ".oracle-complete"
    if marker.exists():
        return python
    VENVS.mkdir(parents=True, exist_ok=True)
    subprocess.run([_uv(), "venv", "-q", "--python", _python(spec.python), str(venv)], check=True)
    requirements = VENVS / f"{name}.requirements.txt"
    requirements.write_text(spec.lines(project_root(name)))
    subprocess.run([_uv(), "pip", "install", "-q", *spec.uv_options, "-r", str(requirements)], check=True,
                   env={**os.environ, "VIRTUAL_ENV": str(venv)})
    for package in spec.ignore_requires_python:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                        "--ignore-requires-python", package], check=True)
    marker.write_text("")
    return python


def scratch_copy(name: str) -> Path:
    """A fresh copy of the unpacked project in a temp dir (the caller removes it)."""
    target = Path(tempfile.mkdtemp(prefix=f"oracle-{name}-")) / name
    shutil.copytree(project_root(name), target)
    return target


def run_inside(name: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run inside.py in the project's venv."""
    return subprocess.run([str(ensure_venv(name)), str(HERE / "inside.py"), *args],
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})
