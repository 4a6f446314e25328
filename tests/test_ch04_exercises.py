"""Chapter 04 exercise: the solution and correct alternatives pass, the starter and cheats fail with a hint."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch04 as alternatives
from cheats import ch04 as cheats
from conftest import notebook_starters

from perflab.exercises import CheckResult, check
from perflab.exercises.ch04 import (
    CALLS,
    FakeApi,
    dashboards_reference,
    expected_answer,
    make_case,
    run_in_own_loop,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04-async-background.ipynb"
ID = "04-concurrent-handler"


def assert_failed_with_hint(result: CheckResult, *fragments: str) -> None:
    assert result.ok is False, result.message
    assert " — hint: " in result.message and result.details["hint"]
    for fragment in fragments:
        assert fragment in result.message, result.message


@pytest.fixture(scope="module")
def solution() -> Any:
    return nbtools.load_solution(NOTEBOOK)


def name(fn: Any) -> str:
    return str(fn.__name__)


def test_the_notebook_has_one_starter() -> None:
    assert set(notebook_starters(NOTEBOOK)) == {"dashboards"}


def test_cases_are_fresh_and_reproducible() -> None:
    assert make_case(seed=5) == make_case(seed=5)
    assert make_case() != make_case()  # new users, cap, latencies and answers on every run
    case = make_case(seed=5)
    assert len(case.latency) == 3 * len(case.user_ids) and case.slowest >= 0.25
    assert case.best() <= case.bound < case.total


def test_the_fake_api_counts_calls_and_concurrency() -> None:
    case = make_case(seed=4)
    api = FakeApi(case)
    uid = case.user_ids[0]

    async def three_at_once() -> list[Any]:
        return await asyncio.gather(api.user(uid), api.orders(uid), api.recommendations(uid))

    got = run_in_own_loop(three_at_once)[0]
    assert tuple(got) == expected_answer(case)[uid]
    assert api.peak == 3 and api.in_flight == 0 and sum(api.calls.values()) == 3


def test_solution_and_reference_pass(solution: Any) -> None:
    for fn in (solution.dashboards, dashboards_reference):
        result = check(ID, fn)
        assert result.ok, result.message
        assert result.details["seconds"] <= result.details["bound"] + 0.06 and result.details["runs"] == 2


@pytest.mark.parametrize("fn", alternatives.CONCURRENT_HANDLER, ids=name)
def test_alternatives_pass(fn: Callable[..., Any]) -> None:
    result = check(ID, fn)
    assert result.ok, result.message


def test_the_starter_fails_with_the_symptom() -> None:
    result = check(ID, notebook_starters(NOTEBOOK)["dashboards"])
    assert_failed_with_hint(result, "about the sum of their latencies", "hint: it waits for each call to finish")
    assert "Semaphore" not in result.message  # the symptom, not the fix
    assert result.details["runs"] == 1  # far too slow: stops after the first case


@pytest.mark.parametrize(("cheat", "fragment"), cheats.CONCURRENT_HANDLER,
                         ids=[name(c) for c, _ in cheats.CONCURRENT_HANDLER])
def test_cheats_fail(cheat: Callable[..., Any], fragment: str) -> None:
    assert_failed_with_hint(check(ID, cheat), fragment)


def test_a_function_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from perflab.exercises import ch04

    monkeypatch.setattr(ch04, "TIMEOUT_SECONDS", 0.2)

    async def forgets_to_release(user_ids: list[int], api: Any, limit: int) -> None:
        gate = asyncio.Semaphore(1)
        await gate.acquire()
        await gate.acquire()  # waits forever

    assert_failed_with_hint(check(ID, forgets_to_release), "raised TimeoutError", "did not finish within 0.2 s")


def test_the_check_runs_inside_a_running_event_loop(solution: Any) -> None:
    async def in_a_notebook_cell() -> bool:  # a Jupyter cell runs inside an event loop
        return check(ID, solution.dashboards).ok

    assert asyncio.run(in_a_notebook_cell())


def test_every_call_once_per_user() -> None:
    async def skips_recommendations(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
        return {u: (await api.user(u), await api.orders(u), []) for u in user_ids}

    assert_failed_with_hint(check(ID, skips_recommendations), "(user_ids, api, limit)")
    assert CALLS == ("user", "orders", "recommendations")
