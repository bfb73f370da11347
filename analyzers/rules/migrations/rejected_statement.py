from __future__ import annotations

from typing import Iterator

from ...schema.model import ExtractionError
from ...workspace.code_roles import is_application_code
from ..base import Example, Finding, Fix, Rule
from ..context import AuditContext
from ...i18n import _

# The extractor words PostgreSQL's parser errors (pglast) this way, in SQL files and op.execute().
REJECTED_PREFIX = "PostgreSQL would reject this"
_MIGRATION_FILES = ("sql_migration", "revision")


def rejected_statements(model) -> list[ExtractionError]:
    """The extraction problems that are statements PostgreSQL's parser rejects in a migration
    file: this rule reports them as findings. Renderers of `model.errors` (CLI, LSP) can use it
    to leave them out and show each problem once."""
    patterns = model.config.non_application_paths
    return [error for error in model.errors
            if error.kind == "error" and error.message.startswith(REJECTED_PREFIX)
            and model.files.get(error.location.path) in _MIGRATION_FILES
            and is_application_code(error.location.path, patterns)]  # not a test's expected output (pgadmin)


class RejectedStatement(Rule):
    """## What it finds
    A statement in a migration (a SQL migration file, or SQL passed to `op.execute()` in an
    Alembic revision) that PostgreSQL's own parser rejects: a typo, a missing comma, syntax of
    another database (`AUTO_INCREMENT`, backquotes), or syntax newer than the parser. Also a
    statement that names one column twice, which PostgreSQL rejects before running it (`column
    "a" specified more than once`): `UPDATE ... SET a = 1, a = 2`, `INSERT INTO t (a, a)`,
    `ON CONFLICT DO UPDATE` and `MERGE` assignments, two columns of one name in CREATE TABLE,
    or in a view's or `SELECT ... INTO`'s output (`SELECT 1, 2` names both `?column?`). Names
    compare as PostgreSQL stores them: case-folded and cut at 63 bytes. Not in tests, scripts
    or fixtures (`non_application_paths`): their SQL is test data (pgadmin's expected outputs
    hold placeholders such as `<OWNER>`), left with the reading errors.

    Held back when the project deploys MySQL: its dependency files name MySQL drivers and no
    PostgreSQL driver, so backquotes and `TINYINT(1)` in its revisions are its engine's syntax
    (ichnaea). The statements stay listed among the reading errors, as SQL not read.

    ## Why it matters
    The migration cannot run: it fails at that statement on every database, so the deploy stops
    there — in the middle of the file when the tool does not wrap it in a transaction, leaving
    the earlier statements applied. SchemaLens skips the statement, so the schema it checks
    lacks whatever it was meant to change.

    ## Example
    ```sql
    ALTER TABLE orders ADD COLUMN note text DEFAULT '' NOT NULL,;
    ```

    ## Use instead
    ```sql
    ALTER TABLE orders ADD COLUMN note text DEFAULT '' NOT NULL;
    ```

    ## How to verify
    `psql -v ON_ERROR_STOP=1 -f <file>` on a scratch database runs the file to the end (for an
    Alembic revision: `alembic upgrade <rev> --sql` then the same), and `schemalens check` no
    longer reports the statement.
    """

    code = "SL538"
    moot_on_mysql = True
    name = "rejected-statement"
    dimension = 5
    severity = "P0"
    summary = _("migration statement that PostgreSQL's parser rejects")
    peers = ("squawk:ban-duplicate-column-assignments",)

    valid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
                                           "ALTER TABLE orders ADD COLUMN note text DEFAULT '' NOT NULL;\n"}),
             # pgadmin: Jinja templates of SQL per server version, and a test's expected output
             Example({"app/templates/views/sql/15_plus/update.sql": (
                          "ALTER VIEW {{ conn|qtIdent(data.schema, data.name) }}\n"
                          "{% if data.owner %}    OWNER TO {{ data.owner }}{% endif %};\n"),
                      "app/templates/views/sql/16_plus/update.sql": "ALTER VIEW {{ data.name }} RENAME TO {{ data.new }};\n",
                      "tests/pg/15_plus/alter_view.sql": "ALTER TABLE public.v OWNER TO <OWNER>;\n",
                      "tests/pg/16_plus/alter_view.sql": "GRANT ALL ON TABLE public.v TO <OWNER>;\n"}),
             # ichnaea: deployed on MySQL (pymysql the only driver), revisions write MySQL's SQL
             Example({"requirements.txt": "pymysql==1.0.2\n",
                      "migrations/versions/a1_transfer.py": (
                          "from alembic import op\nimport sqlalchemy as sa\n\nrevision = 'a1'\ndown_revision = None\n\n\n"
                          "def upgrade():\n    op.execute(sa.text(\n"
                          "        'ALTER TABLE api_key ADD COLUMN `allow_transfer` TINYINT(1) AFTER `allow_locate`'))\n")}))
    invalid = (Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n"
                                             "ALTER TABLE orders ADD COLUMN note text DEFAULT '' NOT NULL,;  -- expect\n"}),
               Example({"db/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, note text);\n"
                                             "UPDATE orders SET note = 'a', NOTE = 'b';  -- expect\n"}))

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for error in rejected_statements(context.model):
            path = error.location.path
            reason = error.message.split(":", 1)[1].strip() if ":" in error.message else error.message
            yield self.finding(
                error.location, _("PostgreSQL rejects this statement: %(reason)s", reason=reason),
                _("%(message)s. The migration %(path)s stops here on every database.", message=error.message, path=path),
                impact=_("Worst case: the deploy stops halfway through the migration and leaves the statements before this "
                       "one applied without a transaction to undo them. Most likely: the migration fails in CI or on "
                       "the first deploy."),
                root_cause=_("SQL written without running it, copied from another database's dialect, or edited by hand."),
                fix=Fix(short_term=_("Correct the statement in %(path)s (PostgreSQL says: %(reason)s).", path=path, reason=reason),
                        medium_term=_("CI applies every migration to a scratch PostgreSQL of the production version."),
                        long_term=_("Generate migration SQL from a tool, or check it in the editor as it is typed (schemalens lsp).")),
                verification=_("psql -v ON_ERROR_STOP=1 -f %(path)s runs to the end on a scratch database", path=path))
