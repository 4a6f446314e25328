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
or a ``pg_catalog`` query), and from transaction control, by their whole shape (see :func:`is_probe`: a
table alias ``pg_o`` or a comment ``/* sqlite_master */`` does not make a statement a probe), and it
measures what came back: rows, and characters (the values' text length: a whole table squeezed into one
``group_concat`` row is still long).
"""
from __future__ import annotations

import re
import sqlite3
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

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

_LEADING_COMMENTS = re.compile(r"^(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)+", re.DOTALL)
_STRING = r"'(?:[^']|'')*'"
_QUOTED = r'"(?:[^"]|"")*"'

#: Transaction control and session settings: one statement, nothing after it.
_CONTROL = re.compile(r"(?:BEGIN|COMMIT|ROLLBACK|END|SAVEPOINT|RELEASE|SET|SHOW|RESET|DISCARD)\b[^;]*", re.IGNORECASE)

#: SQLite: a PRAGMA (``PRAGMA main.table_info("orders")``: pandas and SQLAlchemy ask it whether a name is a table).
_PRAGMA = re.compile(rf"PRAGMA\s+(?:\w+\.)?\w+\s*(?:\(\s*(?:{_QUOTED}|{_STRING}|\w+)\s*\)|=\s*(?:{_STRING}|[\w-]+))?",
                     re.IGNORECASE)

#: SQLite: a lookup in the schema table, as SQLAlchemy's inspector and pandas send it, and nothing else: only the
#: schema table's columns, literal conditions on them (no subquery, no other table), ordered by name.
_SQLITE_SCHEMA = r"(?:(?:main|temp)\.)?sqlite_(?:temp_)?(?:master|schema)"
_SQLITE_COLUMN = r"(?:name|type|tbl_name|sql|rootpage)"
_SQLITE_TERM = (rf"(?:{_SQLITE_COLUMN}|{_STRING}|\?|:\w+|=|!=|<>|AND|OR|NOT|LIKE|GLOB|ESCAPE|IS|NULL|IN"
                rf"|\(\s*{_STRING}(?:\s*,\s*{_STRING})*\s*\))")
_SQLITE_CATALOG = re.compile(
    rf"SELECT\s+(?:\*|{_SQLITE_COLUMN}(?:\s*,\s*{_SQLITE_COLUMN})*)\s+FROM\s+"
    rf"(?:{_SQLITE_SCHEMA}|\(\s*SELECT\s+\*\s+FROM\s+{_SQLITE_SCHEMA}\s+UNION\s+ALL\s+SELECT\s+\*\s+FROM\s+"
    rf"{_SQLITE_SCHEMA}\s*\))"
    rf"(?:\s+WHERE(?:\s*{_SQLITE_TERM})+)?(?:\s+ORDER\s+BY\s+{_SQLITE_COLUMN})?\s*",
    re.IGNORECASE)

#: PostgreSQL: the catalog relations SQLAlchemy's inspector reads (pandas asks it whether a name is a table)...
_PG_RELATIONS = frozenset({
    "pg_am", "pg_attrdef", "pg_attribute", "pg_class", "pg_collation", "pg_constraint", "pg_depend", "pg_description",
    "pg_enum", "pg_index", "pg_indexes", "pg_inherits", "pg_matviews", "pg_namespace", "pg_opclass", "pg_proc",
    "pg_sequence", "pg_tables", "pg_tablespace", "pg_type", "pg_views",
    "information_schema.columns", "information_schema.schemata", "information_schema.tables",
    "information_schema.views",
})
#: ... and the functions these lookups call: nothing that runs SQL given as text (query_to_xml) or reads a table.
_PG_FUNCTIONS = frozenset({
    "any", "array_agg", "bool_and", "bool_or", "coalesce", "count", "current_schema", "current_setting",
    "format_type", "generate_subscripts", "json_build_object", "max", "min", "pg_collation_is_visible",
    "pg_get_constraintdef", "pg_get_expr", "pg_get_indexdef", "pg_get_serial_sequence", "pg_get_viewdef",
    "pg_table_is_visible", "pg_type_is_visible", "unnest", "version",
    # keywords a parenthesis follows
    "and", "array", "as", "cast", "else", "exists", "filter", "from", "in", "join", "not", "on", "or", "over", "then",
    "when", "where",
})
_PG_NO_FROM = re.compile(r"SELECT\s+(?:pg_catalog\.)?(?:current_schema|version)\s*\(\s*\)\s*", re.IGNORECASE)


_CLAUSE = re.compile(rf"{_STRING}|{_QUOTED}|[()\[\],]|\b(?:FROM|WHERE|GROUP|ORDER|HAVING|LIMIT|OFFSET|WINDOW|UNION"
                     r"|EXCEPT|INTERSECT|SELECT)\b", re.IGNORECASE)


def _comma_join(text: str) -> bool:
    """True when a FROM list has a comma at its own level (``FROM pg_class, orders``): a table joined unseen."""
    in_from = [False]
    for token in _CLAUSE.finditer(text):
        word = token.group().upper()
        if word in ("(", "["):
            in_from.append(False)
        elif word in (")", "]"):
            if len(in_from) > 1:
                in_from.pop()
        elif word == ",":
            if in_from[-1]:
                return True
        elif word[0] not in "'\"":
            in_from[-1] = word == "FROM"
    return False


def _pg_catalog_lookup(text: str) -> bool:
    """A SELECT that reads only catalog relations and calls only the functions catalog lookups call."""
    if _PG_NO_FROM.fullmatch(text):
        return True
    if not re.match(r"SELECT\b", text, re.IGNORECASE) or ";" in text or re.search(r"\bTABLE\b", text, re.IGNORECASE):
        return False
    relations = re.findall(r"\b(?:FROM|JOIN)\s*(\(|[\w.]+)", text, re.IGNORECASE)
    if not relations or any(r != "(" and r.lower().removeprefix("pg_catalog.") not in _PG_RELATIONS
                            for r in relations):
        return False
    calls = re.findall(r'([\w.]+|"[^"]*")\s*\(', text)
    return all(c.lower().removeprefix("pg_catalog.") in _PG_FUNCTIONS for c in calls) and not _comma_join(text)


def is_probe(sql: str, backend: str | None = None) -> bool:
    """True for statements nobody asked for by name: catalog lookups, PRAGMAs and transaction control.

    >>> is_probe('PRAGMA main.table_info("SELECT 1")'), is_probe("BEGIN"), is_probe("SELECT id FROM users")
    (True, True, False)
    >>> is_probe("select current_schema()"), is_probe("SELECT relname FROM pg_catalog.pg_class")
    (True, True)
    >>> is_probe("SELECT pg_o.id FROM orders AS pg_o"), is_probe("SELECT id FROM orders /* sqlite_master */")
    (False, False)

    A probe is recognised by its whole shape, from its first word (after leading comments) to its last, as
    pandas and SQLAlchemy send it; anything else counts, whatever names or comments it contains.
    Parameters: ``backend``, "sqlite" or "postgresql" (None: either): only that database's probe shapes.
    """
    text = _LEADING_COMMENTS.sub("", sql).strip().removesuffix(";").rstrip()
    if _CONTROL.fullmatch(text):
        return True
    if backend != "postgresql" and (_PRAGMA.fullmatch(text) or _SQLITE_CATALOG.fullmatch(text)):
        return True
    return backend != "sqlite" and _pg_catalog_lookup(text)


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

    ``all`` holds everything, ``asked`` only what is not a probe (see :func:`is_probe`).
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
