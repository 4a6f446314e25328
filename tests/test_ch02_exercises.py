"""Chapter 02 exercises: references and correct alternatives pass, starters and cheats fail with a hint (SQLite and
PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alternatives import ch02 as alternatives
from cheats import ch02 as cheats
from conftest import assert_failed_with_hint, notebook_starters
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.db import make_engine
from perflab.exercises import check
from perflab.exercises.ch02 import orders_by_user_reference, product_ratings_reference, sample_user_ids
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02-n-plus-one.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The small test dataset on SQLite, and on PostgreSQL when PERFLAB_TEST_POSTGRES_URL is set."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def course_scale_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The course's own dataset (scale 1, seed 17), built for this module on SQLite and on PostgreSQL."""
    schema = f"perflab_test_course_{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('course') / 'perflab.sqlite'}")
    else:
        engine = make_engine(request.getfixturevalue("pg_url"), schema=schema)
    dataset.build(engine, 1, 17, progress=False)
    yield engine
    if request.param == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


@pytest.fixture(scope="module")
def solution() -> Any:
    return nbtools.load_solution(NOTEBOOK)


def name(fn: Any) -> str:
    return str(fn.__name__)


def test_the_notebook_has_one_starter_per_exercise() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"orders_by_user", "product_ratings"}


# ------------------------------------------------------------------ 02-orders-per-user


def test_orders_per_user_solution_passes(engine: Engine, solution: Any) -> None:
    result = check("02-orders-per-user", solution.orders_by_user, engine=engine)
    assert result.ok, result.message
    assert result.details["count"] == 1 and "unseen dataset" in result.message


@pytest.mark.parametrize("fn", alternatives.ORDERS_PER_USER, ids=name)
def test_orders_per_user_alternatives_pass(engine: Engine, fn: Callable[..., Any]) -> None:
    result = check("02-orders-per-user", fn, engine=engine)
    assert result.ok, result.message


def test_orders_per_user_starter_fails_with_the_symptom(engine: Engine) -> None:
    result = check("02-orders-per-user", notebook_starters(NOTEBOOK)["orders_by_user"], engine=engine)
    assert_failed_with_hint(result, "sent 100 SQL statements, at most 2 allowed",
                            "ran 100 times", "hint: it sends one query per user")
    assert " IN " not in result.message  # the symptom, not the fix


@pytest.mark.parametrize(("cheat", "fragments"), cheats.ORDERS_PER_USER,
                         ids=[name(c) for c, _ in cheats.ORDERS_PER_USER])
def test_orders_per_user_cheats_fail(engine: Engine, cheat: Callable[..., Any], fragments: tuple[str, ...]) -> None:
    ids = sample_user_ids(engine)
    assert dict(cheat(engine, ids)) == orders_by_user_reference(engine, ids)  # right, only hidden
    assert_failed_with_hint(check("02-orders-per-user", cheat, engine=engine), *fragments)


@pytest.mark.parametrize(("cheat", "fragments"), cheats.ORDERS_PER_USER_SQLITE,
                         ids=[name(c) for c, _ in cheats.ORDERS_PER_USER_SQLITE])
def test_orders_per_user_sqlite_cheats_fail(sqlite_engine: Engine, cheat: Callable[..., Any],
                                            fragments: tuple[str, ...]) -> None:
    ids = sample_user_ids(sqlite_engine)
    assert dict(cheat(sqlite_engine, ids)) == orders_by_user_reference(sqlite_engine, ids)
    assert_failed_with_hint(check("02-orders-per-user", cheat, engine=sqlite_engine), *fragments)


def test_orders_per_user_names_an_n_plus_one_only_when_a_statement_repeats(engine: Engine) -> None:
    def three_different(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT count(*) FROM users")).all()
            conn.execute(sa.text("SELECT count(*) FROM orders")).all()
        return orders_by_user_reference(engine, user_ids)

    result = check("02-orders-per-user", three_different, engine=engine)
    assert_failed_with_hint(result, "sent 3 SQL statements, at most 2 allowed", "SELECT count(*) FROM users",
                            "hint: the answer needs at most 2 statements")
    assert "N+1" not in result.message and "one query per user" not in result.message


def test_orders_per_user_bounds_the_rows(engine: Engine) -> None:
    def every_order(engine: Engine, user_ids: list[int]) -> dict[int, list[int]]:
        result: dict[int, list[int]] = {uid: [] for uid in user_ids}
        with engine.connect() as conn:
            for uid, oid in conn.execute(sa.text("SELECT user_id, id FROM orders ORDER BY id")):
                if uid in result:
                    result[uid].append(oid)
        return result

    assert_failed_with_hint(check("02-orders-per-user", every_order, engine=engine), "rows from the database",
                            "reads orders of other users")


@pytest.mark.parametrize(("exercise", "cheat", "fragments"), cheats.PACKED, ids=[e for e, _, _ in cheats.PACKED])
def test_a_table_packed_into_one_row_fails_on_the_course_dataset(course_scale_engine: Engine, exercise: str,
                                                                 cheat: Callable[..., Any],
                                                                 fragments: tuple[str, ...]) -> None:
    assert_failed_with_hint(check(exercise, cheat, engine=course_scale_engine), *fragments)


# ------------------------------------------------------------------ 02-loader-option


def test_loader_option_solution_and_reference_pass(engine: Engine, solution: Any) -> None:
    for fn in (solution.product_ratings, product_ratings_reference):
        result = check("02-loader-option", fn, engine=engine)
        assert result.ok, result.message
        assert result.details["count"] == 2 and "30 products" in result.message


@pytest.mark.parametrize("fn", alternatives.LOADER_OPTION, ids=name)
def test_loader_option_alternatives_pass(engine: Engine, fn: Callable[..., Any]) -> None:
    result = check("02-loader-option", fn, engine=engine)
    assert result.ok, result.message


def test_sql_rounding_differs_and_passes_within_the_tolerance(engine: Engine) -> None:
    sql = {row[0]: row[3] for row in alternatives.ratings_sql_round(engine)}
    python = {row[0]: row[3] for row in product_ratings_reference(engine)}
    assert all(abs(float(sql[i]) - python[i]) <= 0.0100001 for i in python if python[i] is not None)


def test_loader_option_starter_fails_with_the_symptom_only(engine: Engine) -> None:
    result = check("02-loader-option", notebook_starters(NOTEBOOK)["product_ratings"], engine=engine)
    assert_failed_with_hint(result, "sent 31 SQL statements", "one statement ran 30 times",
                            "hint: it sends one query per product", "%%queries")
    assert "reviews" not in result.message and "selectinload" not in result.message  # left for the learner to find


@pytest.mark.parametrize(("cheat", "fragments"), cheats.LOADER_OPTION, ids=[name(c) for c, _ in cheats.LOADER_OPTION])
def test_loader_option_cheats_fail(engine: Engine, cheat: Callable[..., Any], fragments: tuple[str, ...]) -> None:
    assert list(cheat(engine)) == product_ratings_reference(engine)  # right, only wasteful
    assert_failed_with_hint(check("02-loader-option", cheat, engine=engine), *fragments)


@pytest.mark.parametrize(("cheat", "fragments"), cheats.LOADER_OPTION_SQLITE,
                         ids=[name(c) for c, _ in cheats.LOADER_OPTION_SQLITE])
def test_loader_option_sqlite_cheats_fail(sqlite_engine: Engine, cheat: Callable[..., Any],
                                          fragments: tuple[str, ...]) -> None:
    assert list(cheat(sqlite_engine)) == product_ratings_reference(sqlite_engine)
    assert_failed_with_hint(check("02-loader-option", cheat, engine=sqlite_engine), *fragments)


def test_loader_option_checks_the_result(engine: Engine) -> None:
    def off_by_a_tenth(engine: Engine) -> list[tuple[int, str, int, float | None]]:
        rows = alternatives.ratings_joinedload(engine)
        return [(i, n, c, None if avg is None else avg + 0.1) for i, n, c, avg in rows]

    assert_failed_with_hint(check("02-loader-option", off_by_a_tenth, engine=engine), "not the right ones")
    assert_failed_with_hint(check("02-loader-option", lambda engine: alternatives.ratings_joinedload(engine)[:10],
                                  engine=engine), "has 10 items instead of 30")


def test_loader_option_reports_a_crash(sqlite_engine: Engine) -> None:
    def broken(engine: Engine) -> list[Any]:
        raise KeyError("rating")

    assert_failed_with_hint(check("02-loader-option", broken, engine=sqlite_engine), "broken raised KeyError")
