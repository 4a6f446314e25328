"""Chapter 04's exercise, answers that only look right (or half right): they must fail."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from perflab.exercises import ch04
from perflab.exercises.ch04 import CALLS, expected_answer, make_case


async def unbounded(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Fast and right, but every call at once: ignores the cap."""
    pages = await asyncio.gather(*(asyncio.gather(*(getattr(api, c)(u) for c in CALLS)) for u in user_ids))
    return {u: tuple(p) for u, p in zip(user_ids, pages)}


async def unbounded_then_reset(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Every call at once, then the cap counter reset on the api: the check's counter is not on the api."""
    pages = await unbounded(user_ids, api, limit)
    api.peak = 0
    api.in_flight = 0
    return pages


_REMEMBERED = expected_answer(make_case(seed=1))


async def canned(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """No calls at all: answers remembered from one run (the check draws new data every time)."""
    return {uid: _REMEMBERED.get(uid, ({}, [], [])) for uid in user_ids}


async def answer_key(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """No calls: the answer key computed from the case the api was made from (the api keeps no case)."""
    return ch04.expected_answer(api.case)


async def answer_key_after_calls(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """Each call made one by one, results thrown away, then a made-up case's answers: the salt is private."""
    for uid in user_ids:
        for call in CALLS:
            await getattr(api, call)(uid)
    return {uid: page for uid, page in expected_answer(make_case(seed=2)).items() if uid in user_ids}


async def instant_latencies(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The latencies set to (almost) nothing, then every call one by one: they are not the api's to change."""
    for key in api.case.latency:
        api.case.latency[key] = 1e-6
    answers = {}
    for u in user_ids:  # a loop, not nested comprehensions: Python 3.10 rejects an await in those
        answers[u] = tuple([await getattr(api, c)(u) for c in CALLS])
    return answers


async def twice(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Bounded, but every call made twice (a "warm-up" pass): the services pay double."""
    gate = asyncio.Semaphore(limit)

    async def bounded(call: str, uid: int) -> Any:
        async with gate:
            return await getattr(api, call)(uid)

    await asyncio.gather(*(bounded("user", u) for u in user_ids))
    pages = await asyncio.gather(*(asyncio.gather(*(bounded(c, u) for c in CALLS)) for u in user_ids))
    return {u: tuple(p) for u, p in zip(user_ids, pages)}


def not_async(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """A plain function: it cannot await the services."""
    return {uid: (None, None, None) for uid in user_ids}


async def user_by_user(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """Half the exercise: each user's three calls together, the users one after another (never uses limit)."""
    result = {}
    for uid in user_ids:
        result[uid] = tuple(await asyncio.gather(api.user(uid), api.orders(uid), api.recommendations(uid)))
    return result


async def in_rounds(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """Under the cap, but `limit` calls at a time, each round waiting for its slowest call."""
    todo = [(call, uid) for uid in user_ids for call in CALLS]
    got: dict[tuple[str, int], Any] = {}
    for i in range(0, len(todo), limit):
        chunk = todo[i:i + limit]
        for key, value in zip(chunk, await asyncio.gather(*(getattr(api, c)(u) for c, u in chunk))):
            got[key] = value
    return {uid: tuple(got[(c, uid)] for c in CALLS) for uid in user_ids}




def _recorder_of(api: Any) -> Any:
    """The recorder the api's methods close over: digging it out is out of the check's scope, but what it
    reaches must not make a run pass."""
    return api.user.__closure__[0].cell_contents


async def _starter(user_ids: list[int], api: Any) -> dict[int, tuple[Any, ...]]:
    return {u: (await api.user(u), await api.orders(u), await api.recommendations(u)) for u in user_ids}


async def zero_latency(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The recorder's latencies set to zero (reached through the closure), then the starter: the check compares
    each call's duration with its own copy of the case."""
    recorder = _recorder_of(api)
    recorder._latency = dict.fromkeys(recorder._latency, 0.0)
    return await _starter(user_ids, api)


async def instant_sleep_in_recorder(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The recorder's own sleep replaced by sleep(0) (through the closure), then the starter."""
    real = asyncio.sleep

    async def instant(delay: float, result: Any = None) -> Any:
        return await real(0, result)

    _recorder_of(api)._sleep = instant
    return await _starter(user_ids, api)


async def forged_durations(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The recorder's sleep made instant and its clock made to jump a second per reading (through the closure), so
    every record claims its full latency: the check times the whole run on its own clock."""
    recorder = _recorder_of(api)
    real, ticks = asyncio.sleep, iter(range(10**6))

    async def instant(delay: float, result: Any = None) -> Any:
        return await real(0, result)

    recorder._sleep, recorder._clock = instant, lambda: float(next(ticks))
    return await _starter(user_ids, api)


async def unbounded_reset_closure(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Every call at once, then the recorder's counters zeroed: the peak comes from each call's start and end."""
    pages = await unbounded(user_ids, api, limit)
    recorder = _recorder_of(api)
    recorder.peak = recorder.in_flight = 0
    return pages


async def unbounded_records_cleared(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Every call at once, then the records thrown away: a call that left no record was not made."""
    pages = await unbounded(user_ids, api, limit)
    _recorder_of(api).records.clear()
    return pages


async def clock_rewind(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The starter, then the loop's clock turned back by the time it took: the check keeps its own clock."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await _starter(user_ids, api)
    spent, real = loop.time() - t0, loop.time
    loop.time = lambda: real() - spent  # type: ignore[method-assign]
    return result


async def patched_sleep(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The starter with asyncio.sleep made instant while it runs: the recorder bound asyncio.sleep when it was made."""
    real = asyncio.sleep

    async def instant(delay: float, result: Any = None) -> Any:
        return await real(0, result)

    asyncio.sleep = instant  # type: ignore[assignment]
    try:
        return await _starter(user_ids, api)
    finally:
        asyncio.sleep = real


def _derive(salt: str, call: str, uid: int) -> Any:  # how answers were made when they shared one salt
    if call == "user":
        return {"id": uid, "name": f"user {uid}-{salt}"}
    rng = random.Random(f"{salt}:{call}:{uid}")
    if call == "orders":
        return [rng.randint(1, 50_000) for _ in range(rng.randint(0, 4))]
    return [rng.randint(1, 2_000) for _ in range(3)]


async def salt_from_one_user(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """One real call to learn a salt, every other call started and cancelled at once, the answers derived: each
    answer has a token of its own, and a cancelled call does not count."""
    first = await api.user(user_ids[0])
    salt = first["name"].rsplit("-", 1)[1]
    for uid in user_ids:
        for call in CALLS:
            if (call, uid) == ("user", user_ids[0]):
                continue
            task = asyncio.ensure_future(getattr(api, call)(uid))
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return {uid: tuple(_derive(salt, c, uid) for c in CALLS) for uid in user_ids}


async def by_call_type(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Half the exercise: every user's user() under the cap, then every orders(), then every recommendations()."""
    gate = asyncio.Semaphore(limit)

    async def bounded(call: str, uid: int) -> Any:
        async with gate:
            return await getattr(api, call)(uid)

    got = {c: await asyncio.gather(*(bounded(c, u) for u in user_ids)) for c in CALLS}
    return {u: tuple(got[c][i] for c in CALLS) for i, u in enumerate(user_ids)}


async def cap_per_service(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Half the exercise: a third of the cap per service (under the cap, but slots idle while others wait)."""
    gates = {c: asyncio.Semaphore(max(1, limit // 3)) for c in CALLS}

    async def bounded(call: str, uid: int) -> Any:
        async with gates[call]:
            return await getattr(api, call)(uid)

    pages = await asyncio.gather(*(asyncio.gather(*(bounded(c, u) for c in CALLS)) for u in user_ids))
    return {u: tuple(p) for u, p in zip(user_ids, pages)}


async def users_in_batches(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Half the exercise: limit // 3 users at a time (3 calls each), each batch waiting for its slowest call."""
    size = max(1, limit // 3)
    out: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(user_ids), size):
        batch = user_ids[i:i + size]
        pages = await asyncio.gather(*(asyncio.gather(*(getattr(api, c)(u) for c in CALLS)) for u in batch))
        out.update(zip(batch, map(tuple, pages)))
    return out


#: (cheat, a fragment of its ❌ message)
CONCURRENT_HANDLER = [
    (unbounded, "calls in flight at once, at most limit="),
    (unbounded_then_reset, "calls in flight at once, at most limit="),
    (canned, "made no calls to the api"),
    (answer_key, "raised AttributeError"),
    (answer_key_after_calls, "(user_ids, api, limit)"),
    (instant_latencies, "raised AttributeError"),
    (twice, "called api.user("),
    (not_async, "not a coroutine"),
    (user_by_user, "hint: each user's calls overlap, but the users wait for each other"),
    (in_rounds, "hint: some calls still wait for others they do not need"),
    (zero_latency, "less than its latency"),
    (instant_sleep_in_recorder, "less than its latency"),
    (forged_durations, "faster than the latencies allow"),
    (unbounded_reset_closure, "calls in flight at once, at most limit="),
    (unbounded_records_cleared, "made no calls to the api"),
    (clock_rewind, "about the sum of their latencies"),
    (patched_sleep, "about the sum of their latencies"),
    (salt_from_one_user, "before it answered — hint: await every call until it answers"),
    (by_call_type, "start a call as soon as a slot is free"),
    (cap_per_service, "hint: the cap is shared"),
    (users_in_batches, "hint: each user's calls overlap, but the users wait for each other"),
]
