"""Chapter 04 exercise: the solution and correct alternatives pass, the starter and cheats fail with a hint.

Every check here runs on an event loop with virtual time (tests/virtualtime.py): the schedules are exact
and no assert depends on how busy the machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from alternatives import ch04 as alternatives
from cheats import ch04 as cheats
from conftest import notebook_starters
from virtualtime import VirtualTimeLoop

from perflab.exercises import CheckResult, check
from perflab.exercises.ch04 import (
    CALLS,
    SCHEDULE_FACTOR,
    FakeApi,
    Recorder,
    dashboards_reference,
    expected_answer,
    greedy,
    make_case,
    run_in_own_loop,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04-async-background.ipynb"
ID = "04-concurrent-handler"
SEEDS = (11, 12)


def virtual_check(fn: Any, seeds: tuple[int, ...] = SEEDS) -> CheckResult:
    return check(ID, fn, seeds=seeds, loop_factory=VirtualTimeLoop)


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
    assert len(case.latency) == 3 * len(case.user_ids) and 4 <= case.limit <= 6
    assert case.best() < case.allowed() < case.total
    with pytest.raises(TypeError):
        case.latency[next(iter(case.latency))] = 0.0  # type: ignore[index]


@pytest.mark.parametrize("seed", range(40))
def test_half_answers_always_miss_the_bound_by_a_margin(seed: int) -> None:
    case = make_case(seed)
    for seconds in (case.user_by_user(), case.in_rounds()):
        assert seconds >= 1.4 * case.best() and seconds >= case.allowed() + 0.05


def test_greedy_schedules() -> None:
    assert greedy([0.1, 0.1, 0.3], 2) == pytest.approx(0.4)
    assert greedy([0.3, 0.1, 0.1], 2) == pytest.approx(0.3)
    assert greedy([0.1] * 6, 3) == pytest.approx(0.2)


def test_the_fake_api_records_each_call_on_the_loop_clock() -> None:
    case = make_case(seed=4)
    recorder = Recorder(case)
    api = FakeApi(recorder)
    uid = case.user_ids[0]

    async def three_at_once() -> list[Any]:
        return await asyncio.gather(api.user(uid), api.orders(uid), api.recommendations(uid))

    got, seconds = run_in_own_loop(three_at_once, loop_factory=VirtualTimeLoop)
    assert tuple(got) == expected_answer(case)[uid]
    assert recorder.peak == 3 and recorder.in_flight == 0 and len(recorder.records) == 3
    for record in recorder.records:
        assert record.start == 0.0 and record.end == pytest.approx(case.latency[(record.call, record.uid)])
    assert seconds == pytest.approx(max(case.latency[(c, uid)] for c in CALLS))
    assert api.stats() == {"calls": 3, "peak": 3}


def test_the_api_keeps_no_case_and_no_counters() -> None:
    api = FakeApi(make_case(seed=4))
    assert sorted(vars(api)) == ["orders", "recommendations", "stats", "user"]
    assert not hasattr(api, "case") and not hasattr(api, "peak")
    assert isinstance(Recorder(make_case(seed=4)).latency, MappingProxyType)


def test_solution_and_reference_pass_with_the_schedule_of_a_free_slot(solution: Any) -> None:
    for fn in (solution.dashboards, dashboards_reference):
        result = virtual_check(fn)
        assert result.ok, result.message
        assert result.details["runs"] == 2
        assert result.details["seconds"] <= result.details["best"] + 1e-6  # virtual time: no overhead at all


def test_the_reference_passes_but_says_so() -> None:
    async def dashboards(user_ids: list[int], api: Any, limit: int) -> Any:
        return await dashboards_reference(user_ids, api, limit)

    result = virtual_check(dashboards)
    assert result.ok and "the package's reference solution" in result.message


@pytest.mark.parametrize("fn", alternatives.CONCURRENT_HANDLER, ids=name)
def test_alternatives_pass(fn: Callable[..., Any]) -> None:
    for seeds in (SEEDS, (21, 22), (31, 32)):
        result = virtual_check(fn, seeds)
        assert result.ok, result.message
        assert result.details["seconds"] <= SCHEDULE_FACTOR * result.details["best"]


def test_the_starter_fails_with_the_symptom() -> None:
    result = virtual_check(notebook_starters(NOTEBOOK)["dashboards"])
    assert_failed_with_hint(result, "about the sum of their latencies", "hint: it waits for each call to finish",
                            "the check allows")
    assert "Semaphore" not in result.message  # the symptom, not the fix
    assert result.details["runs"] == 1  # far too slow: stops after the first case
    assert result.details["seconds"] == pytest.approx(result.details["total"])


def test_the_message_states_the_threshold_the_check_uses() -> None:
    result = virtual_check(cheats.user_by_user)
    details = result.details
    assert details["allowed"] == pytest.approx(SCHEDULE_FACTOR * details["best"] + 0.06)
    assert details["seconds"] > details["allowed"]
    from perflab.display import format_time

    assert f"the check allows {format_time(details['allowed'])}" in result.message


@pytest.mark.parametrize(("cheat", "fragment"), cheats.CONCURRENT_HANDLER,
                         ids=[name(c) for c, _ in cheats.CONCURRENT_HANDLER])
def test_cheats_fail(cheat: Callable[..., Any], fragment: str) -> None:
    assert_failed_with_hint(virtual_check(cheat), fragment)


def test_a_function_that_hangs_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    from perflab.exercises import ch04

    monkeypatch.setattr(ch04, "TIMEOUT_SECONDS", 0.2)

    async def forgets_to_release(user_ids: list[int], api: Any, limit: int) -> None:
        gate = asyncio.Semaphore(1)
        await gate.acquire()
        await gate.acquire()  # waits forever

    assert_failed_with_hint(virtual_check(forgets_to_release), "raised TimeoutError", "did not finish within 0.2 s")


def test_a_semaphore_from_another_cell_says_where_to_create_it() -> None:
    gate = asyncio.Semaphore(1)

    async def contend() -> None:  # two tasks on one token: the semaphore binds to this loop
        async def hold() -> None:
            async with gate:
                await asyncio.sleep(0.01)
        await asyncio.gather(hold(), hold())

    asyncio.run(contend())

    async def dashboards(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
        async def bounded(call: str, uid: int) -> Any:
            async with gate:
                return await getattr(api, call)(uid)
        pages = await asyncio.gather(*(asyncio.gather(*(bounded(c, u) for c in CALLS)) for u in user_ids))
        return {u: tuple(p) for u, p in zip(user_ids, pages)}

    assert_failed_with_hint(virtual_check(dashboards), "different event loop",
                            "hint: create the Semaphore inside dashboards")


def test_the_check_runs_inside_a_running_event_loop(solution: Any) -> None:
    async def in_a_notebook_cell() -> bool:  # a Jupyter cell runs inside an event loop
        return virtual_check(solution.dashboards).ok

    assert asyncio.run(in_a_notebook_cell())


def test_every_call_once_per_user() -> None:
    async def skips_recommendations(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
        return {u: (await api.user(u), await api.orders(u), []) for u in user_ids}

    assert_failed_with_hint(virtual_check(skips_recommendations), "never called api.recommendations(")
    assert CALLS == ("user", "orders", "recommendations")
