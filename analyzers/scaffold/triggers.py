"""The table's own row triggers in a change that drops, renames or retypes a column.

PostgreSQL records no dependency between a PL/pgSQL function and the columns its body reads: a
column dropped or renamed under a trigger that reads `NEW.column` is dropped without a word, and
from then on every insert and update of the table fails inside the trigger. And each session
keeps the plans of a PL/pgSQL function typed as the columns were when it first ran them: after a
column's type changes, every session that ran the trigger before fails in it ("type of parameter
(integer) does not match that when preparing the plan (bigint)") until it reconnects.

So a plan:
- rewrites a trigger function it knows (from the migrations, or from the database's catalog with
  `scaffold --dsn`) whose body reads the renamed column only as `NEW.column` / `OLD.column`, in
  the transaction that drops the old column, and restores it in the downgrade;
- refuses, naming the trigger and the column, what it cannot rewrite (a dropped column, another
  way of reading it, a function shared with other tables);
- checks at run time, before it changes anything, that no trigger function of the table reads
  the column unless the plan rewrites it, exactly as it was read (a trigger the migrations do not
  create, such as one made by an ORM extension at create_all(), stops the revision with the reason);
- after a type change, defines each PL/pgSQL trigger function of the table again, unchanged, in
  the same transaction, so that every session compiles it anew against the new column types.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Optional

from ..i18n import _
from ..schema.model import Function, Location, SchemaLayer, Table, Trigger, table_key
from .plan import quote

CATALOG_LOCATION = Location("<postgresql>", 1)


@dataclass(frozen=True, slots=True)
class TriggerFunction:
    """A function that a row trigger of the table runs."""

    triggers: tuple[str, ...]  # the table's triggers that run it
    name: str  # as SQL names it: schema-qualified outside public
    function: Optional[Function]  # None when the layer does not have the function
    other_tables: tuple[str, ...] = ()  # tables whose triggers run it too

    @property
    def described(self) -> str:
        return _("trigger %(triggers)s (function %(function)s)", triggers=", ".join(self.triggers), function=self.name)


def trigger_functions(layer: SchemaLayer, table: Table) -> list[TriggerFunction]:
    """The functions of `table`'s triggers, each once, in trigger order."""
    by_function: dict[str, list[str]] = {}
    for trigger in sorted(table.triggers, key=lambda t: t.name):
        if trigger.function:
            by_function.setdefault(trigger.function, []).append(trigger.name)
    found = []
    for name, triggers in by_function.items():
        schema, _dot, bare = name.rpartition(".")
        others = tuple(sorted({other.name for other in layer.tables.values() if other.key != table.key
                               for trigger in other.triggers if trigger.function == name}))
        found.append(TriggerFunction(tuple(triggers), name, layer.functions.get(table_key(bare, schema or None)), others))
    return found


def _word(column: str) -> re.Pattern:
    return re.compile(rf'(?<![\w$"]){re.escape(column)}(?![\w$"])|"{re.escape(column)}"', re.IGNORECASE)


def reads(body: Optional[str], column: str) -> bool:
    """The body names `column` anywhere (as PostgreSQL's check at run time does: a whole word)."""
    return bool(body) and _word(column).search(body) is not None


def renamed(body: str, column: str, new_name: str) -> Optional[str]:
    """The body with `NEW.column` and `OLD.column` reading `new_name`; None when it also names the
    column some other way (a query, a string, a comment), which cannot be rewritten safely."""
    unquoted = f"|(?i:{re.escape(column)})" if column == column.lower() else ""  # folded to lower case
    pattern = re.compile(rf'\b((?i:NEW|OLD)\s*\.\s*)(?:"{re.escape(column)}"{unquoted})(?![\w$])')
    rewritten = pattern.sub(lambda match: match.group(1) + quote(new_name), body)
    return None if reads(rewritten, column) else rewritten


def digest(body: str) -> str:
    return hashlib.md5(body.encode("utf-8")).hexdigest()


def definition(function: TriggerFunction, body: str) -> str:
    """CREATE OR REPLACE of a trigger function with `body` (a dollar quote the body does not contain)."""
    tag = "body"
    while f"${tag}$" in body:
        tag += "_"
    language = (function.function.language if function.function else None) or "plpgsql"
    return (f"CREATE OR REPLACE FUNCTION {function.name}() RETURNS trigger LANGUAGE {language} AS ${tag}$"
            f"{body}${tag}$")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def guard_sql(table: str, column: str, harm: str, rewritten: dict[str, str], own: tuple[str, ...]) -> str:
    """Stops the revision when a trigger function of `table` reads `column` and is not one the
    plan rewrites (`rewritten`: function name -> digest of the body it was planned against, and
    neither SECURITY DEFINER nor SET options, which a rewrite would not keep); `own`: the plan's
    own functions. `harm`: what would happen, for the message."""
    relation = _literal(quote(table))
    word = r"\m" + re.sub(r"(\W)", r"\\\1", column) + r"\M"
    planned = ", ".join(_literal(f"{name}/{value}") for name, value in sorted(rewritten.items()))
    skipped = ", ".join(_literal(name) for name in own)
    # Messages avoid SQL keywords that `rerunnable` rewrites; no colon: Alembic's text() takes :word as a parameter.
    return (
        "DO $$\nDECLARE\n  found record;\nBEGIN\n"
        "  FOR found IN\n"
        "    SELECT t.tgname, p.oid::regprocedure::text AS function_name, p.proname::text AS proname, md5(p.prosrc) AS body_digest,\n"
        "           p.prosecdef OR p.proconfig IS NOT NULL AS has_options,\n"
        "           EXISTS (SELECT 1 FROM pg_trigger o WHERE o.tgfoid = p.oid AND o.tgrelid <> t.tgrelid) AS shared\n"
        "      FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid\n"
        f"     WHERE t.tgrelid = {relation}::regclass AND NOT t.tgisinternal AND p.prosrc ~* {_literal(word)}\n"
        f"       AND p.proname::text <> ALL (ARRAY[{skipped}]::text[])\n"
        "  LOOP\n"
        f"    IF found.proname || '/' || found.body_digest <> ALL (ARRAY[{planned}]::text[]) OR found.has_options OR found.shared THEN\n"
        f"      RAISE EXCEPTION 'trigger % on {table.replace(chr(39), '')} runs %, which reads {column.replace(chr(39), '')}: {harm}', "
        "found.tgname, found.function_name\n"
        "        USING HINT = 'The plan does not rewrite that function as it is now (it was not in the migrations, has "
        "changed since, is SECURITY DEFINER or has SET options, or other tables run it too). Scaffold again with "
        "--dsn pointing at this database so that the plan reads the trigger from its catalog, or change the trigger first.';\n"
        "    END IF;\n  END LOOP;\nEND $$")


def recompile_sql(table: str) -> str:
    """Defines each PL/pgSQL trigger function of `table` again, unchanged: every session then
    compiles it anew, against the column types of now."""
    relation = _literal(quote(table))
    return (
        "DO $$\nDECLARE\n  function_oid oid;\nBEGIN\n"
        "  -- Sessions keep PL/pgSQL plans typed as the columns were when they first ran them; a new\n"
        "  -- definition (the same text) makes each one compile the function again on its next call.\n"
        "  FOR function_oid IN\n"
        "    SELECT DISTINCT t.tgfoid FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang\n"
        f"     WHERE t.tgrelid = {relation}::regclass AND NOT t.tgisinternal AND l.lanname = 'plpgsql'\n"
        "  LOOP\n    EXECUTE pg_get_functiondef(function_oid);\n  END LOOP;\nEND $$")


_DATABASE_TRIGGERS = """
SELECT t.tgname, p.proname, n.nspname, l.lanname, p.prosrc, t.tgtype
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE t.tgrelid = to_regclass(%s) AND NOT t.tgisinternal
ORDER BY t.tgname
"""


def with_database_triggers(layer: SchemaLayer, table_name: str, dsn: str) -> SchemaLayer:
    """`layer` with `table_name`'s triggers and their functions as the database at `dsn` has them
    (pg_trigger, pg_proc): triggers that the migrations do not create (an ORM extension's, one
    made by hand) and bodies as they are now."""
    import psycopg

    table = layer.table(table_name)
    if table is None:
        return layer
    with psycopg.connect(dsn, autocommit=True) as connection:
        rows = connection.execute(_DATABASE_TRIGGERS, (quote(table.name) if table.schema in (None, "public")
                                                       else f"{quote(table.schema)}.{quote(table.name)}",)).fetchall()
    functions = dict(layer.functions)
    triggers = []
    for name, function, schema, language, body, kind in rows:
        schema = None if schema == "public" else schema
        qualified = f"{schema}.{function}" if schema else function
        timing = "BEFORE" if kind & 2 else ("INSTEAD OF" if kind & 64 else "AFTER")
        events = tuple(event for bit, event in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if kind & bit)
        triggers.append(Trigger(name, table.name, qualified, CATALOG_LOCATION, timing, events))
        functions[table_key(function, schema)] = Function(function, CATALOG_LOCATION, schema, language, "trigger", body)
    tables = dict(layer.tables)
    tables[table.key] = replace(table, triggers=tuple(triggers))
    return replace(layer, tables=tables, functions=functions)
