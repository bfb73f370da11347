"""What rules read: the workspace model, file texts, size hints, and where to point a finding.

Rules check the effective schema: the `database` layer when migrations build one, else the
`orm` layer. A finding points at the model declaration when the element is declared in a
model (that is where developers edit), with the migration that created it as related evidence.
"""

from __future__ import annotations

import functools
import io
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ..by_path import ByPath
from ..extract.text_searches import deletion_words, sql_insert_tables
from ..schema.drift import migration_history
from ..schema.migration_walk import WalkState, walk_migrations
from ..schema.model import Column, Location, SchemaLayer, Table
from ..schema.operations import CreateTable, DropTable, ExistingTables, Step
from ..workspace.code_roles import is_application_code, is_operator_command
from ..workspace.config import TableHints
from ..workspace.deployed_engine import DeployedEngine, deployed_engine
from ..workspace.discovery import folder_of, under
from ..workspace.migration_sets import PER_FOLDER_FILES, under_tests
from ..workspace.migration_tools import SENT_WHOLE, SqlTransactions
from ..workspace.postgres_version import PostgresVersion, postgres_version
from ..workspace.startup_commands import startup_migration
from .base import Related
from .first_matches import FirstMatches
from .places import column_place, column_type_place, element_place, table_place
from .recorded import Answers, StepView, TableView, per_step, per_table
from .word_searches import WordSearches, words_of
from ..lazy_pattern import LazyPattern

# Size hints at or above this many rows (now or within a year) make a table big: scans, rewrites
# and index builds over it take seconds to minutes, and the rules raise their severity.
BIG_TABLE_ROWS = 1_000_000
# Under this many rows (now and within a year) a table is small: a scan, rewrite or index build
# over it takes milliseconds, and the lock rules leave it alone.
SMALL_TABLE_ROWS = 100_000

_RELATION_STATEMENT = LazyPattern(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:MATERIALIZED\s+)?(?:VIEW|TABLE)\s+"
                                 r"(?:IF\s+NOT\s+EXISTS\s+)?([\w.\"]+)", re.IGNORECASE)


_WORD = LazyPattern(r"\w+")
# Alembic's revision template writes `Create Date: 2022-08-05 14:49:00.383167` in the docstring.
_CREATE_DATE = LazyPattern(r"^Create Date:\s*(\d{4}-\d\d-\d\d)(?:[ T](\d\d):(\d\d))?", re.MULTILINE)
# A file name that starts with a date or timestamp: 2022-07-29_x.py, 2026-06-19-1032_x.py, 20220729120000_x.sql.
_FILE_NAME_DATE = LazyPattern(r"^((?:19|20)\d\d)-?(\d\d)-?(\d\d)(?:[-_T]?(\d\d)(\d\d))?(?=\d*[^\d])")


# A branch on PostgreSQL itself (mealie: `dialect.name == "postgresql"`) says the revision runs
# elsewhere too.
_OTHER_ENGINE = LazyPattern(r"\bdialects\s+import\s+(?:mysql|sqlite|mssql|oracle)\b"
                           r"|\bdialect\.name\s*[!=]=\s*[\"'](?:mysql|mariadb|sqlite|mssql|oracle|postgresql[\"'])"
                           r"|\.startswith\(\s*[\"'](?:mysql|mariadb|sqlite|mssql|oracle)")

# A revision written to run on SQLite too: it branches on it or uses its types (keep), or the
# environment renders batch operations, Alembic's way to alter SQLite's tables.
_SQLITE_ENGINE = LazyPattern(r"\bdialects\s+import\s+sqlite\b|\bdialect(?:\.name)?\s*[!=]=\s*[\"']sqlite[\"']"
                            r"|\bname\s*[!=]=\s*[\"']sqlite[\"']|\.startswith\(\s*[\"']sqlite|\brender_as_batch\s*=\s*True\b")

# quay's `logentry3` (the third of its log tables), letta's `provider_traces`: a word for entries
# and a number of the copy may follow
_APPEND_ONLY_NAME = LazyPattern(r"(^|_)(log|logs|event|events|history|histories|audit|audits|outbox|change_log|changelog|"
                               r"activity|activities|trail|trails|metric|metrics|tracking|trace|traces)"
                               r"(_?entry|_?entries)?(_?\d+)?$")


def named_append_only(table_name: str) -> bool:
    """A table named as a record of occurrences (logs, events, history, audit, metrics)."""
    return _APPEND_ONLY_NAME.search(table_name) is not None


def _words(text: str) -> frozenset[str]:
    """A text's words, lower case."""
    return frozenset(word.lower() for word in _WORD.findall(text))


def _code_words(text: str) -> frozenset[str]:
    """A Python file's words outside comments, lower case (all its words when it does not tokenize)."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        kept = " ".join(token.string for token in tokens if token.type != tokenize.COMMENT)
    except (tokenize.TokenError, SyntaxError):
        return _words(text)
    return _words(kept)


_words_of = ByPath(_words)
_lowered_of = ByPath(str.lower)  # a cheap first test before a file's words are found
_word_searches = WordSearches()  # the first test of code_mention
_code_words_of = ByPath(_code_words)
# What a migration written to run beside live traffic does (see _migrations_spare_live_traffic),
# searched once per file text, not on every audit.
_SPARES_LIVE_TRAFFIC = LazyPattern(r"\bCONCURRENTLY\b|postgresql_concurrently\s*=\s*True|\bNOT\s+VALID\b|"
                                  r"postgresql_not_valid\s*=\s*True|autocommit_block|\block_timeout\b", re.IGNORECASE)
# Words each match of those expressions holds: a text without any is not searched (most
# migrations: the search alone took 0.04 s of a cold first look at dispatch's 153 revisions).
_SPARING_WORDS = ("concurrently", "valid", "autocommit_block", "lock_timeout")  # lowercased
_OTHER_ENGINES = ("mysql", "mariadb", "sqlite", "mssql", "oracle", "postgresql")  # the words _OTHER_ENGINE needs


def _spares_live_traffic(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _SPARING_WORDS) and _SPARES_LIVE_TRAFFIC.search(text) is not None


def _names_other_engines(text: str) -> bool:
    return any(engine in text for engine in _OTHER_ENGINES) and _OTHER_ENGINE.search(text) is not None


_spares_live_traffic_of = ByPath(_spares_live_traffic)
_names_other_engines_of = ByPath(_names_other_engines)


@dataclass
class _Walked:
    """One audit's walk of the migrations, kept for the next audit (AuditContext.migration_walk)."""

    key: tuple  # (the steps, whether each SQL step runs in a transaction)
    walk: list
    groups: dict[int, tuple]  # step number -> its walked operations
    checkpoints: dict[int, WalkState]  # step number -> what the walk knew before it
    derived: dict[str, Any] = field(default_factory=dict)  # what rules drew from it (from_walk)


# The last audit's walk: none, or one _Walked
_last_walk: list[_Walked] = []
# [{path: text} of the code texts, {table name: the path of a text that names it, or None}] of the last audit
_last_names_in_use: list = []
# The last audit's code_mention and sql_mention answers, and what they were found in (first_matches.py)
_last_code_mentions: list = []
_last_sql_mentions: list = []


_UPSERT_WORDS = ("on_conflict_do_update", "on_conflict_do_nothing", "on conflict")
_UPSERT = LazyPattern(r"on_conflict_do_(?:update|nothing)\b|\bON\s+CONFLICT\b", re.IGNORECASE)
_INSERT_TARGET = LazyPattern(r"\binsert\s*\(\s*([\w.]+)|\binsert\s+into\s+(?:only\s+)?(\"?[\w.]+)", re.IGNORECASE)
_UPSERT_LINES = 12  # how far above its ON CONFLICT an upsert names the table it inserts into


def _upserts(text: str) -> tuple[tuple[int, str], ...]:
    """(line, table or class it inserts into, lower case) of each upsert of a file: the nearest
    `insert(X)` or `INSERT INTO x` before an ON CONFLICT (in its `_UPSERT_LINES` lines) says which
    table it writes (skyvern's repository upserts into another table than the one it reads)."""
    lowered = text.lower()
    if not any(word in lowered for word in _UPSERT_WORDS):
        return ()
    found = []
    for match in _UPSERT.finditer(text):
        start = match.start()
        for _line in range(_UPSERT_LINES):
            start = text.rfind("\n", 0, start - 1) + 1 if start > 0 else 0
        targets = [target.group(1) or target.group(2) for target in _INSERT_TARGET.finditer(text, start, match.start())]
        if targets:
            found.append((text.count("\n", 0, match.start()) + 1, targets[-1].strip('"').rpartition(".")[2].lower()))
    return tuple(found)


# Each file's upserts, found once per text: an audit asks for every dropped unique constraint,
# and a scan of every deployed file each time was 27 of the 97 ms of tracecat's audit after a model edit.
_upserts_of = ByPath(_upserts)


def _text_naming(name: str, texts: Iterable[tuple[str, str]]) -> Optional[str]:
    """The path of the first of `texts` ((path, text)) that names `name` outside comments, or None."""
    return next((path for path, text in texts if name in _lowered_of(path, text) and name in _words_of(path, text)
                 and name in _code_words_of(path, text)), None)


@dataclass
class FindingsBySubject:
    """What rules found about each of their subjects, in the last audit and in this one: (rule
    code, subject) -> (inputs, findings) for a table or a pair of tables (AuditContext.per_subject);
    (rule code, check, step number or table key) -> recorded.Checked for the checks of one step or
    one table (per_step, per_table)."""

    before: dict[tuple, tuple[tuple, tuple]] = field(default_factory=dict)
    now: dict[tuple, tuple[tuple, tuple]] = field(default_factory=dict)


@dataclass
class AuditContext:
    model: "WorkspaceModel"  # noqa: F821 - schemalens.analyzers.workspace.index.WorkspaceModel
    text_of: Callable[[str], Optional[str]]  # path -> the file's current text
    # rule code -> table -> candidate findings the size hints did not put in scope (see hold_back_for_size)
    unsized: dict[str, Counter] = field(default_factory=dict)
    # Kept across the audits of a caller that audits again and again (the language server); None: nothing is kept.
    by_subject: Optional[FindingsBySubject] = None
    by_check: Optional[FindingsBySubject] = None  # the same, step by step and table by table (rules/recorded.py)

    def per_subject(self, rule: str, subject, find: Callable[..., Iterable], *inputs) -> tuple:
        """`find(*inputs)`: the findings of `rule` about one `subject` (hashable, unique in the
        rule), taken back from the last audit when the inputs were equal. `find` reads nothing but
        its inputs (never this context): an edit changes a table or two, and a rule that makes a
        thousand findings over a thousand tables makes again only those of the tables it changed.
        Tables come from the index, which keeps the objects of those a rebuild leaves equal: they
        compare by identity at once."""
        if self.by_subject is None:
            return tuple(find(*inputs))
        key = (rule, subject)
        last = self.by_subject.now.get(key) or self.by_subject.before.get(key)
        if last is not None and last[0] == inputs:
            found = last[1]
        else:
            found = tuple(find(*inputs))
        self.by_subject.now[key] = (inputs, found)
        return found

    def hold_back_for_size(self, rule: str, table: str) -> None:
        """Count a finding `rule` would make on `table` if the size hints gave it rows: the audit
        report names the tables whose size would decide such findings, instead of guessing."""
        self.unsized.setdefault(rule, Counter())[table] += 1

    @cached_property
    def layer(self) -> SchemaLayer:
        return self.model.database if self.model.database.tables else self.model.orm

    @property
    def migration_walk(self) -> list:
        """The migration steps' operations in replay order, with what was true before each."""
        return self._walked.walk

    @cached_property
    def _walked(self) -> _Walked:
        """The walk of the migrations. The last audit's is taken back while the steps and their
        transactions are the same (an edit of a model or of the code): over a long history it is
        one of an audit's costliest parts. When they differ (an edit of a migration), the walk
        resumes from the last checkpoint before the first step that differs, and the operations
        of every step that walks as it did are the last walk's very objects (see
        `step_operations`). An edit of a model that a history takes as there at its start
        (ExistingTables, which the walk does not read) walks as it did."""
        steps = self.model.steps
        autocommit = {path for history in getattr(self.model, "histories", ()) if history.environment.autocommit
                      for path in history.graph.paths}
        in_transaction = {step.path: step.path not in autocommit if step.path.endswith(".py")
                          else self.sql_transactions(step.path) for step in steps}
        sent_whole = frozenset(step.path for step in steps if not step.path.endswith(".py")
                               and self.sql_transactions.tool_of(step.path).tool in SENT_WHOLE)
        key = (steps, in_transaction, sent_whole)
        last = _last_walk[0] if _last_walk else None
        if last is not None and last.key == key:
            return last
        groups_before, checkpoints_before = (last.groups, last.checkpoints) if last is not None else ({}, {})
        changed = _first_change(key, last.key) if last is not None else 0
        if last is not None and changed == len(steps) == len(last.key[0]):
            _last_walk[:] = [_Walked(key, last.walk, last.groups, last.checkpoints, last.derived)]
            return _last_walk[0]
        start = max((number for number in checkpoints_before if number <= changed), default=0)
        state = checkpoints_before[start].copy() if start in checkpoints_before else None
        checkpoints = {number: kept for number, kept in checkpoints_before.items() if number < start}
        groups = {number: group for number, group in groups_before.items() if number < start}
        groups.update(_step_groups(walk_migrations(steps, in_transaction.__getitem__, start=start, state=state,
                                                   checkpoints=checkpoints, sent_whole=sent_whole), groups_before))
        _last_walk[:] = [_Walked(key, [walked for group in groups.values() for walked in group], groups, checkpoints)]
        return _last_walk[0]

    def step_operations(self, number: int) -> tuple:
        """The walked operations of step `number`, as one tuple: the same object from audit to
        audit while the step walks the same (what AuditContext.per_step compares)."""
        return self.walked_steps.get(number, ())

    @property
    def walked_steps(self) -> dict[int, tuple]:
        """{step number: step_operations(number)} of every step with operations, in walk order."""
        return self._walked.groups

    def per_step(self, rule: str, find: Callable[[StepView, Sequence], Iterable], items: Optional[Iterable] = None,
                 step_of: Optional[Callable[[Any], int]] = None) -> Iterator:
        """The findings of `rule` in each migration step: `find(view, the step's items)` (a
        StepView, through which `find` asks everything else it reads), taken back from the last
        audit for each step that walks the same and whose questions have the same answers (see
        rules/recorded.py). `items`: what the rule drew from the walked operations, in walk order
        (by default the operations themselves); `step_of(item)` gives an item's step number (by
        default its `step_number`)."""
        return per_step(self, rule, find, items, step_of)

    def per_table(self, rule: str, find: Callable[[TableView, Table], Iterable], tables: Optional[Iterable[Table]] = None) -> Iterator:
        """The findings of `rule` about each table (`tables`, by default those of `tables()`):
        `find(view, table)` (a TableView, through which `find` asks everything else it reads),
        taken back from the last audit for each table that is the same object and whose
        questions have the same answers (see rules/recorded.py)."""
        return per_table(self, rule, find, tables)

    @cached_property
    def answers(self) -> Answers:
        """This audit's answers to the questions of the checks of single steps and tables (rules/recorded.py)."""
        return Answers()

    def about_walk(self, question: Callable[..., Any], walked, *args) -> Any:
        """`question(self, walked, *args)`: a question about the walk around `walked` (earlier
        steps included), which a StepView records (`question`: a module-level function)."""
        return question(self, walked, *args)

    def created_before(self, walked, table: str) -> Optional[Location]:
        """Where the last CREATE TABLE of `table` (a key) before `walked`, in its step or an
        earlier one, is."""
        creations = self.from_walk("creations", _creations)
        position = creations[1][id(walked)]
        found = None
        for created_position, location in creations[0].get(table, ()):
            if created_position >= position:
                break
            found = location
        return found

    def walked(self, *kinds: type) -> list:
        """The operations of `migration_walk` that are of one of `kinds`, in replay order: a rule
        that looks at a few kinds of operation does not visit the thousands of others (the
        walk's index by kind is kept with the walk)."""
        by_kind = self.from_walk("operations by kind", _by_kind)
        found = [entry for kind, entries in by_kind.items() if issubclass(kind, kinds) for entry in entries]
        return [walked for _position, walked in sorted(found, key=lambda entry: entry[0])]

    def from_walk(self, name: str, derive: Callable[[list], Any]) -> Any:
        """`derive(migration_walk)`, kept with the walk (under `name`): what a rule draws from the
        walk alone is drawn again only when the migrations change."""
        derived = self._walked.derived
        if name not in derived:
            derived[name] = derive(self._walked.walk)
        return derived[name]

    @cached_property
    def sql_transactions(self) -> SqlTransactions:
        """Per SQL migration file: whether its folder's tool runs it in a transaction."""
        return SqlTransactions(self.model, self.text_of)

    @cached_property
    def postgres(self) -> PostgresVersion:
        """The PostgreSQL major version the rules answer for, and where it was read."""
        return postgres_version(self.model.config, getattr(self.model, "root", None))

    @cached_property
    def deployed_engine(self) -> DeployedEngine:
        """The engine the project runs on, from the drivers it depends on (PostgreSQL unless
        only MySQL drivers are declared), and where that was read."""
        return deployed_engine(self.model.config, getattr(self.model, "root", None))

    @property
    def postgres_version(self) -> int:
        return self.postgres.version

    def layers(self) -> list[tuple[str, SchemaLayer]]:
        """(label, layer) of every schema the index and key rules check: each database the
        migrations build, on its own (several services, several engines), test fixtures left
        out; the models' layer when no migration builds one."""
        databases = [d for d in getattr(self.model, "databases", ()) if not d.test_fixture and d.layer.tables]
        layers = [(database.label, database.layer) for database in sorted(databases, key=lambda d: not d.main)]
        if self.layer is self.model.orm or not layers:
            layers.insert(0, ("models", self.layer))
        return layers

    def tables(self) -> Iterator[Table]:
        for _key, table in sorted(self.layer.tables.items()):
            yield table

    def hints(self, table: Table) -> TableHints:
        return self.hints_named(table.name, table.key)

    def hints_named(self, name: str, key: str) -> TableHints:
        """The size hints of the table `name` (filed under `key`)."""
        return self.model.config.tables.get(name) or self.model.config.tables.get(key) or TableHints()

    def is_big(self, table: Table, rows: int = BIG_TABLE_ROWS) -> bool:
        """True when the size hints say the table has, or will have within a year, `rows` rows."""
        return self.big_by_hints(self.hints(table), rows)

    def is_small(self, table: Table) -> bool:
        """True when the size hints give the table fewer than SMALL_TABLE_ROWS rows, now and
        within a year; a table without hints is neither big nor small."""
        return self.small_by_hints(self.hints(table))

    @staticmethod
    def big_by_hints(hints: TableHints, rows: Optional[int] = None) -> bool:
        return max(hints.rows or 0, hints.rows_in_a_year or 0) >= (BIG_TABLE_ROWS if rows is None else rows)

    @staticmethod
    def small_by_hints(hints: TableHints) -> bool:
        return hints.rows is not None and max(hints.rows, hints.rows_in_a_year or 0) < SMALL_TABLE_ROWS

    @cached_property
    def newest_migration_date(self) -> Optional[datetime]:
        """The date of the newest migration: the size hints describe the tables as of then."""
        dates = [date for step in self.model.steps if (date := self.migration_date(step.path)) is not None]
        return max(dates, default=None)

    def code_facts(self) -> list:
        """The CodeFacts of every application file, by path: tests, scripts, seeds and fixtures
        (`non_application_paths`) are not the application's code paths."""
        return self._application_code_facts

    @cached_property
    def _application_code_facts(self) -> list:
        patterns = self.model.config.non_application_paths
        return [facts for path, facts in sorted(self.model.code.items()) if is_application_code(path, patterns)]

    @cached_property
    def tables_created_at_start(self) -> Optional[Location]:
        """Where application code creates the models' tables each time it runs (jupyterhub's
        `Base.metadata.create_all(engine)` as the hub starts: CodeFacts.tables_created), or None."""
        return next((location for facts in self.code_facts() for location in facts.tables_created), None)

    def all_code_facts(self) -> list:
        """The CodeFacts of every Python file, tests included."""
        return [facts for _, facts in sorted(self.model.code.items())]

    @cached_property
    def code_base(self):
        """The application's functions, classes and queries read together (query_flow.CodeBase)."""
        from ..query_flow import code_base

        return code_base(self.model, [facts.path for facts in self.code_facts()])

    def runs_in_application(self, location: Location) -> bool:
        """False when `location` lies in a module-level function no application path runs
        (CodeBase.unreached: only tests call it, or nothing does)."""
        return not any(start <= location.line <= end for start, end in self._unreached_spans.get(location.path, ()))

    @cached_property
    def _unreached_spans(self) -> dict[str, list[tuple[int, int]]]:
        return self._spans(self.code_base.unreached)

    def only_administrators_run(self, location: Location) -> bool:
        """True when `location` lies in a function only administrators' requests run
        (CodeBase.admin_only: behind an admin or staff decorator, or only called from there)."""
        return any(start <= location.line <= end for start, end in self._admin_only_spans.get(location.path, ()))

    @cached_property
    def _admin_only_spans(self) -> dict[str, list[tuple[int, int]]]:
        return self._spans(self.code_base.admin_only)

    def run_by_operators(self, location: Location) -> bool:
        """True when `location` lies in a command an operator runs by hand (a `cli.py`, a
        `commands` package), or in a function only such commands lead to (CodeBase.operator_only):
        one run at a time, over what the operator asked for, which no user waits on."""
        return is_operator_command(location.path) or \
            any(start <= location.line <= end for start, end in self._operator_only_spans.get(location.path, ()))

    @cached_property
    def _operator_only_spans(self) -> dict[str, list[tuple[int, int]]]:
        return self._spans(self.code_base.operator_only)

    def _spans(self, keys) -> dict[str, list[tuple[int, int]]]:
        """The lines of the functions `keys` names ((path, function) pairs of the code base), by path."""
        spans: dict[str, list[tuple[int, int]]] = {}
        functions = self.code_base.functions
        for path, name in keys:
            function = functions[(path, name)]
            spans.setdefault(path, []).append((function.location.line, function.last_line or function.location.line))
        return spans

    @cached_property
    def query_paths(self) -> list:
        """Every query of the application code, followed across functions and resolved to the
        effective tables."""
        from ..query_paths import query_paths

        return query_paths(self.model, self.layer, self.code_facts())

    @cached_property
    def reached_query_paths(self) -> tuple:
        """The `query_paths` that some application path runs (not only dead code, or functions only
        tests call: CodeBase.unreached), for users (`runs_for_users`). Made once an audit: each
        query rule walks them (polar: 1,850 paths, eight rules)."""
        return tuple(path for path in self.query_paths if path.reached and self.runs_for_users(path))

    def runs_for_users(self, path) -> bool:
        """The query path runs for users, not only on administrators' pages (CodeBase.admin_only)."""
        return (path.location.path, path.shape.function) not in self.code_base.admin_only

    @cached_property
    def query_paths_by_function(self) -> dict[tuple[str, Optional[str]], list]:
        """`query_paths` by the function they are reported at: (path, function name)."""
        found: dict[tuple[str, Optional[str]], list] = {}
        for path in self.query_paths:
            found.setdefault((path.location.path, path.shape.function), []).append(path)
        return found

    def tables_with_columns(self, columns) -> list[Table]:
        """Tables that have every one of `columns`."""
        wanted = set(columns)
        return [t for t in self.tables() if not t.partition_of and wanted <= {c.name for c in t.columns}]

    def writes_are_transformed(self, table: Table, column: Column) -> bool:
        """Whether the models write this column through code that changes the value (a
        TypeDecorator, @validates, a property setter): hashing or encryption may live there."""
        return self.column_transformed(table.key, column.name)

    def column_transformed(self, key: str, column: str) -> bool:
        return (key, column) in self.model.transformed_columns

    @cached_property
    def library_tables(self) -> frozenset[str]:
        """The keys of the tables a library's base class declares (authlib's token mixins)."""
        return frozenset(key for _, key in self.model.coverage.library_bases)

    def orm_table_of_class(self, class_name: str) -> Optional[Table]:
        """The effective table mapped by the model class named `class_name`."""
        return self._table_of_class.get(class_name)

    def looked_up_columns(self, table: Table) -> dict[str, Location]:
        """Columns of `table` that application code looks rows up by, with the first place it
        does: a lookup on a mapped model counts for that model's table only; any other, only
        when no other table has a column of that name."""
        return self._looked_up.get(table.key, {})

    @cached_property
    def _looked_up(self) -> dict[str, dict[str, Location]]:
        tables_of_column: dict[str, list[str]] = {}
        for table in self.tables():
            if not table.partition_of:
                for column in table.columns:
                    tables_of_column.setdefault(column.name, []).append(table.key)
        found: dict[str, dict[str, Location]] = {}
        for facts in self.code_facts():
            for lookup in facts.lookups:
                if not lookup.by_key or not self.runs_in_application(lookup.location):
                    continue
                mapped = self._table_of_class.get(lookup.model) if lookup.model is not None else None
                if mapped is not None:
                    keys = [mapped.key]
                else:
                    keys = tables_of_column.get(lookup.column, [])
                    keys = keys if len(keys) == 1 else []
                for key in keys:
                    found.setdefault(key, {}).setdefault(lookup.column, lookup.location)
        return found

    @cached_property
    def _table_of_class(self) -> dict[str, Table]:
        found: dict[str, Table] = {}
        for table in self.model.orm.tables.values():
            if table.class_name:
                found.setdefault(table.class_name, self.layer.tables.get(table.key) or table)
        return found

    def dropped_later(self, table: str, path: str) -> bool:
        """A migration after the one at `path` drops `table` (a key), and the migrations end without
        it: what that migration locked then is moot now, nothing is left to lock or to change
        (fides, tracecat: revisions of tables a later revision dropped)."""
        if table in self.model.database.tables:
            return False
        drops, steps = self.from_walk("drops", _drops)
        step = steps.get(path)
        return step is not None and any(dropped > step for dropped in drops.get(table, ()))

    @property
    def migrations_run_offline(self) -> Optional[str]:
        """Why the migrations do not run beside live traffic, if they do not: "declared" (the
        configuration says `migrations_run = "offline"`) or "migrates at startup" (the application
        applies them itself, Flask-Migrate's or Alembic's upgrade() called from application code
        that is not an operator command, as in an app factory, or the start command of its
        container or process file: they run before the new version serves). None when they run
        online, declared or as far as the code shows."""
        return self._offline[0]

    @property
    def migrations_offline_source(self) -> str:
        """Where a start command applies the migrations ("letta/server/startup.sh:56"), when
        that, not application code, says they run at startup; else ""."""
        return self._offline[1]

    @cached_property
    def _offline(self) -> tuple[Optional[str], str]:
        declared = self.model.config.migrations_run
        if declared is not None:
            return ("declared" if declared == "offline" else None), ""
        if self._migrations_spare_live_traffic:
            return None, ""
        patterns = self.model.config.non_application_paths
        if any(self.model.files.get(path) != "support" and is_application_code(path, patterns) and not is_operator_command(path)
               for path in self.model.migrating_modules):
            return "migrates at startup", ""
        source = startup_migration(getattr(self.model, "root", None))
        return ("migrates at startup", source) if source else (None, "")

    @property
    def _migrations_spare_live_traffic(self) -> bool:
        """Some migration builds an index CONCURRENTLY, adds a constraint NOT VALID, leaves the
        transaction or sets lock_timeout: its authors run migrations beside live traffic, whatever
        starts them (letta migrates at startup, and builds its indexes concurrently)."""
        paths = [*self.model.revision_files, *self.model.sql_migrations]
        return any(_spares_live_traffic_of(path, self.text_of(path) or "") for path in paths)

    @cached_property
    def migrations_serve_other_engines(self) -> bool:
        """True when the Alembic revisions branch on, or use types of, another database engine
        (`url.startswith("mysql")`, `dialect.name == "sqlite"`, `from sqlalchemy.dialects import
        mysql`), or on PostgreSQL (`dialect.name == "postgresql"`), or serve SQLite
        (`migrations_serve_sqlite`): the schema is written to be portable, not for PostgreSQL alone."""
        return any(_names_other_engines_of(path, self.text_of(path) or "") for path in self.model.revision_files) \
            or self.migrations_serve_sqlite

    @cached_property
    def migrations_serve_sqlite(self) -> bool:
        """True when the Alembic revisions branch on SQLite or use its types, or an environment's
        env.py renders batch operations (`render_as_batch=True`): SQLite is an engine the project
        migrates, and ships (keep's default database)."""
        paths = [*self.model.revision_files, *(history.environment.env_path for history in self.model.histories
                                               if history.environment.env_path)]
        return any(_SQLITE_ENGINE.search(text) for path in paths if "sqlite" in (text := self.text_of(path) or "")
                   or "render_as_batch" in text)

    def migration_date(self, path: str) -> Optional[datetime]:
        """When the migration at `path` was written: the later of Alembic's `Create Date:` line in
        its docstring and a date that starts its file name; None when neither says."""
        if path not in self._migration_dates:
            self._migration_dates[path] = _written_on(path, self.text_of(path) or "")
        return self._migration_dates[path]

    @cached_property
    def _migration_dates(self) -> dict[str, Optional[datetime]]:
        return {}

    def starts_a_history(self, path: str) -> bool:
        """The migration at `path` is the first of its history: an Alembic revision with no
        down revision, or the first SQL migration of its folder. Such a migration is often a
        squash of older ones, so its date says nothing about when its tables were born."""
        return path in self._history_starts

    @cached_property
    def _history_starts(self) -> frozenset[str]:
        starts = {path for path, revision in self.model.revision_files.items()
                  if revision is not None and not revision.down_revisions}
        first_of_folder: dict[str, str] = {}
        for step in self.model.steps:  # a folder of version folders (Prisma, Diesel) is one history
            if step.path not in self.model.revision_files:
                first_of_folder.setdefault(migration_history(self.model, step.path), step.path)
        return frozenset(starts | set(first_of_folder.values()))

    def table_in_use(self, key: str) -> bool:
        """Whether the application may read or write the table filed under `key`: a model maps it,
        deployed application code names it outside comments (a query, a string, a class), or the
        workspace holds no deployed code to tell. A legacy table no code uses any more is not."""
        if key in self.model.orm.tables or not self._code_texts:
            return True
        name = key.rpartition(".")[2].lower()
        if name not in self._tables_in_use:  # once per table: a history of 1,000 revisions asks of its tables again and again
            self._tables_in_use[name] = _text_naming(name, self._code_texts)
        return self._tables_in_use[name] is not None

    @cached_property
    def _tables_in_use(self) -> dict[str, Optional[str]]:
        """table_in_use's answers so far, by the table's lowercased name: the path of a code text
        that names it, None when none does. The last audit's answers are taken back where the
        texts they were read from are unchanged (an edit changes one text of hundreds): a name
        some text named is named while that text is the same, a name none named is looked for
        in the changed texts only."""
        texts = dict(self._code_texts)
        answers: dict[str, Optional[str]] = {}
        if _last_names_in_use:
            texts_before, answers_before = _last_names_in_use
            changed = [(path, text) for path, text in texts.items() if texts_before.get(path) != text]
            for name, naming in answers_before.items():
                if naming is None:
                    answers[name] = _text_naming(name, changed)
                elif texts.get(naming) == texts_before[naming]:
                    answers[name] = naming
        _last_names_in_use[:] = [texts, answers]
        return answers

    @cached_property
    def _code_texts(self) -> list[tuple[str, str]]:
        """(path, text) of the models and of deployed application code."""
        patterns = self.model.config.non_application_paths
        models = [(path, self.text_of(path) or "") for path, kind in sorted(self.model.files.items())
                  if kind == "model" and is_application_code(path, patterns)]
        return models + list(self._deployed_texts)

    def code_mentions_deletion(self, table: Table) -> bool:
        """True when application code or a SQL script deletes from, truncates or drops
        partitions of `table`, named as a table or as its model class (each file's words are
        found once, when it is parsed)."""
        orm = self.model.orm.tables.get(table.key)
        names = {table.name, orm.class_name if orm is not None and orm.class_name else table.name}
        return any(name.lower() in self._deletion_words for name in names)

    @cached_property
    def _deletion_words(self) -> frozenset[str]:
        return self._application_words(lambda facts: facts.deletion_words, deletion_words)

    def code_inserts_with_sql(self, table_name: str) -> bool:
        """True when application code or a SQL script inserts into `table_name` with SQL text,
        where the ORM's client-side defaults do not apply."""
        return table_name.lower() in self._sql_insert_tables

    @cached_property
    def _sql_insert_tables(self) -> frozenset[str]:
        return self._application_words(lambda facts: facts.sql_insert_tables, sql_insert_tables)

    def written_negative(self, column_name: str) -> bool:
        """True when application code writes a negated value into an attribute or keyword of
        that name (`amount=-fee`): a quantity signed by design."""
        return column_name in self._negated_names

    @cached_property
    def _negated_names(self) -> frozenset[str]:
        return self._in_application_code(attrgetter("negated_names"))

    def runs_conditionally(self, path: str, location: Location) -> bool:
        """The operation at `location` of the revision at `path` runs only as the database is at
        run time: under a Python test SchemaLens does not decide (Revision.conditional)."""
        revision = self.model.revision_files.get(path)
        return revision is not None and location in revision.conditional

    def code_accumulates(self, column_name: str) -> bool:
        """True when application code adds to an attribute or keyword of that name as a running
        total (`block.llm_cost += amount`, `.values(llm_cost=Block.llm_cost + amount)`)."""
        return column_name in self._accumulated_names

    @cached_property
    def _accumulated_names(self) -> frozenset[str]:
        return self._in_application_code(attrgetter("accumulated_names"))

    def sign_matters(self, column_name: str) -> bool:
        """True when application code decrements, negates or subtracts an attribute of that name
        (`product.stock -= n`, `-hint.cost`): a negative value there changes what the code does."""
        return column_name in self._subtracted_names

    @cached_property
    def _subtracted_names(self) -> frozenset[str]:
        return self._in_application_code(attrgetter("subtracted_names"))

    def code_names_attribute(self, name: str) -> bool:
        """True when application code reads or writes an attribute of that name (`user.api_key`,
        `getattr(user, "api_key")`, `Users(api_key=...)`)."""
        return name in self._attribute_names

    @cached_property
    def _attribute_names(self) -> frozenset[str]:
        return self._in_application_code(attrgetter("attribute_names"))

    def code_hashes_attribute(self, name: str) -> bool:
        """True when application code writes a hashed or encrypted value under that name
        (`user.password = generate_password_hash(raw)`, `Users(password=hash_password(raw))`)."""
        return name in self._hashed_names

    @cached_property
    def _hashed_names(self) -> frozenset[str]:
        return self._in_application_code(attrgetter("hashed_names"))

    def validated_non_negative(self, column_name: str) -> bool:
        """True when an input field of that name is bounded below at zero or more (pydantic
        `Field(ge=0)`, `PositiveInt`, marshmallow `Range(min=0)`)."""
        return column_name in self._non_negative_inputs

    @cached_property
    def _non_negative_inputs(self) -> frozenset[str]:
        return self._in_application_code(attrgetter("non_negative_inputs"))

    def _in_application_code(self, names_of: Callable[[object], Iterable[str]]) -> frozenset[str]:
        """The names `names_of` gives of any application file's code facts (one set union, not a
        loop: polar's 5,500 attribute names in 2 ms instead of 4)."""
        return frozenset().union(*map(names_of, self.code_facts()))

    def _application_words(self, of_facts, of_sql_text) -> frozenset[str]:
        """What `of_facts` gives of the application's code, and `of_sql_text` of its SQL scripts:
        those of its tests only build test databases (privacyidea's seeds under tests/testdata)."""
        words: set[str] = set()
        for facts in self.code_facts():
            words |= of_facts(facts)
        for path, kind in self.model.files.items():
            if kind == "sql_script" and not under_tests(path):
                words |= of_sql_text(self.text_of(path) or "")
        return frozenset(words)

    def code_mention(self, *words: str) -> Optional[Location]:
        """The first line of deployed application code that names every one of `words`
        as a whole word in the same file (the last word on that line), or None."""
        words = tuple(word for word in words if word)
        if not words:
            return None
        patterns = [re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE) for word in words]
        sought = words_of(words)  # phrases too: `ON CONFLICT`
        deployed = self._deployed_lowered

        def line_naming_them(index: int) -> Optional[Location]:
            path, text, lowered = deployed[index]
            if not _word_searches.may_name(path, text, lowered, sought):
                return None  # a word the file does not hold: no pattern needs to run over it
            if not all(pattern.search(text) for pattern in patterns):
                return None
            match = patterns[-1].search(text)
            return Location(path, text.count("\n", 0, match.start()) + 1)

        return self._code_mentions.first(words, line_naming_them, lambda: _word_searches.among(deployed, sought))

    def upsert_into(self, names: Iterable[str]) -> Optional[Location]:
        """The first upsert of deployed application code whose INSERT targets one of `names` (a
        table or its model class), or None (`_upserts`)."""
        wanted = {name.lower() for name in names if name}
        for path, text in self._deployed_texts:
            for line, target in _upserts_of(path, text):
                if target in wanted:
                    return Location(path, line)
        return None

    @cached_property
    def _code_mentions(self) -> FirstMatches:
        """code_mention's answers, kept from the last audit over the deployed texts (first_matches.py)."""
        return FirstMatches(self._deployed_texts, _last_code_mentions)

    def sql_mention(self, *words: str, relation: Optional[str] = None) -> Optional[Location]:
        """The first query of deployed application code whose SQL text (`text("...")`,
        `execute("...")`) names every one of `words` as a whole word, and `relation` as a table
        or view (after FROM, JOIN, INTO, UPDATE or TABLE), or None. Evidence that code uses a
        table no model maps: a word in a docstring, a comment, a dict key or a variable is not
        (letta, ckan, indico), nor a column of the same name (`WHERE state = 'active'`)."""
        patterns = [re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE) for word in words if word]
        if relation:
            patterns.append(re.compile(rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|ONLY)\s+(?:[\w\"]+\.)?\"?{re.escape(relation)}"
                                       rf"\"?(?!\w)", re.IGNORECASE))
        if not patterns:
            return None
        deployed = self._sql_mentions_over

        def query_naming_them(index: int) -> Optional[Location]:
            return next((query.location for query in deployed[index][1].queries
                         if query.sql and all(pattern.search(query.sql) for pattern in patterns)), None)

        return self._sql_mentions.first((words, relation), query_naming_them)

    @cached_property
    def _sql_mentions_over(self) -> list[tuple[str, Any]]:
        """(path, code facts) of deployed application code, in the order sql_mention reads them."""
        deployed = set(self._deployed_paths)
        return [(facts.path, facts) for facts in self.code_facts() if facts.path in deployed]

    @cached_property
    def _sql_mentions(self) -> FirstMatches:
        """sql_mention's answers, kept from the last audit over the deployed code facts (first_matches.py)."""
        return FirstMatches(self._sql_mentions_over, _last_sql_mentions)

    @property
    def has_application_code(self) -> bool:
        """The workspace holds the code that reads the database: models, application Python, or
        Alembic revisions (a Python project: its code is here). A repository of SQL migrations
        alone does not."""
        return bool(self.model.orm.tables) or bool(self._deployed_paths) or bool(self.model.revision_files)

    @cached_property
    def _deployed_paths(self) -> tuple[str, ...]:
        """Application Python that a deploy runs against production: not tests, scripts, seeds or
        fixtures (`non_application_paths`), nor Alembic's env.py and the helpers and data
        migrations in the folder that holds the versions folder, nor SQL scripts (one-off
        scripts and dumps)."""
        patterns = self.model.config.non_application_paths
        migration_folders = {folder_of(folder_of(path)) for path in self.model.revision_files}
        return tuple(path for path, kind in sorted(self.model.files.items())
                     if kind == "python" and is_application_code(path, patterns)
                     and folder_of(path) not in migration_folders
                     and not under(path, self.model.migration_folders))

    @cached_property
    def _deployed_texts(self) -> list[tuple[str, str]]:
        """(path, text) of deployed application code, read once per audit, when a rule asks."""
        return [(path, self.text_of(path) or "") for path in self._deployed_paths]

    @cached_property
    def _deployed_lowered(self) -> list[tuple[str, str, str]]:
        """(path, text, text in lower case) of deployed application code: the rules that look
        for words in it ask once per constraint or table (onyx: 30 times over 1,367 files)."""
        return [(path, text, _lowered_of(path, text)) for path, text in self._deployed_texts]

    def orm_table(self, table: Table) -> Optional[Table]:
        return self.model.orm.tables.get(table.key)

    def model_twin(self, table: Table) -> Optional[Table]:
        """The model's declaration of `table` of the migrations' database; None when there is none,
        or when the rules check the models' own layer (no migrations)."""
        return self.twin_of(table.key)

    def twin_of(self, key: str) -> Optional[Table]:
        """model_twin of the table filed under `key`."""
        return None if self.layer is self.model.orm else self.model.orm.tables.get(key)

    def where_table(self, table: Table) -> tuple[Location, tuple[Related, ...]]:
        """The place to report a table finding, and the other places that show it."""
        return table_place(table, self.model_twin(table))

    def where_column(self, table: Table, column: Column) -> tuple[Location, tuple[Related, ...]]:
        return column_place(column, self.model_twin(table))

    def where_column_type(self, table: Table, column: Column) -> tuple[Location, tuple[Related, ...]]:
        return column_type_place(column, self.model_twin(table))

    def where_element(self, table: Table, element) -> tuple[Location, tuple[Related, ...]]:
        return element_place(element, self.model_twin(table))

    def relation_created_by(self, operation) -> Optional[str]:
        """The name a CREATE VIEW / CREATE TABLE AS statement (an unmodelled operation) creates,
        read at the statement in its file."""
        text = self.text_of(operation.location.path)
        if text is None:
            return None
        lines = text.splitlines()[operation.location.line - 1:]
        if not lines:
            return None
        lines[0] = lines[0][operation.location.column - 1:]
        match = _RELATION_STATEMENT.match("\n".join(lines[:5]).lstrip())
        return match.group(1) if match else None


def _first_change(walked: tuple, before: tuple) -> int:
    """The number of the first step that differs between two walks' (steps, whether each step
    runs in a transaction, the SQL steps sent whole): the walks agree up to it."""
    (steps, in_transaction, sent_whole), (steps_before, in_transaction_before, sent_whole_before) = walked, before
    for number, step in enumerate(steps):
        if number >= len(steps_before) or not _walks_the_same(step, steps_before[number]) \
                or in_transaction.get(step.path) != in_transaction_before.get(step.path) \
                or (step.path in sent_whole) != (step.path in sent_whole_before):
            return number
    return len(steps)


def _walks_the_same(step: Step, before: Step) -> bool:
    """The same step, or one whose only change is in the tables it takes from the models
    (ExistingTables: an edit of a model that a history starts from), which the walk does not read:
    the walked ExistingTables then holds the tables of the first walk (no rule reads them)."""
    if step is before or step == before:
        return True
    return replace(step, operations=()) == replace(before, operations=()) \
        and len(step.operations) == len(before.operations) \
        and all(operation == earlier or (isinstance(operation, ExistingTables) and isinstance(earlier, ExistingTables)
                                         and replace(operation, tables=()) == replace(earlier, tables=()))
                for operation, earlier in zip(step.operations, before.operations))


def _step_groups(walk: Iterable, last: dict[int, tuple]) -> dict[int, tuple]:
    """The walked operations by step number, in walk order; a step's tuple is the one in `last`
    (the last walk's) when equal to it, objects and all."""
    groups: dict[int, list] = {}
    for walked in walk:
        groups.setdefault(walked.step_number, []).append(walked)
    kept = {}
    for number, operations in groups.items():
        before = last.get(number)
        kept[number] = before if before is not None and len(before) == len(operations) \
            and all(a is b or a == b for a, b in zip(before, operations)) else tuple(operations)
    return kept


def _creations(walk: list) -> tuple[dict[str, list[tuple[int, Location]]], dict[int, int]]:
    """({table key: [(position in the walk, location) of each CREATE TABLE of it]}, {id of a walked
    operation: its position})."""
    created: dict[str, list[tuple[int, Location]]] = {}
    for position, walked in enumerate(walk):
        if isinstance(walked.operation, CreateTable):
            created.setdefault(walked.table, []).append((position, walked.operation.location))
    return created, {id(walked): position for position, walked in enumerate(walk)}


def _drops(walk: list) -> tuple[dict[str, list[int]], dict[str, int]]:
    """({table key: the step numbers of its DROP TABLEs}, {migration path: its step number})."""
    drops: dict[str, list[int]] = {}
    steps: dict[str, int] = {}
    for walked in walk:
        steps.setdefault(walked.step.path, walked.step_number)
        if isinstance(walked.operation, DropTable) and walked.table is not None:
            drops.setdefault(walked.table, []).append(walked.step_number)
    return drops, steps


def _by_kind(walk: list) -> dict[type, list[tuple[int, object]]]:
    """The walk's operations by their type, each with its position in the walk."""
    by_kind: dict[type, list[tuple[int, object]]] = {}
    for position, walked in enumerate(walk):
        by_kind.setdefault(type(walked.operation), []).append((position, walked))
    return by_kind


def _written_on(path: str, text: str) -> Optional[datetime]:
    """The later of the `Create Date:` line and the date that starts the file name (the folder's,
    for a migration that is a folder: Prisma's `<timestamp>_x/migration.sql`, Diesel's
    `<date>_x/up.sql`): a revision written long before it was merged is often renamed with the
    merge date, nearer its release. Both are read once per text and per name: the lock rules ask
    it of every migration."""
    folder, _, name = path.rpartition("/")
    named = _named_date(folder.rpartition("/")[2] if name.lower() in PER_FOLDER_FILES else name)
    dates = [date for date in (_create_date_of(path, text), named) if date is not None]
    return max(dates, default=None)


def _header_date(text: str) -> Optional[datetime]:
    match = _CREATE_DATE.search(text[:3000])
    if match is None:
        return None
    day, hour, minute = match.group(1).replace("-", ""), match.group(2), match.group(3)
    return _date((day[:4], day[4:6], day[6:8], hour, minute))


_create_date_of = ByPath(_header_date)


@functools.lru_cache(maxsize=65536)
def _named_date(name: str) -> Optional[datetime]:
    match = _FILE_NAME_DATE.match(name)
    return _date(match.groups()) if match is not None else None


def _date(parts: Sequence[Optional[str]]) -> Optional[datetime]:
    try:
        return datetime(*(int(part or 0) for part in parts))
    except ValueError:  # digits that are not a date (a version number): no date
        return None
