from __future__ import annotations

from typing import Iterator

from ...schema.operations import (
    DROP_DEFAULT,
    AlterColumn,
    DataChange,
    NotReplayed,
    Opaque,
    SetParameter,
    TransactionControl,
    UnsupportedStatement,
    ValidateConstraint,
)
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import temporary_tables
from ...i18n import _


class EmptyDowngrade(Rule):
    """## What it finds
    Alembic revisions whose `upgrade()` changes the schema but whose `downgrade()` is missing
    or empty (`pass`). Revisions that change nothing an inverse could undo (merges; only
    session settings, autocommit blocks, data backfills, dropped NOT NULLs, VALIDATE
    CONSTRAINT or a TEMPORARY table and its indexes) are skipped, and so is any revision whose
    downgrade has a comment saying why it is empty (a baseline schema, a function replaced in
    place).

    ## Why it matters
    A failed deploy cannot be rolled back with `alembic downgrade`: the schema stays ahead of
    the code that is rolled back to, or someone improvises SQL under pressure. When the change
    really cannot be undone (data was dropped), the revision should say so, not pretend.

    ## Example
    ```python
    def upgrade():
        op.alter_column("orders", "note", new_column_name="customer_note")

    def downgrade():
        pass
    ```

    ## Use instead
    ```python
    def downgrade():
        op.alter_column("orders", "customer_note", new_column_name="note")
    ```
    or, for a change that loses data, `raise RuntimeError("irreversible: restore from backup")`
    and a docstring explaining the recovery plan.

    ## How to verify
    A rehearsal runs upgrade, downgrade to base and upgrade again on a database with rows
    (`schemalens verify`, or `alembic downgrade base` in CI).
    """

    code = "SL504"
    name = "empty-downgrade"
    dimension = 5
    severity = "P1"
    summary = _("revision with a missing or empty downgrade")

    valid = (Example({
        "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
        "migrations/env.py": "",
        "migrations/versions/a1_add.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                          "def upgrade():\n    op.add_column('t', sa.Column('x', sa.Integer()))\n\n"
                                          "def downgrade():\n    op.drop_column('t', 'x')\n")}),
             Example({
        "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
        "migrations/env.py": "",
        "migrations/versions/a1_base.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                           "def upgrade():\n    op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True))\n\n"
                                           "# Baseline of the production schema: rolling it back means dropping everything.\n"
                                           "def downgrade():\n    pass\n")}),
             # dispatch, redash: a data backfill and a dropped NOT NULL leave the old code working
             Example({
        "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
        "migrations/env.py": "",
        "migrations/versions/b1_fill.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'b1'\ndown_revision = None\n\n"
                                           "def upgrade():\n    op.execute(\"UPDATE search_filter SET creator_id = 1 WHERE creator_id IS NULL\")\n"
                                           "    op.alter_column('queries', 'schedule', nullable=True, server_default=None)\n"
                                           # agenta, indico: a TEMPORARY table holds the rows being moved
                                           "    op.execute('CREATE TEMPORARY TABLE moved AS SELECT id FROM queries')\n"
                                           "    op.execute('CREATE INDEX ix_moved_id ON moved (id)')\n\n"
                                           "def downgrade():\n    pass\n")}))
    invalid = (Example({
        "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
        "migrations/env.py": "",
        "migrations/versions/a1_add.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                          "def upgrade():\n    op.add_column('t', sa.Column('x', sa.Integer()))\n\n"
                                          "def downgrade():  # expect\n    pass\n")}),
               # keystone: the upgrade drops an index whose name it looks up at run time
               Example({
        "migrations/alembic.ini": "[alembic]\nscript_location = %(here)s\n",
        "migrations/env.py": "",
        "migrations/versions/a1_add.py": ("from alembic import op\nimport sqlalchemy as sa\nrevision = 'a1'\ndown_revision = None\n\n"
                                          "def upgrade():\n    op.drop_index(duplicate_index(op.get_bind()), table_name='t')\n\n"
                                          "def downgrade():  # expect\n    pass\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for path, revision in sorted(context.model.revision_files.items()):
            # Session settings and VALIDATE CONSTRAINT leave nothing to undo.
            scratch = temporary_tables(revision.upgrade)
            changes = [op for op in revision.upgrade if not _leaves_nothing_to_undo(op) and getattr(op, "table", None) not in scratch]
            # an operation on a name computed at run time changes the schema too (keystone drops an index it looks up)
            count = len(changes) + revision.unread.count("upgrade")
            if not count or not revision.downgrade_is_empty or _explained(revision):
                continue
            location = revision.downgrade_location or revision.location
            yield self.finding(
                location, _("revision %(id)s cannot be rolled back", id=revision.id),
                _("%(path)s changes the schema (%(count)s operation(s)) but its downgrade() ", path=path, count=count)
                + (_("is missing.") if revision.downgrade_location is None else _("does nothing.")),
                impact=_("Worst case: a failed deploy cannot roll the schema back and the previous release runs against "
                       "a schema it does not know. Most likely: a rollback stops at this revision and someone writes "
                       "SQL by hand during the incident."),
                root_cause=_("The downgrade was left as generated (`pass`) or skipped as unimportant."),
                fix=Fix(short_term=_("Write the inverse operations in downgrade() of %(id)s, or raise with an "
                                   "explanation if the change loses data.", id=revision.id),
                        medium_term=_("CI runs upgrade -> downgrade base -> upgrade on a database with rows for every pull request."),
                        long_term=_("Standard: every revision is reversible or documents its recovery plan.")),
                verification=_("alembic downgrade %(value)s on a "
                             "rehearsal database succeeds and restores the previous schema.", value=revision.down_revisions[0] if revision.down_revisions else 'base'))


def _leaves_nothing_to_undo(operation) -> bool:
    """Session settings, VALIDATE CONSTRAINT, data changes (the previous code ignores backfilled
    values) and a dropped NOT NULL, with or without the default beside it (the old code writes
    what it always wrote, and the column takes it). An operation not read is counted apart
    (Revision.unread)."""
    if isinstance(operation, (UnsupportedStatement, Opaque, SetParameter, TransactionControl, ValidateConstraint, DataChange,
                              NotReplayed)):
        return True
    return isinstance(operation, AlterColumn) and operation.nullable is True \
        and operation.server_default in (None, DROP_DEFAULT) and not any(
            (operation.type, operation.new_name, operation.identity, operation.using))


def _explained(revision) -> bool:
    """A downgrade left empty on purpose says why in a comment or docstring."""
    source = revision.function("downgrade")
    return source is not None and bool(source.explanation)
