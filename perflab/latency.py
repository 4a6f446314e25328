"""Injected latency: a fixed delay per database round trip, to play a database across a network.

>>> import sqlalchemy as sa
>>> from perflab.latency import inject_latency
>>> engine = sa.create_engine("sqlite://")
>>> with inject_latency(engine, 1.0):           # every statement now waits ~1 ms first
...     with engine.connect() as conn:
...         conn.exec_driver_sql("SELECT 1").scalar()
1

This is a **simulation**. SQLite runs inside the Python process, so a query costs microseconds;
a real database server is a network round trip away, and every statement pays that round trip
(0.2-1 ms on one data-centre network, 5-50 ms across regions). ``inject_latency`` sleeps for a
fixed ``ms`` before each statement is sent (SQLAlchemy's ``before_cursor_execute`` event), so
the cost of *how many* statements you run shows up the way it would over a network. It does not
simulate bandwidth, jitter, packet loss or server load.

What counts as one round trip: one cursor execution. ``executemany`` (a list of parameter sets)
is one statement and pays the delay once, like a pipelined batch would.

Blocking and asyncio: the delay is ``time.sleep``, which blocks *the thread running the statement*.

- Statements run in a worker thread (``await asyncio.to_thread(fn)``): the event loop stays free
  and other tasks keep running while the statement "waits for the network". This is how the
  notebooks batch queries concurrently.
- SQLAlchemy's ``AsyncEngine`` runs the sync event hooks on the event loop's own thread (through
  greenlets), so the sleep there would **block the whole event loop**: every task stops for the
  delay. The simulation is wrong for that case; use ``asyncio.to_thread`` with a normal engine, or
  ``await roundtrip(ms)`` in your own coroutine to simulate the wait without blocking the loop.

Accuracy: ``time.sleep`` overshoots by the scheduler's wake-up delay (on Linux typically
0.05-0.2 ms, more on a busy or virtual machine). :func:`overshoot` measures it on this machine.
:func:`precise_sleep` gets within a few microseconds by spinning for the last 0.3 ms, at the cost of
CPU and of holding the GIL while it spins; pass it as ``sleep=precise_sleep`` when accuracy matters
more than concurrency.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError

#: Largest delay accepted, in milliseconds (a typo such as 1000 for 1 still works, 10 minutes does not).
MAX_LATENCY_MS = 10_000.0

#: How long :func:`precise_sleep` spins at the end of each sleep, in seconds.
SPIN_SECONDS = 0.0003

Sleep = Callable[[float], object]


class _State:
    """The delay currently injected into one engine, and its event listener."""

    __slots__ = ("seconds", "sleep", "listener")

    def __init__(self, seconds: float, sleep: Sleep) -> None:
        self.seconds = seconds
        self.sleep = sleep

        def listener(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
                     executemany: bool) -> None:
            self.sleep(self.seconds)

        self.listener = listener


_STATES: weakref.WeakKeyDictionary[Engine, _State] = weakref.WeakKeyDictionary()
# id(engine) -> injected seconds: a plain dict, read once per statement by the query log.
_SECONDS: dict[int, float] = {}
_LOCK = threading.Lock()


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
    <injected latency: 2 ms per statement>
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
        state = _STATES.get(self.engine)
        inject_latency(self.engine, self.previous_ms, sleep=state.sleep if state else None)

    def __repr__(self) -> str:
        return f"<injected latency: {self.ms:g} ms per statement>"


def inject_latency(engine: object, ms: float, *, sleep: Sleep | None = None) -> LatencyHandle:
    """Delay every statement on ``engine`` by ``ms`` milliseconds, to simulate a network round trip.

    >>> import sqlalchemy as sa
    >>> engine = sa.create_engine("sqlite://")
    >>> _ = inject_latency(engine, 0.5)
    >>> current_latency(engine)
    0.5
    >>> _ = inject_latency(engine, 0)       # 0 removes it
    >>> current_latency(engine)
    0.0

    One delay per engine: calling it again replaces the delay, ``ms=0`` removes it. The delay is
    a ``time.sleep`` in the thread that runs the statement (see the module docs for asyncio).

    Parameters:
        engine: the Engine (or a Connection/Session/AsyncEngine bound to it).
        ms: delay per statement in milliseconds, 0 to 10000.
        sleep: the function that waits, given seconds (default ``time.sleep``; tests pass a fake;
            :func:`precise_sleep` is more accurate but spins).
    """
    target = engine_of(engine)
    value = _check_ms(ms)
    with _LOCK:
        state = _STATES.get(target)
        previous = state.seconds * 1000.0 if state else 0.0
        if value == 0:
            if state is not None:
                event.remove(target, "before_cursor_execute", state.listener)
                del _STATES[target]
            _SECONDS.pop(id(target), None)
        elif state is None:
            state = _State(value / 1000.0, sleep or time.sleep)
            event.listen(target, "before_cursor_execute", state.listener)
            _STATES[target] = state
            _SECONDS[id(target)] = state.seconds
            weakref.finalize(target, _SECONDS.pop, id(target), None)
        else:
            state.seconds = value / 1000.0
            state.sleep = sleep or time.sleep
            _SECONDS[id(target)] = state.seconds
    return LatencyHandle(target, value, previous)


def remove_latency(engine: object) -> None:
    """Remove any injected delay from ``engine`` (no error if there is none).

    >>> import sqlalchemy as sa
    >>> remove_latency(sa.create_engine("sqlite://"))
    """
    inject_latency(engine, 0)


def current_latency(engine: object) -> float:
    """The delay injected into ``engine`` per statement, in milliseconds (0.0 if none).

    >>> import sqlalchemy as sa
    >>> current_latency(sa.create_engine("sqlite://"))
    0.0
    """
    state = _STATES.get(engine_of(engine))
    return state.seconds * 1000.0 if state else 0.0


def _reattach_latency(engine: Engine) -> None:
    """Move the latency listener to the end of the engine's listeners (the query log's timer runs first)."""
    with _LOCK:
        state = _STATES.get(engine)
        if state is not None:
            event.remove(engine, "before_cursor_execute", state.listener)
            event.listen(engine, "before_cursor_execute", state.listener)


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
