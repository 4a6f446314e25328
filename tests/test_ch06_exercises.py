"""Chapter 06 exercise: scalable answers pass, the notebook's pair-loop starter and answers that only look right fail.

Time is counted in executed Python lines (LineClock), so the growth the check sees is deterministic; the few
cheats whose work only a real clock sees (in C, on another thread or process) run the check on its own clocks,
where they are many times over a limit.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch06 as alternatives
from cheats import ch06 as cheats
from conftest import LineClock, assert_failed_with_hint, notebook_starters

from perflab.exercises import CheckResult, ch06, check, hint
from perflab.exercises.ch06 import ALLOWED_SLOWDOWN, find_duplicates_reference, random_items
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06-algorithms.ipynb"


def check_duplicates(fn: Any, seed: int | None = 5) -> CheckResult:
    with LineClock() as clock:
        return check("06-find-duplicates", fn, sizes=(40, 160, 640), clock=clock, seed=seed, budget=0)


def name(fn: Any) -> str:
    return str(fn.__name__)


def assert_passed(result: CheckResult) -> None:
    assert result.ok, result.message
    assert "finds the right duplicates, and 4x more input took" in result.message
    assert ", 16x more input took" in result.message and len(result.details["stages"]) == 2
    assert result.details["ratio"] <= 40 and result.details["slowdown"] <= ALLOWED_SLOWDOWN


@pytest.fixture(scope="module")
def starter() -> Any:
    return notebook_starters(NOTEBOOK)["find_duplicates"]


def test_the_notebook_has_one_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"find_duplicates"}


def test_the_solution_and_the_reference_pass() -> None:
    assert_passed(check_duplicates(nbtools.load_solution(NOTEBOOK).find_duplicates))
    assert_passed(check_duplicates(lambda items: find_duplicates_reference(items)))


def test_the_imported_reference_is_named_not_passed() -> None:
    assert_failed_with_hint(check_duplicates(find_duplicates_reference),
                            "find_duplicates_reference is the course's reference solution", "write your own")


@pytest.mark.parametrize("answer", alternatives.FIND_DUPLICATES, ids=name)
def test_correct_alternatives_pass(answer: Any) -> None:
    assert_passed(check_duplicates(answer))


@pytest.mark.parametrize(("cheat", "fragment"), cheats.FIND_DUPLICATES,
                         ids=[name(c) for c, _ in cheats.FIND_DUPLICATES])
def test_cheats_fail(cheat: Any, fragment: str) -> None:
    """Fresh inputs on every call, each result checked: a cache never hits, skipped work is caught."""
    assert_failed_with_hint(check_duplicates(cheat), fragment)


@pytest.mark.parametrize(("cheat", "fragment"), cheats.FIND_DUPLICATES_REAL_CLOCK,
                         ids=[name(c) for c, _ in cheats.FIND_DUPLICATES_REAL_CLOCK])
def test_cheats_fail_on_the_checks_own_clocks(cheat: Any, fragment: str) -> None:
    """The check as a notebook runs it. The pair loop on a worker thread is the process's CPU time (~16x for 4x
    more items, 10x allowed); in a worker process, the pair loop or NumPy's all pairs, it is none, but the worker's
    is: more than this process's, none allowed. The half fix takes 60x to 130x longer for 16x more items, 40x
    allowed; `items.count` per value about 16x for 4x more items. The padded pair loop that slows the reference
    down through the stack finds only the check's lists of answers, not the reference's input: about 300x its CPU
    time at 2,000 items, 100x allowed."""
    try:
        assert_failed_with_hint(check("06-find-duplicates", cheat), fragment)
    finally:
        cheats.shut_down_the_other_process()


def test_a_function_that_changes_the_check_fails_and_the_check_is_put_back() -> None:
    """Limits raised (or the reference swapped) from inside the learner's function: the check runs on the values
    it read before the function first ran, says what was changed, and restores it for the checks that follow."""
    limits = (ch06.ALLOWED_GROWTH, ch06.ALLOWED_SLOWDOWN, ch06.ALLOWED_WALL_SLOWDOWN, ch06.find_duplicates_reference)
    for _ in range(2):
        assert_failed_with_hint(check_duplicates(cheats.raise_the_limits), "changed the check itself")
        assert (ch06.ALLOWED_GROWTH, ch06.ALLOWED_SLOWDOWN, ch06.ALLOWED_WALL_SLOWDOWN,
                ch06.find_duplicates_reference) == limits
    assert_passed(check_duplicates(alternatives.counter_based))


def test_the_notebook_starter_fails_on_growth_with_the_first_hint(starter: Any) -> None:
    result = check_duplicates(starter)
    assert_failed_with_hint(result, "find_duplicates: 4x more input took", "quadratic", "at most 10x allowed",
                            hint("06-find-duplicates", 1).split(": ", 1)[1])
    assert result.details["exponent"] > 1.8 and len(result.details["stages"]) == 1  # never timed on 640 items
    assert "set" not in result.message  # the first hint only: no answer in the committed output


def test_the_starter_is_correct_so_only_its_growth_fails(starter: Any) -> None:
    items = random_items(300, random.Random(3))
    assert sorted(starter(items)) == sorted(find_duplicates_reference(items))


def test_hard_coded_answers_fail_because_inputs_are_fresh() -> None:
    """The answers for one run's random lists are wrong for the next run's (no seed: fresh every time)."""
    seen: dict[int, list[int]] = {}

    def record(items: list[int]) -> list[int]:
        seen[len(items)] = find_duplicates_reference(items)
        return seen[len(items)]

    assert check_duplicates(record, seed=None).ok

    def replay(items: list[int]) -> list[int]:
        return seen[len(items)] if len(items) in seen else find_duplicates_reference(items)

    assert_failed_with_hint(check_duplicates(replay, seed=None), "replay(items)", "instead of")


def test_wrong_answers_fail() -> None:
    def every_repeat(items: list[int]) -> list[int]:
        seen: set[int] = set()
        out = []
        for x in items:
            if x in seen:
                out.append(x)
            seen.add(x)
        return out

    assert_failed_with_hint(check_duplicates(every_repeat), "list each repeated value once")
    assert_failed_with_hint(check_duplicates(lambda items: items), "has 3 items instead of 0")
    assert_failed_with_hint(check_duplicates(lambda items: items[0]), "raised IndexError")


def test_random_items_are_fresh_and_have_duplicates() -> None:
    rng = random.Random(11)
    first, second = random_items(2_000, rng), random_items(2_000, rng)
    assert first != second and len(first) == len(second) == 2_000
    for items in (first, second):
        assert 200 < len(find_duplicates_reference(items)) < 600
