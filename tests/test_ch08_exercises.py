"""Chapter 08 exercise: the reference and correct alternatives pass, the notebook's starter and cheats fail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch08 as alternatives
from cheats import ch08 as cheats
from conftest import assert_failed_with_hint, notebook_starters

import perflab.exercises.ch08 as ch08
from perflab.exercises import check
from perflab.exercises.ch08 import (
    MAX_PROFILES,
    PROFILE_SLACK,
    REQUESTS,
    ProfileSource,
    fewest_loads,
    make_handler_reference,
    request_stream,
    response_for,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08-memory.ipynb"
Handler = Callable[[dict[str, Any]], Any]


def test_the_notebook_has_the_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"make_handler"}


def test_the_solution_passes() -> None:
    result = check("08-fix-the-leak", nbtools.load_solution(NOTEBOOK).make_handler, seed=11)
    assert result.ok, result.message
    assert result.details["least"] <= result.details["loads"] < 0.5 * REQUESTS and result.details["growth_kib"] < 80


@pytest.mark.parametrize("fn", alternatives.FIX_THE_LEAK, ids=lambda f: f.__name__)
def test_correct_alternatives_pass(fn: Callable[..., Handler]) -> None:
    result = check("08-fix-the-leak", fn)  # a fresh seed each time, as in the notebook
    assert result.ok, result.message
    assert result.details["loads"] >= result.details["least"] and "reference solution" not in result.message


def test_the_starter_fails_on_memory_with_the_first_hint() -> None:
    starter = notebook_starters(NOTEBOOK)["make_handler"]
    request = request_stream(1, seed=2)[0]
    assert starter(ProfileSource(2))(request) == response_for(request, ProfileSource(2)(request["user_id"]))
    result = check("08-fix-the-leak", starter, seed=12)
    assert_failed_with_hint(result, "memory grew by", "over the last 10,000 requests", "within=make_handler")
    assert "lru_cache" not in result.message and "user_id" not in result.message  # the first hint only


@pytest.mark.parametrize(("cheat", "fragments"), cheats.FIX_THE_LEAK, ids=[c.__name__ for c, _ in cheats.FIX_THE_LEAK])
def test_cheats_fail(cheat: Callable[..., Handler], fragments: tuple[str, ...],
                     monkeypatch: pytest.MonkeyPatch) -> None:
    for limit in ("GROWTH_LIMIT_KIB", "MAX_PROFILES", "PROFILE_SLACK"):  # undone after the test, whatever a cheat sets
        monkeypatch.setattr(ch08, limit, getattr(ch08, limit))
    assert_failed_with_hint(check("08-fix-the-leak", cheat, seed=13), *fragments)


def test_a_cache_outside_pythons_heap_is_caught_by_its_loads_not_its_memory() -> None:
    """The SQLite cache is invisible to tracemalloc; the users who come back find it anyway."""
    result = check("08-fix-the-leak", cheats.sqlite_unbounded, seed=15)
    assert result.details["growth_kib"] < 80 and result.details["loads"] < result.details["least"], result.message


def test_a_cache_outside_pythons_heap_that_reloads_its_hits_passes_as_documented() -> None:
    """The limitation the check's docstring states: loads of the requested user during its request are what a
    cache makes, whether or not it needed them."""
    result = check("08-fix-the-leak", cheats.sqlite_reloads_hits, seed=15)
    assert result.ok, result.message


def test_fewest_loads_is_beladys_bound() -> None:
    users = [1, 2, 3, 1, 2, 3, 4, 1]
    assert fewest_loads(users, capacity=10) == 4  # each user once
    assert fewest_loads(users, capacity=2) == 5  # keeps 1 and 2 or 3, reloads one of them
    assert fewest_loads(users, capacity=0) == len(users)
    assert fewest_loads([], capacity=3) == 0


def test_users_come_back_in_among_the_other_traffic() -> None:
    stream = request_stream(REQUESTS, seed=6)
    assert [r["id"] for r in stream[:3]] == ["6-0", "6-1", "6-2"] and stream[-1]["id"] == f"6-{REQUESTS - 1}"
    first: dict[int, int] = {}
    returns = []
    for i, r in enumerate(stream):
        if r["user_id"] >= 1_000_000:  # not a regular
            if r["user_id"] in first:
                returns.append(i - first[r["user_id"]])
            first.setdefault(r["user_id"], i)
    assert min(returns) >= 4_000 and len(returns) > 1_000
    new_late = sum(i >= REQUESTS // 2 for i in first.values())
    assert new_late > 500  # new users keep coming while returning ones do
    users = [r["user_id"] for r in stream]
    unbounded = len(set(users))
    assert fewest_loads(users, MAX_PROFILES + PROFILE_SLACK) > unbounded + 300


def test_the_limits_cannot_be_changed_from_the_notebook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ch08, "GROWTH_LIMIT_KIB", 10**9)
    monkeypatch.setattr(ch08, "MAX_PROFILES", 10**9)
    assert not check("08-fix-the-leak", cheats.unbounded_by_user, seed=17).ok


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


def test_the_source_keeps_its_seed_and_count_to_itself() -> None:
    source = ProfileSource(5)
    source(1)
    assert not hasattr(source, "seed")
    with pytest.raises(AttributeError):
        source.calls = 0  # type: ignore[misc]
    assert source.calls == 1
