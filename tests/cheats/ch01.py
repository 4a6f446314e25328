"""01-slow-report, cheats: the original made to look fast by remembering its answers, or a changed result; must fail."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.engine import Engine

from perflab.exercises.ch01 import revenue_by_category_reference, slow_revenue_by_category

#: The slow original wrapped in a cache: the first call warms it, a repeated call is free.
lru_cached = functools.lru_cache(maxsize=None)(slow_revenue_by_category)
lru_cached.__name__ = "revenue_by_category"  # type: ignore[attr-defined]


def memo_by_url() -> Callable[..., dict[str, int]]:
    """The original behind a cache keyed by the engine's URL and the status: a fresh engine object still hits it."""
    memo: dict[tuple[str, str], dict[str, int]] = {}

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        key = (engine.url.render_as_string(hide_password=False), status)
        if key not in memo:
            memo[key] = slow_revenue_by_category(engine, status)
        return memo[key]

    return revenue_by_category


def lru_by_url() -> Callable[..., dict[str, int]]:
    """The same with functools.lru_cache over the URL (each check reuses the engine the first call made)."""
    engines: dict[str, Engine] = {}

    @functools.cache
    def cached(url: str, status: str) -> dict[str, int]:
        return slow_revenue_by_category(engines[url], status)

    def revenue_by_category(engine: Engine, status: str = "pending") -> dict[str, int]:
        url = engine.url.render_as_string(hide_password=False)
        engines.setdefault(url, engine)
        return cached(url, status)

    return revenue_by_category


#: (factory, a fragment the ❌ of a second check must contain): cheats that remember answers, each made with an
#: empty cache. An lru_cache keyed by the engine object never hits (every call gets a new one): only slow.
CACHES: list[tuple[Callable[[], Callable[..., Any]], str]] = [
    (lambda: lru_cached, "as fast as the original"),
    (memo_by_url, ": it caches"),
    (lru_by_url, ": it caches"),
]


def pairs_generator(engine: Engine, status: str = "pending") -> Iterator[tuple[str, int]]:
    """The right numbers, fast, as a generator of (category, cents) pairs where the original returns a dict."""
    return (pair for pair in revenue_by_category_reference(engine, status).items())


def pairs_list(engine: Engine, status: str = "pending") -> list[tuple[str, int]]:
    """The same as a list of pairs."""
    return list(revenue_by_category_reference(engine, status).items())


#: (cheat, a fragment its ❌ must contain): right numbers in another container
CHANGED_TYPE: list[tuple[Callable[..., Any], str]] = [
    (pairs_generator, "returns a generator, not a dict"),
    (pairs_list, "returns a list, not a dict"),
]
