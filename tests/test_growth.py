"""perflab.growth: the fitted exponent, and time_growth on fresh inputs with a fake clock (no real timing)."""

from __future__ import annotations

import gc
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import FakeClock

from perflab.errors import PerflabError
from perflab.growth import Growth, cpu_clock, fit_exponent, growth_name, time_growth


def test_fit_exponent_recovers_powers() -> None:
    sizes = [250, 500, 1_000, 2_000, 4_000]
    assert fit_exponent(sizes, [3e-9 * n for n in sizes]) == pytest.approx(1.0)
    assert fit_exponent(sizes, [3e-9 * n * n for n in sizes]) == pytest.approx(2.0)
    assert fit_exponent(sizes, [1e-9 * n * math.log(n) for n in sizes]) == pytest.approx(1.13, abs=0.02)


@pytest.mark.parametrize(("sizes", "seconds"), [([1, 1], [1.0, 2.0]), ([1, 2], [1.0]), ([0, 2], [1.0, 2.0]),
                                                ([1, 2], [0.0, 2.0])])
def test_fit_exponent_rejects_bad_input(sizes: list[int], seconds: list[float]) -> None:
    with pytest.raises(PerflabError, match="e.g.|must be > 0"):
        fit_exponent(sizes, seconds)


def test_growth_names() -> None:
    assert [growth_name(k) for k in (0.1, 1.0, 1.6, 2.0, 3.0)] == [
        "about constant", "about linear", "between linear and quadratic", "about quadratic", "worse than quadratic"]


def test_cpu_clock_is_the_process_clock_on_linux() -> None:
    clock = cpu_clock()
    assert clock in (time.process_time, time.perf_counter)
    if time.get_clock_info("process_time").resolution <= 1e-6:
        assert clock is time.process_time


def busy_for(cpu_seconds: float) -> float:
    """Spin until this thread has used ``cpu_seconds`` of CPU; return what it used."""
    start = time.thread_time()
    while time.thread_time() - start < cpu_seconds:
        sum(range(1_000))
    return time.thread_time() - start


def test_cpu_clock_counts_work_done_on_another_thread() -> None:
    """Work handed to a worker thread is the caller's work too (a thread clock saw none of it)."""
    clock = cpu_clock()
    with ThreadPoolExecutor(1) as pool:
        start = clock()
        used = pool.submit(busy_for, 0.05).result()
        seen = clock() - start
    assert used >= 0.05 and seen >= 0.9 * used, (used, seen)


def make_list(n: int) -> list[int]:
    return list(range(n))


class Worker:
    """Does ``cost(n)`` fake seconds of work per call and records what it was given."""

    def __init__(self, clock: FakeClock, cost: Any) -> None:
        self.clock, self.cost, self.inputs, self.gc_during = clock, cost, [], []

    def __call__(self, items: list[int]) -> int:
        self.inputs.append(items)
        self.gc_during.append(gc.isenabled())
        self.clock.advance(self.cost(len(items)))
        return len(items)


def test_time_growth_times_one_call_per_fresh_input() -> None:
    clock = FakeClock()
    work = Worker(clock, lambda n: 1e-6 * n * n)
    made: list[int] = []

    def make(n: int) -> list[int]:
        made.append(n)
        return list(range(n))

    seen: list[tuple[int, Any]] = []
    g = time_growth(work, make, (100, 400), budget=0, min_rounds=3, max_rounds=5, clock=clock,
                    on_result=lambda n, items, result: seen.append((n, result)))
    assert g.sizes == (100, 400) and len(g.seconds) == 2
    assert g.seconds[0] == pytest.approx((0.01,) * 3) and g.seconds[1] == pytest.approx((0.16,) * 3)
    assert g.ratio == pytest.approx(16) and g.exponent == pytest.approx(2)
    assert repr(g) == "4x more input took 16.0x longer (about n^2.0, about quadratic)"
    assert made == [100, 100, 400, 100, 400, 100, 400]  # a warm-up, then a new input for every call
    assert len({id(items) for items in work.inputs}) == len(work.inputs)
    assert seen == [(100, 100), (400, 400)] * 3
    assert work.gc_during == [True] + [False] * 6 and gc.isenabled()


def test_time_growth_stops_at_max_rounds_when_the_budget_lasts() -> None:
    clock = FakeClock()
    g = time_growth(Worker(clock, lambda n: 1e-6 * n), make_list, (10, 20, 40), budget=60, max_rounds=4, clock=clock)
    assert [len(ts) for ts in g.seconds] == [4, 4, 4]
    assert g.exponent == pytest.approx(1.0) and "about linear" in repr(g)


def test_time_growth_lets_exceptions_through_and_restores_the_gc() -> None:
    def broken(items: list[int]) -> None:
        if len(items) > 10:
            raise ValueError("too long")

    with pytest.raises(ValueError, match="too long"):
        time_growth(broken, make_list, (10, 20), clock=FakeClock())
    assert gc.isenabled()


@pytest.mark.parametrize("sizes", [(10,), (20, 10), (10, 10), (0, 10), (10.5, 20)])
def test_time_growth_rejects_bad_sizes(sizes: Any) -> None:
    with pytest.raises(PerflabError, match="growing ints"):
        time_growth(len, make_list, sizes)


def test_growth_without_measurable_time_is_infinite() -> None:
    g = Growth((10, 40), ((0.0, 0.0), (1.0, 1.0)), ((0.0,), (0.0, 1.0)))
    assert g.ratio == math.inf and g.exponent == math.inf and g.slowdown == math.inf


def test_a_baseline_is_timed_on_a_copy_of_the_same_input_and_catches_a_constant_cost() -> None:
    """A fixed cost per call flattens the ratio of quadratic work; the slowdown against a baseline shows it."""
    clock = FakeClock()
    padded = Worker(clock, lambda n: 1.0 + 1e-6 * n * n)
    base = Worker(clock, lambda n: 1e-6 * n)

    def sort_in_place(items: list[int]) -> int:
        items.sort(reverse=True)
        return padded(items)

    g = time_growth(sort_in_place, make_list, (100, 400), budget=0, min_rounds=2, max_rounds=2, clock=clock,
                    baseline=base)
    assert g.ratio == pytest.approx(1.16 / 1.01) and g.exponent < 0.5  # looks constant
    assert g.slowdown == pytest.approx(1.16 / 4e-4)
    assert [ts == pytest.approx((1e-6 * n,) * 2) for n, ts in zip(g.sizes, g.baseline_seconds)] == [True, True]
    assert [items == sorted(items) for items in base.inputs] == [True] * 5  # untouched by fn's sort
    assert [id(a) != id(b) for a, b in zip(padded.inputs[1:], base.inputs[1:])] == [True] * 4


def test_slowdown_is_nan_without_a_baseline() -> None:
    clock = FakeClock()
    g = time_growth(Worker(clock, lambda n: 1e-6 * n), make_list, (10, 20), budget=0, clock=clock)
    assert math.isnan(g.slowdown) and g.baseline_seconds == ()


def test_wall_time_shows_work_done_in_another_process() -> None:
    """Work handed to another process moves the wall clock only: the CPU slowdown stays 1x, the wall-clock one not."""
    cpu, wall = FakeClock(), FakeClock()

    def elsewhere(items: list[int]) -> int:
        cpu.advance(1e-6 * len(items))  # sending the list and reading the answer
        wall.advance(1e-6 * len(items) + 1e-6 * len(items) ** 2)  # the other process's pair loop
        return len(items)

    def base(items: list[int]) -> int:
        cpu.advance(1e-6 * len(items))
        wall.advance(1e-6 * len(items))
        return len(items)

    g = time_growth(elsewhere, make_list, (100, 400), budget=0, min_rounds=2, max_rounds=2, clock=cpu,
                    wall_clock=wall, baseline=base)
    assert g.ratio == pytest.approx(4) and g.slowdown == pytest.approx(1)
    assert [ts == pytest.approx((t,) * 2) for ts, t in zip(g.wall_seconds, (0.0101, 0.1604))] == [True, True]
    assert [ts == pytest.approx((t,) * 2) for ts, t in zip(g.baseline_wall_seconds, (1e-4, 4e-4))] == [True, True]
    assert g.wall_slowdown == pytest.approx(401)


def test_wall_times_are_kept_without_a_baseline_too() -> None:
    clock = FakeClock()
    g = time_growth(Worker(clock, lambda n: 1e-6 * n), make_list, (10, 20), budget=0, clock=clock, wall_clock=clock)
    assert g.wall_seconds == g.seconds and math.isnan(g.wall_slowdown) and g.baseline_wall_seconds == ()
