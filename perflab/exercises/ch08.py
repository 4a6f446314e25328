"""Exercise checks of chapter 08: memory (a request handler that leaks).

>>> load_profile = ProfileSource(seed=3)
>>> handle = make_handler_reference(load_profile)
>>> [request] = request_stream(1, seed=3)
>>> handle(request) == response_for(request, load_profile(request["user_id"]))
True

The handler is built by ``make_handler(load_profile)``; ``load_profile(user_id)`` plays the slow database
read the handler caches. The check builds a fresh source of profiles and fresh requests each time (a new
seed), so canned responses cannot pass, and decides on three counts:

- every response equals the reference one, compared as plain values (a ``dict`` of ``str`` and ``int``),
  so no ``__eq__`` of the learner's decides;
- the memory Python holds stops growing once a cache of 1,000 profiles is full: tracemalloc is read every
  1,000 requests (the curve), and snapshots at WARM (when any such cache is full and settled) and at the
  end must show under GROWTH_LIMIT_KIB of growth over those last 10,000 requests, while about 1,200 new
  users arrive. The growth is the sum over the lines (tracebacks) that hold more of what they hold more
  (:func:`~perflab.memory.grown_kib`): memory given back on another line, a ballast, offsets nothing;
- ``load_profile`` runs between two bounds. At most MAX_LOAD_SHARE of the requests (the cache must serve the
  regular users), and at least as often as the best possible cache of MAX_PROFILES + PROFILE_SLACK
  profiles would need on the same requests (:func:`fewest_loads`, Belady's rule, computed from the whole
  stream). Users who are not regulars come back once, thousands of requests later, in among the other
  traffic: a cache that keeps more than that many profiles, however small and wherever it keeps them
  (SQLite, a file), answers some of them without loading, and so does a handler that gets profiles
  anywhere but from ``load_profile`` (the source keeps its seed to itself, so it cannot be copied).

A load counts only if it is of the user the request asks for, during that request, and once: any other call
of ``load_profile`` (another user, a second call, a call between requests) fails the check, so loads cannot be
padded with calls whose result is thrown away.

What an in-process check cannot catch: a cache that holds every user *outside* Python's heap (SQLite, a
file, another process) yet reloads the requested user now and then although it has them (an entry once it is
old, or any user who is not a regular), so that it loads as often as a bounded cache (tracemalloc does not see
that memory, and the loads look bounded); a never-evicting cache packed so tight
(a few bytes a user) that its growth hides under the limit; a ballast let go by the very line (traceback)
that fills the cache; and code that reaches into the check itself
(reads its private state, such as the source's seed, through introspection or ``gc``, or rebinds the
functions it calls). The limits are bound when this module is imported, so changing them from a notebook
or from ``make_handler`` changes nothing.
"""

from __future__ import annotations

import gc
import heapq
import random
import tracemalloc
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from perflab.display import fn_name
from perflab.errors import PerflabError
from perflab.exercises import CheckResult, check_result, exercise, failed, materialize, passed, run_learner
from perflab.exercises.ch07 import reuse_note
from perflab.memory import grown_kib, memory_over

#: The largest number of profiles the handler may keep (stated in the exercise).
MAX_PROFILES = 1_000
#: Profiles a handler may still hold beyond MAX_PROFILES (an off-by-one eviction, maxsize=1024: not a leak).
PROFILE_SLACK = 100
#: Requests the check sends, and how often it reads the memory Python holds.
REQUESTS, EVERY = 16_000, 1_000
#: The reading memory growth is measured from: by then a cache of 1,000 profiles is full, and the dict behind
#: it has grown to the size it keeps under churn (one step, about 4,000 requests in: 30-90 KiB).
WARM = 6_000
#: Growth allowed from WARM to the end (KiB), summed over the lines that grew. Measured over 3 seeds on Python
#: 3.11: bounded caches 1 to 14 (lru_cache, cachetools LRU, LFU and TTL, OrderedDict of profiles or summaries,
#: dict + deque, second-hit admission, SQLite); caches that never evict grow with the ~1,200 new users: compact
#: summaries 255-390 KiB (about 200 bytes a user), whole profiles 1.8-2 MiB, with a ballast let go as they grow
#: too. (The net total used before measured -10 to +20 for bounded caches over 6 seeds on 3.10, 3.11, 3.13.)
GROWTH_LIMIT_KIB = 80
#: At most this share of the requests may call load_profile: 70% of the requests come from 100 regular users.
MAX_LOAD_SHARE = 0.5
#: Users who come back again and again, and the share of requests they send.
REGULARS, REGULAR_SHARE = 100, 0.7
#: Every other user comes back once, this many requests after their first visit (if the stream lasts).
RETURN_AFTER = (4_000, 14_000)

_FIRST_NAMES = ("Ada", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lena")


class ProfileSource:
    """``load_profile(user_id)``: a user's profile, the same for the same seed and id; counts its calls.

    >>> source = ProfileSource(seed=1)
    >>> source(7) == source(7), source.calls
    (True, 2)

    Parameters: ``seed`` picks the names and orders (a check uses a fresh one, and keeps it to itself).
    """

    def __init__(self, seed: int) -> None:
        self.__seed = seed
        self.__calls = 0

    @property
    def calls(self) -> int:
        """How many profiles this source has loaded."""
        return self.__calls

    def __call__(self, user_id: int) -> dict[str, Any]:
        self.__calls += 1
        h = (self.__seed * 1_000_003 + user_id) * 2_654_435_761 % 2**32
        orders = [500 + h * (k + 7) % 49_501 for k in range(20 + h % 20)]
        return {"user_id": user_id, "name": f"{_FIRST_NAMES[h % len(_FIRST_NAMES)]} #{user_id}", "order_cents": orders}


def request_stream(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` requests for profile pages: 70% from 100 regular users; every other user comes back once, later.

    >>> [r["id"] for r in request_stream(2, seed=5)]
    ['5-0', '5-1']

    A user who is not a regular comes back RETURN_AFTER (4,000 to 14,000) requests after their first visit,
    if the stream lasts that long; the return takes the next request that is not a regular's, so returning
    users are mixed in with new ones, with the ids numbered on.
    """
    rng = random.Random(seed)
    regulars = rng.sample(range(1, 1_000_000), REGULARS)
    newcomers = iter(rng.sample(range(1_000_000, 10_000_000), n))
    due: list[tuple[int, int]] = []  # (request number it comes back at, user id)
    users = []
    for i in range(n):
        if rng.random() < REGULAR_SHARE:
            users.append(rng.choice(regulars))
        elif due and due[0][0] <= i:
            users.append(heapq.heappop(due)[1])
        else:
            users.append(next(newcomers))
            heapq.heappush(due, (i + rng.randint(*RETURN_AFTER), users[-1]))
    return [{"id": f"{seed}-{i}", "path": "/profile", "user_id": uid} for i, uid in enumerate(users)]


def response_for(request: dict[str, Any], profile: dict[str, Any]) -> dict[str, Any]:
    """The response to a profile request: the request id, the user's name, their number of orders and total.

    >>> response_for({"id": "1-0"}, {"name": "Ada #7", "order_cents": [100, 250]})
    {'request': '1-0', 'name': 'Ada #7', 'orders': 2, 'total_cents': 350}
    """
    cents = profile["order_cents"]
    return {"request": request["id"], "name": profile["name"], "orders": len(cents), "total_cents": sum(cents)}


def fewest_loads(user_ids: Sequence[int], capacity: int) -> int:
    """The fewest loads any cache of at most ``capacity`` entries needs to answer requests from ``user_ids``.

    >>> fewest_loads([1, 2, 1, 3, 1, 2], capacity=1), fewest_loads([1, 2, 1, 3, 1, 2], capacity=2)
    (4, 3)

    Belady's rule, which knows the future: on a miss, keep the ``capacity`` users (the new one included)
    who come back soonest, drop the rest. No cache that holds at most ``capacity`` entries at any moment,
    whatever it keeps and however it chooses, loads less often; an unbounded cache loads each user once.
    """
    never = len(user_ids)
    next_use = [never] * len(user_ids)
    seen: dict[int, int] = {}
    for i in range(len(user_ids) - 1, -1, -1):
        next_use[i] = seen.get(user_ids[i], never)
        seen[user_ids[i]] = i
    held: dict[int, int] = {}  # user id -> the request it is next needed at
    latest: list[tuple[int, int]] = []  # (-next use, user id); stale pairs are skipped
    loads = 0
    for i, uid in enumerate(user_ids):
        loads += uid not in held
        held[uid] = next_use[i]
        heapq.heappush(latest, (-next_use[i], uid))
        while len(held) > capacity:
            negative, victim = heapq.heappop(latest)
            if held.get(victim) == -negative:
                del held[victim]
    return loads


def make_handler_reference(load_profile: Callable[[int], dict[str, Any]]) -> Callable[[dict[str, Any]], Any]:
    """Reference solution of 08-fix-the-leak: profiles cached by user id, at most MAX_PROFILES of them."""

    @lru_cache(maxsize=MAX_PROFILES)
    def profile(user_id: int) -> dict[str, Any]:
        return load_profile(user_id)

    def handle(request: dict[str, Any]) -> dict[str, Any]:
        return response_for(request, profile(request["user_id"]))

    return handle


def _same_response(got: Any, expected: dict[str, Any]) -> bool:
    """True if ``got`` is ``expected`` as plain values: a dict of the same str and int values (or one that
    :func:`check_result` accepts once :func:`materialize` has turned the learner's objects into plain ones)."""
    if type(got) is dict and got == expected and all(type(got[k]) is type(v) for k, v in expected.items()):
        return True
    return check_result(materialize(got), expected).ok


HINTS = (
    "every request leaves something behind that nothing removes: after tracemalloc.start(10), take two snapshots "
    "a few thousand requests apart; top_growth(before, after, within=make_handler) names your line that keeps it",
    "the cache key holds the request's id, so no entry is ever used twice: key the cache on what the "
    f"response depends on, and keep at most {MAX_PROFILES:,} entries",
    f"cache the profile with functools.lru_cache(maxsize={MAX_PROFILES}) on a function of user_id "
    "(or a cachetools.LRUCache), and build each response from the cached profile",
)


@exercise("08-fix-the-leak", hints=HINTS, reference=make_handler_reference)
def _check_fix_the_leak(learner_fn: Callable[..., Any], *, seed: int | None = None, requests: int = REQUESTS,
                        every: int = EVERY, warm: int = WARM, growth_limit_kib: float = GROWTH_LIMIT_KIB,
                        max_profiles: int = MAX_PROFILES, slack: int = PROFILE_SLACK,
                        max_load_share: float = MAX_LOAD_SHARE) -> CheckResult:
    """make_handler(load_profile) -> handle(request): the same responses, bounded memory, <= 1,000 profiles kept.

    The limits are keyword defaults, bound at import: a handler that changes this module's constants
    changes nothing here.
    """
    name = fn_name(learner_fn)
    seed = random.SystemRandom().randrange(1, 10**6) if seed is None else seed
    stream = request_stream(requests, seed)
    truth = ProfileSource(seed)
    expected = [response_for(r, truth(r["user_id"])) for r in stream]
    capacity = max_profiles + slack
    least = fewest_loads([r["user_id"] for r in stream], capacity)
    same, measure, snapshot, grown = _same_response, memory_over, tracemalloc.take_snapshot, grown_kib  # bound now
    source = ProfileSource(seed)
    asked: list[Any] = [None]  # the user the request being answered asks for, until loaded once
    stray: list[str] = []
    loads = 0

    def load_profile(user_id: int) -> dict[str, Any]:
        nonlocal loads
        if asked[0] is not None and user_id == asked[0]:
            loads, asked[0] = loads + 1, None
        elif not stray:
            stray.append(f"load_profile({user_id!r}) was called " + (
                "while no request was being answered" if requested[0] is None else
                f"during request {requested[0]['id']}, which asks for user {requested[0]['user_id']}"
                + (" and had loaded it already" if user_id == requested[0]["user_id"] else "")))
        return source(user_id)

    requested: list[dict[str, Any] | None] = [None]
    handle = run_learner(learner_fn, load_profile, name=name)
    if not callable(handle):
        return failed(f"{name}(load_profile) returned {type(handle).__name__}, not a handler function",
                      "return the inner function handle itself, without calling it")
    wrong: list[CheckResult] = []

    snapshots: list[tracemalloc.Snapshot] = []

    def step(i: int) -> None:
        if i == warm:
            gc.collect()
            snapshots.append(snapshot())
        requested[0], asked[0] = stream[i], stream[i]["user_id"]
        try:
            got = run_learner(handle, stream[i], name="handle")
        finally:
            requested[0] = asked[0] = None
        if i == requests - 1:
            gc.collect()
            snapshots.append(snapshot())
        if not wrong and not same(got, expected[i]):
            wrong.append(check_result(materialize(got), expected[i], what=f"the response to request {stream[i]['id']}"))

    try:
        curve = measure(step, range(requests), every=every)
    except (PerflabError, RuntimeError):  # RuntimeError: a snapshot while tracemalloc was stopped
        return failed(f"{name}'s handler stopped or restarted tracemalloc while the check was reading it",
                      "leave tracemalloc alone in the handler: the check reads it to see what the handler keeps")
    if wrong:
        return wrong[0]
    if stray:
        return failed(stray[0], "load_profile is the slow read the cache saves: call it only for the user a request "
                      "asks for, once, when the cache does not have them", curve=curve, loads=loads)
    growth = grown(*snapshots)
    snapshots.clear()
    stretch = requests - warm
    if growth > growth_limit_kib:
        return failed(f"memory grew by {growth:,.0f} KiB over the last {stretch:,} requests "
                      f"({growth * 1024 / stretch:,.0f} bytes a request, and still growing)", HINTS[0],
                      curve=curve, loads=loads, growth_kib=growth)
    if loads > max_load_share * requests:
        return failed(f"load_profile ran {loads:,} times for {requests:,} requests, though "
                      f"{REGULAR_SHARE:.0%} of them come from {REGULARS} regular users",
                      "the handler should still cache profiles: load each regular user's profile once, "
                      f"and keep at most {max_profiles:,}", curve=curve, loads=loads, growth_kib=growth)
    if loads < least:
        return failed(f"load_profile ran {loads:,} times for {requests:,} requests, but a cache of at most "
                      f"{capacity:,} profiles needs at least {least:,} (users come back thousands of requests "
                      "later): the handler keeps more profiles, or gets them elsewhere",
                      "a cache that never lets an entry go grows with every new user, however small the entries "
                      f"and wherever they are kept: keep at most {max_profiles:,} and drop the least recently used",
                      curve=curve, loads=loads, least=least, growth_kib=growth)
    return passed(f"{name}: {requests:,} fresh requests answered right, memory grew {max(growth, 0):,.0f} KiB "
                  f"over the last {stretch:,}, and load_profile ran {loads:,} times (a cache of {capacity:,} "
                  f"profiles needs at least {least:,}, no cache {requests:,})"
                  + reuse_note(learner_fn, make_handler_reference), curve=curve, loads=loads, least=least,
                  growth_kib=growth)
