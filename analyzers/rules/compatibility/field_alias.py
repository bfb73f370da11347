from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext


class FieldAlias(Rule):
    """## What it finds
    Fields that answer to a second name in application code: SQLAlchemy `synonym("new_name")`,
    pydantic `Field(alias="old")` / `validation_alias=` and `AliasChoices("new", "old")`.

    ## Why it matters
    An alias keeps an old name working for old clients or old stored documents. Each one is
    a compatibility promise nobody tracks: both names keep being written, documentation and
    queries disagree about which is real, and the old name is never retired.

    ## Example
    ```python
    phone: str = Field(validation_alias=AliasChoices("mobile", "phone"))
    ```

    ## Use instead
    Accept the old name in one adapter that counts its use, publish the new name, and remove
    the alias when the counter reaches zero; rename stored data with a backfill.

    ## How to verify
    Request logs or a metric show no payload using the old name for a release cycle; a test
    sends only the new name.
    """

    code = "SL805"
    name = "field-alias"
    dimension = 8
    severity = "P2"
    summary = "field kept working under an old name (alias)"
    summary_zh = "字段别名（旧字段名兼容）"

    valid = (Example({"app/schemas.py": "from pydantic import BaseModel\n\nclass User(BaseModel):\n    phone: str\n"}),)
    invalid = (Example({"app/schemas.py": ("from pydantic import BaseModel, Field, AliasChoices\n\nclass User(BaseModel):\n"
                                           "    phone: str = Field(validation_alias=AliasChoices('mobile', 'phone'))  # expect\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for facts in context.code_facts():
            for found in facts.field_aliases:
                names = ", ".join(found.names)
                yield self.finding(
                    found.location, f"field alias ({names})",
                    f"A field is also accepted or exposed as {names}: a compatibility alias with no removal plan.",
                    impact="Worst case: two names for one field drift apart in clients and stored data, and a rename "
                           "is never finished. Most likely: the alias stays forever because nobody measures its use.",
                    root_cause="A field was renamed while old clients or stored documents still use the old name.",
                    fix=Fix(short_term="Count requests and stored rows that still use the old name.",
                            medium_term="Backfill stored data to the new name and notify the remaining clients.",
                            long_term="Remove the alias when its use reaches zero; record the removal in the changelog."),
                    verification="A test sends only the new name; the old-name counter is zero before the alias is removed.")
