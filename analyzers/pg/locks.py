"""What PostgreSQL (12 to 17) locks, rewrites and scans for each DDL operation.

Each entry names the lock mode taken on every table involved (by role: the table altered, the
table a foreign key references, the partition, ...), whether the table is rewritten (a new
relfilenode: time and disk grow with its size) and whether it is scanned while the lock is held.
What a lock blocks follows from PostgreSQL's conflict table. Every entry carries a runnable
example over `EXAMPLE_SCHEMA`; tests/test_lock_knowledge.py runs each one on a real PostgreSQL
and checks pg_locks and relfilenode against the entry, so the table below is measured, not
remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..i18n import _, join

ACCESS_SHARE = "AccessShareLock"
ROW_SHARE = "RowShareLock"
ROW_EXCLUSIVE = "RowExclusiveLock"
SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
SHARE = "ShareLock"
SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"
EXCLUSIVE = "ExclusiveLock"
ACCESS_EXCLUSIVE = "AccessExclusiveLock"

# Weakest first, as in PostgreSQL's documentation (explicit-locking.html, table 13.2).
LOCK_MODES = (ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
              EXCLUSIVE, ACCESS_EXCLUSIVE)

# `ShareRowExclusiveLock` -> `SHARE ROW EXCLUSIVE`
_SQL_NAMES = {mode: re.sub(r"(?<!^)(?=[A-Z])", " ", mode.removesuffix("Lock")).upper() for mode in LOCK_MODES}

_CONFLICTS = {
    ACCESS_SHARE: {ACCESS_EXCLUSIVE},
    ROW_SHARE: {EXCLUSIVE, ACCESS_EXCLUSIVE},
    ROW_EXCLUSIVE: {SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE},
    SHARE_UPDATE_EXCLUSIVE: {SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE},
    SHARE: {ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE},
    SHARE_ROW_EXCLUSIVE: {ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE},
    EXCLUSIVE: {ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE},
    ACCESS_EXCLUSIVE: set(LOCK_MODES),
}


def sql_name(mode: str) -> str:
    return _SQL_NAMES[mode]


def strength(mode: str) -> int:
    return LOCK_MODES.index(mode)


def blocks_reads(mode: str) -> bool:
    """Plain SELECTs wait behind this lock."""
    return ACCESS_SHARE in _CONFLICTS[mode]


def blocks_writes(mode: str) -> bool:
    """INSERT, UPDATE and DELETE wait behind this lock."""
    return ROW_EXCLUSIVE in _CONFLICTS[mode]


def what_it_blocks(mode: str) -> str:
    if blocks_reads(mode):
        return _("reads and writes")
    if blocks_writes(mode):
        return _("writes; reads go on")
    if ROW_SHARE in _CONFLICTS[mode]:
        return _("SELECT ... FOR UPDATE/SHARE; plain reads and writes go on")
    return _("other DDL, VACUUM and ANALYZE; reads and writes go on")


# Role names: the table the statement is about, and the other tables it locks.
# (Translatable: a Message compares and hashes as its English text.)
TABLE = _("table")
REFERENCED = _("referenced table")
PARTITION = _("partition")
VIEW = _("materialized view")
SOURCE = _("tables the view reads")
REFERENCING = _("tables with a foreign key to it")
USING_DOMAIN = _("tables with a column of the domain")

# Every example runs against this schema, with rows in every table.
EXAMPLE_SCHEMA = """
CREATE TABLE parent (id bigint PRIMARY KEY, code varchar(10), n int);
CREATE TABLE child (id int PRIMARY KEY, parent_id bigint, note varchar(20), qty int);
INSERT INTO parent SELECT g, 'p' || g, g FROM generate_series(1, 100) g;
INSERT INTO child SELECT g, 1 + g % 100, 'n' || g, g FROM generate_series(1, 1000) g;
CREATE INDEX child_qty_idx ON child (qty);
CREATE UNIQUE INDEX child_note_key_idx ON child (note);
ALTER TABLE child ADD CONSTRAINT child_qty_check CHECK (qty > 0) NOT VALID;
ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
CREATE TABLE linked (id int PRIMARY KEY, parent_id bigint REFERENCES parent (id));
CREATE TABLE events (id int, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE events_2027 (id int, at date NOT NULL);
INSERT INTO events SELECT g, date '2026-01-01' + g FROM generate_series(1, 300) g;
INSERT INTO events_2027 SELECT g, date '2027-01-01' + g FROM generate_series(1, 300) g;
CREATE MATERIALIZED VIEW parent_totals AS SELECT parent_id, count(*) AS n FROM child GROUP BY parent_id;
CREATE UNIQUE INDEX parent_totals_key ON parent_totals (parent_id);
CREATE TYPE mood AS ENUM ('ok');
CREATE UNIQUE INDEX events_2027_id_idx ON events_2027 (id);
CREATE DOMAIN quantity AS int;
CREATE TABLE stock (id int PRIMARY KEY, qty quantity, doubled int GENERATED ALWAYS AS (qty * 2) STORED);
INSERT INTO stock SELECT g, g FROM generate_series(1, 100) g;
ALTER DOMAIN quantity ADD CONSTRAINT quantity_not_negative CHECK (VALUE >= 0) NOT VALID;
CREATE FUNCTION stock_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER stock_touch BEFORE UPDATE ON stock FOR EACH ROW EXECUTE FUNCTION stock_touch();
"""


@dataclass(frozen=True, slots=True)
class LockEffect:
    key: str
    title: str
    locks: tuple[tuple[str, str], ...]  # (role, lock mode)
    example: str  # runs against EXAMPLE_SCHEMA
    tables: tuple[tuple[str, str], ...]  # (role, table in the example)
    rewrites: bool = False
    scans: bool = False  # reads the whole table while holding the lock
    transactional: bool = True  # False: PostgreSQL refuses to run it inside a transaction block
    note: str = ""

    def lock(self, role: str = TABLE) -> Optional[str]:
        return dict(self.locks).get(role)

    @property
    def strongest(self) -> str:
        """The strongest lock it takes; ACCESS SHARE (which blocks nothing but ACCESS EXCLUSIVE)
        for the operations that lock no existing table (CREATE TABLE, ALTER TYPE ... ADD VALUE)."""
        return max((mode for _, mode in self.locks), key=strength, default=ACCESS_SHARE)

    def describe(self) -> str:
        """One sentence for findings: the locks, what they block, rewrite and scan."""
        parts = [_("%(lock)s on the %(role)s (blocks %(what)s)", lock=sql_name(mode), role=role, what=what_it_blocks(mode))
                 for role, mode in self.locks]
        text = _("%(operation)s takes %(locks)s", operation=self.title, locks=join("; ", parts))
        if self.rewrites:
            text += _(", and rewrites the whole table while holding it")
        elif self.scans:
            text += _(", and scans the whole table while holding it")
        return text + _(".")


def _effect(key, title, locks, example, tables=((TABLE, "child"),), **flags) -> LockEffect:
    return LockEffect(key, title, tuple(locks), example, tuple(tables), **flags)


_CHILD = ((TABLE, "child"),)
_CHILD_PARENT = ((TABLE, "child"), (REFERENCED, "parent"))
_VIEW_AND_SOURCE = ((VIEW, "parent_totals"), (SOURCE, "child"))

EFFECTS: dict[str, LockEffect] = {effect.key: effect for effect in (
    _effect("create-table", "CREATE TABLE", [], "CREATE TABLE fresh (id int PRIMARY KEY)", tables=()),
    _effect("create-table-with-foreign-key", _("CREATE TABLE with a foreign key"), [(REFERENCED, SHARE_ROW_EXCLUSIVE)],
            "CREATE TABLE fresh (id int PRIMARY KEY, parent_id bigint REFERENCES parent (id))",
            tables=((REFERENCED, "parent"),)),
    _effect("drop-table", "DROP TABLE", [(TABLE, ACCESS_EXCLUSIVE)], "DROP TABLE events_2027",
            tables=((TABLE, "events_2027"),)),
    _effect("drop-table-with-foreign-key", _("DROP TABLE of a table with a foreign key"),
            [(TABLE, ACCESS_EXCLUSIVE), (REFERENCED, ACCESS_EXCLUSIVE)], "DROP TABLE linked",
            tables=((TABLE, "linked"), (REFERENCED, "parent")),
            note=_("Dropping the foreign key's triggers locks the referenced table too.")),
    _effect("rename-table", "ALTER TABLE ... RENAME TO", [(TABLE, ACCESS_EXCLUSIVE)], "ALTER TABLE child RENAME TO kid"),
    _effect("add-column", _("ADD COLUMN (nullable, no default)"), [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD COLUMN extra int"),
    _effect("add-column-constant-default", _("ADD COLUMN with a constant or stable default"), [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD COLUMN extra timestamptz NOT NULL DEFAULT now()",
            note=_("Since PostgreSQL 11 a non-volatile default is stored in the catalog; no rewrite.")),
    _effect("add-column-volatile-default", _("ADD COLUMN with a volatile default"), [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD COLUMN extra float8 DEFAULT random()", rewrites=True,
            note=_("Volatile defaults (random(), clock_timestamp(), gen_random_uuid(), nextval(), serial) are "
                 "computed for every existing row.")),
    _effect("add-column-generated-stored", "ADD COLUMN ... GENERATED ALWAYS AS (...) STORED", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD COLUMN double_qty int GENERATED ALWAYS AS (qty * 2) STORED", rewrites=True,
            note=_("The expression is computed and stored for every existing row.")),
    _effect("drop-column", "DROP COLUMN", [(TABLE, ACCESS_EXCLUSIVE)], "ALTER TABLE child DROP COLUMN note",
            note=_("The column is only marked dropped; space comes back as rows are rewritten.")),
    _effect("rename-column", "RENAME COLUMN", [(TABLE, ACCESS_EXCLUSIVE)], "ALTER TABLE child RENAME COLUMN note TO memo"),
    _effect("alter-type-rewrite", _("ALTER COLUMN TYPE that changes the storage"),
            [(TABLE, ACCESS_EXCLUSIVE)], "ALTER TABLE child ALTER COLUMN qty TYPE bigint", rewrites=True,
            note=_("Every index on the column is rebuilt too.")),
    _effect("alter-type-binary-compatible", _("ALTER COLUMN TYPE to a binary-compatible type "
              "(varchar(n) to varchar(m > n), varchar to text)"), [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ALTER COLUMN note TYPE varchar(40)"),
    _effect("alter-type-using-the-column", _("ALTER COLUMN TYPE ... USING the column (or its cast) to a "
              "binary-compatible type"), [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ALTER COLUMN note TYPE varchar(40) USING note::varchar(40)",
            note=_("A USING clause that is the column itself, or its cast to the new type, rewrites no more than the "
                 "same change without it.")),
    _effect("set-not-null", "ALTER COLUMN SET NOT NULL", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ALTER COLUMN qty SET NOT NULL", scans=True,
            note=_("Since PostgreSQL 12 the scan is skipped when a valid CHECK (col IS NOT NULL) exists.")),
    _effect("drop-not-null", "ALTER COLUMN DROP NOT NULL", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE events_2027 ALTER COLUMN at DROP NOT NULL", tables=((TABLE, "events_2027"),)),
    _effect("set-default", "ALTER COLUMN SET DEFAULT", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ALTER COLUMN qty SET DEFAULT 1"),
    _effect("add-check", "ADD CONSTRAINT ... CHECK", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_id_check CHECK (id > 0)", scans=True),
    _effect("add-check-not-valid", "ADD CONSTRAINT ... CHECK ... NOT VALID", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_id_check CHECK (id > 0) NOT VALID"),
    _effect("validate-check", _("VALIDATE CONSTRAINT (check)"), [(TABLE, SHARE_UPDATE_EXCLUSIVE)],
            "ALTER TABLE child VALIDATE CONSTRAINT child_qty_check", scans=True),
    _effect("add-foreign-key", "ADD CONSTRAINT ... FOREIGN KEY",
            [(TABLE, SHARE_ROW_EXCLUSIVE), (REFERENCED, SHARE_ROW_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_parent_fk2 FOREIGN KEY (parent_id) REFERENCES parent (id)",
            tables=_CHILD_PARENT, scans=True),
    _effect("add-foreign-key-not-valid", "ADD CONSTRAINT ... FOREIGN KEY ... NOT VALID",
            [(TABLE, SHARE_ROW_EXCLUSIVE), (REFERENCED, SHARE_ROW_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_parent_fk2 FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID",
            tables=_CHILD_PARENT),
    _effect("validate-foreign-key", _("VALIDATE CONSTRAINT (foreign key)"),
            [(TABLE, SHARE_UPDATE_EXCLUSIVE), (REFERENCED, ROW_SHARE)],
            "ALTER TABLE child VALIDATE CONSTRAINT child_parent_fk", tables=_CHILD_PARENT, scans=True),
    _effect("drop-constraint", _("DROP CONSTRAINT (check, unique, primary key)"), [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child DROP CONSTRAINT child_qty_check"),
    _effect("drop-foreign-key", _("DROP CONSTRAINT (foreign key)"), [(TABLE, ACCESS_EXCLUSIVE), (REFERENCED, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child DROP CONSTRAINT child_parent_fk", tables=_CHILD_PARENT,
            note=_("Dropping the foreign key's triggers locks the referenced table too.")),
    _effect("add-exclusion-constraint", "ADD CONSTRAINT ... EXCLUDE", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_qty_excl EXCLUDE USING btree (qty WITH =)", scans=True,
            note=_("The index behind it is built under the lock; there is no NOT VALID or USING INDEX form.")),
    _effect("add-primary-key-using-index", "ADD PRIMARY KEY USING INDEX", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE events_2027 ADD CONSTRAINT events_2027_pkey PRIMARY KEY USING INDEX events_2027_id_idx",
            tables=((TABLE, "events_2027"),), scans=True,
            note=_("Columns not yet NOT NULL are made NOT NULL, which scans the table under the lock unless a valid "
                 "CHECK (column IS NOT NULL) proves it (PostgreSQL 12+).")),
    _effect("add-unique", "ADD CONSTRAINT ... UNIQUE", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_qty_key UNIQUE (qty)", scans=True,
            note=_("The unique index is built under the lock.")),
    _effect("add-primary-key", "ADD PRIMARY KEY", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE events_2027 ADD PRIMARY KEY (id)", tables=((TABLE, "events_2027"),), scans=True),
    _effect("add-unique-using-index", "ADD CONSTRAINT ... UNIQUE USING INDEX", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE child ADD CONSTRAINT child_note_key UNIQUE USING INDEX child_note_key_idx",
            note=_("The index was built beforehand (CONCURRENTLY): the lock is held only for a catalog change.")),
    _effect("create-index", "CREATE INDEX", [(TABLE, SHARE)], "CREATE INDEX child_note_idx ON child (note)", scans=True),
    _effect("create-index-concurrently", "CREATE INDEX CONCURRENTLY", [(TABLE, SHARE_UPDATE_EXCLUSIVE)],
            "CREATE INDEX CONCURRENTLY child_note_idx ON child (note)", scans=True, transactional=False,
            note=_("Two scans and waits for every transaction that could see the table; a failed build leaves "
                 "an INVALID index.")),
    _effect("create-index-partitioned", _("CREATE INDEX on a partitioned table"),
            [(TABLE, SHARE), (PARTITION, SHARE)], "CREATE INDEX events_at_idx ON events (at)",
            tables=((TABLE, "events"), (PARTITION, "events_2026")), scans=True,
            note=_("CONCURRENTLY is not allowed on a partitioned table: build each partition's index "
                 "concurrently and attach it to an index created ON ONLY the parent.")),
    _effect("drop-index", "DROP INDEX", [(TABLE, ACCESS_EXCLUSIVE)], "DROP INDEX child_qty_idx"),
    _effect("drop-index-concurrently", "DROP INDEX CONCURRENTLY", [(TABLE, SHARE_UPDATE_EXCLUSIVE)],
            "DROP INDEX CONCURRENTLY child_qty_idx", transactional=False),
    _effect("attach-partition", "ATTACH PARTITION", [(TABLE, SHARE_UPDATE_EXCLUSIVE), (PARTITION, ACCESS_EXCLUSIVE)],
            "ALTER TABLE events ATTACH PARTITION events_2027 FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')",
            tables=((TABLE, "events"), (PARTITION, "events_2027")), scans=True,
            note=_("The partition is scanned unless a valid CHECK constraint already proves the bound "
                 "(SHARE UPDATE EXCLUSIVE on the parent since PostgreSQL 12).")),
    _effect("detach-partition", "DETACH PARTITION", [(TABLE, ACCESS_EXCLUSIVE), (PARTITION, ACCESS_EXCLUSIVE)],
            "ALTER TABLE events DETACH PARTITION events_2026", tables=((TABLE, "events"), (PARTITION, "events_2026")),
            note=_("PostgreSQL 14 adds DETACH PARTITION ... CONCURRENTLY (SHARE UPDATE EXCLUSIVE, outside a transaction).")),
    _effect("detach-partition-concurrently", "DETACH PARTITION ... CONCURRENTLY",
            [(TABLE, SHARE_UPDATE_EXCLUSIVE), (PARTITION, SHARE_UPDATE_EXCLUSIVE)],
            "ALTER TABLE events DETACH PARTITION events_2026 CONCURRENTLY",
            tables=((TABLE, "events"), (PARTITION, "events_2026")), transactional=False,
            note=_("PostgreSQL 14+. Waits for every transaction using the partitioned table; an interrupted detach "
                 "is completed with DETACH PARTITION ... FINALIZE.")),
    _effect("truncate", "TRUNCATE", [(TABLE, ACCESS_EXCLUSIVE)], "TRUNCATE child CASCADE", rewrites=True),
    _effect("truncate-cascade", "TRUNCATE ... CASCADE", [(TABLE, ACCESS_EXCLUSIVE), (REFERENCING, ACCESS_EXCLUSIVE)],
            "TRUNCATE parent CASCADE", tables=((TABLE, "parent"), (REFERENCING, "child"), (REFERENCING, "linked")),
            rewrites=True, note=_("Every table with a foreign key to it (and to those, recursively) is emptied too.")),
    _effect("reindex", "REINDEX", [(TABLE, SHARE)], "REINDEX TABLE child",
            note=_("Each index is rebuilt under ACCESS EXCLUSIVE on the index itself: queries that would use it wait "
                 "too, so reads stall as well as writes.")),
    _effect("reindex-concurrently", "REINDEX CONCURRENTLY", [(TABLE, SHARE_UPDATE_EXCLUSIVE)],
            "REINDEX TABLE CONCURRENTLY child", transactional=False,
            note=_("PostgreSQL 12+. Builds a new index beside each old one and swaps them; a failed run leaves an "
                 "INVALID index (`_ccnew`) to drop.")),
    _effect("vacuum-full", "VACUUM FULL", [(TABLE, ACCESS_EXCLUSIVE)], "VACUUM FULL child", rewrites=True,
            transactional=False),
    _effect("cluster", "CLUSTER", [(TABLE, ACCESS_EXCLUSIVE)], "CLUSTER child USING child_pkey", rewrites=True),
    _effect("refresh-materialized-view", "REFRESH MATERIALIZED VIEW", [(VIEW, ACCESS_EXCLUSIVE), (SOURCE, ACCESS_SHARE)],
            "REFRESH MATERIALIZED VIEW parent_totals", tables=_VIEW_AND_SOURCE, rewrites=True),
    _effect("refresh-materialized-view-concurrently", "REFRESH MATERIALIZED VIEW CONCURRENTLY",
            [(VIEW, EXCLUSIVE), (SOURCE, ACCESS_SHARE)],
            "REFRESH MATERIALIZED VIEW CONCURRENTLY parent_totals", tables=_VIEW_AND_SOURCE,
            note=_("Needs a unique index on the view; reads go on while it runs.")),
    _effect("alter-domain-add-constraint", "ALTER DOMAIN ... ADD CONSTRAINT", [(USING_DOMAIN, SHARE)],
            "ALTER DOMAIN quantity ADD CONSTRAINT quantity_positive CHECK (VALUE > 0)", tables=((USING_DOMAIN, "stock"),),
            scans=True, note=_("Every column of the domain, in every table, is checked while writes to those tables wait.")),
    _effect("alter-domain-add-constraint-not-valid", "ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID", [],
            "ALTER DOMAIN quantity ADD CONSTRAINT quantity_positive CHECK (VALUE > 0) NOT VALID", tables=(),
            note=_("No table lock and no scan; new values are checked from now on. VALIDATE CONSTRAINT later checks "
                 "the stored ones.")),
    _effect("alter-domain-validate-constraint", "ALTER DOMAIN ... VALIDATE CONSTRAINT", [(USING_DOMAIN, SHARE)],
            "ALTER DOMAIN quantity VALIDATE CONSTRAINT quantity_not_negative", tables=((USING_DOMAIN, "stock"),),
            scans=True, note=_("Unlike VALIDATE on a table constraint (SHARE UPDATE EXCLUSIVE), writes wait for the "
                             "whole scan of every table with a column of the domain.")),
    _effect("alter-domain-set-not-null", "ALTER DOMAIN ... SET NOT NULL", [(USING_DOMAIN, SHARE)],
            "ALTER DOMAIN quantity SET NOT NULL", tables=((USING_DOMAIN, "stock"),), scans=True),
    _effect("create-trigger", "CREATE TRIGGER", [(TABLE, SHARE_ROW_EXCLUSIVE)],
            "CREATE TRIGGER stock_touch_again BEFORE UPDATE ON stock FOR EACH ROW EXECUTE FUNCTION stock_touch()",
            tables=((TABLE, "stock"),)),
    _effect("disable-trigger", "ALTER TABLE ... DISABLE TRIGGER", [(TABLE, SHARE_ROW_EXCLUSIVE)],
            "ALTER TABLE stock DISABLE TRIGGER stock_touch", tables=((TABLE, "stock"),),
            note=_("Until it is enabled again, no session fires the trigger: writes skip what it does. DISABLE "
                 "TRIGGER ALL also stops foreign-key checks, and needs superuser.")),
    _effect("drop-expression", "ALTER COLUMN ... DROP EXPRESSION", [(TABLE, ACCESS_EXCLUSIVE)],
            "ALTER TABLE stock ALTER COLUMN doubled DROP EXPRESSION", tables=((TABLE, "stock"),),
            note=_("PostgreSQL 13+. The stored values stay; new rows get the column's default instead.")),
    _effect("add-enum-value", "ALTER TYPE ... ADD VALUE", [], "ALTER TYPE mood ADD VALUE 'great'", tables=(),
            note=_("No table lock. Inside a transaction (allowed since PostgreSQL 12) the new value cannot be "
                 "used until the transaction commits.")),
)}
