"""The code of the methods attrs and dataclasses write, kept like Python's own bytecode.

attrs and dataclasses write the methods of each class they make (`__init__`, `__eq__`,
`__repr__`, ...) as source, and compile that source as the class is created, at every start:

- lsprotocol's 560 attrs classes: 0.13 s of the language server's 0.55 s of imports, before it
  can answer `initialize`;
- the 150-190 dataclasses a command makes (SchemaLens's own): 0.08-0.10 s, a third of what
  `schemalens audit` imports.

cattrs writes the functions that structure and unstructure lsprotocol's classes the same way,
as messages arrive. `keep_written_methods` has them all take that code from a file in this
package's `__pycache__`,
where Python keeps the package's bytecode, and under the same conditions. The file is read when
it is there. It is written unless bytecode is not written (PYTHONDONTWRITEBYTECODE) or the folder
is read-only. A script's code is found by the script's file name and a digest of its exact
source, for the interpreter's bytecode version. A script that differs in any character is
compiled, as attrs and dataclasses compile it. Each command keeps its own file: they import
different modules.
"""

from __future__ import annotations

import builtins
import dataclasses
import hashlib
import importlib.util
import inspect
import marshal
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

# Scripts compiled in one start that make the file written again however many it holds (the
# language server's first index adds 120 to 1,600: the rules' dataclasses, cattrs's functions).
_REWRITE_MINIMUM = 32
# attr._make._compile_and_eval's parameters (attrs 22 to 26): another signature is left alone.
_PARAMETERS = ["script", "globs", "locs", "filename"]
# The file holds each script's code marshalled on its own, loaded when it is run (a file of code
# objects, as an earlier SchemaLens wrote, is written again).
_MARSHALLED = "marshalled code"


def cache_file(command: str) -> Path:
    return Path(__file__).resolve().parent / "__pycache__" / f"written-methods.{command}.{sys.implementation.cache_tag}.marshal"


def keep_written_methods(path: Path, attrs: bool) -> Callable[[], None]:
    """Have dataclasses, and attrs and cattrs if `attrs` (importing attrs: 13 ms a command that
    uses no attrs class need not pay), take the code of what they write from `path` until the
    returned function is first called. That function puts them back as they were, and writes
    `path` when this start compiled a tenth of its scripts or more, or `_REWRITE_MINIMUM`: a
    first start, a library that now writes other methods, classes made after the imports. A few
    scripts differ at every start and do not make it write: a frozen attrs class's `__hash__`
    holds a hash salted per process."""
    kept = _load(path)
    used: dict[tuple[str, bytes], bytes] = {}
    compiled = 0

    def written_code(script: str, filename: str) -> bytes:
        """The script's code, marshalled: from the file, else compiled now."""
        nonlocal compiled
        key = (filename, hashlib.blake2b(script.encode(), digest_size=16).digest())
        code = kept.get(key)
        if code is None:
            code = marshal.dumps(compile(script, filename, "exec"))
            compiled += 1
        used[key] = code
        return code

    def code_of(script: str, filename: str):
        return marshal.loads(written_code(script, filename))

    put_back_attrs = _hook_attrs(code_of) if attrs else (lambda: None)
    put_back_cattrs = _hook_cattrs(code_of) if attrs else (lambda: None)
    put_back_dataclasses = _hook_dataclasses(written_code)
    done = False

    def put_back() -> None:
        nonlocal done
        if done:
            return
        done = True
        put_back_attrs()
        put_back_cattrs()
        put_back_dataclasses()
        if (compiled * 10 >= len(used) or compiled >= _REWRITE_MINIMUM) and used and not sys.dont_write_bytecode:
            _save(path, used)

    return put_back


def _hook_attrs(code_of: Callable[[str, str], object]) -> Callable[[], None]:
    try:
        from attr import _make
        original = _make._compile_and_eval
        if list(inspect.signature(original).parameters) != _PARAMETERS:
            return lambda: None
    except (ImportError, AttributeError, TypeError, ValueError):
        return lambda: None

    def compile_and_eval(script: str, globs, locs=None, filename: str = "") -> None:
        eval(code_of(script, filename), globs, locs)  # noqa: S307 (attrs's own script, as attrs evaluates it)

    _make._compile_and_eval = compile_and_eval

    def put_back() -> None:
        _make._compile_and_eval = original

    return put_back


# cattrs's modules that compile the functions they write, with the builtin `compile`
_CATTRS_WRITERS = ("cattrs.gen", "cattrs.gen.typeddicts")


def _hook_cattrs(code_of: Callable[[str, str], object]) -> Callable[[], None]:
    """cattrs writes the function that structures or unstructures a class as source the first time
    a message holds that class (the language server's first messages: 66 functions, 17 ms of
    compiling before polar's first diagnostics), and compiles it with `compile`: a module global
    of that name is found first."""
    try:
        modules = [importlib.import_module(name) for name in _CATTRS_WRITERS]
    except ImportError:
        return lambda: None
    hooked = [module for module in modules if "compile" not in vars(module)]  # one that names its own: left alone

    def compile_written(source, filename, mode, *args, **kwargs):
        if isinstance(source, str) and mode == "exec" and not args and not kwargs:
            return code_of(source, filename)
        return builtins.compile(source, filename, mode, *args, **kwargs)

    for module in hooked:
        module.compile = compile_written

    def put_back() -> None:
        for module in hooked:
            del module.compile

    return put_back


def _hook_dataclasses(written_code: Callable[[str, str], bytes]) -> Callable[[], None]:
    """dataclasses runs what it writes with the builtin `exec`: a module global of that name is
    found first. It compiles a string as `exec` does, under the name `<string>`.

    Each script dataclasses writes defines `__create_fn__`, which dataclasses calls at once for
    the method. The method is made when it is first called instead: an audit calls 51 of the 969
    methods its classes have (126 on polar), and loading the code of all of them took 50 ms of a
    SQL-only audit's 0.3 s. On its first call it is made from the script's code and takes the
    place of its stand-in on the class; a `__repr__`, which dataclasses wraps, keeps passing
    through it."""
    if "exec" in vars(dataclasses):  # a dataclasses that names its own: left alone
        return lambda: None

    def exec_written(source, globals=None, locals=None) -> None:
        name = _one_method(source) if isinstance(source, str) and isinstance(locals, dict) else None
        if name is not None:
            code = written_code(source, "<string>")
            locals["__create_fn__"] = lambda **values: _made_when_called(name, lambda: _method(code, globals, values))
            return
        code = marshal.loads(written_code(source, "<string>")) if isinstance(source, str) else source
        builtins.exec(code, globals, locals)  # noqa: S102 (dataclasses's own script, as it runs it)

    dataclasses.exec = exec_written

    def put_back() -> None:
        del dataclasses.exec

    return put_back


def _one_method(script: str) -> Optional[str]:
    """The name of the method, when `script` is what Python 3.10 to 3.12's dataclasses writes for
    one (`_create_fn`): `def __create_fn__(...):`, ` def <name>(...):`, its body, ` return <name>`."""
    lines = script.split("\n")
    if len(lines) < 3 or not lines[0].startswith("def __create_fn__(") or not lines[1].startswith(" def ") \
            or script.count("\n def ") != 1:
        return None
    name = lines[1][len(" def "):].partition("(")[0]
    return name if name.isidentifier() and lines[-1] == f" return {name}" else None


def _method(code: bytes, globals, values: dict):
    """The method a dataclasses script makes, as `_create_fn` makes it."""
    namespace: dict = {}
    builtins.exec(marshal.loads(code), globals, namespace)  # noqa: S102 (dataclasses's own script, as it runs it)
    return namespace["__create_fn__"](**values)


def _made_when_called(name: str, make: Callable[[], Callable]) -> Callable:
    """A stand-in for the method `name` that `make` makes, made on the first call, which then
    takes the stand-in's place on the class that holds it."""
    made = None

    def method(*arguments, **keywords):
        nonlocal made
        if made is None:
            made = make()
            made.__qualname__ = method.__qualname__
            owner = next((cls for cls in type(arguments[0]).__mro__ if cls.__dict__.get(name) is method), None) \
                if arguments else None
            if owner is not None:
                setattr(owner, name, made)
        return made(*arguments, **keywords)

    method.__name__ = method.__qualname__ = name
    return method


def _load(path: Path) -> dict:
    try:
        with open(path, "rb") as file:
            magic, written, entries = marshal.load(file)
    except (OSError, EOFError, ValueError, TypeError):  # none yet, or not a file this module wrote
        return {}
    return entries if (magic, written) == (importlib.util.MAGIC_NUMBER, _MARSHALLED) and isinstance(entries, dict) else {}


def _save(path: Path, entries: dict) -> None:
    """Write `entries` (only the scripts of this start: the file does not grow), then rename it
    into place: another process starting meanwhile reads the old file or the new one, whole."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                marshal.dump((importlib.util.MAGIC_NUMBER, _MARSHALLED, entries), file)
            os.chmod(temporary, 0o644)  # readable by whoever runs the installation, as its bytecode is
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:  # a read-only installation: compiled at every start, as before
        pass
