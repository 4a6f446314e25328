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
>>> [s.sql for s in sent.asked], sent.hidden
(['SELECT 1', 'SELECT 2', 'SELECT 3'], [])

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
  at the thread's next call (before any statement can run on it) and removes itself. In a thread where a
  profiler or debugger has set a profile function already, the hook leaves that alone; a connection opened
  there that no other way instruments is reported in :attr:`SentStatements.hidden` (fail closed). Audit
  hooks cannot be removed: it is installed once, on first use, and does nothing (one truth test) while no
  counter is active; it never raises, so it cannot break the code's own connection.

SQLite connections with ``set_trace_callback``; PostgreSQL ones with counting psycopg cursor classes, for
client cursors (``cursor_factory``) and server-side ones (``server_cursor_factory``: ``stream_results``, the
ORM's ``yield_per``), whose rows are counted as they are fetched; a client cursor's ``stream`` and ``copy``
(``COPY ... TO STDOUT``) are counted too, their rows as they are read.

The code under count can switch a counter off (``set_trace_callback(None)``, the original
``cursor_factory`` put back); two cross-checks catch that:

- every SQLAlchemy engine's statements are recorded too (the ``after_cursor_execute`` event on
  :class:`~sqlalchemy.engine.Engine`, any engine): on a connection where SQLAlchemy saw more statements
  than the DBAPI counter, SQLAlchemy's list counts (:attr:`SentStatements.asked`);
- at the end, each connection still open is asked whether it still counts (SQLite: a marker statement must
  reach the trace callback; PostgreSQL: the counting cursor classes must still be in place); one that does not
  is reported in :attr:`SentStatements.hidden`.

Work in another process is out of every counter's sight: starting one while counting (``subprocess``,
``os.system``, ``os.posix_spawn``, ``os.fork``, ``os.exec*``, ``multiprocessing``) is reported in
:attr:`SentStatements.hidden` too.

It does not see: connections opened *before* it became active and kept outside a pool (a module-level
``sqlite3`` connection), unless SQLAlchemy runs their statements; a psycopg ``connect`` bound to another
name before (``from psycopg import connect``); other drivers (psycopg2, asyncpg, apsw) and psycopg's
``AsyncConnection``; a counter switched off on a connection SQLAlchemy never used and closed before the
end (or switched back on); processes a ``multiprocessing`` fork server started before counting forks for it.
Code in the same process can always reach the counter itself: it bounds honest mistakes and the cheats
a learner would try, it is no sandbox.

It tells the statements the learner asked for from the catalog probes drivers and libraries send by
themselves and from transaction control (see :func:`~perflab.exercises.probes.is_probe`), and it measures
what came back: rows, and characters (the values' text length: a whole table squeezed into one
``group_concat`` row is still long). SQLite statements are run again, read-only, on a connection of the
counter's own to measure that; a statement that cannot be run again there (a temporary view, a function
defined on the code's connection) has no known result (fail closed), except a known write (0 rows).
"""
from __future__ import annotations

import itertools
import re
import sqlite3
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
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
#: Audit events that start another process (``os.exec`` stands for every ``os.exec*``, ``os.spawn`` for
#: ``os.spawn*``).
_NEW_PROCESS = frozenset({"subprocess.Popen", "os.system", "os.posix_spawn", "os.spawn", "os.exec", "os.fork",
                          "os.forkpty", "os.startfile"})

#: What :attr:`SentStatements.hidden` reports: (what the code did, the hint).
ANOTHER_PROCESS = ("ran work in another process ({how}): the check cannot count the SQL sent from there",
                   "send every statement from your function itself, through the engine it is given")
UNWATCHED = ("opened a database connection while a profile function was set (sys.setprofile: a profiler or a "
             "debugger), which the check cannot watch",
             "run the check without a profiler or debugger active (%prun, %debug, sys.setprofile)")
SWITCHED_OFF = ("switched off the check's statement counter on a connection (its trace callback or cursor class "
                "was replaced), so the statements sent there cannot be counted",
                "leave set_trace_callback and cursor_factory alone while the check runs")
#: The statement that asks a SQLite connection whether its trace callback still counts.
_STILL_COUNTING = "SELECT 'perflab: still counting?'"


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    """Audit hook: another process started, or a sqlite3 connection opened, while a counter is active.

    The connection is not usable yet when the event comes (``set_trace_callback`` raises), hence the one-shot
    profile function :func:`_instrument_opened`.
    """
    if not _ACTIVE:
        return
    try:
        if event in _NEW_PROCESS:
            for counter in list(_ACTIVE):
                counter.report(ANOTHER_PROCESS, how=event)
            return
        if event != _SQLITE_OPENED or getattr(_LOCAL, "unwatched", False):
            return
        current = sys.getprofile()
        if current is not None and current is not _instrument_opened:  # a profiler's or debugger's: kept
            for counter in list(_ACTIVE):
                counter._opened_unwatched.append(args[0])
            return
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


_ORDER = itertools.count()


@dataclass
class Sent:
    """One statement as the database received it; ``rows`` and ``chars`` are what it returned (None: not known)."""

    sql: str
    params: Any = None
    rows: int | None = None
    database: str | None = None  # SQLite: the file the statement ran on, for counting its rows later
    chars: int | None = None  # the text length of every value it returned
    backend: str | None = None  # "sqlite" or "postgresql": which database's probe shapes apply
    connection: int | None = None  # id() of the DBAPI connection it was sent on
    result: Any = field(default=None, repr=False)  # PostgreSQL: the psycopg PGresult, to measure chars later
    order: int = field(default_factory=_ORDER.__next__, repr=False, compare=False)  # sent before a higher one


@dataclass
class _Watched:
    """A connection a counter instruments: whether it still counts, and how to put it back."""

    still_counting: Callable[[], bool]
    undo: Callable[[], None]


class SentStatements:
    """A context manager that records every statement any DBAPI connection sends while it is active.

    >>> with SentStatements() as sent:  # doctest: +SKIP
    ...     orders_by_user(engine, ids)
    >>> len(sent.asked), sent.rows()  # doctest: +SKIP
    (1, 812)

    ``all`` holds everything the DBAPI counters saw, ``asked`` only what is not a probe (see
    :func:`~perflab.exercises.probes.is_probe`), cross-checked with what SQLAlchemy saw; ``hidden`` what the
    code did that the counter cannot see past, as (problem, hint) pairs.
    """

    def __init__(self) -> None:
        self.all: list[Sent] = []
        self.sqlalchemy: list[Sent] = []
        self.hidden: list[tuple[str, str]] = []
        self._watched: dict[int, _Watched] = {}
        self._databases: dict[int, str | None] = {}
        self._cursor_classes: dict[tuple[type, bool], type] = {}
        self._patched: list[tuple[Any, str, Any]] = []
        self._opened_unwatched: list[Any] = []

    @property
    def asked(self) -> list[Sent]:
        """The statements the code asked for (catalog probes and transaction control left out), in order.

        Per connection, the DBAPI counter's statements, or SQLAlchemy's where it saw more (a counter switched off).
        """
        counted = [s for s in self.all if not is_probe(s.sql, s.backend)]
        seen = [s for s in self.sqlalchemy if not is_probe(s.sql, s.backend)]
        by_dbapi, by_sqlalchemy = Counter(s.connection for s in counted), Counter(s.connection for s in seen)
        more = {conn for conn, n in by_sqlalchemy.items() if n > by_dbapi[conn]}
        merged = [s for s in counted if s.connection not in more] + [s for s in seen if s.connection in more]
        return sorted(merged, key=lambda s: s.order)

    def report(self, problem: tuple[str, str], **words: str) -> None:
        """Note something the code did that the counter cannot see past (the first of each kind)."""
        if all(hint != problem[1] for _, hint in self.hidden):
            self.hidden.append((problem[0].format(**words), problem[1]))

    def rows(self) -> int | None:
        """Rows the asked statements returned; SQLite statements are run again, read-only, to count them.

        None when a statement's rows cannot be known (see :meth:`unmeasured`).
        """
        return self._total("rows")

    def chars(self) -> int | None:
        """Characters the asked statements returned: every value's text length (PostgreSQL: its bytes on the wire).

        A count of rows misses a table squeezed into one row (``group_concat``, ``string_agg``, a JSON array);
        this does not. None when a statement's result cannot be known (see :meth:`unmeasured`).
        """
        return self._total("chars")

    def unmeasured(self) -> Sent | None:
        """The first asked statement whose result cannot be measured (run again, it fails), if any.

        An in-memory SQLite database, a temporary view or table, a function defined on the code's own
        connection: the counter's read-only connection has none of them. Writes count 0 rows.
        """
        return next((s for s in self.asked if _measured(s).rows is None), None)

    def _total(self, what: str) -> int | None:
        total = 0
        for s in self.asked:
            value = getattr(_measured(s), what)
            if value is None:
                return None
            total += value
        return total

    def __enter__(self) -> SentStatements:
        _install_audit_hook()
        _ACTIVE.append(self)
        event.listen(Pool, "connect", self._on_connect)
        event.listen(Pool, "checkout", self._on_checkout)
        event.listen(Engine, "after_cursor_execute", self._on_sqlalchemy)
        for owner, name, wrapped in self._patches():
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
        event.remove(Engine, "after_cursor_execute", self._on_sqlalchemy)
        if any(id(conn) not in self._watched for conn in self._opened_unwatched):
            self.report(UNWATCHED)
        self._opened_unwatched.clear()
        for watched in self._watched.values():
            if not watched.still_counting():
                self.report(SWITCHED_OFF)
            try:
                watched.undo()
            except Exception:  # noqa: S110 - the connection was closed meanwhile: nothing left to undo
                pass
        self._watched.clear()

    def _patches(self) -> list[tuple[Any, str, Any]]:
        """(owner, attribute, replacement) to set while counting: driver ``connect``\\ s and the process spawner."""
        def traced(connect: Callable[..., Any]) -> Callable[..., Any]:
            def connect_traced(*args: Any, **kwargs: Any) -> Any:
                conn = connect(*args, **kwargs)
                self._instrument(conn)
                return conn

            return connect_traced

        def reported(fork_exec: Callable[..., Any]) -> Callable[..., Any]:
            def fork_exec_reported(*args: Any, **kwargs: Any) -> Any:
                self.report(ANOTHER_PROCESS, how="a new process")  # multiprocessing's spawn: no audit event
                return fork_exec(*args, **kwargs)

            return fork_exec_reported

        found: list[tuple[Any, str, Any]] = [(module, "connect", traced(module.connect))
                 for module in {id(m): m for m in (sqlite3, sqlite3.dbapi2)}.values()]
        psycopg = sys.modules.get("psycopg")  # not imported yet: nobody can have bound its connect
        if psycopg is not None:
            found.append((psycopg, "connect", traced(psycopg.connect)))
            found.append((psycopg.Connection, "connect",
                          classmethod(traced(psycopg.Connection.__dict__["connect"].__func__))))
        try:
            import _posixsubprocess  # what multiprocessing starts a process with (not subprocess: audited)
        except ImportError:  # not on Windows
            return found
        found.append((_posixsubprocess, "fork_exec", reported(_posixsubprocess.fork_exec)))
        return found

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        self._instrument(dbapi_conn)

    def _on_checkout(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        self._instrument(dbapi_conn)

    def _on_sqlalchemy(self, conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any,
                       executemany: bool) -> None:
        """What any engine ran, as SQLAlchemy saw it: the cross-check for a DBAPI counter switched off."""
        try:
            dbapi_conn = conn.connection.dbapi_connection
        except Exception:  # an invalidated connection: its statement failed, nothing was sent
            return
        key = id(dbapi_conn)
        if isinstance(dbapi_conn, sqlite3.Connection):
            sent = Sent(statement, parameters, database=self._databases.get(key), backend="sqlite", connection=key)
            if executemany:
                sent.rows = sent.chars = 0
        else:
            backend = "postgresql" if conn.dialect.name == "postgresql" else None
            sent = Sent(statement, parameters, backend=backend, connection=key)
            if executemany:
                sent.rows = sent.chars = 0
            elif getattr(cursor, "name", None) is None and hasattr(cursor, "pgresult"):  # not server-side
                sent.rows, sent.result = max(cursor.rowcount, 0), cursor.pgresult
        self.sqlalchemy.append(sent)

    def _instrument(self, dbapi_conn: Any) -> None:
        key = id(dbapi_conn)
        if key in self._watched:
            return
        if isinstance(dbapi_conn, sqlite3.Connection):
            database = self._databases[key] = _sqlite_file(dbapi_conn)
            dbapi_conn.set_trace_callback(
                lambda sql: self.all.append(Sent(sql, database=database, backend="sqlite", connection=key)))
            self._watched[key] = _Watched(lambda: self._still_traced(dbapi_conn),
                                          lambda: dbapi_conn.set_trace_callback(None))
        elif hasattr(dbapi_conn, "cursor_factory") and type(dbapi_conn).__module__.startswith("psycopg"):
            previous = dbapi_conn.cursor_factory, dbapi_conn.server_cursor_factory
            counting = self._counting(previous[0], server=False), self._counting(previous[1], server=True)
            dbapi_conn.cursor_factory, dbapi_conn.server_cursor_factory = counting

            def undo() -> None:
                dbapi_conn.cursor_factory, dbapi_conn.server_cursor_factory = previous

            self._watched[key] = _Watched(
                lambda: (dbapi_conn.cursor_factory, dbapi_conn.server_cursor_factory) == counting, undo)

    def _still_traced(self, conn: sqlite3.Connection) -> bool:
        """Whether ``conn``'s trace callback is still this counter's (True when the connection cannot be asked)."""
        before = len(self.all)
        try:
            conn.execute(_STILL_COUNTING).close()
        except sqlite3.Error:  # closed, or made in another thread: nothing to ask
            return True
        traced = [i for i in range(before, len(self.all)) if self.all[i].sql == _STILL_COUNTING]
        for i in reversed(traced):
            del self.all[i]
        return bool(traced)

    def _counting(self, base: Any, *, server: bool) -> type:
        """A subclass of the psycopg cursor class ``base`` that records what it executes and the rows back.

        A client cursor has its whole result when ``execute`` returns; a server-side one (``server``) fetches
        it in pages: its rows and characters are added up as they are fetched.
        """
        if (base, server) not in self._cursor_classes:
            record = self.all.append

            def execute(cur: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
                result = base.execute(cur, query, params, **kwargs)
                sent = Sent(_sql_text(query, cur), params, 0, chars=0, backend="postgresql",
                            connection=id(cur.connection))
                if server:
                    cur._perflab_sent = sent
                else:
                    sent.rows, sent.chars, sent.result = max(cur.rowcount, 0), None, cur.pgresult
                record(sent)
                return result

            def executemany(cur: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
                result = base.executemany(cur, query, params_seq, **kwargs)
                record(Sent(_sql_text(query, cur), None, 0, chars=0, backend="postgresql",
                            connection=id(cur.connection)))
                return result

            methods: dict[str, Any] = {"execute": execute, "executemany": executemany}
            methods.update(_fetch_counters(base) if server else _stream_and_copy_counters(base, record))
            self._cursor_classes[base, server] = type(f"Counting{base.__name__}", (base,), methods)
        return self._cursor_classes[base, server]


def _stream_and_copy_counters(base: Any, record: Callable[[Sent], None]) -> dict[str, Any]:
    """Client cursor methods that send SQL without ``execute``: ``stream`` and ``copy``, counted with their rows.

    ``stream`` yields the rows one by one, ``copy`` hands out a :class:`psycopg.Copy` whose ``read`` and
    ``read_row`` return the data of a ``COPY ... TO STDOUT`` (one row each): both add what they hand over to
    the statement's :class:`Sent`, as a server-side cursor's fetches do.
    """
    def sent_by(cur: Any, query: Any, params: Any) -> Sent:
        sent = Sent(_sql_text(query, cur), params, 0, chars=0, backend="postgresql", connection=id(cur.connection))
        record(sent)
        return sent

    def stream(cur: Any, query: Any, params: Any = None, **kwargs: Any) -> Iterator[Any]:
        sent = sent_by(cur, query, params)  # counted when called, before the first row is asked for

        def rows() -> Iterator[Any]:
            for row in base.stream(cur, query, params, **kwargs):
                _received(sent, [row])
                yield row

        return rows()

    @contextmanager
    def copy(cur: Any, statement: Any, params: Any = None, **kwargs: Any) -> Iterator[Any]:
        sent = sent_by(cur, statement, params)
        with base.copy(cur, statement, params, **kwargs) as copying:
            read, read_row = copying.read, copying.read_row

            def counted_read() -> Any:
                data = read()
                if data:
                    _received(sent, [(bytes(data),)])  # one row of text, as COPY sends it
                return data

            def counted_read_row() -> Any:
                row = read_row()
                if row is not None:
                    _received(sent, [row])
                return row

            copying.read, copying.read_row = counted_read, counted_read_row  # rows() and iter() call these
            yield copying

    return {"stream": stream, "copy": copy}


def _fetch_counters(base: Any) -> dict[str, Any]:
    """Server-side cursor methods that add the rows they fetch to the statement's :class:`Sent`."""
    def fetched(cur: Any, rows: list[Any]) -> list[Any]:
        sent = getattr(cur, "_perflab_sent", None)
        if sent is not None:
            _received(sent, rows)
        return rows

    def fetchone(cur: Any) -> Any:
        row = base.fetchone(cur)
        fetched(cur, [] if row is None else [row])
        return row

    def fetchmany(cur: Any, size: int = 0) -> list[Any]:
        return fetched(cur, base.fetchmany(cur, size))

    def fetchall(cur: Any) -> list[Any]:
        return fetched(cur, base.fetchall(cur))

    def next_row(cur: Any) -> Any:
        row = base.__next__(cur)
        fetched(cur, [row])
        return row

    return {"fetchone": fetchone, "fetchmany": fetchmany, "fetchall": fetchall, "__next__": next_row}


def _received(sent: Sent, rows: list[Any]) -> None:
    """Add rows a cursor handed over (fetched, streamed, copied) to its statement's rows and characters."""
    sent.rows = (sent.rows or 0) + len(rows)
    sent.chars = (sent.chars or 0) + sum(_text_length(value) for row in rows for value in _values(row))


def _values(row: Any) -> Iterable[Any]:
    if isinstance(row, Mapping):
        return row.values()
    return row if isinstance(row, (tuple, list)) else (row,)


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


def _measured(sent: Sent) -> Sent:
    """``sent`` with its rows and characters filled in where they can be known (measured once)."""
    if sent.rows is None and sent.backend == "sqlite" and sent.database:
        sent.rows, sent.chars = _measure_sqlite_result(sent.database, sent.sql, sent.params)
    if sent.chars is None and sent.result is not None:
        sent.chars = _pg_result_chars(sent.result)
    return sent


def _pg_result_chars(result: Any) -> int:
    """Bytes of every value in a psycopg PGresult, as the server sent them."""
    value = result.get_value
    fields = range(result.nfields)
    return sum(len(value(row, col) or b"") for row in range(result.ntuples) for col in fields)


#: A statement that writes and returns nothing: run again read-only it fails, and it sent back 0 rows.
_WRITE = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|ATTACH|DETACH|VACUUM|ANALYZE|REINDEX)\b",
                    re.IGNORECASE)


def _measure_sqlite_result(database: str, sql: str, params: Any = None) -> tuple[int | None, int | None]:
    """(rows, characters) a SQLite statement returns, run again read-only; (None, None) when it cannot be.

    Traced statements come with their values in the text (``params`` None), SQLAlchemy's with ``params``.
    A statement that fails there is a known write (0 rows) or has no known result: a temporary view or
    table, a function defined on the code's connection, another attached database.
    """
    _LOCAL.unwatched = True  # the counter's own connection: not counted, even while a counter is active
    try:
        conn = _sqlite_connect(f"file:{database}?mode=ro", uri=True)
    finally:
        _LOCAL.unwatched = False
    try:
        rows = conn.execute(sql, params or ()).fetchall()
    except sqlite3.Error:
        write = _WRITE.match(sql) and not re.search(r"\bRETURNING\b", sql, re.IGNORECASE)
        return (0, 0) if write else (None, None)
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
