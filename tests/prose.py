"""A small checker for English prose left in Chinese text: fenced code blocks, code spans, quoted
SQL, quoted strings and identifiers are ignored; three or more English words in a row, one of them a common
English word (the, of, in, ...), count as prose."""

from __future__ import annotations

import re

_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`]*`")
# SQL as the texts quote it: from a statement's verb to its semicolon (or the line's end).
_SQL = re.compile(r"\b(?:SELECT|CREATE|ALTER|DROP|UPDATE|DELETE|INSERT|EXPLAIN|SET|WITH|REINDEX|VACUUM|ANALYZE|"
                  r"LOCK|TRUNCATE|COMMENT|GRANT|REVOKE|BEGIN|COMMIT)\b[^;\n。；]*(?:;|$)", re.M)
# PostgreSQL's and the tools' own messages, quoted: `relation "x" does not exist`.
_QUOTED = re.compile(r'"[^"\n]*"|\'[^\'\n]*\'')
# SQL type names and expressions as the schema map prints them (`shipped_at IS NULL OR ...`).
_SQL_TYPES = re.compile(r"\b(?:timestamp|time) with(?:out)? time zone\b|\bdouble precision\b|\bcharacter varying\b")
_SQL_KEYWORD = re.compile(r"\b[A-Z]{2,}\b")
_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,]+[A-Za-z][A-Za-z'-]*){2,}")
_COMMON = frozenset("""the a an of to in is are was be been and or with without for on at that this it its
    by as not from when which has have no every each into than then there their they them will would
    can cannot could should must may might do does did so if but all any one only while after before
    what where who how why your you we our""".split())


def english_prose(text: str) -> list[str]:
    """The runs of English words in `text` that read as prose."""
    text = _SQL_TYPES.sub(" ", _QUOTED.sub(" ", _SQL.sub(" ", _CODE_SPAN.sub(" ", _FENCED.sub(" ", text)))))
    found = []
    for run in _RUN.finditer(text):
        words = re.split(r"[ ,]+", run.group(0))
        if any(word in _COMMON for word in words) and not _SQL_KEYWORD.search(run.group(0)):
            found.append(run.group(0))
    return found


def python_prose(source: str, template: str = "") -> str:
    """The prose SchemaLens wrote into a generated revision: the module docstring without its first
    line (Alembic's revision message, which names the file) and the comments, one per line; lines
    that come from the project's own `template` (its script.py.mako) are left out."""
    import ast
    import io
    import tokenize

    docstring = (ast.get_docstring(ast.parse(source)) or "").splitlines()[1:]
    comments = [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline)
                if token.type == tokenize.COMMENT]
    return "\n".join(line.strip().lstrip("# ") for line in (*docstring, *comments) if line.strip() not in template)
