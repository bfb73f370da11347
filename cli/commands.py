"""The `schemalens` command line: a thin layer over `schemalens.analyzers`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from . import __version__


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="schemalens", description="Audit a repository's database design: "
                                     "SQLAlchemy models, Alembic revisions and SQL migrations, read statically.")
    parser.add_argument("--version", action="version", version=f"schemalens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is skipped and why")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    schema = commands.add_parser("schema", help="print the schema map (tables, relations, constraints, indexes)")
    schema.add_argument("path", nargs="?", default=".", help="workspace folder (default: the current one)")
    schema.add_argument("--layer", choices=("orm", "database"), default=None,
                        help="orm: what the models declare; database: the migrations replayed "
                             "(default: database, or orm when there are no migrations; json prints both)")
    schema.add_argument("--format", choices=("text", "markdown", "json", "mermaid"), default="text")
    schema.add_argument("--output", "-o", help="write to this file instead of standard output")
    return parser


def _schema(args: argparse.Namespace) -> int:
    from .analyzers.report.schema_json import workspace_json
    from .analyzers.report.schema_map import render_mermaid, render_schema_map
    from .analyzers.workspace.index import WorkspaceIndex

    root = Path(args.path)
    if not root.is_dir():
        print(f"schemalens: {args.path}: not a folder", file=sys.stderr)
        return 2
    model = WorkspaceIndex(root).index_all()
    layer_name = args.layer or ("database" if model.database.tables or not model.orm.tables else "orm")
    if args.format == "json":
        layers = (args.layer,) if args.layer else ("orm", "database")
        text = json.dumps(workspace_json(model, layers), indent=2, ensure_ascii=False) + "\n"
    elif args.format == "mermaid":
        text = render_mermaid(getattr(model, layer_name))
    else:
        text = render_schema_map(getattr(model, layer_name), args.format, orm=model.orm)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.format != "json" and model.errors:
        print(f"\n{len(model.errors)} problem(s) reading the workspace:", file=sys.stderr)
        for error in model.errors:
            print(f"  {error.location}: {error.message}", file=sys.stderr)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="schemalens: %(message)s")
    if args.command == "schema":
        return _schema(args)
    parser.print_help()
    return 0
