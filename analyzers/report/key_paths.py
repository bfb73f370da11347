"""Spec step B: the key query and write paths, ranked, each with the tables and indexes it
relies on and where it breaks at 10x-100x data; and, for hovers, the paths that use a column."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from ..i18n import _, join, translator
from ..query_paths import QueryPath, entry_points, query_paths
from ..schema.model import Location
from ..workspace.code_roles import is_application_code

TOP = 10
_CONTEXTS = {"request": _("request"), "task": _("task"), "other": _("other")}
_CONTEXT_WEIGHT = {"request": 100, "task": 40, "other": 10}


@dataclass(frozen=True, slots=True)
class KeyPath:
    path: QueryPath
    score: float
    indexes: tuple[str, ...]  # the keys it relies on
    unserved: tuple[str, ...]  # "orders.status" the indexes cannot serve
    risk: str


def _rows(model, table: str) -> int:
    hints = model.config.tables.get(table)
    return max(hints.rows or 0, hints.rows_in_a_year or 0) if hints else 0


def assess(model, layer, path: QueryPath) -> KeyPath:
    """The keys the query relies on, and the tables it has to scan: a table is scanned when no
    predicate (or join) on it can use an index; the other predicates then filter the few rows
    the index returns."""
    indexes: list[str] = []
    unserved: list[str] = []
    for table_key in path.tables:
        table = layer.tables.get(table_key)
        if table is None:
            continue
        entries = entry_points(path, table, layer)
        served = [entry.index for entry in entries if entry.index]
        indexes += served
        if entries and not served:
            unserved.append(f"{table.name}.{entries[0].column}")
    rows = max((_rows(model, t) for t in path.tables), default=0)
    score = (_CONTEXT_WEIGHT.get(path.context, 10) + 15 * len(path.joins) + 25 * len(unserved)
             + 10 * math.log10(rows + 1) + (5 if path.shape.kind != "select" else 0))
    return KeyPath(path, score, tuple(dict.fromkeys(indexes)), tuple(dict.fromkeys(unserved)), _risk(path, unserved, rows))


def _risk(path: QueryPath, unserved: list[str], rows: int) -> str:
    size = " " + _("(%(rows)s rows hinted)", rows=format(rows, ",")) if rows else ""
    risks = []
    if unserved:
        risks.append(_("full scans on %(columns)s: time grows with the rows, 10x data = 10x time", columns=', '.join(unserved)) + size)
    if path.shape.pagination in ("offset", "paginate"):
        risks.append(_("OFFSET pages cost their depth: deep pages at 100x data read 100x more"))
    if path.order_by and not unserved and path.shape.pagination:
        risks.append(_("sorted pages stay cheap only while an index returns them in order"))
    if len(path.joins) >= 2:
        risks.append(_("%(count)d joins: a missing index on any of them multiplies", count=len(path.joins)))
    if path.shape.kind in ("update", "delete") and unserved:
        risks.append(_("the write locks every row it scans"))
    if path.shape.kind in ("insert", "write") and not risks:
        risks.append(_("inserts cost the same at 100x rows; each index on the table adds work per row"))
    elif not path.predicates and not path.joins and path.shape.pagination is None and path.shape.kind == "select":
        risks.append(_("reads every row%(size)s: 10x data = 10x time and memory", size=size))
    if not risks:
        risks.append(_("index lookups: cost grows with log(rows), fine at 100x while result sets stay small"))
    return join("; ", risks)


def key_paths(model, layer=None, paths: Optional[Sequence[QueryPath]] = None, top: int = TOP) -> list[KeyPath]:
    """The `top` paths; `paths` are the audit's (AuditResult.query_paths), resolved here when not given."""
    layer = layer or (model.database if model.database.tables else model.orm)
    if paths is None:
        patterns = model.config.non_application_paths
        paths = query_paths(model, layer, [f for path, f in sorted(model.code.items()) if is_application_code(path, patterns)])
    # code no application path runs (only tests call it) is no key path
    assessed = [assess(model, layer, p) for p in paths if p.table is not None and not p.shape.subquery and p.reached]
    return sorted(assessed, key=lambda k: (-k.score, k.path.location.path, k.path.location.line))[:top]


def describe(path: QueryPath) -> str:
    """What a query does, in a few words: `select orders where user_id = ; order by created_at desc; offset`."""
    parts = [f"{path.shape.kind} {', '.join(path.tables) or '?'}"]
    if path.predicates:
        parts.append("where " + ", ".join(f"{p.use.column} {p.operator}" + (f" {p.pattern}" if p.pattern else "")
                                          for p in path.predicates))
    if path.order_by:
        parts.append("order by " + ", ".join(f"{u.column}{' desc' if d else ''}" for u, d in path.order_by))
    if path.group_by:
        parts.append("group by " + ", ".join(u.column for u in path.group_by))
    if path.shape.pagination:
        parts.append(path.shape.pagination)
    return "; ".join(parts)


def render_key_paths(model, lang: str = "en", paths: Optional[Sequence[QueryPath]] = None, top: int = TOP) -> list[str]:
    """Markdown lines of the key-paths section."""
    found = key_paths(model, paths=paths, top=top)
    tr = _ = translator(lang)
    heading = _("B. Key query and write paths")
    if not found:
        return [f"## {heading}", "", _("No queries found in the code."), ""]
    header = _("| # | Where | Runs in | What | Indexes relied on | At 10x-100x data |")
    lines = [f"## {heading}", "", header, "|---|---|---|---|---|---|"]
    for rank, key in enumerate(found, start=1):
        path = key.path
        where = f"`{path.location.path}:{path.location.line}` {path.shape.function or ''}".strip()
        indexes = ", ".join(key.indexes) or "-"
        context = tr.localize(_CONTEXTS.get(path.context, path.context))
        lines.append(f"| {rank} | {where} | {context} | `{_cell(describe(path))}` | {_cell(indexes)} | {_cell(tr.localize(key.risk))} |")
    return lines + [""]


def column_uses(paths: Sequence[QueryPath], table: str, column: str) -> list[tuple[Location, str, str]]:
    """(where, how, function) for every query that filters, joins, sorts or groups on the column."""
    found = []
    for path in paths:
        hows = [f"filter {p.operator}" for p in path.predicates if (p.use.table, p.use.column) == (table, column)]
        hows += ["join" for j in path.joins if j.table == table and column in j.columns]
        hows += ["join" for j in path.joins if j.other_table == table and column in j.other_columns]
        hows += ["order by" for u, _ in path.order_by if (u.table, u.column) == (table, column)]
        hows += ["group by" for u in path.group_by if (u.table, u.column) == (table, column)]
        if hows:
            found.append((path.location, ", ".join(dict.fromkeys(hows)), path.shape.function or "module"))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
