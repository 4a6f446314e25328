"""Chapter 11 exercise: the reference, the solution and correct alternatives pass; the starter and cheats fail with a
hint; the served p95 part judged on a fake load test (no timing asserted); the dataset is unchanged afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alternatives import ch11 as alternatives
from cheats import ch11 as cheats
from conftest import notebook_starters
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.exercises import CheckResult, check
from perflab.exercises.ch11 import TARGET_P95_MS, product_page_reference, products_to_check, serve_page
from perflab.loadtest import LoadResult
from tools import nbtools

ID = "11-product-page"
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "11-case-study.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The small test dataset (SQLite, and PostgreSQL when configured); its fingerprint must not change."""
    engine: Engine = request.getfixturevalue(request.param)
    before = dataset.fingerprint(engine)
    yield engine
    cheats.reset()
    assert dataset.fingerprint(engine) == before, "the check left the dataset changed"


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert " — hint: " in result.message and result.details["hint"]
    for fragment in fragments:
        assert fragment in result.message, result.message


def name(fn: Any) -> str:
    return str(fn.__name__)


def fake_load(p95_ms: float, failures: int = 0) -> Callable[..., LoadResult]:
    """A load test that reports ``p95_ms`` without serving anything, and records what it was asked to serve."""
    def run(fn: Callable[..., Any], engine: Engine, product_id: int) -> LoadResult:
        run.asked.append(product_id)  # type: ignore[attr-defined]
        return LoadResult(f"/product/{product_id}", 4, 100, failures, 50.0, p95_ms / 2, p95_ms, p95_ms)

    run.asked = []  # type: ignore[attr-defined]
    return run


def test_the_products_checked_start_with_the_best_seller(sqlite_engine: Engine) -> None:
    ids = products_to_check(sqlite_engine, seed=3)
    assert len(ids) == 4 == len(set(ids)) and ids == products_to_check(sqlite_engine, seed=3)
    assert ids != products_to_check(sqlite_engine, seed=4)
    page = product_page_reference(sqlite_engine, ids[0])
    assert page["also_bought"] and len(page["also_bought"]) <= 5 and len(page["latest_reviews"]) <= 10


def test_reference_passes(engine: Engine) -> None:
    result = check(ID, product_page_reference, engine=engine, load=False)
    assert result.ok, result.message
    assert result.details["statements"] == 3


def test_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check(ID, solution.product_page, engine=engine, load=False)
    assert result.ok, result.message


@pytest.mark.parametrize("fn", alternatives.PRODUCT_PAGE, ids=name)
def test_alternatives_pass(engine: Engine, fn: Callable[..., Any]) -> None:
    result = check(ID, fn, engine=engine, load=False)
    assert result.ok, result.message


def test_starter_fails_with_the_symptom(engine: Engine) -> None:
    starter = notebook_starters(NOTEBOOK)["product_page"]
    assert check(ID, starter, engine=engine, load=False, seed=1).message.count("❌") == 1
    result = check(ID, starter, engine=engine, load=False)
    assert_failed_with_hint(result, "at most 4 allowed", "(an N+1)", "hint: it sends a statement per review author")
    assert "GROUP BY" not in result.message and "JOIN" not in result.message  # the symptom, not the fix


@pytest.mark.parametrize(("cheat", "fragment"), cheats.PRODUCT_PAGE, ids=[name(c) for c, _ in cheats.PRODUCT_PAGE])
def test_cheats_fail(engine: Engine, cheat: Callable[..., Any], fragment: str) -> None:
    cheats.reset()
    assert_failed_with_hint(check(ID, cheat, engine=engine, load=False), fragment)


def test_a_page_under_the_target_passes_and_the_best_seller_is_served(sqlite_engine: Engine) -> None:
    runner = fake_load(TARGET_P95_MS / 2)
    result = check(ID, product_page_reference, engine=sqlite_engine, load_runner=runner)
    assert result.ok, result.message
    assert "p95" in result.message and runner.asked == products_to_check(sqlite_engine)[:1]  # type: ignore[attr-defined]


def test_a_page_over_the_target_fails_with_a_hint(sqlite_engine: Engine) -> None:
    result = check(ID, product_page_reference, engine=sqlite_engine, load_runner=fake_load(TARGET_P95_MS * 2))
    assert_failed_with_hint(result, f"above the {TARGET_P95_MS:g} ms target", "perflab.Spans")


def test_failed_requests_fail(sqlite_engine: Engine) -> None:
    result = check(ID, product_page_reference, engine=sqlite_engine, load_runner=fake_load(10, failures=3))
    assert_failed_with_hint(result, "3 of 100 requests failed")


def test_without_locust_the_check_says_so_in_one_line(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("perflab.loadtest.locust_missing", lambda: "locust is not installed — pip install locust")
    result = check(ID, product_page_reference, engine=sqlite_engine)
    assert result.ok and "load test was skipped: locust is not installed" in result.message


def test_the_served_page_answers_json(sqlite_engine: Engine) -> None:
    pid = products_to_check(sqlite_engine)[0]
    app = serve_page(lambda p: product_page_reference(sqlite_engine, p))

    async def get() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return (await client.get(f"/product/{pid}")).json()

    assert asyncio.run(get()) == product_page_reference(sqlite_engine, pid)
