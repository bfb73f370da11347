from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _


class GeneratedKeyFallback(Rule):
    """## What it finds
    Encryption keys or secrets read from configuration with a freshly generated value as the
    fallback: `os.getenv("KEY") or Fernet.generate_key()`, `os.environ.get("KEY",
    secrets.token_bytes(32))`, `... or os.urandom(32)`.

    A read counts when it reads configuration (`os.getenv`, `os.environ`, a `config`,
    `settings` or `options` object) under a key that names a secret (key, secret, token, salt,
    password...): a constructor's `kwargs.get("id") or str(uuid4())` makes a new row's id, not
    a key (alerta).

    ## Why it matters
    When the variable is missing (a new server, a typo, a rotated secret store), the process
    silently encrypts with a key that exists only in its memory. Everything it writes becomes
    undecryptable after the next restart, and different workers write with different keys.

    ## Example
    ```python
    FERNET_KEY = os.getenv("FERNET_KEY") or Fernet.generate_key()
    ```

    ## Use instead
    ```python
    FERNET_KEY = os.environ["FERNET_KEY"]  # fail at start-up when it is missing
    ```
    and load keys from a secret manager with a key id stored beside each ciphertext.

    ## How to verify
    Start the service without the variable: it must refuse to start. Decrypt a value written by
    another instance in a test.
    """

    code = "SL702"
    name = "generated-key-fallback"
    dimension = 7
    severity = "P0"
    summary = _("encryption key with a generated fallback")

    valid = (Example({"app/crypto.py": "import os\nKEY = os.environ['FERNET_KEY']\n"}),
             # alerta: a new row's id, and a request id, generated when none was given
             Example({"app/models/alert.py": ("from uuid import uuid4\n\n\nclass Alert:\n"
                                              "    def __init__(self, **kwargs):\n"
                                              "        self.id = kwargs.get('id') or str(uuid4())\n"),
                      "app/tracing.py": ("import os\nimport uuid\nfrom flask import request\n\n\n"
                                         "def request_id():\n"
                                         "    return request.headers.get('X-Request-ID') or str(uuid.uuid4())\n\n\n"
                                         "INSTANCE = os.environ.get('INSTANCE_ID') or str(uuid.uuid4())\n")}))
    invalid = (Example({"app/crypto.py": ("import os\nfrom cryptography.fernet import Fernet\n"
                                          "KEY = os.getenv('FERNET_KEY') or Fernet.generate_key()  # expect\n")}),
               Example({"app/settings.py": ("import secrets\nfrom flask import current_app\n\n\n"
                                            "def signing_secret():\n"
                                            "    return current_app.config.get('SIGNING_SECRET', secrets.token_hex(32))  # expect\n")}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for facts in context.code_facts():
            for found in facts.key_fallbacks:
                yield self.finding(
                    found.location, _("secret falls back to %(generator)s()", generator=found.generator),
                    _("When the configured secret is missing, a new one from %(generator)s() is used silently.", generator=found.generator),
                    impact=_("Worst case: data encrypted with a throwaway key is lost at the next restart, and each worker "
                           "writes with a different key. Most likely: a deploy with a missing variable corrupts every "
                           "value written until someone notices."),
                    root_cause=_("A development convenience (a generated default) reached production code."),
                    fix=Fix(short_term=_("Remove the fallback: read the key with os.environ[...] so that start-up fails loudly."),
                            medium_term=_("Find rows written with a generated key (decryption failures) and re-collect or re-encrypt them."),
                            long_term=_("Keys come from a secret manager; ciphertexts carry a key id for rotation.")),
                    verification=_("Start the service without the variable in a test: it must exit with an error."))
