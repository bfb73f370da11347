"""Python files parsed for extraction: the standard library's `ast`, with positions in the
model's convention (1-based lines, 1-based columns counted in code points).

`ast` was chosen by measurement (`bench/bench_parsers.py`): on the polar corpus project it
parses 1,774 files in about 2 s where libcst needs about 24 s, and about twice that with
positions. `ast` only knows the grammar of the interpreter running SchemaLens, while the
projects we read may be written for a newer Python (`except A, B:`, `type X = ...`, PEP 695
generics, PEP 701 f-strings, t-strings). For a file `ast` rejects, the common constructs are
rewritten by line, then f-strings and t-strings with libcst (which knows the newer grammar;
see `_downlevel_transformer`), into older syntax on the same lines, and that text is parsed;
only the columns on a rewritten line may be off by a character or two.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence, Union

from ..i18n import _
from ..schema.model import ExtractionError, Location
from ..lazy_pattern import LazyPattern

LINE_BREAK = LazyPattern(r"\r\n|\r|\n")  # what the tokenizer and the LSP count as line ends
_DEFINITION = LazyPattern(r"\b(?:class|def)\s+(\w+)")


@dataclass(frozen=True, slots=True)
class PythonFile:
    """One parsed file: its tree, its lines, and locations/source text of its nodes."""

    path: str
    text: str
    tree: ast.Module
    lines: tuple[str, ...]
    # parsed from a rewrite of syntax newer than this interpreter: BY_LINE or STRINGS ("": as written)
    rewritten: str = ""
    # Holds the nodes numbered for `walk_in_order`, which each node refers to weakly: the nodes
    # form no reference cycle, so a tree is freed as soon as its file is.
    nodes_in_order: Optional[list] = field(default=None, repr=False, compare=False)
    # All of it ASCII (most files): byte offsets are code point offsets, on every line
    ascii: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ascii", self.text.isascii())

    def _column(self, line: int, byte_offset: int) -> int:
        """A 0-based UTF-8 byte offset on a 1-based line (what `ast` reports), as a code point offset."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_offset
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def location(self, node: ast.AST) -> Location:
        line = getattr(node, "lineno", 1)
        start = getattr(node, "col_offset", 0)
        end_line = getattr(node, "end_lineno", None)
        end = getattr(node, "end_col_offset", None)
        if not self.ascii:
            start = self._column(line, start)
            end = end if end_line is None or end is None else self._column(end_line, end)
        if end_line is None or end is None:
            return Location(self.path, line, start + 1)
        return Location(self.path, line, start + 1, end_line, end + 1)

    def name_location(self, node: ast.AST) -> Location:
        """Where the name of a class or function definition is written (`ast` only places the keyword)."""
        name = getattr(node, "name", "")
        start = self.location(node)
        line = start.line
        while line <= len(self.lines) and line <= (start.end_line or line):
            offset = start.column - 1 if line == start.line else 0
            for match in _DEFINITION.finditer(self.lines[line - 1], offset):
                if match.group(1) == name:
                    return Location(self.path, line, match.start(1) + 1, line, match.end(1) + 1)
            line += 1
        return start

    def statement_text(self, node: ast.stmt) -> str:
        """The lines of a statement, its decorators' included, as written."""
        return "\n".join(self.lines[first_line(node) - 1:node.end_lineno])

    def segment(self, node: ast.AST) -> str:
        """The source text of `node`, as written (without enclosing parentheses)."""
        return self.text_at(self.location(node))

    def text_at(self, location: Location) -> str:
        """The source text between a location's start and end."""
        if location.end_line is None:
            return ""
        first, last = location.line - 1, location.end_line - 1
        if first == last:
            return self.lines[first][location.column - 1: location.end_column - 1]
        parts = [self.lines[first][location.column - 1:], *self.lines[first + 1: last],
                 self.lines[last][: location.end_column - 1]]
        return "\n".join(parts)


def first_line(statement: ast.stmt) -> int:
    """The line a statement starts on: its first decorator's, for a decorated definition (`ast`
    places a definition at its `def` or `class`, after its decorators)."""
    decorators = getattr(statement, "decorator_list", None)
    return decorators[0].lineno if decorators else statement.lineno


def split_lines(text: str) -> list[str]:
    return LINE_BREAK.split(text)


def parse_python(text: str, path: str, numbered: bool = True) -> tuple[Optional[PythonFile], Optional[ExtractionError]]:
    """The parsed file, or None and the syntax error (at the line and column the parser reports,
    within that line). Never raises. `numbered`: number the nodes for fast walks (see
    `walk_in_order`), worth its cost when the file's code is walked many times."""
    lines = tuple(split_lines(text))
    made = _numbered_file if numbered else PythonFile
    try:
        return made(path, text, _parse(text), lines), None
    except SyntaxError as error:
        first_error = _syntax_error(error, path, lines)
    except (ValueError, RecursionError, MemoryError) as error:  # NUL bytes, absurd nesting
        return None, ExtractionError(Location(path, 1), _("cannot parse: %(error)s", error=str(error)))
    # Newer syntax: first the common constructs by line, then f-strings and t-strings with libcst.
    common = _downlevel_common(text)
    try:
        return made(path, text, _parse(common), lines, rewritten=BY_LINE), None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    rewritten = _downlevel_strings(common)
    if rewritten is None:  # libcst rejects it too: a real syntax error
        return None, first_error
    try:
        return made(path, text, _parse(rewritten), lines, rewritten=STRINGS), None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return None, ExtractionError(first_error.location, _(
        "%(error)s (this file uses Python syntax newer than %(version)s, the Python running SchemaLens; run SchemaLens "
        "on the project's Python to read it)", error=first_error.message, version=version))


def parse_expression(text: str) -> Optional[ast.expr]:
    """A Python expression (a string annotation such as `"Mapped[int]"`), or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None


def walk_in_order(node: Union[ast.AST, Sequence[ast.AST]], prune: tuple[type, ...] = ()) -> Iterator[ast.AST]:
    """`node` (or each node of a list, such as a body of statements) and every node inside it,
    depth first, parents before children, in the order the source is written: decorators before
    the `def`, a dict's keys beside their values, `a if test else b` as written, a keyword before a
    `*args` as written. (`ast.walk` is breadth first, and `ast` fields follow the grammar's own
    order.) Expression contexts and operators are not visited; a `prune` node is, not what is inside it."""
    roots = node if isinstance(node, (list, tuple)) else (node,)
    for root in roots:
        span = getattr(root, "_schemalens_span", None)
        order = span[0]() if span is not None else None
        if order is None:  # a node of a tree no live PythonFile numbered (a string annotation)
            yield from _walk_unnumbered(root, prune)
            continue
        _, position, end = span
        if not prune:
            yield from order[position:end]
            continue
        while position < end:
            current = order[position]
            yield current
            position = current._schemalens_span[2] if isinstance(current, prune) else position + 1


def nodes_in_order(node: ast.AST) -> tuple[list, int, int]:
    """The nodes `walk_in_order(node)` gives, as (a list, the position of `node` in it, the
    position after its last node): a slice of its file's numbering, or `node` numbered now (a
    tree no live PythonFile numbered). A walk skips a node's subtree by going on from the end
    of its span (`node._schemalens_span[2]`)."""
    span = getattr(node, "_schemalens_span", None)
    order = span[0]() if span is not None else None
    if order is not None:
        return order, span[1], span[2]
    order = _NodesInOrder()
    _number(node, order, weakref.ref(order), 0)
    return order, 0, len(order)


def _walk_unnumbered(node: ast.AST, prune: tuple[type, ...]) -> Iterator[ast.AST]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if prune and isinstance(current, prune):
            continue
        stack.extend(reversed(child_nodes(current)))


# Every node of a parsed file knows the file's nodes in `walk_in_order`'s order (through a weak
# reference) and the slice of them it spans, as `_schemalens_span`: the extractors walk the same
# subtrees many times (a function, then each of its statements, then their expressions), and a
# slice costs a fraction of a walk.
class _NodesInOrder(list):
    """A list a node can refer to weakly."""


def _numbered_file(path: str, text: str, tree: ast.Module, lines: tuple[str, ...], rewritten: str = "") -> PythonFile:
    order = _NodesInOrder()
    _number(tree, order, weakref.ref(order), 0)
    return PythonFile(path, text, tree, lines, rewritten, order)


def _number(root: ast.AST, order: list, reference: weakref.ref, base: int) -> None:
    """Append `root` and the nodes inside it to `order` in walk order, each with its span: the
    positions it covers in the file's order, which starts `base` nodes before `order` does."""
    append = order.append
    leaves = _LEAVES
    stack: list = [root]  # nodes to enter, and (node, start) pairs to leave
    while stack:
        current = stack.pop()
        kind = current.__class__
        if kind is tuple:
            node, start = current
            node._schemalens_span = (reference, start, base + len(order))
            continue
        start = base + len(order)
        append(current)
        if kind in leaves:
            current._schemalens_span = (reference, start, start + 1)
            continue
        children = child_nodes(current)
        if children:
            stack.append((current, start))
            children.reverse()
            stack += children
        else:
            current._schemalens_span = (reference, start, start + 1)


class Reparser:
    """The last parse of the file an editor is changing, kept for the file's next text: only the
    module-level statements the change touches are parsed again; the others are kept, moved to
    their new lines (a keystroke in a class of redash's 1,500-line models module: 5 ms instead
    of 17). Keeps one file: a tree costs about 60 times its text (3.5 MB for that module).

    A statement's parse depends only on its own text: the lines before a statement that starts
    on a line of its own end every bracket and string (the old parse ended a statement there),
    and the parse of the changed lines fails if it leaves one open for the lines after. A file of
    newer syntax than this interpreter's, rewritten by line, is spliced the same way, the changed
    lines parsed from their rewrite (polar's 4,900-line endpoints module: one parse of the changed
    function instead of two of the file; its checkout model, whose class holds an `except A, B:`:
    one of the class); one rewritten with libcst is parsed whole."""

    def __init__(self) -> None:
        self._last: Optional[PythonFile] = None

    def parse(self, text: str, path: str) -> tuple[Optional[PythonFile], Optional[ExtractionError]]:
        """parse_python(text, path), numbered."""
        last, self._last = self._last, None  # a splice changes the last tree's nodes: it is not kept as it was
        source = _spliced(last, text) if last is not None and last.path == path and last.rewritten != STRINGS else None
        if source is not None:
            self._last = source
            return source, None
        source, error = parse_python(text, path)
        self._last = source if source is not None else last  # a half-typed line: splice into the last good tree
        return source, error


def _spliced(last: PythonFile, text: str) -> Optional[PythonFile]:
    """`text` parsed from `last`, a parse of an earlier text of the same file: the changed lines'
    statements parsed again, the others moved (their nodes are changed in place). None when the
    changed lines do not parse on their own (then nothing is changed)."""
    if last.nodes_in_order is None:
        return None
    lines = tuple(split_lines(text))
    old = last.lines
    same_start = 0
    shortest = min(len(old), len(lines))
    # the last of the lines is what follows the last line break: the same text, but not followed by one
    while same_start < shortest - 1 and old[same_start] == lines[same_start]:
        same_start += 1
    same_end = 0
    while same_end < shortest - same_start and old[-1 - same_end] == lines[-1 - same_end]:
        same_end += 1
    statements = last.tree.body
    # 0-based first lines of the statements that start on a line of their own (the rest join the one before)
    starts, firsts = [], []
    for number, statement in enumerate(statements):
        first = first_line(statement) - 1
        if number == 0 or first >= statements[number - 1].end_lineno:
            starts.append(first)
            firsts.append(number)
    kept_before = bisect.bisect_right(starts, same_start) - 1
    start = starts[kept_before] if kept_before >= 0 else 0
    first_changed = firsts[kept_before] if kept_before >= 0 else 0
    kept_after = bisect.bisect_left(starts, max(len(old) - same_end, start + 1))
    end = starts[kept_after] if kept_after < len(starts) else len(old)
    first_after = firsts[kept_after] if kept_after < len(firsts) else len(statements)
    line_shift = len(lines) - len(old)
    changed_lines = lines[start: end + line_shift]
    if start > 0 and lines[start - 1].endswith("\\"):  # that line goes on in the changed ones (or in nothing: an error)
        return None
    changed_text = "\n".join(changed_lines) + ("\n" if end < len(old) else "")  # and the line break after them
    if last.rewritten:
        # The file parsed from its rewrite by line, which rewrites each line on its own: the changed
        # lines are parsed from theirs, as a fresh parse of the whole text would parse them while
        # the file needs its rewrite. It does when the newer syntax is in the statements kept, or in
        # the changed ones (which this grammar then rejects as written): when the change rewrote
        # lines that it no longer does, the newer syntax may be gone, and the file is parsed again.
        # The rewrite reads \n as the line end: lines joined with \n where the file ends one with \r
        # may be rewritten where the file's are not (an `except A, B:` after a \r in a string).
        rewritten_text = _downlevel_common(changed_text)
        old_rewrites = _rewrites_by_line("\n".join(old[start:end]))
        if old_rewrites and (rewritten_text == changed_text or _parses(changed_text)) \
                or "\r" in text and (old_rewrites or rewritten_text != changed_text):
            return None
        changed_text = rewritten_text
    try:
        changed = _parse(changed_text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    order = last.nodes_in_order
    reference = last.tree._schemalens_span[0]
    position = statements[first_changed]._schemalens_span[1] if first_changed < len(statements) else len(order)
    position_after = statements[first_after]._schemalens_span[1] if first_after < len(statements) else len(order)
    changed_order: list = []
    for statement in changed.body:
        _number(statement, changed_order, reference, position)
    _move_lines(changed_order, start)
    order[position: position_after] = changed_order
    moved = order[position + len(changed_order):]
    _move_lines(moved, line_shift)
    count_shift = len(changed_order) - (position_after - position)
    if count_shift:
        for node in moved:
            _, node_start, node_end = node._schemalens_span
            node._schemalens_span = (reference, node_start + count_shift, node_end + count_shift)
    tree = ast.Module(body=[*statements[:first_changed], *changed.body, *statements[first_after:]], type_ignores=[])
    order[0] = tree
    tree._schemalens_span = (reference, 0, len(order))
    return PythonFile(last.path, text, tree, lines, last.rewritten, order)


def _move_lines(nodes: list, shift: int) -> None:
    if not shift:
        return
    for node in nodes:
        if node.__class__ in _PLACED:
            node.lineno += shift
            node.end_lineno += shift


_PLACED = {kind for kind in vars(ast).values()
           if isinstance(kind, type) and issubclass(kind, ast.AST) and "end_lineno" in kind._attributes}


_NOT_CHILDREN = {"ctx", "op", "ops"}
# Fields the grammar gives a name, a number or a constant, never a node, of the commonest nodes.
_SCALAR_FIELDS = {ast.Name: ("id",), ast.Constant: ("value", "kind"), ast.Attribute: ("attr",), ast.alias: ("name", "asname"),
                  ast.keyword: ("arg",), ast.arg: ("arg", "type_comment"), ast.ImportFrom: ("module", "level")}
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes directly inside `node`, in the order the source is written (see walk_in_order);
    expression contexts and operators left out."""
    kind = node.__class__
    ordered = _IN_SOURCE_ORDER.get(kind)
    if ordered is not None:
        return ordered(node)
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(name for name in node._fields if name not in _NOT_CHILDREN
                                             and name not in _SCALAR_FIELDS.get(kind, ()))
    # `_nodes`, written out: every node of every file passes here (a tenth of a cold index)
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if value.__class__ is list:
            found += [item for item in value if isinstance(item, ast.AST)]
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def _nodes(*values) -> list[ast.AST]:
    found: list[ast.AST] = []
    for value in values:
        if isinstance(value, list):
            found += [item for item in value if isinstance(item, ast.AST)]
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def _as_written(nodes: list[ast.AST]) -> list[ast.AST]:
    return sorted(nodes, key=lambda item: (item.lineno, item.col_offset))


def _call_children(node: ast.Call) -> list[ast.AST]:
    if node.args and node.keywords and _as_written([node.args[-1], node.keywords[0]])[0] is not node.args[-1]:
        return [node.func, *_as_written([*node.args, *node.keywords])]  # f(key=1, *rest)
    return [node.func, *node.args, *node.keywords]


def _function_children(node: Union[ast.FunctionDef, ast.AsyncFunctionDef]) -> list[ast.AST]:
    return _nodes(node.decorator_list, getattr(node, "type_params", None), node.args, node.returns, node.body)


def _class_children(node: ast.ClassDef) -> list[ast.AST]:
    return _nodes(node.decorator_list, getattr(node, "type_params", None),
                  _as_written([*node.bases, *node.keywords]), node.body)


def _parameter_children(node: ast.arguments) -> list[ast.AST]:
    positional = [*node.posonlyargs, *node.args]
    defaults: list = [None] * (len(positional) - len(node.defaults)) + list(node.defaults)
    found: list[ast.AST] = []
    for parameter, default in zip(positional, defaults):
        found += _nodes(parameter, default)
    found += _nodes(node.vararg)
    for parameter, default in zip(node.kwonlyargs, node.kw_defaults):
        found += _nodes(parameter, default)
    return found + _nodes(node.kwarg)


def _pairs(keys: list, values: list) -> list[ast.AST]:
    return [child for key, value in zip(keys, values) for child in _nodes(key, value)]


_IN_SOURCE_ORDER = {
    ast.Call: _call_children,
    ast.FunctionDef: _function_children,
    ast.AsyncFunctionDef: _function_children,
    ast.ClassDef: _class_children,
    ast.arguments: _parameter_children,
    ast.Dict: lambda node: _pairs(node.keys, node.values),
    ast.IfExp: lambda node: [node.body, node.test, node.orelse],
    ast.MatchMapping: lambda node: _pairs(node.keys, node.patterns),
}

# The kinds of node that never hold another (names and constants: a third of a file's nodes),
# numbered without asking for their children (polar's 1,000,000 nodes: a quarter of the time).
_LEAVES = frozenset(kind for kind in vars(ast).values() if isinstance(kind, type) and issubclass(kind, ast.AST)
                    and kind not in _IN_SOURCE_ORDER
                    and all(name in _NOT_CHILDREN or name in _SCALAR_FIELDS.get(kind, ()) for name in kind._fields))


def _parse(text: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences in the project's strings are its business
        return ast.parse(text)


def _parses(text: str) -> bool:
    try:
        _parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _syntax_error(error: SyntaxError, path: str, lines: tuple[str, ...]) -> ExtractionError:
    line = min(max(error.lineno or 1, 1), max(len(lines), 1))
    length = len(lines[line - 1]) if lines else 0
    column = min(max(error.offset or 1, 1), length + 1)
    return ExtractionError(Location(path, line, column), _("syntax error: %(error)s", error=error.msg))



# How a file that `ast` rejects was parsed (PythonFile.rewritten)
BY_LINE = "by line"  # the common constructs of newer syntax rewritten by line (`_downlevel_common`)
STRINGS = "strings"  # and f-strings and t-strings with libcst (`_downlevel_strings`)

# The newer syntax met most often, rewritten by line: much cheaper than libcst's full rewrite.
_COMMON_REWRITES = (
    (LazyPattern(r"^([ \t]*except\*?[ \t]+)([^(\s:#][^:#\n]*,[^:#\n]*):", re.MULTILINE), r"\1(\2):"),  # 3.14
    (LazyPattern(r"^([ \t]*)type[ \t]+([A-Za-z_]\w*)[ \t]*(?:\[[^\]\n]*\])?[ \t]*=", re.MULTILINE), r"\1\2 ="),  # 3.12
)
_TYPE_PARAMETERS = LazyPattern(r"^[ \t]*(?:class|(?:async[ \t]+)?def)[ \t]+\w+[ \t]*(\[)", re.MULTILINE)  # 3.12


def _rewrites_by_line(text: str) -> bool:
    return _downlevel_common(text) != text


def _downlevel_common(text: str) -> str:
    rewritten = text
    for pattern, replacement in _COMMON_REWRITES:
        rewritten = pattern.sub(replacement, rewritten)
    return _blank_type_parameters(rewritten)


def _blank_type_parameters(text: str) -> str:
    """`class C[T: X](...)` / `def f[T](...)`: the brackets and what they hold become spaces,
    with a line continuation where they spanned lines, so that no line or column moves."""
    chunks: list[str] = []
    done = 0
    for match in _TYPE_PARAMETERS.finditer(text):
        start = match.start(1)
        if start < done:
            continue
        end = _closing_bracket(text, start)
        if end is None:
            continue
        span = text[start: end + 1]
        chunks += [text[done:start], " \\\n".join(" " * len(part) for part in span.split("\n"))]
        done = end + 1
    return "".join(chunks) + text[done:] if chunks else text


def _closing_bracket(text: str, start: int) -> Optional[int]:
    """The index of the `]` closing the `[` at `start` (strings and comments skipped), or None."""
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char in "[({":
            depth += 1
        elif char in "])}":
            depth -= 1
            if depth == 0:
                return index
        elif char == "#":
            index = text.find("\n", index)
            if index < 0:
                return None
            continue
        elif char in "'\"":
            close = text.find(char, index + 1)
            if close < 0:
                return None
            index = close
        index += 1
    return None


def _downlevel_strings(text: str) -> Optional[str]:
    """`text` with syntax newer than this interpreter rewritten into older syntax on the same
    lines, or None when libcst cannot parse it either (a real syntax error)."""
    import libcst as cst  # only for the rare file this interpreter's grammar rejects

    try:
        module = cst.parse_module(text)
    except Exception:
        return None
    try:
        return module.visit(_downlevel_class()()).code
    except Exception:
        return None


def _downlevel_transformer():
    import libcst as cst

    class Downlevel(cst.CSTTransformer):
        """f-strings (PEP 701) and t-strings in forms that Python 3.10 parses, without moving any line."""

        def __init__(self) -> None:
            super().__init__()
            self._fstring_quotes: list[str] = []

        def visit_FormattedString(self, node) -> None:
            self._fstring_quotes.append(node.quote)

        def leave_FormattedString(self, original, updated):
            self._fstring_quotes.pop()
            if self._fstring_quotes and updated.quote == self._fstring_quotes[-1]:
                return _requoted_fstring(updated, self._fstring_quotes[-1])
            if len(updated.quote) == 1 and "\n" in cst.Module(body=[]).code_for_node(updated):
                # a line break inside a replacement field (3.12): legal in a triple-quoted f-string
                return updated.with_changes(start=updated.start + updated.quote * 2, end=updated.quote * 3)
            return updated

        def leave_TemplatedString(self, original, updated):  # t"..." (3.14): its value does not matter here
            return cst.SimpleString(value='""', lpar=updated.lpar, rpar=updated.rpar)

        def leave_SimpleString(self, original, updated):  # f"{d["key"]}" (3.12)
            if self._fstring_quotes and updated.quote in self._fstring_quotes[-1]:
                return _requoted(updated, self._fstring_quotes[-1])
            return updated

    def _other_quote(outer: str) -> Optional[str]:
        return "'" if '"' in outer else '"'

    def _requoted(string, outer: str):
        quote = _other_quote(outer)
        prefix = string.prefix
        body = string.value[len(prefix) + len(string.quote): -len(string.quote)]
        if quote in body or "\n" in body:
            return string.with_changes(value=f"{prefix}{quote}{quote}")  # its value does not matter here
        return string.with_changes(value=f"{prefix}{quote}{body}{quote}")

    def _requoted_fstring(string, outer: str):
        quote = _other_quote(outer)
        return string.with_changes(start=string.start.replace(string.quote, quote), end=quote)

    return Downlevel


_DOWNLEVEL: list = []  # the transformer class, built on first use so that importing this module skips libcst


def import_rewriter() -> None:
    """Import what reads a file this interpreter's grammar rejects (libcst: 0.27 s, 9 MB), before
    the first such file: in an editor, the first half-typed line, whose diagnostics it would hold
    back (every keystroke that leaves a syntax error asks libcst whether the file is newer Python)."""
    _downlevel_class()


def _downlevel_class():
    if not _DOWNLEVEL:
        _DOWNLEVEL.append(_downlevel_transformer())
    return _DOWNLEVEL[0]
