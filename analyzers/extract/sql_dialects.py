"""Which database a SQL file is written for, read from its path and its text.

Real repositories keep SQL for several engines side by side: a MySQL and a PostgreSQL copy of
the same migrations, SQL Server scripts with `GO` batches, Oracle `VARCHAR2` tables, ClickHouse
`ENGINE = MergeTree` tables next to the PostgreSQL ones. A file is read in the dialect it is
written in (PostgreSQL with pglast, the others with sqlglot) or skipped with the reason, so
that "PostgreSQL would reject this statement" is never said of a file that is not PostgreSQL.

Evidence, strongest first: a dialect named in the file name (`x.mysql.up.sql`, ory/pop) or in
a folder of its path (`db/mysql/`, `migration_postgres/`, `clickhouse/migrations/`), then
markers in the text that only one engine accepts. Markers are counted outside comments and
string literals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Optional

from ..lazy_pattern import LazyPattern

POSTGRESQL = "postgresql"

# The kind of UnsupportedStatement recorded for a statement of another engine that sqlglot cannot
# read (here, not beside the reader: the coverage report needs it without importing sqlglot).
UNREAD = "unread by sqlglot"

# Our dialect names -> sqlglot's `read=` names; a dialect missing here cannot be read, only skipped.
SQLGLOT_NAMES = {"mysql": "mysql", "sqlite": "sqlite", "sqlserver": "tsql", "oracle": "oracle",
                 "clickhouse": "clickhouse", "redshift": "redshift", "duckdb": "duckdb", "snowflake": "snowflake",
                 "bigquery": "bigquery"}
LABELS = {POSTGRESQL: "PostgreSQL", "mysql": "MySQL", "sqlite": "SQLite", "sqlserver": "SQL Server",
          "oracle": "Oracle", "clickhouse": "ClickHouse", "cockroachdb": "CockroachDB", "hsqldb": "HSQLDB",
          "h2": "H2", "cassandra": "Cassandra (CQL)", "redshift": "Redshift", "duckdb": "DuckDB",
          "snowflake": "Snowflake", "bigquery": "BigQuery"}

# Words in file and folder names that name an engine.
_NAME_WORDS = {
    "postgres": POSTGRESQL, "postgresql": POSTGRESQL, "pg": POSTGRESQL, "pgsql": POSTGRESQL, "psql": POSTGRESQL,
    "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite", "sqlite3": "sqlite",
    "mssql": "sqlserver", "sqlserver": "sqlserver", "tsql": "sqlserver", "oracle": "oracle", "plsql": "oracle",
    "clickhouse": "clickhouse", "cockroach": "cockroachdb", "cockroachdb": "cockroachdb", "crdb": "cockroachdb",
    "hsqldb": "hsqldb", "hsql": "hsqldb", "h2": "h2", "cassandra": "cassandra", "cql": "cassandra",
    "redshift": "redshift", "duckdb": "duckdb", "snowflake": "snowflake", "bigquery": "bigquery",
}

# Engine names long enough to name their engine at the end of a longer word (`riversqlite`); a
# short one would not (`pg` ends `jpg`).
_LONG_NAME_WORDS = tuple(sorted((word for word in _NAME_WORDS if len(word) >= 5), key=len, reverse=True))

_I, _M = re.IGNORECASE, re.IGNORECASE | re.MULTILINE
_BACKQUOTES = "`backquoted` identifiers"

# (dialect, weight, pattern, what it is, needles): each pattern counts once per file. Every match
# of a pattern holds one of its needles, lowercased: an ASCII text that holds none of them is not
# searched with it (40 searches of every text took 0.3 ms a file, a tenth of a cold SQL-only audit).
# A needle is as long as every match allows: `int64`, not `int`, which every INSERT INTO holds (a
# search over a 20 MB seed file takes 0.5 s).
_MARKERS: tuple[tuple[str, int, LazyPattern, str, tuple[str, ...]], ...] = (
    ("sqlserver", 4, LazyPattern(r"^[ \t]*GO[ \t]*;?[ \t]*$", _M), "GO batch separators",
     ("go",)),
    ("sqlserver", 3, LazyPattern(r"\bIDENTITY\s*\(\s*\d+\s*,\s*\d+\s*\)", _I), "IDENTITY(seed, step)",
     ("identity",)),
    ("sqlserver", 3, LazyPattern(r"\[dbo\]|\bdbo\.\w", _I), "the dbo schema",
     ("dbo",)),
    ("sqlserver", 2, LazyPattern(r"\[[A-Za-z_]\w*\]\s*\.\s*\[[A-Za-z_]\w*\]|\(\s*\[[A-Za-z_]\w*\]\s+\w+", _I), "[bracketed] identifiers",
     ("[",)),
    ("sqlserver", 3, LazyPattern(r"\b(?:NON)?CLUSTERED\b", _I), "CLUSTERED indexes",
     ("clustered",)),
    ("sqlserver", 3, LazyPattern(r"\bSET\s+(?:ANSI_NULLS|QUOTED_IDENTIFIER|NOCOUNT|ANSI_PADDING)\b", _I), "SET ANSI_NULLS",
     ("ansi_nulls", "quoted_identifier", "nocount", "ansi_padding")),
    ("sqlserver", 3, LazyPattern(r"\bOBJECT_ID\s*\(|\bEXEC(?:UTE)?\s+sp_\w+|\bsp_rename\b", _I), "OBJECT_ID()/sp_ procedures",
     ("object_id", "exec", "sp_rename")),
    ("sqlserver", 3, LazyPattern(r"\b(?:DATETIME2|UNIQUEIDENTIFIER|NVARCHAR\s*\(\s*MAX)\b|\bGETDATE\s*\(|\bNEWID\s*\(", _I),
     "DATETIME2/UNIQUEIDENTIFIER/NVARCHAR(MAX)",
     ("datetime2", "uniqueidentifier", "nvarchar", "getdate", "newid")),
    ("sqlserver", 2, LazyPattern(r"\bNVARCHAR\b|\bDECLARE\s+@\w+", _I), "NVARCHAR/DECLARE @variable",
     ("nvarchar", "declare")),
    ("mysql", 3, LazyPattern(r"`[^`\n]+`"), _BACKQUOTES,
     ("`",)),
    ("mysql", 4, LazyPattern(r"\bENGINE\s*=\s*(?:InnoDB|MyISAM|MEMORY|Aria|ARCHIVE|CSV)\b", _I), "ENGINE=InnoDB",
     ("engine",)),
    ("mysql", 3, LazyPattern(r"\bAUTO_INCREMENT\b", _I), "AUTO_INCREMENT",
     ("auto_increment",)),
    ("mysql", 3, LazyPattern(r"\bDEFAULT\s+CHARSET\b|\bCOLLATE\s*=?\s*utf8\w*|\bCHARACTER\s+SET\s+utf8", _I), "utf8 charsets",
     ("charset", "collate", "character")),
    ("mysql", 3, LazyPattern(r"\bUNSIGNED\b|\b(?:TINY|MEDIUM|LONG)(?:INT|TEXT|BLOB)\b", _I), "UNSIGNED/TINYINT/LONGTEXT",
     ("unsigned", "tiny", "medium", "long")),
    ("mysql", 3, LazyPattern(r"\b(?:BIG|SMALL)?INT(?:EGER)?\s*\(\s*\d+\s*\)", _I), "INT(11) display widths",
     ("int",)),
    ("mysql", 3, LazyPattern(r"\bON\s+UPDATE\s+CURRENT_TIMESTAMP\b", _I), "ON UPDATE CURRENT_TIMESTAMP",
     ("current_timestamp",)),
    ("mysql", 3, LazyPattern(r"^\s*DELIMITER\s+\S+", _M), "DELIMITER",
     ("delimiter",)),
    ("mysql", 2, LazyPattern(r"^[ \t]*#", _M), "# comments",
     ("#",)),
    ("mysql", 2, LazyPattern(r"@\w+\s*:?=|\bSET\s+@\w+", _I), "@user variables",
     ("@",)),
    ("clickhouse", 6, LazyPattern(r"\bENGINE\s*=\s*(?:\w*MergeTree|Log|TinyLog|StripeLog|Memory|Distributed|Kafka|"
                                 r"MaterializedView|Null|Buffer|Dictionary|Join|Set|URL|File)\b", _I), "ENGINE = MergeTree",
     ("engine",)),
    ("clickhouse", 4, LazyPattern(r"\bON\s+CLUSTER\b", _I), "ON CLUSTER",
     ("cluster",)),
    ("clickhouse", 3, LazyPattern(r"\b(?:LowCardinality|Nullable|DateTime64|FixedString)\s*\(|\bMap\s*\(\s*\w+\s*,|"
                                 r"\bArray\s*\(\s*(?:String|U?Int\d+|Float\d+)", _I), "LowCardinality/Nullable types",
     ("lowcardinality", "nullable", "datetime64", "fixedstring", "map", "array")),
    ("clickhouse", 3, LazyPattern(r"\bGRANULARITY\s+\d|\bTYPE\s+(?:bloom_filter|minmax|set|tokenbf_v1|ngrambf_v1)\b", _I),
     "data-skipping indexes",
     ("granularity", "type")),
    ("clickhouse", 2, LazyPattern(r"\b(?:U?Int(?:8|16|32|64|128|256)|Float(?:32|64)|DateTime)\b(?!\s*\()"), "UInt64/Float64 types",
     ("int8", "int16", "int32", "int64", "int128", "int256", "float32", "float64", "datetime")),
    ("oracle", 4, LazyPattern(r"\bN?VARCHAR2\b", _I), "VARCHAR2",
     ("varchar2",)),
    ("oracle", 3, LazyPattern(r"\bNUMBER\s*\(\s*\d|\w\s+NUMBER\s*(?:,|\)|NOT\b|DEFAULT\b|PRIMARY\b|$)", _M), "NUMBER columns",
     ("number",)),
    ("oracle", 3, LazyPattern(r"\bSYS(?:DATE|TIMESTAMP)\b|\bFROM\s+DUAL\b|\bEXECUTE\s+IMMEDIATE\b", _I), "SYSDATE/DUAL/EXECUTE IMMEDIATE",
     ("sysdate", "systimestamp", "dual", "immediate")),
    ("oracle", 2, LazyPattern(r"\bNO(?:CACHE|CYCLE|ORDER|LOGGING)\b|\bCLOB\b", _I), "NOCACHE/CLOB",
     ("nocache", "nocycle", "noorder", "nologging", "clob")),
    ("oracle", 2, LazyPattern(r"^[ \t]*/[ \t]*$|^[ \t]*(?:PROMPT|REM|REMARK|SPOOL)\b", _M | re.IGNORECASE),
     "SQL*Plus commands and / lines",
     ("/", "prompt", "rem", "spool")),
    ("oracle", 3, LazyPattern(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:PUBLIC\s+)?SYNONYM\b|\bNVL\s*\(|\bROWNUM\b", _I),
     "synonyms, NVL(), ROWNUM",
     ("synonym", "nvl", "rownum")),
    ("sqlite", 3, LazyPattern(r"\bAUTOINCREMENT\b|^\s*PRAGMA\b|\bWITHOUT\s+ROWID\b", _M), "AUTOINCREMENT/PRAGMA",
     ("autoincrement", "pragma", "rowid")),
    ("sqlite", 2, LazyPattern(r"\bINSERT\s+OR\s+(?:REPLACE|IGNORE)\b|\bdatetime\s*\(\s*'now'", _I), "INSERT OR REPLACE",
     ("replace", "ignore", "datetime")),
    ("sqlite", 3, LazyPattern(r"\bstrftime\s*\(", _I), "strftime()",  # neither PostgreSQL nor MySQL has it
     ("strftime",)),
    ("hsqldb", 4, LazyPattern(r"\b(?:INTEGER|INT|BIGINT)\s+IDENTITY\b(?!\s*\()|\bCREATE\s+(?:MEMORY|CACHED)\s+TABLE\b", _I),
     "INTEGER IDENTITY columns (HSQLDB/H2)",
     ("identity", "memory", "cached")),
    (POSTGRESQL, 4, LazyPattern(r"^[ \t]*\\(?:set|connect|c|i|ir|echo|unset|if|endif|copy)\b", _M), "psql meta-commands",
     ("\\",)),
    (POSTGRESQL, 3, LazyPattern(r"\$\$|\$[A-Za-z_]\w*\$"), "dollar-quoted bodies",
     ("$",)),
    (POSTGRESQL, 3, LazyPattern(r"\b(?:BIG|SMALL)?SERIAL\b|\bJSONB\b|\bTIMESTAMPTZ\b|\bBYTEA\b|\bINET\b|\bTSVECTOR\b", _I),
     "SERIAL/JSONB/TIMESTAMPTZ types",
     ("serial", "jsonb", "timestamptz", "bytea", "inet", "tsvector")),
    (POSTGRESQL, 3, LazyPattern(r"\bCREATE\s+EXTENSION\b|\bplpgsql\b|\bUSING\s+(?:gin|gist|brin|spgist)\b|\bCONCURRENTLY\b", _I),
     "extensions, plpgsql, GIN indexes",
     ("extension", "plpgsql", "using", "concurrently")),
    (POSTGRESQL, 2, LazyPattern(r"::\s*(?:text|int|integer|bigint|jsonb?|timestamptz|timestamp|regclass|uuid|date|numeric|boolean)\b", _I),
     "::casts",
     ("::",)),
    (POSTGRESQL, 2, LazyPattern(r"\bON\s+CONFLICT\b|\bILIKE\b|\b\w+\s*\[\s*\]|\bCOMMENT\s+ON\s+(?:TABLE|COLUMN)\b", _I),
     "ON CONFLICT/ILIKE/arrays",
     ("conflict", "ilike", "[", "comment")),
)

_COMMENTS_AND_STRINGS = LazyPattern(r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'", re.DOTALL)
# Enough evidence to say a file is not PostgreSQL, and how far ahead it must be.
_DECISIVE = 3


@dataclass(frozen=True, slots=True)
class DialectGuess:
    """A dialect, or None when nothing in the file says which; `reason` says what decided."""

    dialect: Optional[str]
    reason: str = ""
    score: int = 0


def name_dialect(path: str) -> Optional[DialectGuess]:
    """The dialect named by the file name (`0001_x.mysql.up.sql`, `schema.postgres.sql`)."""
    parts = PurePosixPath(path).name.lower().split(".")[1:-1]
    for part in parts:
        if part in _NAME_WORDS:
            return DialectGuess(_NAME_WORDS[part], f"the file name says {part}", 100)
    return None


def stem_dialect(path: str) -> Optional[DialectGuess]:
    """The dialect a word of the file's name before its first dot names (fides'
    `docker/sample_data/mariadb_example_schema.sql`): asked after the markers, since a PostgreSQL
    migration may be named for the engine it copies data from (`0005_import_from_mysql.sql`)."""
    for word in re.split(r"[^a-z0-9]+", PurePosixPath(path).name.lower().split(".")[0]):
        if word in _NAME_WORDS:
            return DialectGuess(_NAME_WORDS[word], f"the file name says {word}", 30)
    return None


def folder_dialect(folder: str) -> Optional[DialectGuess]:
    """The dialect named by the nearest folder of `folder` whose name has an engine's word
    (`db/mysql`, `migration_postgres`, `mysql-persistence/src/main/resources/db/migration`), or
    ends with an engine's name of five letters or more (river's `riversqlite` beside `riverpgxv5`)."""
    for name in reversed(PurePosixPath(folder).parts):
        for word in re.split(r"[^a-z0-9]+", name.lower()):
            engine = word if word in _NAME_WORDS else next(
                (engine for engine in _LONG_NAME_WORDS if word.endswith(engine)), None)
            if engine is not None:
                return DialectGuess(_NAME_WORDS[engine], f"the folder {name} says {engine}", 50)
    return None


def text_dialect(text: str) -> DialectGuess:
    """The dialect the markers of `text` point to, or DialectGuess(None) when none decides."""
    scores: dict[str, int] = {}
    found: dict[str, list[str]] = {}
    # psql meta-commands and `#` comments live at line starts, before comment stripping matters.
    stripped = _COMMENTS_AND_STRINGS.sub(lambda m: " " if m.group(0).startswith("'") else "\n" * m.group(0).count("\n"), text)
    # An ASCII text reads lowercased as the patterns read it ignoring case (only non-ASCII letters
    # fold otherwise: the Kelvin sign is a k to them, not to str.lower).
    lowered = stripped.lower() if stripped.isascii() else None
    for dialect, weight, pattern, what, needles in _MARKERS:
        if lowered is not None and not any(needle in lowered for needle in needles):
            continue
        if pattern.search(stripped):
            scores[dialect] = scores.get(dialect, 0) + weight
            found.setdefault(dialect, []).append(what)
    if not scores:
        return DialectGuess(None)
    if "sqlite" in scores and found.get("mysql") == [_BACKQUOTES]:
        del scores["mysql"]  # SQLite accepts MySQL's backquotes (drizzle writes them): its own markers decide
    # ClickHouse accepts backquotes and MySQL-looking types: its engines decide.
    best = max(scores, key=lambda d: (scores[d], d == POSTGRESQL))
    runner_up = max((score for dialect, score in scores.items() if dialect != best), default=0)
    if scores[best] < _DECISIVE or scores[best] <= runner_up:
        return DialectGuess(None)
    return DialectGuess(best, ", ".join(found[best][:3]), scores[best])


def file_dialect(path: str, text: str) -> DialectGuess:
    """The dialect of one file on its own: its name, else its folders, else its markers, else a
    word of its name."""
    return name_dialect(path) or folder_dialect(str(PurePosixPath(path).parent)) or _or_none(text_dialect(text)) \
        or stem_dialect(path) or DialectGuess(None)


def _or_none(guess: DialectGuess) -> Optional[DialectGuess]:
    return guess if guess.dialect else None


def label(dialect: Optional[str]) -> str:
    return LABELS.get(dialect or "", dialect or "unknown")


def readable(dialect: str) -> bool:
    """Whether SchemaLens reads `dialect` (pglast or sqlglot) rather than skipping it."""
    return dialect == POSTGRESQL or dialect in SQLGLOT_NAMES
