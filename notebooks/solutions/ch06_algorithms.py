"""Reference solutions of chapter 06, algorithms and data structures (one function per exercise).

Try the exercise first: ``perflab.hint("06-find-duplicates")`` gives hints one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def find_duplicates(items: Iterable[Any]) -> list[Any]:
    """06-find-duplicates: each value that occurs more than once in ``items``, listed once.

    The starter compares every pair: n(n-1)/2 comparisons, so 4x more items cost 16x the time.
    One pass with a set of the values seen so far asks a constant-time question per item instead.
    """
    seen: set[Any] = set()
    duplicates: set[Any] = set()
    for item in items:
        if item in seen:
            duplicates.add(item)
        else:
            seen.add(item)
    return list(duplicates)
