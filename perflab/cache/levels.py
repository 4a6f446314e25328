"""Cache levels with one interface: in-process (cachetools), Redis, diskcache, and two of them stacked.

>>> l1 = MemoryLevel(maxsize=100, ttl=60)
>>> l1.set("answer", {"rows": [1, 2]})
>>> l1.get("answer"), l1.get("other") is MISS
({'rows': [1, 2]}, True)
>>> l1.hits, l1.misses
(1, 1)

Every level has ``get(key)`` (the value, or :data:`MISS`), ``set(key, value, ttl=None)``,
``delete(*keys)``, ``keys()``, ``clear()`` (removes this learner's keys, returns how many) and
``close()``; ``hits`` and ``misses`` count lookups. The shared levels (Redis, diskcache) store bytes:
they serialize values with a :class:`~perflab.cache.serializers.Serializer` (JSON by default) and
prefix every key with the learner's namespace (:func:`~perflab.cache.naming.namespace`), so learners
sharing one Redis never read each other's entries.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from perflab.cache.naming import namespace
from perflab.cache.serializers import SERIALIZERS, Serializer

#: What ``get`` returns for a key that is not cached (``None`` may be a cached value).
MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS", "__bool__": lambda self: False})()

#: Default time to live of an entry, in seconds (the book's query cache keeps results 5 minutes).
DEFAULT_TTL = 300.0


class Level:
    """What every level shares: the hit and miss counters, and ``with`` support (``close`` at the end)."""

    name = "cache"
    #: One line saying which level this is and why (set by :func:`~perflab.cache.shared.open_second_level`).
    note = ""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def _counted(self, value: Any) -> Any:
        if value is MISS:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def get(self, key: str) -> Any:  # pragma: no cover - every level overrides it
        raise NotImplementedError

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    def delete(self, *keys: str) -> int:  # pragma: no cover
        raise NotImplementedError

    def keys(self) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def clear(self) -> int:
        """Remove every key this level holds for this learner; return how many there were."""
        keys = self.keys()
        return self.delete(*keys) if keys else 0

    def close(self) -> None:
        """Release connections and files (the entries stay: call ``clear`` first to remove them)."""

    def using(self, serializer: Serializer) -> Level:
        """The same level (same server or files, same prefix) storing values with another serializer.

        >>> l2 = DiskLevel(tempfile.mkdtemp())
        >>> l2.using(SERIALIZERS["pickle"]).serializer.name, l2.serializer.name
        ('pickle', 'json')
        >>> l2.remove()

        The copy shares the connection: close the original, not the copy.
        """
        other = copy.copy(self)
        other.serializer = serializer  # type: ignore[attr-defined]
        other.hits = other.misses = 0
        return other

    def __enter__(self) -> Level:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{self.name}: {self.hits} hits, {self.misses} misses>"


class MemoryLevel(Level):
    """L1: a ``cachetools.TLRUCache`` in this process; values are kept as Python objects (no copy).

    >>> clock = [0.0]
    >>> l1 = MemoryLevel(maxsize=10, ttl=60, timer=lambda: clock[0])
    >>> l1.set("a", 1); l1.set("b", 2, ttl=120)
    >>> clock[0] = 90
    >>> l1.get("a") is MISS, l1.get("b")
    (True, 2)

    Parameters: ``maxsize`` (entries kept; the least recently used go first), ``ttl`` (seconds, default
    for ``set``), ``timer`` (the clock, ``time.monotonic``; tests and simulations pass their own).
    """

    name = "L1 in-process (cachetools)"

    def __init__(self, maxsize: int = 10_000, ttl: float = DEFAULT_TTL,
                 timer: Callable[[], float] = time.monotonic) -> None:
        from cachetools import TLRUCache

        super().__init__()
        self.ttl = ttl
        # Each entry is (ttl, value): its expiry is "now + its own ttl", so TTL jitter works per entry.
        self.cache: TLRUCache[str, tuple[float, Any]] = TLRUCache(
            maxsize, ttu=lambda _key, entry, now: now + entry[0], timer=timer)

    def get(self, key: str) -> Any:
        entry = self.cache.get(key)
        return self._counted(MISS if entry is None else entry[1])

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.cache[key] = (self.ttl if ttl is None else ttl, value)

    def delete(self, *keys: str) -> int:
        return sum(self.cache.pop(k, None) is not None for k in keys)

    def keys(self) -> list[str]:
        self.cache.expire()
        return list(self.cache)


class RedisLevel(Level):
    """L2 on a Redis server: ``GET`` / ``SET ... PX`` under the learner's prefix; ``SCAN``, never ``KEYS``.

    >>> l2 = RedisLevel(redis.Redis.from_url(url))  # doctest: +SKIP
    >>> l2.set("k", [1, 2]); l2.get("k")  # doctest: +SKIP
    [1, 2]

    Parameters: ``client`` (a ``redis.Redis``), ``prefix`` (default: the learner's namespace),
    ``serializer`` (JSON by default), ``ttl`` (seconds, default for ``set``), ``label`` (how the
    level names its server in messages).
    """

    name = "L2 Redis"

    def __init__(self, client: Any, *, prefix: str | None = None, serializer: Serializer | None = None,
                 ttl: float = DEFAULT_TTL, label: str = "Redis") -> None:
        super().__init__()
        self.client = client
        self.prefix = prefix if prefix is not None else namespace()
        self.serializer = serializer or SERIALIZERS["json"]
        self.ttl = ttl
        self.label = label

    def get(self, key: str) -> Any:
        raw = self.client.get(self.prefix + key)
        return self._counted(MISS if raw is None else self.serializer.loads(raw))

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        ms = max(1, round(1000 * (self.ttl if ttl is None else ttl)))
        self.client.set(self.prefix + key, self.serializer.dumps(value), px=ms)

    def delete(self, *keys: str) -> int:
        return int(self.client.unlink(*(self.prefix + k for k in keys))) if keys else 0

    def scan(self, match: str = "*", count: int = 1000) -> Iterator[str]:
        """This learner's keys matching ``match`` (without the prefix), a few hundred per ``SCAN`` call."""
        for raw in self.client.scan_iter(match=self.prefix + match, count=count):
            yield (raw.decode() if isinstance(raw, bytes) else raw)[len(self.prefix):]

    def keys(self) -> list[str]:
        return list(self.scan())

    def clear(self) -> int:
        removed = 0
        batch: list[str] = []
        for key in self.scan():
            batch.append(key)
            if len(batch) == 500:
                removed += self.delete(*batch)
                batch.clear()
        return removed + self.delete(*batch)

    def close(self) -> None:
        self.client.close()


class DiskLevel(Level):
    """L2 without a server: a ``diskcache.Cache`` (SQLite files in one folder), shared by this machine's processes.

    >>> l2 = DiskLevel(tempfile.mkdtemp())
    >>> l2.set("k", {"a": 1}); l2.get("k")
    {'a': 1}
    >>> l2.remove()

    Parameters: ``directory`` (default: :func:`private_folder` named for the prefix, so two kernels of
    one learner share it and nobody else can open it), ``prefix``, ``serializer``, ``ttl`` as for
    :class:`RedisLevel`.
    """

    name = "L2 diskcache"

    def __init__(self, directory: str | Path | None = None, *, prefix: str | None = None,
                 serializer: Serializer | None = None, ttl: float = DEFAULT_TTL) -> None:
        import diskcache

        super().__init__()
        self.prefix = prefix if prefix is not None else namespace()
        folder = self.prefix.strip(":").replace(":", "-")
        self.directory = Path(directory) if directory is not None else private_folder(folder)
        self.serializer = serializer or SERIALIZERS["json"]
        self.ttl = ttl
        self.cache = diskcache.Cache(str(self.directory))

    def get(self, key: str) -> Any:
        raw = self.cache.get(self.prefix + key)
        return self._counted(MISS if raw is None else self.serializer.loads(raw))

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.cache.set(self.prefix + key, self.serializer.dumps(value), expire=self.ttl if ttl is None else ttl)

    def delete(self, *keys: str) -> int:
        return sum(bool(self.cache.delete(self.prefix + k)) for k in keys)

    def keys(self) -> list[str]:
        self.cache.expire()
        return [k[len(self.prefix):] for k in self.cache.iterkeys()
                if isinstance(k, str) and k.startswith(self.prefix)]

    def close(self) -> None:
        self.cache.close()

    def remove(self) -> None:
        """Close the cache and delete its folder (what the chapter's last cell does)."""
        self.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def private_folder(name: str, base: str | Path | None = None) -> Path:
    """A folder only this user can open: ``~/.cache/perflab/<name>`` (``$XDG_CACHE_HOME`` if set), mode 0700.

    >>> folder = private_folder("ch10", base=tempfile.mkdtemp())
    >>> folder.name, oct(folder.stat().st_mode & 0o777), oct(folder.parent.stat().st_mode & 0o777)
    ('ch10', '0o700', '0o700')

    A folder with a predictable name in a shared place (``/tmp/perflab-ann-ch10``) can be made first by
    another user of the machine, who could then write the entries this user reads (and unpickles). Here
    ``perflab`` and the folder are made with mode 0700, a folder of another owner is refused, and
    a group- or world-readable one of this user is made private again. Where the home folder cannot be
    written (a read-only container), a fresh folder from :func:`tempfile.mkdtemp` (0700, unpredictable
    name) stands in; that one is not shared between kernels. Parameters: ``name`` of the folder, ``base``
    (instead of ``~/.cache``: ``perflab/<name>`` is made inside it).
    """
    parent = Path(base or os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "perflab"
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _make_private(parent)  # before anything is made inside it
        folder = parent / name
        folder.mkdir(mode=0o700, exist_ok=True)
        _make_private(folder)
    except OSError:
        return Path(tempfile.mkdtemp(prefix=f"{name}-"))
    return folder


def _make_private(path: Path) -> None:
    """Mode 0700 on a folder of this user's; OSError for a symbolic link or another owner's folder."""
    info = path.lstat()
    if path.is_symlink() or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        raise PermissionError(f"{path} is not a folder of this user's")
    if info.st_mode & 0o077:
        path.chmod(0o700)


class TwoLevel(Level):
    """L1 in front of L2: a get tries L1, then L2 (copying the value into L1), and says which level answered.

    >>> cache = TwoLevel(MemoryLevel(), MemoryLevel())
    >>> cache.l2.set("k", 7)
    >>> cache.get("k"), cache.served_by, cache.get("k"), cache.served_by
    (7, 'L2', 7, 'L1')

    ``set`` and ``delete`` write to both levels. Parameters: ``l1``, ``l2`` (any two levels), ``l1_ttl``
    (how long L1 keeps a value copied up from L2; short, since another process may change L2 meanwhile).
    """

    name = "L1 + L2"

    def __init__(self, l1: Level, l2: Level, *, l1_ttl: float | None = None) -> None:
        super().__init__()
        self.l1, self.l2 = l1, l2
        self.l1_ttl = l1_ttl
        self.served_by = ""

    def get(self, key: str) -> Any:
        value = self.l1.get(key)
        self.served_by = "L1"
        if value is MISS:
            value = self.l2.get(key)
            self.served_by = "L2"
            if value is not MISS:
                self.l1.set(key, value, self.l1_ttl)
        if value is MISS:
            self.served_by = ""
        return self._counted(value)

    def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.l2.set(key, value, ttl)
        self.l1.set(key, value, ttl if self.l1_ttl is None else min(ttl or self.l1_ttl, self.l1_ttl))

    def delete(self, *keys: str) -> int:
        return max(self.l1.delete(*keys), self.l2.delete(*keys))

    def keys(self) -> list[str]:
        return sorted(set(self.l1.keys()) | set(self.l2.keys()))

    def clear(self) -> int:
        return max(self.l1.clear(), self.l2.clear())

    def close(self) -> None:
        self.l1.close()
        self.l2.close()
