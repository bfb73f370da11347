"""What a migration rule found in each step of the migrations, taken back from the last audit when
nothing it looked at changed (AuditContext.per_step).

An edit of one revision changes one step of a history of a thousand: the others walk as they did
(`AuditContext.step_operations` hands out the very same objects), and a rule that checks step by
step need not look at them again. What else a step's check looked at is known because it asked
the audit through a `StepView`, which records every question with its answer: the step's findings
are taken back when its operations are the same objects and every question has the same answer
now. A check that asks what the view does not offer fails (AttributeError) instead of reading
something unrecorded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional


@dataclass(frozen=True, slots=True)
class StepFindings:
    """What one rule's check of one step found, and from what."""

    operations: tuple  # the step's walked operations (AuditContext.step_operations)
    reads: tuple[tuple[tuple, Any], ...]  # (question, answer) of everything else it asked
    findings: tuple
    unsized: Optional[Counter]  # the candidates it held back for want of size hints, by table


# What a StepView can be asked, each answered from the AuditContext `c` alone.
_QUESTIONS: dict[str, Callable[..., Any]] = {
    "config": lambda c: c.model.config,
    "orm": lambda c: c.model.orm,
    "postgres_version": lambda c: c.postgres_version,
    "newest_migration_date": lambda c: c.newest_migration_date,
    "hints": lambda c, name, key: c.hints_named(name, key),
    "layer table": lambda c, key: c.layer.tables.get(key),
    "text": lambda c, path: c.text_of(path),
    "migration_date": lambda c, path: c.migration_date(path),
    "starts_a_history": lambda c, path: c.starts_a_history(path),
    "is revision": lambda c, path: path in c.model.revision_files,
    "sql tool": lambda c, path: c.sql_transactions.tool_of(path),
    "sql in transaction": lambda c, path: c.sql_transactions(path),
    "table_in_use": lambda c, key: c.table_in_use(key),
    "created before": lambda c, number, position, table: c.created_before(c.step_operations(number)[position], table),
    "about walk": lambda c, question, number, position, *args: question(c, c.step_operations(number)[position], *args),
}


class Answers:
    """The answers of one AuditContext to StepView questions, each worked out once per audit, and
    whether an answer recorded earlier is the same (compared once per recorded object). The
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


def per_step(context, rule: str, items: Iterable, find: Callable[["StepView", list], Iterable],
             step_of: Optional[Callable[[Any], int]] = None) -> Iterator:
    """`find(view, items of one step)` for each step that `items` (in walk order) belong to, as
    `step_of(item)` tells, taken back from the last audit (`context.by_step`) when the step's
    operations are the same objects and every question `find` asked the view has the same answer.
    The items of a step must depend on that step's walked operations alone."""
    memo = context.by_step
    part = getattr(find, "__qualname__", repr(find))
    for number, step_items in _by_step(items, step_of or _step_number):
        operations = context.step_operations(number)
        key = (rule, part, number)
        last = memo.now.get(key) or memo.before.get(key) if memo is not None else None
        if last is None or last.operations is not operations or not context.answers.unchanged(context, last.reads):
            view = StepView(context, number)
            found = tuple(find(view, step_items))
            last = StepFindings(operations, tuple(view.reads.items()), found, view.unsized or None)
        if memo is not None:
            memo.now[key] = last
        if last.unsized:
            context.unsized.setdefault(rule, Counter()).update(last.unsized)
        yield from last.findings


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


class StepView:
    """The audit as the check of one migration step sees it: the questions such a check asks, each
    answered by the AuditContext and recorded with its answer (see the module's docstring)."""

    def __init__(self, context, number: int) -> None:
        self._context = context
        self._number = number
        self.reads: dict[tuple, Any] = {}
        self.unsized: Counter = Counter()

    def _ask(self, *question) -> Any:
        answer = self.reads[question] = self._context.answers.answer(self._context, question)
        return answer

    @property
    def model(self) -> "_ModelView":
        return _ModelView(self)

    @property
    def layer(self) -> "_LayerView":
        return _LayerView(self)

    @property
    def sql_transactions(self) -> "_TransactionsView":
        return _TransactionsView(self)

    @property
    def postgres_version(self) -> int:
        return self._ask("postgres_version")

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

    def migration_date(self, path: str):
        return self._ask("migration_date", path)

    def starts_a_history(self, path: str) -> bool:
        return self._ask("starts_a_history", path)

    def table_in_use(self, key: str) -> bool:
        return self._ask("table_in_use", key)

    def created_before(self, walked, table: str):
        return self._ask("created before", self._number, self._position(walked), table)

    def about_walk(self, question: Callable[..., Any], walked, *args) -> Any:
        return self._ask("about walk", question, self._number, self._position(walked), *args)

    def _position(self, walked) -> int:
        """Where `walked` is among this step's operations: it stands for the same operation in
        another audit while the step's operations are the same objects."""
        return next(i for i, other in enumerate(self.step_operations(walked.step_number)) if other is walked)

    def step_operations(self, number: int) -> tuple:
        """This step's walked operations (no other step's: they are not part of what it found)."""
        if number != self._number:
            raise ValueError(f"step {self._number}'s check looked at step {number}")
        return self._context.step_operations(number)

    def hold_back_for_size(self, rule: str, table: str) -> None:
        self.unsized[table] += 1

    def per_subject(self, rule: str, subject, find: Callable[..., Iterable], *inputs) -> tuple:
        return self._context.per_subject(rule, subject, find, *inputs)


class _ModelView:
    __slots__ = ("_view",)

    def __init__(self, view: StepView) -> None:
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


class _RevisionPaths:
    __slots__ = ("_view",)

    def __init__(self, view: StepView) -> None:
        self._view = view

    def __contains__(self, path: str) -> bool:
        return self._view._ask("is revision", path)


class _LayerView:
    __slots__ = ("_view", "tables")

    def __init__(self, view: StepView) -> None:
        self._view = view
        self.tables = _TablesView(view)


class _TablesView:
    __slots__ = ("_view",)

    def __init__(self, view: StepView) -> None:
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
