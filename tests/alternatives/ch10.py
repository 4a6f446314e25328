"""Chapter 10's exercise, correct in other styles: versioned keys, lru_cache cleared on write, perflab's levels,
pandas and the ORM on a miss, Redis through redis-py and through the chapter's second level (with or without L1)."""

from __future__ import annotations

import functools
import json
import random
import tempfile
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from perflab.cache import CachedLoader, DiskLevel, Level, MemoryLevel, TwoLevel, open_second_level
from perflab.exercises.ch10 import set_email_reference, user_summary_reference
from perflab.schema import Order, User


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


#: The shared levels the alternatives made (``cleanup`` removes their keys, and diskcache's folders).
MADE: list[Level] = []
#: Redis clients and key prefixes of the redis-py alternative (``cleanup`` deletes their keys).
MADE_KEYS: list[tuple[Any, str]] = []
#: The Redis server of the Redis alternatives (set by ``use_redis``).
_REDIS: dict[str, str] = {}


def use_redis(url: str | None) -> None:
    """Point the Redis alternatives at ``url`` (the test server); None: the chapter's level is diskcache again."""
    _REDIS.pop("url", None)
    if url:
        _REDIS["url"] = url


def cleanup() -> None:
    """Remove what the alternatives stored (diskcache folders, Redis keys) and empty the module-level cache."""
    while MADE:
        level = MADE.pop()
        level.clear()
        if isinstance(level, DiskLevel):
            level.remove()
        else:
            level.close()
    while MADE_KEYS:
        client, prefix = MADE_KEYS.pop()
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.unlink(key)
        client.close()
    _BY_DATABASE.clear()


def _second_level() -> Level:
    """The chapter's second level: Redis when ``use_redis`` named one, else diskcache in a folder of its own."""
    prefix = f"perflab:test-alt-{random.getrandbits(40):x}:"
    if "url" in _REDIS:
        level = open_second_level(_REDIS["url"], prefix=prefix)
    else:
        level = open_second_level(None, prefix=prefix, directory=tempfile.mkdtemp(prefix="perflab-test-ch10-"))
    MADE.append(level)
    return level


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


def pandas_on_a_miss(engine: Engine) -> tuple[Any, Any]:
    """A1: pandas read_sql on a miss, a dict cache, the UPDATE in SQL and the entry popped on write."""
    import pandas as pd

    summary = text("SELECT u.id, u.name, u.email, count(o.id) AS orders, coalesce(sum(o.total_cents), 0) "
                   "AS spent_cents FROM users AS u LEFT JOIN orders AS o ON o.user_id = u.id WHERE u.id = :uid "
                   "GROUP BY u.id, u.name, u.email")
    cache: dict[int, dict[str, Any]] = {}

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            with engine.connect() as conn:
                frame = pd.read_sql(summary, conn, params={"uid": user_id})
            cache[user_id] = frame.iloc[0].to_dict()
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE users SET email = :e WHERE id = :u"), {"e": email, "u": user_id})
        cache.pop(user_id, None)

    return user_summary, set_email


def orm_with_cachetools_decorator(engine: Engine) -> tuple[Any, Any]:
    """A2: an ORM query behind cachetools.cached(LRUCache); the write goes through the ORM and pops the hashkey."""
    from cachetools import LRUCache, cached
    from cachetools.keys import hashkey

    cache: LRUCache[Any, dict[str, Any]] = LRUCache(maxsize=5_000)

    @cached(cache)
    def user_summary(user_id: int) -> dict[str, Any]:
        with Session(engine) as session:
            row = session.execute(
                select(User.id, User.name, User.email, func.count(Order.id).label("orders"),
                       func.coalesce(func.sum(Order.total_cents), 0).label("spent_cents"))
                .outerjoin(Order, Order.user_id == User.id).where(User.id == user_id)
                .group_by(User.id, User.name, User.email)).mappings().one()
        return dict(row)

    def set_email(user_id: int, email: str) -> None:
        with Session(engine) as session, session.begin():
            user = session.get(User, user_id)
            assert user is not None
            user.email = email
        cache.pop(hashkey(user_id), None)

    return user_summary, set_email


def redis_py_delete_on_write(engine: Engine) -> tuple[Any, Any]:
    """A3: redis-py straight, JSON values under a prefix of this endpoint's own; DEL on write."""
    import redis

    client = redis.Redis.from_url(_REDIS["url"])
    prefix = f"perflab:test-alt-{random.getrandbits(40):x}:"
    MADE_KEYS.append((client, prefix))

    def user_summary(user_id: int) -> dict[str, Any]:
        raw = client.get(f"{prefix}{user_id}")
        if raw is not None:
            return json.loads(raw)  # type: ignore[no-any-return]
        value = user_summary_reference(engine, user_id)
        client.set(f"{prefix}{user_id}", json.dumps(value), ex=300)
        return value

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        client.delete(f"{prefix}{user_id}")

    return user_summary, set_email


def chapter_two_levels(engine: Engine) -> tuple[Any, Any]:
    """A4: what the chapter teaches: TwoLevel(MemoryLevel(), open_second_level()) read through CachedLoader."""
    cache = TwoLevel(MemoryLevel(), _second_level(), l1_ttl=10)
    loader = CachedLoader(cache, ttl=300)

    def user_summary(user_id: int) -> dict[str, Any]:
        return loader.get(f"user:{user_id}", lambda: user_summary_reference(engine, user_id))  # type: ignore[no-any-return]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        cache.delete(f"user:{user_id}")

    return user_summary, set_email


def chapter_second_level_only(engine: Engine) -> tuple[Any, Any]:
    """A5: the chapter's second level alone (no L1): every hit is a Redis round trip (or a diskcache file read)."""
    l2 = _second_level()
    loader = CachedLoader(l2, ttl=300)

    def user_summary(user_id: int) -> dict[str, Any]:
        return loader.get(f"user:{user_id}", lambda: user_summary_reference(engine, user_id))  # type: ignore[no-any-return]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        l2.delete(f"user:{user_id}")

    return user_summary, set_email


CACHE_ENDPOINT = [versioned_keys, lru_cache_cleared, write_through,
                  one_cache_keyed_by_database, pandas_on_a_miss, orm_with_cachetools_decorator, chapter_two_levels,
                  chapter_second_level_only]
#: The same answers on Redis (run when PERFLAB_TEST_REDIS_URL is set): A3, and A4 / A5 on Redis.
CACHE_ENDPOINT_REDIS = [redis_py_delete_on_write, chapter_two_levels, chapter_second_level_only]
