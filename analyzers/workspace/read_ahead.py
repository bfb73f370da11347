"""The workspace's Python and SQL files, read ahead of a cold index by the parse worker started
with the language server, while the server imports its own modules (0.35 s on two cores, one
idle): their texts, digests, and what a search of each text tells (`TextMarks`). The index takes
them instead of reading and searching them itself (polar: 0.2 s of the 1,774 files' reading,
digests and marker searches). Light to import: the worker reads before it imports the parsers.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

from ..extract.text_searches import may_run_migrations
from .alembic_environments import looks_like_revision
from .code_roles import is_application_code
from .config import load_config
from .discovery import holds_any, looks_like_model_module, walk_files

# What adds to the models from outside a model module (a subclass of a model, an index declared
# elsewhere), or to the migrations (functions that revisions call, in a module that imports
# Alembic's `op`): a Python file that holds one is read in the schema-first pass. Not event
# listeners nor DDL(): the model reader reads neither (polar's seed script, 124 KB, and two tests
# held `event.listen` and nothing else the first look reads).
_SCHEMA_MARKERS = ("__mapper_args__", "__table_args__", "relationship(", "Mapped[", "Index(", "ForeignKey(",
                   "UniqueConstraint(", "CheckConstraint(", "alembic import")


def text_digest(text: str) -> str:
    """The digest that names a file's text in the index and its parse cache."""
    return _bytes_digest(text.encode("utf-8", errors="replace"))


def _bytes_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_SCHEMA_MARKER_PIECES = ("_args__", "relationship(", "Mapped[", "Index(", "ForeignKey(", "Constraint(", "alembic import")


def read_for_the_schema(text: str) -> bool:
    """A Python file (not a model module) the schema-first look reads: it adds to the models
    (`_SCHEMA_MARKERS`), or may apply the migrations (text_searches.may_run_migrations)."""
    return holds_any(text, _SCHEMA_MARKER_PIECES, _SCHEMA_MARKERS) or may_run_migrations(text)


@dataclass(frozen=True)
class TextMarks:
    """What searching a Python text tells, by the text's digest (a function of the text alone)."""
    model: Optional[bool]  # discovery.looks_like_model_module; None: not searched (read only in tests, scripts)
    schema: bool  # read_for_the_schema
    revision: bool  # alembic_environments.looks_like_revision


@dataclass
class ReadAhead:
    """`texts` and `digests` by relative path; `marks` by digest, of the Python texts; `stats`:
    each file's (modification time in ns, size), the same before and after it was read."""
    root: str
    texts: dict[str, str] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    marks: dict[str, TextMarks] = field(default_factory=dict)
    stats: dict[str, tuple[int, int]] = field(default_factory=dict)

    def agreeing_with(self, files: Iterable[tuple[str, int, int]]) -> ReadAhead:
        """The files read whose (path, modification time, size) is among `files` (a snapshot
        taken since): one changed after it was read is read again by the index."""
        current = {path: (mtime, size) for path, mtime, size in files}
        kept = [path for path, status in self.stats.items() if current.get(path) == status]
        return ReadAhead(self.root, {path: self.texts[path] for path in kept},
                         {path: self.digests[path] for path in kept}, self.marks,
                         {path: self.stats[path] for path in kept})


def read_ahead(root: str) -> ReadAhead:
    """Read the Python and SQL files of the workspace at `root` as the index walks it (with its
    project's configuration), as `WorkspaceIndex._read_disk` reads them."""
    config = load_config(Path(root))
    read = ReadAhead(root)
    for path in walk_files(Path(root), config):
        if not path.endswith((".py", ".sql")):
            continue
        text, digest, status = _read_unchanged(os.path.join(root, path))
        if text is None:
            continue
        read.texts[path], read.digests[path], read.stats[path] = text, digest, status
        if path.endswith(".py"):
            _mark(read.marks, digest, text, is_application_code(path, config.non_application_paths))
    return read


def _mark(marks: dict[str, TextMarks], digest: str, text: str, application_code: bool) -> None:
    """Search `text` for the marks the index asks of it. Whether it reads as a model module is
    asked only of application code (a test or a script is "support" whatever it holds: a third
    of polar's files, 0.04 s of the read)."""
    known = marks.get(digest)
    if known is None:
        marks[digest] = TextMarks(looks_like_model_module(text) if application_code else None, read_for_the_schema(text),
                                  looks_like_revision(text))
    elif known.model is None and application_code:
        marks[digest] = replace(known, model=looks_like_model_module(text))


def _read_unchanged(file: str) -> tuple[Optional[str], str, tuple[int, int]]:
    """The file's text as `open(file, encoding="utf-8", errors="replace")` reads it, its
    `text_digest` and its (modification time, size); no text when it cannot be read or changed
    while it was read. Read as bytes: the digest of a text that holds no carriage return and is
    valid UTF-8 is that of the bytes themselves, not of the text encoded again (polar: 10 ms)."""
    try:
        with open(file, "rb") as stream:
            before = os.fstat(stream.fileno())
            data = stream.read()
            after = os.fstat(stream.fileno())
    except OSError:
        return None, "", (0, 0)
    status = (after.st_mtime_ns, after.st_size)
    if (before.st_mtime_ns, before.st_size) != status:
        return None, "", status
    if b"\r" not in data:
        try:
            return data.decode("utf-8"), _bytes_digest(data), status
        except UnicodeDecodeError:
            pass
    # as text mode reads it: invalid bytes replaced, then "\r\n" and a lone "\r" read as "\n"
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    return text, text_digest(text), status
