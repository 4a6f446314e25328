"""06-find-duplicates, cheats: the pair loop behind a cache, padded, on a worker thread, or skipped; must fail."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

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
    for _ in range(20_000):
        pass
    return _pair_loop(items)


_WORKER = ThreadPoolExecutor(1, thread_name_prefix="cheat")


def worker_thread_pair_loop(items: list[int]) -> list[int]:
    """The quadratic original run on a worker thread: a clock of the calling thread's CPU time sees none of it."""
    return _WORKER.submit(_pair_loop, items).result()


#: (cheat, a fragment of the ❌ line it must get)
FIND_DUPLICATES = [(memoised_pair_loop, "about quadratic"), (short_lists_only, "random items"),
                   (padded_pair_loop, "the time of a one-pass solution on the same lists; at most 25x allowed")]
