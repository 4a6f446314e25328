"""Chapter 02 exercises: the references pass, the notebook's starters fail with a hint (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import notebook_starters
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload

from perflab.exercises import CheckResult, check
from perflab.exercises.ch02 import product_ratings_reference
from perflab.schema import Product
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02-n-plus-one.ipynb"


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert "hint" in str(result) and result.details["hint"]
    for fragment in fragments:
        assert fragment in result.message, result.message


@pytest.fixture(scope="module")
def solution() -> Any:
    return nbtools.load_solution(NOTEBOOK)


def test_the_notebook_has_one_starter_per_exercise() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"orders_by_user", "product_ratings"}


def test_orders_per_user_solution_passes(sqlite_engine: Engine, solution: Any) -> None:
    result = check("02-orders-per-user", solution.orders_by_user, engine=sqlite_engine)
    assert result.ok, result.message
    assert result.details["count"] == 1


def test_orders_per_user_starter_fails_with_a_hint(sqlite_engine: Engine) -> None:
    result = check("02-orders-per-user", notebook_starters(NOTEBOOK)["orders_by_user"], engine=sqlite_engine)
    assert_failed_with_hint(result, "ran 100 SQL statements", "N+1", "WHERE user_id IN")


def test_loader_option_solution_and_reference_pass(sqlite_engine: Engine, solution: Any) -> None:
    for fn in (solution.product_ratings, product_ratings_reference):
        result = check("02-loader-option", fn, engine=sqlite_engine)
        assert result.ok, result.message
        assert result.details["count"] == 2 and "30 products" in result.message


def test_loader_option_starter_fails_with_a_hint(sqlite_engine: Engine) -> None:
    result = check("02-loader-option", notebook_starters(NOTEBOOK)["product_ratings"], engine=sqlite_engine)
    assert_failed_with_hint(result, "ran 31 SQL statements", "N+1", "reviews", "selectinload(Product.reviews)")


def joined_ratings(engine: Engine) -> list[tuple[int, str, int, float | None]]:
    with Session(engine) as session:
        stmt = sa.select(Product).order_by(Product.id).limit(30).options(joinedload(Product.reviews))
        return [(p.id, p.name, len(p.reviews),
                 round(sum(r.rating for r in p.reviews) / len(p.reviews), 2) if p.reviews else None)
                for p in session.scalars(stmt).unique()]


def test_loader_option_accepts_joinedload(sqlite_engine: Engine) -> None:
    result = check("02-loader-option", joined_ratings, engine=sqlite_engine)
    assert result.ok and result.details["count"] == 1, result.message


def test_loader_option_checks_the_result(sqlite_engine: Engine) -> None:
    def unrounded(engine: Engine) -> list[tuple[int, str, int, float | None]]:
        return [(i, name, n, None if avg is None else avg + 0.001) for i, name, n, avg in joined_ratings(engine)]

    assert_failed_with_hint(check("02-loader-option", unrounded, engine=sqlite_engine), "not the right ones")
    assert_failed_with_hint(check("02-loader-option", lambda engine: joined_ratings(engine)[:10], engine=sqlite_engine),
                            "has 10 items instead of 30")


def test_loader_option_reports_a_crash(sqlite_engine: Engine) -> None:
    def broken(engine: Engine) -> list[Any]:
        raise KeyError("rating")

    assert_failed_with_hint(check("02-loader-option", broken, engine=sqlite_engine), "broken raised KeyError")


@pytest.mark.postgres
def test_chapter_02_exercises_on_postgres(pg_dataset_engine: Engine, solution: Any) -> None:
    assert check("02-orders-per-user", solution.orders_by_user, engine=pg_dataset_engine).ok
    assert check("02-loader-option", solution.product_ratings, engine=pg_dataset_engine).ok
    found = notebook_starters(NOTEBOOK)
    assert_failed_with_hint(check("02-orders-per-user", found["orders_by_user"], engine=pg_dataset_engine), "N+1")
    assert_failed_with_hint(check("02-loader-option", found["product_ratings"], engine=pg_dataset_engine), "N+1")
