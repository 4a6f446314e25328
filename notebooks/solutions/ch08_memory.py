"""Reference solution of chapter 08, memory: the request handler that leaked, fixed.

The check ("08-fix-the-leak") sends thousands of fresh requests; see :mod:`perflab.exercises.ch08`.
"""

from __future__ import annotations

from functools import lru_cache


def make_handler(load_profile):
    """08-fix-the-leak: cache profiles by user id (what the response depends on), at most 1,000 of them."""

    @lru_cache(maxsize=1_000)  # bounded: the least recently used profile goes when a new one comes
    def profile(user_id):
        return load_profile(user_id)

    def handle(request):
        user = profile(request["user_id"])
        cents = user["order_cents"]
        return {"request": request["id"], "name": user["name"], "orders": len(cents), "total_cents": sum(cents)}

    return handle
