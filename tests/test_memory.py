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
