"""Injected latency: a fixed delay per database round trip, to play a database across a network.

>>> import sqlalchemy as sa
>>> from perflab.latency import inject_latency
>>> engine = sa.create_engine("sqlite://")
>>> with inject_latency(engine, 1.0):           # every round trip now waits ~1 ms first
...     with engine.connect() as conn:
...         conn.exec_driver_sql("SELECT 1").scalar()
1

This is a **simulation**. SQLite runs inside the Python process, so a query costs microseconds;
a real database server is a network round trip away, and every statement pays that round trip
(0.2-1 ms on one data-centre network, 5-50 ms across regions). ``inject_latency`` sleeps for a
fixed ``ms`` before each round trip, so the cost of *how many* round trips you make shows up the way
it would over a network. It does not simulate bandwidth, jitter, packet loss or server load.

What counts as one round trip:

- each statement (SQLAlchemy's ``before_cursor_execute`` event). ``executemany`` (a list of
  parameter sets) is one statement and pays the delay once, like a pipelined batch would;
- each BEGIN, COMMIT and ROLLBACK (the connection events ``begin``, ``commit``, ``rollback``): a
  driver such as psycopg sends them to the server as statements of their own, so a transaction per
  row pays two more round trips per row. ``with engine.connect() as conn: ...`` without a commit
  ends in a ROLLBACK, so it pays BEGIN + its statements + ROLLBACK. (SQLite's driver sends no
  BEGIN over any network, of course; the simulation plays a server database.)

Every sleep is measured: the query log (:mod:`perflab.querylog`) books the time *actually* slept
(``time.sleep`` overshoots by the scheduler's wake-up delay), not the nominal ``ms``. It learns it
through :func:`watch_sleeps`.

Blocking and asyncio:

- A normal engine sleeps with ``time.sleep`` in the thread that runs the statement. In a worker
  thread (``await asyncio.to_thread(fn)``) the event loop stays free meanwhile; called directly on
  the loop's thread it blocks every task, as any blocking driver would.
- An ``AsyncEngine`` (``sqlite+aiosqlite://``, ``postgresql+psycopg_async://``) runs the event hooks
  inside SQLAlchemy's greenlet adapter, on the event loop's thread. There the delay is
  ``asyncio.sleep``, awaited through ``sqlalchemy.util.await_`` (``await_only`` before 2.1): the
  hook waits without blocking the loop, so ``asyncio.gather`` of ten queries overlaps their round
  trips as on a network.

Accuracy: ``time.sleep`` overshoots by the scheduler's wake-up delay (on Linux typically
0.05-0.2 ms, more on a busy or virtual machine). :func:`overshoot` measures it on this machine.
:func:`precise_sleep` gets within a few microseconds by spinning for the last 0.3 ms, at the cost of
CPU and of holding the GIL while it spins; pass it as ``sleep=precise_sleep`` when accuracy matters
more than concurrency.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import statistics
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

import sqlalchemy.util
from sqlalchemy import event
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError

#: Largest delay accepted, in milliseconds (a typo such as 1000 for 1 still works, 10 minutes does not).
MAX_LATENCY_MS = 10_000.0

#: How long :func:`precise_sleep` spins at the end of each sleep, in seconds.
SPIN_SECONDS = 0.0003

#: The connection events that are a round trip of their own, and the name a log shows for each.
TRANSACTION_EVENTS = {"begin": "BEGIN", "commit": "COMMIT", "rollback": "ROLLBACK"}

Sleep = Callable[[float], object]
Clock = Callable[[], float]
#: ``callback(kind, cursor, seconds)``: kind is ``statement`` (cursor given) or ``BEGIN``/``COMMIT``/``ROLLBACK``.
SleepWatcher = Callable[[str, Any, float], None]

# Waits for an awaitable from inside a sync hook run by SQLAlchemy's asyncio greenlet adapter
# (named await_only before SQLAlchemy 2.1).
_await: Callable[[Any], Any] = getattr(sqlalchemy.util, "await_", None) or sqlalchemy.util.await_only


class _Latency:
    """One engine's injected delay (0: off), its listeners and who watches its sleeps.

    One per engine, for the engine's lifetime: switching the delay on and off (a slider) adds and
    removes the same four listeners, and creates nothing else.
    """

    __slots__ = ("seconds", "sleep", "clock", "watchers", "listening", "__weakref__")

    def __init__(self) -> None:
        self.seconds = 0.0
        self.sleep: Sleep = time.sleep
        self.clock: Clock = time.perf_counter
        self.watchers: tuple[SleepWatcher, ...] = ()
        self.listening = False

    def _pause(self, kind: str, cursor: Any) -> None:
        clock = self.clock
        start = clock()
        waiting = self.sleep(self.seconds)
        if waiting is not None and inspect.isawaitable(waiting):
            _await(waiting)
        slept = clock() - start
        for watcher in self.watchers:
            watcher(kind, cursor, slept)

    def before_cursor_execute(self, conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
                              executemany: bool) -> None:
        self._pause("statement", cursor)

    def begin(self, conn: Any) -> None:
        self._pause("BEGIN", None)

    def commit(self, conn: Any) -> None:
        self._pause("COMMIT", None)

    def rollback(self, conn: Any) -> None:
        self._pause("ROLLBACK", None)

    def switch(self, engine: Engine, on: bool) -> None:
        """Add or remove the listeners (no-op if already in that state)."""
        if on == self.listening:
            return
        for name in ("before_cursor_execute", *TRANSACTION_EVENTS):
            (event.listen if on else event.remove)(engine, name, getattr(self, name))
        self.listening = on


_LATENCY: weakref.WeakKeyDictionary[Engine, _Latency] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _latency_of(engine: Engine) -> _Latency:
    state = _LATENCY.get(engine)
    if state is None:
        state = _LATENCY[engine] = _Latency()
    return state


def engine_of(obj: object, what: str = "engine") -> Engine:
    """The sync :class:`~sqlalchemy.engine.Engine` behind an Engine, Connection, Session or AsyncEngine.

    >>> import sqlalchemy as sa
    >>> e = sa.create_engine("sqlite://")
    >>> engine_of(e) is e
    True

    Parameters:
        obj: an Engine, a Connection (its engine), an ORM Session bound to one engine, or an
            AsyncEngine / AsyncConnection (its ``sync_engine``).
        what: the argument's name, used in the error message.
    """
    if isinstance(obj, Engine):
        return obj
    sync = getattr(obj, "sync_engine", None)  # AsyncEngine, AsyncConnection
    if isinstance(sync, Engine):
        return sync
    engine = getattr(obj, "engine", None)  # Connection
    if isinstance(engine, Engine):
        return engine
    get_bind = getattr(obj, "get_bind", None)  # Session
    if callable(get_bind):
        try:
            bind = get_bind()
        except Exception:  # an unbound session: reported below
            bind = None
        if isinstance(bind, Engine):
            return bind
        if isinstance(getattr(bind, "engine", None), Engine):
            return bind.engine
    raise PerflabError(
        f"{what} must be a SQLAlchemy Engine (or a Connection/Session bound to one), "
        f"got {type(obj).__name__}; use perflab.connect() to get one"
    )


def _check_ms(ms: object) -> float:
    try:
        value = float(ms)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PerflabError(f"latency must be a number of milliseconds, got {ms!r} (e.g. 1 or 0.5)") from None
    if math.isnan(value) or value < 0:
        raise PerflabError(f"latency must be >= 0 ms, got {ms!r} (0 removes it)")
    if value > MAX_LATENCY_MS:
        raise PerflabError(
            f"latency must be <= {MAX_LATENCY_MS:g} ms, got {ms!r} "
            "(it is in milliseconds, not seconds: 1 ms is a fast LAN)"
        )
    return value


class LatencyHandle:
    """What :func:`inject_latency` returns: remove the delay, or use it as a context manager.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> handle = inject_latency(engine, 2)
    >>> handle
    <injected latency: 2 ms per round trip>
    >>> handle.remove()
    >>> current_latency(engine)
    0.0

    Leaving a ``with`` block restores the delay that was in place before it (e.g. the 1 ms from
    ``perflab.connect(latency_ms=1)``); :meth:`remove` switches injected latency off altogether.
    """

    def __init__(self, engine: Engine, ms: float, previous_ms: float) -> None:
        self.engine = engine
        self.ms = ms
        self.previous_ms = previous_ms

    def remove(self) -> None:
        """Remove the injected delay from the engine (statements run at full speed again)."""
        remove_latency(self.engine)

    def __enter__(self) -> LatencyHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        state = _latency_of(self.engine)
        inject_latency(self.engine, self.previous_ms, sleep=state.sleep, clock=state.clock)

    def __repr__(self) -> str:
        return f"<injected latency: {self.ms:g} ms per round trip>"


def inject_latency(engine: object, ms: float, *, sleep: Sleep | None = None,
                   clock: Clock | None = None) -> LatencyHandle:
    """Delay every round trip on ``engine`` by ``ms`` milliseconds, to simulate a network.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> _ = inject_latency(engine, 0.5)
    >>> current_latency(engine)
    0.5
    >>> _ = inject_latency(engine, 0)       # 0 removes it
    >>> current_latency(engine)
    0.0

    One delay per engine: calling it again replaces the delay, ``ms=0`` removes it. A round trip is
    each statement and each BEGIN / COMMIT / ROLLBACK (see the module docs, also for asyncio).

    Parameters:
        engine: the Engine (or a Connection/Session/AsyncEngine bound to it).
        ms: delay per round trip in milliseconds, 0 to 10000.
        sleep: the function that waits, given seconds; it may return an awaitable, which is awaited
            on an AsyncEngine (default ``asyncio.sleep`` for an AsyncEngine, else ``time.sleep``;
            tests pass a fake; :func:`precise_sleep` is more accurate but spins).
        clock: the timer that measures each sleep, in seconds (default ``time.perf_counter``; a
            test passes the fake clock its fake sleep advances).
    """
    target = engine_of(engine)
    value = _check_ms(ms)
    with _LOCK:
        state = _latency_of(target)
        previous = state.seconds * 1000.0
        state.seconds = value / 1000.0
        if sleep is not None:
            state.sleep = sleep
        else:
            state.sleep = asyncio.sleep if target.dialect.is_async else time.sleep
        state.clock = clock or time.perf_counter
        state.switch(target, value > 0)
    return LatencyHandle(target, value, previous)


def remove_latency(engine: object) -> None:
    """Remove any injected delay from ``engine`` (no error if there is none).

    >>> import sqlalchemy as sa
    >>> remove_latency(sa.create_engine("sqlite://"))
    """
    inject_latency(engine, 0)


def current_latency(engine: object) -> float:
    """The delay injected into ``engine`` per round trip, in milliseconds (0.0 if none).

    >>> import sqlalchemy as sa
    >>> current_latency(sa.create_engine("sqlite://"))
    0.0
    """
    state = _LATENCY.get(engine_of(engine))
    return state.seconds * 1000.0 if state else 0.0


def watch_sleeps(engine: object, callback: SleepWatcher) -> Callable[[], None]:
    """Call ``callback(kind, cursor, seconds)`` after each injected sleep on ``engine``; returns the undo.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> seen = []
    >>> unwatch = watch_sleeps(engine, lambda kind, cursor, seconds: seen.append(kind))
    >>> with inject_latency(engine, 0.1), engine.connect() as conn:
    ...     _ = conn.exec_driver_sql("SELECT 1").all()
    >>> unwatch()
    >>> seen
    ['BEGIN', 'statement', 'ROLLBACK']

    ``seconds`` is the time actually slept, measured around the sleep; ``cursor`` is the DBAPI cursor
    of the statement about to run (None for BEGIN / COMMIT / ROLLBACK). The query log uses this to
    book honest figures; the watch outlives switching the delay off and on.

    Parameters:
        engine: the Engine (or a Connection/Session/AsyncEngine bound to it).
        callback: called in the thread (or greenlet) that slept, right after the sleep.
    """
    target = engine_of(engine)
    with _LOCK:
        state = _latency_of(target)
        state.watchers = (*state.watchers, callback)

    def unwatch() -> None:
        with _LOCK:
            state.watchers = tuple(w for w in state.watchers if w is not callback)

    return unwatch


async def roundtrip(ms: float) -> None:
    """Wait ``ms`` milliseconds without blocking the event loop: one simulated network round trip.

    >>> import asyncio
    >>> asyncio.run(roundtrip(1))

    Use it in coroutines that stand for a network call (an HTTP request, a query on an async
    driver): ten of them under ``asyncio.gather`` take about one round trip, not ten.

    Parameters:
        ms: how long to wait, in milliseconds (0 to 10000).
    """
    await asyncio.sleep(_check_ms(ms) / 1000.0)


def precise_sleep(seconds: float) -> None:
    """Sleep ``seconds`` to within a few microseconds: ``time.sleep`` then a short spin.

    >>> precise_sleep(0.001)

    Sleeps all but the last :data:`SPIN_SECONDS` (0.3 ms), then busy-waits on
    ``time.perf_counter``. It burns CPU and holds the GIL while spinning, so other threads (and an
    event loop) may wait up to 0.3 ms; use it for sequential measurements, not for concurrency demos.

    Parameters:
        seconds: how long to wait.
    """
    clock = time.perf_counter
    deadline = clock() + seconds
    if seconds > SPIN_SECONDS:
        time.sleep(seconds - SPIN_SECONDS)
    while clock() < deadline:
        pass


def overshoot(ms: float = 1.0, n: int = 200, *, sleep: Sleep = time.sleep) -> dict[str, float]:
    """Measure how much longer than asked a sleep of ``ms`` takes on this machine, in milliseconds.

    >>> stats = overshoot(0.5, n=5)
    >>> sorted(stats)
    ['max_ms', 'mean_ms', 'median_ms']

    Parameters:
        ms: the requested sleep in milliseconds.
        n: how many sleeps to time (n * ms is how long this takes).
        sleep: the sleep to measure (``time.sleep`` or :func:`precise_sleep`).
    """
    seconds = _check_ms(ms) / 1000.0
    if n < 1:
        raise PerflabError(f"n must be >= 1, got {n}")
    clock = time.perf_counter
    extra = []
    for _ in range(n):
        start = clock()
        sleep(seconds)
        extra.append((clock() - start - seconds) * 1000.0)
    return {
        "mean_ms": statistics.fmean(extra),
        "median_ms": statistics.median(extra),
        "max_ms": max(extra),
    }
