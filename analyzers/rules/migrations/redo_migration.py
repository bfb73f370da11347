from __future__ import annotations

import functools
import re
from typing import Iterator, Optional

from ...schema.operations import AddConstraint, CreateIndex, CreateTable, DataChange, DropConstraint, DropIndex
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...workspace.discovery import file_name, file_stem
from ...i18n import _
from ...lazy_pattern import LazyPattern

# `v2` names a redo; `v1.10` (a release a combined migration covers) does not.
_REDO = LazyPattern(r"(^|[_\-\s])(v\d+(?![.]\d)|fix|fixed|fixup|hotfix|again|redo|retry|correct|repair|take\d+|re_?apply)($|[_\-\s.])", re.IGNORECASE)


_VERSION_PREFIX = LazyPattern(r"^(?:[VUR]?\d+(?:[._]\d+)*(?:_{1,2}|\.)|[0-9a-f]{8,}_)", re.IGNORECASE)  # V0002.Name too


@functools.lru_cache(maxsize=65536)
def _named_a_redo(path: str, message: Optional[str]) -> bool:
    """The migration's file name (without its version prefix: V2__, 0003_, a revision id) or its
    revision message says it fixes or redoes something; asked of every migration on every audit."""
    label = " ".join(filter(None, (_VERSION_PREFIX.sub("", file_stem(path)), message)))
    return _REDO.search(label) is not None


def _objects(step) -> dict[tuple[str, str], str]:
    """What the step changes of the schema (a data repair changes none of it), each with its
    table ("" when the statement does not say it: `op.drop_index("ix")`): ("column",
    "table.column") for a column it adds, alters or drops, and for each column of a table it
    creates; ("index", name) and ("constraint", "table.name") for a named index or constraint
    (letta: a "fix" revision indexing a table whose unique key an earlier one swapped changes
    none of what that one did); ("table", table) for the rest."""
    found: dict[tuple[str, str], str] = {}
    for operation in step.operations:
        table = getattr(operation, "table", None) or ""
        if isinstance(operation, DataChange) or not table and not isinstance(operation, DropIndex):
            continue
        if isinstance(operation, CreateTable):
            found.update({("column", f"{table}.{column.name}"): table for column in operation.columns})
            found.update({("constraint", f"{table}.{constraint.name}"): table for constraint in operation.constraints
                          if getattr(constraint, "name", None)})
        found.setdefault(_changed(operation, table), table)
    return found


def _changed(operation, table: str) -> tuple[str, str]:
    """What of its table `operation` changes, as `_objects` names it."""
    if isinstance(operation, CreateIndex) and operation.index.name:
        return ("index", operation.index.name)
    if isinstance(operation, DropIndex) and operation.name:
        return ("index", operation.name)
    if isinstance(operation, AddConstraint) and operation.constraint.name:
        return ("constraint", f"{table}.{operation.constraint.name}")
    if isinstance(operation, DropConstraint) and operation.name:
        return ("constraint", f"{table}.{operation.name}")
    column = getattr(operation, "column", None)
    name = column if isinstance(column, str) else getattr(column, "name", None)
    return ("column", f"{table}.{name}") if name else ("table", table)


def _overlap(earlier: dict[tuple[str, str], str], later: dict[tuple[str, str], str]) -> set[str]:
    """The tables of what both steps change."""
    return {earlier[key] or later[key] for key in earlier.keys() & later.keys()} - {""}


class RedoMigration(Rule):
    """## What it finds
    Migrations whose file name or message says they redo or fix an earlier one (`_v2`,
    `_fix`, `hotfix`, `again`, `redo`) and that change what an earlier migration changed: the
    same column (one it added, changed or created its table with), the same index or
    constraint (by name), or the same table beyond its columns (an unnamed index or constraint,
    the table itself). A migration that only repairs rows
    (`fix_ended_subscriptions`: an UPDATE) is not one, nor one that adds a new column to a
    table an earlier one changed (bitcart).

    ## Why it matters
    A fix-up migration means the first one shipped broken: environments that ran the original
    differ from those that will only ever run both, and rolling back one without the other
    leaves a half state. Often the original is edited too, so databases that already ran it
    never see the change.

    ## Example
    ```
    migrations/versions/a1_add_status.py
    migrations/versions/b2_add_status_fix.py   # alters the column a1 just added
    ```

    ## Use instead
    Rehearse migrations before merge (`schemalens verify`) so they are right the first time.
    When a fix is needed, never edit the shipped migration; write a forward migration that
    says in its docstring which environments need it and why.

    ## How to verify
    A rehearsal from an empty database and from a production snapshot ends in the same schema
    (`schemalens verify`); `pg_dump --schema-only` of both compares equal.
    """

    code = "SL503"
    name = "redo-migration"
    dimension = 5
    severity = "P2"
    summary = _("a _v2/_fix migration redoing an earlier one")

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                      "db/V2__add_created.sql": "ALTER TABLE orders ADD COLUMN created timestamptz;\n",
                      # bitcart: a new column in a migration named as a fix
                      "db/V3__fix_templates.sql": "ALTER TABLE orders ADD COLUMN use_html_templates boolean;\n"}),
             Example({"db/V1__add_status.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                      "db/V2__add_index.sql": "CREATE INDEX ix_orders_status ON orders (status);\n"}),
             # authelia: versions written V0002.<Name>, whose V0002 is no `_v2`
             Example({"migrations/V0001.Initial.up.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                      "migrations/V0002.Statuses.up.sql": "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\n"}),
             # polar: a data repair after an application bug
             Example({"db/V1__add_status.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text, ended_at timestamptz);\n",
                      "db/V2__fix_ended_orders.sql": "UPDATE orders SET status = 'canceled' WHERE ended_at IS NOT NULL;\n"}),
             # letta: a "fix" that indexes a table whose unique key an earlier migration swapped
             Example({"db/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, job_id int, message_id int);\n",
                      "db/V2__unique_job_message.sql": ("ALTER TABLE orders ADD CONSTRAINT uq_orders_job_message "
                                                        "UNIQUE (job_id, message_id);\n"),
                      "db/V3__fix_orders_indexes.sql": "CREATE INDEX ix_orders_message_id ON orders (message_id);\n"}))
    invalid = (Example({"db/V1__add_status.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                        "db/V2__add_status_fix.sql": "ALTER TABLE orders ALTER COLUMN status SET NOT NULL;  -- expect\n"}),
               # onyx: a unique key its table was created with, replaced by a "fix"
               Example({"db/V1__tags.sql": ("CREATE TABLE tag (id int PRIMARY KEY, tag_key text, source text,\n"
                                            "  CONSTRAINT tag_key_source_uc UNIQUE (tag_key, source));\n"),
                        "db/V2__tag_fix.sql": ("ALTER TABLE tag DROP CONSTRAINT tag_key_source_uc;  -- expect\n"
                                               "ALTER TABLE tag ADD COLUMN is_list boolean;\n"
                                               "ALTER TABLE tag ADD CONSTRAINT tag_key_source_list_uc UNIQUE (tag_key, source, is_list);\n")}),
               # ckan: a unique index replaced, dropped by its name alone
               Example({"db/V1__users.sql": "CREATE TABLE users (id int PRIMARY KEY, email text);\n",
                        "db/V2__unique_email.sql": "CREATE UNIQUE INDEX ix_users_email ON users (email);\n",
                        "db/V3__fix_unique_email.sql": ("CREATE UNIQUE INDEX ix_users_email_lower ON users (lower(email));  -- expect\n"
                                                        "DROP INDEX ix_users_email;\n")}),
               # an index made again under its name
               Example({"db/V1__orders.sql": "CREATE TABLE orders (id int PRIMARY KEY, status text);\n",
                        "db/V2__index_status.sql": "CREATE INDEX ix_orders_status ON orders (lower(status));\n",
                        "db/V3__index_status_fix.sql": ("DROP INDEX ix_orders_status;  -- expect\n"
                                                        "CREATE INDEX ix_orders_status ON orders (status);\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        from .sql_history import checked_databases, repeats

        # A migration that only repeats an earlier one is SL572's (superseded-migration).
        repeated = {repeat.later.path for database in checked_databases(context.model) for repeat in repeats(database)}
        earlier: list = []
        for step in context.model.steps:
            if step.path in repeated:
                earlier.append(step)
                continue
            revision = context.model.revision_files.get(step.path)
            if _named_a_redo(step.path, getattr(revision, "message", None)) and (touched := _objects(step)):
                previous = next((s for s in reversed(earlier) if _overlap(_objects(s), touched)), None)
                if previous is not None:
                    overlap = _overlap(_objects(previous), touched)
                    shared = ", ".join(sorted(overlap))
                    location = revision.location if revision else step.operations[0].location
                    first_location = next(op.location for op in previous.operations if getattr(op, "table", None) in overlap)
                    yield self.finding(
                        location, _("%(name)s redoes %(name_2)s", name=file_name(step.path), name_2=file_name(previous.path)),
                        _("%(path)s is named as a fix or new version and changes %(shared)s again after %(path_2)s.", path=step.path, shared=shared, path_2=previous.path),
                        impact=_("Worst case: environments that ran the original and those that ran both end with different "
                               "schemas, and a rollback of one half breaks the other. Most likely: the original was "
                               "edited after shipping and some databases never got the change."),
                        root_cause=_("The first migration was not rehearsed against a realistic database before merge."),
                        fix=Fix(short_term=_("Check that %(path)s is unchanged since it shipped (git log) and that "
                                           "every environment ran both.", path=previous.path),
                                medium_term=_("Rehearse every migration on a production-like snapshot in CI (schemalens verify)."),
                                long_term=_("Standard: shipped migrations are immutable; fixes are forward migrations with a reason.")),
                        verification=_("schemalens verify on an empty database and on a snapshot; compare the resulting schemas."),
                        table=sorted(overlap)[0],
                        related=(Related(first_location, _("earlier migration")),))
            earlier.append(step)
