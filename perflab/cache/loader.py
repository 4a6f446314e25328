"""Read through a cache: on a miss, load the value once (single-flight), store it with a jittered TTL.

>>> from perflab.cache.levels import MemoryLevel
>>> reads = []
>>> users = CachedLoader(MemoryLevel(), ttl=60)
>>> [users.get(f"user:{7}", lambda: reads.append(7) or {"id": 7}) for _ in range(3)]
[{'id': 7}, {'id': 7}, {'id': 7}]
>>> users.loads, reads
(1, [7])

A **stampede**: a popular key expires and every request that arrives before it is cached again
misses and loads it, at once. ``single_flight=True`` gives each key a lock: the first request loads,
the others wait for it and then read the cache. ``jitter=0.1`` spreads each entry's TTL by ±10 %, so
entries cached at the same moment do not all expire at the same moment.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from perflab.cache.levels import DEFAULT_TTL, MISS, Level
from perflab.cache.naming import query_key
from perflab.errors import PerflabError


class CachedLoader:
    """``get(key, load)``: the cached value, or ``load()`` stored in ``level``; counts the loads.

    Parameters: ``level`` (any cache level), ``ttl`` (seconds), ``jitter`` (0 to 1: each TTL is
    multiplied by a random factor in 1 ± jitter), ``single_flight`` (one load per key at a time,
    the other callers wait for it), ``rng`` (a ``random.Random`` for the jitter, for reproducible runs).
    """

    def __init__(self, level: Level, *, ttl: float = DEFAULT_TTL, jitter: float = 0.0, single_flight: bool = False,
                 rng: random.Random | None = None) -> None:
        if not 0 <= jitter < 1:
            raise PerflabError(f"jitter must be between 0 and 1 (a fraction of the TTL), got {jitter!r}")
        self.level = level
        self.ttl = ttl
        self.jitter = jitter
        self.single_flight = single_flight
        self.rng = rng or random.Random()
        self.loads = 0
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def ttl_for_next(self) -> float:
        """The TTL of the next stored entry: ``ttl``, spread by ``jitter``.

        >>> CachedLoader(None, ttl=60, jitter=0.1, rng=random.Random(1)).ttl_for_next()  # doctest: +ELLIPSIS
        55.6...
        """
        return self.ttl * (1 + self.jitter * (2 * self.rng.random() - 1)) if self.jitter else self.ttl

    def get(self, key: str, load: Callable[[], Any]) -> Any:
        """The value cached under ``key``, or ``load()``'s result, stored for the next callers."""
        value = self.level.get(key)
        if value is not MISS:
            return value
        if not self.single_flight:
            return self._load(key, load)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one caller loads; the others wait here, then find the value in the cache
            value = self.level.get(key)
            if value is MISS:
                value = self._load(key, load)
        with self._guard:
            self._locks.pop(key, None)
        return value

    def _load(self, key: str, load: Callable[[], Any]) -> Any:
        with self._guard:
            self.loads += 1
        value = load()
        self.level.set(key, value, self.ttl_for_next())
        return value


class QueryCache(CachedLoader):
    """The book's query cache: the rows of a SQL query, cached under a hash of the SQL and its parameters.

    >>> import sqlalchemy as sa
    >>> from perflab.cache.levels import MemoryLevel
    >>> qc = QueryCache(sa.create_engine("sqlite://"), MemoryLevel(), ttl=300)
    >>> qc.query("SELECT :x AS x", {"x": 1}), qc.query("SELECT :x AS x", {"x": 1}), qc.loads
    ([{'x': 1}], [{'x': 1}], 1)

    Rows come back as dicts (what JSON can store). Parameters: ``engine`` (where a miss runs the
    query), then those of :class:`CachedLoader`.
    """

    def __init__(self, engine: Any, level: Level, **options: Any) -> None:
        super().__init__(level, **options)
        self.engine = engine

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows of ``sql`` with bound ``params``: from the cache, or from the database on a miss."""
        return self.get(query_key(sql, params), lambda: self.run(sql, params))

    def run(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run the query on the database, without the cache."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(text(sql), params or {}).mappings()]

    def invalidate(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """Delete the cached rows of one query (1 if they were cached, else 0)."""
        return self.level.delete(query_key(sql, params))
