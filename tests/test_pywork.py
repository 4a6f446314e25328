"""The Python-work counter: exact counts, a loop's growth, the limit, threads, and the counting switched off."""

from __future__ import annotations

import gc
import sys
import threading
from typing import Any

import pytest
from conftest import LineClock

from perflab.exercises.pywork import count_python_work


def squares(n: int) -> list[int]:
    return [i * i for i in range(n)]


def loop(n: int) -> list[int]:
    out = []
    for i in range(n):
        out.append(i * i)
    return out


def test_the_same_call_counts_the_same_and_c_work_counts_nothing() -> None:
    counts = {count_python_work(squares, 100).instructions for _ in range(3)}
    assert len(counts) == 1
    assert count_python_work(sum, range(100_000)).instructions == 0
    assert count_python_work(squares, 10).value == [i * i for i in range(10)]


def test_a_garbage_collection_during_the_call_adds_nothing_and_collection_resumes_after() -> None:
    """Collections run finalizers and gc.callbacks in the counted thread: the counter pauses the collector."""
    alone = count_python_work(loop, 100).instructions
    collections: list[str] = []

    def busy_callback(phase: str, info: dict[str, int]) -> None:
        collections.extend(phase for _ in range(10))

    threshold = gc.get_threshold()
    gc.callbacks.append(busy_callback)
    gc.set_threshold(1)  # a collection at every allocation of a container: the call's own list
    try:
        counted = count_python_work(loop, 100).instructions
        assert gc.isenabled()
        gc.collect()
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(busy_callback)
    assert counted == alone
    assert collections  # the callback did run, after the call


def test_a_collector_switched_off_before_stays_off() -> None:
    gc.disable()
    try:
        count_python_work(loop, 10)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("fn", [squares, loop])
def test_a_loop_runs_instructions_for_every_item(fn: Any) -> None:
    """A comprehension counts from its first call too (Python 3.12+ instruments a frame only once it has a
    trace function)."""
    small, large = (count_python_work(fn, n).instructions for n in (100, 1_100))
    assert 5 <= (large - small) / 1_000 < 20


def test_the_limit_stops_a_runaway_call() -> None:
    work = count_python_work(loop, 10**9, limit=5_000)
    assert work.stopped and work.value is None and not work.tampered
    assert 5_000 < work.instructions < 5_100
    assert sys.gettrace() is None


def test_an_exception_propagates_and_the_previous_tracer_is_back() -> None:
    def fails() -> None:
        raise ValueError("no")

    with LineClock() as clock:
        tracer = sys.gettrace()
        with pytest.raises(ValueError):
            count_python_work(fails)
        assert sys.gettrace() is tracer and threading.gettrace() is None
        assert count_python_work(squares, 10).instructions > 0
        before = clock.lines
        squares(3)
        assert clock.lines > before  # the outer tracer counts again


def test_a_thread_the_call_starts_is_counted() -> None:
    def on_a_thread(n: int) -> list[int]:
        out: list[int] = []
        thread = threading.Thread(target=lambda: out.extend(loop(n)))
        thread.start()
        thread.join()
        return out

    small, large = (count_python_work(on_a_thread, n).instructions for n in (100, 1_100))
    assert (large - small) / 1_000 >= 5


def untraced(n: int) -> list[int]:
    tracer = sys.gettrace()
    sys.settrace(None)
    try:
        return loop(n)
    finally:
        sys.settrace(tracer)


def opcodes_off(n: int) -> list[int]:
    sys._getframe().f_trace_opcodes = False
    return [i * i for i in range(n)]


def trace_off(n: int) -> list[int]:
    sys._getframe().f_trace = None
    out = []
    for i in range(n):
        out.append(i * i)
    return out


@pytest.mark.parametrize(("fn", "what"), [(untraced, "sys.settrace"), (opcodes_off, "frame.f_trace_opcodes"),
                                          (trace_off, "frame.f_trace")], ids=["settrace", "opcodes", "f_trace"])
def test_switching_the_count_off_is_seen(fn: Any, what: str) -> None:
    work = count_python_work(fn, 1_000)
    assert work.tampered == what and len(work.value) == 1_000


def test_counts_cannot_be_nested() -> None:
    with pytest.raises(RuntimeError, match="already counting"):
        count_python_work(count_python_work, squares, 3)
