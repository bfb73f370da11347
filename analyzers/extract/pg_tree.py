"""pglast's syntax tree of a SQL text, built from the parser's JSON output.

`pglast.parse_sql` builds each node through its validating `__setattr__` (an isinstance check,
an enum lookup and an import per attribute): 0.31 s of 1,000 migration files, against 0.014 s
for `pglast.parser.parse_sql_json`, the same parse written out by libpg_query. `parse_sql` here
reads that JSON and sets the same attributes directly: the same nodes, the same values, the
same locations (character indices, as pglast's own `Displacements` computes them, only faster).

Each attribute's value follows its C type, as pglast's Cython builder does (pglast/ast.pyx):
libpg_query leaves out a field that is false, zero, empty or NULL, and the builder reads those
as False, 0, "\\0", None. A node type, field or shape this module does not know is not guessed:
the text is parsed by `pglast.parse_sql` instead (`_Unknown`). The tests compare both trees,
attribute by attribute and location by location, on the SQL of the fixtures, of the corpus and
PostgreSQL's own scripts (system views, information schema, contrib extensions).

A text of more than a megabyte (a seed file, a dump) is parsed, and scanned, a run of whole
statements at a time (`parse_runs`, `scan_runs`): in linear time and memory, where pglast's
location conversion is quadratic in the non-ASCII characters of the whole text.
"""

from __future__ import annotations

import bisect
import json
import keyword
from typing import Any, Callable, Iterator, Optional, Union

from ..lazy_module import LazyModule
from ..lazy_pattern import LazyPattern

# Imported when a text is parsed or scanned (lazy_module.py)
pglast = LazyModule("pglast", globals(), "pglast")
ast = LazyModule("pglast.ast", globals(), "ast")
enums = LazyModule("pglast.enums", globals(), "enums")
parser = LazyModule("pglast.parser", globals(), "parser")

# What an attribute holds, by its C type in pglast's slot table
_BOOL, _TEXT, _CHAR, _ENUM, _LIST, _NODE, _STRUCT, _LOCATION, _NUMBER = range(9)
# Integer C types pglast copies as they are
_NUMBERS = {"int", "int16", "int32", "long", "bits32", "Index", "AttrNumber", "Cardinality", "Cost", "AclMode",
            "RelFileNumber", "SubTransactionId"}


_ALWAYS_WRITTEN = object()


class _Unknown(Exception):
    """A shape of the JSON this module does not build: the text goes to pglast.parse_sql."""


# A longer text is parsed a run of whole statements at a time, each run's JSON and then its
# nodes before the next run's: the JSON of a whole text and its dictionaries take twice the
# memory of the nodes made of them (a 6 MB dump of INSERTs: 570 MB, against pglast's 255), and a
# caller that takes the runs one by one (the extractor) holds one run's nodes at a time.
_RUN_CHARACTERS = 1 << 20
# A run this long holds a statement of megabytes (a run ends at the first statement after
# _RUN_CHARACTERS): read by pglast when it is ASCII.
_LONG_RUN_CHARACTERS = 4 * _RUN_CHARACTERS


def parse_sql(text: str) -> tuple[ast.RawStmt, ...]:
    """`pglast.parse_sql(text)`: the same statements, raising the same ParseError."""
    statements: list[ast.RawStmt] = []
    for _start, _end, parsed in parse_runs(text):
        if isinstance(parsed, parser.ParseError):
            raise parsed
        statements += parsed
    return tuple(statements)


def parse_runs(text: str, runs: Optional[list[tuple[int, int]]] = None
               ) -> Iterator[tuple[int, int, Union[tuple[ast.RawStmt, ...], parser.ParseError]]]:
    """The statements of `text` a run at a time (`statement_runs`, or `runs` found before):
    (start, end, the statements of text[start:end], located in `text`), or the ParseError of
    the first statement PostgreSQL rejects in that run, its index in `text`, instead of its
    statements. A run that ends inside a statement (libpg_query's scanner-based split takes the
    semicolons of a `BEGIN ATOMIC` body for ends) is parsed again with the next one."""
    runs = runs if runs is not None else statement_runs(text)
    number = 0
    while number < len(runs):
        start, last = runs[number][0], number
        while True:
            end = runs[last][1]
            try:
                parsed: Union[tuple[ast.RawStmt, ...], parser.ParseError] = _parsed_run(text, start, end)
            except parser.ParseError as error:
                if last + 1 < len(runs) and str(error.args[0]).endswith("at end of input"):
                    last += 1
                    continue
                parsed = error
            break
        yield start, end, parsed
        number = last + 1


def _parsed_run(text: str, start: int, end: int) -> tuple[ast.RawStmt, ...]:
    """The statements of text[start:end] located in `text`, or its ParseError, its index in
    `text`. A run after the first is parsed after one space: libpg_query leaves out a location
    of 0, which pglast reads as the text's first character, and 0 is also what a location the
    parser does not set holds (an IN list's bounds in a SQL function's body). With the space, the
    run's first token is at 1, and a location left out stays 0, as in the whole text."""
    if start:
        run = " " + text[start:end]

        def located(index: Optional[int]) -> Optional[int]:
            return index and index - 1 + start
    else:
        run = text[:end]
        located = None
    try:
        if len(run) > _LONG_RUN_CHARACTERS and run.isascii():
            # A statement of megabytes (a multi-row INSERT): pglast's nodes, without the JSON's
            # dictionaries; pglast is slow only on a text that is not ASCII.
            return _relocated(pglast.parse_sql(run), located)
        document = json.loads(parser.parse_sql_json(run))  # the JSON text is freed before the nodes are made
        try:
            return _Builder(_CharacterIndex(run), located).statements(document)
        except _Unknown:
            return _relocated(pglast.parse_sql(run), located)
    except parser.ParseError as error:
        stopped = stopped_at(error)
        raise parser.ParseError(error.args[0], located(stopped) if located else stopped) from None


def statement_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of `text`, end to end, each a run of whole statements of
    `_RUN_CHARACTERS` or a little more: a run begins where a statement does, the comments before
    it included, and ends where the next run begins (PostgreSQL locates a statement at its first
    token, whatever comes before it). Found by libpg_query's scanner-based split on the text's
    ASCII stand-in (see `scan`), in linear time; one run when the text is shorter, has a
    non-ASCII dollar-quote tag, or is rejected by the scanner."""
    whole = [(0, len(text))]
    if len(text) <= _RUN_CHARACTERS or (not text.isascii() and _NOT_ASCII_TAG.search(text)):
        return whole
    try:
        pieces = split(text, with_parser=False)
    except parser.ParseError:
        return whole
    starts = [0]
    for piece in pieces:
        if piece.start - starts[-1] >= _RUN_CHARACTERS:
            starts.append(piece.start)
    return list(zip(starts, [*starts[1:], len(text)]))


def split(text: str, with_parser: bool = True) -> list[slice]:
    """`pglast.parser.split(text, with_parser, only_slices=True)`: the slices of the statements,
    split by the parser or by the scanner alone, in linear time: pglast makes each statement's
    byte offset a character index as it does a token's (see `scan`). Raises ParseError as pglast
    does."""
    pieces, index = _through_the_stand_in(
        text, lambda sql: pglast.parser.split(sql, with_parser=with_parser, only_slices=True))
    if index is None:
        return list(pieces)
    return [slice(index(piece.start), index(piece.stop - 1) + 1) for piece in pieces]


def _relocated(statements: tuple[ast.RawStmt, ...], located: Optional[Callable[[int], int]]) -> tuple[ast.RawStmt, ...]:
    """pglast's statements of a run, their locations made indices of the whole text by `located`."""
    if located is not None:
        for statement in statements:
            statement.stmt_location = located(statement.stmt_location)
            _relocate(statement.stmt, located)
    return statements


def _relocate(value: Any, located: Callable[[int], int]) -> None:
    if isinstance(value, tuple):
        for item in value:
            _relocate(item, located)
    elif isinstance(value, ast.Node):
        for name, slot in type(value).__slots__.items():
            attribute = getattr(value, name)
            if slot.c_type == "ParseLoc":
                if attribute is not None:
                    setattr(value, name, located(attribute))
            else:
                _relocate(attribute, located)


_NOT_ASCII = LazyPattern(r"[^\x00-\x7f]")
# A dollar quote whose tag is not ASCII: its stand-in could be another tag of the text
_NOT_ASCII_TAG = LazyPattern(r"\$[^$\s]*[^\x00-\x7f][^$\s]*\$")


def scan(text: str, offset: int = 0) -> list:
    """`pglast.parser.scan(text)`: the same tokens, their offsets in characters (`offset` added:
    a run's tokens, located in the whole text). pglast turns each token's byte offsets into
    character indices by searching a list of every byte of every non-ASCII character: on a
    600 KB text with an accented name in each row, 37 s. A text the scanner rejects raises
    pglast's ParseError."""
    tokens, index = _through_the_stand_in(text, pglast.parser.scan)
    if index is None and not offset:
        return tokens
    token_type = type(tokens[0]) if tokens else tuple
    if index is None:
        return [token_type(start + offset, end + offset, name, kind) for start, end, name, kind in tokens]
    return [token_type(index(start) + offset, index(end) + offset, name, kind) for start, end, name, kind in tokens]


def _through_the_stand_in(text: str, read: Callable[[str], Any]) -> tuple[Any, Optional[_CharacterIndex]]:
    """What pglast's `read` (its scanner, its split) gives of `text`, and the character index of
    its offsets when they are byte offsets. A text that is not ASCII is read as its stand-in, each
    non-ASCII character written as as many `_` as it has bytes (PostgreSQL's scanner takes any
    byte over 0x7F for a letter of a name, as it takes `_`): the offsets are the text's byte
    offsets, made character indices by bisection. A text with a non-ASCII dollar-quote tag (its
    stand-in could be another tag), and one the stand-in's reading rejects (pglast's error quotes
    the text, not the stand-in), are read by pglast itself."""
    if text.isascii() or _NOT_ASCII_TAG.search(text):
        return read(text), None
    try:
        return read(_stand_in(text)), _CharacterIndex(text)
    except parser.ParseError:
        return read(text), None


def scan_readable(text: str) -> tuple[list, int]:
    """`scan(text)`, and how far the tokens are certain: where the scanner stops (an unterminated
    string, quoted name or comment), the tokens before it and that index; else all of them and
    the text's length."""
    try:
        return scan(text), len(text)
    except parser.ParseError as error:
        readable = stopped_at(error) or 0
    try:
        return scan(text[:readable]), readable
    except parser.ParseError:
        return [], 0


def statement_spans(text: str) -> list[tuple[int, int, Optional[int]]]:
    """(start, end, first) of each statement, split at top-level semicolons by PostgreSQL's
    scanner, which knows strings, dollar quotes and comments: `start` is its first token's, a
    comment's too, `first` its first token that is no comment (None for comments alone). Where
    the scanner stops (an unterminated string, quoted name or comment), the statement it is in
    runs to the end of the text."""
    tokens, readable = scan_readable(text)
    spans: list[tuple[int, int, Optional[int]]] = []
    start = first = None
    depth = 0
    for token in tokens:
        start = token.start if start is None else start
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        first = token.start if first is None else first
        if token.name == "ASCII_40":
            depth += 1
        elif token.name == "ASCII_41":
            depth = max(depth - 1, 0)
        elif token.name == "ASCII_59" and depth == 0:
            spans.append((start, token.start, first))
            start = first = None
    if start is None and text[readable:].strip():
        start = readable
    if first is None and text[readable:].strip():
        first = readable
    if start is not None:
        spans.append((start, len(text), first))
    return spans


def scan_runs(text: str) -> Iterator[list]:
    """`scan(text)` a run at a time (`statement_runs`): the tokens of each run, located in
    `text`. A text cut into runs was read whole by the scanner; one it rejects is one run, and
    raises ParseError as `scan` does."""
    for start, end in statement_runs(text):
        yield scan(text[start:end], start)


def stopped_at(error: parser.ParseError) -> Optional[int]:
    """The index where the parser or the scanner stopped, when the error says."""
    return error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None


def _stand_in(text: str) -> str:
    """`text` with each non-ASCII character written as as many `_` as it has UTF-8 bytes."""
    return _NOT_ASCII.sub(lambda character: "_" * len(character.group().encode("utf-8", "surrogatepass")), text)


class _CharacterIndex:
    """The index of the character a byte offset of the text's UTF-8 falls in, None outside it:
    what pglast's `Displacements` gives, found by bisection. Displacements searches its list of
    every byte of every non-ASCII character from the end, at each location: a 6 MB dump of
    INSERTs with an accented name in each row took 26 s to parse."""

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []  # the byte offset of each non-ASCII character
        self.sizes: list[int] = []  # its bytes
        self.extra: list[int] = []  # the bytes beyond one per character up to it, itself included
        extra = 0
        for match in _NOT_ASCII.finditer(text):
            size = len(match.group().encode("utf-8", "surrogatepass"))
            self.starts.append(match.start() + extra)
            self.sizes.append(size)
            extra += size - 1
            self.extra.append(extra)
        # Displacements keeps the last offset unsigned: an empty text's is 2**64 - 1
        self.last = len(text) + extra - 1 if text else 2**64 - 1

    def __call__(self, offset: int) -> Optional[int]:
        if not 0 <= offset <= self.last:
            return None
        before = bisect.bisect_right(self.starts, offset) - 1
        if before < 0:
            return offset
        start = self.starts[before]
        if offset < start + self.sizes[before]:  # one of its bytes: the character itself
            return start - (self.extra[before] - self.sizes[before] + 1)
        return offset - self.extra[before]


def _attribute_kind(c_type: str) -> tuple[int, Any, Any]:
    """The attribute's kind, its enum or node class, and its value when libpg_query leaves it out."""
    if c_type == "bool":
        return _BOOL, None, False
    if c_type == "char*":
        return _TEXT, None, None
    if c_type == "char":
        return _CHAR, None, "\x00"
    if c_type == "ParseLoc":
        return _LOCATION, None, 0  # an offset, made an index as the others are
    if c_type == "List*":
        return _LIST, None, None
    if c_type in _NUMBERS:
        return _NUMBER, None, 0
    enum = getattr(enums, c_type, None)
    if enum is not None:
        return _ENUM, enum, _zero_of(enum)
    if c_type in ("Node*", "Expr*"):
        return _NODE, None, None
    node_class = getattr(ast, c_type.rstrip("*"), None)
    if isinstance(node_class, type) and issubclass(node_class, ast.Node):
        return _STRUCT, node_class, None
    raise _Unknown(c_type)


def _zero_of(enum: type) -> Any:
    """An enum field is left out when 0; an enum of characters has no 0: its fields are always written."""
    try:
        return enum(0)
    except ValueError:
        return _ALWAYS_WRITTEN


_Layout = tuple[tuple[str, Callable[[Any, Any], None], int, Any, Any], ...]
_layouts: dict[type, _Layout] = {}


def _layout(node_class: type) -> _Layout:
    """(JSON key, the slot's setter, kind, enum or node class, value left out) of each attribute."""
    known = _layouts.get(node_class)
    if known is None:
        slots = node_class.__dict__.get("__slots__")
        if not isinstance(slots, dict):
            raise _Unknown(node_class.__name__)
        known = []
        for name, info in slots.items():
            key = name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name
            known.append((key, getattr(node_class, name).__set__, *_attribute_kind(info.c_type)))
        known = _layouts[node_class] = tuple(known)
    return known


# A_Const's value: the one field libpg_query writes, and the node pglast makes of it. pglast's
# A_Const has no location; one that has is built by pglast.
_CONSTANT_SLOTS = {"isnull", "val"}
_CONSTANTS = {"ival": ("Integer", "ival", 0), "fval": ("Float", "fval", None), "boolval": ("Boolean", "boolval", False),
              "sval": ("String", "sval", None), "bsval": ("BitString", "bsval", None)}


class _Builder:
    def __init__(self, index: _CharacterIndex, located: Optional[Callable[[Optional[int]], Optional[int]]] = None) -> None:
        # pglast's locations are character indices; libpg_query's, byte offsets. On an ASCII text
        # they are the same, save the ones outside it, which pglast reads as None. A run's are
        # then made the whole text's (`located`).
        self.index_of = index if located is None else (lambda offset: located(index(offset)))

    def statements(self, document: dict) -> tuple[ast.RawStmt, ...]:
        built = []
        raws = document.get("stmts", [])
        for number, raw in enumerate(raws):
            raws[number] = None  # each statement's JSON is freed once its nodes are made
            statement = ast.RawStmt.__new__(ast.RawStmt)
            start = raw.get("stmt_location", 0)
            stmt = raw.get("stmt")
            ast.RawStmt.stmt.__set__(statement, self.node(stmt) if stmt is not None else None)
            ast.RawStmt.stmt_location.__set__(statement, self.index_of(start))
            end = self.index_of(start + raw.get("stmt_len", 0))
            ast.RawStmt.stmt_len.__set__(statement, None if end is None else end - self.index_of(start))
            built.append(statement)
        return tuple(built)

    def node(self, wrapped: dict) -> Any:
        """A node written with its type's name as the only key (a Node* field, a list item); a
        list's NULL item (RangeFunction's (function, column definitions) pairs) is written `{}`."""
        if not wrapped:
            return None
        if len(wrapped) != 1:
            raise _Unknown(wrapped)
        ((name, fields),) = wrapped.items()
        if name == "List":
            return tuple(self.node(item) for item in fields.get("items", ()))
        if name == "A_Const":
            return self.constant(fields)
        node_class = getattr(ast, name, None)
        if not (isinstance(node_class, type) and issubclass(node_class, ast.Node)):
            raise _Unknown(name)
        return self.struct(node_class, fields)

    def struct(self, node_class: type, fields: dict) -> Any:
        node = node_class.__new__(node_class)
        written = 0
        for key, set_slot, kind, detail, left_out in _layout(node_class):
            value = fields.get(key)
            if value is None:  # most attributes: what a node leaves unset
                if left_out is _ALWAYS_WRITTEN:
                    raise _Unknown(key)
                set_slot(node, self.index_of(0) if kind == _LOCATION else left_out)
                continue
            written += 1
            if kind == _LOCATION:
                value = self.index_of(value)
            elif kind == _NODE:
                value = self.node(value)
            elif kind == _LIST:
                value = tuple(self.node(item) for item in value)
            elif kind == _ENUM:
                value = detail[value]
            elif kind == _STRUCT:
                value = self.node(value) if _wrapped(value) else self.struct(detail, value)
            set_slot(node, value)  # booleans (written when true), texts, characters, numbers: as written
        if written != len(fields):  # a field pglast has no slot for: another libpg_query than pglast's
            raise _Unknown(fields)
        return node

    def constant(self, fields: dict) -> ast.A_Const:
        if set(ast.A_Const.__slots__) != _CONSTANT_SLOTS:
            raise _Unknown("A_Const")
        constant = ast.A_Const.__new__(ast.A_Const)
        isnull = bool(fields.get("isnull"))
        value: Optional[ast.Node] = None
        if not isnull:
            written = [key for key in fields if key in _CONSTANTS]
            if len(written) != 1:
                raise _Unknown(fields)
            class_name, attribute, default = _CONSTANTS[written[0]]
            node_class = getattr(ast, class_name)
            value = node_class.__new__(node_class)
            getattr(node_class, attribute).__set__(value, fields[written[0]].get(attribute, default))
        ast.A_Const.isnull.__set__(constant, isnull)
        ast.A_Const.val.__set__(constant, value)
        return constant


def _wrapped(value: dict) -> bool:
    if len(value) != 1:
        return False
    (name,) = value
    return isinstance(getattr(ast, name, None), type)
