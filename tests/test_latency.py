"""Tests for perflab.latency: injected per-round-trip delay, and how it meets the query log and asyncio."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import FakeClock
from sqlalchemy.engine import Engine

from perflab.errors import PerflabError
from perflab.latency import (
    LatencyHandle,
    current_latency,
    inject_latency,
    overshoot,
    precise_sleep,
    remove_latency,
    roundtrip,
    watch_sleeps,
)
from perflab.querylog import query_log


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'latency.sqlite'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield engine
    remove_latency(engine)
    engine.dispose()


def run(engine: Engine, *sql: str) -> None:
    with engine.connect() as conn:
        for statement in sql:
            conn.exec_driver_sql(statement)


def test_every_round_trip_sleeps_once(engine: Engine) -> None:
    clock = FakeClock()
    handle = inject_latency(engine, 2, sleep=clock.sleep)
    assert isinstance(handle, LatencyHandle)
    seen: list[str] = []
    unwatch = watch_sleeps(engine, lambda kind, cursor, seconds: seen.append(kind))
    run(engine, "SELECT 1", "SELECT 2", "SELECT 3")
    unwatch()
    assert clock.sleeps == [0.002] * 5
    assert seen == ["BEGIN", "statement", "statement", "statement", "ROLLBACK"]
    run(engine, "SELECT 4")
    assert len(seen) == 5  # unwatched


def test_executemany_is_one_round_trip(engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(engine, 1, sleep=clock.sleep)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t (x) VALUES (:x)"), [{"x": i} for i in range(100)])
    assert clock.sleeps == [0.001] * 3  # BEGIN, the executemany, COMMIT


def test_calling_again_replaces_and_zero_removes(engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(engine, 1, sleep=clock.sleep)
    inject_latency(engine, 5, sleep=clock.sleep)
    assert current_latency(engine) == 5.0
    run(engine, "SELECT 1")
    assert clock.sleeps == [0.005] * 3  # replaced, not added
    inject_latency(engine, 0)
    assert current_latency(engine) == 0.0
    run(engine, "SELECT 1")
    assert clock.sleeps == [0.005] * 3


def test_handle_remove_and_remove_latency(engine: Engine) -> None:
    handle = inject_latency(engine, 3)
    assert repr(handle) == "<injected latency: 3 ms per round trip>"
    handle.remove()
    assert current_latency(engine) == 0.0
    handle.remove()  # twice is fine
    inject_latency(engine, 3)
    remove_latency(engine)
    assert current_latency(engine) == 0.0


def test_with_block_restores_the_previous_delay(engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(engine, 1, sleep=clock.sleep)
    with inject_latency(engine, 10, sleep=clock.sleep):
        run(engine, "SELECT 1")
    run(engine, "SELECT 1")
    assert clock.sleeps == [0.010] * 3 + [0.001] * 3
    assert current_latency(engine) == 1.0
    with inject_latency(engine, 0):
        run(engine, "SELECT 1")
    assert clock.sleeps == [0.010] * 3 + [0.001] * 3
    assert current_latency(engine) == 1.0


@pytest.mark.parametrize("bad", [-1, float("nan"), "fast", None, 10_001])
def test_bad_values_are_one_line_errors(engine: Engine, bad: object) -> None:
    with pytest.raises(PerflabError) as info:
        inject_latency(engine, bad)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert "latency must be" in str(info.value)


def test_not_an_engine() -> None:
    with pytest.raises(PerflabError, match="got int"):
        inject_latency(42, 1)


# ----------------------------------------------------------------------------- with the query log


def test_log_books_the_time_actually_slept(engine: Engine) -> None:
    clock = FakeClock(late=0.0003)  # every sleep wakes up 0.3 ms late, as time.sleep does on a busy machine
    inject_latency(engine, 2, sleep=clock.sleep, clock=clock)
    with query_log(engine, clock=clock) as log:
        run(engine, "SELECT 1", "SELECT 2")
    assert [s.duration for s in log.statements] == [pytest.approx(0.0023)] * 2
    assert [s.injected for s in log.statements] == [pytest.approx(0.0023)] * 2
    assert log.transactions == {"BEGIN": 1, "ROLLBACK": 1}
    assert log.round_trips == 4
    assert log.transaction_time == pytest.approx(0.0046)
    assert log.total_time == pytest.approx(0.0092)
    assert log.injected_time == pytest.approx(0.0092)
    assert log.count == 2  # statements only: exercise counts do not change
    assert "includes 9.20 ms injected latency, simulated network: 4 round trips, 2.30 ms each on average" \
        in log.summary()


def test_log_durations_do_not_depend_on_listener_order(engine: Engine) -> None:
    """Latency switched on before the log (its listener runs first) or inside it (runs after): same figures."""
    clock = FakeClock()
    with query_log(engine, clock=clock) as log:
        run(engine, "SELECT 1")
        inject_latency(engine, 0.5, sleep=clock.sleep, clock=clock)
        run(engine, "SELECT 2")
    assert [s.duration for s in log.statements] == [0.0, 0.0005]
    assert [s.injected for s in log.statements] == [0.0, 0.0005]
    assert log.transaction_time == pytest.approx(0.001)  # the second BEGIN and ROLLBACK
    with query_log(engine, clock=clock) as again:
        run(engine, "SELECT 3")
    assert [s.duration for s in again.statements] == [0.0005]


def test_a_slider_does_not_pile_up_listeners_or_finalizers(engine: Engine) -> None:
    def finalizers() -> int:
        return sum(isinstance(o, weakref.finalize) for o in gc.get_objects())

    def listeners() -> list[int]:
        dispatch = engine.dispatch
        return [len(dispatch.before_cursor_execute), len(dispatch.begin), len(dispatch.commit),
                len(dispatch.rollback)]

    inject_latency(engine, 1)
    on, finalizers_before = listeners(), finalizers()
    for i in range(200):
        inject_latency(engine, (i % 5) * 0.5)  # 0 ms every fifth step: off and on again
    inject_latency(engine, 1)
    assert listeners() == on == [1, 1, 1, 1]
    assert finalizers() == finalizers_before
    remove_latency(engine)
    assert listeners() == [0, 0, 0, 0]


@pytest.mark.postgres
def test_postgres_round_trips_pay_the_delay_too(pg_engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(pg_engine, 1, sleep=clock.sleep, clock=clock)
    try:
        with query_log(pg_engine, clock=clock) as log, pg_engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        remove_latency(pg_engine)
    assert clock.sleeps == [0.001] * 3
    assert log.statements[0].duration == 0.001
    assert log.transactions == {"BEGIN": 1, "COMMIT": 1}
    assert log.total_time == pytest.approx(0.003)


# ----------------------------------------------------------------------------- asyncio


def test_to_thread_keeps_the_event_loop_free(engine: Engine) -> None:
    """While a statement sleeps in a worker thread, other tasks on the loop keep running.

    The injected sleep waits until a concurrent task has ticked three times. If the sleep blocked
    the event loop, the task could never tick and the wait would time out.
    """
    ticked = threading.Event()
    order: list[str] = []

    def sleep_until_ticks(seconds: float) -> None:
        order.append("sleep starts")
        assert ticked.wait(timeout=30), "the event loop was blocked while the statement slept"
        order.append("sleep ends")

    inject_latency(engine, 1, sleep=sleep_until_ticks)

    async def ticker() -> None:
        for i in range(3):
            await asyncio.sleep(0)
            order.append(f"tick {i}")
        ticked.set()

    async def main() -> None:
        query = asyncio.to_thread(run, engine, "SELECT 1")
        await asyncio.gather(query, ticker())

    asyncio.run(main())
    assert order.index("sleep starts") < order.index("tick 2") < order.index("sleep ends")
    assert order.count("sleep ends") == 3  # BEGIN, SELECT, ROLLBACK


def test_on_the_loop_thread_the_sleep_blocks_every_task(engine: Engine) -> None:
    """What an AsyncEngine would do: the hook runs on the loop's thread, so no task runs meanwhile."""
    order: list[str] = []

    def sleep(seconds: float) -> None:
        order.append("sleep starts")
        time.sleep(seconds)
        order.append("sleep ends")

    inject_latency(engine, 20, sleep=sleep)

    async def ticker() -> None:
        for i in range(3):
            order.append(f"tick {i}")
            await asyncio.sleep(0)

    async def main() -> None:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)  # tick 0 runs
        run(engine, "SELECT 1")  # blocking call on the loop thread
        await task

    asyncio.run(main())
    assert order == ["tick 0"] + ["sleep starts", "sleep ends"] * 3 + ["tick 1", "tick 2"]


class Sleepers:
    """An async sleep that counts how many callers are asleep at once, and lets them all in before waking any.

    With sleeps that really overlap on the event loop, ``peak`` reaches the number of concurrent
    queries; with a sleep that blocked the loop it would stay at 1. No wall-clock assertion.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.asleep = 0
        self.peak = 0
        self.calls = 0
        self.full = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.calls += 1
        self.asleep += 1
        self.peak = max(self.peak, self.asleep)
        if self.asleep >= self.expected:
            self.full.set()
        try:
            await asyncio.wait_for(self.full.wait(), timeout=10)
        except asyncio.TimeoutError:
            pass
        finally:
            self.asleep -= 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def async_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An asyncio database URL: aiosqlite on a file, or psycopg's async mode on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'async.sqlite'}"
    url = sa.engine.make_url(request.getfixturevalue("pg_url"))
    return url.set(drivername="postgresql+psycopg_async").render_as_string(hide_password=False)


def test_async_engine_overlaps_the_delays_of_gathered_queries(async_url: str) -> None:
    """asyncio.gather of 10 queries with 50 ms injected: all 10 wait at once, as over a network."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(async_url, pool_size=10)
    sleepers = Sleepers(expected=10)

    async def one(i: int) -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT :i"), {"i": i})).scalar_one())

    async def main() -> list[int]:
        inject_latency(engine, 50, sleep=sleepers.sleep)
        try:
            with query_log(engine) as log:
                values = await asyncio.gather(*(one(i) for i in range(10)))
        finally:
            remove_latency(engine)
            await engine.dispose()
        assert log.count == 10 and log.round_trips == 30
        return values

    assert asyncio.run(main()) == list(range(10))
    assert sleepers.calls == 30  # BEGIN, SELECT, ROLLBACK for each
    assert sleepers.peak == 10


def test_async_engine_default_delay_is_asyncio_sleep(tmp_path: Path) -> None:
    """Without a fake: the statements' intervals in the log overlap (a blocked loop would run them one by one)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'async.sqlite'}")

    async def one(i: int) -> None:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT :i"), {"i": i})

    async def main() -> list[tuple[float, float]]:
        inject_latency(engine, 50)
        try:
            with query_log(engine) as log:
                await asyncio.gather(*(one(i) for i in range(5)))
        finally:
            remove_latency(engine)
            await engine.dispose()
        assert all(s.injected > 0 for s in log.statements)
        return [(s.start, s.start + s.duration) for s in log.statements]

    intervals = sorted(asyncio.run(main()))
    assert any(later_start < end for (_, end), (later_start, _) in zip(intervals, intervals[1:]))


def test_roundtrip_lets_other_tasks_run() -> None:
    order: list[str] = []

    async def network_call(name: str) -> None:
        order.append(f"{name} sent")
        await roundtrip(1)
        order.append(f"{name} answered")

    async def main() -> None:
        await asyncio.gather(network_call("a"), network_call("b"))

    asyncio.run(main())
    assert order[:2] == ["a sent", "b sent"]  # b started while a was waiting
    assert sorted(order[2:]) == ["a answered", "b answered"]


def test_roundtrip_checks_its_argument() -> None:
    with pytest.raises(PerflabError, match="latency must be >= 0 ms"):
        asyncio.run(roundtrip(-1))


# ----------------------------------------------------------------------------- accuracy helpers


def test_overshoot_reports_mean_median_max() -> None:
    stats = overshoot(0.1, n=3)
    assert set(stats) == {"mean_ms", "median_ms", "max_ms"}
    assert stats["max_ms"] >= stats["median_ms"]


def test_overshoot_uses_the_given_sleep() -> None:
    clock = FakeClock()
    # A fake sleep returns at once: the "overshoot" is minus the requested time.
    stats = overshoot(1, n=2, sleep=clock.sleep)
    assert clock.sleeps == [0.001, 0.001]
    assert stats["max_ms"] < 0
    with pytest.raises(PerflabError, match="n must be >= 1"):
        overshoot(1, n=0)


def test_precise_sleep_returns() -> None:
    precise_sleep(0.0)
    precise_sleep(0.0005)
