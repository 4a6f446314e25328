"""Reference solution of chapter 04, async and background work (one function per exercise).

The check compares your function with the reference in :mod:`perflab.exercises.ch04`; this is the
same solution, written the way the notebook writes its code.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def dashboards(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, Any, Any]]:
    """04-concurrent-handler: every call started at once, at most ``limit`` of them in flight."""
    gate = asyncio.Semaphore(limit)  # one gate shared by every call

    async def bounded(call: Any, uid: int) -> Any:
        async with gate:  # waits while `limit` calls are in flight
            return await call(uid)

    async def dashboard(uid: int) -> tuple[Any, Any, Any]:
        user, orders, recommendations = await asyncio.gather(
            bounded(api.user, uid), bounded(api.orders, uid), bounded(api.recommendations, uid))
        return user, orders, recommendations

    pages = await asyncio.gather(*(dashboard(uid) for uid in user_ids))  # results in the order of user_ids
    return dict(zip(user_ids, pages))
