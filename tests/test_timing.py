"""Tests for perflab.timing: every figure comes from a fake clock, never from real time."""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import warnings
from collections.abc import Callable

import matplotlib
import pytest
from conftest import FakeClock

from perflab.errors import PerflabError
from perflab.timing import (
    Comparison,
    Measurement,
    NoisyMeasurement,
    Spans,
    ameasure,
    compare,
    format_time,
    measure,
    measure_many,
)

matplotlib.use("Agg")


def costing(clock: FakeClock, *costs: float) -> Callable[[], None]:
    """A function whose calls take ``costs`` seconds of fake time in turn (the last one repeats)."""
    it = itertools.chain(costs, itertools.repeat(costs[-1]))

    def work() -> None:
        work.calls += 1  # type: ignore[attr-defined]
        clock.advance(next(it))

    work.calls = 0  # type: ignore[attr-defined]
    return work


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# --- measure: auto-ranging and figures -------------------------------------------------------------


def test_fast_function_grows_loops_and_stays_within_budget():
    clock = FakeClock()
    work = costing(clock, 0.001)
    m = measure(work, budget=0.2, runs=7, clock=clock)
    # calibration 1, 2, 5, 5 loops (5 ms >= budget/runs/10 twice), then the largest 1-2-5 count fitting 0.2/7 s: 20
    assert (m.loops, m.runs) == (20, 7)
    assert work.calls == 1 + (1 + 2 + 5 + 5) + 7 * 20
    assert clock.now <= 0.2  # the whole measurement, warm-up and calibration included
    assert m.median == pytest.approx(0.001)
    assert repr(m) == "1.00 ms ± 0.00 ms (median ± IQR/2, 7 runs × 20 loops)"
    assert m.ms == pytest.approx(1.0) and m.us == pytest.approx(1000.0)
    assert m.name == "work"


@pytest.mark.parametrize(
    ("cost", "loops", "runs"),
    [
        (1e-6, 20_000, 7),  # 20k × 1 µs = 20 ms fits 28.6 ms; 50k would not
        (0.01, 2, 7),  # 2 × 10 ms fits, 5 × 10 ms does not
        (0.045, 1, 4),  # slower than budget/runs: one call per run, int(0.2 / 0.045) = 4 runs
        (1.0, 1, 3),  # slower than the whole budget: never fewer than 3 runs
    ],
)
def test_loop_count_and_runs_follow_the_cost_of_one_call(cost, loops, runs):
    clock = FakeClock()
    m = measure(costing(clock, cost), budget=0.2, runs=7, clock=clock)
    assert (m.loops, m.runs) == (loops, runs)
    assert m.median == pytest.approx(cost)


def test_a_calibration_run_held_up_by_another_program_does_not_cut_the_loop_count():
    clock = FakeClock()
    work = costing(clock, 1e-5, 0.003, 1e-5)  # the first calibration call waited 3 ms for the CPU
    m = measure(work, clock=clock)
    assert m.loops == 2000  # as for a steady 10 µs call: 2,000 × 10 µs fits 0.2 s / 7; 1 loop would not
    assert work.calls == 1 + (1 + 1 + 2 + 5 + 10 + 20 + 50 + 100 + 200 + 500 + 500) + 7 * 2000


def test_slow_function_exact_figures_and_calibration_run_is_reused():
    clock = FakeClock()
    work = costing(clock, 5.0, 1.0, 1.5, 1.25)  # warm-up, then three timed calls
    m = measure(work, budget=0.2, clock=clock)
    assert work.calls == 4
    assert m.samples == (1.0, 1.5, 1.25)
    assert (m.median, m.iqr, m.min, m.max, m.mean) == (1.25, 0.25, 1.0, 1.5, 1.25)
    assert repr(m) == "1.25 s ± 0.12 s (median ± IQR/2, 3 runs × 1 loop)"


def test_without_warmup_every_call_is_timed():
    clock = FakeClock()
    work = costing(clock, 1.0, 1.5, 1.25)
    m = measure(work, budget=0.2, warmup=False, clock=clock)
    assert work.calls == 3 and m.samples == (1.0, 1.5, 1.25)


def test_arguments_are_passed_through():
    clock = FakeClock()
    seen = []

    def work(a, b, *, key):
        seen.append((a, b, key))
        clock.advance(1.0)

    measure(work, 1, 2, key="k", clock=clock)
    assert set(seen) == {(1, 2, "k")}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"fn": 42}, "needs a function"), ({"budget": 0}, "budget must be > 0"), ({"runs": 0}, "runs must be")],
)
def test_bad_options_raise_one_line_errors(kwargs, match):
    fn = kwargs.pop("fn", lambda: None)
    with pytest.raises(PerflabError, match=match):
        measure(fn, **kwargs)


# --- how many calls (the docstring's count) -----------------------------------------------------------


def test_the_docstrings_example_count_is_what_measure_does():
    assert "1 + (1 + 2 + 5 + 5) + 7 × 20 = 154 calls" in " ".join((measure.__doc__ or "").split())
    clock = FakeClock()
    work = costing(clock, 0.001)
    measure(work, clock=clock)
    assert work.calls == 154


@pytest.mark.parametrize(
    ("cost", "calls"),
    [
        (1e-6, 1 + (1 + 2 + 5 + 10 + 20 + 50 + 100 + 200 + 500 + 1000 + 2000 + 5000 + 5000) + 7 * 20_000),
        (0.01, 1 + (1 + 1) + 7 * 2),  # one call (10 ms) already lasts budget/runs/10 = 2.9 ms: twice
        (0.045, 1 + 4),  # slow: its calibration call is the first of int(0.2 / 0.045) = 4 runs
        (2.0, 1 + 3),  # the docstring's "a 2 s function is called 1 + 3 times (8 s)"
    ],
)
def test_calls_are_warmup_calibration_and_runs(cost, calls):
    clock = FakeClock()
    work = costing(clock, cost)
    measure(work, clock=clock)
    assert work.calls == calls
    assert clock.now == pytest.approx(calls * cost)


def test_compare_does_not_reuse_a_slow_variants_calibration_call_as_a_run():
    clock = FakeClock()
    slow, fast = costing(clock, 2.0), costing(clock, 0.001)
    c = compare(slow=slow, fast=fast, clock=clock)
    assert slow.calls == 1 + 1 + 3  # warm-up, calibration, three runs taken in their rounds
    assert fast.calls == 154
    assert c.measurements["slow"].runs == 3


# --- Measurement, repr and units ----------------------------------------------------------------------


def test_repr_reads_median_and_half_iqr_with_auto_units():
    samples = [x * 1e-3 for x in (3.10, 3.13, 3.13, 3.21, 3.29, 3.29, 3.40)]  # q1 3.13, q3 3.29
    m = Measurement(tuple(samples), loops=10)
    assert m.median == pytest.approx(3.21e-3) and m.iqr == pytest.approx(0.16e-3)
    assert repr(m) == "3.21 ms ± 0.08 ms (median ± IQR/2, 7 runs × 10 loops)"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0, "0 ns"), (5e-9, "5.00 ns"), (1.5e-7, "150 ns"), (2.5e-5, "25.0 µs"), (0.0009996, "1.00 ms"),
     (0.0321, "32.1 ms"), (12.345, "12.3 s"), (1234.4, "1234 s")],
)
def test_format_time_keeps_three_significant_digits(seconds, text):
    assert format_time(seconds) == text


def test_single_run_has_zero_iqr_and_bad_measurements_are_refused():
    assert Measurement((0.5,)).iqr == 0.0
    with pytest.raises(PerflabError, match="at least one sample"):
        Measurement(())
    with pytest.raises(PerflabError, match="loops must be"):
        Measurement((0.5,), loops=0)


# --- GC and noise -------------------------------------------------------------------------------------


def test_gc_is_off_while_timing_and_restored_after():
    clock = FakeClock()
    states = []

    def work():
        states.append(gc.isenabled())
        clock.advance(0.01)

    assert gc.isenabled()
    measure(work, warmup=False, clock=clock)
    assert states and not any(states)
    assert gc.isenabled()


def test_gc_stays_off_if_it_was_off_and_comes_back_after_an_error():
    gc.disable()
    try:
        clock = FakeClock()
        measure(costing(clock, 1.0), budget=0.2, clock=clock)
        assert not gc.isenabled()
    finally:
        gc.enable()

    def boom():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        measure(boom, warmup=False)
    assert gc.isenabled()


@pytest.mark.parametrize("keep_gc", [False, True])
def test_gc_option_decides_while_timing_and_the_repr_says_when_it_was_on(keep_gc):
    clock = FakeClock()
    states = []

    def work():
        states.append(gc.isenabled())
        clock.advance(0.01)

    m = measure(work, warmup=False, gc=keep_gc, clock=clock)
    assert len(states) == 2 + 7 * 2 and set(states) == {keep_gc}
    assert gc.isenabled()
    assert m.gc is keep_gc
    assert repr(m) == "10.0 ms ± 0.0 ms (median ± IQR/2, 7 runs × 2 loops" + (", GC on)" if keep_gc else ")")


def test_gc_on_while_timing_even_if_the_caller_had_it_off():
    clock = FakeClock()
    states = []

    def work():
        states.append(gc.isenabled())
        clock.advance(1.0)

    gc.disable()
    try:
        measure(work, gc=True, warmup=False, clock=clock)
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert states == [True] * 3


def test_ameasure_and_compare_take_the_gc_option_too():
    clock = FakeClock()
    states: dict[str, list[bool]] = {"async": [], "a": [], "b": []}

    async def fetch():
        states["async"].append(gc.isenabled())
        clock.advance(1.0)

    def variant(name):
        def fn():
            states[name].append(gc.isenabled())
            clock.advance(1.0)
        return fn

    m = asyncio.run(ameasure(fetch, gc=True, warmup=False, clock=clock))
    c = compare(a=variant("a"), b=variant("b"), gc=True, clock=clock)
    off = compare(a=variant("a"), b=variant("b"), clock=clock)
    assert m.gc and states["async"] == [True] * 3
    assert all(x.gc for x in c.measurements.values()) and not any(x.gc for x in off.measurements.values())
    # the warm-up (first) call runs as the caller left the GC; the timed ones as asked
    assert states["a"][1:5] == [True] * 4 and states["a"][6:] == [False] * 4
    assert "3 × 1, GC on" in repr(c) and "GC on" not in repr(off)


def test_noisy_runs_warn_with_what_to_do():
    clock = FakeClock()
    with pytest.warns(NoisyMeasurement, match=r"4\.0x the fastest.*close other programs.*budget="):
        m = measure(costing(clock, 1.0, 1.0, 1.0, 4.0), clock=clock)
    assert m.samples == (1.0, 1.0, 4.0)


def test_steady_runs_do_not_warn():
    clock = FakeClock()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        measure(costing(clock, 1.0, 1.0, 1.1, 1.2), clock=clock)


def test_noise_reasons():
    assert Measurement((1.0, 1.1, 1.2)).noise() is None
    assert "IQR is 33% of the median" in (Measurement((1.0, 1.5, 2.0)).noise() or "")
    assert Measurement((0.0, 0.0, 1.0)).noise() == "some runs took no measurable time"


# --- async --------------------------------------------------------------------------------------------


def test_measure_runs_a_coroutine_function_in_a_fresh_loop():
    clock = FakeClock()

    async def fetch():
        await asyncio.sleep(0)
        clock.advance(0.01)

    m = measure(fetch, clock=clock)
    assert (m.loops, m.runs, m.name) == (2, 7, "fetch")
    assert m.median == pytest.approx(0.01)


def test_a_lambda_returning_a_coroutine_is_awaited():
    clock = FakeClock()

    async def fetch():
        clock.advance(0.01)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        m = measure(lambda: fetch(), clock=clock)
    assert m.median == pytest.approx(0.01)


def test_ameasure_inside_a_running_loop_and_measure_refuses_there():
    clock = FakeClock()

    async def fetch():
        clock.advance(0.01)

    async def notebook_cell():
        with pytest.raises(PerflabError, match=r"await perflab\.ameasure\(fetch\)"):
            measure(fetch, clock=clock)
        return await ameasure(fetch, clock=clock), await ameasure(costing(clock, 1.0), clock=clock)

    async_m, sync_m = asyncio.run(notebook_cell())
    assert (async_m.loops, async_m.runs) == (2, 7)
    assert (sync_m.loops, sync_m.runs, sync_m.median) == (1, 3, 1.0)


# --- compare ------------------------------------------------------------------------------------------


def test_compare_ranks_by_median_and_computes_speedups():
    c = compare(slow=Measurement((0.004, 0.004, 0.004), loops=10), mid=Measurement((0.001,) * 3, loops=50),
                fast=Measurement((0.0005,) * 3, loops=100))
    assert isinstance(c, Comparison) and c.baseline == "slow"
    t = c.table
    assert list(t.columns) == ["name", "median_ms", "iqr_ms", "min_ms", "runs", "loops", "speedup", "speedup_min"]
    assert t["name"].tolist() == ["fast", "mid", "slow"]
    assert t["speedup"].tolist() == pytest.approx([8.0, 4.0, 1.0])
    assert t["speedup_min"].tolist() == pytest.approx([8.0, 4.0, 1.0])
    assert t["median_ms"].tolist() == pytest.approx([0.5, 1.0, 4.0])
    assert c.speedup("fast") == pytest.approx(8.0)
    text = repr(c)
    assert "1.00x (baseline)" in text and "8.00x" in text and "500 µs ± 0 µs" in text
    assert "<table" in c._repr_html_()


def test_compare_shows_min_and_its_speedup_beside_the_median():
    c = compare(base=Measurement((0.004, 0.005, 0.006)), other=Measurement((0.001, 0.002, 0.003)))
    assert c.speedup("other") == pytest.approx(2.5)
    assert c.table.set_index("name").loc["other", "speedup_min"] == pytest.approx(4.0)
    header, first, _ = repr(c).splitlines()
    assert header.split() == ["name", "median", "±", "IQR/2", "min", "runs", "×", "loops", "speedup", "speedup",
                              "of", "min"]
    assert first.split() == ["other", "2.00", "ms", "±", "0.50", "ms", "1.00", "ms", "3", "×", "1", "2.50x",
                             "4.00x"]


def recording(order: list[str], clock: FakeClock, name: str, cost: float) -> Callable[[], None]:
    def fn() -> None:
        order.append(name)
        clock.advance(cost)
    return fn


def test_compare_calibrates_each_variant_then_interleaves_their_runs():
    clock = FakeClock()
    order: list[str] = []
    c = compare(a=recording(order, clock, "a", 0.001), b=recording(order, clock, "b", 0.002),
                c=recording(order, clock, "c", 0.001), clock=clock)
    warmups = [("a", 1), ("b", 1), ("c", 1)]
    calibration = [("a", 1 + 2 + 5 + 5), ("b", 1 + 2 + 2), ("c", 1 + 2 + 5 + 5)]  # until runs last 0.2 s / 7 / 10
    abc = [("a", 20), ("b", 10), ("c", 20)]  # 20 × 1 ms and 10 × 2 ms fit 0.2 s / 7
    rounds = [abc[(i + r) % 3] for r in range(7) for i in range(3)]  # A B C, B C A, C A B, A B C, ...
    assert [(name, len(list(calls))) for name, calls in itertools.groupby(order)] == warmups + calibration + rounds
    assert c.speedup("b") == pytest.approx(0.5) and c.speedup("c") == pytest.approx(1.0)


def test_interleaving_cancels_drift_that_biases_separate_measurements():
    def slowing(clock):  # a machine getting busier: each call costs more as (fake) time passes
        return lambda: clock.advance(0.001 * (1 + 10 * clock.now))

    clock = FakeClock()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoisyMeasurement)
        first, second = measure(slowing(clock), clock=clock), measure(slowing(clock), clock=clock)
        together = measure_many({"a": slowing(clock), "b": slowing(clock)}, clock=clock)
    apart = first.median / second.median
    fair = together["a"].median / together["b"].median
    assert apart < 0.5  # the second one measured looks more than twice as slow
    assert 0.97 < fair < 1.03  # a and b take turns going first: the drift cancels


def test_compare_interleaves_async_variants_on_a_private_loop():
    clock = FakeClock()
    order: list[str] = []

    def variant(name):
        async def fn():
            await asyncio.sleep(0)
            order.append(name)
            clock.advance(1.0)
        return fn

    c = compare(a=variant("a"), b=recording(order, clock, "b", 1.0), clock=clock)
    assert order == ["b", "a", "a", "b"] + ["a", "b", "b", "a", "a", "b"]  # warm-ups, calibration; rotating rounds
    assert c.speedup("b") == pytest.approx(1.0)

    async def notebook_cell():
        with pytest.raises(PerflabError, match=r"event loop is running.*await perflab\.ameasure\(fn\)"):
            compare(variant("a"), clock=clock)

    asyncio.run(notebook_cell())


@pytest.mark.filterwarnings("ignore::perflab.timing.NoisyMeasurement")
def test_compare_names_positional_entries_and_measures_callables():
    a, b = Measurement((0.002,)), Measurement((0.001,))
    c = compare(a, b, names=["before", "after"])
    assert c.table["name"].tolist() == ["after", "before"] and c.baseline == "before"
    unnamed = compare(a, b, Measurement((0.003,), name="fetch"))
    assert set(unnamed.measurements) == {"option 1", "option 2", "fetch"}
    measured = compare(lambda: None, quick=lambda: None, budget=0.005, runs=3)
    assert list(measured.measurements) == ["option 1", "quick"]
    assert all(m.runs == 3 for m in measured.measurements.values())


def test_compare_errors():
    with pytest.raises(PerflabError, match="nothing to compare"):
        compare()
    with pytest.raises(PerflabError, match="names must label"):
        compare(Measurement((1.0,)), names=["a", "b"])
    with pytest.raises(PerflabError, match="no measurement named 'x'"):
        compare(a=Measurement((1.0,))).speedup("x")


def test_comparison_plot_draws_one_bar_per_entry():
    from matplotlib.axes import Axes

    c = compare(slow=Measurement((0.004,)), mid=Measurement((0.001,)), fast=Measurement((0.0005,)))
    ax = c.plot()
    assert isinstance(ax, Axes) and len(ax.patches) == 3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["fast", "mid", "slow"]
    assert c.plot(log=True).get_xscale() == "log"


# --- spans --------------------------------------------------------------------------------------------


def test_spans_nest_and_tabulate():
    clock = FakeClock()
    tracker = Spans(clock=clock)
    with tracker.span("page"):
        clock.advance(1)
        with tracker.span("auth"):
            clock.advance(2)
        with tracker.span("render"):
            clock.advance(3)
        clock.advance(1)
    assert tracker.total == 7
    assert [(s.name, s.depth, s.parent) for s in tracker.spans] == [
        ("page", 0, None), ("auth", 1, "page"), ("render", 1, "page")]
    t = tracker.table()
    assert list(t.columns) == ["name", "depth", "start_ms", "duration_ms", "share"]
    assert t["start_ms"].tolist() == [0, 1000, 3000]
    assert t["duration_ms"].tolist() == [7000, 2000, 3000]
    assert t["share"].tolist() == pytest.approx([1, 2 / 7, 3 / 7])
    assert repr(tracker) == "Spans(3 spans, total 7.00 s)"
    tracker.clear()
    assert tracker.total == 0 and tracker.table().empty


def test_traced_decorates_sync_and_async_functions():
    clock = FakeClock()
    tracker = Spans(clock=clock)

    @tracker.traced()
    def load(n):
        clock.advance(n)
        return n * 2

    @tracker.traced("render page")
    async def render():
        clock.advance(0.5)
        return load(1)

    assert asyncio.run(render()) == 2 and load(2) == 4
    assert [(s.name, s.depth, s.duration) for s in tracker.spans] == [
        ("render page", 0, 1.5), ("load", 1, 1), ("load", 0, 2)]
    assert load.__name__ == "load"


def test_spans_in_asyncio_gather_overlap():
    clock = FakeClock()
    tracker = Spans(clock=clock)

    async def fetch(name, cost):
        with tracker.span(name):
            await asyncio.sleep(0)  # let the other task start its span
            clock.advance(cost)

    async def page():
        with tracker.span("page"):
            await asyncio.gather(fetch("users", 1), fetch("orders", 2))

    asyncio.run(page())
    spans = {s.name: s for s in tracker.spans}
    assert (spans["users"].start, spans["users"].end) == (0, 1)
    assert (spans["orders"].start, spans["orders"].end) == (0, 3)
    assert spans["users"].depth == spans["orders"].depth == 1
    assert spans["users"].parent == spans["orders"].parent == "page"
    assert tracker.total == 3  # less than 1 + 2: the two fetches ran in parallel


def test_spans_in_threads_keep_their_own_start_and_end():
    ticks = itertools.count()
    tracker = Spans(clock=lambda: float(next(ticks)))
    both_open = threading.Barrier(2)

    def work(name):
        with tracker.span(name):
            both_open.wait()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = tracker.spans
    assert {a.name, b.name} == {"a", "b"} and a.depth == b.depth == 0
    assert max(a.start, b.start) < min(a.end, b.end)


def test_spans_plot_draws_one_bar_per_span():
    from matplotlib.axes import Axes

    clock = FakeClock()
    tracker = Spans(clock=clock)
    with pytest.raises(PerflabError, match="no spans recorded"):
        tracker.plot()
    with tracker.span("page"):
        for name in ("a", "b", "c"):
            with tracker.span(name):
                clock.advance(1)
    ax = tracker.plot()
    assert isinstance(ax, Axes) and len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_yticklabels()] == ["page", "  a", "  b", "  c"]
