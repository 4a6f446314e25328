"""Scratch indexes and scratch tables that are always removed again, and the list of indexes to prove it.

>>> import sqlalchemy as sa
>>> from perflab.schema import Base
>>> engine = sa.create_engine("sqlite://")
>>> Base.metadata.create_all(engine)
>>> with scratch_index(engine, "orders", "user_id", "created_at") as name:
...     name, ("orders", name, ("user_id", "created_at")) in list_indexes(engine)
('scratch_ix_orders_user_id_created_at', True)
>>> any(name.startswith(SCRATCH_PREFIX) for _table, name, _cols in list_indexes(engine))
False

A chapter that adds indexes or tables must leave the dataset as it found it, so that chapters run
in any order and any number of times. :func:`scratch_index` drops its index when its block ends,
even when the block fails; :func:`scratch_table` does the same for a copy of a table (with or without
its rows) that an experiment may index and write to freely. Their names start with
:data:`SCRATCH_PREFIX`; :func:`drop_scratch` removes what a killed kernel may have left behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa

from perflab.errors import PerflabError
from perflab.latency import engine_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

#: Every scratch index and table name starts with this (drop_scratch removes what starts with it).
SCRATCH_PREFIX = "scratch_"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _identifier(value: str, what: str) -> str:
    """Check a table, column or index name that goes into SQL text (names cannot be bound parameters)."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise PerflabError(f"{what} must be a lower-case SQL name (letters, digits, _), got {value!r}")
    return value


def _table_columns(conn: Connection, table: str) -> list[str]:
    inspector = sa.inspect(conn)
    if not inspector.has_table(table):
        raise PerflabError(f"no table {table!r} here — build the dataset first (perflab.connect()) or check the name")
    return [c["name"] for c in inspector.get_columns(table)]


def list_indexes(engine: object) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every index on every table, read from the catalog: sorted (table, index name, columns); no primary keys.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> list_indexes(engine)[0]
    ('notifications', 'ix_notifications_user_id', ('user_id',))
    >>> with engine.begin() as conn:
    ...     _ = conn.exec_driver_sql("CREATE INDEX ix_day ON orders (date(created_at), status)")
    >>> [ix for ix in list_indexes(engine) if ix[1] == "ix_day"]
    [('orders', 'ix_day', ('date(created_at)', 'status'))]

    SQLAlchemy's inspector skips expression indexes (with a warning); this reads SQLite's ``sqlite_master``
    and ``PRAGMA index_xinfo``, or PostgreSQL's ``pg_index`` for the current schema, so every index anyone
    made is listed: an expression appears as its text (``date(created_at)``). The indexes SQLite makes for
    UNIQUE and PRIMARY KEY constraints (``sqlite_autoindex_...``) are left out.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
    """
    with engine_of(engine).connect() as conn:
        if conn.dialect.name == "postgresql":
            found = [(str(table), str(name), tuple(_bare(str(c)) for c in columns))
                     for table, name, columns in conn.execute(sa.text(_PG_INDEXES))]
        else:
            found = []
            for table, name, sql in conn.exec_driver_sql(
                    "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"):
                terms = _index_terms(str(sql))
                quoted = str(name).replace('"', '""')
                keys = [row for row in conn.exec_driver_sql(f'PRAGMA index_xinfo("{quoted}")') if row[5]]
                found.append((str(table), str(name), tuple(
                    str(col) if col is not None else (terms[i] if i < len(terms) else "<expression>")
                    for i, (_seq, _cid, col, *_rest) in enumerate(keys))))
    return sorted(found)


#: PostgreSQL: (table, index, key columns or expressions) of every index but primary keys, in the current schema.
_PG_INDEXES = """
    SELECT t.relname, i.relname,
           ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts) AS k ORDER BY k)
    FROM pg_index AS x
    JOIN pg_class AS i ON i.oid = x.indexrelid
    JOIN pg_class AS t ON t.oid = x.indrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema() AND NOT x.indisprimary
"""


def stored_columns(engine: object, index: str) -> tuple[str, ...]:
    """The table columns the index named ``index`` holds a copy of: what every write to them must maintain.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with engine.begin() as conn:
    ...     _ = conn.exec_driver_sql("CREATE INDEX ix_packed ON orders (created_at, (status || total_cents))")
    >>> stored_columns(engine, "ix_packed")
    ('created_at', 'status', 'total_cents')

    :func:`list_indexes` shows an index's key terms; this counts what they store: each key column, each
    ``INCLUDE`` column (PostgreSQL), and every column an indexed expression reads (a whole-row reference
    reads them all). The columns of a partial index's ``WHERE`` clause are not stored and not counted.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        index: the index's name.
    """
    with engine_of(engine).connect() as conn:
        columns = _pg_stored(conn, index) if conn.dialect.name == "postgresql" else _sqlite_stored(conn, index)
    if columns is None:
        raise PerflabError(f"no index named {index!r} here; list_indexes(engine) shows the ones there are")
    return tuple(dict.fromkeys(c for c in columns if c))  # '': a dropped column (PostgreSQL)


def _pg_stored(conn: Connection, index: str) -> list[str] | None:
    found = conn.execute(sa.text(_PG_STORED), {"name": index}).one_or_none()
    if found is None:
        return None
    keys, expressions, names = found
    numbers = [int(k) for k in keys if k] + [int(k) for k in _PG_VAR.findall(expressions or "")]
    if 0 in numbers:  # a whole-row reference
        return [str(name) for name in names]
    return [str(names[k - 1]) for k in numbers if 0 < k <= len(names)]


def _sqlite_stored(conn: Connection, index: str) -> list[str] | None:
    found = conn.execute(sa.text("SELECT sql, tbl_name FROM sqlite_master WHERE type = 'index' AND name = :name "
                                 "AND sql IS NOT NULL"), {"name": index}).one_or_none()
    if found is None:
        return None
    table = str(found[1]).replace('"', '""')
    names = [str(row[1]) for row in conn.exec_driver_sql(f'PRAGMA table_info("{table}")')]
    terms = _index_terms(str(found[0]))
    quoted = index.replace('"', '""')
    keys = [row for row in conn.exec_driver_sql(f'PRAGMA index_xinfo("{quoted}")') if row[5]]
    columns: list[str] = []
    for i, (_seq, _cid, col, *_rest) in enumerate(keys):
        columns += [str(col)] if col is not None else _read_by(terms[i] if i < len(terms) else "", names)
    return columns


#: PostgreSQL: an index's stored column numbers (keys and INCLUDE; 0 for an expression), its expressions
#: (a parse tree whose Vars name the columns they read) and the table's column names by number (dropped ones too).
_PG_STORED = """
    SELECT x.indkey::int2[], x.indexprs::text,
           ARRAY(SELECT CASE WHEN a.attisdropped THEN '' ELSE a.attname END FROM pg_attribute AS a
                 WHERE a.attrelid = x.indrelid AND a.attnum > 0 ORDER BY a.attnum)
    FROM pg_index AS x
    JOIN pg_class AS i ON i.oid = x.indexrelid
    JOIN pg_namespace AS n ON n.oid = i.relnamespace
    WHERE n.nspname = current_schema() AND i.relname = :name
"""
_PG_VAR = re.compile(r"\{VAR :varno \d+ :varattno (\d+)\b")
#: A name in SQLite's SQL: bare, or quoted with "", `` or [].
_SQL_NAME = re.compile(r'"((?:[^"]|"")+)"|`((?:[^`]|``)+)`|\[([^\]]+)\]|([A-Za-z_][A-Za-z0-9_$]*)')


def _read_by(expression: str, columns: list[str]) -> list[str]:
    """The columns (of ``columns``) that a SQLite index expression names, string literals left out."""
    wanted = {c.lower(): c for c in columns}
    text = re.sub(r"'(?:[^']|'')*'", "''", expression)
    names = ["".join(m.groups("")).replace('""', '"').replace("``", "`") for m in _SQL_NAME.finditer(text)]
    return [wanted[n.lower()] for n in names if n.lower() in wanted]


def _index_terms(sql: str) -> list[str]:
    """The indexed terms of a SQLite ``CREATE INDEX`` statement, an expression without its outer parentheses."""
    start = sql.find("(", sql.upper().find(" ON "))
    terms, depth, current = [], 0, ""
    for ch in sql[start + 1:]:
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [_bare(re.sub(r"\s+(ASC|DESC)$", "", term.strip(), flags=re.IGNORECASE)) for term in terms]


def _bare(term: str) -> str:
    """An indexed expression without the parentheses around all of it: ``(created_at::date)`` → ``created_at::date``."""
    while term.startswith("(") and term.endswith(")"):
        depth = 0
        for ch in term[1:-1]:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                return term
        term = term[1:-1].strip()
    return term


def index_sql(engine: object, index: str) -> str:
    """The statement that creates the index named ``index``, as the catalog keeps it (to drop it and make it again).

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> index_sql(engine, "ix_orders_user_id")
    'CREATE INDEX ix_orders_user_id ON orders (user_id)'

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        index: the index's name.
    """
    with engine_of(engine).connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                       "AND indexname = :name"), {"name": index}).scalar()
        else:
            sql = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"),
                               {"name": index}).scalar()
    if sql is None:
        raise PerflabError(f"no index named {index!r} here; list_indexes(engine) shows the ones there are")
    return str(sql)


def index_name(table: str, columns: Sequence[str]) -> str:
    """The name :func:`scratch_index` gives an index: ``scratch_ix_<table>_<columns>`` (63 characters at most).

    >>> index_name("orders", ["user_id", "created_at"])
    'scratch_ix_orders_user_id_created_at'
    """
    return f"{SCRATCH_PREFIX}ix_{table}_{'_'.join(columns)}"[:63]


@contextmanager
def scratch_index(engine: object, table: str, *columns: str, name: str | None = None) -> Iterator[str]:
    """Create an index for the duration of a ``with`` block, then drop it (also when the block fails).

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with scratch_index(engine, "orders", "status") as ix:
    ...     print(ix)
    scratch_ix_orders_status

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        table: the table to index.
        columns: the index's columns, in order (the order matters: see chapter 09).
        name: the index's name (default :func:`index_name`); it must start with ``scratch_``.
    """
    target = engine_of(engine)
    _identifier(table, "table")
    if not columns:
        raise PerflabError(f"scratch_index needs at least one column of {table!r}, e.g. scratch_index(engine, "
                           f"{table!r}, 'user_id')")
    for column in columns:
        _identifier(column, "column")
    ix = _identifier(name or index_name(table, columns), "index name")
    if not ix.startswith(SCRATCH_PREFIX):
        raise PerflabError(f"a scratch index name must start with {SCRATCH_PREFIX!r}, got {ix!r} "
                           f"(e.g. {SCRATCH_PREFIX}{ix})")
    with target.begin() as conn:
        missing = sorted(set(columns) - set(_table_columns(conn, table)))
        if missing:
            raise PerflabError(f"table {table!r} has no column {', '.join(missing)}")
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {ix}")  # left by a kernel that died inside the block
        conn.exec_driver_sql(f"CREATE INDEX {ix} ON {table} ({', '.join(columns)})")
    try:
        yield ix
    finally:
        with target.begin() as conn:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {ix}")


@contextmanager
def scratch_table(engine: object, source: str, *, rows: bool = True, name: str | None = None,
                  vacuum: bool = True) -> Iterator[str]:
    """A copy of table ``source`` (its columns and primary key, no other index) for a ``with`` block.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with scratch_table(engine, "orders") as t:
    ...     print(t, [ix for ix in list_indexes(engine) if ix[0] == t])
    scratch_orders []

    The copy has no foreign keys and no index besides its primary key: index it, write to it, time it.
    It is dropped when the block ends, also when the block fails. On PostgreSQL the copy is vacuumed
    and analyzed, so the planner has statistics and index-only scans need no heap fetches; on SQLite
    nothing is analyzed (ANALYZE would leave a ``sqlite_stat1`` table behind).

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        source: the table to copy (e.g. "orders").
        rows: False copies the structure only (an empty table to insert into).
        name: the copy's name (default ``scratch_<source>``); it must start with ``scratch_``.
        vacuum: PostgreSQL only: False skips VACUUM ANALYZE (an empty copy does not need it).
    """
    target = engine_of(engine)
    _identifier(source, "source table")
    copy = _identifier(name or f"{SCRATCH_PREFIX}{source}", "table name")
    if not copy.startswith(SCRATCH_PREFIX):
        raise PerflabError(f"a scratch table name must start with {SCRATCH_PREFIX!r}, got {copy!r}")
    with target.begin() as conn:
        inspector = sa.inspect(conn)
        if not inspector.has_table(source):
            raise PerflabError(f"no table {source!r} here — build the dataset first (perflab.connect())")
        columns = inspector.get_columns(source)
        keys = set(inspector.get_pk_constraint(source)["constrained_columns"])
        table = sa.Table(copy, sa.MetaData(), *(sa.Column(c["name"], c["type"], primary_key=c["name"] in keys,
                                                          autoincrement=False) for c in columns))
        table.drop(conn, checkfirst=True)  # left by a kernel that died inside the block
        table.create(conn)
        if rows:
            names = ", ".join(c["name"] for c in columns)
            conn.exec_driver_sql(f"INSERT INTO {copy} ({names}) SELECT {names} FROM {source}")
    try:
        if rows and vacuum and target.dialect.name == "postgresql":
            with target.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM ANALYZE {copy}")
        yield copy
    finally:
        with target.begin() as conn:
            table.drop(conn, checkfirst=True)


def scratch_objects(engine: object) -> list[str]:
    """The scratch indexes (on tables that are not scratch copies) and scratch tables there are now, sorted.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> with scratch_table(engine, "orders") as copy, scratch_index(engine, "users", "country"):
    ...     scratch_objects(engine)
    ['scratch_ix_users_country', 'scratch_orders']
    >>> scratch_objects(engine)
    []

    A chapter ends with ``assert not scratch_objects(engine)``: every scratch block closed.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
    """
    target = engine_of(engine)
    names = [name for table, name, _columns in list_indexes(target)
             if name.startswith(SCRATCH_PREFIX) and not table.startswith(SCRATCH_PREFIX)]
    with target.connect() as conn:
        names += [t for t in sa.inspect(conn).get_table_names() if t.startswith(SCRATCH_PREFIX)]
    return sorted(names)


def drop_scratch(engine: object) -> list[str]:
    """Drop every scratch index and table (names starting with ``scratch_``) and return their names.

    >>> import sqlalchemy as sa
    >>> drop_scratch(sa.create_engine("sqlite://"))
    []

    A ``with scratch_index(...)`` block always drops its index, unless the kernel dies inside it;
    a chapter calls this first, so such a leftover does not change its plans.

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
    """
    target = engine_of(engine)
    found = scratch_objects(target)
    with target.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
    for name in found:
        with target.begin() as conn:
            kind = "TABLE" if name in tables else "INDEX"
            conn.exec_driver_sql(f"DROP {kind} IF EXISTS {_identifier(name, f'{kind.lower()} name')}")
    return found


def index_columns(engine: object, index: str) -> tuple[str, tuple[str, ...]]:
    """(table, columns) of the index named ``index``.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> index_columns(engine, "ix_orders_user_id")
    ('orders', ('user_id',))

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
        index: the index's name.
    """
    for table, name, columns in list_indexes(engine):
        if name == index:
            return table, columns
    raise PerflabError(f"no index named {index!r} here; list_indexes(engine) shows the ones there are")
