"""08-fix-the-leak, correct in other styles: cachetools (a TTL cache, the @cached decorator), an OrderedDict LRU, FIFO
eviction (a dict alone, a dict and a deque), cached summaries, lru_cache on a method, an LRU table in SQLite, and
second-hit admission."""

from __future__ import annotations

import sqlite3
from collections import OrderedDict, deque
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import cachetools

from perflab.exercises.ch08 import MAX_PROFILES, response_for

Handler = Callable[[dict[str, Any]], Any]


def cachetools_ttl(load_profile: Callable[[int], Any]) -> Handler:
    cache: cachetools.TTLCache[int, Any] = cachetools.TTLCache(maxsize=MAX_PROFILES, ttl=300)

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
        return response_for(request, cache[uid])

    return handle


def ordered_dict_lru(load_profile: Callable[[int], Any]) -> Handler:
    cache: OrderedDict[int, Any] = OrderedDict()

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid in cache:
            cache.move_to_end(uid)
        else:
            cache[uid] = load_profile(uid)
            if len(cache) > MAX_PROFILES:
                cache.popitem(last=False)
        profile = cache[uid]
        return {"request": request["id"], "name": profile["name"], "orders": len(profile["order_cents"]),
                "total_cents": sum(profile["order_cents"])}

    return handle


def fifo_dict_off_by_one(load_profile: Callable[[int], Any]) -> Handler:
    """Evicts the oldest entry (dicts keep insertion order) before adding, so it holds 1,001: not a leak."""
    cache: dict[int, Any] = {}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            if len(cache) > MAX_PROFILES:
                del cache[next(iter(cache))]
            cache[uid] = load_profile(uid)
        return response_for(request, cache[uid])

    return handle


def cached_responses_lru(load_profile: Callable[[int], Any]) -> Handler:
    @lru_cache(maxsize=512)
    def summary(uid: int) -> tuple[str, int, int]:
        p = load_profile(uid)
        return p["name"], len(p["order_cents"]), sum(p["order_cents"])

    def handle(request: dict[str, Any]) -> Any:
        name, orders, total = summary(request["user_id"])
        return {"request": request["id"], "name": name, "orders": orders, "total_cents": total}

    return handle


def cachetools_decorator(load_profile: Callable[[int], Any]) -> Handler:
    @cachetools.cached(cachetools.LRUCache(maxsize=MAX_PROFILES))
    def profile(user_id: int) -> Any:
        return load_profile(user_id)

    return lambda request: response_for(request, profile(request["user_id"]))


def dict_and_deque_fifo(load_profile: Callable[[int], Any]) -> Handler:
    """A dict plus a deque of its keys in arrival order: the oldest goes when there are too many."""
    cache: dict[int, Any] = {}
    order: deque[int] = deque()

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
            order.append(uid)
            if len(order) > MAX_PROFILES:
                del cache[order.popleft()]
        return response_for(request, cache[uid])

    return handle


class ProfileHandler:
    """Class style: lru_cache wrapped around a bound method in __init__, so each handler has its own cache."""

    def __init__(self, load_profile: Callable[[int], Any]) -> None:
        self.load_profile = load_profile
        self.profile = lru_cache(maxsize=MAX_PROFILES)(self._load)

    def _load(self, user_id: int) -> Any:
        return self.load_profile(user_id)

    def __call__(self, request: dict[str, Any]) -> Any:
        return response_for(request, self.profile(request["user_id"]))


def lru_cache_on_a_method(load_profile: Callable[[int], Any]) -> Handler:
    return ProfileHandler(load_profile)


def sqlite_lru(load_profile: Callable[[int], Any]) -> Handler:
    """SQL style: summaries in an in-memory SQLite table, the least recently used rows beyond 1,000 deleted."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE cache (user_id INTEGER PRIMARY KEY, used INTEGER, name TEXT, orders INTEGER, "
               "total INTEGER)")
    db.execute("CREATE INDEX cache_used ON cache (used)")
    clock = [0]

    def handle(request: dict[str, Any]) -> Any:
        clock[0] += 1
        uid = request["user_id"]
        row = db.execute("SELECT name, orders, total FROM cache WHERE user_id = ?", (uid,)).fetchone()
        if row is None:
            p = load_profile(uid)
            row = (p["name"], len(p["order_cents"]), sum(p["order_cents"]))
            db.execute("INSERT INTO cache VALUES (?, ?, ?, ?, ?)", (uid, clock[0], *row))
            db.execute("DELETE FROM cache WHERE user_id IN "
                       "(SELECT user_id FROM cache ORDER BY used DESC LIMIT -1 OFFSET ?)", (MAX_PROFILES,))
        else:
            db.execute("UPDATE cache SET used = ? WHERE user_id = ?", (clock[0], uid))
        name, orders, total = row
        return {"request": request["id"], "name": name, "orders": orders, "total_cents": total}

    return handle


def second_hit_admission(load_profile: Callable[[int], Any]) -> Handler:
    """Caches a profile only the second time its user comes (one-off visitors never enter): two LRU caches, of
    the user ids seen once and of the profiles, 1,000 each."""
    seen: cachetools.LRUCache[int, bool] = cachetools.LRUCache(maxsize=MAX_PROFILES)
    cache: cachetools.LRUCache[int, Any] = cachetools.LRUCache(maxsize=MAX_PROFILES)

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid in cache:
            return response_for(request, cache[uid])
        profile = load_profile(uid)
        if uid in seen:
            cache[uid] = profile
        else:
            seen[uid] = True
        return response_for(request, profile)

    return handle


FIX_THE_LEAK = [cachetools_ttl, ordered_dict_lru, fifo_dict_off_by_one, cached_responses_lru, cachetools_decorator,
                dict_and_deque_fifo, lru_cache_on_a_method, sqlite_lru, second_hit_admission]
