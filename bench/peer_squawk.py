"""SchemaLens against squawk's own rule tests, with squawk itself run beside it.

Every test case of squawk's rule modules (read from a snapshot of its repository by
bench/squawk_tests.py; nothing is copied into this repository) becomes a small workspace: a SQL
migration folder whose first migration creates the tables the case's SQL uses and does not
create itself (so that the case runs "on an existing table", as squawk assumes), and whose
second migration is the case's SQL, with the case's settings as SchemaLens settings
(`postgres_version`, and the folder's transaction behaviour for `assume_in_transaction`).

SchemaLens's rules name the squawk rules they cover (`Rule.peers`). Per squawk rule the
benchmark prints:

- should-flag: cases squawk's tests expect it to flag, and how many of them SchemaLens flags
  with a rule covering the same squawk rule on every statement squawk flags (squawk's own
  verdict and statements come from running squawk, `squawk-cli` from PyPI, on the same file);
- ok: cases squawk's tests expect it not to flag, and how many of them SchemaLens flags (on a
  statement squawk itself does not flag under another squawk rule that the same SchemaLens rule
  covers: the ok case of one squawk rule can be the should-flag case of another);
- squawk agreement: cases where squawk (the installed version) disagrees with its tests.

Every remaining difference is listed with its case, and is explained in the covering rule's
docs. It is a benchmark, not a test: it exits 0.

    python bench/peer_squawk.py [--squawk-repo /work/.mirror/sbdchd+squawk/repo] [--rule NAME]
                                [--differences] [--json FILE] [--no-squawk]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pglast
from pglast import ast, enums

sys.path.insert(0, str(Path(__file__).resolve().parent))

import squawk_tests  # noqa: E402

from schemalens.analyzers.audit import run_audit  # noqa: E402
from schemalens.analyzers.extract.sql_files import _statement_spans  # noqa: E402
from schemalens.analyzers.rules import all_rules  # noqa: E402
from schemalens.analyzers.rules.base import ALSO  # noqa: E402
from schemalens.analyzers.workspace.index import WorkspaceIndex  # noqa: E402

DEFAULT_REPO = Path("/work/.mirror/sbdchd+squawk/repo")
FOLDER = "db"
CASE_FILE = f"{FOLDER}/V2__case.sql"
# squawk's deprecated alias: a case of it is flagged when either rule it expands to is.
ALIASES = {"require-timeout-settings": ("require-lock-timeout", "require-statement-timeout")}


# the workspace of a case

def _names(nodes) -> list[str]:
    return [node.sval for node in nodes or () if isinstance(node, ast.String)]


def _parsed_statements(sql: str) -> list:
    try:
        return [raw.stmt for raw in pglast.parse_sql(sql)]
    except pglast.parser.ParseError:
        statements = []
        for start, end in _statement_spans(sql):
            try:
                statements += [raw.stmt for raw in pglast.parse_sql(sql[start:end])]
            except pglast.parser.ParseError:
                continue
        return statements


_NOT_TABLES = {  # (node type, attribute) whose RangeVar names something other than a table
    ("ViewStmt", "view"), ("IntoClause", "rel"), ("CreateSeqStmt", "sequence"), ("AlterSeqStmt", "sequence"),
    ("RefreshMatViewStmt", "relation"), ("CreateStmt", "relation"),
}


Key = tuple  # (schema or None, table)


def existing_tables(sql: str) -> dict[Key, list[str]]:
    """The tables the SQL uses but does not create, in first-use order, each with the columns
    the SQL names on it (altered, dropped, renamed, indexed, constrained, referenced, assigned)
    and does not add itself."""
    used: dict[Key, list[str]] = {}
    created: set[Key] = set()
    added: set[tuple[Key, str]] = set()

    def key_of(relation) -> Key:
        return (relation.schemaname, relation.relname)

    def column(table: Optional[Key], name) -> None:
        if table is not None and isinstance(name, str) and name:
            used.setdefault(table, [])
            if name not in used[table]:
                used[table].append(name)

    def visit(node, parent=None, attribute=None, table: Optional[Key] = None):
        if isinstance(node, ast.RangeVar):
            key = key_of(node)
            if (type(parent).__name__, attribute) in _NOT_TABLES:
                created.add(key)
            elif not (isinstance(parent, ast.AlterTableStmt) and parent.objtype != enums.ObjectType.OBJECT_TABLE) \
                    and not (isinstance(parent, ast.RenameStmt) and parent.renameType not in (
                        enums.ObjectType.OBJECT_TABLE, enums.ObjectType.OBJECT_COLUMN, enums.ObjectType.OBJECT_TABCONSTRAINT)):
                used.setdefault(key, [])
            return
        if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
            for names in node.objects or ():
                names = _names(names)
                if names:
                    used.setdefault((names[-2] if len(names) > 1 else None, names[-1]), [])
            return
        relation = getattr(node, "relation", None)
        if isinstance(relation, ast.RangeVar):
            table = key_of(relation)
        if isinstance(node, ast.AlterTableCmd):
            if node.subtype == enums.AlterTableType.AT_AddColumn and isinstance(node.def_, ast.ColumnDef):
                added.add((table, node.def_.colname))
            elif node.subtype != enums.AlterTableType.AT_AddColumn:
                column(table, node.name if node.subtype not in (enums.AlterTableType.AT_DropConstraint,
                                                                enums.AlterTableType.AT_ValidateConstraint) else None)
        elif isinstance(node, ast.RenameStmt) and node.renameType == enums.ObjectType.OBJECT_COLUMN:
            column(table, node.subname)
        elif isinstance(node, ast.IndexElem):
            column(table, node.name)
        elif isinstance(node, ast.Constraint):
            for name in _names(node.keys) + _names(node.fk_attrs):
                column(table, name)
            if node.pktable is not None:
                for name in _names(node.pk_attrs):
                    column(key_of(node.pktable), name)
        elif isinstance(node, ast.ResTarget) and isinstance(parent, (ast.UpdateStmt, ast.InsertStmt)):
            column(table, node.name)
        if isinstance(node, ast.Node):
            for name in node:
                visit(getattr(node, name), node, name, table)
        elif isinstance(node, tuple):
            for item in node:
                visit(item, parent, attribute, table)

    for statement in _parsed_statements(sql):
        visit(statement)
    return {key: [c for c in columns if (key, c) not in added] for key, columns in used.items()
            if key not in created and key[1]}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# The type of the columns the base migration creates: a domain nothing knows the storage of, so
# that a type change from it is as unknown to SchemaLens as it is to squawk.
EXISTING_TYPE = "existing_type"


def not_null_columns(sql: str) -> set[tuple[Key, str]]:
    """Columns the SQL drops NOT NULL from: the case assumes they are NOT NULL before it."""
    found = set()
    for statement in _parsed_statements(sql):
        if isinstance(statement, ast.AlterTableStmt) and isinstance(statement.relation, ast.RangeVar):
            key = (statement.relation.schemaname, statement.relation.relname)
            found |= {(key, cmd.name) for cmd in statement.cmds or ()
                      if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == enums.AlterTableType.AT_DropNotNull}
    return found


def base_migration(sql: str) -> str:
    tables = existing_tables(sql)
    not_null = not_null_columns(sql)
    schemas = sorted({schema for schema, _ in tables if schema and schema != "public"})
    lines = [f"CREATE DOMAIN {EXISTING_TYPE} AS text;"] + [f"CREATE SCHEMA {_quoted(schema)};" for schema in schemas]
    for (schema, table), columns in tables.items():
        listed = ", ".join(f"{_quoted(name)} {EXISTING_TYPE}{' NOT NULL' if ((schema, table), name) in not_null else ''}"
                           for name in columns)
        lines.append(f"CREATE TABLE {_quoted(schema) + '.' if schema else ''}{_quoted(table)} ({listed});")
    return "\n".join(lines) + "\n"


def write_workspace(root: Path, case: squawk_tests.SquawkCase, codes: list[str]) -> None:
    (root / FOLDER).mkdir(parents=True)
    (root / FOLDER / "V1__existing.sql").write_text(base_migration(case.sql), encoding="utf-8")
    (root / CASE_FILE).write_text(case.sql, encoding="utf-8")
    transactions = "per-file" if case.assume_in_transaction else "none"
    (root / "pyproject.toml").write_text(
        "[tool.schemalens]\n"
        f"postgres_version = {case.pg_version}\n"
        f"select = {json.dumps(codes)}\n"
        f'sql_transactions = {{ "{FOLDER}" = "{transactions}" }}\n', encoding="utf-8")


# statements

def statement_lines(sql: str) -> list[tuple[int, int]]:
    """(first line, last line), 1-based, of every statement in the SQL."""
    starts = [0] + [index + 1 for index, char in enumerate(sql) if char == "\n"]

    def line(offset: int) -> int:
        return sum(1 for start in starts if start <= offset)

    return [(line(start), line(max(start, end - 1))) for start, end in _statement_spans(sql)]


def statement_of(lines: list[tuple[int, int]], line: int) -> int:
    for index, (first, last) in enumerate(lines):
        if first <= line <= last:
            return index
    return -1


# running both tools

@dataclass
class Outcome:
    case: squawk_tests.SquawkCase
    schemalens: set[int] = field(default_factory=set)  # statements flagged by a covering rule
    schemalens_rules: set[str] = field(default_factory=set)
    by_statement: dict[int, set[str]] = field(default_factory=dict)  # statement -> covering codes that flag it
    squawk: Optional[set[int]] = None  # statements squawk flags for the case's rule (None: not run)
    squawk_all: dict[int, set[str]] = field(default_factory=dict)  # statement -> every squawk rule flagging it
    errors: list[str] = field(default_factory=list)

    def false_flags(self, peers_of: dict[str, set[str]]) -> set[int]:
        """Statements of an ok case that SchemaLens flags and squawk does not flag under any squawk
        rule the same SchemaLens rule covers (an ok case of one squawk rule may be another's
        should-flag: `ADD ... NOT VALID; VALIDATE` in one transaction)."""
        return {statement for statement, codes in self.by_statement.items()
                if not any(peers_of.get(code, set()) & self.squawk_all.get(statement, set()) for code in codes)}

    @property
    def squawk_agrees(self) -> Optional[bool]:
        if self.squawk is None:
            return None
        return bool(self.squawk) == (self.case.expect == "flag")

    @property
    def schemalens_flags(self) -> bool:
        return bool(self.schemalens)

    @property
    def same_risk(self) -> bool:
        """SchemaLens flags every statement squawk flags (any statement when squawk was not run
        or does not flag the case its test expects it to)."""
        if not self.schemalens:
            return False
        return not self.squawk or self.squawk <= self.schemalens


def covering_rules() -> dict[str, list[str]]:
    """squawk rule -> the SchemaLens rule codes whose `peers` name it."""
    covering: dict[str, list[str]] = defaultdict(list)
    for rule in all_rules():
        for peer in getattr(rule, "peers", ()):
            tool, _, name = peer.partition(":")
            if tool == "squawk":
                covering[name].append(rule.code)
    return covering


def run_schemalens(case: squawk_tests.SquawkCase, codes: list[str], all_codes: list[str]) -> Outcome:
    outcome = Outcome(case)
    lines = statement_lines(case.sql)
    with tempfile.TemporaryDirectory(prefix="schemalens-squawk-") as folder:
        root = Path(folder)
        write_workspace(root, case, all_codes)
        model = WorkspaceIndex(root).index_all()
        result = run_audit(model)
        outcome.errors = [f"{e.location.line}: {e.message}" for e in model.errors
                          if e.location.path == CASE_FILE and "would reject" in e.message]
        outcome.errors += [e.message for e in result.errors]
        for finding in result.findings:
            if finding.rule not in codes:
                continue
            # A grouped finding (one per problem) names its other places as `also:` related locations.
            places = [finding.location] + [r.location for r in finding.related if r.label.startswith(ALSO)]
            for place in places:
                if place.path == CASE_FILE:
                    statement = statement_of(lines, place.line)
                    outcome.schemalens.add(statement)
                    outcome.schemalens_rules.add(finding.rule)
                    outcome.by_statement.setdefault(statement, set()).add(finding.rule)
    return outcome


def run_squawk(binary: str, case: squawk_tests.SquawkCase, opt_in: list[str]) -> tuple[set[int], dict[int, set[str]]]:
    lines = statement_lines(case.sql)
    with tempfile.TemporaryDirectory(prefix="squawk-case-") as folder:
        path = Path(folder) / "case.sql"
        path.write_text(case.sql, encoding="utf-8")
        command = [binary, "--reporter", "json", f"--pg-version={case.pg_version}", f"--include={','.join(opt_in)}", str(path)]
        if case.assume_in_transaction:
            command.insert(1, "--assume-in-transaction")
        completed = subprocess.run(command, capture_output=True, text=True)
    try:
        violations = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        return set(), {}
    wanted = ALIASES.get(case.rule, (case.rule,))
    every: dict[int, set[str]] = {}
    for violation in violations:
        every.setdefault(statement_of(lines, violation["line"] + 1), set()).add(violation["rule_name"])
    return {statement for statement, rules in every.items() if rules & set(wanted)}, every


# squawk's opt-in rules, so that its verdict on every statement is known (the case's own rule is
# on in any case: its tests enable it).
SQUAWK_OPT_IN = ("require-table-schema", "ban-drop-trigger", "ban-drop-index", "ban-drop-policy", "ban-set-default",
                 "ban-alter-generated-expression", "ban-disable-trigger", "ban-replica-identity", "ban-revoke",
                 "ban-replace-view-function", "ban-alter-policy-condition", "ban-alter-policy-roles", "ban-create-policy",
                 "ban-alter-function-options", "ban-alter-view-options", "ban-alter-role-options",
                 "ban-alter-database-options", "ban-alter-row-level-security", "ban-new-write-restriction",
                 "ban-add-enum-value", "ban-add-composite-attribute", "ban-add-column", "ban-detach-inheritance",
                 "ban-alter-sequence-values", "ban-alter-system-options", "ban-alter-extension")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squawk-repo", type=Path, default=DEFAULT_REPO,
                        help="git directory of a squawk snapshot (the `fetch` tool's github:sbdchd/squawk)")
    parser.add_argument("--rule", action="append", help="only these squawk rules")
    parser.add_argument("--differences", action="store_true", help="list every case where the tools differ")
    parser.add_argument("--no-squawk", action="store_true", help="do not run squawk itself")
    parser.add_argument("--json", type=Path, help="write the per-case results here")
    arguments = parser.parse_args(argv)

    if not (arguments.squawk_repo / "HEAD").exists():
        print(f"no squawk snapshot at {arguments.squawk_repo}: fetch github:sbdchd/squawk first")
        return 0
    cases, unread, commit = squawk_tests.cases(arguments.squawk_repo)
    if arguments.rule:
        cases = [case for case in cases if case.rule in arguments.rule]
    binary = None if arguments.no_squawk else shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if binary and not Path(binary).exists():
        binary = None
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip() if binary else "not run"
    covering = covering_rules()
    peers_of = {rule.code: {p.partition(":")[2] for p in rule.peers if p.startswith("squawk:")} for rule in all_rules()}
    all_codes = [rule.code for rule in all_rules()]

    outcomes: list[Outcome] = []
    for case in cases:
        codes = sorted({code for name in (case.rule, *ALIASES.get(case.rule, ())) for code in covering.get(name, ())})
        outcome = run_schemalens(case, codes, all_codes)
        if binary:
            outcome.squawk, outcome.squawk_all = run_squawk(binary, case, list(SQUAWK_OPT_IN))
        outcomes.append(outcome)

    print(f"squawk tests at {commit[:12]} ({len(cases)} cases, {len(unread)} calls not read); squawk run: {version}\n")
    print("| squawk rule | SchemaLens | should-flag flagged | ok flagged | squawk disagrees with its test |")
    print("|---|---|---|---|---|")
    totals = defaultdict(int)
    by_rule: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_rule[outcome.case.rule].append(outcome)
    for rule, group in sorted(by_rule.items()):
        flag = [o for o in group if o.case.expect == "flag"]
        ok = [o for o in group if o.case.expect == "ok"]
        hit = sum(1 for o in flag if o.same_risk)
        false = sum(1 for o in ok if o.false_flags(peers_of))
        disagree = sum(1 for o in group if o.squawk_agrees is False)
        codes = ", ".join(covering.get(rule, ())) or "-"
        totals["flag"] += len(flag)
        totals["hit"] += hit
        totals["ok"] += len(ok)
        totals["false"] += false
        totals["disagree"] += disagree
        print(f"| {rule} | {codes} | {hit}/{len(flag)} | {false}/{len(ok)} | {disagree} |")
    recall = totals["hit"] / totals["flag"] if totals["flag"] else 0
    false_rate = totals["false"] / totals["ok"] if totals["ok"] else 0
    print(f"| **all** | | **{totals['hit']}/{totals['flag']} ({recall:.0%})** | "
          f"**{totals['false']}/{totals['ok']} ({false_rate:.0%})** | {totals['disagree']} |")

    if arguments.differences:
        print("\nDifferences:")
        for outcome in outcomes:
            case = outcome.case
            missed = case.expect == "flag" and not outcome.same_risk
            extra = case.expect == "ok" and bool(outcome.false_flags(peers_of))
            if missed or extra or outcome.squawk_agrees is False:
                what = "missed" if missed else "flagged an ok case" if extra else "squawk disagrees with its test"
                print(f"- {case.name} [{case.expect}, pg {case.pg_version}"
                      f"{', in transaction' if case.assume_in_transaction else ''}]: {what}; SchemaLens "
                      f"{sorted(outcome.schemalens_rules) or '-'} on statements {sorted(outcome.schemalens)}, squawk on "
                      f"{sorted(outcome.squawk) if outcome.squawk is not None else '-'}"
                      + (f"; errors: {outcome.errors}" if outcome.errors else ""))
                print("    " + " ".join(case.sql.split())[:300])
    if arguments.json:
        arguments.json.write_text(json.dumps([{
            "case": o.case.name, "rule": o.case.rule, "expect": o.case.expect, "pg_version": o.case.pg_version,
            "assume_in_transaction": o.case.assume_in_transaction, "schemalens": sorted(o.schemalens),
            "schemalens_rules": sorted(o.schemalens_rules), "squawk": sorted(o.squawk) if o.squawk is not None else None,
            "errors": o.errors} for o in outcomes], indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
