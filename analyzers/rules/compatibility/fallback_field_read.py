from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class FallbackFieldRead(Rule):
    """## What it finds
    Reads of a stored JSON document that fall back from a new key to an old one:
    `alert.options.get("new") or alert.options.get("old")` and `self.settings.get("new",
    self.settings.get("old"))`, where `options`/`settings` is a JSON column of the schema.
    Fallbacks over environment variables, request headers, API responses or form fields are
    not reported: nothing stored has to be migrated before they can go (the corpus reading
    found them false or of no consequence, 16 of 17).

    ## Why it matters
    Each fallback is a compatibility shim for clients or stored payloads that still use the old
    name. Without a plan they never go away, `or` also falls back on legitimate empty values
    (`""`, `0`), and nobody knows whether the old name is still sent.

    ## Example
    ```python
    phone = data.get("mobile") or data.get("phone")
    ```

    ## Use instead
    Keep the shim deliberately and retire it: count how often the old name is used (a log line
    or metric), migrate stored payloads, tell clients, then delete the fallback.
    ```python
    phone = data["mobile"] if "mobile" in data else _legacy_phone(data)  # counts hits; remove after 2026-Q2
    ```

    ## How to verify
    The hit counter for the old name stays at zero for a full release cycle before the
    fallback is removed; a test sends only the new name.
    """

    code = "SL801"
    name = "fallback-field-read"
    dimension = 8
    severity = "P2"
    summary = _("read falling back from a new field name to an old one")

    valid = (Example({"app/services/users.py": "def phone_of(data):\n    return data.get('mobile')\n"}),
             # polar, redash, dispatch: deployment settings and request or API fields, not stored data
             Example({"migrations/V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, profile jsonb);\n",
                      "app/settings.py": ("import os\n"
                                          "URL = os.environ.get('APP_DATABASE_URL') or os.environ.get('DATABASE_URL')\n"
                                          "def token(request, data):\n"
                                          "    return request.headers.get('Authorization', request.headers.get('authorization'))"
                                          " or data.get('mobile') or data.get('phone')\n")}))
    invalid = (Example({"migrations/V1__users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, profile jsonb);\n",
                        "app/services/users.py": ("def phone_of(user):\n"
                                                  "    return user.profile.get('mobile') or user.profile.get('phone')  # expect\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        stored_documents = {column.name for table in context.tables() for column in table.columns
                            if column.type in ("json", "jsonb") or column.type.startswith(("json", "hstore"))}
        for facts in context.code_facts():
            for found in facts.fallback_reads:
                if not any(source.rpartition(".")[2] in stored_documents for source in found.sources if "." in source):
                    continue
                new, old = found.keys
                yield self.finding(
                    found.location, _('"%(new)s" falls back to "%(old)s"', new=new, old=old),
                    _('Reads "%(new)s" and falls back to the old field "%(old)s" when it is missing or empty.', new=new, old=old),
                    impact=_('Worst case: a legitimate empty "%(new)s" is silently replaced by a stale "%(old)s". Most likely: '
                           "the shim stays forever because nobody knows whether the old name is still sent.", new=new, old=old),
                    root_cause=_("A field was renamed for new clients while old clients or stored payloads still use the old name."),
                    fix=Fix(short_term=_('Count hits of the "%(old)s" fallback (log or metric) and distinguish missing from empty.', old=old),
                            medium_term=_('Backfill stored payloads from "%(old)s" to "%(new)s" and ask the remaining clients to switch.', old=old, new=new),
                            long_term=_('Remove the fallback once the counter stays at zero for a release cycle, then drop "%(old)s".', old=old)),
                    verification=_('A test sends only "%(new)s"; the metric for "%(old)s" is zero in production before removal.', new=new, old=old))
