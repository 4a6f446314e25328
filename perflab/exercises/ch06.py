"""Exercise checks of chapter 06: algorithms and data structures."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from perflab.display import fn_name
from perflab.exercises import (
    CheckResult,
    check_result,
    exercise,
    failed,
    materialize,
    passed,
    require,
    run_learner,
)
from perflab.growth import Growth, children_cpu_seconds, time_growth

#: The sizes the check times (fresh random lists every call), in two stages: 500 and 2,000 items, then, for a
#: function that passed that, 500 and 8,000. A test on the list of duplicates found so far (`x not in duplicates`)
#: costs about as much as the per-item work at 2,000 items and dominates it at 8,000.
SIZES = (500, 2_000, 8_000)
#: The largest accepted time ratio of a stage, as a multiple of its size ratio: for 4x more items linear work
#: grows about 4x, n log n about 5x and quadratic work about 16x, so 2.5 x 4 = 10x separates them; for 16x more
#: items 40x is allowed, and the half fix above takes 60x to 130x longer.
ALLOWED_GROWTH = 2.5
#: The largest accepted slowdown (CPU time) against the reference timed on the same lists, at a stage's largest
#: size. A constant cost per call flattens the growth ratio but not this: the pair loop is about 400x the reference
#: at 2,000 items, while correct answers in other styles measured 1x (NumPy) to about 50x (an ORM session).
ALLOWED_SLOWDOWN = 100
#: The same in wall-clock time, for work sent to another process, which uses none of this process's CPU time
#: while the caller waits for it: the pair loop in a worker process took 240x to 680x the reference at 2,000
#: items, and about 1,700x at 8,000 when let through. Generous, because a busy machine stretches long calls more
#: than short ones: correct answers measured 1x to about 90x (an ORM session) on a loaded machine.
ALLOWED_WALL_SLOWDOWN = 200
#: The largest accepted CPU time of child processes during a stage, as a multiple of this process's CPU time in the
#: learner's calls. Quadratic NumPy in a worker process is cheap enough for the wall-clock slowdown above (35x to
#: 70x at 8,000 items on a loaded machine) and its wall-clock growth is drowned by the worker's wake-up time (9x to
#: 49x for 16x more items), but its CPU time is the worker's; correct answers start no process.
ALLOWED_CHILD_CPU = 1.0

FIRST_HINT = "Comparing every item with every other item is n² steps; one pass over the list is enough."
LATER_GROWTH_HINT = ("it scales at first, then not: some step inside the loop takes longer as the input grows "
                     "(a test like `x in a_list` reads the whole list)")
HEAVY_HINT = ("most of the time goes to something other than finding the duplicates: a fixed cost on every call, "
              "or heavy work per item (objects, statements); one pass over the list is enough")
ELSEWHERE_HINT = ("the work runs outside this process (another process, a server), where its CPU time is not "
                  "counted: find the duplicates in your function itself")


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


class Rules(NamedTuple):
    """The limits and the reference of one check, read before the learner's function first runs."""

    growth: float
    slowdown: float
    wall_slowdown: float
    child_cpu: float
    reference: Callable[[list[Any]], list[Any]]

    @classmethod
    def now(cls) -> Rules:
        """This module's limits and reference as they are now."""
        return cls(ALLOWED_GROWTH, ALLOWED_SLOWDOWN, ALLOWED_WALL_SLOWDOWN, ALLOWED_CHILD_CPU,
                   find_duplicates_reference)


def _stage_failure(name: str, stages: list[Growth], elsewhere: float, rules: Rules) -> CheckResult | None:
    """The ❌ for the last stage timed, if it broke a rule: CPU time in child processes (``elsewhere``, seconds),
    growth, CPU slowdown, then wall-clock slowdown."""
    growth = stages[-1]
    small, large = growth.sizes
    details = _details(stages)
    own = sum(map(sum, growth.seconds))
    if elsewhere > rules.child_cpu * own:
        return failed(f"{name}: child processes used {elsewhere:.2f} s of CPU time during the timed calls, this "
                      f"process {own:.2f} s", ELSEWHERE_HINT, **details)
    if growth.ratio > rules.growth * large / small:
        limit = f"at most {rules.growth * large / small:g}x allowed"
        if len(stages) == 1:
            return failed(f"{name}: {growth!r}; {limit}", FIRST_HINT, **details)
        return failed(f"{name}: {_took(stages[0])}, but {growth!r}; {limit}", LATER_GROWTH_HINT, **details)
    if growth.slowdown > rules.slowdown:
        return failed(f"{name}: {growth!r}, but {_versus(large, growth.slowdown, 'CPU time', rules.slowdown)}",
                      HEAVY_HINT, **details)
    if growth.wall_slowdown > rules.wall_slowdown:
        return failed(f"{name}: {_versus(large, growth.wall_slowdown, 'wall-clock time', rules.wall_slowdown)} "
                      f"(but {growth.slowdown:.1f}x its CPU time in this process)", ELSEWHERE_HINT, **details)
    return None


def _versus(n: int, slowdown: float, clock: str, limit: float) -> str:
    """``2,000 items took 237x the wall-clock time of a one-pass solution …; at most 200x allowed``."""
    return (f"{n:,} items took {slowdown:.0f}x the {clock} of a one-pass solution on the same lists; "
            f"at most {limit:g}x allowed")


def _took(growth: Growth) -> str:
    """``4x more input took 3.9x longer``: the growth of a stage in short."""
    return f"{growth.sizes[-1] / growth.sizes[0]:g}x more input took {growth.ratio:.1f}x longer"


def _details(stages: list[Growth]) -> dict[str, Any]:
    """The numbers of the stages timed; ratio, slowdowns and exponent are the last stage's."""
    last = stages[-1]
    return {"stages": stages, "growth": last, "ratio": last.ratio, "exponent": last.exponent, "sizes": last.sizes,
            "slowdown": last.slowdown, "wall_slowdown": last.wall_slowdown}


@exercise(
    "06-find-duplicates",
    hints=(
        FIRST_HINT,
        "Remember what you have already seen in a set: `x in seen` is constant time, `x in a_list` is not.",
        "seen, dups = set(), set(); for x in items: (dups if x in seen else seen).add(x); return list(dups)",
    ),
    reference=find_duplicates_reference,
)
def _check_find_duplicates(learner_fn: Callable[..., Any], *, sizes: tuple[int, ...] = SIZES,
                           budget: float = 0.5, clock: Callable[[], float] | None = None,
                           seed: int | None = None) -> CheckResult:
    """find_duplicates(items) -> the values occurring more than once, each once, in about linear time."""
    name = fn_name(learner_fn)
    if learner_fn is find_duplicates_reference:
        return failed(f"{name} is the course's reference solution, imported from perflab.exercises.ch06",
                      "write your own find_duplicates: the check compares it with this reference")
    rules = Rules.now()
    return _run_check(learner_fn, name, rules, sizes, budget, clock, seed)  # check() puts back what it rebinds


def _run_check(learner_fn: Callable[..., Any], name: str, rules: Rules, sizes: tuple[int, ...], budget: float,
               clock: Callable[[], float] | None, seed: int | None) -> CheckResult:
    """The check's body: right answers first, then growth stage by stage. Each answer is worked out after the
    call, from a copy of the input taken before it: nothing to peek at while the learner's function runs."""
    what = f"{name}(items)"
    rng = random.Random(seed if seed is not None else random.SystemRandom().randrange(2**32))
    for items in ([], [1, 2, 3], [5, 5, 5], random_items(40, rng)):
        got = materialize(run_learner(learner_fn, list(items), name=name))
        hint_ = "list each repeated value once: [5, 5, 5] gives [5]" if items == [5, 5, 5] else None
        require(check_result(got, rules.reference(items), what=what, hint=hint_))

    untouched: dict[int, list[int]] = {}

    def fresh(n: int) -> list[int]:
        items = random_items(n, rng)
        untouched[n] = list(items)
        return items

    def verify(n: int, items: Any, got: Any) -> None:
        require(check_result(got, rules.reference(untouched[n]), what=f"{what} on {n:,} random items"))

    def learner(items: list[int]) -> Any:  # a lazy result (a generator, a list whose __iter__ works) is read here
        return materialize(run_learner(learner_fn, items, name=name))

    def reference(items: list[int]) -> Any:  # the same path, so the slowdown compares like with like
        return materialize(rules.reference(items))

    stages: list[Growth] = []
    for largest in sizes[1:]:
        before = children_cpu_seconds()
        stages.append(time_growth(learner, fresh, (sizes[0], largest), budget=budget, clock=clock, wall_clock=clock,
                                  on_result=verify, baseline=reference))
        failure = _stage_failure(name, stages, children_cpu_seconds() - before, rules)
        if failure is not None:
            return failure
    return passed(f"{name} finds the right duplicates, and {', '.join(map(_took, stages[:-1]))}, {stages[-1]!r}",
                  **_details(stages))
