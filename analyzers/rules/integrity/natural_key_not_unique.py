from __future__ import annotations

import re
from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _
from ...lazy_pattern import LazyPattern

NATURAL_KEY = LazyPattern(r"^(email|username|user_name|login|slug|code|sku|order_no|order_number|serial_no|serial_number|"
                         r"external_id|invoice_no|invoice_number|phone|mobile)$")


def unique_column_sets(table) -> list[set[str]]:
    sets = [set(u.columns) for u in table.unique_constraints]
    sets += [set(i.columns) for i in table.indexes if i.unique]
    if table.primary_key:
        sets.append(set(table.primary_key.columns))
    return sets


def _in_unique_expression(table, column: str) -> bool:
    word = re.compile(rf"\b{re.escape(column)}\b")
    return any(index.unique and any(is_expression and word.search(key) for key, is_expression in zip(index.columns, index.expressions))
               for index in table.indexes)


class NaturalKeyNotUnique(Rule):
    """## What it finds
    Natural keys (email, username, slug, code, sku, order number, external id) that the code
    looks up with `filter_by(<column>=...)` or `<Model>.<column> == ...`, with no unique
    constraint or unique index covering the column. Not lookups by the key: a join condition
    (`A.email == B.email`), one branch of an `or_()`, a query that reads every row it matches
    (`.all()`, `.distinct()`), and a match within a parent's rows (`filter_by(project_id=p,
    email=e)`: the key is scoped, SL601 reports the race of inserting such a pair). A lookup in a module-level function no
    application path runs (only tests call it, or nothing does, in an application with request
    handlers or tasks) is not evidence.

    Off by default: a name says a column is a key, not whether duplicates can arise or what
    they break. On the judged corpus 2 of 3 findings were worth a reviewer's time, and 3 of 5
    with the projects we read beyond it (a slug read only on a legacy URL, a code drawn at
    random by a library, were not). Select it by code (`select = ["ALL", "SL304"]`) where
    users or imports supply the keys the code looks rows up by.

    ## Why it matters
    Lookups by a natural key assume one row. Without a constraint two sign-ups with the same
    email, or two imports of the same SKU, both succeed; `.first()` then returns an arbitrary
    one and `.one()` raises in production.

    ## Example
    ```python
    email = db.Column(db.String(255), nullable=False)
    ...
    User.query.filter_by(email=email).first()
    ```

    ## Use instead
    ```python
    email = db.Column(db.String(255), nullable=False, unique=True)
    ```
    (case-insensitive: a unique index on `lower(email)`; with soft delete: a partial unique
    index `WHERE deleted_at IS NULL`).

    ## How to verify
    `SELECT email, count(*) FROM users GROUP BY 1 HAVING count(*) > 1;` is empty before the
    constraint is added; a duplicate insert fails after.
    """

    code = "SL304"
    default_enabled = False
    name = "natural-key-not-unique"
    dimension = 3
    severity = "P1"
    summary = _("natural key looked up by code but not unique")

    valid = (Example({
        "migrations/V1__init.sql": "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE);\n",
        "app/services/users.py": "def find(session, User, email):\n    return session.query(User).filter_by(email=email).first()\n"}),
        # dispatch, polar: the lookup is on another table's column of the same name; the key is
        # unique per tenant, among live rows, or case-folded
        Example({
            "app/models.py": ("from sqlalchemy import Column, Integer, String, UniqueConstraint, Index, func\n"
                              "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n\n"
                              "class User(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n"
                              "    email = Column(String, unique=True)\n\n"
                              "class Contact(Base):\n    __tablename__ = 'contacts'\n    id = Column(Integer, primary_key=True)\n"
                              "    email = Column(String)\n    project_id = Column(Integer)\n"
                              "    __table_args__ = (UniqueConstraint('email', 'project_id'),)\n\n"
                              "class Discount(Base):\n    __tablename__ = 'discounts'\n    id = Column(Integer, primary_key=True)\n"
                              "    code = Column(String)\n"
                              "    __table_args__ = (Index('ix_discounts_code', func.lower(code), unique=True),)\n\n"
                              "class Group(Base):\n    __tablename__ = 'groups'\n    id = Column(Integer, primary_key=True)\n"
                              "    email = Column(String)\n"),
            "app/services.py": ("def find(session, email, project_id, code):\n"
                                "    session.query(User).filter_by(email=email).first()\n"
                                "    session.query(Contact).filter(Contact.email == email, Contact.project_id == project_id).first()\n"
                                "    return session.query(Discount).filter(func.lower(Discount.code) == code.lower()).first()\n")}),
        # onyx: a join condition names the column (`Account.email == User.email`); warehouse: the
        # slug is one branch of an `or_()`, which a unique slug would not make one row; agenta: the
        # projects an address is invited to, a set, and its invitation within one project
        Example({
            "app/models.py": ("from sqlalchemy import Column, Integer, String\nfrom sqlalchemy.orm import declarative_base\n"
                              "Base = declarative_base()\n\n"
                              "class User(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n"
                              "    email = Column(String, unique=True)\n\n"
                              "class Account(Base):\n    __tablename__ = 'accounts'\n    id = Column(Integer, primary_key=True)\n"
                              "    email = Column(String)\n\n"
                              "class Sponsor(Base):\n    __tablename__ = 'sponsors'\n    id = Column(Integer, primary_key=True)\n"
                              "    name = Column(String)\n    slug = Column(String)\n"),
            "app/services.py": ("from sqlalchemy import exists, or_, select\n\n\ndef find(session, user_id, name, slug):\n"
                                "    session.query(User).filter(User.id == user_id, exists().where(Account.email == User.email)).first()\n"
                                "    session.query(Sponsor).filter(or_(Sponsor.name == name, Sponsor.slug == slug)).one()\n"
                                "    session.query(Account).filter_by(project_id=user_id, email=name).first()\n"
                                "    session.query(Account).filter(Account.project_id.in_([user_id]), Account.email == name).first()\n"
                                "    return select(Account.id).where(Account.email == name).distinct()\n")}),
        # dispatch: the only lookup by slug is in a function nothing calls
        Example({
            "migrations/V1__init.sql": "CREATE TABLE incident_type (id bigint PRIMARY KEY, slug text);\n",
            "app/routes.py": ("from flask import Blueprint\n\nbp = Blueprint('incidents', __name__)\n\n"
                              "@bp.route('/incidents')\ndef incidents():\n    return 'ok'\n"),
            "app/incident_type/service.py": ("def get_by_slug(session, IncidentType, slug):\n"
                                             "    return session.query(IncidentType).filter(IncidentType.slug == slug).one_or_none()\n")}),
    )
    invalid = (Example({
        "migrations/V1__init.sql": "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL  -- expect\n);\n",
        "app/services/users.py": "def find(session, User, email):\n    return session.query(User).filter_by(email=email).first()\n"}),
        # dispatch: an external id is a key of its own, not a parent's rows
        Example({
            "migrations/V1__init.sql": "CREATE TABLE signal (\n  id bigint PRIMARY KEY,\n  external_id text  -- expect\n);\n",
            "app/services/signals.py": ("def find(session, Signal, external_id):\n"
                                        "    return session.query(Signal).filter(Signal.external_id == external_id).one_or_none()\n")}),
    )

    def check(self, context: AuditContext) -> Iterator[Finding]:
        for table in context.tables():
            if table.partition_of:
                continue
            looked_up = context.looked_up_columns(table)
            unique = unique_column_sets(table)
            for column in table.columns:
                if not NATURAL_KEY.match(column.name) or column.name not in looked_up:
                    continue
                if any(column.name in key for key in unique) or _in_unique_expression(table, column.name):
                    continue  # unique alone, or within a scope (per tenant, among live rows, case-folded)
                lookup = looked_up[column.name]
                location, related = context.where_column(table, column)
                related += (Related(lookup, _("looked up by %(column)s", column=column.name)),)
                yield self.finding(
                    location, _("%(table)s.%(column)s is looked up as a key but is not unique", table=table.name, column=column.name),
                    _("Code looks rows up by %(column)s, but %(table)s has no unique constraint on it.", column=column.name, table=table.name),
                    impact=_("Worst case: two %(table)s rows share a %(column)s; logins, payments or imports act on "
                           "the wrong one. Most likely: a double submit creates a duplicate and `.one()` starts raising.", table=table.name, column=column.name),
                    root_cause=_("Uniqueness is assumed by the code and checked, at best, with a query before insert."),
                    fix=Fix(short_term=_("SELECT %(column)s, count(*) FROM %(table)s GROUP BY 1 HAVING count(*) > 1;  -- merge duplicates", column=column.name, table=table.name),
                            medium_term=_("CREATE UNIQUE INDEX CONCURRENTLY ux_%(table)s_%(column)s ON %(table)s (%(column)s); "
                                        "then declare it on the model (unique=True).", table=table.name, column=column.name),
                            long_term=_("Standard: every business key has a unique constraint (partial if soft-deleted).")),
                    verification=_("INSERT a duplicate %(column)s into %(table)s;  -- expect a unique violation", column=column.name, table=table.name),
                    table=table.name, column=column.name, related=related)
