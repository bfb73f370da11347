from __future__ import annotations

from typing import Iterator

from ...schema.model import table_key
from ...schema.operations import DropColumn, DropTable
from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from .safety import alembic_example, created_here, on_existing_tables
from ...i18n import _

_MODEL = ("from sqlalchemy import Column, Integer, String, Text\nfrom sqlalchemy.orm import declarative_base\n"
          "Base = declarative_base()\n\nclass Order(Base):\n    __tablename__ = 'orders'\n"
          "    id = Column(Integer, primary_key=True)\n    status = Column(String(20))\n")


class DropStillReferenced(Rule):
    """## What it finds
    A migration drops a column or table that the models still declare (and that the database
    does not have again at head).

    ## Why it matters
    SQLAlchemy selects every mapped column: once the column is gone, every query on the model
    fails (`column orders.note does not exist`), in the new release if the model was not
    updated, and in the old release during the rolling deploy in any case. The data is gone;
    a downgrade re-creates an empty column.

    P0.

    ## Example
    ```python
    op.drop_column("orders", "note")   # while class Order still has `note = Column(Text)`
    ```

    ## Use instead
    Release 1: remove the attribute from the model (or mark it `deferred` and stop writing it)
    and deploy. Release 2: drop the column, after a backup or a copy of its data if it might be
    needed.

    ## How to verify
    `schemalens check` shows no ORM/database drift on the table; the application's tests pass
    against the migrated schema.
    """

    code = "SL513"
    name = "drop-still-referenced"
    dimension = 5
    severity = "P0"
    summary = _("column or table dropped while the models still use it")
    peers = ("squawk:ban-drop-column", "squawk:ban-drop-table", "pgls:banDropColumn", "pgls:banDropTable",
             "strong_migrations:remove_column", "atlas:DS102", "atlas:DS103")

    valid = (
        Example({**alembic_example("    op.drop_column('orders', 'note')"), "app/models.py": _MODEL}),
    )
    invalid = (
        Example({**alembic_example("    op.drop_column('orders', 'note')  # expect"),
                 "app/models.py": _MODEL + "    note = Column(Text)\n"}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        orm, database = context.model.orm, context.model.database
        for walked in on_existing_tables(context, DropColumn, DropTable):
            operation = walked.operation
            key = table_key(operation.table, operation.schema)
            model_table = orm.tables.get(key)
            if model_table is None:
                continue
            if isinstance(operation, DropTable):
                if key in database.tables:
                    continue
                element, where, column = f"table {key}", model_table.location, None
            else:
                model_column = model_table.column(operation.column)
                head = database.tables.get(key)
                if model_column is None or (head is not None and head.column(operation.column) is not None):
                    continue
                element, where, column = f"column {key}.{operation.column}", model_column.location, operation.column
            yield self.finding(
                operation.location, _("%(element)s is dropped but the models still use it", element=element),
                _("The model at %(path)s:%(line)s still maps %(element)s; SQLAlchemy selects it in every query.", path=where.path, line=where.line, element=element),
                impact=_("Worst case: every query through the model fails after the migration and the data in "
                       "%(element)s is lost. Most likely: an outage of the endpoints that load this model until a "
                       "hotfix removes the attribute.", element=element),
                root_cause=_("The drop was written before the code stopped using the column, in the same release."),
                fix=Fix(short_term=_("Remove %(element)s from the model first and deploy; drop it in the next release.", element=element),
                        medium_term=_("Copy the data aside (or keep a backup) before dropping."),
                        long_term=_("Two-release drops as a team rule; `schemalens check` in CI.")),
                verification=_("After removing it from the model, `schemalens check` reports no drift on %(key)s; "
                             "test: the application's tests against the migrated schema", key=key),
                table=operation.table, column=column,
                related=(Related(where, _("still declared here")), *created_here(walked)))
