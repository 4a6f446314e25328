"""Chapter 04's exercise, correct in other styles: TaskGroup, a window of tasks, workers, callbacks, flat gather."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

CALLS = ("user", "orders", "recommendations")


async def task_group(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """A TaskGroup (Python 3.11+) and a Semaphore; falls back to gather on 3.10."""
    gate = asyncio.Semaphore(limit)

    async def bounded(call: str, uid: int) -> Any:
        async with gate:
            return await getattr(api, call)(uid)

    if sys.version_info < (3, 11):  # pragma: no cover - TaskGroup is 3.11+
        pages = await asyncio.gather(*(asyncio.gather(*(bounded(c, u) for c in CALLS)) for u in user_ids))
        return {u: tuple(p) for u, p in zip(user_ids, pages)}
    async with asyncio.TaskGroup() as tg:
        tasks = {u: [tg.create_task(bounded(c, u)) for c in CALLS] for u in user_ids}
    return {u: tuple(t.result() for t in ts) for u, ts in tasks.items()}


async def as_completed_window(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """At most `limit` tasks alive: start new ones as earlier ones complete (asyncio.wait FIRST_COMPLETED)."""
    todo = [(u, c) for u in user_ids for c in CALLS]
    results: dict[tuple[int, str], Any] = {}
    running: dict[asyncio.Task[Any], tuple[int, str]] = {}
    while todo or running:
        while todo and len(running) < limit:
            uid, call = todo.pop(0)
            running[asyncio.ensure_future(getattr(api, call)(uid))] = (uid, call)
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            results[running.pop(task)] = task.result()
    return {u: tuple(results[(u, c)] for c in CALLS) for u in user_ids}


async def worker_pool(user_ids: list[int], api: Any, limit: int) -> dict[int, list[Any]]:
    """`limit` workers take calls from an asyncio.Queue; lists instead of tuples."""
    queue: asyncio.Queue[tuple[int, int, str]] = asyncio.Queue()
    for uid in user_ids:
        for i, call in enumerate(CALLS):
            queue.put_nowait((uid, i, call))
    pages: dict[int, list[Any]] = {uid: [None, None, None] for uid in user_ids}

    async def worker() -> None:
        while not queue.empty():
            uid, i, call = queue.get_nowait()
            pages[uid][i] = await getattr(api, call)(uid)

    await asyncio.gather(*(worker() for _ in range(limit)))
    return pages


async def acquire_then_task(user_ids: list[int], api: Any, limit: int) -> dict[int, tuple[Any, ...]]:
    """The slot taken before each task is made, and given back by the task's done callback."""
    gate = asyncio.Semaphore(limit)
    tasks: dict[tuple[int, str], asyncio.Task[Any]] = {}
    for uid in user_ids:
        for call in CALLS:
            await gate.acquire()
            task = asyncio.ensure_future(getattr(api, call)(uid))
            task.add_done_callback(lambda _: gate.release())
            tasks[(uid, call)] = task
    await asyncio.gather(*tasks.values())
    return {u: tuple(tasks[(u, c)].result() for c in CALLS) for u in user_ids}


async def flat_bounded_semaphore(user_ids: list[int], api: Any, limit: int) -> dict[int, list[Any]]:
    """One flat gather under a BoundedSemaphore, sliced back into lists of three."""
    gate = asyncio.BoundedSemaphore(limit)

    async def one(fn: Any, uid: int) -> Any:
        async with gate:
            return await fn(uid)

    flat = await asyncio.gather(*(one(f, u) for u in user_ids for f in (api.user, api.orders, api.recommendations)))
    return {u: list(flat[3 * i:3 * i + 3]) for i, u in enumerate(user_ids)}


CONCURRENT_HANDLER = [task_group, as_completed_window, worker_pool, acquire_then_task, flat_bounded_semaphore]
