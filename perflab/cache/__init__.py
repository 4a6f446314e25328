"""Caching helpers: levels (in-process, Redis, diskcache, two stacked), a read-through loader, the query cache.

>>> from perflab.cache import MemoryLevel, QueryCache, open_second_level
>>> l2 = open_second_level()          # Redis if PERFLAB_REDIS_URL answers, else diskcache  # doctest: +SKIP
>>> print(l2.note)                    # one line: which level, and why  # doctest: +SKIP

One job per module: :mod:`~perflab.cache.naming` (keys and the learner's namespace),
:mod:`~perflab.cache.serializers` (JSON, pickle, MessagePack), :mod:`~perflab.cache.levels` (the
levels, and the embedded level's private folder), :mod:`~perflab.cache.shared` (choosing the second
level), :mod:`~perflab.cache.loader` (read-through with single-flight and TTL jitter, and the query
cache), :mod:`~perflab.cache.stampede` (many requests at one moment), :mod:`~perflab.cache.keyspace`
(a big keyspace on Redis, and the server's own time in ``KEYS`` and ``SCAN``).
"""

from __future__ import annotations

from perflab.cache.keyspace import SHARED_SERVER_KEYS, fill_keys, server_time
from perflab.cache.levels import DEFAULT_TTL, MISS, DiskLevel, Level, MemoryLevel, RedisLevel, TwoLevel, private_folder
from perflab.cache.loader import CachedLoader, QueryCache
from perflab.cache.naming import namespace, query_key
from perflab.cache.serializers import SERIALIZERS, Serializer
from perflab.cache.shared import open_second_level
from perflab.cache.stampede import all_at_once

__all__ = [
    "DEFAULT_TTL",
    "MISS",
    "SERIALIZERS",
    "SHARED_SERVER_KEYS",
    "CachedLoader",
    "DiskLevel",
    "Level",
    "MemoryLevel",
    "QueryCache",
    "RedisLevel",
    "Serializer",
    "TwoLevel",
    "all_at_once",
    "fill_keys",
    "namespace",
    "open_second_level",
    "private_folder",
    "query_key",
    "server_time",
]
