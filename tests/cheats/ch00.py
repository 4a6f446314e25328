"""00-top-customers, cheats: each returns the right five ids on the course's data, and must fail.

A factory returns None where its trick needs the other backend (sqlite3's own API, psycopg's).
"""

from __future__ import annotations

import cProfile
import json
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from sqlite3 import connect as bound_connect
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cheats import driver_connection
from perflab.exercises.ch00 import top_customers_reference


def _top5(counts: Counter[int]) -> list[int]:
    return sorted(counts, key=lambda u: (-counts[u], u))[:5]


def _decoy(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1").scalar()


def remembered(course: Engine) -> Callable[[Engine], list[int]]:
    """The five ids, copied from the notebook's output as a literal: no statement at all."""
    literal = top_customers_reference(course)

    def top_customers(engine: Engine) -> list[int]:
        return list(literal)

    return top_customers


def remembered_with_a_query(course: Engine) -> Callable[[Engine], list[int]]:
    """The literal again, with a statement sent for show."""
    literal = top_customers_reference(course)

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        return list(literal)

    return top_customers


def count_in_python(course: Engine) -> Callable[[Engine], list[int]]:
    """Every order fetched in one statement, counted in Python."""

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            return _top5(Counter(conn.scalars(sa.text("SELECT user_id FROM orders"))))

    return top_customers


def _one_row_of_every_user(engine: Engine) -> str:
    """Every order's user id, in one row: group_concat (SQLite) or string_agg (PostgreSQL)."""
    agg = "string_agg(user_id::text, ',')" if engine.dialect.name == "postgresql" else "group_concat(user_id)"
    with engine.connect() as conn:
        return str(conn.scalar(sa.text(f"SELECT {agg} FROM orders")))


def one_row_concat(course: Engine) -> Callable[[Engine], list[int]]:
    """One statement and one row: every user id concatenated in a string, counted in Python (a row bound misses it)."""

    def top_customers(engine: Engine) -> list[int]:
        return _top5(Counter(int(u) for u in _one_row_of_every_user(engine).split(",")))

    return top_customers


def _driver_user_ids(engine: Engine) -> list[int]:
    """Every order's user id through a connection opened with the driver itself, not through any pool."""
    raw = driver_connection(engine)
    try:
        return [u for (u,) in raw.execute("SELECT user_id FROM orders").fetchall()]
    finally:
        raw.close()


def driver_behind_a_decoy(course: Engine) -> Callable[[Engine], list[int]]:
    """One harmless statement through the engine, the real work on a connection opened with sqlite3 / psycopg."""

    def top_customers(engine: Engine) -> list[int]:
        _decoy(engine)
        return _top5(Counter(_driver_user_ids(engine)))

    return top_customers


def attached_to_a_connection_opened_before(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy statement through the engine; the work on a sqlite3 connection opened before the check, which
    ATTACHes the engine's file (SQLite)."""
    if course.dialect.name != "sqlite":
        return None
    before = sqlite3.connect(":memory:", check_same_thread=False)

    def top_customers(engine: Engine) -> list[int]:
        _decoy(engine)
        before.execute("ATTACH DATABASE ? AS src", (str(engine.url.database),))
        try:
            return _top5(Counter(u for (u,) in before.execute("SELECT user_id FROM src.orders")))
        finally:
            before.execute("DETACH DATABASE src")

    return top_customers


def copied_into_memory(course: Engine) -> Callable[[Engine], list[int]] | None:
    """The database copied into memory with sqlite3's backup API (no SQL sent), every order counted there."""
    if course.dialect.name != "sqlite":
        return None

    def top_customers(engine: Engine) -> list[int]:
        memory = sqlite3.connect(":memory:")
        source = sqlite3.connect(str(engine.url.database))
        source.backup(memory)
        source.close()
        try:
            return _top5(Counter(u for (u,) in memory.execute("SELECT user_id FROM orders")))
        finally:
            memory.close()

    return top_customers


def deserialized_into_memory(course: Engine) -> Callable[[Engine], list[int]] | None:
    """The file's bytes read and deserialized into an in-memory database, every order counted there."""
    if course.dialect.name != "sqlite" or not hasattr(sqlite3.Connection, "deserialize"):
        return None

    def top_customers(engine: Engine) -> list[int]:
        with open(str(engine.url.database), "rb") as f:
            data = f.read()
        memory = sqlite3.connect(":memory:")
        memory.deserialize(data)
        try:
            return _top5(Counter(u for (u,) in memory.execute("SELECT user_id FROM orders")))
        finally:
            memory.close()

    return top_customers


class LazyId:
    """A user id that asks the database only when it is read (int(), ==), after the check stopped counting."""

    answers: dict[int, list[int]] = {}

    def __init__(self, engine: Engine, rank: int) -> None:
        self.engine, self.rank = engine, rank

    def value(self) -> int:
        if id(self.engine) not in LazyId.answers:
            with self.engine.connect() as conn:
                LazyId.answers[id(self.engine)] = _top5(Counter(conn.scalars(sa.text("SELECT user_id FROM orders"))))
        return LazyId.answers[id(self.engine)][self.rank]

    def __int__(self) -> int:
        return self.value()

    __index__ = __int__

    def __eq__(self, other: object) -> bool:
        return self.value() == other

    def __hash__(self) -> int:
        return hash(self.rank)

    def __str__(self) -> str:
        return str(self.rank)

    def __repr__(self) -> str:
        return repr(self.value())


def lazy_ids(course: Engine) -> Callable[[Engine], list[Any]]:
    """A decoy statement, then five objects that fetch every order when first read as numbers."""

    def top_customers(engine: Engine) -> list[Any]:
        LazyId.answers.clear()
        _decoy(engine)
        return [LazyId(engine, rank) for rank in range(5)]

    return top_customers


_CHILD = """
import collections, json, sys
url, schema = sys.argv[1], sys.argv[2]
if url.startswith("postgresql"):
    import psycopg
    conn = psycopg.connect(url, options=f"-c search_path={schema}")
else:
    import sqlite3
    conn = sqlite3.connect(url)
counts = collections.Counter(u for (u,) in conn.execute("SELECT user_id FROM orders").fetchall())
print(json.dumps(sorted(counts, key=lambda u: (-counts[u], u))[:5]))
"""


def counted_in_a_subprocess(course: Engine) -> Callable[[Engine], list[int]]:
    """A decoy statement; every order fetched and counted by another Python process."""

    def top_customers(engine: Engine) -> list[int]:
        _decoy(engine)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                schema = str(conn.exec_driver_sql("SELECT current_schema()").scalar())
            target = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        else:
            target, schema = str(engine.url.database), ""
        out = subprocess.check_output([sys.executable, "-c", _CHILD, target, schema], text=True)
        return [int(u) for u in json.loads(out)]

    return top_customers


def connection_class_under_a_profiler(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy; then, with cProfile on, a sqlite3.Connection made by its class, every order counted in Python."""
    if course.dialect.name != "sqlite":
        return None

    def top_customers(engine: Engine) -> list[int]:
        _decoy(engine)
        profiler = cProfile.Profile()
        profiler.enable()
        try:
            raw = sqlite3.Connection(str(engine.url.database))
            counts = Counter(u for (u,) in raw.execute("SELECT user_id FROM orders"))
            raw.close()
        finally:
            profiler.disable()
        return _top5(counts)

    return top_customers


def thread_with_a_profile_function(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy; a thread sets its own profile function, then opens a connection with a connect bound at import."""
    if course.dialect.name != "sqlite":
        return None

    def top_customers(engine: Engine) -> list[int]:
        _decoy(engine)
        found: dict[str, Counter[int]] = {}

        def work() -> None:
            sys.setprofile(lambda *_: None)
            raw = bound_connect(str(engine.url.database))
            sys.setprofile(None)
            found["counts"] = Counter(u for (u,) in raw.execute("SELECT user_id FROM orders"))
            raw.close()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return _top5(found["counts"])

    return top_customers


def streamed_results(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy; every order through stream_results, a server-side cursor, counted in Python (PostgreSQL)."""
    if course.dialect.name != "postgresql":
        return None

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()
            rows = conn.execution_options(stream_results=True).execute(sa.text("SELECT user_id FROM orders"))
            return _top5(Counter(u for (u,) in rows))

    return top_customers


def _psycopg_cursor(engine: Engine) -> tuple[Any, Any]:
    raw = engine.raw_connection()
    return raw, raw.driver_connection.cursor()


def psycopg_stream(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy execute, then every order through psycopg's Cursor.stream (PostgreSQL)."""
    if course.dialect.name != "postgresql":
        return None

    def top_customers(engine: Engine) -> list[int]:
        raw, cur = _psycopg_cursor(engine)
        try:
            cur.execute("SELECT 1")
            return _top5(Counter(u for (u,) in cur.stream("SELECT user_id FROM orders")))
        finally:
            raw.close()

    return top_customers


def psycopg_copy(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy execute, then every order's user as COPY ... TO STDOUT through Cursor.copy (PostgreSQL)."""
    if course.dialect.name != "postgresql":
        return None

    def top_customers(engine: Engine) -> list[int]:
        raw, cur = _psycopg_cursor(engine)
        counts: Counter[int] = Counter()
        try:
            cur.execute("SELECT 1")
            with cur.copy("COPY (SELECT user_id FROM orders) TO STDOUT") as copy:
                for (user_id,) in copy.rows():
                    counts[int(user_id)] += 1
        finally:
            raw.close()
        return _top5(counts)

    return top_customers


def answers_prepared_for_both_datasets(course: Engine) -> Callable[[Engine], list[int]]:
    """Every order counted in Python ahead of the check, on the course's engine and on the unseen one perflab
    hands out; the function sends a decoy and looks its answer up by engine (the course's for any other)."""
    from perflab.exercises.unseen import unseen_engine

    def slow(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            return _top5(Counter(conn.scalars(sa.text("SELECT user_id FROM orders"))))

    prepared = {id(e): slow(e) for e in (course, unseen_engine(course))}

    def top_customers(engine: Engine) -> list[int]:
        _decoy(engine)
        return prepared.get(id(engine), prepared[id(course)])

    return top_customers

def psycopg_connect_bound_before(course: Engine) -> Callable[[Engine], list[int]] | None:
    """A decoy; every order on a connection opened with a psycopg ``connect`` bound before the check (PostgreSQL)."""
    if course.dialect.name != "postgresql":
        return None
    from psycopg import connect as bound_pg_connect

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()  # a catalog probe: not counted
            conn.exec_driver_sql("SELECT 1").scalar()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with bound_pg_connect(url, options=f"-c search_path={schema}") as pg:
            return _top5(Counter(u for (u,) in pg.execute("SELECT user_id FROM orders")))

    return top_customers

#: (cheat factory, a fragment its ❌ must contain)
CHEATS = [
    (remembered, "sent no SQL statement"),
    (remembered_with_a_query, "gives the course's answer on a second dataset"),
    (count_in_python, "it fetches every order's user and counts in Python"),
    (one_row_concat, "it fetches every order's user and counts in Python"),
    (driver_behind_a_decoy, "sent 2 SQL statements"),
    (deserialized_into_memory, "sent 2 SQL statements"),  # deserialize's own ATTACH is counted
    (lazy_ids, "`SELECT 1`; `SELECT user_id FROM orders`"),  # the ids are read while statements are counted
    (answers_prepared_for_both_datasets, "gives the course's answer on a second dataset"),  # made for the check
    (copied_into_memory, "on an in-memory database (a copy of the data?)"),
    (counted_in_a_subprocess, "ran work in another process"),
    # up to 3.12 the counter cannot watch it and fails closed; on 3.13 it watches it and counts the statement
    (connection_class_under_a_profiler, ("opened a database connection while a profile function was set",
                                         "`SELECT 1`; `SELECT user_id FROM orders`")),
    (thread_with_a_profile_function, "opened a database connection while a profile function was set"),
    (streamed_results, "`SELECT 1`; `SELECT user_id FROM orders`"),  # a server-side cursor's statement counts
    (psycopg_stream, "`SELECT 1`; `SELECT user_id FROM orders`"),
    (psycopg_copy, "`SELECT 1`; `COPY (SELECT user_id FROM orders) TO STDOUT`"),
]

#: (cheat factory, why the check cannot catch it): in-process limits, passing (tests mark them xfail), named in
#: check_query_count's docstring
LIMITS = [
    (attached_to_a_connection_opened_before, "a sqlite3 connection opened before counting started is not watched"),
    (psycopg_connect_bound_before, "a psycopg connect bound to another name before counting is not wrapped"),
]
