"""06-find-duplicates, cheats: the pair loop cached, padded, lazy, elsewhere, or with the check bent; must fail.

``FIND_DUPLICATES`` do their work in Python lines, so the tests run them on a clock that counts executed lines;
``FIND_DUPLICATES_REAL_CLOCK`` do it in C or in another thread or process, which only a real clock sees.
"""

from __future__ import annotations

import functools
import multiprocessing
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from perflab.exercises import ch06
from perflab.exercises.ch06 import find_duplicates_reference


def _pair_loop(items: list[int]) -> list[int]:
    duplicates: list[int] = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j] and items[i] not in duplicates:
                duplicates.append(items[i])
    return duplicates


@functools.cache
def _remembered(items: tuple[int, ...]) -> list[int]:
    return _pair_loop(list(items))


def memoised_pair_loop(items: list[int]) -> list[int]:
    """The quadratic original with a cache of its answers: a repeated input would be free."""
    return _remembered(tuple(items))


def short_lists_only(items: list[int]) -> list[int]:
    """Right on the small inputs a learner tries by hand, and no work at all on long lists."""
    return find_duplicates_reference(items) if len(items) <= 40 else []


def padded_pair_loop(items: list[int]) -> list[int]:
    """The quadratic original after a fixed amount of busy work: every call costs the same extra, which
    flattens the growth ratio (in the tests' clock, executed lines, the padding must be Python lines)."""
    for _ in range(100_000):
        pass
    return _pair_loop(items)


def lazy_pair_loop(items: list[int]) -> Iterator[int]:
    """The starter with ``yield`` for ``append``: it returns at once, and the pairs are compared as it is read."""
    duplicates = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j] and items[i] not in duplicates:
                duplicates.append(items[i])
                yield items[i]


class _PairsWhenRead(list):  # type: ignore[type-arg]
    """An empty list until it is looped over or measured: then the pair loop runs."""

    def __init__(self, items: list[int]) -> None:
        super().__init__()
        self.items = items

    def __iter__(self) -> Iterator[int]:
        return iter(_pair_loop(self.items))

    def __len__(self) -> int:
        return len(_pair_loop(self.items))


def lazy_list(items: list[int]) -> list[int]:
    """A list subclass returned at once, whose ``__iter__`` and ``__len__`` do the pair loop."""
    return _PairsWhenRead(items)


class _ClaimsToBeNumpy:
    """Says its class is NumPy's, so a check that trusted ``__module__`` would keep it as a computed array; the pair
    loop runs when it is read (``tolist``, looping, ``len``)."""

    __module__ = "numpy"

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def tolist(self) -> list[int]:
        return _pair_loop(self.items)

    def __iter__(self) -> Iterator[int]:
        return iter(self.tolist())

    def __len__(self) -> int:
        return len(self.tolist())


def fake_numpy_result(items: list[int]) -> _ClaimsToBeNumpy:
    """A lazy result dressed as a NumPy array, returned at once."""
    return _ClaimsToBeNumpy(items)


def peek_at_the_checker(items: list[int]) -> list[int]:
    """Walks up the stack to the check's answers for this input (a dict named ``expected``, by size) and returns
    them; without one it falls back on the pair loop."""
    frame = sys._getframe(1)
    while frame is not None:
        expected = frame.f_locals.get("expected")
        if isinstance(expected, dict) and len(items) in expected:
            return list(expected[len(items)])
        frame = frame.f_back
    return _pair_loop(items)


class _SlowInt(int):
    """An int whose hash takes 200 loop steps: a set of them is slow."""

    def __hash__(self) -> int:
        for _ in range(200):
            pass
        return int.__hash__(self)

    def __eq__(self, other: object) -> bool:
        return int.__eq__(self, other)


def slows_the_reference(items: list[int]) -> list[int]:
    """The pair loop after a fixed amount of work, having first found every other list of this size on the stack
    (the copy the one-pass reference is about to be timed on) and swapped its items for slow-hashing ints."""
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            if (isinstance(value, list) and value is not items and len(value) == len(items)
                    and all(type(x) is int for x in value)):
                value[:] = [_SlowInt(x) for x in value]
        frame = frame.f_back
    for _ in range(8):
        _pair_loop(items[:500])
    return _pair_loop(items)


def raise_the_limits(items: list[int]) -> list[int]:
    """The pair loop, after setting the check's growth and slowdown limits sky-high (the module's globals)."""
    ch06.ALLOWED_GROWTH = ch06.ALLOWED_SLOWDOWN = ch06.ALLOWED_WALL_SLOWDOWN = 1e9
    return _pair_loop(items)


def slow_reference(items: list[int]) -> list[int]:
    """The pair loop, after swapping the check's reference for the pair loop too, so that it is no slower."""
    ch06.find_duplicates_reference = _pair_loop
    return _pair_loop(items)


def half_fixed(items: list[int]) -> list[int]:
    """A set for the values seen, but the duplicates still a list tested with ``not in``: O(n·d), d duplicates
    (about a fifth of n here). Cheap next to the per-item work at 2,000 items, dominant at 8,000."""
    seen, duplicates = set(), []
    for item in items:
        if item in seen and item not in duplicates:
            duplicates.append(item)
        seen.add(item)
    return duplicates


def count_each(items: list[int]) -> list[int]:
    """Quadratic in C: ``items.count`` scans the whole list for each distinct value."""
    return [value for value in set(items) if items.count(value) > 1]


_WORKER = ThreadPoolExecutor(1, thread_name_prefix="cheat")


def worker_thread_pair_loop(items: list[int]) -> list[int]:
    """The quadratic original run on a worker thread: a clock of the calling thread's CPU time sees none of it."""
    return _WORKER.submit(_pair_loop, items).result()


_PROCESSES: list[ProcessPoolExecutor] = []


def _other_process() -> ProcessPoolExecutor:
    """A worker process, started on first use and kept until :func:`shut_down_the_other_process`."""
    if not _PROCESSES:
        _PROCESSES.append(ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")))
    return _PROCESSES[0]


def shut_down_the_other_process() -> None:
    while _PROCESSES:
        _PROCESSES.pop().shutdown()


def other_process_pair_loop(items: list[int]) -> list[int]:
    """The quadratic original in a worker process: none of its work is this process's CPU time."""
    return _other_process().submit(_pair_loop, items).result()


def _all_pairs(items: list[int]) -> list[int]:
    values = np.asarray(items, dtype=np.int64)
    equal = values[:, None] == values[None, :]
    np.fill_diagonal(equal, False)
    return sorted(set(values[equal.any(axis=1)].tolist()))


def numpy_pairs_other_process(items: list[int]) -> list[int]:
    """Every pair compared at once in NumPy (n² in C), in a worker process: cheap enough in wall-clock time to pass
    the wall-clock slowdown, and its growth is drowned by the worker's wake-up time on a busy machine."""
    return _other_process().submit(_all_pairs, items).result()


#: (cheat, a fragment of the ❌ line it must get), on the tests' clock of executed lines
FIND_DUPLICATES = [(memoised_pair_loop, "about quadratic"), (short_lists_only, "random items"),
                   (padded_pair_loop, "the CPU time of a one-pass solution on the same lists; at most 100x allowed"),
                   (lazy_pair_loop, "about quadratic"), (lazy_list, "about quadratic"),
                   (fake_numpy_result, "about quadratic"),
                   (peek_at_the_checker, "about quadratic"),
                   (raise_the_limits, "changed the check itself (perflab.exercises.ch06.ALLOWED_GROWTH"),
                   (slow_reference, "changed the check itself (perflab.exercises.ch06.find_duplicates_reference)")]
#: (cheat, a fragment of the ❌ line it must get), on the check's own clocks
FIND_DUPLICATES_REAL_CLOCK = [(half_fixed, "half_fixed: 4x more input took"), (count_each, "count_each: 4x more input"),
                              (worker_thread_pair_loop, "worker_thread_pair_loop: "),
                              (slows_the_reference, "the CPU time of a one-pass solution on the same lists"),
                              (other_process_pair_loop, "child processes used"),
                              (numpy_pairs_other_process, "child processes used")]
