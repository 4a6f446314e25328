"""Chapter 00's exercise: the check passes the reference solution and fails the notebook's starter with a hint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alternatives import ch00 as alternatives
from cheats import ch00 as cheats
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


def test_starter_fails_with_a_first_level_hint(engine: Engine) -> None:
    result = check("00-top-customers", starter("top_customers", engine), engine=engine)
    assert_failed_with_hint(result)
    assert "of the 5 users with the most orders" in result.message, result.message
    assert "look at the order counts of the users it returns" in result.details["hint"]
    for fix in ("ORDER BY", "LIMIT", "sort"):  # the symptom, not the fix
        assert fix not in result.message, result.message
    for user in top_customers_reference(engine):  # nor the answer
        assert str(user) not in result.message, result.message


def test_how_many_of_the_five_are_right_is_said(engine: Engine) -> None:
    top, counts = top_customers_reference(engine), order_counts(engine)
    least = sorted(counts, key=lambda u: (counts[u], u))[:3]

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:  # one statement, to get past the statement count
            conn.exec_driver_sql("SELECT count(*) FROM orders").scalar()
        return [*top[:2], *least]

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "2 of the 5 users with the most orders" in result.message, result.message


def test_the_right_five_in_the_wrong_order_are_told_so(engine: Engine) -> None:
    sql = "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 5"

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            return list(reversed(conn.scalars(sa.text(sql)).all()))

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "the 5 users with the most orders, but not most orders first" in result.message, result.message


def test_rows_instead_of_ids_are_told_to_return_the_ids_only(engine: Engine) -> None:
    sql = "SELECT user_id, count(*) AS n FROM orders GROUP BY user_id ORDER BY n DESC, user_id LIMIT 5"

    def top_customers(engine: Engine) -> list[Any]:
        with engine.connect() as conn:
            return conn.execute(sa.text(sql)).all()

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "return the user ids only" in result.message, result.message
    assert "look at the order counts" not in result.message, result.message


@pytest.mark.parametrize("solution", alternatives.ALTERNATIVES, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(engine: Engine, solution: Callable[..., Any]) -> None:
    result = check("00-top-customers", solution, engine=engine)
    assert result.ok, result.message
    assert result.details["count"] == 1


KNOWN_LIMITS = [pytest.param(cheat, None, id=cheat.__name__, marks=pytest.mark.xfail(strict=True, reason=why))
                for cheat, why in cheats.LIMITS]


@pytest.mark.parametrize(("cheat", "fragment"),
                         [pytest.param(c, f, id=c.__name__) for c, f in cheats.CHEATS] + KNOWN_LIMITS)
def test_cheats_fail_with_a_hint(engine: Engine, cheat: Callable[[Engine], Any],
                                 fragment: str | tuple[str, ...] | None) -> None:
    """``fragment``: what the ❌ must say; a tuple: one of them (where Python versions see the cheat differently)."""
    fn = cheat(engine)
    if fn is None:
        pytest.skip(f"{cheat.__name__} is a trick of the other backend")
    assert fn(engine) == top_customers_reference(engine)  # right on the course's data
    result = check("00-top-customers", fn, engine=engine)
    assert_failed_with_hint(result)
    either = (fragment,) if isinstance(fragment, str) else fragment or ()
    assert not either or any(f in result.message for f in either), result.message


def test_every_users_count_sent_back_is_told_to_keep_five_in_the_database(engine: Engine) -> None:
    sql = "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id"  # no LIMIT

    def top_customers(engine: Engine) -> list[int]:
        with engine.connect() as conn:
            return [row.user_id for row in conn.execute(sa.text(sql)).fetchmany(5)]

    assert top_customers(engine) == top_customers_reference(engine)
    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "it sends back every user's count: keep five in the database" in result.message, result.message
    assert "counts in Python" not in result.message, result.message


def test_pandas_probes_are_not_counted_but_kept(engine: Engine) -> None:
    result = check("00-top-customers", alternatives.pandas_read_sql, engine=engine)
    assert result.ok and result.details["count"] == 1 and result.details["probes"] >= 1, result.message


def test_right_answer_in_many_queries_fails_on_the_query_count(engine: Engine) -> None:
    def top_customers(engine: Engine) -> list[int]:
        counts = order_counts(engine)  # one statement ...
        order_counts(engine)  # ... and a needless second one
        return sorted(counts, key=lambda u: (-counts[u], u))[:5]

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "sent 2 SQL statements, at most 1 allowed: `SELECT" in result.message


def test_ties_may_come_in_any_order(engine: Engine) -> None:
    counts = order_counts(engine)
    expected = top_customers_reference(engine)
    sql = "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id DESC LIMIT 5"

    def top_customers(engine: Engine) -> list[int]:  # ties broken the other way round (larger user id first)
        with engine.connect() as conn:
            return list(conn.scalars(sa.text(sql)))

    got = top_customers(engine)
    assert [counts[u] for u in got] == [counts[u] for u in expected]
    assert check("00-top-customers", top_customers, engine=engine).ok


def test_a_raising_function_is_reported_not_raised(engine: Engine) -> None:
    def top_customers(engine: Engine) -> list[int]:
        raise RuntimeError("not yet")

    result = check("00-top-customers", top_customers, engine=engine)
    assert_failed_with_hint(result)
    assert "RuntimeError" in result.message
