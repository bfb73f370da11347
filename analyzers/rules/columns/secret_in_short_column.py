from __future__ import annotations

import re
from typing import Iterator

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import TableView
from ...i18n import _
from ...lazy_pattern import LazyPattern

# Names that say the column holds ciphertext. A hash has a fixed length (64 hex characters for
# SHA-256, 60 for bcrypt) and a plain `token` or `password` says nothing about what is stored.
ENCRYPTED_NAME = LazyPattern(r"(encrypted|cipher|crypt|_enc$)")
# Names that say the column holds something about the encryption, not the ciphertext: how it
# was made (heat's `decrypt_method`, 'cryptography_decrypt_v1'), which key, when, whether.
_ABOUT_THE_ENCRYPTION = LazyPattern(r"_(method|algorithm|alg|scheme|type|kind|version|mode|provider|plugin|backend|status|key_id|kid|"
                                    r"at|on|enabled)$|^(is|has)_")
# A Fernet token of an empty message is already 100 characters; base64 adds a third on top of
# the ciphertext. Anything at or below this length truncates or rejects real values.
_TOO_SHORT = 255


def varchar_length(type_text: str) -> int | None:
    match = re.fullmatch(r"character varying\((\d+)\)|character\((\d+)\)", type_text)
    return int(match.group(1) or match.group(2)) if match else None


class SecretInShortColumn(Rule):
    """## What it finds
    Columns meant to hold encrypted values (names with encrypted, cipher, crypt) declared as
    `varchar(n)` or `char(n)` with n <= 255; not a column named for something about the
    encryption (`decrypt_method`, `encryption_key_id`, `encrypted_at`). A column named for a password, token or hash is
    not reported: a hash has a fixed length (a 64-character hex HMAC fits `char(64)`, as in
    polar's session tokens), and the name says nothing of what is stored.

    ## Why it matters
    Encryption and encoding grow values: a Fernet token is at least 100 characters and grows
    with the plaintext by 4/3; bcrypt/argon2 hashes with parameters, JWTs and OAuth tokens
    regularly exceed 255. PostgreSQL rejects the longer value (or MySQL in non-strict mode
    truncates it), which surfaces as failed logins or undecryptable data after a key rotation
    or a library upgrade.

    ## Example
    ```python
    id_card_encrypted = db.Column(db.String(64))
    ```

    ## Use instead
    ```python
    id_card_encrypted = db.Column(db.Text)  # or LargeBinary for raw ciphertext
    ```

    ## How to verify
    A test encrypts the longest realistic plaintext with the production scheme and stores it;
    `SELECT max(length(col)) FROM t;` stays well below the limit.
    """

    code = "SL204"
    name = "secret-in-short-column"
    dimension = 2
    severity = "P1"
    summary = _("encrypted or encoded secret in a column too short for it")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, password_hash text, api_token_encrypted text);\n")}),
             Example({"migrations/V1__init.sql": "CREATE TABLE sessions (id bigint PRIMARY KEY, token char(64));\n"}),
             # heat: the name of the function that decrypts the stored value ('cryptography_decrypt_v1');
             # barbican: the plugin that encrypted it
             Example({"migrations/V1__init.sql": (
                 "CREATE TABLE resource_data (id bigint PRIMARY KEY, value text, decrypt_method varchar(64),\n"
                 "  crypto_plugin varchar(255));\n")}))
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  api_token_encrypted varchar(64)  -- expect\n);\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_table(self.code, self._check_table)

    def _check_table(self, context: TableView, table: Table) -> Iterator[Finding]:
        if table.partition_of:
            return
        for column in table.columns:
            length = varchar_length(column.type)
            if length is None or length > _TOO_SHORT or not ENCRYPTED_NAME.search(column.name) \
                    or _ABOUT_THE_ENCRYPTION.search(column.name):
                continue
            location, related = context.where_column(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s holds a secret in %(type)s", table=table.name, column=column.name, type=column.type),
                _("%(table)s.%(column)s (%(type)s) is too short for encrypted or encoded values.", table=table.name, column=column.name, type=column.type),
                impact=_("Worst case: after a key rotation or a library upgrade the longer ciphertext no longer fits "
                       "and writes fail or, on MySQL, are truncated and can never be decrypted. Most likely: "
                       "longer inputs fail to save."),
                root_cause=_("The length was sized for the plaintext, not the encoded ciphertext or hash."),
                fix=Fix(short_term=_("ALTER TABLE %(table)s ALTER COLUMN %(column)s TYPE text;  "
                                   "(varchar to text does not rewrite the table)", table=table.name, column=column.name),
                        medium_term=_("Add a test that stores the longest realistic value with the production encryption scheme."),
                        long_term=_("Standard: secrets are stored as text/bytea ciphertext with a key id column for rotation.")),
                verification=_("SELECT max(length(%(column)s)) FROM %(table)s;  -- and the round-trip test", column=column.name, table=table.name),
                table=table.name, column=column.name, related=related)
