"""Exercise checks of chapter 04: async and background work.

>>> case = make_case(seed=1)
>>> len(case.user_ids) >= 6 and 4 <= case.limit <= 6
True

``04-concurrent-handler``: ``async def dashboards(user_ids, api, limit)`` returns
``{user_id: (user, orders, recommendations)}`` from three awaitable calls per user
(``api.user(uid)``, ``api.orders(uid)``, ``api.recommendations(uid)``), with at most ``limit`` calls in
flight at once. The check passes in a :class:`FakeApi` whose latencies and answers it draws fresh on
each run. What the check reads — the case, the calls made with their start and end, the calls in
flight — lives in a :class:`Recorder` that the api's methods close over, not on the api: a function
cannot read the answers, reset the counters or shorten the latencies. It requires every call made
exactly once, the right result, the cap respected, and a wall time within :meth:`Case.allowed`
(a fifth above what starting each call as soon as a slot frees takes, plus :data:`SLACK_SECONDS`).

The cases are drawn so that the two half-answers fail by a wide margin, never by luck: awaiting each
user's three calls together but the users one after another (at most 3 of the ``limit`` slots busy), and
starting the calls in rounds of ``limit`` (each round waits for its slowest call).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from perflab.display import fn_name, format_time, plural
from perflab.exercises import CheckResult, check_result, error_result, exercise, failed, passed, require
from perflab.exercises.ch07 import reuse_note

#: The three calls a dashboard makes per user, in the order the starter awaits them.
CALLS = ("user", "orders", "recommendations")
#: A good schedule may take this much longer than starting each call as soon as a slot is free.
SCHEDULE_FACTOR = 1.2
#: Overhead allowed above that: the event loop, the thread, a busy machine.
SLACK_SECONDS = 0.06
#: A drawn case is kept only if the half-answers take at least this much longer than what the check allows.
MARGIN_SECONDS = 0.05
#: A learner's function that runs longer than this is stopped (it waits for something that never comes).
TIMEOUT_SECONDS = 15.0


def greedy(latencies: Iterable[float], limit: int) -> float:
    """The wall time of calls started in this order, each as soon as one of ``limit`` slots frees.

    >>> greedy([0.1, 0.1, 0.3], 2)
    0.4
    """
    slots = [0.0] * limit
    for seconds in latencies:
        heapq.heappush(slots, heapq.heappop(slots) + seconds)
    return max(slots)


@dataclass(frozen=True)
class Case:
    """One run of the check: the users, the cap, each call's latency (seconds) and the answers' salt."""

    user_ids: tuple[int, ...]
    limit: int
    latency: MappingProxyType[tuple[str, int], float]
    salt: str

    @property
    def total(self) -> float:
        """The sum of every call's latency: what awaiting them one by one costs."""
        return sum(self.latency.values())

    @property
    def slowest(self) -> float:
        """The longest single call."""
        return max(self.latency.values())

    def orders(self) -> list[list[tuple[str, int]]]:
        """The natural orders to start the calls in: user by user, call by call, and both reversed."""
        by_user = [(call, uid) for uid in self.user_ids for call in CALLS]
        by_call = [(call, uid) for call in CALLS for uid in self.user_ids]
        return [by_user, by_call, by_user[::-1], by_call[::-1]]

    def best(self) -> float:
        """The slowest of the natural orders, each call started as soon as a slot frees: a good schedule."""
        return max(greedy((self.latency[k] for k in order), self.limit) for order in self.orders())

    def allowed(self) -> float:
        """The most the check accepts: :data:`SCHEDULE_FACTOR` × :meth:`best` + :data:`SLACK_SECONDS`."""
        return SCHEDULE_FACTOR * self.best() + SLACK_SECONDS

    def user_by_user(self) -> float:
        """The wall time of each user's three calls together, the users one after another."""
        return sum(max(self.latency[(call, uid)] for call in CALLS) for uid in self.user_ids)

    def in_rounds(self) -> float:
        """The wall time of the calls started ``limit`` at a time, each round waiting for its slowest (best order)."""
        return min(sum(max(self.latency[k] for k in order[i:i + self.limit])
                       for i in range(0, len(order), self.limit)) for order in self.orders()[:2])


def _half_answers_fail(case: Case) -> bool:
    allowed = case.allowed()
    return all(t >= 1.4 * case.best() and t >= allowed + MARGIN_SECONDS
               for t in (case.user_by_user(), case.in_rounds()))


def make_case(seed: int | None = None) -> Case:
    """A fresh run: 6-8 users, a cap of 4-6, latencies of 20-50 ms, one call in five slow (150-250 ms).

    >>> make_case(seed=3) == make_case(seed=3)
    True

    Draws where a half-answer (users one after another, or calls in rounds) would come within
    :data:`MARGIN_SECONDS` of :meth:`Case.allowed` are drawn again, so its verdict never depends on luck.

    Parameters:
        seed: fixes the draw (tests); None draws a new case each time.
    """
    rng = random.Random(seed)
    while True:
        user_ids = tuple(rng.sample(range(1, 10_000), rng.randint(6, 8)))
        latency = {(call, uid): rng.uniform(0.15, 0.25) if rng.random() < 0.2 else rng.uniform(0.02, 0.05)
                   for uid in user_ids for call in CALLS}
        case = Case(user_ids, rng.randint(4, 6), MappingProxyType(latency), f"{rng.getrandbits(32):08x}")
        if _half_answers_fail(case):
            return case


def expected_answer(case: Case) -> dict[int, tuple[Any, Any, Any]]:
    """What a correct ``dashboards`` returns for ``case``: {user_id: (user, orders, recommendations)}."""
    return {uid: tuple(_answer(case.salt, call, uid) for call in CALLS) for uid in case.user_ids}


def _answer(salt: str, call: str, uid: int) -> Any:
    if call == "user":
        return {"id": uid, "name": f"user {uid}-{salt}"}
    rng = random.Random(f"{salt}:{call}:{uid}")
    if call == "orders":
        return [rng.randint(1, 50_000) for _ in range(rng.randint(0, 4))]
    return [rng.randint(1, 2_000) for _ in range(3)]


@dataclass
class CallRecord:
    """One call made to a :class:`FakeApi`: which, for whom, and when it started and ended (event-loop clock)."""

    call: str
    uid: int
    start: float
    end: float | None = None


class Recorder:
    """The check's side of a :class:`FakeApi`: a frozen copy of the case, every call made, the peak in flight.

    >>> case = make_case(seed=1)
    >>> recorder = Recorder(case)
    >>> uid = case.user_ids[0]
    >>> asyncio.run(FakeApi(recorder).user(uid))["id"] == uid, recorder.peak, recorder.counts()[("user", uid)]
    (True, 1, 1)

    Times come from the running event loop's clock (``loop.time()``), so a loop with virtual time
    (the tests') gives exact schedules.
    """

    def __init__(self, case: Case) -> None:
        self.user_ids = tuple(case.user_ids)
        self.limit = case.limit
        self.latency = MappingProxyType(dict(case.latency))  # the check's own copy
        self._salt = case.salt
        self.records: list[CallRecord] = []
        self.in_flight = 0
        self.peak = 0

    async def call(self, call: str, uid: int) -> Any:
        """Record the call, wait its latency, and return its answer."""
        loop = asyncio.get_running_loop()
        record = CallRecord(call, uid, loop.time())
        self.records.append(record)
        if (call, uid) not in self.latency:
            record.end = record.start
            raise KeyError(f"no {call} for user {uid!r}: ask only for the user ids you were given")
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.latency[(call, uid)])
        finally:
            self.in_flight -= 1
            record.end = loop.time()
        return _answer(self._salt, call, uid)

    def counts(self) -> Counter[tuple[str, int]]:
        """How many times each (call, user id) was called."""
        return Counter((r.call, r.uid) for r in self.records)

    def users_overlapped(self) -> bool:
        """Whether two users' calls ever ran at the same time (False: the users were served one after another)."""
        spans: dict[int, tuple[float, float]] = {}
        for r in self.records:
            end = r.end if r.end is not None else r.start
            lo, hi = spans.get(r.uid, (r.start, end))
            spans[r.uid] = (min(lo, r.start), max(hi, end))
        ordered = sorted(spans.values())
        return any(later[0] < earlier[1] - 1e-9 for earlier, later in zip(ordered, ordered[1:]))


class FakeApi:
    """The services a dashboard calls, ``await api.user(uid)``, ``.orders``, ``.recommendations``.

    >>> api = FakeApi(make_case(seed=1))
    >>> asyncio.run(api.orders(0))
    Traceback (most recent call last):
    ...
    KeyError: 'no orders for user 0: ask only for the user ids you were given'

    Try your function with one: ``case = make_case(); api = FakeApi(case)``, then
    ``await dashboards(list(case.user_ids), api, case.limit)`` and ``api.stats()`` (calls made, most in
    flight at once). The api keeps no case and no counters of its own: its methods close over a
    :class:`Recorder` (pass one to read it, as the check does).
    """

    user: Callable[[int], Awaitable[dict[str, Any]]]
    orders: Callable[[int], Awaitable[list[int]]]
    recommendations: Callable[[int], Awaitable[list[int]]]
    stats: Callable[[], dict[str, int]]

    def __init__(self, source: Case | Recorder) -> None:
        recorder = source if isinstance(source, Recorder) else Recorder(source)

        async def user(uid: int) -> dict[str, Any]:
            """The user's profile (a dict)."""
            return await recorder.call("user", uid)

        async def orders(uid: int) -> list[int]:
            """The ids of the user's last orders."""
            return await recorder.call("orders", uid)

        async def recommendations(uid: int) -> list[int]:
            """Three product ids recommended to the user."""
            return await recorder.call("recommendations", uid)

        def stats() -> dict[str, int]:
            """{"calls": made so far, "peak": most in flight at once} (a copy)."""
            return {"calls": len(recorder.records), "peak": recorder.peak}

        self.user, self.orders, self.recommendations, self.stats = user, orders, recommendations, stats

    def __repr__(self) -> str:
        return "<FakeApi: await .user(uid), .orders(uid), .recommendations(uid)>"


def run_in_own_loop(fn: Callable[..., Any], *args: Any, timeout: float = TIMEOUT_SECONDS,
                    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None) -> tuple[Any, float]:
    """Await ``fn(*args)`` on a new event loop in a thread of its own; returns (value, seconds it took).

    >>> async def double(x):
    ...     return 2 * x
    >>> run_in_own_loop(double, 21)[0]
    42

    A notebook's cell already runs inside an event loop, so the check runs the learner's coroutine
    in a thread with a loop of its own. The seconds are the loop's clock (``loop.time()``): real time,
    or virtual time with a ``loop_factory`` that makes such a loop (tests). Raises what ``fn`` raised;
    ``TimeoutError`` after ``timeout`` s.
    """
    outcome: dict[str, Any] = {}

    async def timed() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        pending = fn(*args)
        if not inspect.isawaitable(pending):
            raise TypeError(f"{fn_name(fn)}(...) returned {type(pending).__name__}, not a coroutine: "
                            "define it with `async def`")
        outcome["value"] = await asyncio.wait_for(pending, timeout)
        outcome["seconds"] = loop.time() - start

    def run() -> None:
        loop = (loop_factory or asyncio.new_event_loop)()
        try:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(timed())
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            loop.close()

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
_USER_BY_USER = ("each user's calls overlap, but the users wait for each other, so at most 3 of the `limit` slots "
                 "are busy: start every user's calls together, and let the cap (not the user) decide who waits")
_ROUNDS = ("some calls still wait for others they do not need: start a call as soon as a slot is free "
           "(a Semaphore), not in rounds")
_OTHER_LOOP = ("create the Semaphore inside dashboards: one made in another cell belongs to the notebook's event "
               "loop, and the check runs your function on a loop of its own")


def _calls_made(name: str, recorder: Recorder) -> CheckResult | None:
    """A ❌ unless every (call, user id) was called exactly once."""
    counts = recorder.counts()
    wanted = [(call, uid) for uid in recorder.user_ids for call in CALLS]
    missing = [k for k in wanted if counts[k] == 0]
    extra = [k for k in wanted if counts[k] > 1]
    if not counts:
        return failed(f"{name} made no calls to the api", "get each user's data from the api you are given "
                      "(the check draws new users and answers on every run)", calls=0)
    if missing:
        (call, uid), n = missing[0], len(missing)
        return failed(f"{name} never called api.{call}({uid})" + (f" (nor {n - 1} other calls)" if n > 1 else ""),
                      "call api.user, api.orders and api.recommendations once for every user id", missing=n)
    if extra:
        call, uid = extra[0]
        return failed(f"{name} called api.{call}({uid}) {counts[extra[0]]} times",
                      "call each service once per user", extra=len(extra))
    return None


@exercise(
    "04-concurrent-handler",
    hints=(
        _SEQUENTIAL,
        "asyncio.gather(*coroutines) starts them all together; to keep at most `limit` running, make one "
        "asyncio.Semaphore(limit) inside dashboards and hold it around each call: "
        "`async with sem: return await call(uid)`.",
        "gate = asyncio.Semaphore(limit); async def bounded(call, uid): async with gate: return await call(uid); "
        "then gather bounded(api.user, uid), bounded(api.orders, uid), bounded(api.recommendations, uid) for "
        "every uid, and build {uid: (user, orders, recommendations)} from the results (gather keeps the order).",
    ),
    reference=dashboards_reference,
)
def _check_concurrent_handler(learner_fn: Callable[..., Any], *, runs: int = 2, seeds: Sequence[int] | None = None,
                              loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None) -> CheckResult:
    """dashboards(user_ids, api, limit) -> {uid: (user, orders, recs)}, concurrent, at most limit calls at once.

    Each run draws a new case (users, cap, latencies, answers); every run must call each service
    exactly once per user, give the right answer and respect the cap; the best run's wall time must be
    within :meth:`Case.allowed`. Parameters: ``runs`` how many fresh cases; ``seeds`` fixes them and
    ``loop_factory`` makes the event loop (tests: a loop with virtual time).
    """
    name = fn_name(learner_fn)
    chosen = list(seeds) if seeds is not None else [None] * runs
    timings = []
    for seed in chosen:
        case = make_case(seed)
        recorder = Recorder(case)
        try:
            value, seconds = run_in_own_loop(learner_fn, list(case.user_ids), FakeApi(recorder), case.limit,
                                             loop_factory=loop_factory)
        except TimeoutError as exc:
            return error_result(name, exc, f"it did not finish within {TIMEOUT_SECONDS:g} s: is every call awaited, "
                                           "and every Semaphore released (async with)?")
        except RuntimeError as exc:
            return error_result(name, exc, _OTHER_LOOP if "different event loop" in str(exc) else None)
        except Exception as exc:
            return error_result(name, exc)
        wrong_calls = _calls_made(name, recorder)
        if wrong_calls is not None:
            return wrong_calls
        require(check_result(value, expected_answer(case), what=f"{name}(user_ids, api, limit)",
                             hint="return {user_id: (user, orders, recommendations)} with what the api returned "
                                  "for that user (the check draws new users and answers on every run)"))
        if recorder.peak > case.limit:
            return failed(f"{name} had {recorder.peak} calls in flight at once, at most limit={case.limit} allowed",
                          "the services take at most `limit` requests at a time: bound how many of your calls "
                          "run at once (one asyncio.Semaphore(limit) shared by all of them)",
                          peak=recorder.peak, limit=case.limit)
        timings.append((seconds, case, recorder.users_overlapped()))
        if seconds > 1.5 * case.allowed():  # far too slow for any run to rescue: say so now
            break
    seconds, case, overlapped = min(timings, key=lambda t: t[0] / t[1].allowed())
    n_calls = len(case.latency)
    details = {"seconds": seconds, "total": case.total, "best": case.best(), "allowed": case.allowed(),
               "limit": case.limit, "runs": len(timings)}
    if seconds > case.allowed():
        near_sum = seconds > 0.8 * case.total
        told = (f"{name} took {format_time(seconds)} for {plural(n_calls, 'call')}"
                + (f", about the sum of their latencies ({format_time(case.total)})" if near_sum else "")
                + f"; started as soon as one of {case.limit} slots frees, they take {format_time(case.best())}, "
                f"and the check allows {format_time(case.allowed())} ({SCHEDULE_FACTOR:g}x that + "
                f"{SLACK_SECONDS * 1e3:.0f} ms)")
        hint = _SEQUENTIAL if near_sum else _ROUNDS if overlapped else _USER_BY_USER
        return failed(told, hint, **details)
    return passed(f"{name} returns the right dashboards with at most {case.limit} calls at once: "
                  f"{plural(n_calls, 'call')} in {format_time(seconds)} (one by one: {format_time(case.total)}; "
                  f"allowed: {format_time(case.allowed())}), on {plural(len(timings), 'fresh case')}"
                  + reuse_note(learner_fn, dashboards_reference), **details)
