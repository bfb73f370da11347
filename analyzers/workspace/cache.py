"""A parse cache on disk, so that opening an unchanged workspace again skips the parsing.

Entries are keyed by (path, kind, content digest) and stored per workspace root and SchemaLens
version in the user's cache folder (`$SCHEMALENS_CACHE_DIR`, else `$XDG_CACHE_HOME/schemalens`,
else `~/.cache/schemalens`). A cache that cannot be read or written is ignored with a log line:
it only ever saves time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Iterable, Optional

log = logging.getLogger(__name__)



def default_cache_dir() -> Path:
    if os.environ.get("SCHEMALENS_CACHE_DIR"):
        return Path(os.environ["SCHEMALENS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "schemalens"


def _code_fingerprint() -> str:
    """A digest of the analyzers' own source: a cache written by other code is never read."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted(package.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


class ParseCache:
    def __init__(self, directory: Path, root: Path) -> None:
        digest = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
        self.path = directory / f"{root.name or 'root'}-{digest}-{_code_fingerprint()}.pickle"

    def load(self) -> dict:
        """{(path, kind, digest): ParsedFile}, or {} when there is no usable cache."""
        try:
            with open(self.path, "rb") as handle:
                entries = pickle.load(handle)
            return entries if isinstance(entries, dict) else {}
        except FileNotFoundError:
            return {}
        except Exception as error:  # a cache from another build, or a truncated file
            log.info("ignoring parse cache %s: %s", self.path, error)
            return {}

    def save(self, parsed_files: Iterable) -> None:
        entries = {(f.path, f.kind, f.digest): f for f in parsed_files}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a half-written cache behind.
            with tempfile.NamedTemporaryFile("wb", dir=self.path.parent, delete=False) as handle:
                pickle.dump(entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(handle.name, self.path)
        except Exception as error:
            log.info("could not write parse cache %s: %s", self.path, error)


def open_cache(root: Path, directory: Optional[Path]) -> Optional[ParseCache]:
    return ParseCache(directory, root) if directory is not None else None
