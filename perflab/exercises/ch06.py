"""Exercise checks of chapter 06: algorithms and data structures."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, check_result, exercise, failed, passed, require, run_learner
from perflab.growth import time_growth

#: The two sizes the check times (fresh random lists each call); 4x more items.
SIZES = (500, 2_000)
#: The largest accepted time ratio, as a multiple of the size ratio: linear work grows about 4x for 4x
#: more items, n log n about 5x, and quadratic work about 16x, so 2.5 x 4 = 10x separates them.
ALLOWED_GROWTH = 2.5
#: The largest accepted slowdown against the reference timed on the same lists at the largest size. A constant
#: cost per call flattens the growth ratio but not this: the pair loop is about 400x the reference at 2,000
#: items (CPU time), while correct answers in other styles measured 1.1x (Counter) to 6x (pandas).
ALLOWED_SLOWDOWN = 25

FIRST_HINT = "Comparing every item with every other item is n² steps; one pass over the list is enough."


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


def random_items(n: int, rng: random.Random) -> list[int]:
    """``n`` random ints of which about a fifth repeat (some three times or more), new values every call.

    >>> items = random_items(1_000, random.Random(1))
    >>> len(items), 100 < len(find_duplicates_reference(items)) < 400
    (1000, True)

    Parameters: ``n`` how many items; ``rng`` the random generator (the check seeds it afresh).
    """
    base = rng.randrange(1_000_000)
    return [base + rng.randrange(2 * n) for _ in range(n)]


@exercise(
    "06-find-duplicates",
    hints=(
        FIRST_HINT,
        "Remember what you have already seen in a set: `x in seen` is constant time, `x in a_list` is not.",
        "seen, dups = set(), set(); for x in items: (dups if x in seen else seen).add(x); return list(dups)",
    ),
    reference=find_duplicates_reference,
)
def _check_find_duplicates(learner_fn: Callable[..., Any], *, sizes: tuple[int, int] = SIZES,
                           budget: float = 0.5, clock: Callable[[], float] | None = None,
                           seed: int | None = None) -> CheckResult:
    """find_duplicates(items) -> the values occurring more than once, each once, in about linear time."""
    name = fn_name(learner_fn)
    if learner_fn is find_duplicates_reference:
        return failed(f"{name} is the course's reference solution, imported from perflab.exercises.ch06",
                      "write your own find_duplicates: the check compares it with this reference")
    what = f"{name}(items)"
    rng = random.Random(seed if seed is not None else random.SystemRandom().randrange(2**32))
    for items in ([], [1, 2, 3], [5, 5, 5], random_items(40, rng)):
        got = run_learner(learner_fn, list(items), name=name)
        hint_ = "list each repeated value once: [5, 5, 5] gives [5]" if items == [5, 5, 5] else None
        require(check_result(got, find_duplicates_reference(items), what=what, hint=hint_))

    expected: dict[int, list[Any]] = {}

    def fresh(n: int) -> list[int]:
        items = random_items(n, rng)
        expected[n] = find_duplicates_reference(items)
        return items

    def verify(n: int, items: Any, got: Any) -> None:
        require(check_result(got, expected[n], what=f"{what} on {n:,} random items"))

    growth = time_growth(lambda items: run_learner(learner_fn, items, name=name), fresh, sizes,
                         budget=budget, clock=clock, on_result=verify, baseline=find_duplicates_reference)
    details = {"growth": growth, "ratio": growth.ratio, "exponent": growth.exponent, "sizes": growth.sizes,
               "slowdown": growth.slowdown}
    limit = ALLOWED_GROWTH * sizes[1] / sizes[0]
    if growth.ratio > limit:
        return failed(f"{name}: {growth!r}; at most {limit:g}x allowed", FIRST_HINT, **details)
    if growth.slowdown > ALLOWED_SLOWDOWN:
        return failed(f"{name}: {sizes[-1]:,} items took {growth.slowdown:.0f}x the time of a one-pass solution on "
                      f"the same lists; at most {ALLOWED_SLOWDOWN}x allowed", FIRST_HINT, **details)
    return passed(f"{name} finds the right duplicates, and {growth!r}", **details)
