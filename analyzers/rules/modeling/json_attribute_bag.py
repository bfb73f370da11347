from __future__ import annotations

from typing import Iterator

from ..base import Example, Finding, Fix, Related, Rule
from ..context import AuditContext
from ...i18n import _


class JsonAttributeBag(Rule):
    """## What it finds
    JSON/JSONB columns that application code filters by key (`Product.attributes["color"]`
    in a query): an entity-attribute-value design inside a JSON document.

    Off by default: a filter on a key inside a JSON document costs a scan only of the rows the
    query's other predicates leave, and on the real projects we read those predicates (a tenant,
    a status, a time window) had nearly always narrowed the rows already (2 of 10 worth a
    reviewer's time). Select it by code (`select = ["ALL", "SL103"]`) to list every JSON key
    the code filters on.

    ## Why it matters
    The database cannot type, constrain or (without expression indexes) index the keys. Every
    filter scans and parses the documents, misspelled keys return nothing instead of failing,
    and the real shape of the data lives only in code.

    ## Example
    ```python
    Product.query.filter(Product.attributes["color"].as_string() == "red")
    ```

    ## Use instead
    Promote the keys that are queried to real columns with types and constraints
    (`color varchar(30)`), or a typed child table; keep JSON for what is never filtered. If it
    must stay JSONB, add a GIN index (`jsonb_path_ops`) or an expression index per key.

    ## How to verify
    `EXPLAIN` of the filter uses an index; `SELECT count(*) FROM products WHERE attributes ? 'colour'`
    finds no misspelled keys.
    """

    code = "SL103"
    default_enabled = False
    name = "json-attribute-bag"
    dimension = 1
    severity = "P2"
    summary = _("JSON column used as a bag of attributes filtered by key")

    valid = (Example({"app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Product(Base):\n    __tablename__ = 'products'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "    color = sa.Column(sa.String(30))\n"),
        "app/services/catalog.py": "def red(session, Product):\n    return session.query(Product).filter(Product.color == 'red').all()\n"}),)
    invalid = (Example({"app/models.py": (
        "import sqlalchemy as sa\nfrom sqlalchemy.dialects.postgresql import JSONB\n"
        "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n"
        "class Product(Base):\n    __tablename__ = 'products'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "    attributes = sa.Column(JSONB)  # expect\n"),
        "app/services/catalog.py": ("def red(session, Product):\n"
                                    "    return session.query(Product).filter(Product.attributes['color'].astext == 'red').all()\n")}),)

    def check(self, context: AuditContext) -> Iterator[Finding]:
        reported = set()
        for facts in context.code_facts():
            for found in facts.json_key_filters:
                table = context.orm_table_of_class(found.model)
                column = table.column(found.attribute) if table else None
                if column is None or not column.type.startswith(("json", "jsonb")) or (table.key, column.name) in reported:
                    continue
                reported.add((table.key, column.name))
                location, related = context.where_column(table, column)
                yield self.finding(
                    location, _("%(table)s.%(column)s is filtered by key", table=table.name, column=column.name),
                    _("Code filters %(table)s by keys inside the %(type)s column %(column)s (e.g. %(found)s).", table=table.name, type=column.type, column=column.name, found=found.key),
                    impact=_("Worst case: filters scan and parse every document as the table grows, and misspelled keys "
                           "silently match nothing. Most likely: slow catalogue queries and attributes with no constraints."),
                    root_cause=_("Attributes that are queried were stored in a schemaless document instead of columns."),
                    fix=Fix(short_term=_("CREATE INDEX CONCURRENTLY ON %(table)s USING gin (%(column)s jsonb_path_ops); "
                                       "(or an expression index per filtered key).", table=table.name, column=column.name),
                            medium_term=_("Promote the filtered keys of %(column)s to typed columns with constraints; backfill them.", column=column.name),
                            long_term=_("ADR: JSON only for data that is never filtered, joined or constrained.")),
                    verification=_("EXPLAIN the filter on %(table)s: expect an index scan, not a Seq Scan.", table=table.name),
                    table=table.name, column=column.name, related=related + (Related(found.location, _("filtered by key here")),))
