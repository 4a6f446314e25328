"""Chapter 01's exercise: the check passes the reference solution and fails the notebook's starter with a hint.

The check times the learner's report against the original; here a clock that counts executed Python lines
stands in for time, so the outcome is the same on every machine (no timing asserts).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import LineClock, notebook_starters
from sqlalchemy.engine import Engine

from perflab.exercises import CheckResult, check
from perflab.exercises.ch01 import SPEEDUP_FLOOR, revenue_by_category_reference, slow_revenue_by_category
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01-measure-first.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]
# On the small test dataset few orders are pending; delivered orders give the linear search enough to do.
STATUS = "delivered"


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset on SQLite, and on PostgreSQL when PERFLAB_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(request.param)


def starter(name: str) -> Callable[..., Any]:
    """The learner's function as the committed notebook defines it (the cell tagged exercise-starter)."""
    return notebook_starters(NOTEBOOK)[name]


def check_counting_lines(fn: Callable[..., Any], engine: Engine) -> CheckResult:
    with LineClock() as clock:
        return check("01-slow-report", fn, engine=engine, status=STATUS, clock=clock)


def test_reference_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check_counting_lines(solution.revenue_by_category, engine)
    assert result.ok, result.message
    assert result.details["speedup"] >= SPEEDUP_FLOOR


def test_sql_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    assert check_counting_lines(solution.revenue_by_category_sql, engine).ok


def test_starter_fails_with_a_hint(engine: Engine) -> None:
    report = starter("revenue_by_category")
    assert report(engine, STATUS) == revenue_by_category_reference(engine, STATUS)  # right, only slow
    result = check_counting_lines(report, engine)
    assert result.ok is False
    assert "hint" in str(result) and "at least 5x needed" in result.message


def test_the_original_is_what_the_notebook_hands_out(engine: Engine) -> None:
    assert slow_revenue_by_category(engine) == starter("revenue_by_category")(engine)
    assert slow_revenue_by_category(engine) == revenue_by_category_reference(engine)


def test_a_changed_report_fails_before_any_timing(engine: Engine) -> None:
    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        return {category: cents // 100 for category, cents in revenue_by_category_reference(engine, status).items()}

    result = check("01-slow-report", revenue_by_category, engine=engine, status=STATUS)
    assert result.ok is False and "hint" in str(result)
    assert "speedup" not in result.details
