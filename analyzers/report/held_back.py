"""The checks an audit held back for want of evidence (AuditResult.held_back), as sentences: the
report says them beside what the index could not read, instead of guessing a finding."""

from __future__ import annotations

from ..i18n import translator

SHOWN = 10  # tables named per sentence


def held_back_lines(held_back, lang: str = "en") -> list[str]:
    _ = translator(lang)
    lines = []
    for entry in held_back:
        rules = ", ".join(entry.rules)
        if entry.reason == "size":
            tables = ", ".join(entry.tables[:SHOWN]) + (", ..." if len(entry.tables) > SHOWN else "")
            lines.append(_.ngettext(
                "held back: %(count)d candidate finding of %(rules)s waits for table sizes: no size hint gives rows to %(tables)s "
                "([tool.schemalens.tables.<name>] rows / rows_in_a_year: hint the tables you expect to grow)",
                "held back: %(count)d candidate findings of %(rules)s wait for table sizes: no size hint gives rows to %(tables)s "
                "([tool.schemalens.tables.<name>] rows / rows_in_a_year: hint the tables you expect to grow)",
                entry.candidates, rules=rules, tables=tables))
        elif entry.reason == "mysql":
            lines.append(_("held back: %(rules)s: the project deploys MySQL (%(source)s), where InnoDB indexes every "
                           "foreign key itself", rules=rules, source=entry.source))
        elif entry.reason == "mysql locks":
            lines.append(_("held back: %(rules)s: the project deploys MySQL (%(source)s): these rules describe "
                           "PostgreSQL's locks and their remedies (CONCURRENTLY, NOT VALID, lock_timeout), which MySQL's "
                           "online DDL does not share", rules=rules, source=entry.source))
        elif entry.reason == "declared":
            lines.append(_("held back: %(rules)s: the configuration says the migrations run while the application is "
                           "stopped (migrations_run = \"offline\"), so no live traffic waits behind their locks",
                           rules=rules))
        elif entry.source:
            lines.append(_("held back: %(rules)s: the start command applies the migrations before the server starts "
                           "(%(source)s), so they do not run beside live traffic", rules=rules, source=entry.source))
        else:
            lines.append(_("held back: %(rules)s: the application applies its migrations as it starts (Alembic's or "
                           "Flask-Migrate's upgrade() in application code), so they do not run beside live traffic",
                           rules=rules))
    return lines


def held_back_json(held_back, lang: str = "en") -> list[dict]:
    return [{"rules": list(entry.rules), "reason": entry.reason, "candidates": entry.candidates,
             "tables": list(entry.tables), "source": entry.source, "message": line}
            for entry, line in zip(held_back, held_back_lines(held_back, lang))]
