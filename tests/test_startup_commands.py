"""Start commands that migrate before the server starts, read from deploy files and the scripts
they run, never executed."""

from __future__ import annotations

import os

import pytest

from schemalens.analyzers.workspace import startup_commands
from schemalens.analyzers.workspace.startup_commands import startup_migration
from workspace_files import write_files


def test_a_dockerfile_cmd_script_that_migrates_then_execs_the_server(tmp_path):
    # letta: CMD ["./letta/server/startup.sh"], which runs `alembic upgrade head` and `exec $CMD`
    write_files(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD ["./letta/server/startup.sh"]\n',
        "letta/server/startup.sh": "#!/bin/sh\nset -e\nif ! alembic upgrade head; then\n  exit 1\nfi\nexec $CMD\n",
    })
    assert startup_migration(tmp_path) == "letta/server/startup.sh:3"


def test_an_absolute_entrypoint_path_is_found_in_the_workspace(tmp_path):
    write_files(tmp_path, {
        "docker/Dockerfile": 'FROM python:3.12\nENTRYPOINT ["/app/docker/boot.sh"]\n',
        "docker/boot.sh": "flask db upgrade\ngunicorn app:app\n",
    })
    assert startup_migration(tmp_path) == "docker/boot.sh:1"


def test_a_project_cli_that_keeps_flask_migrate_s_db_upgrade(tmp_path):
    # FitTrackee: the entrypoint runs its own CLI (`ftcli = 'fittrackee.cli:cli'`), then execs gunicorn
    write_files(tmp_path, {
        "docker-entrypoint-dev.sh": "#!/bin/bash\nset -e\nftcli db upgrade\nexec flask run --debug\n",
        "docker-entrypoint.sh": ("#!/bin/bash\nset -e\n\n# Upgrade database\necho \"Upgrading database...\"\n"
                                 "ftcli db upgrade || { echo \"Failed to upgrade database!\"; exit 1; }\n\n"
                                 "exec gunicorn -b 0.0.0.0:5000 \"fittrackee:create_app()\"\n"),
    })
    assert startup_migration(tmp_path) == "docker-entrypoint.sh:6"  # production's, not the development one's
    # `db migrate` writes a new revision (Flask-Migrate): it applies nothing; a development start is not production's
    (tmp_path / "docker-entrypoint.sh").write_text("#!/bin/bash\nftcli db migrate\nexec gunicorn app:app\n")
    assert startup_migration(tmp_path) is None


def test_a_compose_command_that_migrates_and_serves(tmp_path):
    write_files(tmp_path, {"docker-compose.yml": (
        "services:\n  api:\n    command: sh -c \"alembic upgrade head && uvicorn app.main:app --host 0.0.0.0\"\n")})
    assert startup_migration(tmp_path) == "docker-compose.yml:3"


def test_a_procfile_process_that_migrates_then_serves(tmp_path):
    write_files(tmp_path, {"Procfile": "release: echo ok\nweb: flask db upgrade && gunicorn app:app\n"})
    assert startup_migration(tmp_path) == "Procfile:2"


def test_a_build_step_or_a_service_beside_the_server_is_not_a_start_command(tmp_path):
    # RUN runs when the image is built; compose starts its services side by side
    write_files(tmp_path, {
        "Dockerfile": "FROM python:3.12\nRUN flask db upgrade\nCMD gunicorn app:app\n",
        "docker-compose.yml": ("services:\n  migrate:\n    command: alembic upgrade head\n"
                               "  api:\n    command: uvicorn app.main:app\n"),
    })
    assert startup_migration(tmp_path) is None


def test_a_release_process_a_separate_migration_job_or_no_server_is_not_a_start_command(tmp_path):
    # Heroku runs `release:` while the previous release serves; a job that only migrates serves nothing
    write_files(tmp_path, {
        "Procfile": "release: alembic upgrade head\nweb: gunicorn app:app\n",
        "docker-compose.yml": "services:\n  migrate:\n    command: alembic upgrade head\n",
        "scripts/run_tests.sh": "alembic upgrade head\npytest\n",
    })
    assert startup_migration(tmp_path) is None


def test_a_recipe_that_starts_production_runs_its_migration_dependency_first(tmp_path):
    # bitcart: `prod-api-up: db-migrate prod-api`, run by its compose file as `just prod-api-up`
    write_files(tmp_path, {"justfile": ("prod-api:\n    gunicorn -c gunicorn.conf.py main:app\n\n"
                                   "prod-api-up: db-migrate prod-api\n\n"
                                   "db-migrate:\n    alembic upgrade head\n")})
    assert startup_migration(tmp_path) == "justfile:7"
    write_files(tmp_path, {"justfile": "serve-all: db-migrate api\n\ndb-migrate:\n    alembic upgrade head\n\n"
                                  "api:\n    uvicorn main:app\n",
                      "docker-compose.yml": "services:\n  api:\n    command: just serve-all\n"})
    assert startup_migration(tmp_path) == "justfile:4"


def test_developer_recipes_side_by_side_are_not_a_start_command(tmp_path):
    write_files(tmp_path, {"Makefile": "migrate:\n\talembic upgrade head\n\nrun:\n\tuvicorn main:app --reload\n\n"
                                  "dev: migrate run\n"})
    assert startup_migration(tmp_path) is None


def test_a_script_created_or_changed_later_is_read(tmp_path):
    write_files(tmp_path, {"Dockerfile": 'FROM python:3.12\nCMD ["./app/bin/run.sh"]\n', "app/bin/README": "scripts\n"})
    os.utime(tmp_path / "app" / "bin", (1_000, 1_000))  # changes are seen even where time counts whole seconds
    assert startup_migration(tmp_path) is None
    write_files(tmp_path, {"app/bin/run.sh": "alembic upgrade head\nexec gunicorn app:app\n"})
    os.utime(tmp_path / "app" / "bin" / "run.sh", (2_000, 2_000))
    os.utime(tmp_path / "app" / "bin", (1_000, 1_000))  # its folder as it was: the script itself says it came
    assert startup_migration(tmp_path) == "app/bin/run.sh:1"
    write_files(tmp_path, {"app/bin/run.sh": "exec gunicorn app:app\n"})
    os.utime(tmp_path / "app" / "bin" / "run.sh", (3_000, 3_000))
    assert startup_migration(tmp_path) is None
    write_files(tmp_path, {"Dockerfile": 'FROM python:3.12\nCMD sh -c "flask db upgrade && gunicorn app:app"\n'})
    os.utime(tmp_path / "Dockerfile", (4_000, 4_000))
    assert startup_migration(tmp_path) == "Dockerfile:2"


def test_an_unchanged_project_is_not_read_again(tmp_path, monkeypatch):
    write_files(tmp_path, {"Procfile": "web: flask db upgrade && gunicorn app:app\n"})
    assert startup_migration(tmp_path) == "Procfile:1"
    read = []
    monkeypatch.setattr(startup_commands, "_read", lambda file, looked: read.append(file))
    assert startup_migration(tmp_path) == "Procfile:1" and read == []


def test_a_script_that_migrates_and_ends_running_the_application_with_python(tmp_path):
    # skyvern: CMD runs entrypoint-skyvern.sh, which migrates, starts helpers in the background and
    # ends with `python -m skyvern.forge`; a test script ending with pytest starts no application
    write_files(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD [ "/bin/bash", "/app/entrypoint-skyvern.sh" ]\n',
        "entrypoint-skyvern.sh": ("#!/bin/bash\nset -e\nif [ \"$run_migration\" = true ]; then\n    alembic upgrade head\nfi\n"
                                  "python run_streaming.py > /dev/null &\n\n# the server\npython -m skyvern.forge\n"),
    })
    assert startup_migration(tmp_path) == "entrypoint-skyvern.sh:4"
    (tmp_path / "entrypoint-skyvern.sh").write_text("#!/bin/bash\nalembic upgrade head\npython -m pytest tests\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run_tests.sh").write_text("alembic upgrade head\npython tests/run_all.py\n")
    assert startup_migration(tmp_path) is None


def test_the_tools_of_sql_migration_folders_migrate_at_startup_as_alembic_does(tmp_path):
    # linkwarden: the image's CMD applies the Prisma migrations, then execs the servers
    write_files(tmp_path, {"Dockerfile": (
        'FROM node:22\nRUN yarn prisma generate\n'
        'CMD ["sh", "-c", "export PATH=/data/node_modules/.bin:$PATH && prisma migrate deploy '
        '--schema=/data/packages/prisma/schema.prisma && exec concurrently -k -n web,worker '
        '\\"cd /data/apps/web && exec next start\\" \\"cd /data/apps/worker && exec tsx worker.ts\\""]\n')})
    assert startup_migration(tmp_path) == "Dockerfile:3"


def test_a_start_script_that_migrates_and_ends_running_the_application_with_node(tmp_path):
    # rallly: scripts/docker-start.sh runs `npx prisma migrate deploy` unless in maintenance, then the server
    write_files(tmp_path, {"scripts/docker-start.sh": (
        '#!/bin/sh\nset -e\nexport AUTH_URL=$NEXT_PUBLIC_BASE_URL\nif [ "$MAINTENANCE_MODE" = "true" ]; then\n'
        '  echo "skipping database migration"\nelse\n  npx prisma migrate deploy --config=./prisma.config.ts\nfi\n'
        'node apps/web/server.js\n')})
    assert startup_migration(tmp_path) == "scripts/docker-start.sh:7"


@pytest.mark.parametrize("command", [
    "prisma migrate dev && next start",  # a developer's migration, written as it runs
    "prisma migrate deploy && node scripts/seed.js",  # a one-off job: no server after it
    "goose create add_index sql && exec app",
    "npm run migrate && npm start",  # what the package's script runs is not read
])
def test_a_command_that_does_not_apply_the_migrations_before_a_server_is_no_start_migration(tmp_path, command):
    write_files(tmp_path, {"docker-compose.yml": f'services:\n  web:\n    command: sh -c "{command}"\n'})
    assert startup_migration(tmp_path) is None
