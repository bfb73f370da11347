from __future__ import annotations

from typing import Iterator, Optional

from ...schema.drift import comparable_type
from ...schema.model import ForeignKey
from ...schema.operations import DropConstraint
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext, named_append_only
from ...i18n import _, _n


def referenced_table(layer, stem: str) -> Optional[str]:
    """The table a `<stem>_id` column most likely points at: `stem`, `stems`, `stemes`, `stemies`."""
    candidates = [stem, f"{stem}s", f"{stem}es"]
    if stem.endswith("y"):
        candidates.append(f"{stem[:-1]}ies")
    for name in candidates:
        if name in layer.tables:
            return name
    return None


_TYPE_FAMILIES = (("smallint", "integer", "bigint", "numeric"), ("uuid",), ("character", "text"))


def _family(type_name: str) -> str:
    return next((family[0] for family in _TYPE_FAMILIES if type_name.startswith(family)), type_name)


def _can_hold_key_of(column, target) -> bool:
    """Whether `column`'s type can hold the target table's single-column primary key (True
    when either type is unknown)."""
    if target is None or target.primary_key is None or len(target.primary_key.columns) != 1:
        return True
    key = next((c for c in target.columns if c.name == target.primary_key.columns[0]), None)
    if key is None or not comparable_type(key.type) or not comparable_type(column.type):
        return True
    return _family(key.type) == _family(column.type)


class MissingForeignKey(Rule):
    """## What it finds
    A column named `<x>_id` whose table `<x>` (or its plural) exists in the schema, with no
    foreign key on it. Columns of tables named as records of occurrences (logs, events,
    history, audit, metrics) are left out: those keep their references without a foreign key
    on purpose, so that writing a record never fails and the history outlives its parents. So
    is a column whose foreign key a migration dropped: removed on purpose. When one migration
    drops the foreign keys of three tables or more, to three parents or more (skyvern's "drop
    most foreign keys"), the project keeps references without them as a policy: that is one
    finding, at P2, at that migration, not one per column.

    ## Why it matters
    The database accepts ids that never existed and keeps rows whose parent was deleted.
    Orphans break joins (rows silently vanish from inner joins), and cleanup scripts have to
    guess which rows are garbage.

    ## Example
    ```python
    user_id = db.Column(db.Integer, nullable=False, index=True)
    ```

    ## Use instead
    ```python
    user_id = db.Column(db.Integer, db.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True)
    ```
    On a big table add it as `NOT VALID`, clean orphans, then `VALIDATE CONSTRAINT`.

    ## How to verify
    `SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.user_id);`
    is 0, and inserting an unknown id fails.
    """

    code = "SL301"
    name = "missing-foreign-key"
    dimension = 3
    severity = "P1"
    summary = _("*_id column without a foreign key")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id) ON DELETE RESTRICT,"
        " external_id varchar(64));\n")}),
        # polar, dispatch: the payment processor's customer id, the Slack canvas's own id
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE customers (id uuid PRIMARY KEY);\n"
            "CREATE TABLE transactions (id uuid PRIMARY KEY, customer_id varchar(64));\n"
            "CREATE TABLE canvas (id integer PRIMARY KEY, canvas_id varchar(32));\n")}),
        # polar: the organization an email log or a usage event belongs to, kept without a foreign key
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE organizations (id uuid PRIMARY KEY);\n"
            "CREATE TABLE email_logs (id uuid PRIMARY KEY, organization_id uuid, created_at timestamptz);\n")}),
        # quay: the third of its audit log tables, one per period of the log
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE repository (id bigint PRIMARY KEY);\n"
            "CREATE TABLE logentry3 (id bigint PRIMARY KEY, repository_id bigint, kind_id integer);\n")}),
        # a foreign key a migration dropped: removed on purpose
        Example({"migrations/V1__init.sql": (
            "CREATE TABLE users (id bigint PRIMARY KEY);\n"
            "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));\n"),
                 "migrations/V2__loose.sql": "ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;\n"}),
    )
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY);\n"
        "CREATE TABLE orders (\n  id bigint PRIMARY KEY,\n  user_id bigint NOT NULL  -- expect\n);\n")}),
               # skyvern: one migration drops the foreign keys of most tables, a policy: one finding there
               Example({"migrations/V1__init.sql": (
                   "CREATE TABLE users (id bigint PRIMARY KEY);\n"
                   "CREATE TABLE shops (id bigint PRIMARY KEY);\n"
                   "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users (id));\n"
                   "CREATE TABLE carts (id bigint PRIMARY KEY, shop_id bigint REFERENCES shops (id));\n"
                   "CREATE TABLE notes (id bigint PRIMARY KEY, order_id bigint REFERENCES orders (id));\n"
                   "CREATE TABLE tickets (id bigint PRIMARY KEY, user_id bigint);\n"),
                        "migrations/V2__drop_foreign_keys.sql": (
                   "ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey;  -- expect\n"
                   "ALTER TABLE carts DROP CONSTRAINT carts_shop_id_fkey;\n"
                   "ALTER TABLE notes DROP CONSTRAINT notes_order_id_fkey;\n")}),
               # octavia: one migration drops the keys of five tables to one status lookup table, no
               # policy: each column is its own finding
               Example({"migrations/V1__init.sql": (
                   "CREATE TABLE statuses (name text PRIMARY KEY);\n"
                   "CREATE TABLE users (id bigint PRIMARY KEY);\n"
                   "CREATE TABLE pools (id bigint PRIMARY KEY, status text REFERENCES statuses (name));\n"
                   "CREATE TABLE members (id bigint PRIMARY KEY, status text REFERENCES statuses (name));\n"
                   "CREATE TABLE rules (id bigint PRIMARY KEY, status text REFERENCES statuses (name));\n"
                   "CREATE TABLE tickets (\n  id bigint PRIMARY KEY,\n  user_id bigint  -- expect\n);\n"),
                        "migrations/V2__statuses.sql": (
                   "ALTER TABLE pools DROP CONSTRAINT pools_status_fkey;\n"
                   "ALTER TABLE members DROP CONSTRAINT members_status_fkey;\n"
                   "ALTER TABLE rules DROP CONSTRAINT rules_status_fkey;\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        dropped_columns, policy = _foreign_keys_dropped(context)
        candidates = [(table, column, target) for table, column, target in self._candidates(context)
                      if (table.key, column.name) not in dropped_columns]
        if policy is not None and candidates:
            yield self._policy(policy, candidates)
            return
        for table, column, target in candidates:
            location, related = context.where_column(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s has no foreign key to %(target)s", table=table.name, column=column.name, target=target),
                _("%(table)s.%(column)s looks like a reference to %(target)s but no foreign key enforces it.", table=table.name, column=column.name, target=target),
                impact=_("Worst case: %(table)s rows point at %(target)s rows that do not exist and are processed "
                       "for the wrong owner. Most likely: deleting parents leaves orphans that inner joins silently drop.", table=table.name, target=target),
                root_cause=_("The relation exists only in application code."),
                fix=Fix(short_term=_("Count orphans: SELECT count(*) FROM %(table)s t WHERE %(column)s IS NOT NULL AND "
                                   "NOT EXISTS (SELECT 1 FROM %(target)s p WHERE p.id = t.%(column)s);", table=table.name, column=column.name, target=target),
                        medium_term=_("ALTER TABLE %(table)s ADD CONSTRAINT fk_%(table)s_%(column)s FOREIGN KEY "
                                    "(%(column)s) REFERENCES %(target)s (id) ON DELETE RESTRICT NOT VALID; clean orphans; "
                                    "then VALIDATE CONSTRAINT in the next migration.", table=table.name, column=column.name, target=target),
                        long_term=_("Standard: every *_id column has a foreign key or a documented reason not to.")),
                verification=_("INSERT INTO %(table)s (%(column)s) VALUES (-1);  -- expect a foreign key violation", table=table.name, column=column.name),
                table=table.name, column=column.name, related=related)

    @staticmethod
    def _candidates(context: AuditContext) -> Iterator[tuple]:
        """(table, column, the table it seems to reference) of every `<x>_id` column without a key."""
        for table in context.tables():
            if table.partition_of or named_append_only(table.name):
                continue
            fk_columns = {column for fk in table.foreign_keys for column in fk.columns}
            for column in table.columns:
                if not column.name.endswith("_id") or column.name in fk_columns:
                    continue
                target = referenced_table(context.layer, column.name[:-3])
                if target is None or target == table.name:
                    continue  # `canvas.canvas_id` names the row in another system; a parent is `parent_id`
                if not _can_hold_key_of(column, context.layer.tables.get(target)):
                    continue  # a string id next to an integer or uuid key: another system's identifier
                yield table, column, target

    def _policy(self, policy, candidates: list) -> Finding:
        walked, tables = policy
        examples = ", ".join(f"{table.name}.{column.name}" for table, column, _target in candidates[:3])
        return self.finding(
            walked.operation.location,
            _n("references are kept without foreign keys: %(count)s *_id column has none",
               "references are kept without foreign keys: %(count)s *_id columns have none", len(candidates)),
            _("%(path)s drops the foreign keys of %(tables)s tables: the project keeps references without foreign keys.",
              path=walked.step.path, tables=tables)
            + " " + _n("%(count)s *_id column has none (%(examples)s).", "%(count)s *_id columns have none (%(examples)s).",
                       len(candidates), examples=examples),
            impact=_("Worst case: rows point at parents that do not exist and are processed for the wrong owner. Most "
                     "likely: deleting parents leaves orphans that inner joins silently drop."),
            root_cause=_("Foreign keys were dropped on purpose (write throughput, tables owned by separate services), and "
                         "the integrity they gave is left to the application."),
            fix=Fix(short_term=_("Keep the checks the foreign keys made: a scheduled count of orphans per reference "
                                 "(NOT EXISTS against the parent), alerting above zero."),
                    medium_term=_("Document which references the application guarantees, and where (deletion code, "
                                  "cleanup jobs)."),
                    long_term=_("Add foreign keys back NOT VALID where the write path allows, then validate them.")),
            verification=_("The orphan count of every reference is 0 and monitored."),
            related=tuple(Related(column.location, _("%(table)s.%(column)s has no foreign key to %(target)s",
                                                      table=table.name, column=column.name, target=target))
                          for table, column, target in candidates[:5]),
            severity="P2")


# Foreign keys of this many tables, to this many parents, dropped by one migration: a policy, not
# a change of one relation (octavia drops the keys of five tables to one status lookup table).
_POLICY_TABLES = 3


def _foreign_keys_dropped(context: AuditContext) -> tuple[set, Optional[tuple]]:
    """((table key, column) whose foreign key a migration dropped, (the first drop of the
    migration that dropped those of _POLICY_TABLES tables or more, to as many parents, how many
    tables) or None). Only keys whose columns are still there count: ckan drops the keys of nine
    tables with their columns."""
    columns: set[tuple[str, str]] = set()
    tables_by_step: dict[int, tuple] = {}
    for walked in context.migration_walk:
        operation, before = walked.operation, walked.constraint_before
        if not isinstance(operation, DropConstraint) or not isinstance(before, ForeignKey):
            continue
        table = context.layer.tables.get(walked.table or "")
        if table is None or not all(table.column(column) is not None for column in before.columns):
            continue
        columns.update((table.key, column) for column in before.columns)
        first, tables, parents = tables_by_step.get(walked.step_number, (walked, set(), set()))
        tables_by_step[walked.step_number] = (first, tables | {walked.table}, parents | {before.ref_table})
    policy = next(((first, len(tables)) for first, tables, parents in tables_by_step.values()
                   if len(tables) >= _POLICY_TABLES and len(parents) >= _POLICY_TABLES), None)
    return columns, policy
