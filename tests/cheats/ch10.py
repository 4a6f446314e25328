"""Chapter 10's exercise answered wrongly in ways that look right: each must fail its check."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from perflab.exercises.ch10 import USER_SUMMARY_SQL, set_email_reference, user_summary_reference

COLUMNS = ("id", "name", "email", "orders", "spent_cents")


def cached_forever(engine: Engine) -> tuple[Any, Any]:
    """Caches every answer and never invalidates: fast, and stale after a write."""
    cache: dict[int, dict[str, Any]] = {}

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


def caches_nothing(engine: Engine) -> tuple[Any, Any]:
    """Never stale, because it never caches: every request reaches the database."""

    def user_summary(user_id: int) -> dict[str, Any]:
        return user_summary_reference(engine, user_id)

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


def short_ttl_only(engine: Engine) -> tuple[Any, Any]:
    """A 30-second TTL and no invalidation: stale for up to 30 seconds after each write."""
    from cachetools import TTLCache

    cache: TTLCache[int, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=30)

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


def writes_only_the_cache(engine: Engine) -> tuple[Any, Any]:
    """Updates the cached entry and never the database: the next process reads the old email."""
    cache: dict[int, dict[str, Any]] = {}

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        cache[user_id] = {**user_summary(user_id), "email": email}

    return user_summary, set_email


def one_cache_for_every_engine(engine: Engine) -> tuple[Any, Any]:
    """A module-level cache keyed by user id only: the second dataset's users get the first dataset's answers."""

    def user_summary(user_id: int) -> dict[str, Any]:
        return _shared(user_id, engine)

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        _SHARED.pop(user_id, None)

    return user_summary, set_email


_SHARED: dict[int, dict[str, Any]] = {}


def _shared(user_id: int, engine: Engine) -> dict[str, Any]:
    if user_id not in _SHARED:
        _SHARED[user_id] = user_summary_reference(engine, user_id)
    return _SHARED[user_id]


def everyone_up_front(engine: Engine) -> tuple[Any, Any]:
    """Loads every user's summary in one query when the endpoint is made, then serves from a dict: no cache misses."""
    from sqlalchemy import text

    every_user = USER_SUMMARY_SQL.replace("WHERE u.id = :uid", "")
    with engine.connect() as conn:
        table = {row["id"]: dict(row) for row in conn.execute(text(every_user)).mappings()}

    def user_summary(user_id: int) -> dict[str, Any]:
        return table[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        table[user_id] = user_summary_reference(engine, user_id)

    return user_summary, set_email


def _driver_connection(engine: Engine) -> tuple[Any, str]:
    """A connection of the driver itself on the engine's dataset (not through the engine's pool), and the SQL."""
    if engine.dialect.name == "postgresql":
        import psycopg

        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return (psycopg.connect(url, options=f"-c search_path={schema}", autocommit=True),
                USER_SUMMARY_SQL.replace(":uid", "%(uid)s"))
    import sqlite3

    return sqlite3.connect(str(engine.url.database), check_same_thread=False), USER_SUMMARY_SQL


def _summary_on(raw: Any, sql: str, user_id: int) -> dict[str, Any]:
    row = raw.execute(sql, {"uid": user_id}).fetchone()
    return {k: v if k in ("name", "email") else int(v) for k, v in zip(COLUMNS, row)}


def driver_connection_no_cache(engine: Engine) -> tuple[Any, Any]:
    """No cache at all: every request queries through a driver connection opened when the endpoint is made."""
    raw, sql = _driver_connection(engine)

    def user_summary(user_id: int) -> dict[str, Any]:
        return _summary_on(raw, sql, user_id)

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


def prefetch_all_fake_misses(engine: Engine) -> tuple[Any, Any]:
    """C1: every user's summary in one query up front; a user's first request sends `SELECT 1` to look like a miss."""
    every_user = USER_SUMMARY_SQL.replace("WHERE u.id = :uid", "")
    with engine.connect() as conn:
        table = {row["id"]: {k: row[k] if k in ("name", "email") else int(row[k]) for k in COLUMNS}
                 for row in conn.execute(text(every_user)).mappings()}
    seen: set[int] = set()

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in seen:
            seen.add(user_id)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))  # looks like a miss
        return table[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        table[user_id] = user_summary_reference(engine, user_id)

    return user_summary, set_email


def _prefetch_at_first_request(engine: Engine, fake: str) -> tuple[Any, Any]:
    """Every user's summary fetched at the first request; each later first request sends ``fake``."""
    every_user = USER_SUMMARY_SQL.replace("WHERE u.id = :uid", "")
    table: dict[int, dict[str, Any]] = {}
    seen: set[int] = set()

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in seen:
            seen.add(user_id)
            with engine.connect() as conn:
                if not table:
                    table.update({row["id"]: {k: row[k] if k in ("name", "email") else int(row[k]) for k in COLUMNS}
                                  for row in conn.execute(text(every_user)).mappings()})
                else:
                    conn.execute(text(fake), {"uid": user_id}).all()
        return table[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        table[user_id] = user_summary_reference(engine, user_id)

    return user_summary, set_email


def prefetch_at_first_request(engine: Engine) -> tuple[Any, Any]:
    """C1b: as C1, the whole table fetched by the first request instead of up front."""
    return _prefetch_at_first_request(engine, "SELECT 1 WHERE :uid > 0")


def prefetch_at_first_request_users_named(engine: Engine) -> tuple[Any, Any]:
    """C1c: as C1b, and each fake miss reads the user's id from users: only the first miss's row count shows it."""
    return _prefetch_at_first_request(engine, "SELECT id FROM users WHERE id = :uid")


#: A driver connection opened before the check starts counting (by ``reset``), as one opened at import would be.
_HIDDEN: dict[str, Any] = {}


def reset(engine: Engine) -> None:
    """Empty the module-level cache (a cold start, as a fresh kernel), and open the hidden connection on ``engine``."""
    close()
    _SHARED.clear()
    _HIDDEN["engine"] = engine
    _HIDDEN["raw"], _HIDDEN["sql"] = _driver_connection(engine)


def close() -> None:
    """Close the hidden connection."""
    if "raw" in _HIDDEN:
        _HIDDEN.pop("raw").close()
    _HIDDEN.clear()


def hidden_connection_no_cache(engine: Engine) -> tuple[Any, Any]:
    """C2: no cache; a user's first request goes through the engine (counted), the repeats through a driver
    connection opened before the check counted anything (a raw query, faster than the engine's)."""
    seen: set[int] = set()
    hidden = _HIDDEN.get("engine") is engine

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id in seen and hidden:
            return _summary_on(_HIDDEN["raw"], _HIDDEN["sql"], user_id)
        seen.add(user_id)
        return user_summary_reference(engine, user_id)

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


def hidden_connection_slow_first(engine: Engine) -> tuple[Any, Any]:
    """C2b: as C2, and a user's first request waits 1 ms more (a slower miss path makes repeats look faster)."""
    summary, set_email = hidden_connection_no_cache(engine)
    seen: set[int] = set()

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in seen:
            seen.add(user_id)
            time.sleep(0.001)
        return summary(user_id)

    return user_summary, set_email


def sleep_out_the_ttl(engine: Engine) -> tuple[Any, Any]:
    """C3: a 1 s TTL and no invalidation; set_email waits until the stale entry has expired."""
    from cachetools import TTLCache

    cache: TTLCache[int, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=1.0)

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        time.sleep(1.05)

    return user_summary, set_email


def patch_the_checker(engine: Engine) -> tuple[Any, Any]:
    """C4: a cache that never invalidates; make_user_endpoint replaces the check's stale test with a pass."""
    import perflab.exercises.ch10 as ch10
    from perflab.exercises import passed

    ch10._no_stale_answer = lambda *a, **k: passed("no stale answer")  # type: ignore[attr-defined]
    return cached_forever(engine)


def pops_the_last_served(engine: Engine) -> tuple[Any, Any]:
    """C5: a plausible bug: set_email pops the entry of the last user served, not of user_id."""
    cache: dict[int, dict[str, Any]] = {}
    last: list[int] = []

    def user_summary(user_id: int) -> dict[str, Any]:
        last[:] = [user_id]
        if user_id not in cache:
            cache[user_id] = user_summary_reference(engine, user_id)
        return cache[user_id]

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        if last:
            cache.pop(last[0], None)

    return user_summary, set_email


class LazyRow(Mapping[str, Any]):
    """A mapping that queries the database only when it is read."""

    def __init__(self, engine: Engine, user_id: int) -> None:
        self._engine, self._uid, self._row = engine, user_id, None

    def _load(self) -> dict[str, Any]:
        if self._row is None:
            self._row = user_summary_reference(self._engine, self._uid)  # type: ignore[assignment]
        return self._row  # type: ignore[return-value]

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


class LazyDict(dict):  # type: ignore[type-arg]
    """An empty dict that fills itself from the database the first time anything reads it."""

    def __init__(self, engine: Engine, user_id: int) -> None:
        super().__init__()
        self._engine, self._uid, self._done = engine, user_id, False

    def _load(self) -> None:
        if not self._done:
            self._done = True
            super().update(user_summary_reference(self._engine, self._uid))

    def __getitem__(self, key: Any) -> Any:
        self._load()
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._load()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[Any]:
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def items(self) -> Any:
        self._load()
        return super().items()

    def keys(self) -> Any:
        self._load()
        return super().keys()

    def values(self) -> Any:
        self._load()
        return super().values()

    def __eq__(self, other: object) -> bool:
        self._load()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._load()
        return super().__repr__()


def _lazy_no_cache(engine: Engine, lazy: type) -> tuple[Any, Any]:
    seen: set[int] = set()

    def user_summary(user_id: int) -> Any:
        if user_id in seen:
            return lazy(engine, user_id)
        seen.add(user_id)
        return user_summary_reference(engine, user_id)

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


def lazy_mapping_no_cache(engine: Engine) -> tuple[Any, Any]:
    """C6: no cache; a repeated request returns a Mapping that queries the database when it is read."""
    return _lazy_no_cache(engine, LazyRow)


def lazy_dict_no_cache(engine: Engine) -> tuple[Any, Any]:
    """C6b: no cache; a repeated request returns an empty dict subclass that fills itself when it is read."""
    return _lazy_no_cache(engine, LazyDict)


#: Redis URL of the cheats that cache in Redis (set by ``use_redis``).
_REDIS: dict[str, str] = {}


def use_redis(url: str) -> None:
    """Point the Redis cheats at ``url`` (the test server)."""
    _REDIS["url"] = url


def redis_ttl_then_sleep(engine: Engine) -> tuple[Any, Any]:
    """C3 on Redis: entries kept 1 s (SET ... PX 1000), no delete on write; set_email waits for them to expire."""
    import json
    import random

    import redis

    client = redis.Redis.from_url(_REDIS["url"])
    prefix = f"perflab:test-cheat-{random.getrandbits(40):x}:"
    MADE_KEYS.append((client, prefix))

    def user_summary(user_id: int) -> dict[str, Any]:
        raw = client.get(f"{prefix}{user_id}")
        if raw is not None:
            return json.loads(raw)  # type: ignore[no-any-return]
        value = user_summary_reference(engine, user_id)
        client.set(f"{prefix}{user_id}", json.dumps(value), px=1000)
        return value

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)
        time.sleep(1.05)

    return user_summary, set_email


#: (client, prefix) of every Redis cheat made, for ``remove_redis_keys``.
MADE_KEYS: list[tuple[Any, str]] = []


def remove_redis_keys() -> None:
    """Delete the keys the Redis cheats wrote and close their clients."""
    while MADE_KEYS:
        client, prefix = MADE_KEYS.pop()
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.unlink(key)
        client.close()


CACHE_ENDPOINT = [
    (cached_forever, "still returned the old email"),
    (caches_nothing, "without a SQL statement"),
    (short_ttl_only, "still returned the old email"),
    (writes_only_the_cache, "did not change the database"),
    (one_cache_for_every_engine, "never showed"),
    (everyone_up_front, "rows before the first request"),
    (driver_connection_no_cache, "served 0 of"),
    (prefetch_all_fake_misses, "rows before the first request"),
    (prefetch_at_first_request, "which does not read user"),
    (prefetch_at_first_request_users_named, "rows on a miss"),
    (hidden_connection_no_cache, "waited for the database"),
    (hidden_connection_slow_first, "waited for the database"),
    (sleep_out_the_ttl, "set_email took"),
    (patch_the_checker, "changed the check itself"),
    (pops_the_last_served, "still returned the old email"),
    (lazy_mapping_no_cache, "it asks the database for every request"),
    (lazy_dict_no_cache, "it asks the database for every request"),
]

#: Cheats that cache in Redis (run when PERFLAB_TEST_REDIS_URL is set).
CACHE_ENDPOINT_REDIS = [
    (redis_ttl_then_sleep, "set_email took"),
]
