from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


_AUDIT_EVENTS = {"migrations/V1__init.sql": (
    "CREATE TABLE audit_events (id bigint PRIMARY KEY, schema_version integer, version integer, payload jsonb);\n")}


class SchemaVersionSwitch(Rule):
    """## What it finds
    Branches on a stored payload or schema version (`if event.schema_version == 1:`,
    `if data.get("version") < 2:`): code that keeps reading every historical shape of the
    data. The version must be one the database keeps: an attribute named as a column of the
    schema, or a key read from a dict where the schema stores JSON (heat compares a Keystone
    token's `version` and keeps no such column). Not a comparison of a `version` with a number of 1000 or more: that is a server's
    version number (`manager.version >= 100000`), not the version of stored data. Nor a check
    whose branches only raise or return nothing (`if address.version != 4: raise
    ValueError(...)`: a rejected input, not a shape read), nor a test for a missing version
    (`if ref.version is None:`). A version counts when it is compared with a literal or a named
    constant, not with another value (`version != release.version`, a migrator's `version ==
    self.schema_version`), and a plain `version` not when it is an IP address's (`ip.version == 6`).

    ## Why it matters
    Every version ever written stays readable only as long as its branch survives; the
    branches multiply, old ones are never tested, and a fix applied to one shape misses the
    others. The data itself is never migrated.

    ## Example
    ```python
    if event.schema_version == 1:
        return event.payload
    return event.payload["changes"]
    ```

    ## Use instead
    Upgrade old rows to the current shape with a backfill (in batches), then delete the branch;
    keep the version column only to detect rows the backfill missed.

    ## How to verify
    `SELECT schema_version, count(*) FROM audit_events GROUP BY 1;` shows only the current
    version after the backfill; the branch's removal passes the tests.
    """

    code = "SL802"
    name = "schema-version-switch"
    dimension = 8
    severity = "P2"
    summary = _("branching on a stored schema or payload version")

    valid = (Example({**_AUDIT_EVENTS, "app/services/audit.py": "def changes(event):\n    return event.payload['changes']\n"}),
             # heat: a Keystone token's API version; no table keeps a version
             Example({"app/auth.py": ("def headers(token_info):\n    if token_info.version == 'v3':\n"
                                      "        return {'project': token_info.project_id}\n    return {'tenant': token_info.tenant_id}\n"),
                      "migrations/V1__init.sql": "CREATE TABLE stack (id bigint PRIMARY KEY, name text);\n"}),
             # pgadmin: the connected PostgreSQL server's version number, not a version of stored data
             Example({**_AUDIT_EVENTS, "app/services/replay.py": ("def pause_sql(manager):\n    if manager.version >= 100000:\n"
                                                 "        return 'SELECT pg_wal_replay_pause()'\n"
                                                 "    return 'SELECT pg_xlog_replay_pause()'\n")}),
             # tracecat, agenta, aiida: a check that rejects a version, and a test for a missing one
             Example({**_AUDIT_EVENTS, "app/services/network.py": ("def allow(address, ref):\n    if address.version != 4:\n"
                                                  "        raise ValueError('IPv4 only')\n"
                                                  "    if ref.version is None:\n        return latest(ref)\n"
                                                  "    return ref\n")}),
             # warehouse: a version typed into a form against the release's; prefect: an IPv6 host
             Example({**_AUDIT_EVENTS, "app/views/releases.py": ("def yank(request, release):\n    version = request.POST.get('version')\n"
                                                "    if version != release.version:\n        flash('Could not yank')\n"
                                                "        return redirect(request.url)\n    release.yanked = True\n")}),
             Example({**_AUDIT_EVENTS, "app/cli/urls.py": ("import ipaddress\n\ndef url_host(host):\n    ip = ipaddress.ip_address(host)\n"
                                          "    if ip.version == 6:\n        return f'[{host}]'\n    return host\n")}),
             # skyvern: a reply of another version is turned away, not read
             Example({**_AUDIT_EVENTS, "app/llm/parse.py": ("def parse_reply(raw):\n    if raw.get('version') != '1':\n        return None\n"
                                           "    return raw['actions']\n")}),
             # kinto: a migrator compares the installed schema version with its own
             Example({**_AUDIT_EVENTS, "app/storage/migrator.py": ("def create_or_migrate(self, version):\n"
                                                  "    if version == self.schema_version:\n        return\n"
                                                  "    self.migrate_schema(version)\n")}),
             # neutron: netaddr's networks, and a subnet's IP version against a named constant
             Example({**_AUDIT_EVENTS, "app/agent/dhcp.py": ("import netaddr\n\ndef options(subnet, port):\n"
                                            "    if netaddr.IPNetwork(subnet.cidr).version == 6:\n        return ra_options(subnet)\n"
                                            "    if port.version == IPV4_STR:\n        return v4_options(port)\n    return []\n")}))
    invalid = (Example({"app/services/audit.py": ("def changes(event):\n    if event.schema_version == 1:  # expect\n"
                                                  "        return event.payload\n    return event.payload['changes']\n"),
                        **_AUDIT_EVENTS}),
               Example({"app/services/audit.py": ("def changes(event):\n    if event.version < 2:  # expect\n"
                                                  "        return event.payload\n    return event.payload['changes']\n"),
                        **_AUDIT_EVENTS}),
               # warehouse: a caveat stored as JSON, read in its first shape or its second
               Example({"app/macaroons/caveats.py": ("def adapt(data):\n    if data.get('version') == 1:  # expect\n"
                                                     "        return adapt_v1(data)\n    return data['caveats']\n"),
                        **_AUDIT_EVENTS}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        switches = [found for facts in context.code_facts() for found in facts.version_switches]
        if not switches:
            return  # most audits: the schema's columns are not gone through
        columns = [column for layer in (context.model.orm, context.model.database)
                   for table in layer.tables.values() for column in table.columns]
        stored = {column.name for column in columns}
        json_stored = any(column.type in ("json", "jsonb") for column in columns)
        for found in switches:
            if not (json_stored if found.key else found.field in stored):
                continue  # not a version the database keeps: a library's, a request's, a token's
            yield self.finding(
                found.location, _("branch on stored %(field)s", field=found.field),
                _("The code reads several historical shapes of stored data, selected by %(field)s.", field=found.field),
                impact=_("Worst case: a fix lands in one branch and rows of another version keep the bug. Most likely: "
                       "old branches rot untested while old rows are still read."),
                root_cause=_("The data format changed without migrating the rows already stored."),
                fix=Fix(short_term=_("Count rows per %(field)s to know which branches are still needed.", field=found.field),
                        medium_term=_("Backfill old rows to the current shape in batches, then delete the branch for each "
                                    "version that reaches zero rows."),
                        long_term=_("Standard: format changes ship with their backfill; readers handle one shape.")),
                verification=_("SELECT %(field)s, count(*) FROM <table> GROUP BY 1;  -- only the current version remains", field=found.field))
