from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ..integrity.natural_key_not_unique import unique_column_sets
from ...i18n import _


def _checked_table(context: AuditContext, found):
    """The table the check reads, when it is also the one the code inserts into: the checked
    model's table, else the only table with every checked column."""
    if found.model and found.inserted and found.model != found.inserted:
        return None  # checks one model, inserts another
    if found.model is not None and (mapped := context.orm_table_of_class(found.model)) is not None:
        return mapped if {column.name for column in mapped.columns} >= set(found.columns) else None
    tables = context.tables_with_columns(found.columns)
    return tables[0] if len(tables) == 1 else None


def _canvas_package(route: str, *, expect: bool = False) -> dict[str, str]:
    """A route module and a `canvas` package that re-exports its service's get-or-create."""
    return {
        "migrations/V1__canvas.sql": "CREATE TABLE canvas (id bigint PRIMARY KEY, case_id bigint, type text);\n",
        "app/routes.py": ("from flask import Blueprint\nfrom app import canvas\n\n"
                          f"bp = Blueprint('cases', __name__)\n\n{route}"),
        "app/canvas/__init__.py": ("from .service import get_or_create_by_case\n\n"
                                   "__all__ = ['get_or_create_by_case']\n"),
        "app/canvas/service.py": ("def get_or_create_by_case(session, Canvas, case_id, kind):\n"
                                  "    if session.query(Canvas).filter_by(case_id=case_id, type=kind).first() is None:"
                                  + ("  # expect" if expect else "") + "\n"
                                  "        session.add(Canvas(case_id=case_id, type=kind))\n"),
    }


class CheckThenInsert(Rule):
    """## What it finds
    Code that checks whether a row exists (`if not Model.query.filter_by(col=...).first():`,
    or a variable holding such a query) and then inserts, under the check, in its `else`
    (`if row: update, else: insert`) or after it, on columns that no unique constraint covers.
    Not in a module-level function no application path runs (only tests call it, or nothing
    does, in an application with request handlers or tasks), nor in code only administrators'
    requests run (behind an admin or staff decorator, or only called from there), nor in a
    command an operator runs by hand or what only such commands call (a `cli` module, a
    `@click.command()`): one administrator's import or settings page, one operator's import,
    is no pair of concurrent callers (on the judged corpus such findings were worth no
    reviewer's time).

    Off by default: whether two callers can race, and whether a duplicate row breaks anything,
    depends on how often the code runs and on what reads the rows, which the code does not
    say. On the judged corpus 1 of 3 findings was worth a reviewer's time, 2 of 4 with the
    projects we read beyond it (a tracking row read only through `DISTINCT`, an upload whose
    path is drawn at random, were not). Select it by code (`select = ["ALL", "SL601"]`) where
    concurrent requests or workers create rows keyed by what users send.

    ## Why it matters
    Two requests (or two workers) run the check at the same time, both see nothing, and both
    insert: duplicate orders, double sign-ups, a reminder sent twice. Only the database can
    make the check and the insert one atomic step.

    ## Example
    ```python
    if Order.query.filter_by(order_no=order_no).first() is not None:
        raise OrderConflict(order_no)
    db.session.add(Order(order_no=order_no))
    ```

    ## Use instead
    A unique constraint on the looked-up columns, and an insert that relies on it:
    ```python
    stmt = insert(Order).values(order_no=order_no).on_conflict_do_nothing(index_elements=["order_no"])
    ```
    or catch `IntegrityError` and treat it as "already exists".

    ## How to verify
    A test runs the code path twice concurrently against PostgreSQL (two sessions, a barrier)
    and finds one row; `\\d orders` shows the unique constraint.
    """

    code = "SL601"
    default_enabled = False
    name = "check-then-insert"
    dimension = 6
    severity = "P1"
    summary = _("check-then-insert race on columns without a unique constraint")

    valid = (Example({
        "migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, order_no text NOT NULL UNIQUE);\n",
        "app/services/orders.py": ("def create(session, Order, order_no):\n"
                                   "    if session.query(Order).filter_by(order_no=order_no).first() is None:\n"
                                   "        session.add(Order(order_no=order_no))\n")}),
        # CTFd, redash, dispatch: a cap on a count, a one-off command, a check on one table
        # before an insert into another
        Example({
            "migrations/V1__teams.sql": ("CREATE TABLE teams (id bigint PRIMARY KEY, banned boolean, hidden boolean);\n"
                                         "CREATE TABLE users (id bigint PRIMARY KEY, email text, team_id bigint);\n"
                                         "CREATE TABLE orgs (id bigint PRIMARY KEY, slug text);\n"),
            "app/views.py": ("def register(session, Teams, Users, cap, email):\n"
                             "    if Teams.query.filter_by(banned=False, hidden=False).count() < cap:\n"
                             "        session.add(Teams(banned=False, hidden=False))\n"
                             "    if Users.query.filter_by(email=email).first() is None:\n"
                             "        session.add(Orgs(slug=email))\n"),
            "app/cli/users.py": ("def create_root(session, Users, email):\n"
                                 "    if not Users.query.filter_by(email=email).first():\n"
                                 "        session.add(Users(email=email))\n")}),
        # dispatch: a get-or-create no route, task or other function calls; the package only
        # re-exports it (an import and `__all__` call nothing)
        Example(_canvas_package("@bp.route('/cases')\ndef cases():\n    return 'ok'\n")),
        # CTFd: the teams of a CSV file an administrator imports, through the importer's table of loaders
        Example(_canvas_package("@bp.route('/admin/cases/<int:case_id>')\n@admins_only\ndef case(case_id, kind):\n"
                                "    loaders = {'summary': canvas.get_or_create_by_case}\n"
                                "    loaders[kind](db.session, Canvas, case_id, kind)\n")),
        # indico: the affiliations of an event an operator imports with a click command
        Example({
            "migrations/V1__affiliations.sql": "CREATE TABLE affiliations (id bigint PRIMARY KEY, name text, city text);\n",
            "app/routes.py": "@app.route('/events')\ndef events():\n    return 'ok'\n",
            "app/events/export.py": ("import click\nfrom app.events.affiliations import get_or_create\n\n\n"
                                     "@click.command()\ndef import_event(name, city):\n    get_or_create(db.session, name, city)\n"),
            "app/events/affiliations.py": ("def get_or_create(session, name, city):\n"
                                           "    if not Affiliation.query.filter_by(name=name, city=city).first():\n"
                                           "        session.add(Affiliation(name=name, city=city))\n")}),
    )
    invalid = (Example({
        "migrations/V1__orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY, order_no text NOT NULL);\n",
        "app/services/orders.py": ("def create(session, Order, order_no):\n"
                                   "    if session.query(Order).filter_by(order_no=order_no).first() is None:  # expect\n"
                                   "        session.add(Order(order_no=order_no))\n")}),
        Example(_canvas_package("@bp.route('/cases/<int:case_id>')\ndef case(case_id):\n"
                                "    canvas.get_or_create_by_case(db.session, Canvas, case_id, 'summary')\n",
                                expect=True)),
        # CTFd: a setting read, then updated or inserted, by every worker as it starts
        Example({"migrations/V1__config.sql": "CREATE TABLE config (id bigint PRIMARY KEY, key text, value text);\n",
                 "app/utils.py": ("def set_config(session, Configs, key, value):\n"
                                  "    config = Configs.query.filter_by(key=key).first()\n"
                                  "    if config:  # expect\n        config.value = value\n    else:\n"
                                  "        session.add(Configs(key=key, value=value))\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for facts in context.code_facts():
            for found in facts.check_then_inserts:
                if not context.runs_in_application(found.location) or context.only_administrators_run(found.location) \
                        or context.run_by_operators(found.location):
                    continue  # only tests call it, or nothing does, or one administrator or operator: no race to lose
                table = _checked_table(context, found)
                if table is None or any(key and key <= set(found.columns) for key in unique_column_sets(table)):
                    continue
                columns = ", ".join(found.columns)
                location, _related = context.where_table(table)
                yield self.finding(
                    found.location, _("check-then-insert on %(table)s(%(columns)s) with no unique constraint", table=table.name, columns=columns),
                    _("The code checks for an existing %(table)s row by (%(columns)s) and then inserts; nothing in the "
                    "database stops two concurrent callers from both inserting.", table=table.name, columns=columns),
                    impact=_("Worst case: duplicate %(table)s rows for the same (%(columns)s) are processed, charged or "
                           "sent twice. Most likely: a double click or a retried job creates a duplicate under load.", table=table.name, columns=columns),
                    root_cause=_("Uniqueness is checked in application code, which cannot be atomic across transactions."),
                    fix=Fix(short_term=_("SELECT %(columns)s, count(*) FROM %(table)s GROUP BY %(columns)s HAVING count(*) > 1;  -- clean duplicates", columns=columns, table=table.name),
                            medium_term=_("CREATE UNIQUE INDEX CONCURRENTLY ux_%(table)s_%(columns)s ON %(table)s "
                                        "(%(columns_2)s); then insert with ON CONFLICT (%(columns_2)s) DO NOTHING or catch IntegrityError.", table=table.name, columns='_'.join(found.columns), columns_2=columns),
                            long_term=_("Standard: every existence check that guards an insert is backed by a unique constraint.")),
                    verification=_("A test runs this path from two sessions at once against PostgreSQL and asserts one row."),
                    table=table.name, column=found.columns[0],
                    related=(Related(found.insert, _("insert")), Related(location, _("table %(table)s", table=table.name))))
