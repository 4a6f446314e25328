"""08-fix-the-leak, cheats: caches keyed by user that never evict (small entries, or outside Python's heap)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from perflab.exercises.ch08 import ProfileSource, response_for

Handler = Callable[[dict[str, Any]], Any]


def summary_unbounded(load_profile: Callable[[int], Any]) -> Handler:
    """Keyed by user, keeps only what the response needs, never evicts: grows slowly enough to hide in memory."""
    cache: dict[int, tuple[str, int, int]] = {}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            p = load_profile(uid)
            cache[uid] = (p["name"], len(p["order_cents"]), sum(p["order_cents"]))
        name, orders, total = cache[uid]
        return {"request": request["id"], "name": name, "orders": orders, "total_cents": total}

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


def unbounded_by_user(load_profile: Callable[[int], Any]) -> Handler:
    """Keyed by user, whole profiles, never evicts: the memory curve shows it."""
    cache: dict[int, Any] = {}

    def handle(request: dict[str, Any]) -> Any:
        uid = request["user_id"]
        if uid not in cache:
            cache[uid] = load_profile(uid)
        return response_for(request, cache[uid])

    return handle


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


#: (cheat, a fragment of the ❌ line it must get)
FIX_THE_LEAK = [
    (unbounded_by_user, "memory grew by"),
    (cleared_every_call, "load_profile ran 8,000 times for 8,000 requests"),
    (canned, "should be"),
    (summary_unbounded, "its cache held at least"),
    (sqlite_unbounded, "its cache held at least"),
]
