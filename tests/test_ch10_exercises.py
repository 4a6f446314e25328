"""Chapter 10 exercise: the reference, the solution and correct alternatives pass; the starter and cheats fail with a
hint; the dataset is unchanged afterwards (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch10 as alternatives
from cheats import ch10 as cheats
from conftest import assert_failed_with_hint, notebook_starters
from sqlalchemy.engine import Engine

from perflab import dataset
from perflab.exercises import check
from perflab.exercises.ch10 import make_user_endpoint_reference, request_mix, user_summary_reference
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "10-caching.ipynb"
ENGINES = ["sqlite_engine", pytest.param("pg_dataset_engine", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The small test dataset (SQLite, and PostgreSQL when configured); its fingerprint must not change."""
    engine: Engine = request.getfixturevalue(request.param)
    before = dataset.fingerprint(engine)
    yield engine
    alternatives.cleanup()
    assert dataset.fingerprint(engine) == before, "the check left the dataset changed"


def name(fn: Any) -> str:
    return str(fn.__name__)


def test_the_request_mix_favours_heavy_customers(sqlite_engine: Engine) -> None:
    mix = request_mix(sqlite_engine, 2000, seed=5)
    assert mix == request_mix(sqlite_engine, 2000, seed=5) and mix != request_mix(sqlite_engine, 2000, seed=6)
    top = max(set(mix), key=mix.count)
    assert user_summary_reference(sqlite_engine, top)["orders"] > 3 * 2000 / len(set(mix))


def test_reference_passes(engine: Engine) -> None:
    result = check("10-cache-endpoint", make_user_endpoint_reference, engine=engine)
    assert result.ok, result.message
    assert result.details["hit_ratio"] > 0.9 * result.details["ideal"] and result.details["speedup"] >= 3


def test_solution_passes(engine: Engine) -> None:
    solution = nbtools.load_solution(NOTEBOOK)
    result = check("10-cache-endpoint", solution.make_user_endpoint, engine=engine)
    assert result.ok, result.message


@pytest.mark.parametrize("fn", alternatives.CACHE_ENDPOINT, ids=name)
def test_alternatives_pass(engine: Engine, fn: Callable[..., Any]) -> None:
    result = check("10-cache-endpoint", fn, engine=engine)
    assert result.ok, result.message


@pytest.mark.redis
@pytest.mark.parametrize("fn", alternatives.CACHE_ENDPOINT_REDIS, ids=name)
def test_alternatives_on_redis_pass(engine: Engine, redis_url: str, fn: Callable[..., Any]) -> None:
    """A hit on Redis is a round trip of its own: it still passes against the endpoint one round trip away."""
    alternatives.use_redis(redis_url)
    try:
        result = check("10-cache-endpoint", fn, engine=engine)
    finally:
        alternatives.use_redis(None)
    assert result.ok, result.message


def test_starter_fails_with_the_symptom(engine: Engine) -> None:
    starter = notebook_starters(NOTEBOOK)["make_user_endpoint"]
    result = check("10-cache-endpoint", starter, engine=engine)
    assert_failed_with_hint(result, "without a SQL statement (hit ratio 0%", "hint: it asks the database for every")
    assert "TTLCache" not in result.message and "pop" not in result.message  # the symptom, not the fix


@pytest.mark.parametrize(("cheat", "fragment"), cheats.CACHE_ENDPOINT, ids=[name(c) for c, _ in cheats.CACHE_ENDPOINT])
def test_cheats_fail(engine: Engine, cheat: Callable[..., Any], fragment: str) -> None:
    cheats.reset(engine)
    try:
        assert_failed_with_hint(check("10-cache-endpoint", cheat, engine=engine), fragment)
    finally:
        cheats.close()


@pytest.mark.redis
@pytest.mark.parametrize(("cheat", "fragment"), cheats.CACHE_ENDPOINT_REDIS,
                         ids=[name(c) for c, _ in cheats.CACHE_ENDPOINT_REDIS])
def test_redis_cheats_fail(engine: Engine, redis_url: str, cheat: Callable[..., Any], fragment: str) -> None:
    cheats.use_redis(redis_url)
    try:
        assert_failed_with_hint(check("10-cache-endpoint", cheat, engine=engine), fragment)
    finally:
        cheats.remove_redis_keys()


def test_a_patched_check_is_put_back(sqlite_engine: Engine) -> None:
    """C4 rebinds the stale test; the guard fails it and the next check runs the real one again."""
    import perflab.exercises.ch10 as ch10

    original = ch10._no_stale_answer
    assert_failed_with_hint(check("10-cache-endpoint", cheats.patch_the_checker, engine=sqlite_engine),
                            "changed the check itself")
    assert ch10._no_stale_answer is original
    assert_failed_with_hint(check("10-cache-endpoint", cheats.cached_forever, engine=sqlite_engine),
                            "still returned the old email")


def test_not_two_functions_is_one_line(sqlite_engine: Engine) -> None:
    result = check("10-cache-endpoint", lambda engine: None, engine=sqlite_engine)
    assert_failed_with_hint(result, "returned NoneType, not the two functions", "return user_summary, set_email")


def test_the_slow_side_is_the_reference_one_round_trip_away(engine: Engine) -> None:
    """The learner's function makes two endpoints (the course's dataset, the unseen one): no fresh endpoint of the
    learner's is timed, so a slow miss path buys no speedup; the slow side is the reference endpoint."""
    made: list[Engine] = []

    def counted(engine: Engine) -> tuple[Any, Any]:
        made.append(engine)
        return make_user_endpoint_reference(engine)

    result = check("10-cache-endpoint", counted, engine=engine)
    assert result.ok, result.message
    assert len(made) == 2 and made[0] is engine and made[1] is not engine
    assert "than the endpoint without a cache 1 ms away" in result.message


def test_a_diskcache_level_is_a_cache_not_the_dataset(sqlite_engine: Engine) -> None:
    """diskcache keeps its entries in SQLite files of its own: its statements are hits, not queries of the dataset."""
    result = check("10-cache-endpoint", alternatives.chapter_second_level_only, engine=sqlite_engine)
    alternatives.cleanup()
    assert result.ok, result.message
    assert result.details["hit_ratio"] > 0.9 * result.details["ideal"]
