from __future__ import annotations

from typing import Iterator

from ...schema.operations import (
    DROP_DEFAULT,
    AddEnumValue,
    AlterColumn,
    DataChange,
    NotReplayed,
    Opaque,
    SetParameter,
    TransactionControl,
    UnsupportedStatement,
    ValidateConstraint,
)
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .revision_examples import ALEMBIC_SETUP, revision_file
from .safety import temporary_tables
from ...i18n import _


class EmptyDowngrade(Rule):
    """## What it finds
    Alembic revisions whose `upgrade()` changes the schema but whose `downgrade()` is missing
    or empty (`pass`). Revisions that change nothing an inverse could undo (merges; only
    session settings, autocommit blocks, data backfills, dropped NOT NULLs, values added to an
    enum, VALIDATE CONSTRAINT or a TEMPORARY table and its indexes) are skipped, and so is any revision whose
    downgrade has a comment saying why it is empty (a baseline schema, a function replaced in
    place).

    A history where no revision has a downgrade that does anything (OpenStack's projects removed
    them all: their histories run forward only) is one finding, at its newest revision, at
    P2: a policy, said once, not an oversight in each of its revisions.

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
                                           "    op.execute('CREATE INDEX ix_moved_id ON moved (id)')\n"
                                           # skyvern: PostgreSQL cannot drop a value of an enum
                                           "    op.execute(\"ALTER TYPE order_status ADD VALUE 'held'\")\n\n"
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
                                          "def downgrade():  # expect\n    pass\n")}),
               # neutron, ironic, octavia: no revision has a downgrade, one finding for the history
               Example({**ALEMBIC_SETUP,
                        "migrations/versions/a1_init.py": revision_file(
                            "a1", None, "    op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True))", None),
                        "migrations/versions/a2_add.py": revision_file(
                            "a2", "a1", "    op.add_column('t', sa.Column('x', sa.Integer()))", None),
                        "migrations/versions/a3_merge.py": revision_file("a3", "a2"),
                        "migrations/versions/a4_index.py": revision_file(
                            "a4", "a3", "    op.create_index('ix_t_x', 't', ['x'])", None, expect_revision=True)}),
               # one revision of the history has a downgrade: the others are oversights, each reported
               Example({**ALEMBIC_SETUP,
                        "migrations/versions/a1_init.py": revision_file(
                            "a1", None, "    op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True))",
                            "    op.drop_table('t')"),
                        "migrations/versions/a2_add.py": revision_file(
                            "a2", "a1", "    op.add_column('t', sa.Column('x', sa.Integer()))", None, expect_revision=True),
                        "migrations/versions/a3_index.py": revision_file(
                            "a3", "a2", "    op.create_index('ix_t_x', 't', ['x'])", None, expect_revision=True)}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        cannot_roll_back = {path: count for path, revision in context.model.revision_files.items()
                            if (count := _schema_changes(revision)) and revision.downgrade_is_empty and not _explained(revision)}
        said_of_history: set[str] = set()
        for history in context.model.histories:
            paths = {revision.path for revision in history.graph.by_id.values()} & context.model.revision_files.keys()
            lacking = cannot_roll_back.keys() & paths
            if len(lacking) > 1 and all(context.model.revision_files[path].downgrade_is_empty for path in paths):
                said_of_history |= lacking
                yield self._forward_only(history, lacking)
        for path, count in sorted(cannot_roll_back.items()):
            if path in said_of_history:
                continue
            revision = context.model.revision_files[path]
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

    def _forward_only(self, history, lacking: set[str]) -> Finding:
        """One finding for a history none of whose revisions can be rolled back, at its newest
        revision (a head: what a rollback would undo first)."""
        graph = history.graph
        newest = next((graph.by_id[head] for head in sorted(graph.heads) if graph.by_id[head].path in lacking), None) \
            or next(graph.by_id[rid] for rid in reversed(graph.order) if graph.by_id[rid].path in lacking)
        oldest = next(graph.by_id[rid] for rid in graph.order if graph.by_id[rid].path in lacking)
        folder = history.environment.name
        return self.finding(
            newest.location, _("migration history %(folder)s cannot be rolled back: no revision has a downgrade", folder=folder),
            _("None of the %(count)s revisions of %(folder)s that change the schema has a downgrade() that undoes "
              "anything: the history runs forward only.", count=len(lacking), folder=folder),
            impact=_("Worst case: a release that fails after its migrations ran is rolled back only by restoring a backup "
                     "or by SQL written during the incident. Most likely: every rollback is a fix written forward, under "
                     "time pressure."),
            root_cause=_("The project runs its migrations forward only (downgrades removed or never written), a policy "
                         "the history does not state."),
            fix=Fix(short_term=_("Where forward-only is the policy, write the recovery path beside the migrations (a backup "
                                 "before each upgrade, fix-forward revisions); otherwise write downgrade() for the newest "
                                 "revisions first, from %(id)s.", id=newest.id),
                    medium_term=_("CI checks that every new revision has a downgrade or raises with its recovery plan."),
                    long_term=_("Standard: every revision is reversible or documents its recovery plan.")),
            verification=_("alembic downgrade -1 from the head on a rehearsal database succeeds, or the documented restore "
                           "is rehearsed."),
            related=(Related(oldest.location, _("first revision without a downgrade: %(id)s", id=oldest.id)),),
            severity="P2")


def _schema_changes(revision) -> int:
    """How many operations of `upgrade()` an inverse could undo. Session settings and VALIDATE
    CONSTRAINT leave nothing to undo; an operation on a name computed at run time changes the
    schema too (keystone drops an index it looks up)."""
    scratch = temporary_tables(revision.upgrade)
    changes = [op for op in revision.upgrade if not _leaves_nothing_to_undo(op) and getattr(op, "table", None) not in scratch]
    return len(changes) + revision.unread.count("upgrade")


def _leaves_nothing_to_undo(operation) -> bool:
    """Session settings, VALIDATE CONSTRAINT, data changes (the previous code ignores backfilled
    values), a value added to an enum (PostgreSQL cannot drop one, and the previous code never
    writes it) and a dropped NOT NULL, with or without the default beside it (the old code writes
    what it always wrote, and the column takes it). An operation not read is counted apart
    (Revision.unread)."""
    if isinstance(operation, (UnsupportedStatement, Opaque, SetParameter, TransactionControl, ValidateConstraint, DataChange,
                              NotReplayed, AddEnumValue)):
        return True
    return isinstance(operation, AlterColumn) and operation.nullable is True \
        and operation.server_default in (None, DROP_DEFAULT) and not any(
            (operation.type, operation.new_name, operation.identity, operation.using))


def _explained(revision) -> bool:
    """A downgrade left empty on purpose says why in a comment or docstring."""
    source = revision.function("downgrade")
    return source is not None and bool(source.explanation)
