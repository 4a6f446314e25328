"""Chapter 00's exercise: the check passes the reference solution and fails the notebook's starter with a hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import notebook_starters
from sqlalchemy.engine import Engine

from perflab.exercises import CheckResult, check
from perflab.exercises.ch00 import order_counts, top_customers_reference
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "00-welcome.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset on SQLite, and on PostgreSQL when PERFLAB_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(request.param)


def starter(name: str, engine: Engine) -> Callable[..., Any]:
    """The learner's function as the committed notebook defines it (the cell tagged exercise-starter),
    run in a fresh namespace that only holds ``engine`` (the cell ends by calling the function)."""
    return notebook_starters(NOTEBOOK, engine=engine)[name]


def assert_failed_with_hint(result: CheckResult) -> None:
    assert result.ok is False
    assert "hint" in str(result) and " — hint: " in result.message


def test_reference_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check("00-top-customers", solution.top_customers, engine=engine)
    assert result.ok, result.message
    assert result.details["count"] == 1


def test_reference_is_the_five_busiest_users(engine: Engine) -> None:
    counts = order_counts(engine)
    top = top_customers_reference(engine)
    assert len(top) == 5 and len(set(top)) == 5
    ranked = sorted(counts.values(), reverse=True)
    assert [counts[u] for u in top] == ranked[:5]


def test_starter_fails_with_a_hint(engine: Engine) -> None:
    result = check("00-top-customers", starter("top_customers", engine), engine=engine)
    assert_failed_with_hint(result)


def test_right_answer_in_many_queries_fails_on_the_query_count(engine: Engine) -> None:
    def top_customers(engine: Engine) -> list[int]:
        counts = order_counts(engine)  # one statement ...
        order_counts(engine)  # ... and a needless second one
        return sorted(counts, key=lambda u: (-counts[u], u))[:5]

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "2 SQL statements, at most 1 allowed" in result.message


def test_ties_may_come_in_any_order(engine: Engine) -> None:
    counts = order_counts(engine)
    expected = top_customers_reference(engine)

    def top_customers(engine: Engine) -> list[int]:
        order_counts(engine)
        # the busiest five with ties broken the other way round (larger user id first)
        return sorted(counts, key=lambda u: (-counts[u], -u))[:5]

    got = sorted(counts, key=lambda u: (-counts[u], -u))[:5]
    assert [counts[u] for u in got] == [counts[u] for u in expected]
    assert check("00-top-customers", top_customers, engine=engine).ok


def test_a_raising_function_is_reported_not_raised(engine: Engine) -> None:
    def top_customers(engine: Engine) -> list[int]:
        raise RuntimeError("not yet")

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "RuntimeError" in result.message
