"""Chapter 04's exercise, answers that only look right: they must fail."""

from __future__ import annotations

import asyncio
from typing import Any

from perflab.exercises.ch04 import CALLS, FakeApi, expected_answer, make_case


async def unbounded(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """Fast and right, but every call at once: ignores the cap."""
    pages = await asyncio.gather(*(asyncio.gather(*(getattr(api, c)(u) for c in CALLS)) for u in user_ids))
    return {u: tuple(p) for u, p in zip(user_ids, pages)}


_REMEMBERED = expected_answer(make_case(seed=1))


async def canned(user_ids: list[int], api: Any, limit: int) -> dict[int, Any]:
    """No calls at all: answers remembered from one run (the check draws new data every time)."""
    return {uid: _REMEMBERED.get(uid, ({}, [], [])) for uid in user_ids}


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


#: (cheat, a fragment of its ❌ message)
CONCURRENT_HANDLER = [
    (unbounded, "calls in flight at once, at most limit="),
    (canned, "(user_ids, api, limit)"),
    (twice, "called api.user("),
    (not_async, "not a coroutine"),
]

__all__ = ["CONCURRENT_HANDLER", "FakeApi"]
