"""Count the SQL a function sends where it cannot hide it: on every DBAPI connection, through any engine.

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("sqlite://")
>>> with SentStatements() as sent:
...     with engine.connect() as conn:
...         _ = conn.exec_driver_sql("SELECT 1").all()
...     raw = engine.raw_connection()
...     _ = raw.cursor().execute("SELECT 2").fetchall()
...     raw.close()
...     plain = sqlite3.connect(":memory:")
...     _ = plain.execute("SELECT 3").fetchall()
...     plain.close()
>>> [s.sql for s in sent.asked]
['SELECT 1', 'SELECT 2', 'SELECT 3']

A query log listens to one engine's SQLAlchemy events; a learner's ``engine.raw_connection()``, a second
engine or a plain ``sqlite3`` cursor would get past it. While it is active, this counter instruments

- every DBAPI connection any SQLAlchemy pool opens or hands out (``connect`` and ``checkout`` pool events),
  whichever engine it belongs to, including ``engine.raw_connection()``;
- every connection opened with the driver itself: ``sqlite3.connect`` (also as ``sqlite3.dbapi2.connect``),
  ``psycopg.connect`` and ``psycopg.Connection.connect`` are wrapped for the duration, then restored;
- every ``sqlite3`` connection opened however it was reached, also through a ``connect`` bound to another
  name before counting started (``from sqlite3 import connect`` at import time, ``sqlite3.Connection(...)``):
  an audit hook (:func:`sys.addaudithook`, the ``sqlite3.connect/handle`` event of Python 3.10 and later)
  hands each new connection to the active counters. The event comes before the connection can take a trace
  callback, so the hook sets a one-shot :func:`sys.setprofile` function in that thread, which instruments it
  at the thread's next call (before any statement can run on it) and removes itself; in a thread where a
  profiler or debugger has set a profile function already, the hook leaves it alone, and that connection is
  not counted. Audit hooks cannot be removed: it is installed once, on first use, and does nothing (one
  truth test) while no counter is active; it never raises, so it cannot break the code's own connection.

SQLite connections with ``set_trace_callback``, PostgreSQL ones with a counting psycopg cursor class.
``sqlite3`` has no way to read a connection's trace callback: one the code sets itself on a connection
while it is counted replaces the counter's (its later statements are not counted), and is cleared with the
counter's when counting ends; a connection traced before counting started is left alone unless a pool hands
it out (then its callback is replaced, and cleared at the end).
It does not see: connections opened *before* it became active and kept outside a pool (a module-level
``sqlite3`` connection); a psycopg ``connect`` bound to another name before (``from psycopg import
connect``); other drivers (psycopg2, asyncpg, apsw) and psycopg's ``AsyncConnection``; psycopg
server-side (named) cursors (``stream_results``); other processes (the ``sqlite3`` shell, a subprocess).

It tells the statements the learner asked for from the catalog probes drivers and libraries send by
themselves (pandas' ``read_sql`` first asks whether its string is a table name: ``PRAGMA table_info``,
or a ``pg_catalog`` query), and from transaction control (see :func:`~perflab.exercises.probes.is_probe`), and it
measures what came back: rows, and characters (the values' text length: a whole table squeezed into one
``group_concat`` row is still long).
"""
from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

from perflab.exercises.probes import is_probe

#: sqlite3.connect as imported: SentStatements wraps the module's while it is active.
_sqlite_connect = sqlite3.connect

#: The counters active now (innermost last), which the audit hook hands new sqlite3 connections to.
_ACTIVE: list[SentStatements] = []
#: Whether the audit hook is installed (once per process: it cannot be removed), and this thread's "don't count".
_HOOK = {"installed": False}
_LOCAL = threading.local()
_SQLITE_OPENED = "sqlite3.connect/handle"


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: a sqlite3 connection opened while a counter is active is instrumented at the thread's next call.

    The connection is not usable yet when the event comes (``set_trace_callback`` raises), hence the one-shot
    profile function :func:`_instrument_opened`.
    """
    if not _ACTIVE or event != _SQLITE_OPENED or getattr(_LOCAL, "unwatched", False):
        return
    try:
        current = sys.getprofile()
        if current is not None and current is not _instrument_opened:
            return  # a profiler or debugger of this thread: left alone (documented gap)
        opened = _LOCAL.__dict__.setdefault("opened", [])
        opened.append(args[0])
        sys.setprofile(_instrument_opened)
    except Exception:  # noqa: S110 - an audit hook that raises would refuse the connection: never
        pass


def _instrument_opened(_frame: Any, _event: str, _arg: Any) -> None:
    """One-shot profile function: the connections this thread just opened are handed to the active counters."""
    sys.setprofile(None)
    opened, _LOCAL.opened = _LOCAL.__dict__.get("opened", []), []
    for conn in opened:
        for counter in list(_ACTIVE):
            try:
                counter._instrument(conn)
            except Exception:  # noqa: S110 - a connection closed meanwhile: nothing to count
                pass


def _install_audit_hook() -> None:
    """Install :func:`_on_audit` once (Python 3.10+ raise ``sqlite3.connect/handle``; elsewhere it never fires)."""
    if not _HOOK["installed"] and hasattr(sys, "addaudithook"):
        sys.addaudithook(_on_audit)
        _HOOK["installed"] = True

@dataclass
class Sent:
    """One statement as the database received it; ``rows`` and ``chars`` are what it returned (None: not known)."""

    sql: str
    params: Any = None
    rows: int | None = None
    database: str | None = None  # SQLite: the file the statement ran on, for counting its rows later
    chars: int | None = None  # the text length of every value it returned
    backend: str | None = None  # "sqlite" or "postgresql": which database's probe shapes apply


class SentStatements:
    """A context manager that records every statement any DBAPI connection sends while it is active.

    >>> with SentStatements() as sent:  # doctest: +SKIP
    ...     orders_by_user(engine, ids)
    >>> len(sent.asked), sent.rows()  # doctest: +SKIP
    (1, 812)

    ``all`` holds everything, ``asked`` only what is not a probe (see :func:`~perflab.exercises.probes.is_probe`).
    """

    def __init__(self) -> None:
        self.all: list[Sent] = []
        self._undo: dict[int, Callable[[], None]] = {}
        self._cursor_classes: dict[type, type] = {}
        self._patched: list[tuple[Any, str, Any]] = []

    @property
    def asked(self) -> list[Sent]:
        """The statements the code asked for (catalog probes and transaction control left out)."""
        return [s for s in self.all if not is_probe(s.sql, s.backend)]

    def rows(self) -> int | None:
        """Rows the asked statements returned; SQLite statements are run again, read-only, to count them.

        None when a statement's rows cannot be known (an in-memory SQLite database).
        """
        return self._total("rows")

    def chars(self) -> int | None:
        """Characters the asked statements returned: every value's text length (PostgreSQL: its bytes on the wire).

        A count of rows misses a table squeezed into one row (``group_concat``, ``string_agg``, a JSON array);
        this does not. None when a statement's result cannot be known (an in-memory SQLite database).
        """
        return self._total("chars")

    def _total(self, what: str) -> int | None:
        total = 0
        for s in self.asked:
            if s.rows is None and s.database:
                s.rows, s.chars = _measure_sqlite_result(s.database, s.sql)
            value = getattr(s, what)
            if value is None:
                return None
            total += value
        return total

    def __enter__(self) -> SentStatements:
        _install_audit_hook()
        _ACTIVE.append(self)
        event.listen(Pool, "connect", self._on_connect)
        event.listen(Pool, "checkout", self._on_checkout)
        for owner, name, wrapped in self._driver_connects():
            self._patched.append((owner, name, owner.__dict__[name]))
            setattr(owner, name, wrapped)
        return self

    def __exit__(self, *exc: object) -> None:
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        while self._patched:
            owner, name, original = self._patched.pop()
            setattr(owner, name, original)
        event.remove(Pool, "connect", self._on_connect)
        event.remove(Pool, "checkout", self._on_checkout)
        for undo in self._undo.values():
            try:
                undo()
            except Exception:  # noqa: S110 - the connection was closed meanwhile: nothing left to undo
                pass
        self._undo.clear()

    def _driver_connects(self) -> list[tuple[Any, str, Any]]:
        """(owner, attribute, replacement) for each driver ``connect`` to wrap: the connection it opens is traced."""
        import sys

        def traced(connect: Callable[..., Any]) -> Callable[..., Any]:
            def connect_traced(*args: Any, **kwargs: Any) -> Any:
                conn = connect(*args, **kwargs)
                self._instrument(conn)
                return conn

            return connect_traced

        found: list[tuple[Any, str, Any]] = [(module, "connect", traced(module.connect))
                 for module in {id(m): m for m in (sqlite3, sqlite3.dbapi2)}.values()]
        psycopg = sys.modules.get("psycopg")  # not imported yet: nobody can have bound its connect
        if psycopg is not None:
            found.append((psycopg, "connect", traced(psycopg.connect)))
            found.append((psycopg.Connection, "connect",
                          classmethod(traced(psycopg.Connection.__dict__["connect"].__func__))))
        return found

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        self._instrument(dbapi_conn)

    def _on_checkout(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        self._instrument(dbapi_conn)

    def _instrument(self, dbapi_conn: Any) -> None:
        if id(dbapi_conn) in self._undo:
            return
        if isinstance(dbapi_conn, sqlite3.Connection):
            database = _sqlite_file(dbapi_conn)
            dbapi_conn.set_trace_callback(lambda sql: self.all.append(Sent(sql, database=database, backend="sqlite")))
            self._undo[id(dbapi_conn)] = lambda: dbapi_conn.set_trace_callback(None)
        elif hasattr(dbapi_conn, "cursor_factory") and type(dbapi_conn).__module__.startswith("psycopg"):
            previous = dbapi_conn.cursor_factory
            dbapi_conn.cursor_factory = self._counting(previous)

            def undo() -> None:
                dbapi_conn.cursor_factory = previous

            self._undo[id(dbapi_conn)] = undo

    def _counting(self, base: Any) -> type:
        """A subclass of the psycopg cursor class ``base`` that records what it executes and the rows back."""
        if base not in self._cursor_classes:
            record = self.all.append

            def execute(cur: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
                result = base.execute(cur, query, params, **kwargs)
                record(Sent(_sql_text(query, cur), params, max(cur.rowcount, 0), chars=_pg_result_chars(cur),
                            backend="postgresql"))
                return result

            def executemany(cur: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
                result = base.executemany(cur, query, params_seq, **kwargs)
                record(Sent(_sql_text(query, cur), None, 0, chars=0, backend="postgresql"))
                return result

            self._cursor_classes[base] = type(f"Counting{base.__name__}", (base,),
                                              {"execute": execute, "executemany": executemany})
        return self._cursor_classes[base]


def _sql_text(query: Any, cursor: Any) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode()
    try:
        return str(query.as_string(cursor))  # a psycopg.sql.Composed
    except Exception:
        return str(query)


def _sqlite_file(conn: sqlite3.Connection) -> str | None:
    """The file of a SQLite connection's main database (None in memory)."""
    try:
        for _seq, name, path in conn.execute("PRAGMA database_list").fetchall():
            if name == "main":
                return str(path) or None
    except sqlite3.Error:
        return None
    return None


def _pg_result_chars(cursor: Any) -> int:
    """Bytes of every value in a psycopg cursor's current result, as the server sent them."""
    result = getattr(cursor, "pgresult", None)
    if result is None:
        return 0
    value = result.get_value
    fields = range(result.nfields)
    return sum(len(value(row, col) or b"") for row in range(result.ntuples) for col in fields)


def _measure_sqlite_result(database: str, sql: str) -> tuple[int, int]:
    """(rows, characters) a traced (so already expanded) SQLite statement returns, run again read-only."""
    _LOCAL.unwatched = True  # the counter's own connection: not counted, even while a counter is active
    try:
        conn = _sqlite_connect(f"file:{database}?mode=ro", uri=True)
    finally:
        _LOCAL.unwatched = False
    try:
        rows = conn.execute(sql).fetchall()
    except sqlite3.Error:
        return 0, 0  # a write, or a statement that only made sense in its own transaction
    finally:
        conn.close()
    return len(rows), sum(_text_length(value) for row in rows for value in row)


def _text_length(value: Any) -> int:
    """The length of a value as text, as PostgreSQL would send it (NULL: 0)."""
    if value is None:
        return 0
    if isinstance(value, (str, bytes)):
        return len(value)
    return len(str(value))
