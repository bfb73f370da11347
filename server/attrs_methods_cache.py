"""The code of the methods attrs writes, kept like Python's own bytecode.

attrs writes the methods of each class it makes (`__init__`, `__eq__`, `__repr__`, ...) as
source, and compiles that source as the class is created. lsprotocol defines 560 attrs classes:
compiling their methods took 0.13 s of the language server's 0.55 s of imports, at every start,
before the server can answer `initialize`.

`keep_attrs_methods` has attrs take that code from a file in this package's `__pycache__`, where
Python keeps the package's bytecode, and under the same conditions. The file is read when it is
there. It is written unless bytecode is not written (PYTHONDONTWRITEBYTECODE) or the folder is
read-only. A script's code is found by the script's file name and a digest of its exact source,
for the interpreter's bytecode version. A script that differs in any character is compiled, as
attrs compiles it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

CACHE_FILE = Path(__file__).resolve().parent / "__pycache__" / f"attrs-methods.{sys.implementation.cache_tag}.marshal"
# attr._make._compile_and_eval's parameters (attrs 22 to 26): another signature is left alone.
_PARAMETERS = ["script", "globs", "locs", "filename"]


def keep_attrs_methods(path: Path = CACHE_FILE) -> Callable[[], None]:
    """Have attrs take the code of the methods it writes from `path` until the returned function
    is called. That function puts attrs back as it was, and writes `path` when this start
    compiled a tenth of its scripts or more: a first start, or a library that now writes other
    methods. A few scripts differ at every start and do not make it write: a frozen class's
    `__hash__` holds a hash salted per process."""
    try:
        from attr import _make
        original = _make._compile_and_eval
        if list(inspect.signature(original).parameters) != _PARAMETERS:
            return lambda: None
    except (ImportError, AttributeError, TypeError, ValueError):
        return lambda: None
    kept = _load(path)
    used: dict[tuple[str, bytes], object] = {}
    compiled = 0

    def compile_and_eval(script: str, globs, locs=None, filename: str = "") -> None:
        nonlocal compiled
        key = (filename, hashlib.blake2b(script.encode(), digest_size=16).digest())
        code = kept.get(key)
        if code is None:
            code = compile(script, filename, "exec")
            compiled += 1
        used[key] = code
        eval(code, globs, locs)  # noqa: S307 (attrs's own script, as attrs evaluates it)

    _make._compile_and_eval = compile_and_eval

    def put_back() -> None:
        _make._compile_and_eval = original
        if compiled * 10 >= len(used) > 0 and not sys.dont_write_bytecode:
            _save(path, used)

    return put_back


def _load(path: Path) -> dict:
    try:
        with open(path, "rb") as file:
            magic, entries = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):  # none yet, or not a file this module wrote
        return {}
    return entries if magic == importlib.util.MAGIC_NUMBER and isinstance(entries, dict) else {}


def _save(path: Path, entries: dict) -> None:
    """Write `entries` (only the scripts of this start: the file does not grow), then rename it
    into place: another server starting meanwhile reads the old file or the new one, whole."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                marshal.dump((importlib.util.MAGIC_NUMBER, entries), file)
            os.chmod(temporary, 0o644)  # readable by whoever runs the installation, as its bytecode is
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:  # a read-only installation: compiled at every start, as before
        pass
