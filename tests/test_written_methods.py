"""The methods attrs and dataclasses write, and cattrs's (un)structuring functions, taken from
the file an earlier start wrote (cli/written_methods.py)."""

from __future__ import annotations

import dataclasses
import linecache

import attr
import cattrs
import cattrs.gen
import pytest
from attr import _make

from schemalens import written_methods


@pytest.fixture
def compiled(monkeypatch) -> list[str]:
    """The file names of the scripts the cache compiles (it takes the others from the file)."""
    names: list[str] = []

    def counting(script, filename, mode):
        names.append(filename)
        return compile(script, filename, mode)

    monkeypatch.setattr(written_methods, "compile", counting, raising=False)
    monkeypatch.setattr(written_methods.sys, "dont_write_bytecode", False)
    return names


def _start(path, classes: dict[str, tuple[str, ...]], make=attr.define(frozen=True)) -> dict[str, type]:
    """One start: the classes `classes` (name -> fields) made by `make` (attrs's, or dataclasses's)
    with the cache at `path`. attrs names a class's script after the class, unless this process
    has a script of that name already: forgotten, as a new process has none."""
    for name in [name for name in linecache.cache if name.startswith("<attrs generated")]:
        del linecache.cache[name]
    put_back = written_methods.keep_written_methods(path, attrs=True)
    try:
        return {name: make(type(name, (), {"__annotations__": dict.fromkeys(fields, "int")}))
                for name, fields in classes.items()}
    finally:
        put_back()


CLASSES = {f"Cached{number}": ("x", "y") for number in range(20)}


def test_a_second_start_takes_the_methods_the_first_compiled(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    _start(path, CLASSES)
    assert path.exists() and compiled
    compiled.clear()
    made = _start(path, CLASSES)
    assert compiled == []
    point = made["Cached3"]
    assert point(1, 2) == point(1, 2) != point(1, 3)
    assert repr(point(1, 2)) == "Cached3(x=1, y=2)" and hash(point(1, 2)) == hash(point(1, 2))


def test_a_script_that_differs_is_compiled(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    _start(path, CLASSES)
    compiled.clear()
    made = _start(path, {**CLASSES, "Cached3": ("x", "y", "z")})
    assert compiled and all("Cached3" in name for name in compiled)
    assert repr(made["Cached3"](1, 2, 3)) == "Cached3(x=1, y=2, z=3)"


def test_a_few_new_scripts_do_not_rewrite_the_file_and_many_do(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    _start(path, CLASSES)
    written = path.read_bytes()
    _start(path, {**CLASSES, "Other0": ("x",)})  # a script of 21 compiled: a salted hash, say
    assert path.read_bytes() == written
    _start(path, {**CLASSES, **{f"Other{number}": ("x",) for number in range(5)}})  # an upgraded library
    assert path.read_bytes() != written


def test_a_file_it_cannot_read_is_written_again(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    path.write_bytes(b"not marshal data")
    made = _start(path, CLASSES)
    assert made["Cached0"](1, 2).x == 1
    compiled.clear()
    _start(path, CLASSES)
    assert compiled == []


def test_a_second_start_takes_the_dataclass_methods_the_first_compiled(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    make = dataclasses.dataclass(frozen=True, slots=True)
    _start(path, CLASSES, make)
    assert path.exists() and compiled
    compiled.clear()
    made = _start(path, CLASSES, make)
    assert compiled == []
    point = made["Cached3"]
    assert point(1, 2) == point(1, 2) != point(1, 3)
    assert repr(point(1, 2)) == "Cached3(x=1, y=2)" and hash(point(1, 2)) == hash((1, 2))
    changed = _start(path, {**CLASSES, "Cached3": ("x", "y", "z")}, make)
    assert compiled and repr(changed["Cached3"](1, 2, 3)) == "Cached3(x=1, y=2, z=3)"


def test_putting_back_twice_puts_back_once(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    put_back = written_methods.keep_written_methods(path, attrs=True)
    dataclasses.dataclass(type("Once", (), {"__annotations__": {"x": "int"}}))
    put_back()
    written = path.read_bytes()
    put_back()
    assert path.read_bytes() == written and "exec" not in vars(dataclasses)


def test_attrs_and_dataclasses_are_put_back_and_others_left_alone(tmp_path, monkeypatch):
    original = _make._compile_and_eval
    written_methods.keep_written_methods(tmp_path / "methods.marshal", attrs=True)()
    assert _make._compile_and_eval is original and "exec" not in vars(dataclasses)

    def own_exec(source, globals=None, locals=None):
        exec(source, globals, locals)  # noqa: S102

    monkeypatch.setattr(dataclasses, "exec", own_exec, raising=False)

    def other_signature(script, globs, locs, filename, mode):
        raise AssertionError("not to be called")

    monkeypatch.setattr(_make, "_compile_and_eval", other_signature)
    put_back = written_methods.keep_written_methods(tmp_path / "methods.marshal", attrs=True)
    assert _make._compile_and_eval is other_signature and dataclasses.exec is own_exec
    put_back()
    assert dataclasses.exec is own_exec


@attr.define
class _Point:
    x: int
    y: int


def _cattrs_start(path) -> tuple:
    """One start that structures and unstructures a class with a converter of its own: cattrs
    names each function's script after the class, unless this process has one of that name."""
    for name in [name for name in linecache.cache if name.startswith("<cattrs generated")]:
        del linecache.cache[name]
    put_back = written_methods.keep_written_methods(path, attrs=True)
    try:
        converter = cattrs.Converter()
        return converter.structure({"x": 1, "y": 2}, _Point), converter.unstructure(_Point(3, 4))
    finally:
        put_back()


def test_a_second_start_takes_the_functions_cattrs_wrote(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    first = _cattrs_start(path)
    assert [name for name in compiled if name.startswith("<cattrs generated")]
    compiled.clear()
    assert _cattrs_start(path) == first == (_Point(1, 2), {"x": 3, "y": 4})
    assert compiled == []
    assert "compile" not in vars(cattrs.gen)


def test_a_cattrs_that_names_its_own_compile_is_left_alone(tmp_path, monkeypatch):
    def own_compile(source, filename, mode):
        return compile(source, filename, mode)

    monkeypatch.setattr(cattrs.gen, "compile", own_compile, raising=False)
    put_back = written_methods.keep_written_methods(tmp_path / "methods.marshal", attrs=True)
    assert cattrs.gen.compile is own_compile
    put_back()
    assert cattrs.gen.compile is own_compile


def test_classes_made_after_the_imports_rewrite_a_large_file(tmp_path, compiled):
    """A tenth of a large file is many scripts: 40 new ones (the rules' classes, the first
    messages' functions) are enough."""
    path = tmp_path / "methods.marshal"
    many = {f"Many{number}": ("x",) for number in range(500)}
    _start(path, many)
    written = path.read_bytes()
    _start(path, {**many, **{f"Late{number}": ("x",) for number in range(5)}})
    assert path.read_bytes() == written
    _start(path, {**many, **{f"Late{number}": ("x",) for number in range(40)}})
    assert path.read_bytes() != written


def test_a_dataclass_method_is_made_when_first_called_and_then_is_the_class_s_own(tmp_path, compiled):
    path = tmp_path / "methods.marshal"
    make = dataclasses.dataclass(frozen=True, slots=True)
    _start(path, CLASSES, make)
    compiled.clear()
    made = _start(path, CLASSES, make)
    point = made["Cached5"]
    stand_in = point.__dict__["__eq__"]
    subclass = type("Sub", (point,), {"__slots__": ()})
    assert subclass(1, 2) == subclass(1, 2)  # called through a subclass: made on the class that holds it
    assert point.__dict__["__eq__"] is not stand_in and point.__eq__.__qualname__ == "Cached5.__eq__"
    with pytest.raises(dataclasses.FrozenInstanceError):
        point(1, 2).x = 3
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'y'"):
        point(1)
    assert repr(point(1, 2)) == "Cached5(x=1, y=2)" and dataclasses.replace(point(1, 2), y=5) == point(1, 5)
    assert compiled == []
