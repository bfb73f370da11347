from __future__ import annotations

from typing import Iterator

from ...schema.operations import AddEnumValue
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from .safety import sql_example
from ...i18n import _

_ENUM = "CREATE TYPE order_state AS ENUM ('new', 'paid', 'shipped');\n"


class EnumValueAppended(Rule):
    """## What it finds
    `ALTER TYPE ... ADD VALUE` without `BEFORE` or `AFTER`: the new value goes to the end of the
    enum's order.

    Opt-in (an opinion): select `SL553`, or `preset = "squawk"`.

    ## Why it matters
    An enum's values sort and compare in declaration order, not alphabetically: `ORDER BY
    state`, `state < 'shipped'` and `max(state)` follow it. Appending is right for a log of
    values added over time and wrong for a progression (`new < paid < shipped`), where a value
    added later belongs somewhere in the middle; once rows use it, the order can only be fixed
    by recreating the type.

    P2.

    ## Example
    ```sql
    ALTER TYPE order_state ADD VALUE 'packed';
    ```

    ## Use instead
    ```sql
    ALTER TYPE order_state ADD VALUE 'packed' BEFORE 'shipped';
    ```
    or `AFTER 'shipped'` when the end is where it belongs, which says so.

    ## How to verify
    `SELECT enumlabel FROM pg_enum WHERE enumtypid = 'order_state'::regtype ORDER BY enumsortorder`
    lists the values in the intended order.
    """

    code = "SL553"
    name = "enum-value-appended"
    dimension = 5
    severity = "P2"
    default_enabled = False
    summary = _("enum value added without BEFORE/AFTER (appended to the sort order)")
    peers = ("squawk:require-enum-value-ordering",)

    valid = (Example(sql_example(_ENUM + "ALTER TYPE order_state ADD VALUE 'packed' BEFORE 'shipped';\n"),
                     config='select = ["SL553"]\n'),)
    invalid = (Example(sql_example(_ENUM + "ALTER TYPE order_state ADD VALUE 'packed';  -- expect\n"),
                       config='select = ["SL553"]\n'),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for walked in context.walked(AddEnumValue):
            operation = walked.operation
            if operation.before or operation.after:
                continue
            enum = context.model.database.enums.get(operation.name)
            values = f" after {', '.join(repr(v) for v in enum.values)}" if enum is not None and enum.values else ""
            yield self.finding(
                operation.location, _("'%(operation)s' is appended to enum %(operation_2)s", operation=operation.value, operation_2=operation.name),
                _("Without BEFORE or AFTER, '%(operation)s' sorts last%(values)s; ORDER BY and comparisons on "
                "%(operation_2)s follow that order.", operation=operation.value, values=values, operation_2=operation.name),
                impact=_("Worst case: a progression enum sorts the new value in the wrong place and reports or state "
                       "checks (`state < 'shipped'`) give wrong answers. Most likely: nothing, when appending is "
                       "what was meant."),
                root_cause=_("ADD VALUE appends by default."),
                fix=Fix(short_term=_("Say where it goes: `ADD VALUE '%(operation)s' BEFORE '...'` (or `AFTER` the "
                                   "last value, when the end is intended).", operation=operation.value)),
                verification=_("SELECT enumlabel FROM pg_enum WHERE enumtypid = '%(operation)s'::regtype ORDER BY "
                             "enumsortorder;", operation=operation.name))
