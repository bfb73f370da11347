"""squawk's rule tests, read from a snapshot of its repository (never copied into this one).

Each rule module `crates/squawk_linter/src/rules/<rule>.rs` ends in a `#[cfg(test)]` module whose
tests call `lint_errors`/`lint_ok` (and `_with` variants taking `LinterSettings`) or `fix_sql`
(which asserts the rule reports something first) on inline SQL. This module reads those calls
with a small Rust lexer: string literals (plain and raw), identifiers and punctuation, then
resolves the SQL argument (a literal, or a `let` binding earlier in the test, including
`"a".repeat(n)` and `format!`), the rule (`Rule::X`, directly or through a helper function of
the test module) and the settings (`pg_version`, `assume_in_transaction`).

    cases(git_dir) -> list[SquawkCase]
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

RULES_DIR = "crates/squawk_linter/src/rules"
DEFAULT_PG_VERSION = 15  # squawk's `Version::default()` (crates/squawk_linter/src/version.rs)

_TEST_FUNCTIONS = {
    "lint_errors": ("flag", False), "lint_errors_with": ("flag", True),
    "lint_ok": ("ok", False), "lint_ok_with": ("ok", True),
    "fix_sql": ("flag", False), "fix_sql_with": ("flag", True),  # a fix test first asserts that the rule reports
}


@dataclass(frozen=True)
class SquawkCase:
    rule: str  # kebab-case, as squawk names it: "adding-field-with-default"
    test: str  # the test function
    index: int  # the call's number within the test function (a test may lint several statements)
    sql: str
    expect: str  # "flag" or "ok"
    pg_version: int = DEFAULT_PG_VERSION
    assume_in_transaction: bool = False

    @property
    def name(self) -> str:
        return f"{self.rule}::{self.test}" + (f"#{self.index}" if self.index else "")


@dataclass(frozen=True)
class Token:
    kind: str  # "str", "ident", "num", "punct"
    value: str
    start: int


# lexing

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"\d+")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _tokens(text: str) -> list[Token]:
    tokens, i = [], 0
    while i < len(text):
        c = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i) if text.find("\n", i) >= 0 else len(text)
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 2
        elif c.isspace():
            i += 1
        elif c == "r" and re.match(r'r#*"', text[i:]):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            start = i + 2 + len(hashes)
            end = text.index('"' + hashes, start)
            tokens.append(Token("str", text[start:end], i))
            i = end + 1 + len(hashes)
        elif c == '"':
            value, j = [], i + 1
            while text[j] != '"':
                if text[j] == "\\":
                    following = text[j + 1]
                    if following == "\n":  # a line continuation skips the newline and leading spaces
                        j += 2
                        while text[j] in " \t\n":
                            j += 1
                        continue
                    if following == "u":
                        close = text.index("}", j)
                        value.append(chr(int(text[j + 3:close], 16)))
                        j = close + 1
                        continue
                    value.append(_ESCAPES.get(following, following))
                    j += 2
                else:
                    value.append(text[j])
                    j += 1
            tokens.append(Token("str", "".join(value), i))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):  # a char literal, not a lifetime
            i += len(re.match(r"'(\\.|[^\\'])'", text[i:]).group(0))
        elif _IDENT.match(text, i):
            match = _IDENT.match(text, i)
            tokens.append(Token("ident", match.group(0), i))
            i = match.end()
        elif _NUMBER.match(text, i):
            match = _NUMBER.match(text, i)
            tokens.append(Token("num", match.group(0), i))
            i = match.end()
        else:
            tokens.append(Token("punct", c, i))
            i += 1
    return tokens


def _matching(tokens: list[Token], open_index: int) -> int:
    """The index of the bracket closing the one at `open_index`."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener = tokens[open_index].value
    depth = 0
    for index in range(open_index, len(tokens)):
        value = tokens[index].value if tokens[index].kind == "punct" else None
        if value == opener:
            depth += 1
        elif value == pairs[opener]:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError("unbalanced brackets")


def _split_arguments(tokens: list[Token]) -> list[list[Token]]:
    """The comma-separated arguments of a call, `tokens` being what lies between its parentheses."""
    arguments, current, depth = [], [], 0
    for token in tokens:
        if token.kind == "punct" and token.value in "([{":
            depth += 1
        elif token.kind == "punct" and token.value in ")]}":
            depth -= 1
        if token.kind == "punct" and token.value == "," and depth == 0:
            arguments.append(current)
            current = []
        else:
            current.append(token)
    if current:
        arguments.append(current)
    return arguments


# reading a test module

@dataclass
class _Helper:
    kind: str  # "flag" or "ok"
    rule: Optional[str]
    settings: Optional[list[Token]]  # fixed settings, or None: taken from the call's second argument
    takes_settings: bool


def _rule_in(tokens: list[Token]) -> Optional[str]:
    for index, token in enumerate(tokens[:-3]):
        if token.value == "Rule" and tokens[index + 1].value == ":" and tokens[index + 2].value == ":":
            return tokens[index + 3].value
    return None


def _functions(tokens: list[Token]) -> list[tuple[str, bool, list[Token], list[Token]]]:
    """(name, is_test, parameters, body) of every `fn` in the tokens."""
    found = []
    for index, token in enumerate(tokens):
        if token.kind != "ident" or token.value != "fn" or index + 2 >= len(tokens):
            continue
        name = tokens[index + 1].value
        open_parameters = index + 2
        close_parameters = _matching(tokens, open_parameters)
        body_open = next(i for i in range(close_parameters, len(tokens)) if tokens[i].value == "{")
        body_close = _matching(tokens, body_open)
        attributes = tokens[max(0, index - 8):index]
        is_test = any(t.value == "test" for t in attributes) and any(t.value == "#" for t in attributes)
        found.append((name, is_test, tokens[open_parameters + 1:close_parameters], tokens[body_open + 1:body_close]))
    return found


def _helpers(functions, settings_helpers: dict[str, list[Token]]) -> dict[str, _Helper]:
    helpers: dict[str, _Helper] = {}
    for name, is_test, parameters, body in functions:
        if is_test:
            continue
        for index, token in enumerate(body):
            called = token.value
            if token.kind == "ident" and called in _TEST_FUNCTIONS and index + 1 < len(body) and body[index + 1].value == "(":
                kind, with_settings = _TEST_FUNCTIONS[called]
                arguments = _split_arguments(body[index + 2:_matching(body, index + 1)])
                takes_settings = any(t.value == "LinterSettings" for t in parameters)
                settings = None
                if with_settings and not takes_settings and len(arguments) >= 2:
                    settings = _expand_settings(arguments[1], settings_helpers)
                helpers[name] = _Helper(kind, _rule_in(body), settings, takes_settings)
                break
    return helpers


def _settings_helpers(functions) -> dict[str, list[Token]]:
    """Functions returning LinterSettings (`fn pg19() -> LinterSettings { ... }`): name -> body."""
    return {name: body for name, is_test, parameters, body in functions
            if not is_test and not parameters and any(t.value == "LinterSettings" for t in body)}


def _expand_settings(tokens: list[Token], settings_helpers: dict[str, list[Token]],
                     bound: Optional[dict[str, list[Token]]] = None) -> list[Token]:
    """The settings expression with helper calls and `let` bindings replaced by their tokens."""
    expanded = []
    for token in tokens:
        expanded.append(token)
        if token.kind == "ident" and token.value in settings_helpers:
            expanded += settings_helpers[token.value]
        elif token.kind == "ident" and bound and token.value in bound:
            expanded += _expand_settings(bound[token.value], settings_helpers)
    return expanded


def _settings(tokens: list[Token]) -> tuple[int, bool]:
    version, in_transaction = DEFAULT_PG_VERSION, False
    for index, token in enumerate(tokens):
        if token.value == "pg_version":
            literal = next((t for t in tokens[index:] if t.kind == "str"), None)
            if literal is not None:
                version = int(literal.value.split(".")[0])
        if token.value == "assume_in_transaction" and index + 2 < len(tokens) and tokens[index + 2].value == "true":
            in_transaction = True
    return version, in_transaction


def _evaluate(tokens: list[Token], bindings: dict[str, str]) -> Optional[str]:
    """A string expression: a literal, a bound name, `"a".repeat(n)`, `format!(...)`, `&x`."""
    tokens = [t for t in tokens if not (t.kind == "punct" and t.value == "&")]
    if not tokens:
        return None
    if len(tokens) == 1:
        return tokens[0].value if tokens[0].kind == "str" else bindings.get(tokens[0].value)
    if tokens[0].kind == "str" and len(tokens) >= 6 and tokens[2].value == "repeat" and tokens[4].kind == "num":
        return tokens[0].value * int(tokens[4].value)
    if tokens[0].value == "format" and tokens[1].value == "!":
        arguments = _split_arguments(tokens[3:-1])
        template = _evaluate(arguments[0], bindings)
        values = [_evaluate(argument, bindings) for argument in arguments[1:]]
        if template is None or any(value is None for value in values):
            return None
        positional = iter(values)
        try:
            return re.sub(r"\{(\w*)\}", lambda m: bindings[m.group(1)] if m.group(1) else next(positional),
                          template.replace("{{", "\x01").replace("}}", "\x02")).replace("\x01", "{").replace("\x02", "}")
        except (KeyError, StopIteration):
            return None
    if len(tokens) >= 3 and tokens[-2].value == "." and tokens[-1].value in ("to_string", "as_str"):
        return _evaluate(tokens[:-2], bindings)
    return None


def _cases_of_test(rule_file: str, name: str, body: list[Token], helpers: dict[str, _Helper],
                   settings_helpers: dict[str, list[Token]], skipped: list[str]) -> list[SquawkCase]:
    cases, bindings, count = [], {}, 0
    bound_tokens: dict[str, list[Token]] = {}  # `let settings = LinterSettings { ... };`
    index = 0
    while index < len(body):
        token = body[index]
        if token.value == "let" and index + 3 < len(body):
            target = index + 1 + (body[index + 1].value == "mut")
            end = next(i for i in range(target, len(body)) if body[i].value == ";")
            value = _evaluate(body[target + 2:end], bindings) if body[target + 1].value == "=" else None
            if value is not None:
                bindings[body[target].value] = value
            else:
                bound_tokens[body[target].value] = body[target + 2:end]
            index = end + 1
            continue
        called = token.value
        if token.kind == "ident" and index + 1 < len(body) and body[index + 1].value == "(" and (
                called in _TEST_FUNCTIONS or called in helpers) and not (index and body[index - 1].value == "fn"):
            close = _matching(body, index + 1)
            arguments = _split_arguments(body[index + 2:close])
            if called not in helpers:
                kind, with_settings = _TEST_FUNCTIONS[called]
                rule = _rule_in(body[index:close])
                settings = (_expand_settings(arguments[1], settings_helpers, bound_tokens)
                            if with_settings and len(arguments) > 1 else [])
            else:
                helper = helpers[called]
                kind, rule = helper.kind, helper.rule
                settings = helper.settings or (_expand_settings(arguments[1], settings_helpers, bound_tokens)
                                               if helper.takes_settings and len(arguments) > 1 else [])
            sql = _evaluate(arguments[0], bindings) if arguments else None
            if sql is None or rule is None:
                skipped.append(f"{rule_file}::{name}: {called}(...) not read")
            else:
                version, in_transaction = _settings(settings)
                cases.append(SquawkCase(_kebab(rule), name, count, sql, kind, version, in_transaction))
                count += 1
            index = close + 1
            continue
        index += 1
    return cases


def _kebab(rule: str) -> str:
    name = re.sub(r"(?<!^)(?=[A-Z])", "-", rule).lower()
    return {"adding-not-nullable-field": "adding-not-nullable-field", "prefer-timestamp-tz": "prefer-timestamp-tz",
            "disallowed-unique-constraint": "disallowed-unique-constraint"}.get(name, name)


def cases_of_module(rule_file: str, text: str, skipped: list[str]) -> list[SquawkCase]:
    start = text.find("#[cfg(test)]")
    if start < 0:
        return []
    tokens = _tokens(text[start:])
    functions = _functions(tokens)
    settings_helpers = _settings_helpers(functions)
    helpers = _helpers(functions, settings_helpers)
    cases = []
    for name, is_test, _, body in functions:
        if is_test:
            cases += _cases_of_test(rule_file, name, body, helpers, settings_helpers, skipped)
    return cases


def cases(git_dir: Path, revision: str = "HEAD") -> tuple[list[SquawkCase], list[str], str]:
    """Every test case of squawk's rule modules at `revision` of the bare repository `git_dir`:
    (cases, the calls that could not be read, the commit read)."""
    def git(*arguments: str) -> str:
        return subprocess.run(["git", "--git-dir", str(git_dir), *arguments], capture_output=True, text=True,
                              check=True).stdout

    commit = git("rev-parse", revision).strip()
    names = [line for line in git("ls-tree", "--name-only", commit, RULES_DIR + "/").splitlines() if line.endswith(".rs")]
    found, skipped = [], []
    for path in sorted(names):
        found += cases_of_module(Path(path).name, git("show", f"{commit}:{path}"), skipped)
    return found, skipped, commit
