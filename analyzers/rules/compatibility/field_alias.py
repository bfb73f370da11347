from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class FieldAlias(Rule):
    """## What it finds
    Model attributes kept as a second name of a stored column: SQLAlchemy
    `old_name = synonym("new_name")`. An API's input aliases (pydantic `Field(alias=...)`,
    `AliasChoices`) are not reported: they name no stored column, and on the real projects we
    read they were API naming choices, not schema fallbacks.

    ## Why it matters
    A synonym keeps an old column name working in code after a rename. Each one is a
    compatibility promise nobody tracks: queries and reports use both names, the rename is
    never finished, and the next reader cannot tell which name is real.

    ## Example
    ```python
    class User(Base):
        mobile = Column(String(32))
        phone = synonym("mobile")  # the column was renamed; old code still says user.phone
    ```

    ## Use instead
    Move the code to the new name (a grep for the old one), then remove the synonym; if
    callers outside the code base use it, count their use first.

    ## How to verify
    A search of the code for `.phone` finds nothing; tests pass without the synonym.
    """

    code = "SL805"
    name = "field-alias"
    dimension = 8
    severity = "P2"
    summary = _("field kept working under an old name (alias)")

    valid = (Example({"app/schemas.py": ("from pydantic import AliasChoices, BaseModel, Field\n\nclass User(BaseModel):\n"
                                         "    phone: str = Field(validation_alias=AliasChoices('mobile', 'phone'))\n")}),)
    invalid = (Example({"app/models.py": ("import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base, synonym\n"
                                          "Base = declarative_base()\n\nclass User(Base):\n    __tablename__ = 'users'\n"
                                          "    id = sa.Column(sa.Integer, primary_key=True)\n    mobile = sa.Column(sa.String(32))\n"
                                          "    phone = synonym('mobile')  # expect\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for facts in context.code_facts():
            for found in facts.field_aliases:
                alias, target = found.names
                yield self.finding(
                    found.location, _("%(alias)s is a synonym of %(target)s", alias=alias, target=target),
                    _("%(alias)s keeps reading and writing the stored column of %(target)s: a compatibility alias with no "
                    "removal plan.", alias=alias, target=target),
                    impact=_("Worst case: two names for one field drift apart in clients and stored data, and a rename "
                           "is never finished. Most likely: the alias stays forever because nobody measures its use."),
                    root_cause=_("A field was renamed while old clients or stored documents still use the old name."),
                    fix=Fix(short_term=_("Count requests and stored rows that still use the old name."),
                            medium_term=_("Backfill stored data to the new name and notify the remaining clients."),
                            long_term=_("Remove the alias when its use reaches zero; record the removal in the changelog.")),
                    verification=_("A test sends only the new name; the old-name counter is zero before the alias is removed."))
