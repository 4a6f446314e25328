"""Chapter 06 exercise: scalable answers pass, the notebook's pair-loop starter and answers that only look right fail.

Time is counted in executed Python lines (LineClock), so the growth the check sees is deterministic.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch06 as alternatives
from cheats import ch06 as cheats
from conftest import LineClock, notebook_starters

from perflab.exercises import CheckResult, check, hint
from perflab.exercises.ch06 import ALLOWED_SLOWDOWN, find_duplicates_reference, random_items
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06-algorithms.ipynb"


def check_duplicates(fn: Any, seed: int | None = 5) -> CheckResult:
    with LineClock() as clock:
        return check("06-find-duplicates", fn, sizes=(40, 160), clock=clock, seed=seed, budget=0)


def name(fn: Any) -> str:
    return str(fn.__name__)


def assert_passed(result: CheckResult) -> None:
    assert result.ok, result.message
    assert "finds the right duplicates, and 4x more input took" in result.message
    assert result.details["ratio"] <= 10 and result.details["slowdown"] <= ALLOWED_SLOWDOWN


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert result.details["hint"] and " — hint: " in result.message
    for fragment in fragments:
        assert fragment in result.message, result.message


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


def test_work_on_a_worker_thread_is_counted_by_the_default_clock() -> None:
    """The one check here on the real clock (CPU time of the process): 8x more items, quadratic work grows ~64x
    against at most 20x allowed, and the pair loop is ~400x the reference at 2,000 items, so noise cannot pass it."""
    result = check("06-find-duplicates", cheats.worker_thread_pair_loop, sizes=(250, 2_000), budget=0)
    assert_failed_with_hint(result, "worker_thread_pair_loop: ")
    assert result.details["exponent"] > 1.5 or result.details["slowdown"] > ALLOWED_SLOWDOWN


def test_the_notebook_starter_fails_on_growth_with_the_first_hint(starter: Any) -> None:
    result = check_duplicates(starter)
    assert_failed_with_hint(result, "find_duplicates: 4x more input took", "quadratic", "at most 10x allowed",
                            hint("06-find-duplicates", 1).split(": ", 1)[1])
    assert result.details["exponent"] > 1.8
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
