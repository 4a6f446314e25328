"""A big keyspace on Redis and the time the server spends walking it: ``KEYS`` against ``SCAN``.

>>> filled = fill_keys(l2, "filler:", 50_000)  # 50,000 short-lived keys under the learner's prefix  # doctest: +SKIP
>>> with server_time(l2.client, "keys") as busy:  # doctest: +SKIP
...     found = l2.client.keys(l2.prefix + "filler:*")
>>> busy.calls, busy.per_call  # doctest: +SKIP
(1, 0.071)

Redis runs one command at a time, so what blocks the other clients is the time the *server* spends in a
command; the time the caller waits also holds the transfer of the reply and its parsing. The server
counts both per command in ``INFO commandstats`` (calls and microseconds since its start);
:func:`server_time` reads them before and after a block of code. They are the server's counters: other
clients' calls of the same command in that moment are counted too (a shared server), so the time per call
is then an average over everybody's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: A Redis database holding more keys than this before the chapter fills it is taken for a shared server,
#: where a KEYS over everybody's keys would keep every other client waiting.
SHARED_SERVER_KEYS = 10_000


@dataclass
class ServerTime:
    """Calls of one command and the seconds the server spent in them, during a ``with server_time(...)`` block.

    >>> ServerTime(4, 0.002).per_call
    0.0005
    """

    calls: int = 0
    seconds: float = 0.0

    @property
    def per_call(self) -> float:
        """Seconds per call (0 when there was none)."""
        return self.seconds / self.calls if self.calls else 0.0


def command_stats(client: Any, command: str) -> tuple[int, int]:
    """``(calls, microseconds)`` the server counted for ``command`` (e.g. "keys") since it started."""
    stats = client.info("commandstats").get(f"cmdstat_{command.lower()}", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


@contextmanager
def server_time(client: Any, command: str) -> Iterator[ServerTime]:
    """Measure what the Redis server spent in ``command`` while the block ran (from ``INFO commandstats``).

    Parameters: ``client`` (a ``redis.Redis``), ``command`` (its name, e.g. "keys" or "scan").
    """
    calls, usec = command_stats(client, command)
    result = ServerTime()
    yield result
    calls_after, usec_after = command_stats(client, command)
    result.calls, result.seconds = calls_after - calls, (usec_after - usec) / 1e6


def fill_keys(level: Any, stem: str, n: int, *, ttl: float = 600) -> int:
    """Write ``n`` small keys ``<prefix><stem><i>`` on a Redis level, pipelined, each expiring after ``ttl`` s.

    Returns ``n``. Parameters: ``level`` (a :class:`~perflab.cache.levels.RedisLevel`), ``stem`` (e.g.
    "filler:"), ``n``, ``ttl`` (seconds: keys left behind by an interrupted run go by themselves).
    """
    with level.client.pipeline(transaction=False) as pipe:
        for i in range(n):
            pipe.set(f"{level.prefix}{stem}{i}", b"x", px=round(ttl * 1000))
        pipe.execute()
    return n
