"""08-fix-the-leak, cheats: caches that never evict (small entries, outside Python's heap, refreshed, frozen while
measured), responses that only compare equal, profiles from a private copy of the source, a handler that restarts
tracemalloc, one that raises the check's limits."""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from typing import Any

import perflab.exercises.ch08 as ch08
from perflab.exercises.ch08 import ProfileSource, response_for

Handler = Callable[[dict[str, Any]], Any]
Summary = tuple[str, int, int]


def _summary(profile: dict[str, Any]) -> Summary:
    return profile["name"], len(profile["order_cents"]), sum(profile["order_cents"])


def _respond(request: dict[str, Any], summary: Summary) -> dict[str, Any]:
    name, orders, total = summary
    return {"request": request["id"], "name": name, "orders": orders, "total_cents": total}


def summary_unbounded(load_profile: Callable[[int], Any]) -> Handler:
    """Keyed by user, keeps only what the response needs, never evicts: about 200 bytes a user."""
    cache: dict[int, Summary] = {}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = _summary(load_profile(uid))
        return _respond(request, cache[uid])

    return handle


def summary_refreshed_never_evicted(load_profile: Callable[[int], Any]) -> Handler:
    """An "expiry" that reloads an entry older than 1,000 requests but never deletes one: it loads as often as a
    bounded cache, and its memory grows with every new user."""
    cache: dict[int, tuple[int, Summary]] = {}
    clock = [0]

    def handle(request: dict[str, Any]) -> Any:
        clock[0] += 1
        uid = request["user_id"]
        if uid not in cache or clock[0] - cache[uid][0] > 1_000:
            cache[uid] = (clock[0], _summary(load_profile(uid)))
        return _respond(request, cache[uid][1])

    return handle


def packed_never_evicted(load_profile: Callable[[int], Any]) -> Handler:
    """Summaries packed into one growing bytearray, an index of offsets by user, stale entries reloaded."""
    index: dict[int, tuple[int, int]] = {}  # user id -> (request it was loaded at, offset)
    blob, clock = bytearray(), [0]

    def handle(request: dict[str, Any]) -> Any:
        clock[0] += 1
        uid = request["user_id"]
        if uid not in index or clock[0] - index[uid][0] > 1_000:
            name, orders, total = _summary(load_profile(uid))
            index[uid] = (clock[0], len(blob))
            encoded = name.encode()
            blob.extend(bytes([len(encoded)]) + encoded + orders.to_bytes(2, "big") + total.to_bytes(8, "big"))
        at = index[uid][1]
        size = blob[at]
        name = blob[at + 1:at + 1 + size].decode()
        rest = at + 1 + size
        return _respond(request, (name, int.from_bytes(blob[rest:rest + 2], "big"),
                                  int.from_bytes(blob[rest + 2:rest + 10], "big")))

    return handle


def frozen_while_measured(load_profile: Callable[[int], Any]) -> Handler:
    """Never evicts, but stops adding entries at request 6,000, where the check starts measuring growth: its
    memory stays flat, and it answers the users it kept (1,800 of them) without loading them again."""
    cache: dict[int, Summary] = {}
    served = [0]

    def handle(request: dict[str, Any]) -> Any:
        served[0] += 1
        uid = request["user_id"]
        if uid in cache:
            return _respond(request, cache[uid])
        summary = _summary(load_profile(uid))
        if served[0] <= ch08.WARM:
            cache[uid] = summary
        return _respond(request, summary)

    return handle


def sqlite_unbounded(load_profile: Callable[[int], Any]) -> Handler:
    """Every profile in an in-memory SQLite table: SQLite's C heap, which tracemalloc does not see."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE cache (user_id INTEGER PRIMARY KEY, profile TEXT)")

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        row = db.execute("SELECT profile FROM cache WHERE user_id = ?", (uid,)).fetchone()
        if row is None:
            profile = load_profile(uid)
            db.execute("INSERT INTO cache VALUES (?, ?)", (uid, json.dumps(profile)))
        else:
            profile = json.loads(row[0])
        return response_for(request, profile)

    return handle


def _sqlite_padded(load_profile: Callable[[int], Any], pad: Callable[[int, bool, bool], int | None]) -> Handler:
    """:func:`sqlite_unbounded` that also calls ``load_profile`` for the user ``pad(user, loaded, behind)`` names
    (if any) and throws the profile away; ``behind``: fewer than 40% of the requests so far have loaded."""
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE cache (user_id INTEGER PRIMARY KEY, profile TEXT)")
    counts = {"served": 0, "loads": 0}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        counts["served"] += 1
        row = db.execute("SELECT profile FROM cache WHERE user_id = ?", (uid,)).fetchone()
        if row is None:
            profile = load_profile(uid)
            counts["loads"] += 1
            db.execute("INSERT INTO cache VALUES (?, ?)", (uid, json.dumps(profile)))
        else:
            profile = json.loads(row[0])
        extra = pad(uid, row is None, counts["loads"] < 0.4 * counts["served"])
        if extra is not None:
            load_profile(extra)
            counts["loads"] += 1
        return response_for(request, profile)

    return handle


def sqlite_padded_twice(load_profile: Callable[[int], Any]) -> Handler:
    """Every profile in SQLite, and loads padded up to 40% of the requests by loading each new user twice (and a
    hit's user again when still short)."""
    return _sqlite_padded(load_profile, lambda uid, loaded, behind: uid if loaded or behind else None)


def sqlite_padded_with_other_users(load_profile: Callable[[int], Any]) -> Handler:
    """Every profile in SQLite, and loads padded up to 40% of the requests with some other user's profile."""
    return _sqlite_padded(load_profile, lambda uid, loaded, behind: uid + 1 if behind else None)


def sqlite_reloads_hits(load_profile: Callable[[int], Any]) -> Handler:
    """PASSES, a limitation the check documents: every profile in SQLite, and on a hit the requested user's profile
    is loaded again (and thrown away) while fewer than 40% of the requests have loaded. Each such load is the one
    load of the requested user during its request that a cache would make, so it counts."""
    return _sqlite_padded(load_profile, lambda uid, loaded, behind: uid if behind and not loaded else None)


def unbounded_by_user(load_profile: Callable[[int], Any]) -> Handler:
    """Keyed by user, whole profiles, never evicts: the memory curve shows it."""
    cache: dict[int, Any] = {}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
        return response_for(request, cache[uid])

    return handle


def ballast_let_go(load_profile: Callable[[int], Any]) -> Handler:
    """Keyed by user, never evicts, and first allocates 6 MiB of ballast, letting go of a chunk whenever the memory
    tracemalloc counts rises above where it started: the total stays flat while the cache grows."""
    cache: dict[int, Any] = {}
    ballast: list[bytes] = []
    start: list[int] = []

    def handle(request: dict[str, Any]) -> Any:
        if not start:
            ballast.extend(bytes(1024) for _ in range(6 * 1024))
            start.append(tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0)
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
        while ballast and tracemalloc.is_tracing() and tracemalloc.get_traced_memory()[0] > start[0]:
            ballast.pop()
        return response_for(request, cache[uid])

    return handle


def raises_the_limits(load_profile: Callable[[int], Any]) -> Handler:
    """The unbounded cache, after raising the module's limits from inside make_handler."""
    ch08.GROWTH_LIMIT_KIB = ch08.MAX_PROFILES = ch08.PROFILE_SLACK = 10**9
    return unbounded_by_user(load_profile)


def restarts_tracemalloc(load_profile: Callable[[int], Any]) -> Handler:
    """The unbounded cache, restarting tracemalloc on every request so the memory it holds reads as nothing."""
    handle = unbounded_by_user(load_profile)

    def hidden(request: dict[str, Any]) -> Any:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
            tracemalloc.start()
        return handle(request)

    return hidden


def cleared_every_call(load_profile: Callable[[int], Any]) -> Handler:
    """Bounded, and right, but the cache never serves anything."""
    cache: dict[int, Any] = {}

    def handle(request: dict[str, Any]) -> Any:
        cache.clear()
        cache[request["user_id"]] = load_profile(request["user_id"])
        return response_for(request, cache[request["user_id"]])

    return handle


def canned(load_profile: Callable[[int], Any]) -> Handler:
    """Answers from the notebook's seed, not the check's."""
    source = ProfileSource(seed=1)
    return lambda request: response_for(request, source(request["user_id"]))


def private_copy_of_the_source(load_profile: Callable[[int], Any]) -> Handler:
    """Reads the check's seed out of the source behind load_profile and computes every profile itself: load_profile
    never runs. (The seed is private; this is the determined version of reading ``load_profile.seed``.)"""
    cells = [cell.cell_contents for cell in getattr(load_profile, "__closure__", None) or ()]
    source = next((c for c in cells if isinstance(c, ProfileSource)), load_profile)
    private = ProfileSource(source._ProfileSource__seed)  # type: ignore[attr-defined]
    return lambda request: response_for(request, private(request["user_id"]))


class EqualToAnything(dict):  # type: ignore[type-arg]
    """A response that says it equals whatever it is compared with."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


def equal_to_anything(load_profile: Callable[[int], Any]) -> Handler:
    """Computes nothing: an empty dict whose __eq__ and __ne__ lie."""
    return lambda request: EqualToAnything()


class SaysEqual(str):
    """A string that says it equals whatever it is compared with."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


def lying_values(load_profile: Callable[[int], Any]) -> Handler:
    """A plain dict with the right keys, and values that say they equal anything."""
    return lambda request: {"request": request["id"], "name": SaysEqual("?"), "orders": 0, "total_cents": 0}


#: (cheat, fragments of the ❌ line it must get)
FIX_THE_LEAK: list[tuple[Callable[..., Handler], tuple[str, ...]]] = [
    (unbounded_by_user, ("memory grew by", "over the last 10,000 requests")),
    (summary_unbounded, ("memory grew by",)),
    (ballast_let_go, ("memory grew by",)),
    (summary_refreshed_never_evicted, ("memory grew by",)),
    (packed_never_evicted, ("memory grew by",)),
    (raises_the_limits, ("changed the check itself (perflab.exercises.ch08.",)),
    (restarts_tracemalloc, ("stopped or restarted tracemalloc",)),
    (frozen_while_measured, ("profiles needs at least", "keeps more profiles, or gets them elsewhere")),
    (sqlite_unbounded, ("profiles needs at least",)),
    (sqlite_padded_twice, ("load_profile(", "and had loaded it already", "call it only for the user a request")),
    (sqlite_padded_with_other_users, ("load_profile(", "which asks for user", "call it only for the user a request")),
    (private_copy_of_the_source, ("load_profile ran 0 times", "profiles needs at least")),
    (cleared_every_call, ("load_profile ran 16,000 times for 16,000 requests",)),
    (canned, ("should be",)),
    (equal_to_anything, ("is missing 4 of 4 keys",)),
    (lying_values, ("['name'] should be",)),
]
