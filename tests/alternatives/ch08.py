"""08-fix-the-leak, correct in other styles: cachetools TTL, an OrderedDict LRU, a FIFO dict, cached summaries."""

from __future__ import annotations

from collections import OrderedDict
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


FIX_THE_LEAK = [cachetools_ttl, ordered_dict_lru, fifo_dict_off_by_one, cached_responses_lru]
