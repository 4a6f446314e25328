"""Chapter 07 exercise: the solution and other vectorized styles pass, the starter and loops in disguise fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from alternatives import ch07 as alternatives
from cheats import ch07 as cheats
from conftest import FakeClock, notebook_starters

from perflab.exercises import CheckResult, check
from perflab.exercises.ch07 import line_total, line_totals_reference, order_lines, python_loop, reuses
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "07-numpy-vectorization.ipynb"


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert "hint" in str(result) and result.details["hint"]
    for fragment in fragments:
        assert fragment in result.message, result.message


@pytest.fixture(scope="module")
def solution() -> Any:
    return nbtools.load_solution(NOTEBOOK)


def test_the_notebook_has_the_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"line_total", "line_totals"}


def test_line_total_is_the_notebooks_function() -> None:
    notebook_fn = notebook_starters(NOTEBOOK)["line_total"]
    for q, p in [(1, 99), (2, 1250), (3, 926), (5, 5999), (1, 2500)]:
        assert notebook_fn(q, p) == line_total(q, p)


def test_reference_agrees_with_the_loop_on_edge_rows() -> None:
    items = order_lines(5_000, seed=3)
    assert np.allclose(line_totals_reference(items), python_loop(items))
    assert len(set(order_lines(10, seed=1)["unit_price_cents"]) ^ set(order_lines(10, seed=2)["unit_price_cents"]))


@pytest.mark.parametrize("style", ["solution", "reference"])
def test_vectorized_answers_pass(style: str, solution: Any) -> None:
    fn = {"solution": solution.line_totals, "reference": line_totals_reference}[style]
    result = check("07-vectorize", fn)
    assert result.ok, result.message
    assert result.details["speedup"] >= 3 and len(result.details["learner_seconds"]) == 5


@pytest.mark.parametrize("fn", alternatives.VECTORIZE, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(fn: Any) -> None:
    result = check("07-vectorize", fn)
    assert result.ok, result.message
    assert "reference solution" not in result.message


@pytest.mark.parametrize(("cheat", "fragment"), cheats.VECTORIZE, ids=[c.__name__ for c, _ in cheats.VECTORIZE])
def test_cheats_fail_with_a_hint(cheat: Any, fragment: str) -> None:
    assert_failed_with_hint(check("07-vectorize", cheat), fragment)


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
    assert_failed_with_hint(result, "gives the right totals", "timed until its result is a NumPy array")


def test_the_reference_passes_but_is_named() -> None:
    def wrapper(items: pd.DataFrame) -> Any:
        return line_totals_reference(items)

    assert reuses(wrapper, line_totals_reference) and reuses(line_totals_reference, line_totals_reference)
    assert not reuses(alternatives.with_mask, line_totals_reference)
    for fn in (wrapper, line_totals_reference):
        result = check("07-vectorize", fn)
        assert result.ok and "it runs line_totals_reference, the package's reference solution" in result.message


def test_starter_fails_with_a_first_hint() -> None:
    result = check("07-vectorize", notebook_starters(NOTEBOOK)["line_totals"])
    # Whether the 2,000-row screen or the 100,000-row timing turns it away depends on the machine's speed.
    assert_failed_with_hint(result, "gives the right totals", "one row at a time")
    assert "np.where" not in result.message


def test_np_vectorize_is_a_loop_in_disguise() -> None:
    looped = np.vectorize(line_total, otypes=[float])
    result = check("07-vectorize", lambda items: looped(items["quantity"], items["unit_price_cents"]))
    assert_failed_with_hint(result, "only", "100,000 rows", "at least 2x needed")


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


def test_speed_is_judged_by_the_clock() -> None:
    """With a fake clock that charges the learner 1 s a call and the loop nothing, a correct answer fails."""
    clock = FakeClock()

    def charged(items: pd.DataFrame) -> Any:
        clock.advance(1.0)
        return line_totals_reference(items)

    result = check("07-vectorize", charged, clock=clock, rows=1_000, calls=2)
    assert_failed_with_hint(result, "gives the right totals", "2,000 rows")
