"""What is kept across edits: the query flow across edits that only move code (query_flow.code_base,
code_structure), the outcomes of rules that read no code across edits of the code (audit.KeptRules):
after any sequence of edits on a real project, the findings equal those of a fresh index."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Optional

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corpus_projects
from corpus_triage import config_with_hints
from schemalens.analyzers import query_flow, query_paths
from schemalens.analyzers.audit import KeptRules, run_audit
from schemalens.analyzers.rules import all_rules
from schemalens.analyzers import code_structure
from schemalens.analyzers.code_structure import resolving_attributes, structure
from schemalens.analyzers.extract import moved_items
from schemalens.analyzers.extract.code_facts import CodeFacts, EarlierReads, facts_of
from schemalens.analyzers.extract.module_summary import summarize_module
from schemalens.analyzers.extract.python_source import parse_python
from schemalens.analyzers.extract.python_world import World
from schemalens.analyzers.workspace.code_roles import is_application_code
from schemalens.analyzers.workspace.index import WorkspaceIndex
from workspace_files import fresh_model

MODELS = "CTFd/models/__init__.py"
CHALLENGES = "CTFd/api/v1/challenges.py"
REVISION = "migrations/versions/f73a96c97449_add_logic_column_to_challenges.py"

# Each edit: (path, text to find, what replaces it; {n} is the edit's number).
EDITS = {
    # a column: every line below moves, one class attribute more (and a column queries may read), with
    # a keyword no call of the file had (the rules read it as an attribute name, the flow does not)
    "column": (MODELS, "    secret = db.Column(db.String(128))\n",
               "    secret = db.Column(db.String(128))\n    nickname = db.Column(db.Text, comment=\"draft\")  # {n}\n"),
    # lines above a module's queries
    "comment": (CHALLENGES, "", "# edit {n}\n"),
    # a comment at the end of a query's line: nothing moves, nothing the flow reads changes
    "trailing": (CHALLENGES, ".filter_by(account_id=user.account_id)\n", ".filter_by(account_id=user.account_id)  # {n}\n"),
    # a query that changes what it filters on
    "query": (CHALLENGES, ".filter_by(account_id=user.account_id)", ".filter_by(user_id=user.account_id)"),
    # a new request handler with a query on a column the migrations may not have added yet
    "function": (CHALLENGES, "", "from CTFd.models import Users\n\n\n@app.route('/by-nickname-{n}')\n"
                                 "def by_nickname_{n}(value):\n"
                                 "    return Users.query.filter_by(website=value, nickname=value).first()\n\n\n"),
    # ... which a revision adds: the table the query is resolved against changes
    "revision": (REVISION, "def upgrade():\n",
                 "def upgrade():\n    op.add_column('users', sa.Column('nickname', sa.Text()))  # {n}\n"),
    # a model method
    "method": (MODELS, "    @property\n    def solves(self):\n",
               "    def by_country_{n}(self):\n        return Users.query.filter_by(country=self.country).all()\n\n"
               "    @property\n    def solves(self):\n"),
    # an association table declared with Table(), and a column added to the first one (the flow reads neither
    # its arguments nor the words of their strings, unless a function is named so)
    "table": (MODELS, "class Users(db.Model):\n",
              "user_tags_{n} = db.Table('user_tags_{n}', db.Column('user_id', db.Integer, db.ForeignKey('users.id')))\n"
              "\n\nclass Users(db.Model):\n"),
    "table column": (MODELS, "db.ForeignKey('users.id')))\n",
                     "db.ForeignKey('users.id')), db.Column('note_{n}', db.Text), db.Column('get', db.Text))\n"),
}

pytestmark = pytest.mark.skipif(not corpus_projects.available(), reason="the corpus (../shared/corpus) is not here")


def _keys(model, kept: Optional[KeptRules] = None) -> list[tuple]:
    return [(f.rule, f.location, f.title, f.message, f.severity, tuple(r.location for r in f.related))
            for f in run_audit(model, kept=kept).findings]


@pytest.fixture(scope="module")
def ctfd_root():
    return corpus_projects.unpacked("CTFd")


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(kinds=st.lists(st.sampled_from(sorted(EDITS)), min_size=1, max_size=5))
@example(kinds=["function", "column", "revision", "comment", "method"])
@example(kinds=["table", "table column", "query", "table column"])
def test_findings_after_edits_equal_a_fresh_index(ctfd_root, kinds):
    config = config_with_hints("CTFd", ctfd_root)  # the query rules report only tables hinted big
    index = WorkspaceIndex(ctfd_root, config)
    kept = KeptRules()  # as the language server audits every edit: the outcomes of rules that read no code kept
    _keys(index.index_all(), kept)
    texts: dict[str, str] = {}
    for number, kind in enumerate(kinds):
        path, old, new = EDITS[kind]
        text = texts.get(path) or (ctfd_root / path).read_text(encoding="utf-8")
        texts[path] = text.replace(old, new.format(n=number), 1) if old else new.format(n=number) + text
        edited = _keys(index.update_file(path, texts[path]), kept)
    assert edited == _keys(fresh_model(ctfd_root, texts, config))


def test_an_edit_that_moves_code_keeps_where_functions_run(ctfd_root):
    index = WorkspaceIndex(ctfd_root)
    model = index.index_all()
    run_audit(model)
    before = query_flow.code_base(model)
    assert before.where_run and before.unreached is not None
    path, old, new = EDITS["column"]
    text = (ctfd_root / path).read_text(encoding="utf-8").replace(old, new.format(n=0), 1)
    after = query_flow.code_base(index.update_file(path, text))
    assert after is not before and after.where_run is before.where_run and after.unreached is before.unreached
    path, old, new = EDITS["query"]
    text = (ctfd_root / path).read_text(encoding="utf-8").replace(old, new, 1)
    changed = query_flow.code_base(index.update_file(path, text))
    assert changed.where_run is not after.where_run


def test_a_column_added_to_a_table_declared_with_table_keeps_where_functions_run(ctfd_root):
    index = WorkspaceIndex(ctfd_root)
    run_audit(index.index_all())
    path, old, new = EDITS["table"]
    text = (ctfd_root / path).read_text(encoding="utf-8").replace(old, new.format(n=0), 1)
    model = index.update_file(path, text)
    run_audit(model)
    before = query_flow.code_base(model)
    text = text.replace("db.ForeignKey('users.id')))\n", "db.ForeignKey('users.id')), db.Column('note', db.Text))\n", 1)
    model = index.update_file(path, text)
    after = query_flow.code_base(model)
    assert after is not before and after.where_run is before.where_run and after.unreached is before.unreached
    assert _keys(model) == _keys(fresh_model(ctfd_root, {path: text}))


@pytest.mark.parametrize("kind, composed_again", [("trailing", False), ("comment", True)])
def test_an_edit_that_moves_no_query_keeps_the_queries_composed(ctfd_root, monkeypatch, kind, composed_again):
    index = WorkspaceIndex(ctfd_root)
    model = index.index_all()
    run_audit(model)
    composed = []
    report = query_flow.CodeBase._report
    monkeypatch.setattr(query_flow.CodeBase, "_report", lambda self, *place: composed.append(place) or report(self, *place))
    path, old, new = EDITS[kind]
    text = (ctfd_root / path).read_text(encoding="utf-8")
    text = text.replace(old, new.format(n=0), 1) if old else new.format(n=0) + text
    edited = _keys(index.update_file(path, text))
    assert bool(composed) == composed_again
    monkeypatch.undo()
    assert edited == _keys(fresh_model(ctfd_root, {path: text}))


def _indexes(base: query_flow.CodeBase) -> list[list[tuple]]:
    return [list(index.items()) for index in (base.functions, base.by_qualified, base.shapes_of, base.hybrids)]


@pytest.mark.parametrize("path, old, new, patched", [
    EDITS["column"] + (True,), EDITS["query"] + (True,), EDITS["method"] + (False,), EDITS["function"] + (False,),
    (CHALLENGES, "", "def helper_{n}():\n    return 1\n\n\n", False),  # a function with no query
    (CHALLENGES, "    def get(self, challenge_id):\n",  # a query more in a function
     "    def get(self, challenge_id):\n        Challenges.query.filter_by(id=challenge_id).first()\n", False),
])
def test_an_edit_s_code_base_indexes_its_functions_as_a_fresh_one_does(ctfd_root, path, old, new, patched):
    index = WorkspaceIndex(ctfd_root)
    before = query_flow.code_base(index.index_all())
    text = (ctfd_root / path).read_text(encoding="utf-8")
    model = index.update_file(path, text.replace(old, new.format(n=0), 1) if old else new.format(n=0) + text)
    after = query_flow.code_base(model)
    fresh = query_flow.CodeBase(after.facts, after.summaries, after.application, after.mapped_classes)
    assert (after.by_qualified is before.by_qualified) == patched  # the same functions: taken, not built again
    assert _indexes(after) == _indexes(fresh)
    model = index.update_file(path, text.replace(old, new.format(n=1), 1) if old else new.format(n=1) + text)
    again = query_flow.code_base(model)
    repeated = "{n}" not in new  # the same text again: the same code base
    assert (again.__dict__.get("function_names") is after.function_names) == (patched or repeated)  # with their names
    assert again.function_names == query_flow.CodeBase(again.facts, again.summaries, again.application).function_names


def _world(world: World) -> list[list[tuple]]:
    return [list(names.items()) for names in (world.aliases, world.stars, world.classes, world.class_module,
                                              world.assignments, world.assignment_module, world.functions)]


@pytest.mark.parametrize("path, old, new, patched", [
    EDITS["column"] + (True,), EDITS["function"] + (False,), EDITS["method"] + (True,),
    (MODELS, "", "from CTFd.utils import get_config\n", False),  # a name more: built again
])
def test_an_edit_s_worlds_name_what_fresh_ones_do(ctfd_root, monkeypatch, path, old, new, patched):
    index = WorkspaceIndex(ctfd_root)
    query_flow.code_base(index.index_all())
    built = []
    made = World.__init__

    def counted(self, summaries):
        summaries = list(summaries)
        built.append(len(summaries))
        made(self, summaries)

    monkeypatch.setattr(World, "__init__", counted)
    text = (ctfd_root / path).read_text(encoding="utf-8")
    model = index.update_file(path, text.replace(old, new.format(n=0), 1) if old else new.format(n=0) + text)
    base = query_flow.code_base(model)
    orm_world = index._kept_mappings.world
    assert (not any(built)) == patched  # patched worlds start empty, then take the last ones' names
    assert _world(base.world) == _world(World(base.summaries.values()))
    assert _world(orm_world) == _world(World(orm_world.summaries))


def test_a_moved_file_reads_the_same_and_a_binding_attribute_does_not():
    models = ("from app.repositories import OrderRepository\n\n\nclass Order(Base):\n"
              "    id = Column(Integer, primary_key=True)\n\n\nclass OrderService:\n    repository = OrderRepository()\n")
    moved = "# a comment\n" + models.replace("primary_key=True)\n", "primary_key=True)\n    note = Column(Text)\n")
    shadowing = models.replace("primary_key=True)\n", "primary_key=True)\n    repository = Column(Text)\n")
    repositories = summarize_module("class OrderRepository:\n    pass\n", "app/repositories.py", "app.repositories")
    summaries = [summarize_module(text, "app/models.py", "app.models") for text in (models, moved, shadowing)]
    resolving = resolving_attributes(World([repositories, summaries[0]]))
    assert resolving == {"repository"}
    first, second, third = (structure(None, summary, resolving, frozenset()) for summary in summaries)
    assert first == second != third
    # each class's bytes are kept once written: for the names it was read for, and not for its id
    assert structure(None, summaries[2], frozenset(), frozenset()) == structure(None, summaries[0], frozenset(), frozenset())
    assert structure(None, copy.deepcopy(summaries[2]), resolving, frozenset()) == third


TAGS = ("from sqlalchemy import Column, Integer, Table, Text\nfrom app.db import metadata\n\n"
        "order_tags = Table('order_tags', metadata, Column('order_id', Integer))\n")


def test_a_table_s_columns_and_words_naming_no_function_are_not_read_by_the_flow():
    """A column added to a `Table(...)` changes neither what the module-level name is (a call of
    Table) nor a name some function has; a string naming a function, or another callee, does."""
    def read(text: str, named: frozenset[str] = frozenset({"archive"})) -> bytes:
        source, _ = parse_python(text, "app/models.py")
        return structure(facts_of(source), summarize_module(text, "app/models.py", "app.models"), frozenset(), named)

    tags = read(TAGS)
    assert read(TAGS.replace("Integer))", "Integer), Column('note', Text))")) == tags
    assert read(TAGS.replace("Integer))", "Integer), Column('archive', Text))")) != tags
    assert read(TAGS.replace("Integer))", "Integer), Column('archive', Text))"), frozenset()) == read(TAGS, frozenset())
    assert read(TAGS.replace("= Table(", "= TagTable(")) != tags


BY_STATE = ("from app.models import Order, session\n\nLIMIT = 10\n\n\ndef by_state(state):\n"
            "    query = session.query(Order)\n    if state == 'open':\n        query = query.filter(Order.closed_at.is_(None))\n"
            "    else:\n        query = query.filter(Order.archived == True)\n    return query.all()\n")


def test_a_function_an_edit_moved_reads_the_same_without_being_written_again(monkeypatch):
    kept = EarlierReads()
    before, after = (facts_of(parse_python(text, "app/services.py")[0], kept=kept)
                     for text in (BY_STATE, BY_STATE.replace("LIMIT = 10\n", "LIMIT = 10\nPAGE = 20\n")))
    assert after.queries[0].location.line == before.queries[0].location.line + 1
    first = structure(before, None, frozenset(), frozenset())
    written = []
    pickled = code_structure._pickled
    monkeypatch.setattr(code_structure, "_pickled", lambda value, reducers: written.append(value) or pickled(value, reducers))
    assert structure(after, None, frozenset(), frozenset()) == first
    assert written == [(after, None)]  # each of its items as the one it was moved from wrote it
    monkeypatch.undo()
    # and written afresh, a moved item writes what its original did: the `if` of its arms is a place too
    code_structure._WRITTEN.clear()
    assert code_structure._structure(after, None, frozenset(), frozenset()) == \
        code_structure._structure(before, None, frozenset(), frozenset())


def test_what_is_kept_of_a_file_for_its_next_edit_is_that_of_its_last_text():
    kept = EarlierReads()
    for lines in range(4):  # each text moves `by_state` a line lower
        facts = facts_of(parse_python(BY_STATE.replace("LIMIT = 10\n", "LIMIT = 10\n" + "\n" * lines), "app/services.py")[0],
                         kept=kept)
        structure(facts, None, frozenset(), frozenset())
    items = {id(item) for item in (*facts.queries, *facts.loop_reads, *facts.functions, *facts.query_calls)}
    assert {id(copy) for copy, _item in moved_items._MOVED_FROM["app/services.py"].values()} <= items
    assert set(code_structure._WRITTEN["app/services.py"]) <= items


def test_an_edit_of_application_code_keeps_what_the_rules_that_read_no_code_found(ctfd_root, monkeypatch):
    index = WorkspaceIndex(ctfd_root)
    kept = KeptRules()
    first = run_audit(index.index_all(), kept=kept)
    schema_rules = {code for state in (kept.migrations, kept.schema) for code, outcome in state.outcomes.items()
                    if outcome[0] == "found"}
    assert schema_rules and "SL201" in schema_rules  # a check of the models alone
    ran: list[str] = []
    for rule in all_rules():
        check = rule.check
        monkeypatch.setattr(rule, "check", lambda self, context, check=check: (ran.append(self.code), check(self, context))[1])
    path, old, new = EDITS["query"]
    text = (ctfd_root / path).read_text(encoding="utf-8").replace(old, new, 1)
    again = run_audit(index.update_file(path, text), kept=kept)
    assert ran and not schema_rules & set(ran)
    assert {f.rule for f in first.findings} & schema_rules <= {f.rule for f in again.findings}
    ran.clear()
    path, old, new = EDITS["revision"]
    text = (ctfd_root / path).read_text(encoding="utf-8").replace(old, new.format(n=0), 1)
    run_audit(index.update_file(path, text), kept=kept)
    assert schema_rules <= set(ran)  # a revision is the schema: they run again
    assert len(ran) == len(set(ran))  # each once: the rules of the code straight on the whole model


def test_a_query_kept_across_an_edit_resolves_again_on_a_table_the_edit_changed(ctfd_root):
    def paths(model) -> list:
        application = [facts for path, facts in sorted(model.code.items())
                       if is_application_code(path, model.config.non_application_paths)]
        return query_paths.query_paths(model, model.database, application)

    index = WorkspaceIndex(ctfd_root)
    index.index_all()
    for number, kind in enumerate(("function", "revision")):  # a query of users.nickname, then a revision adds it
        path, old, new = EDITS[kind]
        text = (ctfd_root / path).read_text(encoding="utf-8")
        model = index.update_file(path, text.replace(old, new.format(n=number), 1) if old else new.format(n=number) + text)
        kept = paths(model)  # the second time, resolved again where the table changed
    query_paths._last_resolved.clear()
    assert kept == paths(model)


def test_the_flow_reads_only_the_code_facts_its_structure_holds():
    """code_structure compares only FLOW_FACTS across an edit: a read of another field of the
    code facts by the flow would go stale where the flow is kept."""
    source = Path(query_flow.__file__).read_text(encoding="utf-8")
    read = {name for name in CodeFacts.__slots__ if re.search(rf"\.{name}\b|\"{name}\"", source)}
    assert read - {"path"} <= set(code_structure.FLOW_FACTS)
