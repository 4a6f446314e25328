"""Exercise checks of chapter 04: async and background work.

>>> case = make_case(seed=1)
>>> len(case.user_ids) >= 5 and 3 <= case.limit <= 5
True

``04-concurrent-handler``: ``async def dashboards(user_ids, api, limit)`` returns
``{user_id: (user, orders, recommendations)}`` from three awaitable calls per user
(``api.user(uid)``, ``api.orders(uid)``, ``api.recommendations(uid)``), with at most ``limit`` calls in
flight at once. The check passes in a :class:`FakeApi` whose latencies and answers it draws fresh on
each run; it counts the calls in flight and requires the right result, the cap respected, and a wall
time within what a good schedule needs (the slowest call, or the total work shared by ``limit``
slots), far from the sum of the latencies.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perflab.display import fn_name, format_time, plural
from perflab.exercises import CheckResult, check_result, error_result, exercise, failed, passed, require

#: The three calls a dashboard makes per user, in the order the starter awaits them.
CALLS = ("user", "orders", "recommendations")
#: Overhead allowed above the schedule bound: the event loop, the thread, a busy machine.
SLACK_SECONDS = 0.06
#: A learner's function that runs longer than this is stopped (it waits for something that never comes).
TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class Case:
    """One run of the check: the users, the cap, each call's latency (seconds) and the answers' salt."""

    user_ids: tuple[int, ...]
    limit: int
    latency: dict[tuple[str, int], float]
    salt: str

    @property
    def total(self) -> float:
        """The sum of every call's latency: what awaiting them one by one costs."""
        return sum(self.latency.values())

    @property
    def slowest(self) -> float:
        """The longest single call."""
        return max(self.latency.values())

    @property
    def bound(self) -> float:
        """What any schedule that starts a call whenever a slot is free needs at most: total / limit + slowest."""
        return self.total / self.limit + self.slowest

    def best(self) -> float:
        """The wall time of starting the calls in the starter's order, each as soon as one of ``limit`` slots frees."""
        slots = [0.0] * self.limit
        for uid in self.user_ids:
            for call in CALLS:
                heapq.heappush(slots, heapq.heappop(slots) + self.latency[(call, uid)])
        return max(slots)


def make_case(seed: int | None = None) -> Case:
    """A fresh run: 5-7 users, a cap of 3-5, latencies of 20-90 ms and one slow call of 250-350 ms.

    >>> make_case(seed=3) == make_case(seed=3)
    True

    Parameters:
        seed: fixes the draw (tests); None draws a new case each time.
    """
    rng = random.Random(seed)
    user_ids = tuple(rng.sample(range(1, 10_000), rng.randint(5, 7)))
    latency = {(call, uid): rng.uniform(0.02, 0.09) for uid in user_ids for call in CALLS}
    latency[rng.choice(sorted(latency))] = rng.uniform(0.25, 0.35)
    return Case(user_ids, rng.randint(3, 5), latency, f"{rng.getrandbits(32):08x}")


def expected_answer(case: Case) -> dict[int, tuple[Any, Any, Any]]:
    """What a correct ``dashboards`` returns for ``case``: {user_id: (user, orders, recommendations)}."""
    return {uid: tuple(_answer(case, call, uid) for call in CALLS) for uid in case.user_ids}


def _answer(case: Case, call: str, uid: int) -> Any:
    if call == "user":
        return {"id": uid, "name": f"user {uid}-{case.salt}"}
    rng = random.Random(f"{case.salt}:{call}:{uid}")
    if call == "orders":
        return [rng.randint(1, 50_000) for _ in range(rng.randint(0, 4))]
    return [rng.randint(1, 2_000) for _ in range(3)]


class FakeApi:
    """The services a dashboard calls, with the case's latencies; counts calls and how many run at once.

    >>> api = FakeApi(make_case(seed=1))
    >>> uid = api.case.user_ids[0]
    >>> asyncio.run(api.user(uid))["id"] == uid, api.peak
    (True, 1)
    """

    def __init__(self, case: Case) -> None:
        self.case = case
        self.calls: Counter[tuple[str, int]] = Counter()
        self.in_flight = 0
        self.peak = 0

    async def _call(self, call: str, uid: int) -> Any:
        key = (call, uid)
        self.calls[key] += 1
        if key not in self.case.latency:
            raise KeyError(f"no {call} for user {uid!r}: ask only for the user ids you were given")
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.case.latency[key])
        finally:
            self.in_flight -= 1
        return _answer(self.case, call, uid)

    async def user(self, uid: int) -> dict[str, Any]:
        """The user's profile (a dict)."""
        return await self._call("user", uid)

    async def orders(self, uid: int) -> list[int]:
        """The ids of the user's last orders."""
        return await self._call("orders", uid)

    async def recommendations(self, uid: int) -> list[int]:
        """Three product ids recommended to the user."""
        return await self._call("recommendations", uid)


def run_in_own_loop(fn: Callable[..., Any], *args: Any, timeout: float = TIMEOUT_SECONDS) -> tuple[Any, float]:
    """Await ``fn(*args)`` on a new event loop in a thread of its own; returns (value, seconds it took).

    >>> async def double(x):
    ...     return 2 * x
    >>> run_in_own_loop(double, 21)[0]
    42

    A notebook's cell already runs inside an event loop, so the check runs the learner's coroutine
    in a thread with a loop of its own. Raises what ``fn`` raised; ``TimeoutError`` after ``timeout`` s.
    """
    outcome: dict[str, Any] = {}

    async def timed() -> None:
        start = time.perf_counter()
        pending = fn(*args)
        if not inspect.isawaitable(pending):
            raise TypeError(f"{fn_name(fn)}(...) returned {type(pending).__name__}, not a coroutine: "
                            "define it with `async def`")
        outcome["value"] = await asyncio.wait_for(pending, timeout)
        outcome["seconds"] = time.perf_counter() - start

    def run() -> None:
        try:
            asyncio.run(timed())
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="perflab-check", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], outcome["seconds"]


def dashboards_reference(user_ids: Sequence[int], api: Any, limit: int) -> Any:
    """Reference solution of 04-concurrent-handler: every call started at once, at most ``limit`` in flight.

    >>> case = make_case(seed=2)
    >>> run_in_own_loop(dashboards_reference, case.user_ids, FakeApi(case), case.limit)[0] == expected_answer(case)
    True
    """
    async def dashboards() -> dict[int, tuple[Any, ...]]:
        gate = asyncio.Semaphore(limit)

        async def bounded(call: Callable[[int], Any], uid: int) -> Any:
            async with gate:
                return await call(uid)

        async def one(uid: int) -> tuple[Any, ...]:
            return tuple(await asyncio.gather(*(bounded(getattr(api, c), uid) for c in CALLS)))

        pages = await asyncio.gather(*(one(uid) for uid in user_ids))
        return dict(zip(user_ids, pages))

    return dashboards()


_SEQUENTIAL = ("it waits for each call to finish before it starts the next, though the calls do not depend on "
               "each other")


@exercise(
    "04-concurrent-handler",
    hints=(
        _SEQUENTIAL,
        "asyncio.gather(*coroutines) starts them all together; to keep at most `limit` running, make one "
        "asyncio.Semaphore(limit) and hold it around each call: `async with sem: return await call(uid)`.",
        "gate = asyncio.Semaphore(limit); async def bounded(call, uid): async with gate: return await call(uid); "
        "then gather bounded(api.user, uid), bounded(api.orders, uid), bounded(api.recommendations, uid) for "
        "every uid, and build {uid: (user, orders, recommendations)} from the results (gather keeps the order).",
    ),
    reference=dashboards_reference,
)
def _check_concurrent_handler(learner_fn: Callable[..., Any], *, runs: int = 2,
                              seeds: Sequence[int] | None = None) -> CheckResult:
    """dashboards(user_ids, api, limit) -> {uid: (user, orders, recs)}, concurrent, at most limit calls at once.

    Each run draws a new case (users, cap, latencies, answers); every run must give the right answer,
    call each service once per user and respect the cap; the best run's wall time must be within the
    schedule bound (total / limit + slowest) plus :data:`SLACK_SECONDS`.
    Parameters: ``runs`` how many fresh cases; ``seeds`` fixes them (tests).
    """
    name = fn_name(learner_fn)
    chosen = list(seeds) if seeds is not None else [None] * runs
    timings = []
    for seed in chosen:
        case = make_case(seed)
        api = FakeApi(case)
        try:
            value, seconds = run_in_own_loop(learner_fn, list(case.user_ids), api, case.limit)
        except TimeoutError as exc:
            return error_result(name, exc, f"it did not finish within {TIMEOUT_SECONDS:g} s: is every call awaited, "
                                           "and every Semaphore released (async with)?")
        except Exception as exc:
            return error_result(name, exc)
        n_calls = len(case.latency)
        require(check_result(value, expected_answer(case), what=f"{name}(user_ids, api, limit)",
                             hint="return {user_id: (user, orders, recommendations)} with what the api returned "
                                  "for that user (the check draws new users and answers on every run)"))
        extra = sorted(k for k, n in api.calls.items() if n > 1)
        if extra:
            call, uid = extra[0]
            return failed(f"{name} called api.{call}({uid}) {api.calls[extra[0]]} times",
                          "call each service once per user")
        if api.peak > case.limit:
            return failed(f"{name} had {api.peak} calls in flight at once, at most limit={case.limit} allowed",
                          "the services take at most `limit` requests at a time: bound how many of your calls "
                          "run at once (one asyncio.Semaphore(limit) shared by all of them)",
                          peak=api.peak, limit=case.limit)
        timings.append((seconds, case))
        if seconds > 1.5 * case.bound:  # far too slow for any run to rescue: say so now
            break
    seconds, case = min(timings, key=lambda t: t[0] / t[1].bound)
    n_calls = len(case.latency)
    details = {"seconds": seconds, "total": case.total, "bound": case.bound, "best": case.best(),
               "limit": case.limit, "runs": len(timings)}
    if seconds > case.bound + SLACK_SECONDS:
        near_sum = seconds > 0.8 * case.total
        told = (f"{name} took {format_time(seconds)} for {plural(n_calls, 'call')}"
                + (f", about the sum of their latencies ({format_time(case.total)})" if near_sum else "")
                + f"; with at most {case.limit} at once they fit in {format_time(case.best())}")
        hint = _SEQUENTIAL if near_sum else ("some calls still wait for others they do not need: start a call as "
                                             "soon as a slot is free (a Semaphore), not in rounds")
        return failed(told, hint, **details)
    return passed(f"{name} returns the right dashboards with at most {case.limit} calls at once: "
                  f"{plural(n_calls, 'call')} in {format_time(seconds)} (one by one: {format_time(case.total)}; "
                  f"slowest call {format_time(case.slowest)}), on {plural(len(timings), 'fresh case')}", **details)
