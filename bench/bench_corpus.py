"""Speed on the real projects of the corpus (../shared/corpus): for each project, each in its own
subprocess so that memory and imports are per measurement,

- cold `schemalens audit` work: index with an empty parse cache, then the audit;
- warm: the same with the parse cache filled by the cold run (a second `schemalens audit`), which
  takes back the query flow's answers the cold run kept (flow_answers.py);
- warm with a Python file changed (a comment added to the application file with the most
  queries, in memory): the flow's answers are composed again, as after any change to the code;
- an edit: a column added to the model class with the most columns, then `update_file` and the
  audit (what the language server does on a didChange, without the LSP round trip, the outcomes
  of the rules that read no code kept between audits as the server keeps them, and the garbage
  collector off during each and the objects it left frozen after it, as server/garbage.py does),
  p50 and max over `--edits` edits, the file read first as the server reads a file an editor
  opens; the same for an edit of the newest revision (p50), and for a statement added to a
  function of the application file with the most queries (p50). Each edit
  writes its own line in place of the last one's: after the first, an edit changes one line, as
  typing does (bench_lsp.py's edits add lines, which move the statements below them);

printed with CPU seconds beside wall time (a loaded machine inflates wall time) and peak RSS,
against the targets of the performance issue (cold <= 10 s, warm <= 1.5 s, edit p95 <= 100 ms).
A benchmark, not a test: it always exits 0.

`--folder PATH` measures another project's folder the same way (read only: the edits are made in
memory), instead of the corpus projects unless `--project` names some too.

    python bench/bench_corpus.py [--project NAME ...] [--folder PATH ...] [--edits 15]
"""

from __future__ import annotations

import argparse
import ast
import functools
import gc
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

import corpus_projects  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return sum(u.ru_utime + u.ru_stime for u in usage)


_DECLARATION = re.compile(r"^(\s+)(\w+)(\s*(?::[^=]+)?=\s*\S*[Cc]olumn\(.*\))\s*$")


def _line(root: Path, path: str, number: int) -> str:
    lines = (root / path).read_text(encoding="utf-8").splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _code_edit_place(root: Path, model) -> Optional[tuple[str, int, str]]:
    """(path, line, indentation) of a `return` statement of a function in the application file
    with the most queries that declares no table: where a statement is added."""
    from schemalens.analyzers.extract.python_source import parse_python  # newer syntax than this Python's too

    declaring = {table.location.path for table in model.orm.tables.values()}
    files = sorted(((len(facts.queries), path) for path, facts in model.code.items()
                    if model.files.get(path) == "python" and path not in declaring and facts.queries), reverse=True)
    for _, path in files:
        source, _ = parse_python((root / path).read_text(encoding="utf-8"), path)
        lines = source.lines if source is not None else ()
        for node in ast.walk(source.tree) if source is not None else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for statement in node.body:
                    indentation = lines[statement.lineno - 1][:statement.col_offset]
                    if isinstance(statement, ast.Return) and not indentation.strip():
                        return path, statement.lineno, indentation
    return None


def _edit_seconds(index, run_audit, path: str, text: str) -> float:
    """The seconds of one edit as the language server makes it: the file updated and the audit
    run, the garbage collector off meanwhile and what they left frozen after (server/garbage.py)."""
    gc.disable()
    start = time.perf_counter()
    run_audit(index.update_file(path, text), text_of=index._read)  # as the language server reads
    seconds = time.perf_counter() - start
    gc.freeze()
    gc.enable()
    return seconds


def _opened(index, path: str) -> None:
    """What the language server does when an editor opens `path` (builds older than
    prepare_file_for_edits: nothing), before the user types in it."""
    if hasattr(index, "prepare_file_for_edits"):
        index.prepare_file_for_edits(path)


def _measure(root: Path, cache: Path, edits: int, python_changed: bool = False) -> dict:
    from schemalens.analyzers import audit
    from schemalens.analyzers.workspace.index import WorkspaceIndex
    try:
        from schemalens.analyzers.flow_answers import keep as keep_flow_answers
    except ImportError:  # builds older than flow_answers keep nothing
        keep_flow_answers = None

    # as the language server audits edits (builds older than KeptRules audit without)
    run_audit = functools.partial(audit.run_audit, kept=audit.KeptRules()) if hasattr(audit, "KeptRules") \
        else audit.run_audit

    wall, cpu = time.perf_counter(), _cpu()
    index = WorkspaceIndex(root, cache_dir=cache)
    model = index.index_all()
    if python_changed and (place := _code_edit_place(root, model)) is not None:
        path = place[0]
        model = index.update_file(path, (root / path).read_text(encoding="utf-8") + "\n# bench: changed\n")
    # as `schemalens audit` reads the files: the texts the index read (builds older than text_of: the disk)
    findings = len(run_audit(model, text_of=getattr(index, "text_of", None)).findings)
    if keep_flow_answers is not None and not python_changed:
        keep_flow_answers(model)  # as `schemalens audit` does
    result = {"seconds": time.perf_counter() - wall, "cpu": _cpu() - cpu, "findings": findings}
    if edits:
        if hasattr(index, "prepare_for_edits"):  # as the language server does once it has indexed
            index.prepare_for_edits()
        # A copy of a one-line column declaration of the widest model, under a new name (none: a
        # project whose models declare no column on one line, such as SQLModel's `Field`s).
        copied_column = next(
            ((t, c.location.line, match) for t in sorted(model.orm.tables.values(), key=lambda t: -len(t.columns))
             for c in t.columns if c.location.path == t.location.path
             for match in [_DECLARATION.match(_line(root, c.location.path, c.location.line))] if match), None)
        if copied_column is not None:
            table, line, declaration = copied_column
            path = table.location.path
            lines = (root / path).read_text(encoding="utf-8").splitlines(keepends=True)
            _opened(index, path)
            timings = []
            for number in range(edits):
                copied = f"{declaration.group(1)}bench_extra_{number}{declaration.group(3)}\n"
                added = lines[:line] + [copied] + lines[line:]
                timings.append(_edit_seconds(index, run_audit, path, "".join(added)))
            result.update(edit_p50=statistics.median(timings), edit_max=max(timings), edited=f"{path}:{line + 1}")
        revisions = sorted(path for path in model.revision_files)
        if revisions:  # the newest revision by path, edited with a comment line: replayed again, code unchanged
            revision = revisions[-1]
            text = (root / revision).read_text(encoding="utf-8")
            timings = []
            for number in range(edits):
                timings.append(_edit_seconds(index, run_audit, revision, f"# bench edit {number}\n" + text))
            result.update(revision_p50=statistics.median(timings))
        place = _code_edit_place(root, model)
        if place is not None:
            path, line, indentation = place
            lines = (root / path).read_text(encoding="utf-8").splitlines(keepends=True)
            _opened(index, path)
            timings = []
            for number in range(edits):
                added = lines[:line - 1] + [f"{indentation}_bench_{number} = {number}\n"] + lines[line - 1:]
                timings.append(_edit_seconds(index, run_audit, path, "".join(added)))
            result.update(code_p50=statistics.median(timings), code_edited=f"{path}:{line}")
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _run(project: str, cache: Path, edits: int, python_changed: bool = False) -> dict:
    """`project`: a corpus project's name, or a folder."""
    completed = subprocess.run([sys.executable, __file__, "--measure", project, "--cache", str(cache), "--edits", str(edits),
                                *(["--python-changed"] if python_changed else [])],
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"}
    return json.loads(completed.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", action="append", choices=corpus_projects.PROJECTS)
    parser.add_argument("--folder", action="append", type=Path, default=[], help="another project's folder")
    parser.add_argument("--edits", type=int, default=15)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--python-changed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        root = corpus_projects.unpacked(args.measure) if args.measure in corpus_projects.PROJECTS else Path(args.measure)
        print(json.dumps(_measure(root, args.cache, args.edits, args.python_changed)))
        return 0
    measured = [(project, project) for project in args.project or (() if args.folder else corpus_projects.PROJECTS)]
    measured += [(folder.resolve().name, str(folder.resolve())) for folder in args.folder]
    if not args.folder and not corpus_projects.available():
        print("corpus not found: nothing measured")
        return 0
    print(f"{'project':10} {'cold s (cpu)':>16} {'warm s (cpu)':>16} {'.py changed s':>13} {'model edit p50/max ms':>22} "
          f"{'revision edit ms':>17} {'code edit ms':>13} {'rss MB':>7} findings")
    for project, measure in measured:
        with tempfile.TemporaryDirectory() as cache:
            cold = _run(measure, Path(cache), 0)
            warm = _run(measure, Path(cache), args.edits)
            changed = _run(measure, Path(cache), 0, python_changed=True)
        if "error" in cold or "error" in warm or "error" in changed:
            print(f"{project:10} could not run: {cold.get('error') or warm.get('error') or changed.get('error')}")
            continue
        model_edit = f"{warm['edit_p50'] * 1000:13.0f}/{warm['edit_max'] * 1000:<8.0f}" if "edit_p50" in warm else f"{'-':>22}"
        print(f"{project:10} {cold['seconds']:7.2f} ({cold['cpu']:6.2f}) {warm['seconds']:7.2f} ({warm['cpu']:6.2f}) "
              f"{changed['seconds']:13.2f} {model_edit} {warm.get('revision_p50', 0) * 1000:17.0f} "
              f"{warm.get('code_p50', 0) * 1000:13.0f} {warm['rss_mb']:7.0f} {warm['findings']}")
    print("targets: cold <= 10 s, warm <= 1.5 s, edit (didChange to diagnostics) p95 <= 100 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
