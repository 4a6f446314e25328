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
    """Every index on every table: sorted (table, index name, columns); primary keys are not listed.

    >>> import sqlalchemy as sa
    >>> from perflab.schema import Base
    >>> engine = sa.create_engine("sqlite://")
    >>> Base.metadata.create_all(engine)
    >>> list_indexes(engine)[0]
    ('notifications', 'ix_notifications_user_id', ('user_id',))

    Parameters:
        engine: the Engine (or a Connection/Session bound to it).
    """
    with engine_of(engine).connect() as conn:
        inspector = sa.inspect(conn)
        found = []
        for table in inspector.get_table_names():
            for ix in inspector.get_indexes(table):
                found.append((table, str(ix["name"]), tuple(str(c) for c in ix["column_names"])))
    return sorted(found)


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
    dropped = []
    for table, name, _columns in list_indexes(target):
        if name.startswith(SCRATCH_PREFIX) and not table.startswith(SCRATCH_PREFIX):
            with target.begin() as conn:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {_identifier(name, 'index name')}")
            dropped.append(name)
    with target.connect() as conn:
        tables = [t for t in sa.inspect(conn).get_table_names() if t.startswith(SCRATCH_PREFIX)]
    for table in tables:
        with target.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_identifier(table, 'table name')}")
        dropped.append(table)
    return dropped


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
