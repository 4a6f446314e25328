"""Chapter 04's exercise, answers that only look right (or half right): they must fail."""

from __future__ import annotations

import asyncio
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
    return {u: tuple([await getattr(api, c)(u) for c in CALLS]) for u in user_ids}


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
]
