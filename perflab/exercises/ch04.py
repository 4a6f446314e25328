"""Exercise checks of chapter 04: async and background work.

>>> case = make_case(seed=1)
>>> len(case.user_ids) >= 6 and case.limit in (4, 5)
True

``04-concurrent-handler``: ``async def dashboards(user_ids, api, limit)`` returns
``{user_id: (user, orders, recommendations)}`` from three awaitable calls per user
(``api.user(uid)``, ``api.orders(uid)``, ``api.recommendations(uid)``), with at most ``limit`` calls in
flight at once. Each run draws a fresh case — users, cap, latencies and an independent random answer
per call — and hands the learner only a :class:`FakeApi` whose methods close over a :class:`Recorder`.

What the check guarantees, from what it keeps to itself (the case, and the list the recorder appends to,
both in the check function's locals) and its own clock (``time.perf_counter``):

- every (call, user id) made exactly once, each lasting at least its drawn latency (a cancelled or
  shortened call does not count), and the right answer, which only those calls reveal;
- at most ``limit`` calls in flight, computed from the start and end of each record (no counter to reset);
- every run's wall time at least what the latencies allow (the slowest call, and the sum over ``limit``)
  and at most :meth:`Case.allowed` (a fifth above starting each call as soon as a slot frees, in any
  natural order, plus :data:`SLACK_SECONDS`).

A learner who digs the recorder out of the api's closures can reach its copy of the case (the answers
too) and the list of records, and could rewrite them: that is out of scope. What it cannot reach is the
check's own copy of the case and its clock, so the time a run takes, held against the latencies drawn,
cannot be faked from inside the function (short of patching this module): skipping or shortening the
sleeps makes a run faster than the latencies allow, and a run slower than :meth:`Case.allowed` fails.

The cases are drawn so that the half-answers fail every run by a wide margin, never by luck: each user's
three calls together but the users one after another (or a few at a time), the calls in rounds of
``limit`` (each round waits for its slowest), one service after another, and a share of the cap per service.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import random
import threading
import time
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
#: How much earlier than its latency a call may end (the event loop's timer granularity).
EARLY_SECONDS = 0.002 + time.get_clock_info("monotonic").resolution
#: A learner's function that runs longer than this is stopped (it waits for something that never comes).
TIMEOUT_SECONDS = 15.0

_perf_counter = time.perf_counter  # the check's own clock, bound once


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
    """One run of the check: the users, the cap, each call's latency (seconds) and its answer's random token."""

    user_ids: tuple[int, ...]
    limit: int
    latency: MappingProxyType[tuple[str, int], float]
    tokens: MappingProxyType[tuple[str, int], str]

    @property
    def total(self) -> float:
        """The sum of every call's latency: what awaiting them one by one costs."""
        return sum(self.latency.values())

    @property
    def slowest(self) -> float:
        """The longest single call."""
        return max(self.latency.values())

    def fastest_possible(self) -> float:
        """No run under the cap is faster: the slowest call, and the sum of the latencies over ``limit`` slots."""
        return max(self.slowest, self.total / self.limit)

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
        return self.users_in_batches(1)

    def users_in_batches(self, size: int) -> float:
        """The wall time of ``size`` users' calls together, each batch waiting for its slowest call."""
        ids = self.user_ids
        return sum(max(self.latency[(call, uid)] for call in CALLS for uid in ids[i:i + size])
                   for i in range(0, len(ids), size))

    def in_rounds(self) -> float:
        """The wall time of the calls started ``limit`` at a time, each round waiting for its slowest (best order)."""
        return min(sum(max(self.latency[k] for k in order[i:i + self.limit])
                       for i in range(0, len(order), self.limit)) for order in self.orders()[:2])

    def by_call(self) -> float:
        """The wall time of one service after another, each one's calls started as soon as a slot frees."""
        return sum(greedy([self.latency[(call, uid)] for uid in self.user_ids], self.limit) for call in CALLS)

    def per_service(self) -> float:
        """The wall time with a cap of ``limit // 3`` (at least 1) per service instead of ``limit`` shared."""
        share = max(1, self.limit // 3)
        return max(greedy([self.latency[(call, uid)] for uid in self.user_ids], share) for call in CALLS)

    def half_answers(self) -> dict[str, float]:
        """The wall time of each half-answer the case is drawn to reject."""
        return {"user by user": self.user_by_user(), "a third of the cap's users at a time":
                self.users_in_batches(max(1, self.limit // 3)), "in rounds": self.in_rounds(),
                "one service after another": self.by_call(), "a cap per service": self.per_service()}


def _half_answers_fail(case: Case) -> bool:
    allowed = case.allowed()
    return all(t >= 1.4 * case.best() and t >= allowed + MARGIN_SECONDS for t in case.half_answers().values())


def make_case(seed: int | None = None) -> Case:
    """A fresh run: 6-8 users, a cap of 4 or 5, latencies of 20-50 ms, one call in five slow (150-250 ms).

    >>> make_case(seed=3) == make_case(seed=3)
    True

    Each call's answer derives from a token of its own (64 random bits, from the system's random source
    unless a seed is given), so one answer tells nothing about another. Draws where a half-answer (see
    :meth:`Case.half_answers`) would come within :data:`MARGIN_SECONDS` of :meth:`Case.allowed` are drawn
    again, so its verdict never depends on luck. That keeps about one draw in eight, most with a cap of 5
    (a cap of 6, split in three per service, would let a cap per service pass).

    Parameters:
        seed: fixes the draw (tests); None draws a new case each time.
    """
    rng = random.Random(seed)
    tokens_rng = rng if seed is not None else random.SystemRandom()
    while True:
        user_ids = tuple(rng.sample(range(1, 10_000), rng.randint(6, 8)))
        latency = {(call, uid): rng.uniform(0.15, 0.25) if rng.random() < 0.2 else rng.uniform(0.02, 0.05)
                   for uid in user_ids for call in CALLS}
        tokens = {key: f"{tokens_rng.getrandbits(64):016x}" for key in latency}
        case = Case(user_ids, rng.randint(4, 5), MappingProxyType(latency), MappingProxyType(tokens))
        if _half_answers_fail(case):
            return case


def expected_answer(case: Case) -> dict[int, tuple[Any, Any, Any]]:
    """What a correct ``dashboards`` returns for ``case``: {user_id: (user, orders, recommendations)}."""
    return {uid: tuple(_answer(case.tokens[(call, uid)], call, uid) for call in CALLS) for uid in case.user_ids}


def _answer(token: str, call: str, uid: int) -> Any:
    if call == "user":
        return {"id": uid, "name": f"user {uid}-{token}"}
    rng = random.Random(token)
    if call == "orders":
        return [rng.randint(1, 50_000) for _ in range(rng.randint(0, 4))]
    return [rng.randint(1, 2_000) for _ in range(3)]


@dataclass(frozen=True)
class CallRecord:
    """One call made to a :class:`FakeApi`, recorded when it ends: which, for whom, its start and end, whether it
    ran its full latency and answered (False: cancelled)."""

    call: str
    uid: int
    start: float
    end: float
    answered: bool


def peak_in_flight(records: Iterable[CallRecord]) -> int:
    """The most calls in flight at once, from each record's start and end (an end at a start frees the slot first).

    >>> peak_in_flight([CallRecord("user", 1, 0.0, 0.2, True), CallRecord("orders", 1, 0.1, 0.3, True),
    ...                 CallRecord("user", 2, 0.2, 0.4, True)])
    2
    """
    events = sorted([(r.start, 1) for r in records] + [(r.end, -1) for r in records])
    peak = now = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


class Recorder:
    """The check's side of a :class:`FakeApi`: a copy of the case, and the records of the calls made.

    >>> case = make_case(seed=1)
    >>> recorder = Recorder(case)
    >>> uid = case.user_ids[0]
    >>> asyncio.run(FakeApi(recorder).user(uid))["id"] == uid, peak_in_flight(recorder.records)
    (True, 1)

    Parameters:
        case: the latencies and answers (copied: the recorder never holds the caller's case).
        records: the list each call's :class:`CallRecord` is appended to when the call ends (the check passes
            one it keeps); a new list by default.
        clock: the clock of the records; ``time.perf_counter`` by default (tests: the loop's virtual time).

    ``asyncio.sleep`` is bound when the recorder is made: swapping it later does not shorten a call.
    """

    def __init__(self, case: Case, records: list[CallRecord] | None = None,
                 clock: Callable[[], float] = _perf_counter) -> None:
        self.user_ids = tuple(case.user_ids)
        self.limit = case.limit
        self._latency = dict(case.latency)
        self._tokens = dict(case.tokens)
        self.records: list[CallRecord] = [] if records is None else records
        self._append = self.records.append
        self._clock = clock
        self._sleep = asyncio.sleep

    async def call(self, call: str, uid: int) -> Any:
        """Wait the call's latency, record it, and return its answer."""
        if (call, uid) not in self._latency:
            raise KeyError(f"no {call} for user {uid!r}: ask only for the user ids you were given")
        start, answered = self._clock(), False
        try:
            await self._sleep(self._latency[(call, uid)])
            answered = True
        finally:
            self._append(CallRecord(call, uid, start, self._clock(), answered))
        return _answer(self._tokens[(call, uid)], call, uid)

    def counts(self) -> Counter[tuple[str, int]]:
        """How many times each (call, user id) was called."""
        return Counter((r.call, r.uid) for r in self.records)


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
    :class:`Recorder` (pass one to read its records, as the check does).
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
            """{"calls": ended so far, "peak": most in flight at once} (computed from the records)."""
            return {"calls": len(recorder.records), "peak": peak_in_flight(recorder.records)}

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
    in a thread with a loop of its own. The seconds are ``time.perf_counter``'s, bound before ``fn`` runs
    (nothing the function does to its loop changes them); with a ``loop_factory`` (tests: a loop with
    virtual time) they are that loop's ``time()``, bound likewise. Raises what ``fn`` raised;
    ``TimeoutError`` after ``timeout`` s.
    """
    outcome: dict[str, Any] = {}

    async def timed() -> None:
        now = asyncio.get_running_loop().time if loop_factory is not None else _perf_counter
        start = now()
        pending = fn(*args)
        if not inspect.isawaitable(pending):
            raise TypeError(f"{fn_name(fn)}(...) returned {type(pending).__name__}, not a coroutine: "
                            "define it with `async def`")
        outcome["value"] = await asyncio.wait_for(pending, timeout)
        outcome["seconds"] = now() - start

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
_SHARED_CAP = ("the cap is shared: `limit` calls at once in all, whatever the service, so a share of it per service "
               "leaves slots idle while another service's calls wait; let every call wait for the same `limit` slots")
_IDLE_SLOTS = ("slots stay free while calls wait for a group of other calls to end (one service after another?): "
               "start a call as soon as a slot is free, whatever service or user it is for")
_OTHER_LOOP = ("create the Semaphore inside dashboards: one made in another cell belongs to the notebook's event "
               "loop, and the check runs your function on a loop of its own")
_ROUNDS_EPSILON = 0.005  # calls started within this of each other count as one batch (real time)


def _users_overlapped(records: Sequence[CallRecord]) -> bool:
    """Whether two users' calls ever ran at the same time (False: the users were served one after another)."""
    spans: dict[int, tuple[float, float]] = {}
    for r in records:
        lo, hi = spans.get(r.uid, (r.start, r.end))
        spans[r.uid] = (min(lo, r.start), max(hi, r.end))
    ordered = sorted(spans.values())
    return any(later[0] < earlier[1] - 1e-9 for earlier, later in zip(ordered, ordered[1:]))


def _in_rounds(records: Sequence[CallRecord]) -> bool:
    """Whether every call started only once all the calls started before it (not with it) had ended."""
    eps = _ROUNDS_EPSILON
    return not any(q.start < r.start - eps and q.end > r.start + eps for r in records for q in records)


def _capped_per_service(records: Sequence[CallRecord], limit: int) -> bool:
    """Whether no service ever had more than a third of the cap in flight."""
    share = max(1, limit // 3)
    return all(peak_in_flight([r for r in records if r.call == call]) <= share for call in CALLS)


def _slow_hint(case: Case, records: Sequence[CallRecord], seconds: float) -> str:
    if seconds > 0.8 * case.total:
        return _SEQUENTIAL
    if not _users_overlapped(records):
        return _USER_BY_USER
    if _in_rounds(records):
        return _ROUNDS
    return _SHARED_CAP if _capped_per_service(records, case.limit) else _IDLE_SLOTS


def _first_and_more(keys: Sequence[tuple[str, int]]) -> str:
    (call, uid), n = keys[0], len(keys)
    return f"api.{call}({uid})" + (f" (and {plural(n - 1, 'other call')})" if n > 1 else "")


def _calls_made(name: str, case: Case, records: Sequence[CallRecord]) -> CheckResult | None:
    """A ❌ unless every (call, user id) of ``case`` ran exactly once, to its end, for at least its latency."""
    if not records:
        return failed(f"{name} made no calls to the api", "get each user's data from the api you are given "
                      "(the check draws new users and answers on every run)", calls=0)
    cancelled = [(r.call, r.uid) for r in records if not r.answered]
    if cancelled:
        return failed(f"{name} cancelled {_first_and_more(cancelled)} before it answered",
                      "await every call until it answers: a call counts only when it has run its full latency",
                      cancelled=len(cancelled))
    counts = Counter((r.call, r.uid) for r in records)
    wanted = [(call, uid) for uid in case.user_ids for call in CALLS]
    missing = [k for k in wanted if counts[k] == 0]
    if missing:
        return failed(f"{name} never called {_first_and_more(missing)}",
                      "call api.user, api.orders and api.recommendations once for every user id", missing=len(missing))
    extra = [k for k in counts if counts[k] > 1 or k not in case.latency]
    if extra:
        return failed(f"{name} called {_first_and_more(extra)} {counts[extra[0]]} times",
                      "call each service once per user", extra=len(extra))
    short = [r for r in records if r.end - r.start < case.latency[(r.call, r.uid)] - EARLY_SECONDS]
    if short:
        r = short[0]
        return failed(f"{name}: {_first_and_more([(r.call, r.uid) for r in short])} answered after "
                      f"{format_time(r.end - r.start)}, less than its latency "
                      f"({format_time(case.latency[(r.call, r.uid)])})",
                      "leave the api as it is given: when the calls start, and how many run at once, are yours "
                      "to change; how long each one takes is the service's", short=len(short))
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

    Each run draws a new case (users, cap, latencies, answers) kept in this function's locals; the api
    gets a copy. Every run must call each service exactly once per user, each call to its full latency,
    give the right answer, respect the cap, and take between :meth:`Case.fastest_possible` and
    :meth:`Case.allowed`. Parameters: ``runs`` how many fresh cases; ``seeds`` fixes them and
    ``loop_factory`` makes the event loop (tests: a loop with virtual time, which then also clocks the records).
    """
    name = fn_name(learner_fn)
    chosen = list(seeds) if seeds is not None else [None] * runs
    clock = _perf_counter if loop_factory is None else (lambda: asyncio.get_running_loop().time())
    timings: list[tuple[float, Case, dict[str, Any]]] = []
    for seed in chosen:
        case = make_case(seed)
        records: list[CallRecord] = []  # the recorder appends; the check reads this list, not the recorder's
        try:
            value, seconds = run_in_own_loop(learner_fn, list(case.user_ids), FakeApi(Recorder(case, records, clock)),
                                             case.limit, loop_factory=loop_factory)
        except (TimeoutError, asyncio.TimeoutError) as exc:  # two classes until Python 3.11
            return error_result(name, exc, f"it did not finish within {TIMEOUT_SECONDS:g} s: is every call awaited, "
                                           "and every Semaphore released (async with)?")
        except RuntimeError as exc:
            return error_result(name, exc, _OTHER_LOOP if "different event loop" in str(exc) else None)
        except Exception as exc:
            return error_result(name, exc)
        wrong_calls = _calls_made(name, case, records)
        if wrong_calls is not None:
            return wrong_calls
        require(check_result(value, expected_answer(case), what=f"{name}(user_ids, api, limit)",
                             hint="return {user_id: (user, orders, recommendations)} with what the api returned "
                                  "for that user (the check draws new users and answers on every run)"))
        peak = peak_in_flight(records)
        if peak > case.limit:
            return failed(f"{name} had {peak} calls in flight at once, at most limit={case.limit} allowed",
                          "the services take at most `limit` requests at a time: bound how many of your calls "
                          "run at once (one asyncio.Semaphore(limit) shared by all of them)",
                          peak=peak, limit=case.limit)
        n_calls = len(case.latency)
        details = {"seconds": seconds, "total": case.total, "best": case.best(), "allowed": case.allowed(),
                   "limit": case.limit, "runs": len(timings) + 1}
        floor = case.fastest_possible()
        if seconds < floor - EARLY_SECONDS:
            return failed(f"{name} took {format_time(seconds)} for {plural(n_calls, 'call')}, faster than the "
                          f"latencies allow: at most {case.limit} at once, they take at least {format_time(floor)}",
                          "the check times the run with its own clock: only when the calls start, and how many run "
                          "at once, are yours to change", **details)
        if seconds > case.allowed():
            near_sum = seconds > 0.8 * case.total
            told = (f"{name} took {format_time(seconds)} for {plural(n_calls, 'call')}"
                    + (f", about the sum of their latencies ({format_time(case.total)})" if near_sum else "")
                    + f"; started as soon as one of {case.limit} slots frees, they take {format_time(case.best())}, "
                    f"and the check allows {format_time(case.allowed())} ({SCHEDULE_FACTOR:g}x that + "
                    f"{SLACK_SECONDS * 1e3:.0f} ms)")
            return failed(told, _slow_hint(case, records, seconds), **details)
        timings.append((seconds, case, details))
    seconds, case, details = max(timings, key=lambda t: t[0] / t[1].allowed())
    details["runs"] = len(timings)
    return passed(f"{name} returns the right dashboards with at most {case.limit} calls at once: "
                  f"{plural(len(case.latency), 'call')} in {format_time(seconds)} (one by one: "
                  f"{format_time(case.total)}; allowed: {format_time(case.allowed())}), the slowest of "
                  f"{plural(len(timings), 'fresh case')}" + reuse_note(learner_fn, dashboards_reference), **details)
