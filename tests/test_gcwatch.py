"""perflab.gcwatch: collections counted through gc.callbacks, and the callback removed afterwards."""

from __future__ import annotations

import gc
from typing import Any

from perflab.gcwatch import GcActivity, watch_gc


class Node:
    def __init__(self) -> None:
        self.me: Any = self  # a cycle: only the collector frees it


def test_collections_and_freed_objects_are_counted() -> None:
    gc.collect()
    with watch_gc() as activity:
        for _ in range(100):
            Node()
        assert gc.collect() >= 100
    assert activity.collections[2] >= 1 and activity.collected >= 100 and activity.seconds > 0


def test_short_lived_objects_without_cycles_do_not_make_the_collector_run() -> None:
    gc.collect()
    with watch_gc() as activity:
        for _ in range(50_000):
            [1, 2, 3]  # noqa: B018 (allocated and freed at once)
    assert activity.total == 0


def test_cyclic_garbage_makes_the_collector_run_on_its_own() -> None:
    gc.collect()
    with watch_gc() as activity:
        for _ in range(50_000):
            Node()
    assert activity.collections[0] > 10


def test_the_callback_is_removed_even_after_an_error() -> None:
    before = list(gc.callbacks)
    try:
        with watch_gc():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.callbacks == before


def test_repr_reads_as_a_sentence() -> None:
    assert repr(GcActivity([1, 0, 0], 1, 0.002)) == "1 collection (1, 0, 0 by generation), 1 object freed, 2.00 ms"
