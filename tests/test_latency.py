"""Tests for perflab.latency: injected per-statement delay, and how it meets the query log and asyncio."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
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
)
from perflab.querylog import query_log


class FakeClock:
    """A clock that only moves when ``sleep`` is called: injected delays become exact."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


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


def test_every_statement_sleeps_once(engine: Engine) -> None:
    clock = FakeClock()
    handle = inject_latency(engine, 2, sleep=clock.sleep)
    assert isinstance(handle, LatencyHandle)
    run(engine, "SELECT 1", "SELECT 2", "SELECT 3")
    assert clock.sleeps == [0.002] * 3


def test_executemany_is_one_round_trip(engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(engine, 1, sleep=clock.sleep)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO t (x) VALUES (:x)"), [{"x": i} for i in range(100)])
    assert clock.sleeps == [0.001]


def test_calling_again_replaces_and_zero_removes(engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(engine, 1, sleep=clock.sleep)
    inject_latency(engine, 5, sleep=clock.sleep)
    assert current_latency(engine) == 5.0
    run(engine, "SELECT 1")
    assert clock.sleeps == [0.005]  # replaced, not added
    inject_latency(engine, 0)
    assert current_latency(engine) == 0.0
    run(engine, "SELECT 1")
    assert clock.sleeps == [0.005]


def test_handle_remove_and_remove_latency(engine: Engine) -> None:
    handle = inject_latency(engine, 3)
    assert repr(handle) == "<injected latency: 3 ms per statement>"
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
    assert clock.sleeps == [0.010, 0.001]
    assert current_latency(engine) == 1.0
    with inject_latency(engine, 0):
        run(engine, "SELECT 1")
    assert clock.sleeps == [0.010, 0.001]
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


def test_log_durations_include_latency_injected_before_the_block(engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(engine, 2, sleep=clock.sleep)
    with query_log(engine, clock=clock) as log:
        run(engine, "SELECT 1", "SELECT 2")
    assert [s.duration for s in log.statements] == [0.002, 0.002]
    assert [s.injected for s in log.statements] == [0.002, 0.002]
    assert log.total_time == pytest.approx(0.004)
    assert log.injected_time == pytest.approx(0.004)
    assert "includes 2 ms injected latency per statement" in log.report()


def test_log_durations_include_latency_injected_inside_the_block(engine: Engine) -> None:
    clock = FakeClock()
    with query_log(engine, clock=clock) as log:
        run(engine, "SELECT 1")
        inject_latency(engine, 0.5, sleep=clock.sleep)
        run(engine, "SELECT 2")
    assert [s.duration for s in log.statements] == [0.0, 0.0005]
    assert [s.injected for s in log.statements] == [0.0, 0.0005]
    assert "injected latency in total" in log.summary()


@pytest.mark.postgres
def test_postgres_statements_pay_the_delay_too(pg_engine: Engine) -> None:
    clock = FakeClock()
    inject_latency(pg_engine, 1, sleep=clock.sleep)
    try:
        with query_log(pg_engine, clock=clock) as log:
            run(pg_engine, "SELECT 1")
    finally:
        remove_latency(pg_engine)
    assert clock.sleeps == [0.001]
    assert log.statements[0].duration == 0.001


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
    assert order.count("sleep ends") == 1


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
    assert order == ["tick 0", "sleep starts", "sleep ends", "tick 1", "tick 2"]


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
