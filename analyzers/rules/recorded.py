"""What a rule found in each migration step, or in each table, taken back from the last audit when
nothing it looked at changed (AuditContext.per_step and per_table).

An edit of one revision changes one step of a history of a thousand; an edit of a model, one
table of hundreds. The other steps walk as they did (`AuditContext.step_operations` hands out the
very same objects), and the other tables are the very same objects (the index keeps a table its
rebuild leaves equal): a rule that checks step by step or table by table need not look at them
again. What else a check of one step or table looked at is known because it asked the audit
through a view (`StepView`, `TableView`) that records every question with its answer: what it
found is taken back when its step or table is the same object and every question has the same
answer now. A check that asks what its view does not offer fails (AttributeError) instead of
reading something unrecorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from .places import column_place, column_type_place, element_place, table_place


@dataclass(frozen=True, slots=True)
class Checked:
    """What one rule's check of one step or table found, and from what."""

    subject: Any  # the step's walked operations (AuditContext.step_operations), or the table
    reads: tuple[tuple[tuple, Any], ...]  # (question, answer) of everything else it asked
    findings: tuple
    unsized: Optional[Counter]  # the candidates it held back for want of size hints, by table


# Questions a view forwards to the AuditContext's method of the same name (their arguments are
# names and paths).
_FORWARDED = frozenset({"code_hashes_attribute", "code_names_attribute", "code_inserts_with_sql", "written_negative",
                             "sign_matters", "validated_non_negative", "table_in_use", "migration_date",
                             "starts_a_history", "column_transformed", "code_accumulates", "runs_conditionally"})

# What a view can be asked, each answered from the AuditContext `c` alone.
_QUESTIONS: dict[str, Callable[..., Any]] = {
    "config": lambda c: c.model.config,
    "orm": lambda c: c.model.orm,
    "library tables": lambda c: c.library_tables,
    "postgres_version": lambda c: c.postgres_version,
    "newest_migration_date": lambda c: c.newest_migration_date,
    "hints": lambda c, name, key: c.hints_named(name, key),
    "layer table": lambda c, key: c.layer.tables.get(key),
    "orm table": lambda c, key: c.model.orm.tables.get(key),
    "twin": lambda c, key: c.twin_of(key),
    "text": lambda c, path: c.text_of(path),
    "is revision": lambda c, path: path in c.model.revision_files,
    "sql scan": lambda c, path: c.model.sql_scans.get(path),
    "sql tool": lambda c, path: c.sql_transactions.tool_of(path),
    "sql in transaction": lambda c, path: c.sql_transactions(path),
    "method": lambda c, name, *args: getattr(c, name)(*args),
    "created before": lambda c, number, position, table: c.created_before(c.step_operations(number)[position], table),
    "about walk": lambda c, question, number, position, *args: question(c, c.step_operations(number)[position], *args),
}


class Answers:
    """The answers of one AuditContext to the views' questions, each worked out once per audit,
    and whether an answer recorded earlier is the same (compared once per recorded object). The
    context is handed in, not held: it holds this (a cycle would keep each audit's model alive
    until a full collection)."""

    def __init__(self) -> None:
        self._now: dict[tuple, Any] = {}
        self._same: dict[tuple, bool] = {}

    def answer(self, context, question: tuple) -> Any:
        try:
            return self._now[question]
        except KeyError:
            answer = self._now[question] = _QUESTIONS[question[0]](context, *question[1:])
            return answer

    def unchanged(self, context, reads: tuple[tuple[tuple, Any], ...]) -> bool:
        for question, recorded in reads:
            now = self.answer(context, question)
            if now is recorded:
                continue
            key = (question, id(recorded))  # recorded answers live in the memo: their ids stay theirs
            same = self._same.get(key)
            if same is None:
                same = self._same[key] = now == recorded
            if not same:
                return False
        return True


def per_step(context, rule: str, find: Callable[["StepView", Sequence], Iterable], items: Optional[Iterable] = None,
             step_of: Optional[Callable[[Any], int]] = None) -> Iterator:
    """`find(view, items of one step)` for each step, taken back from the last audit
    (`context.by_check`) when the step's operations are the same objects and every question
    `find` asked the view has the same answer. `items` (in walk order; by default the walked
    operations) belong to steps as `step_of(item)` tells; a step's items must depend on that
    step's walked operations alone."""
    part = _part(find)
    steps = context.walked_steps
    grouped = steps.items() if items is None else _by_step(items, step_of or _step_number)
    for number, step_items in grouped:
        yield from _checked(context, rule, (rule, part, number), steps[number], lambda: StepView(context, number),
                            find, step_items)


def per_table(context, rule: str, find: Callable[["TableView", Any], Iterable], tables: Optional[Iterable] = None) -> Iterator:
    """`find(view, table)` for each of `tables` (by default the checked layer's, `context.tables()`),
    taken back from the last audit when the table is the same object and every question `find`
    asked the view has the same answer."""
    part = _part(find)
    for table in context.tables() if tables is None else tables:
        yield from _checked(context, rule, (rule, part, table.key), table, lambda: TableView(context), find, table)


def _checked(context, rule: str, key: tuple, subject, make_view: Callable[[], "_View"], find: Callable, items) -> tuple:
    memo = context.by_check
    last = memo.now.get(key) or memo.before.get(key) if memo is not None else None
    if last is None or last.subject is not subject or last.reads and not context.answers.unchanged(context, last.reads):
        view = make_view()
        found = tuple(find(view, items))
        last = Checked(subject, tuple(view.reads.items()), found, view.unsized or None)
    if memo is not None:
        memo.now[key] = last
    if last.unsized:
        context.unsized.setdefault(rule, Counter()).update(last.unsized)
    return last.findings


def _part(find: Callable) -> str:
    return getattr(find, "__qualname__", repr(find))


def _step_number(walked) -> int:
    return walked.step_number


def _by_step(items: Iterable, step_of: Callable[[Any], int]) -> Iterator[tuple[int, list]]:
    current: Optional[int] = None
    group: list = []
    for item in items:
        number = step_of(item)
        if number != current and group:
            yield current, group
            group = []
        current = number
        group.append(item)
    if group:
        yield current, group


class _View:
    """What the checks of one step and of one table may both ask, each question answered by the
    AuditContext and recorded with its answer (see the module's docstring)."""

    def __init__(self, context) -> None:
        self._context = context
        self.reads: dict[tuple, Any] = {}
        self.unsized: Counter = Counter()

    def _ask(self, *question) -> Any:
        answer = self.reads[question] = self._context.answers.answer(self._context, question)
        return answer

    def __getattr__(self, name: str):
        if name in _FORWARDED:
            return lambda *args: self._ask("method", name, *args)
        raise AttributeError(f"{type(self).__name__} does not offer {name!r}: a check of one step or table asks "
                             f"what it reads through its view (rules/recorded.py)")

    @property
    def model(self) -> "_ModelView":
        return _ModelView(self)

    @property
    def layer(self) -> "_LayerView":
        return _LayerView(self)

    @property
    def postgres_version(self) -> int:
        return self._ask("postgres_version")

    @property
    def library_tables(self) -> frozenset[str]:
        return self._ask("library tables")

    @property
    def newest_migration_date(self):
        return self._ask("newest_migration_date")

    def hints(self, table):
        return self._ask("hints", table.name, table.key)

    def is_big(self, table, rows: Optional[int] = None) -> bool:
        return self._context.big_by_hints(self.hints(table), rows)

    def is_small(self, table) -> bool:
        return self._context.small_by_hints(self.hints(table))

    def text_of(self, path: str) -> Optional[str]:
        return self._ask("text", path)

    def hold_back_for_size(self, rule: str, table: str) -> None:
        self.unsized[table] += 1

    def per_subject(self, rule: str, subject, find: Callable[..., Iterable], *inputs) -> tuple:
        return self._context.per_subject(rule, subject, find, *inputs)


class StepView(_View):
    """The audit as the check of one migration step sees it."""

    def __init__(self, context, number: int) -> None:
        super().__init__(context)
        self._number = number

    @property
    def sql_transactions(self) -> "_TransactionsView":
        return _TransactionsView(self)

    def created_before(self, walked, table: str):
        return self._ask("created before", self._number, self._position(walked), table)

    def about_walk(self, question: Callable[..., Any], walked, *args) -> Any:
        return self._ask("about walk", question, self._number, self._position(walked), *args)

    def step_operations(self, number: int) -> tuple:
        """This step's walked operations (no other step's: they are not part of what it found)."""
        if number != self._number:
            raise ValueError(f"step {self._number}'s check looked at step {number}")
        return self._context.step_operations(number)

    def _position(self, walked) -> int:
        """Where `walked` is among this step's operations: it stands for the same operation in
        another audit while the step's operations are the same objects."""
        return next(i for i, other in enumerate(self.step_operations(walked.step_number)) if other is walked)


class TableView(_View):
    """The audit as the check of one table sees it."""

    def model_twin(self, table):
        return self._ask("twin", table.key)

    def orm_table(self, table):
        return self._ask("orm table", table.key)

    def writes_are_transformed(self, table, column) -> bool:
        return self._ask("method", "column_transformed", table.key, column.name)

    def where_table(self, table):
        return table_place(table, self.model_twin(table))

    def where_column(self, table, column):
        return column_place(column, self.model_twin(table))

    def where_column_type(self, table, column):
        return column_type_place(column, self.model_twin(table))

    def where_element(self, table, element):
        return element_place(element, self.model_twin(table))


class _ModelView:
    __slots__ = ("_view",)

    def __init__(self, view: _View) -> None:
        self._view = view

    @property
    def config(self):
        return self._view._ask("config")

    @property
    def orm(self):
        return self._view._ask("orm")

    @property
    def revision_files(self) -> "_RevisionPaths":
        return _RevisionPaths(self._view)

    @property
    def sql_scans(self) -> "_SqlScans":
        return _SqlScans(self._view)


class _RevisionPaths:
    __slots__ = ("_view",)

    def __init__(self, view: _View) -> None:
        self._view = view

    def __contains__(self, path: str) -> bool:
        return self._view._ask("is revision", path)


class _SqlScans:
    __slots__ = ("_view",)

    def __init__(self, view: _View) -> None:
        self._view = view

    def get(self, path: str):
        return self._view._ask("sql scan", path)


class _LayerView:
    __slots__ = ("_view", "tables")

    def __init__(self, view: _View) -> None:
        self._view = view
        self.tables = _TablesView(view)


class _TablesView:
    __slots__ = ("_view",)

    def __init__(self, view: _View) -> None:
        self._view = view

    def get(self, key: str, default=None):
        found = self._view._ask("layer table", key)
        return default if found is None else found

    def __contains__(self, key: str) -> bool:
        return self._view._ask("layer table", key) is not None


class _TransactionsView:
    __slots__ = ("_view",)

    def __init__(self, view: StepView) -> None:
        self._view = view

    def __call__(self, path: str) -> bool:
        return self._view._ask("sql in transaction", path)

    def tool_of(self, path: str):
        return self._view._ask("sql tool", path)
