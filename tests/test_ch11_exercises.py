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
from conftest import assert_failed_with_hint, notebook_starters
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.errors import PerflabError
from perflab.exercises import check
from perflab.exercises.ch11 import (
    LOAD_PRODUCTS,
    REFERENCE_FACTOR,
    TARGET_P95_MS,
    product_page_reference,
    products_to_check,
    products_to_serve,
    serve_page,
)
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


def name(fn: Any) -> str:
    return str(fn.__name__)


def fake_load(p95_ms: float, failures: int = 0, reference_p95_ms: float = 20.0, requests: int = 100,
              idle: int = 0, error: str | None = None) -> Callable[..., LoadResult]:
    """A load test that reports ``p95_ms`` and ``requests`` for the learner's function (none finished for its
    first ``idle`` products; ``error``: raises instead) and ``reference_p95_ms`` and 100 requests for the
    reference, without serving anything, and records what it was asked to serve."""
    def run(fn: Callable[..., Any], engine: Engine, product_ids: list[int]) -> LoadResult:
        run.asked.append((fn, list(product_ids)))  # type: ignore[attr-defined]
        paths = [f"/product/{p}" for p in product_ids]
        if fn is product_page_reference:
            return LoadResult(" ".join(paths), 4, 100, 0, 50.0, reference_p95_ms / 2, reference_p95_ms,
                              reference_p95_ms, 0, dict.fromkeys(paths, 100 // len(paths)))
        if error:
            raise PerflabError(error)
        finished = paths[idle:]
        by_path = {p: requests // len(finished) for p in finished}
        return LoadResult(" ".join(paths), 4, requests, failures, 50.0, p95_ms / 2, p95_ms, p95_ms, 4 * bool(idle),
                          by_path)

    run.asked = []  # type: ignore[attr-defined]
    return run


def learner(engine: Engine, product_id: int) -> dict[str, Any]:
    """A correct page that is not the reference object (the fake load test tells them apart)."""
    return product_page_reference(engine, product_id)


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


def test_the_products_served_are_the_best_seller_and_popular_ones_not_asked_for(sqlite_engine: Engine) -> None:
    asked = products_to_check(sqlite_engine, seed=3)
    served = products_to_serve(sqlite_engine, asked, seed=3)
    assert served[0] == asked[0] and len(served) == 1 + LOAD_PRODUCTS == len(set(served))
    assert not set(served[1:]) & set(asked) and served != products_to_serve(sqlite_engine, asked, seed=4)


def test_a_page_under_the_target_passes_and_both_are_served_on_the_same_products(sqlite_engine: Engine) -> None:
    runner = fake_load(TARGET_P95_MS / 2)
    result = check(ID, learner, engine=sqlite_engine, load_runner=runner, seed=3)
    assert result.ok, result.message
    (fn, ids), (ref, ref_ids) = runner.asked  # type: ignore[attr-defined]
    assert fn is learner and ref is product_page_reference and ids == ref_ids
    assert ids == products_to_serve(sqlite_engine, products_to_check(sqlite_engine, seed=3), seed=3)
    assert "p95" in result.message and "the reference: p95 20 ms" in result.message


def test_a_page_over_the_target_fails_with_a_hint(sqlite_engine: Engine) -> None:
    result = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(TARGET_P95_MS * 2))
    assert_failed_with_hint(result, f"above the {TARGET_P95_MS:g} ms target", "perflab.Spans")


def test_a_busy_machine_raises_the_target_with_the_reference(sqlite_engine: Engine) -> None:
    busy = TARGET_P95_MS  # the reference's own p95 on a loaded machine
    slower = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(2 * busy, reference_p95_ms=busy))
    assert slower.ok and slower.details["target_p95_ms"] == REFERENCE_FACTOR * busy, slower.message
    too_slow = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(3 * busy, reference_p95_ms=busy))
    assert_failed_with_hint(too_slow, f"above {REFERENCE_FACTOR:g} x the reference's p95")


def test_failed_requests_fail(sqlite_engine: Engine) -> None:
    result = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(10, failures=3))
    assert_failed_with_hint(result, "3 of 100 requests failed")


def test_a_page_slower_than_the_run_on_one_product_fails_with_a_hint(sqlite_engine: Engine) -> None:
    result = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(30, idle=1), seed=3)
    best = products_to_check(sqlite_engine, seed=3)[0]
    assert_failed_with_hint(result, f"no request for /product/{best} finished",
                            "hint: your page took longer than the 2 s run")
    several = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(30, idle=4))
    assert_failed_with_hint(several, "and 2 other products finished")


def test_far_fewer_requests_than_the_reference_fail(sqlite_engine: Engine) -> None:
    assert check(ID, learner, engine=sqlite_engine, load_runner=fake_load(30, requests=40)).ok
    result = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(30, requests=30))
    assert_failed_with_hint(result, "finished 30 requests where the reference finished 100", "longer than the 2 s")


def test_no_request_at_all_is_a_failure_not_a_traceback(sqlite_engine: Engine) -> None:
    result = check(ID, learner, engine=sqlite_engine, load_runner=fake_load(30, error="no request in run.json"))
    assert_failed_with_hint(result, "no request in run.json", "longer than the 2 s run")


def test_a_cached_starter_warmed_on_the_best_seller_still_fails(engine: Engine) -> None:
    cheats.reset()
    cheats.memoised_starter(engine, products_to_check(engine)[0])  # what a learner's earlier call leaves
    assert_failed_with_hint(check(ID, cheats.memoised_starter, engine=engine, load=False), "at most 4 allowed")


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
