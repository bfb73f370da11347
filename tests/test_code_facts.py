"""Facts of application code as written: string literals one by one, `or` chains read pairwise,
everything in the order of the source, with columns counted in characters."""

from __future__ import annotations

import gc
import textwrap
import weakref

from schemalens.analyzers.extract.code_facts import collect_code_facts, facts_of
from schemalens.analyzers.extract.python_source import parse_python


def _facts(code: str):
    facts = collect_code_facts(textwrap.dedent(code), "app/settings.py")
    assert facts.errors == ()
    return facts


def _span(location) -> tuple[int, int, int, int]:
    return location.line, location.column, location.end_line, location.end_column


def test_implicitly_joined_literals_are_read_one_by_one():
    facts = _facts('URL = ("postgresql://"\n       "user@host/db")\n')
    assert [(value, _span(location)) for value, location in facts.strings] == [("postgresql://", (1, 8, 1, 23))]


def test_the_plain_literal_beside_an_fstring_is_read_and_the_fstring_is_not():
    facts = _facts('URL = f"sqlite://{path}" "mysql://host"\n')
    assert [(value, _span(location)) for value, location in facts.strings] == [("mysql://host", (1, 26, 1, 40))]


def test_strings_come_in_the_order_written():
    facts = _facts('''
        @pytest.mark.parametrize("url", ["a://x"])
        def test(url, other="b://y", *, last="c://z"):
            return {"key": "d://w", **more}
    ''')
    assert [value for value, _ in facts.strings] == ["a://x", "b://y", "c://z", "d://w"]


def test_an_or_chain_is_read_pair_by_pair_from_the_left():
    facts = _facts('value = (d.get("new")) or d.get("old") or d.get("older")\n')
    ((keys, location),) = [(read.keys, read.location) for read in facts.fallback_reads]
    assert keys == ("new", "old") and _span(location) == (1, 9, 1, 39)  # from `(d.get("new")` to `d.get("old")`


def test_a_generated_fallback_at_the_end_of_an_or_chain():
    facts = _facts('secret = config.get("SECRET") or os.getenv("SECRET") or secrets.token_hex(16)\n')
    ((generator, location),) = [(fallback.generator, fallback.location) for fallback in facts.key_fallbacks]
    assert generator == "token_hex" and _span(location) == (1, 10, 1, 78)


def test_json_keys_keep_the_parentheses_written_around_them():
    facts = _facts('rows = Order.query.filter(Order.data[("color")] == 1, Order.data[(name)] == 2, Order.data[a, b] == 3)\n')
    assert [item.key for item in facts.json_key_filters] == ["color", "(name)"]


def test_columns_are_counted_in_characters():
    facts = _facts('label = "été"; rows = Order.query.filter_by(email="ü").all()\n')
    ((lookup),) = facts.lookups
    assert (lookup.column, _span(lookup.location)) == ("email", (1, 45, 1, 54))


def test_a_check_on_a_variable_then_an_insert():
    facts = _facts('''
        def register(session, email):
            existing = session.query(User).filter_by(email=email).first()
            if not existing:
                session.add(User(email=email))
    ''')
    ((check),) = facts.check_then_inserts
    assert check.columns == ("email",) and (check.location.line, check.insert.line) == (4, 5)
    assert (check.model, check.inserted) == ("User", "User")


def test_a_check_before_saving_the_object_itself_or_against_a_cap_is_no_check_then_insert():
    facts = _facts('''
        def update_latest(self):
            found = QueryResult.query.filter(QueryResult.query_hash == self.query_hash).first()
            if found:
                self.latest_id = found.id
                db.session.add(self)

        def register(session, cap):
            if Teams.query.filter_by(banned=False).count() < cap:
                session.add(Teams(name="x"))
    ''')
    assert facts.check_then_inserts == ()


def test_referenced_names_are_uses_other_than_calls_inside_functions():
    import ast

    from schemalens.analyzers.extract.code_facts import referenced_names

    tree = ast.parse(textwrap.dedent("""
        __all__ = ["exported"]
        app.add_url_rule("/orders", view_func=views.list_orders)
        scheduler.add(every(30))(sync_jobs)
        start_at_import()


        @router.get("/me")
        def me(user=Depends(current_user)):
            orders.by_owner(user.id)
            helper(1)
            return getattr(orders, "by_note")
    """))
    assert referenced_names(tree) >= {"list_orders", "sync_jobs", "start_at_import", "add_url_rule",
                                      "current_user", "orders", "by_note", "get"}
    assert not referenced_names(tree) & {"by_owner", "helper"}  # called in a function: the call graph follows them
    assert "exported" not in referenced_names(tree)  # `__all__` copies names for `import *`; it calls nothing


def test_referenced_names_of_a_parsed_file_and_of_its_statements_are_those_of_a_plain_tree():
    """A parsed file's names are read off its numbered nodes, statement by statement after an
    edit; a tree no file numbered is numbered for the walk: the same names either way."""
    import ast

    from schemalens.analyzers.extract.code_facts import referenced_names

    text = textwrap.dedent("""
        @app.task(queue=QUEUE)
        def sync(session=Depends(get_session)):
            @retry(times=RETRIES)
            def attempt():
                client.fetch(url=settings.BASE)
                return records.load()
            handler = lambda row: row.total
            return attempt, handler

        class Orders(Base):
            __all__ += ["exported_name"]
            status = Column(String, default=lambda: DEFAULT_STATUS)
    """)
    source, _ = parse_python(text, "app/tasks.py")
    plain = ast.parse(text)
    names = referenced_names(plain)
    assert {"task", "QUEUE", "get_session", "RETRIES", "client", "settings", "BASE", "records", "total",
            "DEFAULT_STATUS", "Column", "String"} <= names
    assert not names & {"fetch", "load", "exported_name"}
    assert referenced_names(source.tree) == names
    assert [referenced_names(statement) for statement in source.tree.body] == \
           [referenced_names(statement) for statement in plain.body]


def test_names_written_hashed_directly_through_a_local_or_by_keyword_and_not_raw_ones():
    facts = _facts('''
        def save(admin, user, raw, form):
            admin.password = bcrypt.hashpw(raw, salt).decode()
            digest = hash_with_pepper(form.token)
            user.token = digest
            user.nickname = form.nickname
            user.secret = raw
            return Users(api_key=make_password(form.key), email=form.email)
    ''')
    assert facts.hashed_names == {"password", "token", "api_key"}


def test_a_files_tree_is_freed_as_soon_as_its_facts_are_read():
    # no reference cycle through the extractors: an edit's syntax tree goes with reference
    # counting, not at the cyclic collector's next pass (which then scanned every node of it)
    text = textwrap.dedent("""
        def handler(session, name):
            def nested():
                return session.query(User).filter(User.name == name).first()
            user = nested()
            user.count += 1
            return user
    """)
    collector_was_enabled = gc.isenabled()
    gc.disable()
    try:
        source, _ = parse_python(text, "app/views.py")
        tree = weakref.ref(source.tree)
        facts_of(source)
        del source
        assert tree() is None
    finally:
        if collector_was_enabled:
            gc.enable()


# Each pattern deletion_words and sql_insert_tables search, with what its matches start with
# (found in the text lowered when the pattern ignores case).
_KEYWORD_PATTERNS = (("_DELETION_STATEMENT", True, ("delete", "truncate", "detach", "drop")),
                     ("_DELETING_CALL", False, ("delete", "purge")), ("_CLEARING_UPDATE_STATEMENT", True, ("update",)),
                     ("_CLEARING_UPDATE_CONSTRUCT", False, ("update(",)), ("_INSERT_STATEMENT", True, ("insert",)))
_TRICKY = (
    "db.Column(db.Integer, db.ForeignKey('users.id', ondelete='CASCADE'))\n"
    "session.execute('DROP TABLE IF EXISTS delete_log')  # a keyword inside the match before it\n"
    "conn.execute(\"Update events SET payload = NULL WHERE created_at < now() - interval '30 days'\")\n"
    "q = update(Event).where(Event.created_at < cutoff).values(payload=None)\n"
    "x.delete(synchronize_session=False); delete(Session)\n"
    "İstanbul = 'INSERT INTO cities (name) VALUES (%s)'  # lowering lengthens the text\n"
    "cursor.execute('insert into Audit_Log select * from staging; TRUNCATE TABLE staging')\n"
    "cursor.execute('TRUNCATE drop TABLE stale')  # a match, and in it where another would start\n")


def test_keyword_searches_find_what_the_patterns_find_everywhere():
    """The patterns are tried only where their first word occurs (a tenth of a cold index went
    to trying them at every position): the matches are those of trying them everywhere, on
    tricky text and on every Python file of a corpus project."""
    import corpus_projects
    from schemalens.analyzers.extract import text_searches

    texts = [_TRICKY, _TRICKY.replace("İstanbul", "istanbul")]
    if corpus_projects.available():
        texts += [path.read_text(encoding="utf-8", errors="replace")
                  for path in sorted(corpus_projects.unpacked("CTFd").rglob("*.py"))]
    for name, ignores_case, keywords in _KEYWORD_PATTERNS:
        pattern = getattr(text_searches, name)
        for text in texts:
            searched = text.lower() if ignores_case else text
            assert [m.span() for m in text_searches._matches(pattern, text, searched, keywords)] == \
                [m.span() for m in pattern.finditer(text)], (name, text[:80])
    assert text_searches.deletion_words(_TRICKY) >= {"delete_log", "events", "event", "session", "staging"}
    assert text_searches.sql_insert_tables(_TRICKY) == {"cities", "audit_log"}


def test_lower_bounds_are_read_on_any_line_of_their_statement():
    facts = _facts('''
        class Order(BaseModel):
            quantity: int = Field(
                default=1,
                ge
                =1,
            )
            amount: PositiveInt
            discount: int = Field(default=0)
            note: str = Field(max_length=10); price: int = Field(gt=0)
            stock: int = Field(default=0, min \\
                               = 0)
    ''')
    assert facts.non_negative_inputs == {"quantity", "amount", "price", "stock"}


def test_tables_created_each_time_the_code_runs_and_not_under_a_condition_or_by_hand():
    facts = _facts("""
        def new_session_factory(url):
            engine = create_engine(url)
            with engine.begin():
                Base.metadata.create_all(engine)
            return engine

        async def start(engine):
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)

        def create_app(url):
            if url.startswith("sqlite"):
                db.create_all()
            Base.metadata.create_all(engine, tables=[Event.__table__])

        def init_db():
            db.create_all()

        @cli.command()
        def build():
            db.create_all()
    """)
    assert [location.line for location in facts.tables_created] == [5, 10]
