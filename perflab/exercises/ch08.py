"""Exercise checks of chapter 08: memory (a request handler that leaks).

>>> load_profile = ProfileSource(seed=3)
>>> handle = make_handler_reference(load_profile)
>>> [request] = request_stream(1, seed=3)
>>> handle(request) == response_for(request, load_profile(request["user_id"]))
True

The handler is built by ``make_handler(load_profile)``; ``load_profile(user_id)`` plays the slow database
read the handler caches. The check builds a fresh source of profiles and fresh requests each time (a new
seed), so canned responses cannot pass. After the 8,000 requests, every user who came once comes back: a
handler that keeps at most 1,000 profiles must load most of them again, wherever it keeps its cache.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from perflab.display import fn_name
from perflab.exercises import CheckResult, check_result, exercise, failed, passed, require, run_learner
from perflab.exercises.ch07 import reuse_note
from perflab.memory import memory_over

#: The largest number of profiles the handler may keep (stated in the exercise).
MAX_PROFILES = 1_000
#: Requests the check sends; memory is read after half of them and at the end.
REQUESTS = 8_000
#: Growth allowed over the second half (KiB): a full cache of 1,000 profiles stays flat, an unbounded one
#: (about 1,200 new profiles, 1.8 MiB measured) or one entry per request (4,000, 6 MiB) grows far above it.
GROWTH_LIMIT_KIB = 384
#: At most this share of the requests may call load_profile: 70% of the requests come from 100 regular users.
MAX_LOAD_SHARE = 0.5
#: Profiles a handler may still hold beyond MAX_PROFILES (an off-by-one eviction is not a leak).
PROFILE_SLACK = 100
#: Users who come back again and again, and the share of requests they send.
REGULARS, REGULAR_SHARE = 100, 0.7

_FIRST_NAMES = ("Ada", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lena")


class ProfileSource:
    """``load_profile(user_id)``: a user's profile, the same for the same seed and id; counts its calls.

    >>> source = ProfileSource(seed=1)
    >>> source(7) == source(7), source.calls
    (True, 2)

    Parameters: ``seed`` picks the names and orders (a check uses a fresh one).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.calls = 0

    def __call__(self, user_id: int) -> dict[str, Any]:
        self.calls += 1
        h = (self.seed * 1_000_003 + user_id) * 2_654_435_761 % 2**32
        orders = [500 + h * (k + 7) % 49_501 for k in range(20 + h % 20)]
        return {"user_id": user_id, "name": f"{_FIRST_NAMES[h % len(_FIRST_NAMES)]} #{user_id}", "order_cents": orders}


def request_stream(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` requests for profile pages: 70% from 100 regular users, the rest each from a new user.

    >>> [r["id"] for r in request_stream(2, seed=5)]
    ['5-0', '5-1']
    """
    rng = random.Random(seed)
    regulars = rng.sample(range(1, 1_000_000), REGULARS)
    newcomers = iter(rng.sample(range(1_000_000, 10_000_000), n))
    return [{"id": f"{seed}-{i}", "path": "/profile",
             "user_id": rng.choice(regulars) if rng.random() < REGULAR_SHARE else next(newcomers)}
            for i in range(n)]


def response_for(request: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """The response to a profile request: the request id, the user's name, their number of orders and total.

    >>> response_for({"id": "1-0"}, {"name": "Ada #7", "order_cents": [100, 250]})
    {'request': '1-0', 'name': 'Ada #7', 'orders': 2, 'total_cents': 350}
    """
    cents = profile["order_cents"]
    return {"request": request["id"], "name": profile["name"], "orders": len(cents), "total_cents": sum(cents)}


def returning_requests(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One more request from each user who came only once in ``stream``, oldest first, with new request ids.

    >>> stream = request_stream(40, seed=2)
    >>> again = returning_requests(stream)
    >>> [r["user_id"] for r in stream].count(again[0]["user_id"]), again[0]["id"]
    (1, '2-again-0')

    A handler that keeps at most MAX_PROFILES profiles must load most of them again: the check counts those
    loads, which sees a cache wherever it keeps its entries (tracemalloc sees only Python's heap).
    """
    seen: dict[int, int] = {}
    for r in stream:
        seen[r["user_id"]] = seen.get(r["user_id"], 0) + 1
    prefix = stream[0]["id"].split("-")[0] if stream else "0"
    once = [uid for uid, count in seen.items() if count == 1]
    return [{"id": f"{prefix}-again-{k}", "path": "/profile", "user_id": uid} for k, uid in enumerate(once)]


def make_handler_reference(load_profile: Callable[[int], dict[str, Any]]) -> Callable[[dict[str, Any]], Any]:
    """Reference solution of 08-fix-the-leak: profiles cached by user id, at most MAX_PROFILES of them."""

    @lru_cache(maxsize=MAX_PROFILES)
    def profile(user_id: int) -> dict[str, Any]:
        return load_profile(user_id)

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        return response_for(request, profile(request["user_id"]))

    return handle


@exercise(
    "08-fix-the-leak",
    hints=(
        "every request leaves something behind that nothing ever removes: compare two tracemalloc snapshots "
        "taken a few thousand requests apart, and look at the line that grows",
        "the cache key holds the request's id, so no entry is ever used twice: key the cache on what the "
        f"response depends on, and keep at most {MAX_PROFILES:,} entries",
        f"cache the profile with functools.lru_cache(maxsize={MAX_PROFILES}) on a function of user_id "
        "(or a cachetools.LRUCache), and build each response from the cached profile",
    ),
    reference=make_handler_reference,
)
def _check_fix_the_leak(learner_fn: Callable[..., Any], *, seed: int | None = None,
                        requests: int = REQUESTS) -> CheckResult:
    """make_handler(load_profile) -> handle(request): the same responses, bounded memory, <= 1,000 profiles kept."""
    name = fn_name(learner_fn)
    seed = random.SystemRandom().randrange(1, 10**6) if seed is None else seed
    source = ProfileSource(seed)
    handle = run_learner(learner_fn, source, name=name)
    if not callable(handle):
        return failed(f"{name}(load_profile) returned {type(handle).__name__}, not a handler function",
                      "return the inner function handle itself, without calling it")
    stream = request_stream(requests, seed)
    truth = ProfileSource(seed)
    expected = [response_for(r, truth(r["user_id"])) for r in stream]
    wrong: list[int] = []

    def step(i: int) -> None:
        got = run_learner(handle, stream[i], name="handle")
        if not wrong and got != expected[i]:
            wrong.append(i)

    curve = memory_over(step, range(requests), every=requests // 2)
    if wrong:
        i = wrong[0]
        require(check_result(handle(stream[i]), expected[i], what=f"the response to request {stream[i]['id']}"))
    growth = curve[-1][1] - curve[-2][1]
    half = requests - requests // 2
    if growth > GROWTH_LIMIT_KIB:
        return failed(f"memory grew by {growth:,.0f} KiB over the last {half:,} requests "
                      f"({growth * 1024 / half:,.0f} bytes a request, and still growing)",
                      "every request leaves something behind that nothing ever removes: compare two "
                      "tracemalloc snapshots taken a few thousand requests apart", curve=curve)
    if source.calls > MAX_LOAD_SHARE * requests:
        return failed(f"load_profile ran {source.calls:,} times for {requests:,} requests, though "
                      f"{REGULAR_SHARE:.0%} of them come from {REGULARS} regular users",
                      "the handler should still cache profiles: load each regular user's profile once, "
                      f"and keep at most {MAX_PROFILES:,}", curve=curve, loads=source.calls)
    loads = source.calls
    again = returning_requests(stream)
    for r in again:
        require(check_result(run_learner(handle, r, name="handle"), response_for(r, truth(r["user_id"])),
                             what=f"the response to request {r['id']}"))
    held = len(again) - (source.calls - loads)
    if held > MAX_PROFILES + PROFILE_SLACK:
        return failed(f"{name} answered {held:,} of {len(again):,} earlier users without calling load_profile "
                      f"again, so its cache held at least {held:,} profiles; at most {MAX_PROFILES:,} allowed",
                      "a cache that never lets an entry go grows with every new user, however small the entries "
                      "and wherever they are kept: keep a fixed number and drop the least recently used",
                      curve=curve, loads=loads, held=held)
    return passed(f"{name}: {requests:,} fresh requests answered right, memory grew {max(growth, 0):,.0f} KiB "
                  f"over the last {half:,}, load_profile ran {loads:,} times, and of {len(again):,} users who came "
                  f"back, {held:,} were still cached (at most {MAX_PROFILES:,} allowed)"
                  + reuse_note(learner_fn, make_handler_reference), curve=curve, loads=loads, growth_kib=growth,
                  held=held)
