from __future__ import annotations

from typing import Iterator, Optional

from ...extract.sql_files import MAX_IDENTIFIER_BYTES, identifier_bytes
from ...schema import operations as ops
from ...schema.model import Location
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import StepView
from .safety import alembic_example, sql_example
from ...i18n import _


def _names(operation) -> list[str]:
    """The identifiers an operation creates or names."""
    names: list[Optional[str]] = [getattr(operation, "schema", None)]
    match operation:
        case ops.CreateTable():
            names += [operation.table, *(c.name for c in operation.columns), *(c.name for c in operation.constraints)]
        case ops.AddColumn():
            names += [operation.table, operation.column.name, *(c.name for c in operation.constraints)]
        case ops.CreateIndex():
            names += [operation.table, operation.index.name]
        case ops.AddConstraint():
            names += [operation.table, operation.constraint.name]
        case ops.AlterColumn():
            names += [operation.table, operation.column, operation.new_name]
        case ops.RenameTable():
            names += [operation.table, operation.new_name]
        case ops.RenameIndex() | ops.RenameConstraint():
            names += [operation.name, operation.new_name]
        case ops.DropTable() | ops.DropColumn():
            names += [operation.table, getattr(operation, "column", None)]
        case ops.DropIndex() | ops.DropConstraint() | ops.DropType() | ops.DropSequence() | ops.DropFunction():
            names += [operation.name]
        case ops.CreateEnum():
            names += [operation.enum.name]
        case ops.CreateSequence():
            names += [operation.sequence.name]
        case ops.CreateFunction():
            names += [operation.function.name]
        case ops.CreateTrigger():
            names += [operation.trigger.name]
        case ops.UnsupportedStatement():
            names += [operation.name, operation.table]
            if operation.kind.startswith(("RENAME", "SET SCHEMA")):
                names.append(operation.detail)
    return [name for name in names if name]


def truncated(name: str) -> str:
    """The name PostgreSQL stores: its first 63 bytes, cut on a character boundary."""
    return name.encode("utf-8")[:MAX_IDENTIFIER_BYTES].decode("utf-8", errors="ignore")


class IdentifierTooLong(Rule):
    """## What it finds
    A name longer than 63 bytes (UTF-8) in a migration: a table, column, index, constraint,
    sequence, type, function, trigger or schema that it creates, renames or names.

    ## Why it matters
    PostgreSQL cuts identifiers to 63 bytes (NAMEDATALEN - 1) with only a NOTICE. The object
    gets a name nobody wrote: code, ORMs and later migrations that use the full name do not find
    it, and two long names that share their first 63 bytes collide ("relation already exists")
    or, worse, a DROP or ALTER by the long name acts on the other object. SQLAlchemy refuses
    such names outright (`IdentifierError`).

    P1.

    ## Example
    ```sql
    CREATE INDEX index_orders_on_customer_id_and_created_at_and_status_and_channel ON orders (...);
    ```

    ## Use instead
    A name of at most 63 bytes, abbreviated by the project's convention:
    `ix_orders_customer_created_status_channel`. Non-ASCII names count bytes, not characters.

    ## How to verify
    `SELECT relname FROM pg_class WHERE length(relname) = 63` lists names that may have been
    cut; after the fix the migration creates the name it writes.
    """

    code = "SL551"
    name = "identifier-too-long"
    dimension = 5
    severity = "P1"
    summary = _("identifier longer than 63 bytes (PostgreSQL silently truncates it)")
    peers = ("squawk:identifier-too-long",)

    valid = (Example(sql_example("CREATE INDEX ix_orders_customer_status ON orders (customer_id, status);\n")),)
    invalid = (
        Example(sql_example("CREATE INDEX index_orders_on_customer_id_and_status_and_total_and_note_and_created_at "
                            "ON orders (customer_id, status);  -- expect\n")),
        Example(alembic_example("    op.add_column('orders', sa.Column("
                                "'shipping_address_line_two_for_customers_who_live_in_big_apartment_blocks', sa.Text()))  # expect")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for step in context.model.steps:
            scan = context.model.sql_scans.get(step.path)
            for location, name in scan.long_identifiers if scan is not None else ():
                yield self._finding(location, name, None)
        yield from context.per_step(self.code, self._check_step)

    def _check_step(self, _context: StepView, operations: tuple) -> Iterator[Finding]:
        """The names of a revision's operations (a SQL migration's are read from its text)."""
        if not operations[0].step.path.endswith(".py"):
            return
        for walked in operations:
            operation = walked.operation
            reported: set[str] = set()
            # op.f("...") names are SQLAlchemy's to render: it cuts long ones itself, with a hash suffix,
            # the same way everywhere they are used.
            final = getattr(operation, "final_names", frozenset())
            for name in _names(operation):
                if identifier_bytes(name) <= MAX_IDENTIFIER_BYTES or name in reported or name in final:
                    continue
                reported.add(name)
                yield self._finding(operation.location, name, walked.table)

    def _finding(self, location: Location, name: str, table: Optional[str]) -> Finding:
        short = truncated(name)
        return self.finding(
            location, _("%(name)s... is %(identifier_bytes)s bytes long", name=name[:40], identifier_bytes=identifier_bytes(name)),
            _("PostgreSQL keeps only the first %(max_identifier_bytes)s bytes: the object is named %(short)r.", max_identifier_bytes=MAX_IDENTIFIER_BYTES, short=short),
            impact=_("Worst case: a later migration or query by the full name acts on another object whose name "
                   "starts the same, or fails. Most likely: \"does not exist\" errors from code that uses the "
                   "full name, and a model that SQLAlchemy refuses."),
            root_cause=_("Generated or descriptive names that grow with the column list."),
            fix=Fix(short_term=_("Use a name of at most %(max_identifier_bytes)s bytes (the convention's abbreviation).", max_identifier_bytes=MAX_IDENTIFIER_BYTES),
                    medium_term=_("A naming convention that keeps index and constraint names short.")),
            verification=_("SELECT relname FROM pg_class WHERE relname = '%(short)s';  -- after the fix: the name "
                         "as written", short=short),
            table=table)
