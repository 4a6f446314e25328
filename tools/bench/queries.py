"""Benchmarks for the query log and injected latency: what they cost, printed as figures (no asserts).

>>> from tools.bench.queries import bench_querylog
>>> bench_querylog()  # doctest: +SKIP
query log overhead on SQLite (2000 statements x 15 runs, median µs per statement)
  ...

Run them with ``python -m tools.bench queries``.
"""

from __future__ import annotations

import functools
import gc
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection

from perflab.latency import inject_latency, overshoot, precise_sleep
from perflab.querylog import QueryLog, query_log
from perflab.schema import Base, User


def _noop(*args: object) -> None:
    """An event listener that does nothing: measures SQLAlchemy's own cost of having listeners."""


def _first_read(log: QueryLog, _count: int) -> None:
    log.suspects()


def _per_statement(run: Callable[[int], None], n: int) -> float:
    """CPU seconds per statement for one run of ``n`` statements, GC off.

    CPU time (not wall time): the log adds work, not waiting, and CPU time is far less disturbed
    by other processes on a busy machine.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.process_time()
        run(n)
        return (time.process_time() - start) / n
    finally:
        if gc_was_enabled:
            gc.enable()


def bench_querylog(n: int = 2000, runs: int = 15) -> None:
    """Print the query log's overhead per statement on SQLite: ``SELECT 1`` and a primary-key lookup.

    >>> bench_querylog(n=50, runs=1)  # doctest: +SKIP

    Each run executes ``n`` statements on one connection three ways, alternating so drift affects
    all alike: plain, with two no-op event listeners (what SQLAlchemy's event dispatch costs by
    itself), and inside a query log; then the time the log takes to work out shapes and totals on
    the first read of its results. The figures are medians over ``runs`` (and the difference of the
    fastest runs, less sensitive to a busy machine).

    Parameters:
        n: statements per run.
        runs: runs per variant.
    """
    with tempfile.TemporaryDirectory() as folder:
        engine = sa.create_engine(f"sqlite:///{Path(folder) / 'bench.sqlite'}")
        Base.metadata.create_all(engine)
        when = datetime(2024, 1, 1)
        with engine.begin() as conn:
            conn.execute(sa.insert(User), [
                {"id": i, "name": f"user {i}", "email": f"u{i}@example.com", "country": "DE",
                 "created_at": when}
                for i in range(1, 1001)
            ])
        lookup = sa.select(User.name).where(User.id == sa.bindparam("id"))

        with engine.connect() as conn:

            def select_one(count: int, conn: Connection = conn) -> None:
                for _ in range(count):
                    conn.exec_driver_sql("SELECT 1").scalar()

            def point_lookup(count: int, conn: Connection = conn) -> None:
                for i in range(count):
                    conn.execute(lookup, {"id": 1 + i % 1000}).scalar_one()

            print(f"query log overhead on SQLite ({n} statements x {runs} runs; median CPU µs per statement)")
            print(f"  {'workload':<34} {'plain':>7} {'no-op':>7} {'log':>7} {'report':>7}   "
                  "overhead while recording")
            for label, workload in (("SELECT 1 (exec_driver_sql)", select_one),
                                    ("point lookup (Core select by id)", point_lookup)):
                workload(200)  # warm up: compiled cache, statement cache
                plain: list[float] = []
                noop: list[float] = []
                logged: list[float] = []
                folded: list[float] = []
                for _ in range(runs):
                    plain.append(_per_statement(workload, n))
                    event.listen(engine, "before_cursor_execute", _noop)
                    event.listen(engine, "after_cursor_execute", _noop)
                    noop.append(_per_statement(workload, n))
                    event.remove(engine, "before_cursor_execute", _noop)
                    event.remove(engine, "after_cursor_execute", _noop)
                    with query_log(engine, keep=n) as log:
                        logged.append(_per_statement(workload, n))
                    folded.append(_per_statement(functools.partial(_first_read, log), n))
                base, empty, with_log, report = (statistics.median(xs) * 1e6
                                                 for xs in (plain, noop, logged, folded))
                best = (min(logged) - min(plain)) * 1e6
                extra = with_log - base
                print(f"  {label:<34} {base:7.1f} {empty:7.1f} {with_log:7.1f} {report:7.1f}   "
                      f"{extra:+.1f} µs ({extra / base:+.0%}; fastest runs {best:+.1f} µs), "
                      f"of which SQLAlchemy's event dispatch {empty - base:+.1f} µs")
            print("  plain: no listeners; no-op: two empty listeners; log: inside query_log;\n"
                  "  report: work done later, on the first read of the results (shapes, totals)")
        engine.dispose()


def bench_booked_latency(n: int = 50, ms: float = 1.0, runs: int = 5) -> None:
    """Print what the query log books for ``n`` statements with ``ms`` injected: latency vs database time.

    >>> bench_booked_latency(n=5, runs=1)  # doctest: +SKIP

    The sleep overshoots ``ms`` (see :func:`bench_latency`); the log books the time actually slept as
    injected latency, so what is left (statement time minus injected) is the database's own time and
    should match the same statements run without latency.

    Parameters:
        n: statements per run (one connection: BEGIN, n statements, ROLLBACK).
        ms: the injected latency per round trip.
        runs: runs; medians are printed.
    """
    engine = sa.create_engine("sqlite://")

    def one_run() -> tuple[float, float, float]:
        with query_log(engine, keep=n) as log, engine.connect() as conn:
            for _ in range(n):
                conn.exec_driver_sql("SELECT 1").scalar()
        statement_time = sum(s.duration for s in log.statements)
        booked = sum(s.injected for s in log.statements)
        return statement_time, booked, statement_time - booked

    plain = statistics.median(one_run()[0] for _ in range(runs))
    with inject_latency(engine, ms):
        figures = [one_run() for _ in range(runs)]
    statement_time, booked, database = (statistics.median(f[i] for f in figures) for i in range(3))
    nominal = n * ms / 1000
    print(f"query log booking of {ms:g} ms injected latency ({n} statements, median of {runs} runs)")
    print(f"  statements took {statement_time * 1e3:.1f} ms; nominal latency {nominal * 1e3:.1f} ms; "
          f"booked as injected {booked * 1e3:.1f} ms (overshoot {(booked - nominal) / n * 1e3:+.3f} ms per sleep)")
    print(f"  left as database time {database * 1e3:.2f} ms; the same statements without latency "
          f"{plain * 1e3:.2f} ms")
    engine.dispose()


def bench_latency(n: int = 200) -> None:
    """Print how far injected latency overshoots the requested delay (``time.sleep``, ``precise_sleep``).

    >>> bench_latency(n=5)  # doctest: +SKIP

    Parameters:
        n: sleeps timed per delay.
    """
    print(f"injected latency accuracy ({n} sleeps each; overshoot beyond the requested delay)")
    for name, sleep in (("time.sleep", time.sleep), ("precise_sleep", precise_sleep)):
        for ms in (0.5, 1.0, 2.0):
            stats = overshoot(ms, n, sleep=sleep)
            print(f"  {name:<14} {ms:>4} ms   mean {stats['mean_ms']:+.3f} ms   "
                  f"median {stats['median_ms']:+.3f} ms   max {stats['max_ms']:+.3f} ms")


if __name__ == "__main__":
    bench_querylog()
    bench_booked_latency()
    bench_latency()
