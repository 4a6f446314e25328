"""Exercise checks of chapter 06: algorithms and data structures."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from perflab.display import fn_name
from perflab.exercises import (
    CheckResult,
    check_complexity,
    check_result,
    exercise,
    passed,
    require,
    run_learner,
)


def find_duplicates_reference(items: Iterable[Any]) -> list[Any]:
    """Reference solution of 06-find-duplicates: each value that occurs more than once, once, in O(n).

    >>> sorted(find_duplicates_reference([3, 1, 3, 2, 1, 3]))
    [1, 3]
    """
    seen: set[Any] = set()
    duplicates: set[Any] = set()
    for item in items:
        if item in seen:
            duplicates.add(item)
        else:
            seen.add(item)
    return list(duplicates)


def duplicates_input(n: int, seed: int = 17) -> list[int]:
    """``n`` distinct ints plus every third one again, shuffled (the same list for the same n and seed)."""
    items = list(range(n)) + list(range(0, n, 3))
    random.Random(seed + n).shuffle(items)
    return items


@exercise(
    "06-find-duplicates",
    hints=(
        "Comparing every item with every other item is n² steps; one pass over the list is enough.",
        "Remember what you have already seen in a set: `x in seen` is constant time, `x in a_list` is not.",
        "seen, dups = set(), set(); for x in items: (dups if x in seen else seen).add(x); return list(dups)",
    ),
    reference=find_duplicates_reference,
)
def _check_find_duplicates(learner_fn: Callable[..., Any], *, sizes: tuple[int, int] = (500, 2_000),
                           budget: float = 0.2, clock: Callable[[], float] | None = None) -> CheckResult:
    """find_duplicates(items) -> the values occurring more than once, each once, in about linear time."""
    name = fn_name(learner_fn)
    what = f"{name}(items)"
    for items in ([], [1, 2, 3], [5, 5, 5], duplicates_input(sizes[0])):
        got = run_learner(learner_fn, list(items), name=name)
        hint_ = "list each repeated value once: [5, 5, 5] gives [5]" if items == [5, 5, 5] else None
        require(check_result(got, find_duplicates_reference(items), what=what, hint=hint_))
    # linear and n log n grow 4-5x for 4x more input, quadratic about 16x: allow 2.5x the size ratio
    limit = 2.5 * sizes[1] / sizes[0]
    speed = require(check_complexity(learner_fn, duplicates_input, sizes, limit, budget=budget, clock=clock,
                                     name=name))
    growth = speed.message.split(": ", 1)[1]
    return passed(f"{name} finds the right duplicates, and {growth}", **speed.details)
