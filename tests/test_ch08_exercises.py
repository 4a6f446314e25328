"""Chapter 08 exercise: the reference and correct alternatives pass, the notebook's starter and cheats fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch08 as alternatives
from cheats import ch08 as cheats
from conftest import assert_failed_with_hint, notebook_starters

from perflab.exercises import check
from perflab.exercises.ch08 import (
    MAX_PROFILES,
    ProfileSource,
    make_handler_reference,
    request_stream,
    response_for,
    returning_requests,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08-memory.ipynb"
Handler = Callable[[dict[str, Any]], Any]


def test_the_notebook_has_the_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"make_handler"}


def test_the_solution_passes() -> None:
    result = check("08-fix-the-leak", nbtools.load_solution(NOTEBOOK).make_handler, seed=11)
    assert result.ok, result.message
    assert result.details["loads"] < 0.5 * 8_000 and result.details["growth_kib"] < 384


@pytest.mark.parametrize("fn", alternatives.FIX_THE_LEAK, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(fn: Callable[..., Handler]) -> None:
    result = check("08-fix-the-leak", fn)  # a fresh seed each time, as in the notebook
    assert result.ok, result.message
    assert result.details["held"] <= MAX_PROFILES and "reference solution" not in result.message


def test_the_starter_fails_on_memory_with_the_first_hint() -> None:
    starter = notebook_starters(NOTEBOOK)["make_handler"]
    request = request_stream(1, seed=2)[0]
    assert starter(ProfileSource(2))(request) == response_for(request, ProfileSource(2)(request["user_id"]))
    assert_failed_with_hint(check("08-fix-the-leak", starter, seed=12), "memory grew by",
                            "over the last 4,000 requests", "tracemalloc snapshots")


@pytest.mark.parametrize(("cheat", "fragment"), cheats.FIX_THE_LEAK, ids=[c.__name__ for c, _ in cheats.FIX_THE_LEAK])
def test_cheats_fail(cheat: Callable[..., Handler], fragment: str) -> None:
    assert_failed_with_hint(check("08-fix-the-leak", cheat, seed=13), fragment)


def test_a_cache_that_never_evicts_is_caught_by_its_loads_not_its_memory() -> None:
    """The SQLite cache is invisible to tracemalloc; the users who come back find it anyway."""
    result = check("08-fix-the-leak", cheats.sqlite_unbounded, seed=15)
    assert result.details["curve"][-1][1] < 384 and result.details["held"] > 2_000, result.message


def test_returning_requests_are_the_users_seen_once_with_new_ids() -> None:
    stream = request_stream(8_000, seed=6)
    again = returning_requests(stream)
    counts = {uid: [r["user_id"] for r in stream].count(uid) for uid in {r["user_id"] for r in again[:50]}}
    assert set(counts.values()) == {1} and len(again) > 2 * MAX_PROFILES
    assert not {r["id"] for r in again} & {r["id"] for r in stream}


def test_the_reference_passes_but_is_named() -> None:
    def make_handler(load_profile: Callable[[int], Any]) -> Handler:
        return make_handler_reference(load_profile)

    for fn in (make_handler, make_handler_reference):
        result = check("08-fix-the-leak", fn, seed=16)
        assert result.ok and "it runs make_handler_reference, the package's reference solution" in result.message


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
