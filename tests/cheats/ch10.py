"""Chapter 10's exercise answered wrongly in ways that look right: each must fail its check."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from perflab.exercises.ch10 import USER_SUMMARY_SQL, set_email_reference, user_summary_reference


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


def reset() -> None:
    """Empty the module-level cache (a test starts from a cold cache, as a fresh kernel would)."""
    _SHARED.clear()


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


def driver_connection_no_cache(engine: Engine) -> tuple[Any, Any]:
    """No cache at all: every request queries through a driver connection opened when the endpoint is made."""
    if engine.dialect.name == "postgresql":
        import psycopg

        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        raw: Any = psycopg.connect(url, options=f"-c search_path={schema}", autocommit=True)
        sql = USER_SUMMARY_SQL.replace(":uid", "%(uid)s")
    else:
        import sqlite3

        raw = sqlite3.connect(str(engine.url.database), check_same_thread=False)
        sql = USER_SUMMARY_SQL
    columns = ("id", "name", "email", "orders", "spent_cents")

    def user_summary(user_id: int) -> dict[str, Any]:
        row = raw.execute(sql, {"uid": user_id}).fetchone()
        return {k: int(v) if k != "name" and k != "email" else v for k, v in zip(columns, row)}

    def set_email(user_id: int, email: str) -> None:
        set_email_reference(engine, user_id, email)

    return user_summary, set_email


CACHE_ENDPOINT = [
    (cached_forever, "still returned the old email"),
    (caches_nothing, "without a SQL statement"),
    (short_ttl_only, "still returned the old email"),
    (writes_only_the_cache, "did not change the database"),
    (one_cache_for_every_engine, "never showed"),
    (everyone_up_front, "more than a cache that starts empty can reach"),
    (driver_connection_no_cache, "served 0 of"),
]
