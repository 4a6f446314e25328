"""Count the garbage collector's work while a block runs: collections per generation, objects freed, time.

>>> import gc
>>> with watch_gc() as activity:
...     _ = gc.collect()
>>> activity.collections[2] >= 1
True

CPython frees most objects the moment their last reference goes (reference counting); the cyclic garbage
collector exists for the rest, objects in reference cycles. It runs when the number of container objects
allocated minus those freed passes a threshold (``gc.get_threshold()``), so objects that are created and
freed again do not make it run. ``gc.callbacks`` tells us each time it does.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from perflab.display import format_time, plural


@dataclass
class GcActivity:
    """What the garbage collector did during a ``watch_gc`` block.

    >>> GcActivity([3, 1, 0], 40, 0.0002)
    4 collections (3, 1, 0 by generation), 40 objects freed, 200 µs
    """

    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    collected: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Collections of all generations."""
        return sum(self.collections)

    def __repr__(self) -> str:
        per_generation = ", ".join(str(n) for n in self.collections)
        return (f"{plural(self.total, 'collection')} ({per_generation} by generation), "
                f"{plural(self.collected, 'object')} freed, {format_time(self.seconds)}")


@contextmanager
def watch_gc() -> Iterator[GcActivity]:
    """Record every garbage collection (generation, objects freed, duration) until the block ends.

    >>> with watch_gc() as activity:
    ...     pass
    >>> activity.total
    0

    The block's own code decides whether the collector is on (``gc.isenabled()``); an explicit
    ``gc.collect()`` counts too.
    """
    activity = GcActivity()
    started: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            activity.seconds += time.perf_counter() - started.pop()
            generation = int(info["generation"])
            activity.collections[generation] += 1
            activity.collected += int(info["collected"])

    gc.callbacks.append(callback)
    try:
        yield activity
    finally:
        gc.callbacks.remove(callback)
