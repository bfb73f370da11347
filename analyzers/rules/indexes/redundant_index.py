from __future__ import annotations

from typing import Iterator, Optional

from ...schema.model import Table
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ..places import element_place
from ...i18n import _


def _keys(table):
    """(name, columns, unique, element) for every plain btree key: indexes, unique constraints, PK."""
    keys = []
    if table.primary_key:
        keys.append((table.primary_key.name or f"{table.name}_pkey", table.primary_key.columns, True, table.primary_key))
    keys += [(u.name or "(unique)", u.columns, True, u) for u in table.unique_constraints]
    keys += [(i.name or "(index)", i.columns, i.unique, i) for i in table.indexes
             if not i.where and not i.using and not any(i.expressions) and not i.include]
    return keys


def _tables_of_every_database(context: AuditContext):
    """(label, table) of every database the migrations build (several services' SQL folders); the
    label is None for the main database, whose findings point at the models too."""
    for label, layer in context.layers():
        main = layer is context.layer
        for _key, table in sorted(layer.tables.items()):
            yield (None if main else label), table


def _operator_classes(element, width: int) -> tuple[str, ...]:
    """The operator class of each of the first `width` keys ("" for the type's default): an
    index with `text_pattern_ops` serves LIKE 'prefix%', which the plain one cannot."""
    opclasses = dict(getattr(element, "opclasses", ()))
    return tuple(opclasses.get(column, "") for column in element.columns[:width])


class RedundantIndex(Rule):
    """## What it finds
    Indexes that another index, unique constraint or primary key already covers: the same
    columns twice (a unique constraint plus a unique index), or a plain index whose columns
    are a leading prefix of another key; in every database the migrations build (each service's
    SQL folder). A partial index on a unique key is SL415's. A prefix index on a table the size
    hints keep small (under 100,000 rows) is left alone: it costs nothing measurable.

    ## Why it matters
    Every index is written on every insert and on updates of its columns, takes memory in
    shared buffers and time in vacuum, and is copied by every backup. A redundant one costs
    all of that and serves no query the other cannot.

    ## Example
    ```sql
    CREATE INDEX ix_orders_user_id ON orders (user_id);
    CREATE INDEX ix_orders_user_id_created_at ON orders (user_id, created_at);
    ```

    ## Use instead
    Keep the longer index and `DROP INDEX CONCURRENTLY ix_orders_user_id;`. Keep both only when
    the narrow one is much smaller and hot, and say so in a comment.

    ## How to verify
    `SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'ix_orders_user_id';`
    on production shows whether the planner uses it; after the drop, `EXPLAIN` of the queries
    on `user_id` uses the composite index.
    """

    code = "SL402"
    name = "redundant-index"
    dimension = 4
    severity = "P2"
    summary = _("index duplicated or covered by another index")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, created_at timestamptz);\n"
        "CREATE INDEX ix_orders_user_id_created_at ON orders (user_id, created_at);\n"
        "CREATE INDEX ix_orders_created_at ON orders (created_at);\n")}),
        # polar: the pattern index serves LIKE 'prefix%' searches, the plain one equality
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE events (id bigint PRIMARY KEY, external_id text);\n"
            "CREATE INDEX ix_events_external_id ON events (external_id);\n"
            "CREATE INDEX ix_events_external_id_pattern ON events (external_id text_pattern_ops);\n")}),
        # polar: a prefix index on a table of a few hundred consents, which the team says is small
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE oauth2_grants (id bigint PRIMARY KEY, client_id text, organization_id bigint,\n"
            "                            UNIQUE (client_id, organization_id));\n"
            "CREATE INDEX ix_oauth2_grants_client_id ON oauth2_grants (client_id);\n")},
            config="[tool.schemalens.tables.oauth2_grants]\nrows = 500\n"),
    )
    invalid = (
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint, created_at timestamptz);\n"
            "CREATE INDEX ix_orders_user_id ON orders (user_id);  -- expect\n"
            "CREATE INDEX ix_orders_user_id_created_at ON orders (user_id, created_at);\n")}),
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE users (id bigint PRIMARY KEY, email text UNIQUE);\n"
            "CREATE UNIQUE INDEX ux_users_email ON users (email);  -- expect\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for label, table in _tables_of_every_database(context):
            if not table.partition_of:
                yield from context.per_subject(self.code, (label, table.key), self._table_findings, label, table,
                                               context.model_twin(table) if label is None else None, context.is_small(table))

    def _table_findings(self, label: Optional[str], table: Table, twin: Optional[Table], small: bool) -> Iterator[Finding]:
        """`label`: the database's, None for the main one; `twin`: the model's declaration of the
        table; `small`: the size hints make it small."""
        keys = _keys(table)
        for index in table.indexes:
            if index.where or index.using or any(index.expressions) or index.include or not index.columns:
                continue
            cover = self._covering_key(index, keys)
            if cover is None:
                continue
            cover_name, cover_columns, _unique, cover_element = cover
            same = tuple(cover_columns) == tuple(index.columns)
            if not same and small:
                continue
            location, related = element_place(index, twin)
            related += (Related(cover_element.location, _("covered by %(cover_name)s", cover_name=cover_name)),)
            yield self.finding(
                location, _("%(index)s on %(table)s is redundant with %(cover_name)s", index=index.name, table=table.name, cover_name=cover_name),
                _("%(index)s (%(columns)s) ", index=index.name, columns=', '.join(index.columns))
                + (_("duplicates") if same else _("is a prefix of")) + _(" %(cover_name)s (%(cover_columns)s)", cover_name=cover_name, cover_columns=', '.join(cover_columns))
                + (_(" (%(label)s).", label=label) if label else "."),
                impact=_("Worst case: write-heavy paths on %(table)s slow down and vacuum and backups grow for no "
                       "read benefit. Most likely: a few percent of write latency and buffer space wasted.", table=table.name),
                root_cause=_("An index was added for a query that an existing index already serves "
                           "(often `index=True` next to a composite or unique index)."),
                fix=Fix(short_term=_("Check pg_stat_user_indexes.idx_scan for %(index)s on production.", index=index.name),
                        medium_term=_("DROP INDEX CONCURRENTLY %(index)s; and remove it from the model.", index=index.name),
                        long_term=_("Standard: index review in code review; one index per leading-column set.")),
                verification=_("EXPLAIN SELECT * FROM %(table)s WHERE %(columns)s = 1;  -- expect %(cover_name)s "
                             "to be used after the drop", table=table.name, columns=index.columns[0], cover_name=cover_name),
                table=table.name, column=index.columns[0] if len(index.columns) == 1 else None, related=related)

    @staticmethod
    def _covering_key(index, keys):
        width = len(index.columns)
        before_index = True
        for key in keys:
            name, columns, unique, element = key
            if element is index:
                before_index = False
                continue
            if _operator_classes(element, width) != _operator_classes(index, width):
                continue
            if tuple(columns) == tuple(index.columns):
                # Identical keys: the non-unique one is redundant; of two equal ones, the later.
                if (unique and not index.unique) or (unique == index.unique and before_index):
                    return key
            elif len(columns) > width and tuple(columns[:width]) == tuple(index.columns) and not index.unique:
                return key
        return None
