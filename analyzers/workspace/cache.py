"""A parse cache on disk, so that opening an unchanged workspace again skips the parsing.

Entries are keyed by (path, kind, content digest) and stored per workspace root and SchemaLens
version in the user's cache folder (`$SCHEMALENS_CACHE_DIR`, else `$XDG_CACHE_HOME/schemalens`,
else `~/.cache/schemalens`). A cache that cannot be read or written is ignored with a log line:
it only ever saves time.
"""

from __future__ import annotations

import dataclasses
import io
import functools
import glob
import hashlib
import logging
import operator
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from ..lazy_pattern import LazyPattern

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    if os.environ.get("SCHEMALENS_CACHE_DIR"):
        return Path(os.environ["SCHEMALENS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "schemalens"


@functools.cache
def _code_fingerprint() -> str:
    """A digest of the analyzers' own source: a cache written by other code is never read. Made
    once per process (a server start names three caches): the code a process runs does not
    change while it runs."""
    package = Path(__file__).resolve().parent.parent
    return fingerprint_of(package, package / "__pycache__" / "code-fingerprint")


def fingerprint_of(package: Path, record: Path) -> str:
    """The digest of the `.py` files under `package`. It is kept in `record` (beside the
    package's bytecode, written as Python writes bytecode) with the files' stamps, and taken from
    there while no file has been written since: reading and hashing the 2.4 MB of source took
    7-10 ms of every command's start. A file written again changes its change time (st_ctime),
    which no tool sets back, whatever its size and modification time."""
    paths = sorted(package.rglob("*.py"))
    stamps = hashlib.blake2b(digest_size=16)
    for path in paths:
        status = path.stat()
        stamps.update(f"{path}\0{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}\n".encode())
    kept = read_pickle(record)
    if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == stamps.hexdigest():
        return kept[1]
    digest = hashlib.blake2b(digest_size=8)
    for path in paths:
        digest.update(path.read_bytes())
    if not sys.dont_write_bytecode:  # a read-only installation: made again at every start
        write_pickle(record, (stamps.hexdigest(), digest.hexdigest()))
    return digest.hexdigest()


def cache_file(directory: Path, root: Path, suffix: str) -> Path:
    """The file in `directory` of a cache for the workspace at `root`, written by this code."""
    digest = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
    return directory / f"{root.name or 'root'}-{digest}-{_code_fingerprint()}{suffix}"


def read_pickle(path: Path) -> Any:
    """What `write_pickle` stored at `path`, or None when there is none or it cannot be read."""
    return _read(path, None)


def read_keyed_pickle(path: Path, key: str) -> Any:
    """What `write_keyed_pickle` stored at `path` under `key`, or None when it stored another key
    (then nothing more of the file is read), or there is none, or it cannot be read."""
    return _read(path, key)


def _read(path: Path, key: Optional[str]) -> Any:
    try:
        with open(path, "rb") as handle:
            if key is not None and pickle.load(handle) != key:
                return None
            return pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception as error:  # a cache from another build, or a truncated file
        log.info("ignoring cache %s: %s", path, error)
        return None


def dumps(value: Any) -> bytes:
    """`value` pickled as `write_pickle` pickles it (`_Pickler`); `pickle.loads` reads it."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def write_pickle(path: Path, value: Any) -> bool:
    """Store `value` at `path`; False (and a log line) when it cannot be written."""
    return _write(path, (value,))


def write_keyed_pickle(path: Path, key: str, value: Any) -> bool:
    """Store `value` at `path` behind `key`, which `read_keyed_pickle` reads first."""
    return _write(path, (key, value))


def _write(path: Path, values: tuple) -> bool:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a half-written cache behind.
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as handle:
            for value in values:
                _Pickler(handle, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        os.replace(handle.name, path)
    except Exception as error:
        log.info("could not write cache %s: %s", path, error)
        return False
    _remove_other_versions(path)
    return True


_VERSIONED_NAME = LazyPattern(r"^(?P<workspace>.+)-(?P<fingerprint>[0-9a-f]{16})(?P<suffix>\..+)$")


def _remove_other_versions(path: Path) -> None:
    """Remove the caches of the same kind that other versions of SchemaLens wrote for this
    workspace (`cache_file` names carry the code's fingerprint): no version reads another's,
    and each upgrade would otherwise leave one more behind."""
    written = _VERSIONED_NAME.match(path.name)
    if written is None:
        return
    for sibling in path.parent.glob(f"{glob.escape(written['workspace'])}-*{glob.escape(written['suffix'])}"):
        other = _VERSIONED_NAME.match(sibling.name)
        if other is not None and sibling != path and other["workspace"] == written["workspace"] \
                and other["suffix"] == written["suffix"]:
            try:
                sibling.unlink()
            except OSError as error:
                log.info("could not remove an old cache %s: %s", sibling, error)


@dataclasses.dataclass(frozen=True)
class FirstPart:
    """The part of a parse cache an index reads at once (`ParseCache`)."""

    entries: dict  # (path, kind, digest) -> ParsedFile
    later: dict  # (path, kind, digest) -> (module, dialect) of each entry of the rest part
    token: str  # the rest part written with it holds the same
    model_marks: dict  # a Python text's digest -> whether it reads as a model module (discovery)
    sql_facts: dict  # a SQL text's digest -> its migration_sets.SqlFileFacts


class ParseCache:
    """Two files: the first part (`<name>.pickle`) holds what an index reads at once, the rest
    (`<name>.rest.pickle`) what it may read later (WorkspaceIndex decides which is which). Each
    names a token the other holds: a rest part written by another save is never read with it."""

    def __init__(self, directory: Path, root: Path) -> None:
        self.path = cache_file(directory, root, ".pickle")
        self.rest_path = cache_file(directory, root, ".rest.pickle")
        self.flow_answers_path = cache_file(directory, root, ".flow.pickle")  # flow_answers.py

    def load_first(self) -> Optional[FirstPart]:
        """None when there is no usable cache."""
        stored = read_pickle(self.path)
        if not (isinstance(stored, tuple) and len(stored) == 5):
            return None
        token, entries, later, model_marks, sql_facts = stored
        return FirstPart(entries, later, token, model_marks, sql_facts)

    def load_rest(self, token: str) -> Optional[tuple[dict, Any]]:
        """(the entries of the rest part, what else the index stored beside them), or None when
        there is none written with the first part of `token`."""
        stored = read_pickle(self.rest_path)
        if not (isinstance(stored, tuple) and len(stored) == 3 and stored[0] == token):
            return None
        return stored[1], stored[2]

    def save(self, first: dict, rest: dict, beside_rest: Any, later: dict, model_marks: dict, sql_facts: dict) -> None:
        """`later`: what `FirstPart.later` gives of the entries of `rest`."""
        token = os.urandom(8).hex()
        if write_pickle(self.rest_path, (token, rest, beside_rest)):
            write_pickle(self.path, (token, first, later, model_marks, sql_facts))


class _Pickler(pickle.Pickler):
    """Stores a dataclass as its class and field values, rebuilt by calling the class: loading is
    then about 40 % faster than through the `__setstate__` that slotted dataclasses get (which
    looks their fields up again for every object)."""

    # type -> what gives an object's field values, None: pickled as pickle does (made once a type)
    _field_values: dict[type, Optional[Callable[[Any], tuple]]] = {}

    def reducer_override(self, obj):
        # Called for every object but those of a few built-in types (a cold parse of cinder: 590,000)
        cls = type(obj)
        try:
            field_values = self._field_values[cls]
        except KeyError:
            field_values = self._field_values[cls] = _field_values_getter(cls)
        if field_values is None:
            return NotImplemented
        return cls, field_values(obj)


def _field_values_getter(cls: type) -> Optional[Callable[[Any], tuple]]:
    """What gives the field values of an instance of `cls`, in order, when calling the class with
    them makes the instance again: a dataclass whose fields are all arguments of its `__init__`
    and that has no `__post_init__`. Else None."""
    if not dataclasses.is_dataclass(cls) or issubclass(cls, type):  # a class itself is pickled by name
        return None
    fields = dataclasses.fields(cls)
    if not all(field.init for field in fields) or hasattr(cls, "__post_init__"):
        return None
    names = tuple(field.name for field in fields)
    if len(names) == 1:
        name = names[0]
        return lambda obj: (getattr(obj, name),)
    return operator.attrgetter(*names) if names else (lambda obj: ())


def open_cache(root: Path, directory: Optional[Path]) -> Optional[ParseCache]:
    return ParseCache(directory, root) if directory is not None else None
