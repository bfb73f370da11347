"""What a file's functions and statements read to, kept from one text of the file to the next
(code_facts.EarlierReads, queries.FunctionReads): after any edit, the facts equal those of a
fresh read, and a function whose text and numbering did not change is not read again."""

from __future__ import annotations


import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import corpus_projects
from recorded_calls import recorded_calls
from schemalens.analyzers.extract import code_facts, queries
from schemalens.analyzers.extract.code_facts import EarlierReads, facts_of
from schemalens.analyzers.extract.python_source import parse_python
from schemalens.analyzers.extract.queries import FunctionReads, read_queries

HEADER = "from app.models import Order, Item, session\n\n\n"
PATH = "app/services.py"


def _read(text: str, kept=None):
    source, error = parse_python(text, PATH)
    assert error is None
    return read_queries(source, kept)


@pytest.fixture
def functions_read(monkeypatch) -> list[int]:
    """How many functions each read of a file reads (the module's own statements counted too)."""
    counts = [0]

    class Counted(queries._FunctionReader):
        def __init__(self, *args, **kwargs):
            counts[-1] += 1
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(queries, "_FunctionReader", Counted)
    return counts


def _edited(before: str, after: str, counts: list[int]):
    """The facts of `after` read with what `before`'s functions read to, checked equal to a
    fresh read; and the number of functions read again."""
    kept = FunctionReads()
    _read(before, kept)
    counts.append(0)
    taken = _read(after, kept)
    read_again = counts[-1]
    assert taken == _read(after)
    return taken, read_again


ARMS = '''def by_state(state):
    query = session.query(Order)
    if state == "open":
        query = query.filter(Order.closed_at.is_(None))
    elif state == "closed":
        query = query.filter(Order.closed_at.isnot(None))
    else:
        query = query.filter(Order.archived == True)
    return query.all()
'''


def test_a_function_below_an_edit_is_taken_with_its_places_moved(functions_read):
    before = HEADER + "LIMIT = 10\n\n\n" + ARMS
    after = HEADER + "LIMIT = 10\nPAGE = 20\n\n\n" + ARMS
    taken, read_again = _edited(before, after, functions_read)
    assert read_again == 1  # the module's statements; `by_state` is taken
    arms = [p.arm for q in taken.queries for p in q.predicates if p.arm is not None]
    assert arms and all(arm.chain[0] == 10 for arm in arms)  # the `if`, a line lower
    assert taken.functions[0].location.line == 8 and taken.functions[0].last_line == 16


def test_an_edited_function_is_read_again_and_the_others_taken(functions_read):
    other = "def first_item():\n    return session.query(Item).filter(Item.sku == 'a').first()\n"
    before = HEADER + ARMS + "\n\n" + other
    after = HEADER + ARMS.replace("Order.archived == True", "Order.archived == False") + "\n\n" + other
    _taken, read_again = _edited(before, after, functions_read)
    assert read_again == 2  # the module's statements and `by_state`


HELPER = "def row_json(row):\n    return {'id': row.id, 'sku': row.sku}\n\n\n"
LOOP = "def export():\n    for item in session.query(Item).all():\n        row_json(item)\n"


def test_a_row_helper_that_stays_keeps_its_places_when_the_loop_moves(functions_read):
    before = HEADER + HELPER + LOOP
    after = HEADER + HELPER + "# exports\n" + LOOP
    taken, read_again = _edited(before, after, functions_read)
    assert read_again == 1
    helper_reads = [read for read in taken.loop_reads if read.function == "export"]
    assert {read.location.line for read in helper_reads} == {5}  # in `row_json`, which did not move


def test_a_loop_is_read_again_when_its_row_helper_changes(functions_read):
    before = HEADER + HELPER + LOOP
    after = HEADER + HELPER.replace("'sku': row.sku", "'sku': row.sku, 'name': row.name") + LOOP
    taken, read_again = _edited(before, after, functions_read)
    assert read_again == 3  # the module, `row_json` and `export`, whose loop reads what the helper reads
    assert "name" in {read.attribute for read in taken.loop_reads if read.function == "export"}


def test_functions_after_a_new_or_group_are_read_again(functions_read):
    """A condition's OR group is numbered across the file: one more before a function renumbers its own."""
    grouped = "def either(a, b):\n    return session.query(Order).filter(or_(Order.id == a, Order.code == b)).all()\n"
    before = HEADER + "def plain():\n    return session.query(Order).all()\n\n\n" + grouped
    after = HEADER + "def plain():\n    return session.query(Order).filter(or_(Order.id == 1, Order.id == 2)).all()\n\n\n" + grouped
    taken, read_again = _edited(before, after, functions_read)
    assert read_again == 3
    assert {p.alternative[0] for q in taken.queries if q.function == "either" for p in q.predicates} == {2}


def test_statements_that_share_a_line_keep_their_own_names():
    before = "import os\nfirst = alpha; second = beta\n"
    after = "import os\n\nfirst = alpha; second = beta\n"
    kept = EarlierReads()
    facts_of(parse_python(before, PATH)[0], kept=kept)
    names = facts_of(parse_python(after, PATH)[0], kept=kept).referenced_names
    assert {"alpha", "beta"} <= names
    assert names == facts_of(parse_python(after, PATH)[0]).referenced_names


def test_a_new_decorator_is_a_new_statement():
    kept = EarlierReads()
    facts_of(parse_python("@alpha\ndef f():\n    pass\n", PATH)[0], kept=kept)
    names = facts_of(parse_python("@beta\ndef f():\n    pass\n", PATH)[0], kept=kept).referenced_names
    assert "beta" in names and "alpha" not in names


# Real files: random line edits, one after another, each read with what the one before kept.
_LINES = ("", "# a comment", "extra = Column(Integer)", "rows = session.query(Order).filter(Order.id == 1).all()",
          "if x:\n{indent}    y = 1\n{indent}elif z:\n{indent}    y = 2\n{indent}else:\n{indent}    y = 3")


CORPUS_FILES = corpus_projects.sampled_python_files(keep=lambda text: "query(" in text or "select(" in text)


@pytest.mark.skipif(not CORPUS_FILES, reason="the corpus (../shared/corpus) is not here")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CORPUS_FILES or [("", "")]),
       st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["insert", "delete", "duplicate"]), st.sampled_from(_LINES)),
                min_size=1, max_size=5))
def test_after_any_edits_of_a_real_file_the_facts_equal_a_fresh_read(file, edits):
    project, path = file
    text = (corpus_projects.unpacked(project) / path).read_text(encoding="utf-8")
    kept = EarlierReads()
    facts_of(parse_python(text, path)[0], kept=kept)
    for where, action, line in edits:
        lines = text.split("\n")
        at = int(where * (len(lines) - 1))
        indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
        if action == "insert":
            lines.insert(at, indent + line.format(indent=indent))
        elif action == "delete":
            del lines[at]
        else:
            lines.insert(at, lines[at])
        text = "\n".join(lines)
        source, _error = parse_python(text, path)
        if source is None:  # the edit broke the syntax: the index keeps the last good parse
            continue
        assert facts_of(source, kept=kept) == facts_of(source)


# What each module-level statement collected (code_facts._Collector), kept for the next text.
SERVICES = '''from app.models import Counter, User, session
from app.security import hash_password

TOKEN = hash_password("seed")


def locked(counter_id):
    return session.query(Counter).filter(Counter.id == counter_id).with_for_update().one()


def bump(counter_id):
    counter = locked(counter_id)
    counter.hits += 1


def register(name):
    session.add(User(name=name, password=TOKEN))


def rotate(user):
    secret = hash_password(user.name)
    user.api_key = secret
'''


@pytest.fixture
def statements_walked(monkeypatch) -> list[int]:
    """The first line of each module-level statement the collector walks from now on."""
    return recorded_calls(monkeypatch, code_facts._Collector, "_collect_statement", lambda statement: statement.lineno)


def _collected_after(before: str, after: str, walked: list[int]):
    kept = EarlierReads()
    facts_of(parse_python(before, PATH)[0], kept=kept)
    walked.clear()
    facts = facts_of(parse_python(after, PATH)[0], kept=kept)
    assert facts == facts_of(parse_python(after, PATH)[0])
    return facts


def test_a_new_line_walks_its_statement_and_moves_what_the_others_collected(statements_walked):
    after = SERVICES.replace("    counter.hits += 1\n", "    counter.hits += 1\n    counter.seen = True\n")
    facts = _collected_after(SERVICES, after, statements_walked)
    assert statements_walked == [11]  # `bump`; `register` below it is taken, a line lower
    assert [write.location.line for write in facts.read_modify_writes] == [13]
    assert facts.read_modify_writes[0].locked and "password" in facts.hashed_names


@pytest.mark.parametrize("changed, walked", [
    # what a name assigned a hash holds: a statement after it that passes the name on reads it again
    # (`rotate`, which assigns its own hashed name before it reads it, is taken)
    (('TOKEN = hash_password("seed")\n', 'TOKEN = "seed"\n'), [4, 16]),
    # a function that locked the rows it reads no longer does: the write after a call of it reads it again
    ((".with_for_update().one()", ".one()"), [7, 11]),
])
def test_a_statement_is_walked_again_when_what_it_read_of_the_others_changed(changed, walked, statements_walked):
    facts = _collected_after(SERVICES, SERVICES.replace(*changed), statements_walked)
    assert statements_walked == walked
    assert "password" not in facts.hashed_names or not facts.read_modify_writes[0].locked
