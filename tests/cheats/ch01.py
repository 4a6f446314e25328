"""01-slow-report, cheats: the original, made to look fast by remembering its answers; must fail."""

from __future__ import annotations

import functools

from perflab.exercises.ch01 import slow_revenue_by_category

#: The slow original wrapped in a cache: the first call warms it, a repeated call is free.
lru_cached = functools.lru_cache(maxsize=None)(slow_revenue_by_category)
lru_cached.__name__ = "revenue_by_category"  # type: ignore[attr-defined]

CHEATS = [lru_cached]
