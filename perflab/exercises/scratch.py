"""A throwaway copy of some of the course's tables, to time a learner's function on data it has never seen.

>>> with scratch_copy(engine, ("products", "orders", "order_items")) as copy:  # doctest: +SKIP
...     copy.url.database
'/tmp/perflab-check-x1y2/scratch.sqlite'

A check that times a learner's function on the course's own tables cannot tell a fast answer from
one remembered from the notebook, and changing those tables in place leaves a mark a function can look
for (and a changed dataset when the kernel dies mid-check). A copy can be changed at will: chapter
01's check draws new values into it before every timed call, and drops it afterwards.

The copy is on the course's backend, at the course's scale, so the timings are those of the learner's
setup: a temporary SQLite file filled by SQLite itself from the course's file (about half a second at
scale 1), or a schema of its own on the learner's PostgreSQL server, filled by ``INSERT … SELECT`` and
analysed as a build is (about a second). Where the learner may not create a schema, or the course is
an in-memory SQLite database, the rows go through Python into a SQLite file (a few seconds at scale 1).
Only the tables named are copied, without foreign keys (the tables they point to may be missing), with
their primary keys and indexes. A schema that a kernel stopped half-way left behind, or that a
connection the learner's function left open kept from being dropped, goes with ``perflab reset``
(:func:`drop_scratch`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Table

#: The PostgreSQL schemas of the copies: this, then a random name.
SCHEMA_PREFIX = "perflab_check_"
#: How long dropping a copy waits for a connection the learner's function left open on it (a PostgreSQL
#: interval); after that the schema is left for ``perflab reset`` (:func:`drop_scratch`).
DROP_WAIT = "5s"


@contextmanager
def scratch_copy(engine: Engine, tables: Sequence[str]) -> Iterator[Engine]:
    """An engine on a copy of ``tables`` (names in :mod:`perflab.schema`), removed when the block ends.

    Parameters: ``engine`` on the course's dataset (its backend and server are reused); ``tables``
    the tables to copy, e.g. ``("products", "orders", "order_items")``.
    """
    from perflab.schema import Base

    chosen = [Base.metadata.tables[name] for name in tables]
    schema = _postgres_schema(engine, chosen) if engine.dialect.name == "postgresql" else None
    if schema is not None:
        with _postgres_copy(engine, schema) as copy:
            yield copy
        return
    with _sqlite_copy(engine, chosen) as copy:
        yield copy


def _postgres_schema(engine: Engine, tables: list[Table]) -> str | None:
    """Copy ``tables`` into a new schema on the same server (its name), or None where that is not allowed."""
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateIndex

    schema = f"{SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"  # letters, digits and _ only; the pid says whose
    try:
        with engine.begin() as conn:
            course = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            for table in tables:
                columns = ", ".join(column.name for column in table.columns)
                # UNLOGGED: a scratch table needs no crash safety, and skipping the write-ahead log halves the copy
                conn.execute(sa.text(f'CREATE UNLOGGED TABLE "{schema}".{table.name} '
                                     f'(LIKE "{course}".{table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'))
                conn.execute(sa.text(f'INSERT INTO "{schema}".{table.name} ({columns}) '
                                     f'SELECT {columns} FROM "{course}".{table.name}'))
                conn.execute(sa.text(f'ALTER TABLE "{schema}".{table.name} ADD PRIMARY KEY (id)'))
            conn.execute(sa.text(f'SET LOCAL search_path TO "{schema}"'))
            for table in tables:
                for index in table.indexes:
                    conn.execute(CreateIndex(index))
                conn.execute(sa.text(f"ANALYZE {table.name}"))  # as a build does: the planner knows the sizes
    except sa.exc.SQLAlchemyError:  # e.g. a learner's role on a shared server may not create schemas
        return None
    return schema


@contextmanager
def _postgres_copy(engine: Engine, schema: str) -> Iterator[Engine]:
    from perflab.db import drop_schemas, make_engine

    try:
        copy = make_engine(engine.url.render_as_string(hide_password=False), schema=schema)
        try:
            yield copy
        finally:
            copy.dispose()
    finally:
        drop_schemas(engine, [schema], wait=DROP_WAIT)


def drop_scratch(engine: Engine) -> list[str]:
    """Drop the scratch copies' schemas on ``engine``'s PostgreSQL server that a stopped kernel left; their names.

    >>> drop_scratch(perflab.connect())  # doctest: +SKIP
    ['perflab_check_1f2e3d4c5b6a']

    What ``perflab reset`` calls. On SQLite there is nothing to drop: a copy is a file in a temporary folder.
    """
    if engine.dialect.name != "postgresql":
        return []
    import sqlalchemy as sa

    from perflab.db import drop_schemas

    names = sa.inspect(engine).get_schema_names()
    return drop_schemas(engine, [name for name in names if name.startswith(SCHEMA_PREFIX)], wait=DROP_WAIT)


@contextmanager
def _sqlite_copy(engine: Engine, tables: list[Table]) -> Iterator[Engine]:
    import sqlalchemy as sa

    folder = Path(tempfile.mkdtemp(prefix=f"perflab-check-{os.getpid()}-"))
    try:
        copy = sa.create_engine(f"sqlite:///{folder / 'scratch.sqlite'}")
        try:
            _fill_sqlite(engine, copy, tables)
            yield copy
        finally:
            copy.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fill_sqlite(source: Engine, copy: Engine, tables: list[Table]) -> None:
    """Create ``tables`` in ``copy`` and fill them from ``source``; indexes after the rows (faster)."""
    from sqlalchemy.schema import CreateIndex, CreateTable

    path = source.url.database if source.dialect.name == "sqlite" else None
    with copy.begin() as conn:
        for table in tables:
            conn.execute(CreateTable(table, include_foreign_key_constraints=[]))
    if path and path != ":memory:" and not path.startswith("file:"):
        _attach_and_copy(copy, path, tables)
    else:
        with copy.begin() as conn:
            _copy_through_python(source, conn, tables)
    with copy.begin() as conn:
        for table in tables:
            for index in table.indexes:
                conn.execute(CreateIndex(index))


def _attach_and_copy(copy: Engine, path: str, tables: list[Table]) -> None:
    """SQLite copies the rows from the course's file itself, with no Python per row (ATTACH: outside a transaction)."""
    raw = copy.raw_connection()
    try:
        db = raw.driver_connection
        db.isolation_level = None  # type: ignore[union-attr]  # autocommit: BEGIN and COMMIT are ours
        db.execute("ATTACH DATABASE ? AS course", (path,))  # type: ignore[union-attr]
        db.execute("BEGIN")  # type: ignore[union-attr]
        for table in tables:
            columns = ", ".join(column.name for column in table.columns)
            db.execute(f"INSERT INTO main.{table.name} ({columns}) "  # type: ignore[union-attr]
                       f"SELECT {columns} FROM course.{table.name}")
        db.execute("COMMIT")  # type: ignore[union-attr]
        db.execute("DETACH DATABASE course")  # type: ignore[union-attr]
    finally:
        raw.invalidate()  # not back to the pool: its isolation level is changed


def _copy_through_python(source: Engine, conn: Connection, tables: list[Table]) -> None:
    """The rows read from any backend and inserted in batches (SQLAlchemy converts the types)."""
    import sqlalchemy as sa

    with source.connect() as src:
        for table in tables:
            result = src.execute(sa.select(table)).mappings()
            while batch := result.fetchmany(20_000):
                conn.execute(table.insert(), [dict(row) for row in batch])
