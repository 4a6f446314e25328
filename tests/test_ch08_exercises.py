"""Chapter 08 exercise: the reference and correct alternatives pass, the notebook's starter and cheats fail."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import cachetools
import pytest
from conftest import notebook_starters

from perflab.exercises import CheckResult, check
from perflab.exercises.ch08 import MAX_PROFILES, ProfileSource, request_stream, response_for
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08-memory.ipynb"
Handler = Callable[[dict[str, Any]], Any]


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert " — hint: " in result.message and result.details["hint"]
    for fragment in fragments:
        assert fragment in result.message, result.message


def cachetools_ttl(load_profile: Callable[[int], Any]) -> Handler:
    cache: cachetools.TTLCache[int, Any] = cachetools.TTLCache(maxsize=MAX_PROFILES, ttl=300)

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
        return response_for(request, cache[uid])

    return handle


def ordered_dict_lru(load_profile: Callable[[int], Any]) -> Handler:
    cache: OrderedDict[int, Any] = OrderedDict()

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid in cache:
            cache.move_to_end(uid)
        else:
            cache[uid] = load_profile(uid)
            if len(cache) > MAX_PROFILES:
                cache.popitem(last=False)
        profile = cache[uid]
        return {"request": request["id"], "name": profile["name"], "orders": len(profile["order_cents"]),
                "total_cents": sum(profile["order_cents"])}

    return handle


def cached_responses_lru(load_profile: Callable[[int], Any]) -> Handler:
    @lru_cache(maxsize=512)
    def summary(uid: int) -> tuple[str, int, int]:
        p = load_profile(uid)
        return p["name"], len(p["order_cents"]), sum(p["order_cents"])

    def handle(request: dict[str, Any]) -> Any:
        name, orders, total = summary(request["user_id"])
        return {"request": request["id"], "name": name, "orders": orders, "total_cents": total}

    return handle


def unbounded_by_user(load_profile: Callable[[int], Any]) -> Handler:
    cache: dict[int, Any] = {}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
        return response_for(request, cache[uid])

    return handle


def cleared_every_call(load_profile: Callable[[int], Any]) -> Handler:
    cache: dict[int, Any] = {}

    def handle(request: dict[str, Any]) -> Any:
        cache.clear()  # bounded, and right, but the cache never serves anything
        cache[request["user_id"]] = load_profile(request["user_id"])
        return response_for(request, cache[request["user_id"]])

    return handle


def canned(load_profile: Callable[[int], Any]) -> Handler:
    source = ProfileSource(seed=1)  # the notebook's seed, not the check's
    return lambda request: response_for(request, source(request["user_id"]))


def test_the_notebook_has_the_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"make_handler"}


def test_the_solution_passes() -> None:
    result = check("08-fix-the-leak", nbtools.load_solution(NOTEBOOK).make_handler, seed=11)
    assert result.ok, result.message
    assert result.details["loads"] < 0.5 * 8_000 and result.details["growth_kib"] < 384


@pytest.mark.parametrize("fn", [cachetools_ttl, ordered_dict_lru, cached_responses_lru], ids=lambda f: f.__name__)
def test_correct_alternatives_pass(fn: Callable[..., Handler]) -> None:
    result = check("08-fix-the-leak", fn)  # a fresh seed each time, as in the notebook
    assert result.ok, result.message


def test_the_starter_fails_on_memory_with_the_first_hint() -> None:
    starter = notebook_starters(NOTEBOOK)["make_handler"]
    request = request_stream(1, seed=2)[0]
    assert starter(ProfileSource(2))(request) == response_for(request, ProfileSource(2)(request["user_id"]))
    assert_failed_with_hint(check("08-fix-the-leak", starter, seed=12), "memory grew by",
                            "over the last 4,000 requests", "tracemalloc snapshots")


@pytest.mark.parametrize(("cheat", "fragment"), [
    (unbounded_by_user, "memory grew by"),
    (cleared_every_call, "load_profile ran 8,000 times for 8,000 requests"),
    (canned, "should be"),
], ids=lambda x: getattr(x, "__name__", ""))
def test_cheats_fail(cheat: Callable[..., Handler], fragment: str) -> None:
    assert_failed_with_hint(check("08-fix-the-leak", cheat, seed=13), fragment)


def test_a_handler_that_raises_or_is_missing_fails_with_one_line() -> None:
    def broken(load_profile: Callable[[int], Any]) -> Handler:
        return lambda request: request["missing"]

    assert_failed_with_hint(check("08-fix-the-leak", broken, seed=14), "handle raised KeyError")
    assert_failed_with_hint(check("08-fix-the-leak", lambda load_profile: None, seed=14), "not a handler function")


def test_requests_and_profiles_are_fresh_per_seed_and_repeatable() -> None:
    assert request_stream(50, seed=3) == request_stream(50, seed=3)
    assert request_stream(50, seed=3) != request_stream(50, seed=4)
    regulars = [r["user_id"] for r in request_stream(2_000, seed=3) if r["user_id"] < 1_000_000]
    assert 0.6 < len(regulars) / 2_000 < 0.8 and len(set(regulars)) <= 100
    assert ProfileSource(3)(42) != ProfileSource(4)(42)
