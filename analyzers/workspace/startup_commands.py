"""Whether the project's start command applies the migrations before the server starts.

Container images and process files start many services: `CMD ["./startup.sh"]` in a Dockerfile,
`command: sh -c "alembic upgrade head && gunicorn app:app"` in a compose file, `web: flask db
upgrade && gunicorn ...` in a Procfile (or a project CLI's `db upgrade`: FitTrackee's `ftcli db
upgrade`), or an entrypoint script that runs `alembic upgrade head` and then `exec`s the server
(letta), or ends by running it with Python (skyvern: `python -m skyvern.forge`); the same with the
tools of SQL migration folders (`CMD prisma migrate deploy && exec ... next start`: linkwarden; a
start script that runs `npx prisma migrate deploy`, then `node server.js`: rallly). Such a service
migrates as it starts, like an application factory that calls `upgrade()`: the new version
applies its migrations before it serves.

Read statically from a few files at known places (no walk of the tree): Dockerfiles, compose
files and the Procfile at the root and in `docker/`, `deploy/` and `.docker/`, the scripts
their start commands name, and scripts named like entrypoints there and in `scripts/` and
`bin/`. A script runs in order; of a Dockerfile only CMD and ENTRYPOINT start anything (RUN
runs when the image is built); a compose file's services and a Procfile's processes start side
by side, so each line is one command, and a Procfile's `release:` process is none: Heroku runs
it while the previous release still serves. In a justfile or Makefile, a recipe runs its dependencies first
(bitcart: `prod-api-up: db-migrate prod-api`); one counts when a start command runs it (`just
prod-api-up`) or its name says it starts production (`prod`, `start`), not a developer's
`migrate` and `run` recipes side by side. A file its name gives to development
(`docker-entrypoint-dev.sh`, `docker-compose.dev.yml`) says nothing of how production starts.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional

from .stamps import Remembered
from ..lazy_pattern import LazyPattern

_FOLDERS = ("", "docker", "deploy", ".docker", "scripts", "bin")
_DEPLOY_FILE = LazyPattern(r"^(?:Dockerfile[\w.-]*|[\w.-]+\.dockerfile|(?:docker-)?compose[\w.-]*\.ya?ml|Procfile)$",
                          re.IGNORECASE)
_ENTRYPOINT_SCRIPT = LazyPattern(r"^[\w.-]*(?:entrypoint|start|startup|boot|run|serve)[\w.-]*\.sh$", re.IGNORECASE)
# A script a start command names: `./letta/server/startup.sh`, `/app/docker/entrypoint.sh`.
_SCRIPT_PATH = LazyPattern(r"[\w./-]+\.sh\b")
# `alembic upgrade head`, or a command line's `db upgrade` (Flask-Migrate's `flask db upgrade`, and the
# project CLIs that keep its convention: FitTrackee's `ftcli db upgrade`, `superset db upgrade`,
# `airflow db upgrade`); not `db migrate`, which Flask-Migrate gives to writing a new revision. The
# command of each tool of SQL migration folders that applies the pending ones (linkwarden, rallly:
# `prisma migrate deploy`), not those that write or try one (`prisma migrate dev`, `goose create`).
_MIGRATE = LazyPattern(r"\balembic\b[^\n;&|]*\bupgrade\b|(?<![\w.-])[\w.-]+\s+db\s+upgrade\b"
                       r"|\bprisma\s+migrate\s+deploy\b|\bdiesel\s+migration\s+run\b|\bsqlx\s+migrate\s+run\b"
                       r"|\b(?:dbmate|goose)\b[^\n;&|]*\sup\b|\bdbmate\b[^\n;&|]*\smigrate\b"
                       r"|\bmigrate\b[^\n;&|]*\s-(?:path|source)\b[^\n;&|]*\sup\b"  # golang-migrate
                       r"|\bflyway\b[^\n;&|]*\smigrate\b|\bliquibase\b[^\n;&|]*\supdate\b|\batlas\s+migrate\s+apply\b"
                       r"|\bknex\b[^\n;&|]*\bmigrate:latest\b|\btypeorm\b[^\n;&|]*\bmigration:run\b"
                       r"|\bsequelize(?:-cli)?\b[^\n;&|]*\bdb:migrate\b")
# What starts a long-running server after the migration: a known server, Node's (`node server.js`,
# not a seed script's `node seed.js`; `next start`; a package's `start` script), or `exec` of the
# process the container keeps running, as a script's line or after `&&` (linkwarden: `prisma
# migrate deploy && exec concurrently ...`).
_SERVE = LazyPattern(r"\b(?:uvicorn|gunicorn|hypercorn|daphne|granian|uwsgi|waitress-serve|flask\s+run)\b"
                     r"|\bnode\s+(?:[\w.-]+/)*(?:server|main|index|app|start)\.[cm]?js\b|\bnext\s+start\b"
                     r"|\b(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?start\b"
                     r"|(?:^|&&|;)\s*exec\s+\S", re.MULTILINE)
# A script's last command, run in the foreground, that starts the application with Python
# (skyvern: `python -m skyvern.forge`) or Node (rallly: `node apps/web/server.js`): the process
# the container keeps; not a test runner.
_APPLICATION = LazyPattern(r"^(?:exec\s+)?(?:python[\d.]*\s+(?:-m\s+(?!pytest\b|unittest\b|nose2?\b|tox\b)[\w.]+"
                           r"|(?!\S*test)[\w./-]+\.py)|node\s+(?!--test\b)(?!\S*test)[\w./-]+\.[cm]?js"
                           r"|(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?start|(?:npx\s+)?next\s+start)\b[^&]*$")
_RELEASE_PROCESS = LazyPattern(r"^release\s*:")
_DEVELOPMENT_WORDS = frozenset({"dev", "develop", "development", "local", "test", "tests", "debug"})
_START_INSTRUCTION = LazyPattern(r"^\s*(CMD|ENTRYPOINT)\b", re.IGNORECASE)
_MAX_BYTES = 200_000
_RECIPE_FILES = ("justfile", "Justfile", ".justfile", "Makefile", "makefile", "GNUmakefile")
# `name param: dependency other`, at the start of a line (not `x := value`, not a Make variable)
_RECIPE = LazyPattern(r"^([A-Za-z_][\w.-]*)(?:[ \t]+[^:=\n]*)?:(?!=)[ \t]*([^\n#]*)")
_RUNS_RECIPE = LazyPattern(r"\b(?:just|make)(?:\s+-\S+)*\s+([A-Za-z_][\w.-]*)")
_STARTS_PRODUCTION = LazyPattern(r"prod|start", re.IGNORECASE)


def startup_migration(root: Optional[Path]) -> Optional[str]:
    """Where a start command applies the migrations before the server starts
    ("letta/server/startup.sh:56"), or None. Remembered until a folder it listed or a file it
    looked for changes (workspace/stamps.py): every audit asks, each edit in a language server."""
    return _remembered_migration(root) if root is not None else None


def _read_migration(root: Path, looked: list[str]) -> Optional[str]:
    starts = list(_start_files(root, looked))
    recipe = _recipe_migration(root, starts, looked)
    if recipe is not None:
        return recipe
    for path in starts:
        text = _read(root / path, looked)
        for line, command in _commands(path, text) if text is not None else ():
            migrate = _MIGRATE.search(command)
            if migrate is not None and (_SERVE.search(command, migrate.end())
                                        or path.suffix == ".sh" and _ends_running_the_application(command[migrate.end():])):
                return f"{path.as_posix()}:{line + command.count(chr(10), 0, migrate.start())}"
    return None


_remembered_migration = Remembered(_read_migration)


def _ends_running_the_application(script: str) -> bool:
    """The script's last command (comments, blank lines and block ends aside) starts the
    application with Python or Node in the foreground."""
    lines = [line.strip() for line in script.splitlines()]
    commands = [line for line in lines if line and not line.startswith("#") and line not in ("fi", "done", "esac", "}")]
    return bool(commands) and bool(_APPLICATION.match(commands[-1]))


def _commands(path: PurePosixPath, text: str) -> Iterator[tuple[int, str]]:
    """(first line, command) of what a start file runs, each in the order it runs: a script
    whole; a Dockerfile's CMD and ENTRYPOINT (its RUN lines run when the image is built); a
    compose file's or Procfile's lines one by one (each its own service or process, started
    side by side), without Heroku's `release:` process."""
    if path.suffix == ".sh":
        yield 1, text
        return
    name = path.name.lower()
    dockerfile = name.startswith("dockerfile") or name.endswith(".dockerfile")
    for number, line in enumerate(text.splitlines(), start=1):
        if dockerfile and not _START_INSTRUCTION.match(line) or _RELEASE_PROCESS.match(line):
            continue
        yield number, line


def _recipe_migration(root: Path, starts: list[PurePosixPath], looked: list[str]) -> Optional[str]:
    """Where a justfile or Makefile recipe that starts the server migrates first ("justfile:73")."""
    named = {name for path in starts for name in _RUNS_RECIPE.findall(_read(root / path, looked) or "")}
    for folder in _FOLDERS:
        for file_name in _RECIPE_FILES:
            path = PurePosixPath(folder, file_name)
            text = _read(root / path, looked)
            if text is None:
                continue
            recipes = _recipes(text)
            for name in recipes:
                if name not in named and not _STARTS_PRODUCTION.search(name):
                    continue
                commands = _expanded(name, recipes, set())
                first = next((position for position, (_line, command) in enumerate(commands)
                              if _MIGRATE.search(command)), None)
                if first is None:
                    continue
                line, command = commands[first]
                later = [command[_MIGRATE.search(command).end():], *(rest for _line, rest in commands[first + 1:])]
                if any(_SERVE.search(rest) for rest in later):
                    return f"{path.as_posix()}:{line}"
    return None


def _recipes(text: str) -> dict[str, tuple[list[str], list[tuple[int, str]]]]:
    """{recipe: (its dependencies, its commands with their line numbers)}."""
    found: dict[str, tuple[list[str], list[tuple[int, str]]]] = {}
    current = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line[:1] in (" ", "\t"):
            if current is not None and line.strip():
                found[current][1].append((number, line.strip().lstrip("@-")))
            continue
        match = _RECIPE.match(line)
        current = match.group(1) if match else None
        if current is not None:
            found[current] = (match.group(2).split(), [])
    return found


def _expanded(name: str, recipes: dict, seen: set) -> list[tuple[int, str]]:
    """The commands a recipe runs, its dependencies' first, in order."""
    if name in seen or name not in recipes:
        return []
    seen.add(name)
    dependencies, commands = recipes[name]
    return [command for dependency in dependencies for command in _expanded(dependency, recipes, seen)] + commands


def _start_files(root: Path, looked: list[str]) -> Iterator[PurePosixPath]:
    """Deploy files and entrypoint scripts at the known places, then the scripts they name;
    `looked` gets every folder listed and file read or looked for."""
    found: list[PurePosixPath] = []
    for folder in _FOLDERS:
        directory = root / folder if folder else root
        looked.append(str(directory))
        try:
            names = sorted(entry.name for entry in directory.iterdir() if entry.is_file())
        except OSError:
            continue
        found += [PurePosixPath(folder, name) for name in names
                  if (_DEPLOY_FILE.match(name) or _ENTRYPOINT_SCRIPT.match(name)) and not _for_development(name)]
    named: list[PurePosixPath] = []
    for path in found:
        if _DEPLOY_FILE.match(path.name):
            for _line, command in _commands(path, _read(root / path, looked) or ""):
                named += [script for written in _SCRIPT_PATH.findall(command)
                          if (script := _in_workspace(root, written, looked)) is not None
                          and not _for_development(script.name)]
    yield from dict.fromkeys([*found, *named])


def _for_development(name: str) -> bool:
    """A file its name gives to development (FitTrackee's `docker-entrypoint-dev.sh`,
    `docker-compose.dev.yml`, `Dockerfile.local`): how production starts is not read there."""
    return any(word in _DEVELOPMENT_WORDS for word in re.split(r"[-_.]+", name.lower()))


def _in_workspace(root: Path, script: str, looked: list[str]) -> Optional[PurePosixPath]:
    """The workspace file a start command's script path names: `./letta/server/startup.sh` from
    the root; `/app/docker/entrypoint.sh` as `app/docker/entrypoint.sh`, else `docker/entrypoint.sh`
    (the image copies the repository to a folder of its own), else `entrypoint.sh`."""
    parts = [part for part in PurePosixPath(script).parts if part not in ("/", ".")]
    for start in range(len(parts)):
        candidate = PurePosixPath(*parts[start:])
        if ".." not in candidate.parts:
            looked.append(str(root / candidate))
            if (root / candidate).is_file():
                return candidate
    return None


def _read(file: Path, looked: list[str]) -> Optional[str]:
    looked.append(str(file))
    try:
        if file.stat().st_size > _MAX_BYTES:
            return None
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
