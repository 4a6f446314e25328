"""Hold tables locked while a learner's function runs: a read through any connection waits, and is seen waiting.

>>> with Lockout(engine, ("users", "orders")) as lock:  # doctest: +SKIP
...     value, waited = lock.run(lambda: summary(7), limit=1.0)
>>> waited  # True: summary(7) read users or orders, on whatever connection  # doctest: +SKIP
False

:class:`~perflab.exercises.dbapi.SentStatements` counts the statements of the connections it can
reach; one opened before counting started (a module-level ``sqlite3`` or ``psycopg`` connection)
escapes it. A lock the database holds reaches every connection: while the check holds the tables, a
function that reads them waits for the lock. Each :meth:`Lockout.run` takes the lock, calls the
function under a deadline and lets the lock go; a function still running at the deadline gets the
lock released (so it finishes, on any driver's busy timeout) and is reported as having waited.

- SQLite: ``BEGIN EXCLUSIVE`` on a connection of the lock's own, in the rollback-journal modes (the
  dataset's). In WAL mode readers never wait for a writer, so nothing is held (``held`` is False, and
  ``run`` only runs the function); nor for a database in memory, which no other connection can open.
- PostgreSQL: ``LOCK TABLE ... IN ACCESS EXCLUSIVE MODE`` in a transaction of the lock's own (a
  connection from the engine's pool), after ``SET LOCAL lock_timeout``.

Taking the lock waits at most ``wait`` seconds for the transactions that already use the tables; then
:class:`LockUnavailable` says so (an open transaction elsewhere, a cursor left half read).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from perflab.errors import PerflabError

if TYPE_CHECKING:
    from sqlalchemy import Engine


class LockUnavailable(PerflabError):
    """The tables could not be locked within ``wait`` seconds: another connection is using them."""


class Lockout:
    """A context manager holding ``tables`` of ``engine``'s database locked during each :meth:`run`.

    Parameters: ``engine``, ``tables`` (names in the engine's schema), ``wait`` (seconds to wait for
    the lock before :class:`LockUnavailable`).
    """

    def __init__(self, engine: Engine, tables: Sequence[str], *, wait: float = 2.0) -> None:
        self.engine = engine
        self.tables = tuple(tables)
        self.wait = wait
        self.held = False
        self._conn: Any = None
        self._pooled: Any = None
        self._guard = threading.Lock()
        self._locked = False

    def __enter__(self) -> Lockout:
        if self.engine.dialect.name == "postgresql":
            self._pooled = self.engine.raw_connection()
            self._conn = self._pooled.driver_connection
            self.held = True
        else:
            database = self.engine.url.database
            if database and database != ":memory:":
                self._conn = sqlite3.connect(database, timeout=self.wait, isolation_level=None,
                                             check_same_thread=False)
                mode = str(self._conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
                self.held = mode != "wal"
        return self

    def __exit__(self, *exc: object) -> None:
        self._release()
        if self._pooled is not None:
            self._pooled.close()
        elif self._conn is not None:
            self._conn.close()
        self._conn = self._pooled = None

    def run(self, fn: Callable[[], Any], *, limit: float) -> tuple[Any, bool]:
        """``(fn(), waited)``: call ``fn`` with the tables locked; ``waited`` if it was still running after
        ``limit`` seconds (the lock is then released, so it can finish). Exceptions of ``fn`` propagate."""
        if not self.held:
            return fn(), False
        self._take()
        fired = threading.Event()

        def deadline() -> None:
            fired.set()
            self._release()

        timer = threading.Timer(limit, deadline)
        timer.daemon = True
        timer.start()
        try:
            value = fn()
        finally:
            timer.cancel()
            self._release()
        return value, fired.is_set()

    def _take(self) -> None:
        names = ", ".join(self.tables)
        try:
            if self.engine.dialect.name == "postgresql":
                with self._conn.cursor() as cur:
                    cur.execute(f"SET LOCAL lock_timeout = '{int(self.wait * 1000)}ms'")
                    cur.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            else:
                self._conn.execute("BEGIN EXCLUSIVE")
        except Exception as exc:
            self._conn.rollback()
            raise LockUnavailable(f"could not lock {names} within {self.wait:g} s: {exc}") from None
        with self._guard:
            self._locked = True

    def _release(self) -> None:
        with self._guard:
            if self._locked:
                self._conn.rollback()
                self._locked = False
