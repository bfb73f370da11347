"""The real projects of `../shared/corpus/` (see its README), unpacked once into a cache folder.

They are test inputs, never edited: each tarball is unpacked into `.corpus-cache/<name>-<digest>/`
at the repository root (gitignored), keyed by the tarball's digest so that a new pin unpacks
again. Tests and benchmarks share this module.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Callable, Optional

REPOSITORY = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SCHEMALENS_CORPUS", REPOSITORY.parent / "shared" / "corpus"))
CACHE = Path(os.environ.get("SCHEMALENS_CORPUS_CACHE", REPOSITORY / ".corpus-cache"))
PROJECTS = ("CTFd", "redash", "dispatch", "polar")


def available() -> bool:
    return all((CORPUS / f"{name}.tar.gz").is_file() for name in PROJECTS)


def unpacked(name: str) -> Optional[Path]:
    """The unpacked project, the folder its users open as the workspace (polar's holds `server/`,
    the package root below it), or None when the corpus is not there."""
    tarball = CORPUS / f"{name}.tar.gz"
    if not tarball.is_file():
        return None
    digest = hashlib.blake2b(tarball.read_bytes(), digest_size=8).hexdigest()
    target = CACHE / f"{name}-{digest}"
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=f".{name}-"))
    try:
        with tarfile.open(tarball) as archive:
            archive.extractall(staging, filter="data")
        os.replace(staging, target)  # another process may have unpacked it meanwhile: theirs is as good
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def sampled_python_files(projects: tuple[str, ...] = ("CTFd", "redash", "dispatch"), per_project: int = 15,
                         keep: Callable[[str], bool] = lambda text: True) -> list[tuple[str, str]]:
    """(project, path) of up to `per_project` Python files of each project whose text `keep`
    accepts, the same on every run; none without the corpus."""
    if not available():
        return []
    found = []
    for project in projects:
        root = unpacked(project)
        files = sorted(path for path in root.rglob("*.py") if keep(path.read_text(encoding="utf-8", errors="replace")))
        found += [(project, str(path.relative_to(root)))
                  for path in random.Random(project).sample(files, min(per_project, len(files)))]
    return found
