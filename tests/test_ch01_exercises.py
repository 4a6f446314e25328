"""Chapter 01's exercise: the reference and correct alternatives pass, the starter and a cached original fail.

The check times the learner's report against the original; here a clock that counts executed Python lines
stands in for time, so the outcome is the same on every machine (no timing asserts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch01 as alternatives
from cheats import ch01 as cheats
from conftest import LineClock, notebook_starters
from sqlalchemy.engine import Engine

import perflab
from perflab.exercises import CheckResult, check
from perflab.exercises.ch01 import (
    SPEEDUP_FLOOR,
    change_one_item,
    hot_spot,
    revenue_by_category_reference,
    slow_revenue_by_category,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01-measure-first.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]
# On the small test dataset few orders are pending; delivered and shipped orders give the linear search work.
STATUSES = ("delivered", "shipped")


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset on SQLite, and on PostgreSQL when PERFLAB_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(request.param)


def starter(name: str) -> Callable[..., Any]:
    """The learner's function as the committed notebook defines it (the cell tagged exercise-starter)."""
    return notebook_starters(NOTEBOOK)[name]


def check_counting_lines(fn: Callable[..., Any], engine: Engine) -> CheckResult:
    with LineClock() as clock:
        return check("01-slow-report", fn, engine=engine, statuses=STATUSES, clock=clock)


def test_reference_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check_counting_lines(solution.revenue_by_category, engine)
    assert result.ok, result.message
    assert result.details["speedup"] >= SPEEDUP_FLOOR


def test_sql_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    assert check_counting_lines(solution.revenue_by_category_sql, engine).ok


@pytest.mark.parametrize("fn", alternatives.IN_FEW_LINES, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(engine: Engine, fn: Callable[..., Any]) -> None:
    result = check_counting_lines(fn, engine)
    assert result.ok, result.message


@pytest.mark.parametrize("fn", alternatives.ALTERNATIVES, ids=lambda f: f.__name__)
def test_correct_alternatives_give_the_same_report(engine: Engine, fn: Callable[..., Any]) -> None:
    """Their speed is measured by ``python -m tools.bench.exercises`` (ORM objects run many lines per row)."""
    result = check("01-slow-report", fn, engine=engine, statuses=STATUSES, floor=0)
    assert result.ok, result.message


def test_starter_fails_with_the_symptom(engine: Engine) -> None:
    report = starter("revenue_by_category")
    assert report(engine, STATUSES[0]) == revenue_by_category_reference(engine, STATUSES[0])  # right, only slow
    result = check_counting_lines(report, engine)
    assert result.ok is False
    assert f"at least {SPEEDUP_FLOOR:g}x needed" in result.message
    assert "hint: it is about as slow as the original: profile it" in result.message
    assert "category_of" not in result.message  # the profile is the learner's to run


@pytest.mark.parametrize(("make", "fragment"), cheats.CACHES, ids=["lru_cache", "memo_by_url", "lru_by_url"])
def test_a_cached_original_fails_every_time(engine: Engine, make: Callable[[], Callable[..., Any]],
                                            fragment: str) -> None:
    cheat = make()
    for _ in range(2):  # the second check finds its cache warm: the data changed under it, so it is stale
        result = check_counting_lines(cheat, engine)
        assert result.ok is False and " — hint: " in result.message, result.message
        assert "as fast as the original" in result.message or ": it caches" in result.message, result.message
    assert fragment in result.message, result.message


def test_the_data_is_restored_after_the_check(engine: Engine) -> None:
    before = {status: revenue_by_category_reference(engine, status) for status in STATUSES}
    counts = perflab.counts(engine)
    check_counting_lines(cheats.memo_by_url(), engine)
    check_counting_lines(nbtools.load_solution(NOTEBOOK).revenue_by_category, engine)
    assert {status: revenue_by_category_reference(engine, status) for status in STATUSES} == before
    assert perflab.counts(engine) == counts


def test_a_change_left_by_an_interrupted_check_is_undone(engine: Engine) -> None:
    before = revenue_by_category_reference(engine, STATUSES[0])
    with engine.begin() as conn:
        item = change_one_item(conn, STATUSES[0])
    assert revenue_by_category_reference(engine, STATUSES[0]) != before
    assert check_counting_lines(nbtools.load_solution(NOTEBOOK).revenue_by_category, engine).ok
    assert revenue_by_category_reference(engine, STATUSES[0]) == before, f"item {item} still changed"


@pytest.mark.parametrize(("cheat", "fragment"), cheats.CHANGED_TYPE, ids=lambda c: getattr(c, "__name__", ""))
def test_right_numbers_in_another_container_fail(engine: Engine, cheat: Callable[..., Any], fragment: str) -> None:
    result = check_counting_lines(cheat, engine)
    assert result.ok is False and " — hint: " in result.message, result.message
    assert fragment in result.message and "the same numbers" in result.message, result.message


def test_the_original_is_what_the_notebook_hands_out(engine: Engine) -> None:
    assert slow_revenue_by_category(engine) == starter("revenue_by_category")(engine)
    assert slow_revenue_by_category(engine) == revenue_by_category_reference(engine)


def test_a_changed_report_fails_before_any_timing(engine: Engine) -> None:
    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        return {category: cents // 100 for category, cents in revenue_by_category_reference(engine, status).items()}

    result = check("01-slow-report", revenue_by_category, engine=engine, statuses=STATUSES)
    assert result.ok is False and " — hint: " in str(result)
    assert "speedup" not in result.details


def test_hot_spot_names_the_learners_own_slow_function() -> None:
    def lookup(key: int, pairs: list[tuple[int, int]]) -> int:
        return next(v for k, v in pairs if k == key)

    def report(pairs: list[tuple[int, int]]) -> int:
        return sum(lookup(k, pairs) for k, _ in pairs)

    assert "goes to lookup (300 calls)" in hot_spot(report, [(i, i) for i in range(300)])
