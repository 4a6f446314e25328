"""Chapter 04 exercise: the solution and correct alternatives pass, the starter and cheats fail with a hint.

Every check here runs on an event loop with virtual time (tests/virtualtime.py): the schedules are exact
and no assert depends on how busy the machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alternatives import ch04 as alternatives
from cheats import ch04 as cheats
from conftest import assert_failed_with_hint, notebook_starters
from virtualtime import VirtualTimeLoop

from perflab.exercises import CheckResult, check
from perflab.exercises.ch04 import (
    CALLS,
    SCHEDULE_FACTOR,
    CallRecord,
    FakeApi,
    Recorder,
    dashboards_reference,
    expected_answer,
    greedy,
    make_case,
    peak_in_flight,
    run_in_own_loop,
)
from tools import nbtools

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04-async-background.ipynb"
ID = "04-concurrent-handler"
SEEDS = (11, 12)


def virtual_check(fn: Any, seeds: tuple[int, ...] = SEEDS) -> CheckResult:
    return check(ID, fn, seeds=seeds, loop_factory=VirtualTimeLoop)


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
    assert len(case.latency) == 3 * len(case.user_ids) and case.limit in (4, 5)
    assert case.fastest_possible() <= case.best() < case.allowed() < case.total
    with pytest.raises(TypeError):
        case.latency[next(iter(case.latency))] = 0.0  # type: ignore[index]


def test_each_answer_has_a_token_of_its_own() -> None:
    case = make_case()
    assert len(set(case.tokens.values())) == len(case.latency)  # one answer tells nothing about another
    uid = case.user_ids[0]
    assert case.tokens[("user", uid)] in expected_answer(case)[uid][0]["name"]


@pytest.mark.parametrize("seed", range(40))
def test_half_answers_always_miss_the_bound_by_a_margin(seed: int) -> None:
    case = make_case(seed)
    assert set(case.half_answers()) >= {"user by user", "in rounds", "one service after another",
                                        "a cap per service"}
    for seconds in case.half_answers().values():
        assert seconds >= 1.4 * case.best() and seconds >= case.allowed() + 0.05


def test_greedy_schedules() -> None:
    assert greedy([0.1, 0.1, 0.3], 2) == pytest.approx(0.4)
    assert greedy([0.3, 0.1, 0.1], 2) == pytest.approx(0.3)
    assert greedy([0.1] * 6, 3) == pytest.approx(0.2)


def test_the_peak_comes_from_the_records() -> None:
    def rec(start: float, end: float) -> CallRecord:
        return CallRecord("user", 1, start, end, True)

    assert peak_in_flight([]) == 0
    assert peak_in_flight([rec(0, 1), rec(1, 2), rec(2, 3)]) == 1  # an end frees the slot for a start at once
    assert peak_in_flight([rec(0, 3), rec(1, 2), rec(1.5, 4)]) == 3


def virtual_clock() -> float:
    return asyncio.get_running_loop().time()


def test_the_fake_api_records_each_call_when_it_ends() -> None:
    case = make_case(seed=4)
    records: list[CallRecord] = []
    api = FakeApi(Recorder(case, records, virtual_clock))
    uid = case.user_ids[0]

    async def three_at_once() -> list[Any]:
        return await asyncio.gather(api.user(uid), api.orders(uid), api.recommendations(uid))

    got, seconds = run_in_own_loop(three_at_once, loop_factory=VirtualTimeLoop)
    assert tuple(got) == expected_answer(case)[uid]
    assert len(records) == 3 and peak_in_flight(records) == 3
    for record in records:
        assert record.answered and record.start == 0.0
        assert record.end == pytest.approx(case.latency[(record.call, record.uid)])
    assert seconds == pytest.approx(max(case.latency[(c, uid)] for c in CALLS))
    assert api.stats() == {"calls": 3, "peak": 3}


def test_a_cancelled_call_is_recorded_as_not_answered() -> None:
    case = make_case(seed=4)
    records: list[CallRecord] = []
    api = FakeApi(Recorder(case, records, virtual_clock))

    async def cancel_one() -> None:
        task = asyncio.ensure_future(api.user(case.user_ids[0]))
        await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run_in_own_loop(cancel_one, loop_factory=VirtualTimeLoop)
    [record] = records
    assert not record.answered and record.end - record.start == pytest.approx(0.001)


def test_the_api_keeps_no_case_and_the_recorder_a_copy() -> None:
    case = make_case(seed=4)
    api = FakeApi(case)
    assert sorted(vars(api)) == ["orders", "recommendations", "stats", "user"]
    assert not hasattr(api, "case") and not hasattr(api, "peak")
    recorder = Recorder(case)
    recorder._latency[next(iter(case.latency))] = 0.0
    assert 0.0 not in case.latency.values()  # the check's case is not the recorder's


def test_the_recorder_binds_asyncio_sleep_when_made(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(make_case(seed=4))

    async def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the recorder looked asyncio.sleep up at call time")

    monkeypatch.setattr(asyncio, "sleep", never)
    assert recorder._sleep is not never


def test_the_run_is_timed_on_a_clock_the_function_cannot_reach(monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import FakeClock

    from perflab.exercises import ch04

    clock = FakeClock()
    monkeypatch.setattr(ch04, "_perf_counter", clock)  # stands for time.perf_counter, bound by the module

    async def takes_two_seconds_then_rewinds_its_loop() -> str:
        clock.advance(2.0)
        loop = asyncio.get_running_loop()
        loop.time = lambda: -1e9  # type: ignore[method-assign]
        return "done"

    assert run_in_own_loop(takes_two_seconds_then_rewinds_its_loop) == ("done", 2.0)


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


def test_every_run_must_be_within_the_bound(solution: Any) -> None:
    runs: list[int] = []

    async def fast_then_slow(user_ids: list[int], api: Any, limit: int) -> Any:
        runs.append(1)
        if len(runs) == 1:
            return await solution.dashboards(user_ids, api, limit)
        return {u: (await api.user(u), await api.orders(u), await api.recommendations(u)) for u in user_ids}

    result = virtual_check(fast_then_slow)
    assert_failed_with_hint(result, "about the sum of their latencies")
    assert result.details["runs"] == 2


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
