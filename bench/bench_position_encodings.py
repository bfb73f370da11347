"""How many diagnostics land at the wrong column for a UTF-8 client (Neovim), before and after
`server/positions.py`: the measurement behind issue 20's first item.

For the bundled example and every corpus project (`../shared/corpus/`), as they are and again
written the way the projects that reported it are (every one-line column with a Chinese
`comment="..."` and a Chinese comment after it), the audit's findings become diagnostics twice:
- before: columns in code points, as the server sent them while announcing UTF-8;
- after: through `Positions` in UTF-8, the server's code path.
Each is compared with an oracle that encodes the line with Python's UTF-8 codec. Prints, per
workspace, the diagnostics and how many have a wrong start or end. A benchmark, not a test: it
always exits 0.

    python bench/bench_position_encodings.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402  (a test helper shared with the benchmarks)

from schemalens.analyzers.audit import run_audit  # noqa: E402
from schemalens.analyzers.extract.python_source import split_lines  # noqa: E402
from schemalens.analyzers.workspace.index import WorkspaceIndex  # noqa: E402
from schemalens.server.positions import Positions  # noqa: E402

COMMENT = "  # 中文说明：字段含义"
COLUMN_COMMENT = ', comment="订单状态（中文）"'


def _oracle(lines: list[str], line: int, column: int) -> tuple[int, int]:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return line - 1, len(text[: max(column - 1, 0)].encode("utf-8"))


def _expected(lines: list[str], location) -> tuple[tuple[int, int], tuple[int, int]]:
    start = _oracle(lines, location.line, location.column)
    if location.end_line is not None and location.end_column is not None:
        return start, _oracle(lines, location.end_line, location.end_column)
    text = lines[location.line - 1] if 0 < location.line <= len(lines) else ""
    return start, (location.line - 1, len(text.encode("utf-8")))


def _before(lines: list[str], location) -> tuple[tuple[int, int], tuple[int, int]]:
    """The server's columns before: code points (the old `to_range`)."""
    start = (max(location.line - 1, 0), max(location.column - 1, 0))
    if location.end_line is not None and location.end_column is not None:
        return start, (location.end_line - 1, location.end_column - 1)
    text = lines[location.line - 1] if 0 < location.line <= len(lines) else ""
    return start, (start[0], max(len(text), start[1]))


def measure(root: Path) -> tuple[int, int, int]:
    index = WorkspaceIndex(root)
    model = index.index_all()
    findings = run_audit(model, text_of=index._read).findings
    positions = Positions("utf-8", index._read)
    texts: dict[str, list[str]] = {}
    wrong_before = wrong_after = 0
    for finding in findings:
        location = finding.location
        if location.path not in texts:
            texts[location.path] = split_lines(index._read(location.path) or "")
        lines = texts[location.path]
        expected = _expected(lines, location)
        after = positions.range(location)
        wrong_before += _before(lines, location) != expected
        wrong_after += ((after.start.line, after.start.character), (after.end.line, after.end.character)) != expected
    return len(findings), wrong_before, wrong_after


def _copy(source: Path, target: Path, chinese: bool) -> None:
    shutil.copytree(source, target, symlinks=True)
    if not chinese:
        return
    for path in target.rglob("*.py"):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "Column(" in text:
            path.write_text("\n".join(_chinese(line) for line in text.split("\n")), encoding="utf-8")


def _chinese(line: str) -> str:
    """`x = db.Column(db.Text)` -> `x = db.Column(db.Text, comment="...")  # ...` for a one-line column."""
    code = line.rstrip()
    if line.count("Column(") != 1 or "#" in line or "comment=" in line or not code.endswith((")", "),")):
        return line
    if code.count("(") != code.count(")"):
        return line
    close = code.rindex(")")
    return code[:close] + COLUMN_COMMENT + code[close:] + COMMENT


def main() -> None:
    workspaces = [("example shop", REPOSITORY / "examples" / "shop")]
    workspaces += [(name, corpus_projects.unpacked(name)) for name in corpus_projects.PROJECTS]
    print(f"{'workspace':38} {'diagnostics':>11} {'wrong before':>12} {'wrong after':>11}")
    with tempfile.TemporaryDirectory() as scratch:
        for name, root in workspaces:
            if root is None or not root.is_dir():
                print(f"{name:38} (not available)")
                continue
            for variant, chinese in ((name, False), (f"{name}, Chinese comments", True)):
                folder = Path(scratch) / variant.replace(" ", "_").replace(",", "")
                _copy(root, folder, chinese)  # both copied: outside its git repository a project's findings differ
                total, before, after = measure(folder)
                print(f"{variant:38} {total:>11} {before:>12} {after:>11}")


if __name__ == "__main__":
    main()
