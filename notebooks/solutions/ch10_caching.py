"""Reference solution of chapter 10, caching (10-cache-endpoint).

The check compares your endpoint with the reference in :mod:`perflab.exercises.ch10`; this is the same
solution, written the way the notebook writes its code: a TTL cache made once per endpoint, looked up
before the database, and the user's entry deleted whenever ``set_email`` writes.
"""

from __future__ import annotations

from typing import Any

from cachetools import TTLCache
from sqlalchemy import Engine, text

USER_SUMMARY = text("""
    SELECT u.id, u.name, u.email, count(o.id) AS orders, coalesce(sum(o.total_cents), 0) AS spent_cents
    FROM users AS u LEFT JOIN orders AS o ON o.user_id = u.id
    WHERE u.id = :uid
    GROUP BY u.id, u.name, u.email
""")
SET_EMAIL = text("UPDATE users SET email = :email WHERE id = :uid")


def make_user_endpoint(engine: Engine) -> tuple[Any, Any]:
    """10-cache-endpoint: user_summary behind a TTL cache; set_email deletes the entry it makes stale."""
    cache: TTLCache[int, dict[str, Any]] = TTLCache(maxsize=10_000, ttl=300)

    def user_summary(user_id: int) -> dict[str, Any]:
        if user_id in cache:
            return cache[user_id]
        with engine.connect() as conn:
            summary = dict(conn.execute(USER_SUMMARY, {"uid": user_id}).mappings().one())
        cache[user_id] = summary
        return summary

    def set_email(user_id: int, email: str) -> None:
        with engine.begin() as conn:
            conn.execute(SET_EMAIL, {"uid": user_id, "email": email})
        cache.pop(user_id, None)  # delete on write: the next read loads the new row

    return user_summary, set_email
