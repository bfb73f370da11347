from __future__ import annotations

import re
from typing import Iterator, Optional

from ...schema.operations import AddEnumValue, CreateEnum, TransactionControl
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .safety import alembic_example, in_alembic
from ...i18n import _



class EnumValueInTransaction(Rule):
    """## What it finds
    `ALTER TYPE ... ADD VALUE` inside a transaction (an Alembic revision outside
    `autocommit_block()`, a SQL file its tool wraps, or between BEGIN and COMMIT) that will fail:

    - before PostgreSQL 12 (`postgres_version`), always: ADD VALUE cannot run in a transaction
      block;
    - from PostgreSQL 12, when the same transaction then uses the new value (`'packed'` in a
      later statement of the migration): `unsafe use of new value "packed" of enum type`.

    ## Why it matters
    The migration fails on every database, at deploy time, usually after the statements before
    it ran (and were rolled back), because the new value only becomes usable once the
    transaction that added it commits.

    P0.

    ## Example
    ```python
    def upgrade():
        op.execute("ALTER TYPE order_state ADD VALUE 'packed'")
        op.execute("UPDATE orders SET state = 'packed' WHERE packed_at IS NOT NULL")
    ```

    ## Use instead
    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE order_state ADD VALUE IF NOT EXISTS 'packed'")
        op.execute("UPDATE orders SET state = 'packed' WHERE packed_at IS NOT NULL")
    ```
    or the value in one revision and its use in the next.

    ## How to verify
    `alembic upgrade head` (or `schemalens verify`) on a scratch database succeeds.
    """

    code = "SL559"
    name = "enum-value-in-transaction"
    dimension = 5
    severity = "P0"
    summary = _("enum value added in a transaction that cannot use it (the migration fails)")
    peers = ("pgls:avoidAlterEnumAddValue",)

    valid = (
        Example(alembic_example("    with op.get_context().autocommit_block():\n"
                                "        op.execute(\"ALTER TYPE order_state ADD VALUE 'packed'\")\n"
                                "    op.execute(\"UPDATE orders SET status = 'packed'\")")),
        Example(alembic_example("    op.execute(\"ALTER TYPE order_state ADD VALUE 'packed'\")")),
        # hatchet: the same label added to another type is no use of this one's
        Example(alembic_example("    op.execute(\"ALTER TYPE run_status ADD VALUE 'BACKOFF'\")\n"
                                "    op.execute(\"ALTER TYPE step_status ADD VALUE 'BACKOFF'\")")),
    )
    invalid = (
        Example(alembic_example("    op.execute(\"ALTER TYPE order_state ADD VALUE 'packed'\")  # expect\n"
                                "    op.execute(\"UPDATE orders SET status = 'packed'\")")),
        Example(alembic_example("    op.execute(\"ALTER TYPE order_state ADD VALUE 'packed'\")  # expect"),
                config="postgres_version = 11\n"),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        walk = context.migration_walk
        for position, walked in enumerate(walk):
            operation = walked.operation
            if not isinstance(operation, AddEnumValue) or not walked.in_transaction or _created_in_step(walked):
                continue
            use = None
            if context.postgres_version >= 12:
                use = _used_later(context, walk, position)
                if use is None:
                    continue
            yield self._finding(context, walked, use)

    def _finding(self, context: AuditContext, walked, use) -> Finding:
        operation = walked.operation
        if use is None:
            problem = (_("PostgreSQL %(postgres_version)s refuses ALTER TYPE ... ADD VALUE inside a transaction "
                       "block.", postgres_version=context.postgres_version))
        else:
            problem = (_("The same transaction uses '%(operation)s' at line %(line)s; PostgreSQL refuses it "
                       "(unsafe use of new value \"%(operation)s\") until the transaction that added it commits.", operation=operation.value, line=use.line))
        fix = (_("Add the value inside `with op.get_context().autocommit_block():`") if in_alembic(walked)
               else _("Add the value in a migration of its own that runs outside a transaction"))
        return self.finding(
            operation.location, _("'%(operation)s' is added to %(operation_2)s in a transaction that cannot use it", operation=operation.value, operation_2=operation.name),
            problem,
            impact=_("Worst case: the deploy fails at this migration on every database. Most likely: a failed release "
                   "caught in the pipeline."),
            root_cause=_("A new enum value is not visible to its own transaction until it commits."),
            fix=Fix(short_term=_("%(fix)s, or use the value in the next migration.", fix=fix),
                    medium_term=_("Rehearse migrations on a scratch database in CI (`schemalens verify`).")),
            verification=_("`alembic upgrade head` (or `schemalens verify`) on a scratch database succeeds"),
            related=(Related(use, _("'%(operation)s' used here", operation=operation.value)),) if use is not None else ())


def _used_later(context: AuditContext, walk: list, position: int) -> Optional[object]:
    """Where a later statement of the same open transaction names the new value, or None. Another
    ADD VALUE does not use it: adding the same label to another type, or placing a label AFTER it."""
    walked = walk[position]
    value = re.compile(r"'" + re.escape(walked.operation.value.replace("'", "''")) + r"'")
    text = context.text_of(walked.step.path) or ""
    lines = text.splitlines()
    for later in walk[position + 1:]:
        if later.step_number != walked.step_number or not later.in_transaction \
                or isinstance(later.operation, TransactionControl):
            return None
        if isinstance(later.operation, AddEnumValue):
            continue
        location = later.operation.location
        end = location.end_line or location.line
        if location.line > walked.operation.location.line and value.search("\n".join(lines[location.line - 1:end])):
            return location
    return None


def _created_in_step(walked) -> bool:
    """A type created by the same migration may use its new values at once (PostgreSQL 12+)
    and, before 12, cannot have been created in the same transaction as ADD VALUE anyway."""
    return any(isinstance(other, CreateEnum) and other.enum.name == walked.operation.name for other in walked.step.operations)
