"""06-find-duplicates, correct in other styles: Counter, a dict of counts, sorting (O(n log n)); all must pass."""

from __future__ import annotations

from collections import Counter


def counter_based(items: list[int]) -> list[int]:
    return [value for value, count in Counter(items).items() if count > 1]


def dict_based(items: list[int]) -> set[int]:
    counts: dict[int, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return {item for item, count in counts.items() if count > 1}


def sort_based(items: list[int]) -> list[int]:
    """Sort, then compare neighbours: n log n, which grows about 5x for 4x more items."""
    ordered, found = sorted(items), []
    for previous, current in zip(ordered, ordered[1:]):
        if previous == current and (not found or found[-1] != current):
            found.append(current)
    return found


FIND_DUPLICATES = [counter_based, dict_based, sort_based]
