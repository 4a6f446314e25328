"""perflab.memory: tracemalloc's peak around one call, without disturbing a trace the caller started."""

from __future__ import annotations

import tracemalloc

import pytest

from perflab.memory import peak_kib


def allocate_and_free(n: int) -> None:
    block = bytearray(n)
    del block


def test_peak_counts_memory_freed_before_the_call_returns() -> None:
    assert 4000 < peak_kib(allocate_and_free, 4 * 1024 * 1024) < 4200  # a 4 MiB block, gone at return
    assert peak_kib(allocate_and_free, 0) < 100


def test_peak_passes_arguments_and_stops_tracing() -> None:
    assert peak_kib(sorted, range(10_000), reverse=True) > 70  # a list of 10,000 pointers
    assert not tracemalloc.is_tracing()


def test_a_trace_the_caller_started_keeps_running() -> None:
    tracemalloc.start()
    try:
        kept = bytearray(8 * 1024 * 1024)  # already held: not part of the call's peak
        assert peak_kib(allocate_and_free, 1024 * 1024) < 1200
        assert tracemalloc.is_tracing()
        del kept
    finally:
        tracemalloc.stop()


def test_an_error_in_the_call_propagates_and_tracing_stops() -> None:
    with pytest.raises(ZeroDivisionError):
        peak_kib(lambda: 1 / 0)
    assert not tracemalloc.is_tracing()


def test_memory_over_shows_a_leak_rising_and_a_bounded_store_levelling_off() -> None:
    from collections import deque

    from perflab.memory import memory_over

    leak: list[bytes] = []
    bounded: deque[bytes] = deque(maxlen=10)
    rising = memory_over(lambda i: leak.append(bytes(1000)), range(400), every=100)
    flat = memory_over(lambda i: bounded.append(bytes(1000)), range(400), every=100)
    assert [n for n, _ in rising] == [0, 100, 200, 300, 400]
    assert rising[-1][1] - rising[2][1] > 150  # 200 more KiB-sized blocks kept
    assert abs(flat[-1][1] - flat[2][1]) < 5
    assert not tracemalloc.is_tracing()


def test_memory_over_counts_a_cycle_only_until_the_collector_frees_it() -> None:
    from perflab.memory import memory_over

    def cycle(_: int) -> None:
        box: list[object] = [bytes(10_000)]
        box.append(box)

    assert memory_over(cycle, range(300), every=300)[-1][1] < 20  # collected before the reading


def test_memory_over_rejects_a_bad_interval() -> None:
    from perflab.errors import PerflabError
    from perflab.memory import memory_over

    with pytest.raises(PerflabError, match="every must be a positive number"):
        memory_over(print, [], every=0)


def test_memory_over_refuses_readings_after_fn_restarts_or_stops_tracing() -> None:
    from perflab.errors import PerflabError
    from perflab.memory import memory_over

    def restart(i: int) -> None:
        if i == 3:
            tracemalloc.stop()
            tracemalloc.start()

    for step in (restart, lambda i: tracemalloc.stop() if i == 3 else None):
        with pytest.raises(PerflabError, match="stopped or restarted during the first 5 calls"):
            memory_over(step, range(10), every=5)
        assert not tracemalloc.is_tracing()


def test_top_growth_names_the_line_that_kept_memory() -> None:
    from perflab.memory import top_growth

    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        kept = [bytearray(1000) for _ in range(1000)]
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    [line] = top_growth(before, after, limit=1)
    assert line.file == "test_memory.py" and "bytearray(1000)" in line.code and line.kib > 900
    assert str(line).startswith(f"test_memory.py:{line.line}: +")
    del kept


def test_top_growth_within_charges_each_block_to_the_callers_line() -> None:
    import copy

    from perflab.memory import top_growth

    template = [[i] * 20 for i in range(1000)]
    cache: list[object] = []

    def handler() -> None:
        cache.append(copy.deepcopy(template))  # copy.py allocates, this line keeps

    tracemalloc.start(10)
    try:
        before = tracemalloc.take_snapshot()
        handler()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert top_growth(before, after, limit=1)[0].file == "copy.py"  # where it was allocated
    [line] = top_growth(before, after, limit=1, within=handler)
    assert line.file == "test_memory.py" and "cache.append(copy.deepcopy(template))" in line.code
    assert line.kib > 150 and line.blocks >= 1000


def test_rss_is_the_process_resident_size() -> None:
    import mmap

    from perflab.memory import rss_mib

    before = rss_mib()
    # Fresh pages from the kernel: a bytearray may reuse heap pages that are already resident (the
    # allocator keeps what earlier tests freed), and then RSS does not move at all.
    block = mmap.mmap(-1, 64 * 2**20)
    for offset in range(0, len(block), mmap.PAGESIZE):
        block[offset] = 1  # touch every page so it is resident
    assert rss_mib() - before > 40
    block.close()
