"""06-find-duplicates, cheats: the pair loop behind a cache, or the work skipped on long lists; must fail."""

from __future__ import annotations

import functools

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


#: (cheat, a fragment of the ❌ line it must get)
FIND_DUPLICATES = [(memoised_pair_loop, "about quadratic"), (short_lists_only, "random items")]
