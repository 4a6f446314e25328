"""Count the SQL a function sends where it cannot hide it: on every DBAPI connection, through any engine.

>>> import sqlalchemy as sa
>>> engine = sa.create_engine("sqlite://")
>>> with SentStatements() as sent:
...     with engine.connect() as conn:
...         _ = conn.exec_driver_sql("SELECT 1").all()
...     raw = engine.raw_connection()
...     _ = raw.cursor().execute("SELECT 2").fetchall()
...     raw.close()
>>> [s.sql for s in sent.asked]
['SELECT 1', 'SELECT 2']

A query log listens to one engine's SQLAlchemy events; a learner's ``engine.raw_connection()``, a second
engine or a plain ``sqlite3`` cursor would get past it. This counter instruments every DBAPI connection
a pool hands out while it is active (SQLite: ``set_trace_callback``; PostgreSQL: a counting
psycopg cursor class), and tells the statements the learner asked for from the catalog probes
drivers and libraries send by themselves (pandas' ``read_sql`` first asks whether its string is a
table name: ``PRAGMA table_info``, or a ``pg_catalog`` query), and from transaction control.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

_CONTROL = {"PRAGMA", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW", "RESET", "DISCARD", "END"}
_CATALOG = re.compile(r"\b(pg_catalog|information_schema|pg_[a-z_]+|sqlite_master|sqlite_schema|sqlite_temp_master)\b"
                      r"|\bcurrent_schema\s*\(\s*\)", re.IGNORECASE)


def is_probe(sql: str) -> bool:
    """True for statements nobody asked for by name: catalog lookups, PRAGMAs and transaction control.

    >>> is_probe('PRAGMA main.table_info("SELECT 1")'), is_probe("BEGIN"), is_probe("SELECT id FROM users")
    (True, True, False)
    >>> is_probe("select current_schema()"), is_probe("SELECT relname FROM pg_catalog.pg_class")
    (True, True)
    """
    text = re.sub(r"^(\s|--[^\n]*\n|/\*.*?\*/)+", "", sql, flags=re.DOTALL)
    first = text.split(None, 1)[0].upper().rstrip(";") if text.strip() else ""
    return first in _CONTROL or bool(_CATALOG.search(text))


@dataclass
class Sent:
    """One statement as the database received it; ``rows`` is what it returned (None: not known yet)."""

    sql: str
    params: Any = None
    rows: int | None = None
    database: str | None = None  # SQLite: the file the statement ran on, for counting its rows later


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

    @property
    def asked(self) -> list[Sent]:
        """The statements the code asked for (catalog probes and transaction control left out)."""
        return [s for s in self.all if not is_probe(s.sql)]

    def rows(self) -> int | None:
        """Rows the asked statements returned; SQLite statements are run again, read-only, to count them.

        None when a statement's rows cannot be known (an in-memory SQLite database).
        """
        total = 0
        for s in self.asked:
            if s.rows is None and s.database:
                s.rows = _count_sqlite_rows(s.database, s.sql)
            if s.rows is None:
                return None
            total += s.rows
        return total

    def __enter__(self) -> SentStatements:
        event.listen(Pool, "connect", self._on_connect)
        event.listen(Pool, "checkout", self._on_checkout)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(Pool, "connect", self._on_connect)
        event.remove(Pool, "checkout", self._on_checkout)
        for undo in self._undo.values():
            try:
                undo()
            except Exception:  # noqa: S110 - the connection was closed meanwhile: nothing left to undo
                pass
        self._undo.clear()

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        self._instrument(dbapi_conn)

    def _on_checkout(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        self._instrument(dbapi_conn)

    def _instrument(self, dbapi_conn: Any) -> None:
        if id(dbapi_conn) in self._undo:
            return
        if isinstance(dbapi_conn, sqlite3.Connection):
            database = _sqlite_file(dbapi_conn)
            dbapi_conn.set_trace_callback(lambda sql: self.all.append(Sent(sql, database=database)))
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
                record(Sent(_sql_text(query, cur), params, max(cur.rowcount, 0)))
                return result

            def executemany(cur: Any, query: Any, params_seq: Any, **kwargs: Any) -> Any:
                result = base.executemany(cur, query, params_seq, **kwargs)
                record(Sent(_sql_text(query, cur), None, 0))
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


def _count_sqlite_rows(database: str, sql: str) -> int:
    """Rows a (traced, so already expanded) SQLite statement returns, run again on a read-only connection."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return len(conn.execute(sql).fetchall())
    except sqlite3.Error:
        return 0  # a write, or a statement that only made sense in its own transaction
    finally:
        conn.close()
