"""Build the ORM oracle of each corpus project: what SQLAlchemy's MetaData holds once every model
module of the project is imported, in its own venv, written to `<project>.orm.json` beside this
script in the schema JSON contract's shape (`layers.orm`), plus an `oracle` key saying how.

    python tests/corpus/oracles/build_orm_oracle.py [PROJECT ...]

Run by a developer (it imports the projects' code and installs their requirements; CI reads the
checked-in JSON only). Output is deterministic: rerunning it rewrites the same files.
Exits non-zero when a model module fails to import.
"""

from __future__ import annotations

import shutil
import sys

from project_envs import HERE, REQUIREMENTS, run_inside, scratch_copy


def build(name: str) -> int:
    scratch = scratch_copy(name)
    try:
        out = HERE / f"{name}.orm.json"
        completed = run_inside(name, "orm", name, str(scratch), str(out))
        print(f"{name}: {out.relative_to(HERE.parents[2])} (exit {completed.returncode})")
        return completed.returncode
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)


def main(argv: list[str]) -> int:
    names = argv or list(REQUIREMENTS)
    return max(build(name) for name in names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
