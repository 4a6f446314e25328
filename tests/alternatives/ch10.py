"""Chapter 10's exercise, correct in other styles: versioned keys, lru_cache cleared on write, perflab's levels."""

from __future__ import annotations

import functools
import tempfile
from collections import defaultdict
from typing import Any

from sqlalchemy.engine import Engine

from perflab.cache import CachedLoader, DiskLevel, MemoryLevel, TwoLevel
from perflab.exercises.ch10 import set_email_reference, user_summary_reference


def versioned_keys(engine: Engine) -> tuple[Any, Any]:
    """Every write bumps the user's version; entries under an old version are never read again."""
    from cachetools import LRUCache

    cache: LRUCache[tuple[int, int], dict[str, Any]] = LRUCache(maxsize=5_000)
    version: defaultdict[int, int] = defaultdict(int)

    def user_summary(user_id: int) -> dict[str, Any]:
        key = (user_id, version[user_id])
        if key not in cache:
            cache[key] = user_summary_reference(engine, user_id)
        return cache[key]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        version[user_id] += 1

    return user_summary, set_email


def lru_cache_cleared(engine: Engine) -> tuple[Any, Any]:
    """functools.cache per endpoint; a write clears the whole cache (blunt, and never stale)."""

    @functools.cache
    def user_summary(user_id: int) -> dict[str, Any]:
        return user_summary_reference(engine, user_id)

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        user_summary.cache_clear()

    return user_summary, set_email


#: The diskcache levels the alternatives made (``cleanup`` removes their folders).
MADE: list[DiskLevel] = []


def cleanup() -> None:
    """Remove the alternatives' diskcache folders and empty the module-level cache (a cold start for each test)."""
    while MADE:
        MADE.pop().remove()
    _BY_DATABASE.clear()


def two_levels_with_delete(engine: Engine) -> tuple[Any, Any]:
    """perflab's L1 over a diskcache L2, read through CachedLoader; the write deletes the key from both levels."""
    MADE.append(DiskLevel(tempfile.mkdtemp(prefix="perflab-test-ch10-")))
    cache = TwoLevel(MemoryLevel(), MADE[-1])
    loader = CachedLoader(cache, ttl=300)

    def user_summary(user_id: int) -> dict[str, Any]:
        return loader.get(f"user:{user_id}", lambda: user_summary_reference(engine, user_id))  # type: ignore[no-any-return]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        cache.delete(f"user:{user_id}")

    return user_summary, set_email


def write_through(engine: Engine) -> tuple[Any, Any]:
    """The write updates the database, then reloads the entry (write-through) instead of deleting it."""
    from cachetools import TTLCache

    cache: TTLCache[int, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=60)

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        cache[user_id] = user_summary_reference(engine, user_id)

    return user_summary, set_email




#: One cache for every endpoint, keyed by engine and user (as a Redis level shared by processes would be).
_BY_DATABASE: dict[tuple[Engine, int], dict[str, Any]] = {}


def one_cache_keyed_by_database(engine: Engine) -> tuple[Any, Any]:
    """A module-level cache that outlives each endpoint, its keys naming the engine: a fresh endpoint is warm."""
    where = engine

    def user_summary(user_id: int) -> dict[str, Any]:
        key = (where, user_id)
        if key not in _BY_DATABASE:
            _BY_DATABASE[key] = user_summary_reference(engine, user_id)
        return _BY_DATABASE[key]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        _BY_DATABASE.pop((where, user_id), None)

    return user_summary, set_email


CACHE_ENDPOINT = [versioned_keys, lru_cache_cleared, two_levels_with_delete, write_through,
                  one_cache_keyed_by_database]
