"""The shared second level: Redis when ``PERFLAB_REDIS_URL`` is set and answers, diskcache otherwise.

>>> import tempfile
>>> l2 = open_second_level(url=None, directory=tempfile.mkdtemp())
>>> l2.name, l2.note.startswith("Redis is not configured")
('L2 diskcache', True)
>>> l2.remove()

Either way the caller gets a level and one line, ``level.note``, saying which one it is and why; a
Redis that is configured but down gives that line (and the embedded level), never a traceback.
"""

from __future__ import annotations

import tempfile  # noqa: F401 (doctests)
from pathlib import Path
from typing import Any

from perflab.cache.levels import DEFAULT_TTL, DiskLevel, Level, RedisLevel
from perflab.cache.serializers import Serializer
from perflab.urls import hide_secrets, mask_url

_UNSET: Any = object()

#: Seconds to wait for Redis to accept a connection before falling back to the embedded level.
CONNECT_TIMEOUT = 1.0


def open_second_level(url: str | None = _UNSET, *, prefix: str | None = None, serializer: Serializer | None = None,
                      ttl: float = DEFAULT_TTL, directory: str | Path | None = None) -> Level:
    """A Redis level if ``url`` (default ``PERFLAB_REDIS_URL``) answers a PING, else a :class:`DiskLevel`.

    >>> l2 = open_second_level("redis://127.0.0.1:1/0", directory=tempfile.mkdtemp())  # a closed port
    >>> print(l2.note)
    Redis at redis://127.0.0.1:1/0 is not reachable (connection refused) — using the embedded diskcache level \
instead; start Redis or unset PERFLAB_REDIS_URL
    >>> l2.remove()

    Parameters: ``url`` (a ``redis://`` URL; None: do not try Redis), ``prefix`` (default: the
    learner's namespace), ``serializer`` (JSON by default), ``ttl`` (default seconds for ``set``),
    ``directory`` (where the embedded level keeps its files). The result's ``note`` is one line to print.
    """
    if url is _UNSET:
        from perflab.config import settings

        url = settings().redis_url
    if not url:
        level: Level = DiskLevel(directory, prefix=prefix, serializer=serializer, ttl=ttl)
        level.note = ("Redis is not configured (PERFLAB_REDIS_URL is unset): the second level is diskcache, "
                      "files in a private folder that your processes on this machine share")
        return level
    import redis

    shown = mask_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        level = DiskLevel(directory, prefix=prefix, serializer=serializer, ttl=ttl)
        reason = hide_secrets(_reason(exc), url)
        level.note = (f"Redis at {shown} is not reachable ({reason}) — using the embedded diskcache level "
                      "instead; start Redis or unset PERFLAB_REDIS_URL")
        return level
    level = RedisLevel(client, prefix=prefix, serializer=serializer, ttl=ttl, label=f"Redis at {shown}")
    level.note = f"the second level is Redis at {shown}, keys under {level.prefix}*"
    return level


def _reason(exc: BaseException) -> str:
    """The last line of a connection error, shortened: 'Connection refused', 'Timeout connecting to server'."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    text = text.rstrip(".")
    if "refused" in text.lower():
        return "connection refused"
    return text[:120]
