from __future__ import annotations

from typing import Iterator

from ...schema.operations import TransactionControl
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import sql_example
from ...i18n import _


class UncommittedTransaction(Rule):
    """## What it finds
    A SQL migration file that opens a transaction (`BEGIN`, `START TRANSACTION`) and ends
    without `COMMIT` or `ROLLBACK` after it.

    ## Why it matters
    What happens to the statements after the BEGIN depends on the runner: psql and most drivers
    roll an open transaction back when the connection closes, so the migration reports success
    and leaves nothing applied (or the tool records it as applied); a tool that wraps the file
    in its own transaction commits it, and the BEGIN only produced a warning. Either way the
    file does not say what it does, and the next file may run inside a transaction it did not
    expect.

    P1.

    ## Example
    ```sql
    BEGIN;
    ALTER TABLE orders ADD COLUMN channel text;
    ```

    ## Use instead
    ```sql
    BEGIN;
    ALTER TABLE orders ADD COLUMN channel text;
    COMMIT;
    ```
    or no BEGIN at all when the migration tool wraps each file in a transaction.

    ## How to verify
    `psql -v ON_ERROR_STOP=1 -f <file>` on a scratch database, then `\\d orders` in a new
    session shows the change.
    """

    code = "SL549"
    name = "uncommitted-transaction"
    dimension = 5
    severity = "P1"
    summary = _("BEGIN without COMMIT or ROLLBACK in a SQL migration")
    peers = ("squawk:ban-uncommitted-transaction",)

    valid = (Example(sql_example("BEGIN;\nALTER TABLE orders ADD COLUMN channel text;\nCOMMIT;\n")),)
    invalid = (
        Example(sql_example("BEGIN;  -- expect\nALTER TABLE orders ADD COLUMN channel text;\n")),
        Example(sql_example("BEGIN;\nCOMMIT;\nSTART TRANSACTION;  -- expect\nALTER TABLE orders ADD COLUMN channel text;\n")),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for step in context.model.steps:
            if step.path.endswith(".py"):
                continue
            opened = None
            for operation in step.operations:
                if isinstance(operation, TransactionControl) and operation.statement is not None:
                    opened = operation if operation.kind == "BEGIN" else None
            if opened is None:
                continue
            yield self.finding(
                opened.location, _("%(statement)s is never committed", statement=opened.statement),
                _("%(path)s opens a transaction with %(statement)s and ends without COMMIT or ROLLBACK: what "
                "the statements after it do depends on how the runner closes the connection.", path=step.path, statement=opened.statement),
                impact=_("Worst case: the migration is recorded as applied while its changes were rolled back, and later "
                       "migrations fail on a schema that is not there. Most likely: a warning in the deploy log and a "
                       "change that is committed only by accident of the tool."),
                root_cause=_("The COMMIT was forgotten, or the file was cut from a longer script."),
                fix=Fix(short_term=_("End %(path)s with COMMIT; (or remove the BEGIN when the tool wraps files in a "
                                   "transaction).", path=step.path),
                        medium_term=_("Apply every migration file with psql -v ON_ERROR_STOP=1 in CI.")),
                verification=_("psql -v ON_ERROR_STOP=1 -1 -f %(path)s on a scratch database, then check the change "
                             "from a new session", path=step.path))
