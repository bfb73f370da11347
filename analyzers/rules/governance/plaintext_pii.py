from __future__ import annotations

import re
from typing import Iterator

from ...schema.model import Table
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ..recorded import TableView
from ...i18n import _
from ...lazy_pattern import LazyPattern

# Sensitive personal data and secrets that should not sit in plain text.
_SENSITIVE = LazyPattern(
    r"^(id_card|id_number|idcard|ssn|national_id|passport(_no|_number)?|bank_card|card_number|credit_card|iban|"
    r"phone|mobile|telephone|tel|real_name|address|home_address|birthday|date_of_birth|dob|"
    r"password|secret|api_key|apikey|access_token|refresh_token|private_key)$")
_PROTECTED = LazyPattern(r"(hash|hashed|encrypted|enc|cipher|digest|masked|last4|_fp|fingerprint)")
_TEXT = ("character varying", "text", "character", "jsonb", "json")


_USERS_WITH_SECRET = ("from flask_sqlalchemy import SQLAlchemy\ndb = SQLAlchemy()\n\n"
                      "class Users(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
                      "    secret = db.Column(db.String(128))\n")


class PlaintextPii(Rule):
    """## What it finds
    Columns that by name hold personal data or secrets (id card / passport numbers, bank
    cards, phone, real name, address, birthday, passwords, API keys, access tokens) stored as
    plain text, with no sign of hashing or encryption in the name, and written without a
    transform in the models (a `@validates` method, a property setter or a `TypeDecorator` may
    hash or encrypt the value: CTFd's `users.password` is hashed in `@validates("password")`),
    and that no application code writes hashed or encrypted (`user.password =
    bcrypt.generate_password_hash(raw)` in an event listener, `Users(password=hash_password(raw))`
    in a service, or a variable holding such a value: lemur, mealie).
    A name alone is no evidence that passwords leak: the finding is P1, never P0. Nor is a
    mapped credential column (password, secret, key, token) that no default fills and no
    application code reads or writes by name (`user.secret`, `Users(secret=...)`): CTFd's
    `users.secret` is a legacy column nothing uses.

    ## Why it matters
    Every backup, replica, log line, export and analyst query carries the raw value. One leaked
    dump or an over-broad read role exposes all of it, and regulations (PIPL, GDPR) require
    minimisation and protection. Passwords and tokens in plain text hand over accounts.

    ## Example
    ```python
    id_card = db.Column(db.String(18))
    ```

    ## Use instead
    ```python
    id_card_encrypted = db.Column(db.LargeBinary)   # envelope encryption, managed key
    id_card_last4 = db.Column(db.String(4))         # what the UI shows
    id_card_hash = db.Column(db.String(64), index=True)  # keyed hash for lookups
    ```
    Passwords: a slow hash (argon2/bcrypt) only.

    ## How to verify
    `SELECT id_card FROM users LIMIT 1;` returns ciphertext; a grep of logs and exports finds no
    raw values; access to the key is audited.
    """

    code = "SL701"
    name = "plaintext-pii"
    dimension = 7
    severity = "P1"
    summary = _("personal data or secret stored as plain text")

    valid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (id bigint PRIMARY KEY, id_card_encrypted bytea, id_card_last4 varchar(4), password_hash text);\n")}),
             # polar: a column a library's mixin declares (authlib); the project hashes what it stores there
             Example({"app/models.py": (
                 "from authlib.integrations.sqla_oauth2 import OAuth2TokenMixin\n"
                 "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n"
                 "Base = declarative_base()\n\n"
                 "class OAuth2Token(Base, OAuth2TokenMixin):\n    __tablename__ = 'oauth2_tokens'\n"
                 "    id = Column(Integer, primary_key=True)\n"),
                 "migrations/V1__init.sql": "CREATE TABLE oauth2_tokens (id integer PRIMARY KEY, access_token varchar(255));\n"}),
             Example({"app/models.py": (
                 "from flask_sqlalchemy import SQLAlchemy\nfrom sqlalchemy.orm import validates\n"
                 "from app.auth import hash_password\ndb = SQLAlchemy()\n\n"
                 "class Users(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
                 "    password = db.Column(db.String(128))\n\n"
                 "    @validates('password')\n    def validate_password(self, key, plaintext):\n"
                 "        return hash_password(str(plaintext))\n")}),
             # ckan: a table mapped imperatively to a class whose `password` property hashes what it stores
             Example({"app/models.py": (
                 "import sqlalchemy as sa\nfrom sqlalchemy.orm import registry, synonym\n"
                 "from passlib.hash import pbkdf2_sha512\nmapper_registry = registry()\n\n"
                 "user_table = sa.Table('user', mapper_registry.metadata, sa.Column('id', sa.Integer, primary_key=True),\n"
                 "                      sa.Column('password', sa.UnicodeText))\n\n\n"
                 "class User:\n    def _set_password(self, password):\n"
                 "        self._password = str(pbkdf2_sha512.hash(password))\n\n"
                 "    def _get_password(self):\n        return self._password\n\n"
                 "    password = property(_get_password, _set_password)\n\n\n"
                 "mapper_registry.map_imperatively(User, user_table, properties={'password': synonym('_password', map_column=True)})\n"),
                      "app/users.py": "def register(name, raw):\n    user = User()\n    user.password = raw\n    return user\n"}),
             # CTFd: a legacy `secret` column that the code never reads or writes (an `hmac(..., secret=)`
             # keyword is not the column).
             Example({"app/models.py": _USERS_WITH_SECRET,
                      "app/invites.py": "def invite_code(user, key):\n    return hmac(str(user.id), secret=key)\n"}),
             # litestar-fullstack: a library's encrypting type
             Example({"app/models.py": ("from advanced_alchemy.types import EncryptedText\nfrom flask_sqlalchemy import SQLAlchemy\n"
                                        "db = SQLAlchemy()\n\nclass Account(db.Model):\n"
                                        "    id = db.Column(db.Integer, primary_key=True)\n"
                                        "    refresh_token = db.Column(EncryptedText(key='k'))\n"),
                      "app/accounts.py": "def store(account, token):\n    account.refresh_token = token\n"}),
             # lemur: an event listener hashes before every insert; mealie: services hash before
             # they construct the user; privacyidea: the digest passes through a local variable
             Example({"app/models.py": _USERS_WITH_SECRET.replace(
                          "secret = db.Column(db.String(128))\n",
                          "password = db.Column(db.String(128))\n    api_key = db.Column(db.String(128))\n"
                          "    phone = db.Column(db.String(64))\n\n"
                          "    def hash_password(self):\n"
                          "        self.password = bcrypt.generate_password_hash(self.password).decode('utf-8')\n"),
                      "app/services.py": ("def register(form):\n    return Users(api_key=hash_token(form.key))\n\n\n"
                                          "def set_phone(user, phone):\n    sealed = encrypt_field(phone)\n"
                                          "    user.phone = sealed\n")}))
    invalid = (Example({"migrations/V1__init.sql": (
        "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  id_card varchar(18),  -- expect\n  password varchar(128)  -- expect\n);\n")}),
               # polar: the signing secret is read where webhooks are signed.
               Example({"app/models.py": _USERS_WITH_SECRET.replace("String(128))", "String(128))  # expect"),
                        "app/invites.py": "def invite_code(user):\n    return sign(user.id, user.secret)\n"}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        return context.per_table(self.code, self._check_table)

    def _check_table(self, context: TableView, table: Table) -> Iterator[Finding]:
        if table.partition_of:
            return
        orm = context.orm_table(table)
        for column in table.columns:
            if not _SENSITIVE.match(column.name) or _PROTECTED.search(column.name) or not column.type.startswith(_TEXT) \
                    or context.writes_are_transformed(table, column) or context.code_hashes_attribute(column.name):
                continue
            if table.key in context.library_tables and (orm is None or orm.column(column.name) is None):
                continue  # declared by a library base class (authlib's token mixins): how it is written is not read
            secret = re.search(r"password|secret|key|token", column.name) is not None
            if secret and orm is not None and orm.column(column.name) is not None and not _written_or_read(context, column):
                continue  # mapped, yet no code names it and no default fills it: nothing shows it holds a credential
            location, related = context.where_column(table, column)
            yield self.finding(
                location, _("%(table)s.%(column)s stores %(value)s in plain text", table=table.name, column=column.name, value=_('a secret') if secret else _('personal data')),
                _("%(table)s.%(column)s (%(type)s) holds %(value)s with no hashing or encryption.", table=table.name, column=column.name, type=column.type, value=_('credentials') if secret else 'PII'),
                impact=_("Worst case: a leaked backup, replica or export exposes every value")
                       + (_(" and hands over accounts.") if secret else _(" and triggers breach notification duties."))
                       + _(" Most likely: the values spread into logs, BI tools and support exports."),
                root_cause=_("Sensitive fields were modelled like any other string."),
                fix=Fix(short_term=(_("Hash passwords with argon2/bcrypt and rotate exposed tokens.") if secret else
                                    _("Restrict read access to %(table)s.%(column)s and mask it in logs and exports.", table=table.name, column=column.name)),
                        medium_term=(_("Add %(column)s_hash / %(column)s_encrypted columns, backfill, switch code, drop the "
                                     "plain column (expand, backfill, contract).", column=column.name)),
                        long_term=_("Data classification per column, envelope encryption with a managed key and key rotation.")),
                verification=_("SELECT %(column)s FROM %(table)s LIMIT 5;  -- expect hashes or ciphertext only", column=column.name, table=table.name),
                table=table.name, column=column.name, related=related)


def _written_or_read(context: AuditContext, column) -> bool:
    """The application stores or uses the column's value: a default fills it, or code names it."""
    return column.default is not None or column.server_default is not None or context.code_names_attribute(column.name)
