"""Chapter 07 exercise: the solution and other vectorized styles pass, the starter and loops in disguise fail.

The check decides by counting Python instructions (deterministic); only its loose time floor reads a clock, and
the tests that reach that floor pass a fake one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from alternatives import ch07 as alternatives
from cheats import ch07 as cheats
from conftest import FakeClock, assert_failed_with_hint, notebook_starters

import perflab.exercises.ch07 as ch07
from perflab.exercises import check
from perflab.exercises.ch07 import line_total, line_totals_reference, order_lines, python_loop, reuses
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07-numpy-vectorization.ipynb"


@pytest.fixture(scope="module")
def solution() -> Any:
    return nbtools.load_solution(NOTEBOOK)


def test_the_notebook_has_the_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"line_total", "line_totals"}


def test_line_total_is_the_notebooks_function() -> None:
    notebook_fn = notebook_starters(NOTEBOOK)["line_total"]
    for q, p in [(1, 99), (2, 1250), (3, 926), (5, 5999), (1, 2500), (40, 999_999)]:
        assert notebook_fn(q, p) == line_total(q, p)


def test_reference_agrees_with_the_loop_on_fresh_rows() -> None:
    items = order_lines(5_000, seed=3)
    assert np.allclose(line_totals_reference(items), python_loop(items))
    assert not order_lines(10, seed=1).equals(order_lines(10, seed=2))


def test_both_rules_change_many_rows_and_the_pairs_do_not_repeat() -> None:
    """A memo of (quantity, price) pairs cannot pay: most of 100,000 rows are pairs of their own."""
    items = order_lines(100_000, seed=4)
    quantity, price = items["quantity"], items["unit_price_cents"]
    amount = quantity * price / 100 * np.where(quantity >= 3, 0.9, 1.0)
    assert 0.3 < (quantity >= 3).mean() < 0.5 and 0.2 < (amount < 25).mean() < 0.35
    assert quantity.between(1, 50).all() and price.between(99, 1_000_000).all()
    assert len(set(zip(quantity, price))) > 0.6 * len(items)


@pytest.mark.parametrize("style", ["solution", "reference"])
def test_vectorized_answers_pass(style: str, solution: Any) -> None:
    fn = {"solution": solution.line_totals, "reference": line_totals_reference}[style]
    result = check("07-vectorize", fn)
    assert result.ok, result.message
    small, large = result.details["instructions"]
    assert small == large and result.details["per_row"] == 0
    assert result.details["speedup"] >= 3 and len(result.details["learner_seconds"]) == 5


@pytest.mark.parametrize("fn", alternatives.VECTORIZE, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(fn: Any) -> None:
    result = check("07-vectorize", fn)
    assert result.ok, result.message
    assert "reference solution" not in result.message and result.details["per_row"] <= ch07.MAX_PER_ROW


@pytest.mark.parametrize(("cheat", "fragment"), cheats.VECTORIZE, ids=[c.__name__ for c, _ in cheats.VECTORIZE])
def test_cheats_fail_with_a_hint(cheat: Any, fragment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ch07, "python_loop", ch07.python_loop)  # put back whatever patch_checker replaces
    assert_failed_with_hint(check("07-vectorize", cheat), fragment)


def test_a_function_replaced_before_or_during_the_check_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ch07, "line_total", lambda quantity, unit_price_cents: 0.0)
    assert_failed_with_hint(check("07-vectorize", line_totals_reference),
                            "perflab.exercises.ch07.line_total is not the one the check came with")
    monkeypatch.undo()

    def patch_numpy(items: pd.DataFrame) -> Any:
        monkeypatch.setattr(np, "isclose", lambda a, b: np.ones(len(a), dtype=bool))
        return np.zeros(len(items))

    assert_failed_with_hint(check("07-vectorize", patch_numpy), "numpy.isclose is not the one the check came with")


def test_the_starter_fails_on_its_count_with_the_first_hint() -> None:
    result = check("07-vectorize", notebook_starters(NOTEBOOK, line_total=line_total)["line_totals"])
    assert_failed_with_hint(result, "was stopped after 300,000 Python instructions on 1,000 rows",
                            "It still works one row at a time")
    assert "np.where" not in result.message


def test_a_loop_is_measured_per_row() -> None:
    result = check("07-vectorize", cheats.inline_loop)
    assert_failed_with_hint(result, "10,000 rows took", "more Python instructions than 1,000")
    assert 10 < result.details["per_row"] < 60


def test_converting_the_result_is_on_the_clock() -> None:
    """A result whose __array__ costs 1 s (fake) and a call that costs nothing: the conversion is what is slow."""
    clock = FakeClock()

    class Charged:
        def __init__(self, items: pd.DataFrame) -> None:
            self.items = items

        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
            clock.advance(1.0)
            return np.asarray(line_totals_reference(self.items), dtype=dtype)

    result = check("07-vectorize", Charged, clock=clock, rows=1_000, calls=2)
    assert_failed_with_hint(result, "gives the right totals", "until its result is a NumPy array", "0.00x")


def test_a_list_is_converted_off_the_clock() -> None:
    """A list's conversion is not charged (nor the loop's list's): the call's fake second is all there is."""
    clock = FakeClock()

    def charged_list(items: pd.DataFrame) -> list[float]:
        clock.advance(1.0)
        return line_totals_reference(items).tolist()

    result = check("07-vectorize", charged_list, clock=clock, rows=1_000, calls=2)
    assert result.details["learner_seconds"][0] == 1.0


def test_the_reference_passes_but_is_named() -> None:
    def wrapper(items: pd.DataFrame) -> Any:
        return line_totals_reference(items)

    assert reuses(wrapper, line_totals_reference) and reuses(line_totals_reference, line_totals_reference)
    assert not reuses(alternatives.with_mask, line_totals_reference)
    for fn in (wrapper, line_totals_reference):
        result = check("07-vectorize", fn)
        assert result.ok and "it runs line_totals_reference, the package's reference solution" in result.message


def test_a_cached_result_fails_on_fresh_rows() -> None:
    kept: dict[int, Any] = {}

    def cached(items: pd.DataFrame) -> Any:
        return kept.setdefault(len(items), line_totals_reference(items))

    assert_failed_with_hint(check("07-vectorize", cached), "is wrong for")


def test_a_wrong_rule_is_named_with_a_row() -> None:
    def no_shipping(items: pd.DataFrame) -> Any:
        amount = items["quantity"] * items["unit_price_cents"] / 100
        return np.where(items["quantity"] >= 3, amount * 0.9, amount)

    assert_failed_with_hint(check("07-vectorize", no_shipping), "is wrong for", "expected", "got")


def test_wrong_length_and_crash_are_one_line() -> None:
    assert_failed_with_hint(check("07-vectorize", lambda items: [1.0]), "values for")
    assert_failed_with_hint(check("07-vectorize", lambda items: items["price"]), "raised KeyError")
    assert_failed_with_hint(check("07-vectorize", lambda items: "abc"), "which is not a list of numbers")


class TickingClock(FakeClock):
    """A fake clock one second further on at every reading: each timed call takes 1 s plus what it advances."""

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_speed_is_judged_by_the_clock_with_two_decimals_near_the_floor() -> None:
    """The loop takes 1 s a call and the learner 0.7 s: 1.43x, printed with two decimals so that a figure just
    under the floor never reads as the floor itself."""
    clock = TickingClock()

    def faster(items: pd.DataFrame) -> Any:
        clock.advance(-0.3)
        return line_totals_reference(items)

    result = check("07-vectorize", faster, clock=clock, rows=1_000, calls=2)
    assert_failed_with_hint(result, "is only 1.43x as fast as a plain Python loop over 1,000 rows",
                            "at least 1.5x needed", "runs no Python per row")
