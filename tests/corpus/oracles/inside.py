"""Runs inside a corpus project's own venv, on a scratch copy of the project (never SchemaLens's
venv, never the unpacked corpus itself): imports the project's models and prints what SQLAlchemy
builds, or migrates a database the way the project does it.

    python inside.py orm PROJECT ROOT OUT_JSON
    python inside.py migrate PROJECT ROOT DATABASE_NAME      (PGHOST/PGPORT/PGUSER name the server)

Only the standard library, SQLAlchemy and the project's own requirements are importable here;
type names are normalized with SchemaLens's `analyzers/schema/type_names.py`, loaded by path
(it needs only the standard library). Every environment variable, shim and substitution used
is listed in README.md beside this file.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import os
import re
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
TYPE_NAMES = HERE.parents[2] / "analyzers" / "schema" / "type_names.py"

# Files that may declare tables: every one is imported, so that the MetaData is complete.
_MODEL_TEXT = re.compile(r"__tablename__|__table__\s*=|\bTable\(|\bColumn\(|mapped_column\(")
_SKIP_PARTS = {"tests", "test", "migrations", "revisions", "versions", "node_modules", "__pycache__"}


# --- per project --------------------------------------------------------------------------------

def _polar_settings_files(scratch: Path) -> dict:
    """polar's Settings validate that a JWKS file and the e-mail renderer binary exist."""
    jwks = scratch / ".oracle-jwks.json"
    if not jwks.exists():
        from authlib.jose import JsonWebKey, KeySet

        key = JsonWebKey.generate_key("RSA", 2048, {"kid": "oracle", "use": "sig"}, is_private=True)
        jwks.write_text(KeySet(keys=[key]).as_json(is_private=True))
    renderer = scratch / ".oracle-react-email-pkg"
    renderer.touch()
    return {"POLAR_JWKS": str(jwks), "POLAR_EMAIL_RENDERER_BINARY_PATH": str(renderer)}


PROJECTS = {
    "CTFd": {
        "package_root": ".",
        "packages": ["CTFd"],
        "env": {"SECRET_KEY": "oracle-secret-key", "UPDATE_CHECK": "false",
                "UPLOAD_FOLDER": "{scratch}/.oracle-uploads", "CACHE_TYPE": "simple",
                "REDIS_URL": "", "DATABASE_URL": "postgresql://"},
        "metadata": lambda: [importlib.import_module("CTFd.models").db.metadata],
    },
    "redash": {
        "package_root": ".",
        "packages": ["redash"],
        "env": {"REDASH_COOKIE_SECRET": "oracle-cookie-secret", "REDASH_SECRET_KEY": "oracle-secret-key",
                "REDASH_DATABASE_URL": "postgresql:///oracle", "REDASH_REDIS_URL": "redis://127.0.0.1:1/0"},
        "metadata": lambda: [importlib.import_module("redash.models").db.metadata],
    },
    "dispatch": {
        "package_root": "src",
        "packages": ["dispatch"],
        "env": {"DISPATCH_ENCRYPTION_KEY": "NJHDWDJ3PbHT8h", "DATABASE_HOSTNAME": "",
                "DATABASE_CREDENTIALS": "postgres:oracle", "DATABASE_NAME": "oracle", "DATABASE_PORT": "5432",
                "SECRET_PROVIDER": "", "DISPATCH_JWT_SECRET": "oracle-jwt-secret", "STATIC_DIR": ""},
        "metadata": lambda: [importlib.import_module("dispatch.database.core").Base.metadata],
    },
    "polar": {
        "package_root": "server",
        "packages": ["polar"],
        "env": {"POLAR_ENV": "development", "POLAR_POSTGRES_HOST": "localhost", "POLAR_POSTGRES_USER": "postgres",
                "POLAR_POSTGRES_PWD": "oracle", "POLAR_POSTGRES_PORT": "5432", "POLAR_POSTGRES_DATABASE": "oracle"},
        "env_files": _polar_settings_files,
        "metadata": lambda: [importlib.import_module("polar.kit.db.models").Model.metadata],
        "python314": True,
    },
}


# --- shims ---------------------------------------------------------------------------------------

_PEP758 = re.compile(r"^(\s*except\s+)(?!\()([\w.]+(?:\s*,\s*[\w.]+)+)(\s*(?:as\s+\w+\s*)?:)", re.MULTILINE)


class _Python314Loader(importlib.machinery.SourceFileLoader):
    """A Python 3.14 module run by Python 3.13: `except A, B:` (PEP 758) read as
    `except (A, B):`, and annotations deferred (PEP 649) approximated by PEP 563 strings
    (`from __future__ import annotations`), so that a return annotation naming a class imported
    only under TYPE_CHECKING does not raise NameError at definition time."""

    def source_to_code(self, data, path, *, _optimize=-1):
        import __future__

        text = data.decode("utf-8") if isinstance(data, bytes) else data
        text = _PEP758.sub(lambda m: f"{m.group(1)}({m.group(2)}){m.group(3)}", text)
        return compile(text, path, "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True,
                       optimize=_optimize)


class _Python314Finder(importlib.abc.MetaPathFinder):
    def __init__(self, root: Path) -> None:
        self.root = str(root)

    def find_spec(self, name, path=None, target=None):
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or not spec.origin or not spec.origin.startswith(self.root) or not spec.origin.endswith(".py"):
            return spec
        spec.loader = _Python314Loader(name, spec.origin)
        return spec


def prepare(project: str, scratch: Path) -> dict:
    """Environment, sys.path and shims for importing the project; returns the project's settings."""
    settings = PROJECTS[project]
    package_root = (scratch / settings["package_root"]).resolve()
    env = {key: value.format(scratch=scratch) for key, value in settings["env"].items()}
    if "env_files" in settings:
        env.update(settings["env_files"](scratch))
    os.environ.update(env)
    os.chdir(package_root)
    sys.path.insert(0, str(package_root))
    if settings.get("python314") and sys.version_info < (3, 14):
        sys.meta_path.insert(0, _Python314Finder(package_root))
    return {**settings, "package_root": package_root}


def model_modules(settings: dict) -> list[str]:
    """Every module of the project's packages whose text may declare a table, sorted."""
    modules = []
    root = settings["package_root"]
    for package in settings["packages"]:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if _SKIP_PARTS & set(relative.parts[:-1]) or relative.name.startswith("test_"):
                continue
            if _MODEL_TEXT.search(path.read_text(encoding="utf-8", errors="replace")):
                parts = list(relative.with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                modules.append(".".join(parts))
    return modules


# --- the dump ------------------------------------------------------------------------------------

def _normalizer():
    spec = importlib.util.spec_from_file_location("_schemalens_type_names", TYPE_NAMES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.normalize_type


_ORDERED_COLUMN = re.compile(r'^"?(\w+)"?(?:\s+(?:ASC|DESC))?(?:\s+NULLS\s+(?:FIRST|LAST))?$', re.IGNORECASE)


def _unquote(name):
    if name is None:
        return None
    name = str(name)
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return name[1:-1].replace('""', '"')
    return name


def _sql(element, dialect) -> str:
    if isinstance(element, str):
        return element
    try:
        return str(element.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # a bound parameter that has no literal form
        return str(element.compile(dialect=dialect))


def _table_sources(root: Path) -> dict:
    """id(Table) -> (path, line) of the mapped class that declares it."""
    import sqlalchemy.orm as orm

    try:  # 1.4 and 2.0
        from sqlalchemy.orm import mapperlib

        mappers = [m for registry in mapperlib._all_registries() for m in registry.mappers]
    except (ImportError, AttributeError):  # 1.3
        from sqlalchemy.orm import mapperlib

        mappers = list(mapperlib._mapper_registry)
    sources = {}
    for mapper in sorted(mappers, key=lambda m: (m.class_.__module__, m.class_.__qualname__)):
        table = mapper.local_table
        if mapper.inherits is not None and mapper.inherits.local_table is table:
            continue  # single-table inheritance: the table belongs to the base class
        try:
            path = Path(inspect.getsourcefile(mapper.class_)).resolve()
            line = inspect.getsourcelines(mapper.class_)[1]
            sources.setdefault(id(table), (path.relative_to(root).as_posix(), line))
        except (TypeError, OSError, ValueError):
            continue
    del orm
    # Table(...) objects bound to a module-level name: the line that assigns them.
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if not source or not str(Path(source).resolve()).startswith(str(root)):
            continue
        for name, value in sorted(vars(module).items()):
            if type(value).__name__ != "Table" or id(value) in sources:
                continue
            text = Path(source).read_text(encoding="utf-8", errors="replace")
            match = re.search(rf"^[ \t]*{re.escape(name)}\s*(?::[^=]*)?=", text, re.MULTILINE)
            if match:
                sources[id(value)] = (Path(source).resolve().relative_to(root).as_posix(),
                                      text.count("\n", 0, match.start()) + 1)
    return sources


def dump_metadata(metadatas, root: Path) -> dict:
    """The tables and native enums of `metadatas` in the schema JSON contract's shape."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    normalize = _normalizer()
    dialect = postgresql.dialect()
    ddl = dialect.ddl_compiler(dialect, None)
    prep = dialect.identifier_preparer
    sources = _table_sources(root)
    tables, enums, errors = [], {}, []

    def constraint_name(constraint):
        if constraint.name is None:
            return None  # unnamed, no naming convention: PostgreSQL names it
        try:
            return _unquote(prep.format_constraint(constraint))
        except Exception as error:  # a naming convention that cannot be rendered
            errors.append(f"{constraint.table.name}: constraint name: {error}")
            return None

    def record_enum(column_type):
        if isinstance(column_type, sa.ARRAY):
            column_type = column_type.item_type
        if isinstance(column_type, sa.types.TypeDecorator):
            column_type = column_type.impl
        if isinstance(column_type, sa.Enum) and column_type.native_enum and column_type.name:
            key = (column_type.schema or "", column_type.name)
            enums[key] = {"name": column_type.name, "schema": column_type.schema,
                          "values": list(column_type.enums), "path": "<sqlalchemy>", "line": 1}

    seen = set()
    for metadata in metadatas:
        for table in metadata.tables.values():
            if id(table) in seen:
                continue
            seen.add(id(table))
            path, line = sources.get(id(table), ("<sqlalchemy>", 1))
            where = {"path": path, "line": line}
            columns = []
            for column in table.columns:
                try:
                    compiled = column.type.compile(dialect=dialect)
                except Exception as error:
                    errors.append(f"{table.fullname}.{column.name}: type {column.type!r} does not compile: {error}")
                    compiled = repr(column.type)
                spec = ddl.get_column_specification(column)
                after_name = spec[len(prep.format_column(column)):].split()
                identity = None
                if after_name and after_name[0].upper() in ("SERIAL", "BIGSERIAL", "SMALLSERIAL"):
                    identity = "serial"
                if getattr(column, "identity", None) is not None:
                    identity = "always" if column.identity.always else "by default"
                server_default = ddl.get_column_default_string(column)
                default = None
                if column.default is not None and hasattr(column.default, "arg"):
                    arg = column.default.arg
                    if callable(arg):
                        default = getattr(getattr(arg, "__wrapped__", arg), "__name__", type(arg).__name__) + "()"
                    elif isinstance(arg, sa.sql.ClauseElement):
                        default = _sql(arg, dialect)
                    else:
                        default = repr(arg)
                record_enum(column.type)
                columns.append({"name": column.name, "type": normalize(compiled), "nullable": bool(column.nullable),
                                "default": server_default or default, "server_default": server_default,
                                "identity": identity, "comment": column.comment, **where})
            primary = table.primary_key
            foreign_keys, unique, checks = [], [], []
            for constraint in sorted(table.foreign_key_constraints, key=lambda c: [e.parent.name for e in c.elements]):
                try:
                    referred = constraint.elements[0].column.table
                    ref_columns = [e.column.name for e in constraint.elements]
                except Exception as error:
                    errors.append(f"{table.fullname}: foreign key {constraint.column_keys}: {error}")
                    continue
                foreign_keys.append({
                    "name": constraint_name(constraint), "columns": [e.parent.name for e in constraint.elements],
                    "ref_table": referred.name, "ref_schema": referred.schema, "ref_columns": ref_columns,
                    "on_delete": constraint.ondelete.upper() if constraint.ondelete else None,
                    "on_update": constraint.onupdate.upper() if constraint.onupdate else None,
                    "deferrable": bool(constraint.deferrable), "not_valid": False, **where})
            for constraint in table.constraints:
                rule = getattr(constraint, "_create_rule", None)
                if rule is not None and not rule(ddl):
                    continue  # e.g. the CHECK of a Boolean or native Enum: PostgreSQL gets none
                if isinstance(constraint, sa.UniqueConstraint):
                    unique.append({"name": constraint_name(constraint), "columns": [c.name for c in constraint.columns],
                                   **where})
                elif isinstance(constraint, sa.CheckConstraint):
                    checks.append({"name": constraint_name(constraint), "expression": _sql(constraint.sqltext, dialect),
                                   "not_valid": False, **where})
            indexes = []
            for index in table.indexes:
                keys, expressions = [], []
                for expression in index.expressions:
                    # col.desc() / nulls_last(col): still a column key for PostgreSQL's catalog.
                    while (isinstance(expression, sa.sql.elements.UnaryExpression) and expression.operator is None
                           and isinstance(expression.element, (sa.Column, sa.sql.elements.UnaryExpression))):
                        expression = expression.element
                    if isinstance(expression, sa.Column):
                        keys.append(expression.name)
                        expressions.append(False)
                    elif isinstance(expression, str):
                        keys.append(expression)
                        expressions.append(False)
                    else:
                        text = _sql(expression, dialect)
                        # text("ingested_at DESC"): a column key with an ordering, as the catalog has it.
                        column_key = _ORDERED_COLUMN.match(text)
                        if column_key and column_key.group(1) in table.columns:
                            keys.append(column_key.group(1))
                            expressions.append(False)
                        else:
                            keys.append(text)
                            expressions.append(True)
                options = index.dialect_options["postgresql"]
                where_clause = options.get("where")
                using = options.get("using")
                include = options.get("include") or []
                indexes.append({
                    "name": _unquote(ddl._prepared_index_name(index)), "columns": keys, "unique": bool(index.unique),
                    "where": _sql(where_clause, dialect) if where_clause is not None else None,
                    "using": None if not using or str(using).lower() == "btree" else str(using).lower(),
                    "concurrently": False, "expressions": expressions,
                    "include": [c if isinstance(c, str) else c.name for c in include],
                    "opclasses": sorted([str(k), str(v)] for k, v in (options.get("ops") or {}).items()), **where})
            tables.append({
                "name": table.name, "schema": table.schema, **where, "columns": columns,
                "primary_key": ({"name": constraint_name(primary), "columns": [c.name for c in primary.columns]}
                                if len(primary.columns) else None),
                "foreign_keys": foreign_keys,
                "unique": sorted(unique, key=lambda u: (u["name"] or "", u["columns"])),
                "checks": sorted(checks, key=lambda c: (c["name"] or "", c["expression"])),
                "indexes": sorted(indexes, key=lambda i: (i["name"] or "", i["columns"])),
                "partition_by": None, "partition_of": None, "triggers": [],
                "comment": table.comment,
            })
    tables.sort(key=lambda t: ((t["schema"] or ""), t["name"]))
    return {"tables": tables, "enums": [enums[key] for key in sorted(enums)], "errors": errors}


def orm(project: str, root: Path, out: Path) -> int:
    settings = prepare(project, root)
    imported, failures = [], []
    for module in model_modules(settings):
        try:
            importlib.import_module(module)
            imported.append(module)
        except BaseException as error:  # SystemExit included: a module must never end the dump quietly
            failures.append({"module": module, "error": f"{type(error).__name__}: {error}",
                             "traceback": traceback.format_exc(limit=-3)})
    import sqlalchemy as sa
    import sqlalchemy.orm

    try:
        sqlalchemy.orm.configure_mappers()
    except Exception as error:
        failures.append({"module": "<configure_mappers>", "error": f"{type(error).__name__}: {error}", "traceback": ""})
    metadatas = settings["metadata"]()
    layer = dump_metadata(metadatas, root)
    errors = layer.pop("errors")
    document = {
        "version": 1,
        "layers": {"orm": layer},
        "oracle": {
            "project": project, "built_by": "tests/corpus/oracles/build_orm_oracle.py",
            "python": "%d.%d" % sys.version_info[:2], "sqlalchemy": sa.__version__,
            "modules_imported": imported, "import_failures": [{k: v for k, v in f.items() if k != "traceback"} for f in failures],
            "errors": errors,
        },
    }
    out.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    for failure in failures:
        print(f"IMPORT FAILED {failure['module']}: {failure['error']}\n{failure['traceback']}", file=sys.stderr)
    for error in errors:
        print(f"ERROR {error}", file=sys.stderr)
    return 1 if failures else 0


# --- migrations ----------------------------------------------------------------------------------

def _url(database: str, driver: str = "postgresql") -> str:
    host = os.environ["PGHOST"]
    return f"{driver}://postgres@/{database}?host={host}&port={os.environ.get('PGPORT', '5432')}"


def _run(args: list[str], **kwargs) -> None:
    print("+", " ".join(args), file=sys.stderr)
    subprocess.run(args, check=True, **kwargs)


@contextlib.contextmanager
def _redis():
    """A redis-server (Debian's package) on a free loopback port, without persistence."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


def migrate(project: str, root: Path, database: str) -> int:
    settings = prepare(project, root)
    os.environ["PGDATABASE"] = database
    if project == "CTFd":
        # CTFd.create_app(): on PostgreSQL, flask_migrate upgrade() from an empty database, then
        # every plugin's own migration folder as the plugin loads (CTFd/plugins/migrations.py).
        os.environ["DATABASE_URL"] = _url(database)
        from CTFd import create_app

        create_app()
    elif project == "redash":
        # redash's documented setup: `manage.py database create_tables` (extensions, create_all(),
        # alembic stamp head), then `manage.py db upgrade`. create_app() reads redis (the cached
        # latest version), so a throwaway redis-server runs on a loopback port meanwhile.
        os.environ["REDASH_DATABASE_URL"] = _url(database)
        with _redis() as url:
            os.environ["REDASH_REDIS_URL"] = url
            _run([sys.executable, "manage.py", "database", "create_tables"], cwd=root)
            _run([sys.executable, "manage.py", "db", "upgrade"], cwd=root)
    elif project == "dispatch":
        # `dispatch database init` is init_database(engine) behind two prompts (host and database
        # name, which an empty host cannot answer): called directly. It creates dispatch_core with
        # create_all() + stamp, the default organization and its tenant schema
        # dispatch_organization_default with create_all() + stamp, full-text triggers, plugin and
        # default project rows. Then `dispatch database upgrade` (core, then tenant, to head).
        os.environ["DATABASE_NAME"] = database
        _run([sys.executable, "-c", "from dispatch.database.core import engine; "
              "from dispatch.database.manage import init_database; init_database(engine)"],
             cwd=settings["package_root"])
        _run([sys.executable, "-c", "from dispatch.cli import entrypoint; entrypoint()", "database", "upgrade"],
             cwd=settings["package_root"])
    elif project == "polar":
        # `task db_migrate` = `python -m scripts.db upgrade`: alembic upgrade head from empty.
        os.environ["POLAR_POSTGRES_DATABASE"] = database
        _run([sys.executable, str(HERE / "inside.py"), "polar-upgrade", "polar", str(root), database], cwd=settings["package_root"])
    return 0


def polar_upgrade(root: Path, database: str) -> int:
    """`python -m scripts.db upgrade`, with the database URL given the way polar's own test suite
    gives it (`config.attributes["sqlalchemy.url"]`, read by migrations/env.py): the embedded
    server listens on a unix socket only, which polar's settings cannot spell."""
    settings = prepare("polar", root)
    from alembic.command import upgrade
    from alembic.config import Config

    config = Config(str(settings["package_root"] / "alembic.ini"))
    config.attributes["sqlalchemy.url"] = _url(database, "postgresql+asyncpg")
    upgrade(config, "head")
    return 0


def main(argv: list[str]) -> int:
    command, project, root = argv[0], argv[1], Path(argv[2]).resolve()
    if command == "orm":
        return orm(project, root, Path(argv[3]))
    if command == "migrate":
        return migrate(project, root, argv[3])
    if command == "polar-upgrade":
        return polar_upgrade(root, argv[3])
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
