"""The `schemalens` command line: a thin layer over `schemalens.analyzers`."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from . import __version__
from .written_methods import cache_file, keep_written_methods
from .analyzers.i18n import LANGUAGES, _, choose_language, translator

if TYPE_CHECKING:
    from .server.first_message import FirstMessage


def _build_parser(lang: Optional[str] = None, scaffold_changes: bool = True) -> argparse.ArgumentParser:
    """`scaffold_changes`: with the changes `scaffold` writes, each a command of its own. Only that
    command needs them: reading them imports the scaffold (14 ms of a 0.4 s SQL-only audit)."""
    _ = translator(lang)  # the help texts in the language asked for on the command line
    parser = argparse.ArgumentParser(prog="schemalens", description=_("Audit a repository's database design: "
                                     "SQLAlchemy models, Alembic revisions and SQL migrations, read statically."))
    parser.add_argument("--version", action="version", version=f"schemalens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log what is skipped and why"))
    language = argparse.ArgumentParser(add_help=False)
    language.add_argument("--lang", choices=LANGUAGES, default=None,
                          help=_("language of the output (default: [tool.schemalens] lang, else en)"))
    common = argparse.ArgumentParser(add_help=False, parents=[language])
    common.add_argument("--no-cache", action="store_true", help=_("do not read or write the parse cache"))
    common.add_argument("--hints", metavar="FILE",
                        help=_("size hints in a TOML file of their own ([tables.<name>] rows = ...), over "
                               "[tool.schemalens.tables]: the editor's hintsFile setting"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    schema = commands.add_parser("schema", parents=[common], help=_("print the schema map (tables, relations, constraints, indexes)"))
    schema.add_argument("path", nargs="?", default=".", help=_("workspace folder (default: the current one)"))
    schema.add_argument("--layer", choices=("orm", "database"), default=None,
                        help=_("orm: what the models declare; database: the migrations replayed "
                             "(default: database, or orm when there are no migrations; json prints both)"))
    schema.add_argument("--format", choices=("text", "markdown", "json", "mermaid"), default="text")
    schema.add_argument("--set", metavar="FOLDER",
                        help=_("with several migration sets (one database each): only the database built by the "
                             "migration folder FOLDER (default: every one, the main one first)"))
    schema.add_argument("--output", "-o", help=_("write to this file instead of standard output"))
    audit = commands.add_parser("audit", parents=[common], help=_("run the audit and print the report (spec sections I-IV and a roadmap)"))
    audit.add_argument("path", nargs="?", default=".", help=_("workspace folder (default: the current one)"))
    audit.add_argument("--format", choices=("markdown", "json", "sarif"), default="markdown")
    audit.add_argument("--output", "-o", help=_("write to this file instead of standard output"))
    audit.add_argument("--verify", action="store_true",
                       help=_("also rehearse the migrations on a throwaway PostgreSQL and add the result (see `verify`)"))
    check = commands.add_parser("check", parents=[common], help=_("audit and exit 1 when findings at or above --fail-on exist"))
    check.add_argument("path", nargs="?", default=".", help=_("workspace folder (default: the current one)"))
    check.add_argument("--fail-on", choices=("P0", "P1", "P2"), default="P1")
    rule = commands.add_parser("rule", parents=[language], help=_("print a rule's documentation (or every rule's, with --all)"))
    rule.add_argument("code", nargs="?", help=_("rule code or name, e.g. SL201 or timestamp-without-time-zone"))
    rule.add_argument("--all", action="store_true", help=_("print docs/rules.md for every rule"))
    commands.add_parser("locks", parents=[language], help=_("print what PostgreSQL locks, rewrites and scans for each DDL operation"))
    verify = commands.add_parser(
        "verify", parents=[common], help=_("rehearse the migrations on a real PostgreSQL: upgrade, downgrade, upgrade again"),
        description=_("Apply every revision, downgrade step by step to base and upgrade again on a throwaway PostgreSQL "
                    "(or --dsn), tracing each statement's locks, rewrites and time, then compare the database with "
                    "SchemaLens's static model and with the models. Runs the project's env.py and revision files."))
    verify.add_argument("path", nargs="?", default=".", help=_("workspace folder (default: the current one)"))
    verify.add_argument("--dsn", help=_("postgresql:// URL of a disposable database instead of the embedded one"))
    verify.add_argument("--yes", action="store_true", help=_("use --dsn even though its name does not say it is disposable"))
    verify.add_argument("--keep", action="store_true", help=_("leave the embedded PostgreSQL running and say how to reach it"))
    verify.add_argument("--python", metavar="PATH",
                        help=_("the project's Python interpreter (its virtualenv's bin/python), which runs env.py and the "
                             "revisions where the application imports (default: SchemaLens's own)"))
    verify.add_argument("--format", choices=("markdown", "json"), default="markdown")
    verify.add_argument("--output", "-o", help=_("write to this file instead of standard output"))
    scaffold = commands.add_parser(
        "scaffold", parents=[language], help=_("write expand / backfill / contract Alembic revisions for a schema change"),
        description=_("Write the safe sequence of Alembic revisions for a change, chained after the current head, into "
                    "the project's versions folder. Run it from the project root (or give --path). "
                    "`schemalens scaffold CHANGE --help` says what a change asks."))
    if scaffold_changes:
        _add_scaffold_changes(scaffold, common, _)
    lsp = commands.add_parser("lsp", parents=[language], help=_("run the language server (stdio by default)"),
                              allow_abbrev=False)
    transport = lsp.add_mutually_exclusive_group()
    transport.add_argument("--tcp", metavar="HOST:PORT", help=_("listen on TCP instead of stdio"))
    transport.add_argument("--ws", metavar="HOST:PORT", help=_("listen on a WebSocket instead of stdio"))
    # vscode-languageclient appends --stdio when its transport is set to stdio
    transport.add_argument("--stdio", action="store_true", help=_("use standard input and output (the default)"))
    return parser


def _add_scaffold_changes(scaffold: argparse.ArgumentParser, common: argparse.ArgumentParser, _) -> None:
    """Each change `scaffold` writes, as a command of its own; `_`: the translator of the help texts."""
    from .analyzers.scaffold import CHANGES, HELP

    changes = scaffold.add_subparsers(dest="change", metavar="CHANGE", required=True,
                                      help=_("one of: %(changes)s", changes=", ".join(CHANGES)))
    for change in CHANGES:
        about = HELP[change]
        summary = _.localize(about.summary)
        description = (_("%(change)s: %(summary)s.", change=change, summary=summary) + "\n\n"
                       + _("asks: %(options)s", options="--" + ", --".join(about.required)))
        if about.optional:
            description += "\n" + _("optional: %(options)s", options="--" + ", --".join(about.optional))
        description += "\n\n" + _("example:") + f"\n  {about.example}"
        parser_of_change = changes.add_parser(change, parents=[common], help=summary, description=description,
                                              formatter_class=argparse.RawDescriptionHelpFormatter)
        _scaffold_options(parser_of_change, _)


def _scaffold_options(scaffold: argparse.ArgumentParser, _) -> None:
    """The options of every scaffold change; `_`: the translator of the help texts."""
    scaffold.add_argument("--table", required=True)
    scaffold.add_argument("--column")
    scaffold.add_argument("--columns", help=_("comma-separated (add-index, add-unique, add-foreign-key, add-composite-fk)"))
    scaffold.add_argument("--type", help=_("SQL type of the new or changed column, e.g. bigint, 'varchar(40)'"))
    scaffold.add_argument("--default", help=_("SQL default for new rows, e.g. \"'web'\" or now()"))
    scaffold.add_argument("--backfill", help=_("SQL expression for existing rows (default: --default)"))
    scaffold.add_argument("--new-name", help="rename-column, rename-table")
    scaffold.add_argument("--ref", help=_("referenced TABLE.COLUMN (or TABLE.A,B for add-composite-fk)"))
    scaffold.add_argument("--on-delete", help=_("CASCADE, SET NULL, RESTRICT, ... (default: that of an existing key, else RESTRICT)"))
    scaffold.add_argument("--check", help=_("add-check: the SQL condition"))
    scaffold.add_argument("--where", help=_("add-index: partial index predicate"))
    scaffold.add_argument("--using", help=_("add-index: access method (gin, gist, brin, hash)"))
    scaffold.add_argument("--name", help=_("constraint or index name (default: PostgreSQL's naming)"))
    scaffold.add_argument("--batch-size", type=int, default=1000, help=_("rows per backfill batch (default 1000)"))
    scaffold.add_argument("--backfill-triggers", choices=("keep", "fire"), default="keep",
                          help=_("keep (default): while a backfill runs, the table's row triggers change no other column "
                                 "(an updated_at trigger leaves updated_at as it was); fire: they run as on any update "
                                 "(updated_at becomes the backfill's time on every row it fills)"))
    scaffold.add_argument("--dsn", help=_("a database (postgresql://... or libpq conninfo) whose catalog gives the table's "
                                          "triggers and their functions as they are there, also those the migrations do "
                                          "not create; only read"))
    scaffold.add_argument("--path", default=".", help=_("project root (default: the current folder)"))
    scaffold.add_argument("--dry-run", action="store_true", help=_("print the files instead of writing them"))


def _lsp(args: argparse.Namespace, imported: Callable[[], None], first_message: Optional[FirstMessage]) -> int:
    """`imported`: see main, called by the server once its first index is published (the
    classes and the messages' (un)structuring functions made until then are kept: the rules'
    modules and the first messages' come after the imports); `first_message`: the client's,
    over standard input (see _start_serving)."""
    # The imports make objects that live as long as the process: a collection among them (three
    # or four happen, the last ones over lsprotocol's types) finds nothing to free (0.04 s). Frozen
    # (never walked by a collection) before the collector is on again: else the first allocations
    # after it start one over all of them, before `initialize` is answered (0.04 s).
    gc.disable()
    try:
        from .server.app import run_socket, run_stdio, server

        server.written_methods_kept = imported
    finally:
        gc.freeze()
        gc.enable()

    if args.tcp or args.ws:
        host, _, port = (args.tcp or args.ws).rpartition(":")
        run_socket(server.start_tcp if args.tcp else server.start_ws, host or "127.0.0.1", int(port))
    else:
        run_stdio(first_message.replayed() if first_message else None)  # does not return: it ends the process
    return 0


def _index(args: argparse.Namespace):
    """The workspace's model, and the texts of its files as the index read them: the rules read
    those, at the version the index parsed, not the disk again (polar: a thousand files)."""
    from .analyzers.workspace.cache import default_cache_dir
    from .analyzers.workspace.index import WorkspaceIndex

    root = Path(args.path)
    if not root.is_dir():
        raise _UsageError(_("%(path)s: not a folder", path=args.path))
    index = WorkspaceIndex(root, _config_with_hints(root, args.hints) if args.hints else None,
                           cache_dir=None if args.no_cache else default_cache_dir())
    model = index.index_all(progress=_progress(args.lang) if sys.stderr.isatty() else None)
    # --lang wins over the project's `lang`; every later message of the command follows it.
    args.lang = choose_language(args.lang, model.config.lang)
    return model, index.text_of


def _config_with_hints(root: Path, hints_file: str):
    """The workspace's configuration with the hints file's tables over its own; a file that
    cannot be read is a problem of the run (reported with the workspace's), not a crash."""
    from dataclasses import replace

    from .analyzers.workspace.config import load_config, load_hints_file

    config = load_config(root)
    hints, problems = load_hints_file(Path.cwd(), hints_file)
    return replace(config, tables={**config.tables, **hints}, problems=config.problems + problems)


def _progress(lang: Optional[str]):
    tr = translator(lang)

    def report(done: int, total: int) -> None:
        _ = tr
        print("\rschemalens: " + _("parsed %(done)d/%(total)d files", done=done, total=total),
              end="" if done < total else "\n", file=sys.stderr)
    return report


class _UsageError(Exception):
    pass


def _write(text: str, output: Optional[str]) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _report_problems(errors, lang: Optional[str]) -> None:
    if errors:
        tr = translator(lang)
        print("\n" + tr.ngettext("%(count)d problem(s) reading the workspace:", "%(count)d problem(s) reading the workspace:",
                                 len(errors)), file=sys.stderr)
        for error in errors:
            print(f"  {error.location}: {tr.localize(error.message)}", file=sys.stderr)


def _audit(args: argparse.Namespace) -> int:
    from .analyzers import flow_answers
    from .analyzers.audit import run_audit

    model, text_of = _index(args)
    result = run_audit(model, text_of=text_of)
    flow_answers.keep(model)
    for error in result.errors:
        print(f"schemalens: {translator(args.lang).localize(error.message)}", file=sys.stderr)
    rehearsal = _rehearse(model, dsn=None, yes=False, keep=False, python=None, lang=args.lang) if args.verify else None
    if args.format == "json":
        from .analyzers.report.audit_json import audit_json

        data = audit_json(model, result.findings, result.query_paths, lang=args.lang, held_back=result.held_back)
        if rehearsal is not None:
            from .analyzers.verify.report import verify_json

            data["verify"] = verify_json(rehearsal)
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    elif args.format == "sarif":
        from .analyzers.report.audit_json import audit_sarif

        text = json.dumps(audit_sarif(model, result.findings, __version__), indent=2, ensure_ascii=False) + "\n"
    else:
        from .analyzers.report.audit_markdown import render_audit_markdown

        text = render_audit_markdown(model, result.findings, args.lang, result.query_paths, result.held_back)
        if rehearsal is not None:
            from .analyzers.verify.report import render_verify_markdown

            text += "\n" + render_verify_markdown(rehearsal, heading_level=2, lang=args.lang)
    _write(text, args.output)
    return 1 if rehearsal is not None and rehearsal.failed else 0


def _rehearse(model, dsn, yes: bool, keep: bool, python: Optional[str], lang: Optional[str] = None):
    from .analyzers.verify import TargetError, verify

    try:
        import alembic  # noqa: F401 - verify runs the project's migrations with Alembic and SQLAlchemy
        import psycopg  # noqa: F401
    except ImportError as error:
        raise _UsageError(_("verify needs Alembic, SQLAlchemy and psycopg here (%(error)s): pip install 'schemalens[verify]'",
                            error=error))
    tr = translator(lang)
    try:
        return verify(model, dsn=dsn, yes=yes, keep=keep, python=python,
                      progress=lambda line: print(f"schemalens: {tr.localize(line)}", file=sys.stderr))
    except TargetError as error:
        raise _UsageError(error.args[0]) from None


def _verify(args: argparse.Namespace) -> int:
    from .analyzers.verify.report import render_verify_markdown, verify_json

    python = None
    if args.python:
        found = shutil.which(args.python) or (args.python if Path(args.python).is_file() else None)
        if found is None:
            raise _UsageError(_("--python %(python)s: no such interpreter (give the path of the project's "
                                "virtualenv python, e.g. .venv/bin/python)", python=args.python))
        python = str(Path(found).absolute())
    model = _index(args)[0]
    report = _rehearse(model, args.dsn, args.yes, args.keep, python, args.lang)
    if args.format == "json":
        _write(json.dumps(verify_json(report), indent=2, ensure_ascii=False) + "\n", args.output)
    else:
        _write(render_verify_markdown(report, lang=args.lang), args.output)
    if report.kept:
        print(f"schemalens: {translator(args.lang).localize(report.kept)}", file=sys.stderr)
    return 1 if report.failed else 0


def _check(args: argparse.Namespace) -> int:
    from .analyzers import flow_answers
    from .analyzers.audit import run_audit, workspace_problems

    model, text_of = _index(args)
    result = run_audit(model, text_of=text_of)
    flow_answers.keep(model)
    failing = [f for f in result.findings if f.severity <= args.fail_on]
    tr = translator(args.lang)
    for finding in result.findings:
        print(f"{finding.location}: {finding.severity} {finding.rule} {tr.localize(finding.title)}")
    print(tr.ngettext("%(count)d finding(s), %(failing)d at or above %(level)s.",
                      "%(count)d finding(s), %(failing)d at or above %(level)s.", len(result.findings),
                      failing=len(failing), level=args.fail_on), file=sys.stderr)
    _report_problems(workspace_problems(model.errors, result.findings), args.lang)
    return 1 if failing else 0


def _rule(args: argparse.Namespace) -> int:
    from .analyzers.report.rule_docs import rule_markdown, rules_markdown
    from .analyzers.rules import rule_by_code

    lang = choose_language(args.lang)
    if args.all:
        sys.stdout.write(rules_markdown(lang))
        return 0
    rule = rule_by_code(args.code or "")
    if rule is None:
        raise _UsageError(_("no rule %(code)r; `schemalens rule --all` lists them", code=args.code))
    sys.stdout.write(rule_markdown(rule, lang))
    return 0


def _locks(args: argparse.Namespace) -> int:
    from .analyzers.report.lock_table import locks_markdown

    sys.stdout.write(locks_markdown(choose_language(args.lang)))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from .analyzers.report.schema_json import workspace_json
    from .analyzers.report.schema_map import render_databases, render_mermaid, render_schema_map

    model = _index(args)[0]
    layer_name = args.layer or ("database" if model.database.tables or not model.orm.tables else "orm")
    databases = sorted((d for d in model.databases if d.layer.tables or d.main), key=lambda d: not d.main)
    if args.set is not None:
        wanted = args.set.strip("/")
        databases = [d for d in model.databases if d.name == wanted or any(l.folder == wanted for l in d.locations)]
        if not databases:
            names = ", ".join(d.name or "." for d in model.databases) or "none"
            raise _UsageError(_("no migration set %(set)r; the sets are: %(names)s", set=args.set, names=names))
        layer_name = "database"
    layer = databases[0].layer if layer_name == "database" and databases else getattr(model, layer_name)
    if args.format == "json":
        layers = (args.layer,) if args.layer else ("orm", "database")
        text = json.dumps(workspace_json(model, layers), indent=2, ensure_ascii=False) + "\n"
    elif args.format == "mermaid":
        text = render_mermaid(layer)
    elif layer_name == "database" and (len(databases) > 1 or args.set is not None):
        text = render_databases(databases, args.format, orm=model.orm, lang=args.lang)
    else:
        text = render_schema_map(layer, args.format, orm=model.orm, lang=args.lang)
    if args.format in ("text", "markdown"):
        tr = translator(args.lang)
        heading = ("## " if args.format == "markdown" else "") + tr.localize(_("Coverage"))
        text = text.rstrip("\n") + f"\n\n{heading}\n\n" + "\n".join(map(tr.localize, model.coverage.lines())) + "\n"
    _write(text, args.output)
    if args.format != "json":
        _report_problems(model.errors, args.lang)
    return 0


def _scaffold(args: argparse.Namespace) -> int:
    from .analyzers.scaffold import ChangeRequest, ScaffoldError, run_post_write_hooks, scaffold, write_files

    if not 1 <= args.batch_size <= 100_000:
        raise _UsageError(_("--batch-size must be between 1 and 100000"))
    model = _index(args)[0]
    request = ChangeRequest(
        args.change, args.table, column=args.column, type=args.type, default=args.default, backfill=args.backfill,
        new_name=args.new_name, ref=args.ref, columns=tuple(c.strip() for c in (args.columns or "").split(",") if c.strip()),
        check=args.check, name=args.name, on_delete=args.on_delete, where=args.where, using=args.using,
        batch_size=args.batch_size, backfill_triggers=args.backfill_triggers)
    dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", args.dsn) if args.dsn else None  # a SQLAlchemy URL too
    try:
        files, project = scaffold(model, request, dsn=dsn, lang=args.lang)
    except ScaffoldError as error:
        raise _UsageError(error.args[0]) from None
    except ImportError:
        raise _UsageError(_("--dsn needs psycopg: pip install 'schemalens[verify]'")) from None
    except Exception as error:  # noqa: BLE001 - psycopg's connection errors, at the boundary
        if type(error).__module__.split(".")[0] != "psycopg":
            raise
        raise _UsageError(_("--dsn: could not read the triggers of %(table)s: %(error)s", table=args.table,
                            error=error)) from None
    tr = translator(args.lang)
    for note in project.notes:
        print(f"schemalens: {tr.localize(note)}", file=sys.stderr)
    if args.dry_run:
        for revision_file in files:
            print(f"# {revision_file.path} ({revision_file.phase})\n{revision_file.text}")
        return 0
    try:
        written = write_files(model.root, files, project.versions)
    except ValueError as error:
        raise _UsageError(error.args[0]) from None
    for note in run_post_write_hooks(model.root, project, written):
        print(f"schemalens: {tr.localize(note)}", file=sys.stderr)
    for revision_file, path in zip(files, written):
        print(f"{revision_file.phase:9} {path.relative_to(model.root)}")
    return 0


def _language_asked(argv: Sequence[str]) -> Optional[str]:
    """The `--lang` of a command line, read before parsing it so that `--help` speaks it too."""
    for number, argument in enumerate(argv):
        if argument == "--lang" and number + 1 < len(argv):
            return argv[number + 1]
        if argument.startswith("--lang="):
            return argument.partition("=")[2]
    return None


_COMMANDS = ("schema", "audit", "check", "rule", "locks", "lsp", "scaffold", "verify")


# The commands that only read and print: nothing they leave needs the interpreter's own exit.
# `verify` stops the PostgreSQL it started and `scaffold` writes files, `lsp` ends itself.
_READ_ONLY = ("schema", "audit", "check", "rule", "locks")


def run() -> None:
    """The `schemalens` command. After a command that only reads and prints, the process ends
    as soon as its output is written: the interpreter's exit would free the workspace's model
    object by object first (0.1 s of a 1.9 s audit of polar). mypy ends the same way."""
    arguments = sys.argv[1:]
    code = main(arguments)
    if _command_of(arguments) in _READ_ONLY:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a closed pipe (`| head`): reported by the interpreter's exit as usual
            sys.exit(code)
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


def _command_of(arguments: Sequence[str]) -> str:
    """The command the arguments name ("other": none)."""
    return next((argument for argument in arguments if argument in _COMMANDS), "other")


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    command = _command_of(arguments)
    first_message = _start_serving(arguments) if command == "lsp" else None
    # The classes the command's modules make, without compiling their methods again (written_methods.py)
    imported = keep_written_methods(cache_file(command), attrs=command == "lsp")  # lsprotocol's classes
    try:
        return _main(arguments, imported, first_message)
    finally:
        imported()


# How long the language server waits for the client's first message before its imports.
_FIRST_MESSAGE_WAIT_SECONDS = 0.05


def _start_serving(arguments: Sequence[str]) -> Optional[FirstMessage]:
    """The language server's start, before anything else. Over standard input, the client's
    first message is read on a thread of its own, and the parse worker started as it arrives,
    to read the workspace it names while this process imports (first_message.py); over TCP or a
    WebSocket, the worker is started at once, to import the parsers. The transport options are
    spelled out (the `lsp` parser takes no abbreviations): the arguments are parsed later."""
    from .analyzers.workspace.parse_workers import start_early_worker
    from .server.first_message import FirstMessage

    if any(argument.startswith(("--tcp", "--ws")) for argument in arguments):
        start_early_worker()
        return None
    first_message = FirstMessage(sys.stdin.buffer, start_early_worker)
    # An editor sends `initialize` as it starts the server: the worker then starts sooner (0.02
    # s here, 0.1 s on a thread among the imports), and has the files read by the time this
    # process needs them.
    first_message.wait(_FIRST_MESSAGE_WAIT_SECONDS)
    return first_message


def _main(arguments: list[str], imported: Callable[[], None], first_message: Optional[FirstMessage] = None) -> int:
    parser = _build_parser(_language_asked(arguments), scaffold_changes="scaffold" in arguments)
    args = parser.parse_args(arguments)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="schemalens: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "lsp":
        return _lsp(args, imported, first_message)
    handlers = {"schema": _schema, "audit": _audit, "check": _check, "rule": _rule, "locks": _locks,
                "scaffold": _scaffold, "verify": _verify}
    try:
        return handlers[args.command](args)
    except _UsageError as error:
        print(f"schemalens: {translator(getattr(args, 'lang', None)).localize(error.args[0])}", file=sys.stderr)
        return 2
